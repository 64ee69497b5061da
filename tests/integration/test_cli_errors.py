"""What a person who mistypes a command sees: a message and an exit code, never a Python traceback.

Real processes (``python -m opsdesk``) on real files, as a user meets them: a typo'd command or option, a
missing argument, a database URL that is wrong, a configuration file that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli import opsdesk


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("nosuch",), "No such command 'nosuch'"),
        (("cases", "list", "--bogus"), "No such option: --bogus"),
        (("cases", "claim", "C-1"), "Missing option '--as'"),
        (("users", "add"), "Missing argument 'username'"),
        (("serve", "--port", "abc"), "Invalid value for '--port'"),
    ],
)
def test_a_usage_error_is_a_message_and_exit_2_not_a_traceback(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    result = opsdesk(*args, cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert says in " ".join(result.stderr.split())
    assert "--help" in result.stderr  # where to look next
