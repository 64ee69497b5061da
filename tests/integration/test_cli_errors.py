"""What a person who mistypes a command sees: a message and an exit code, never a Python traceback.

Real processes (``python -m opsdesk``) on real files, as a user meets them: a typo'd command or option, a
missing argument, a database URL that is wrong, a configuration file that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli import init, opsdesk
from tests.ports import free_port


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


def _closed_port() -> int:
    return free_port()


@pytest.mark.parametrize(
    ("url", "says", "code"),
    [
        ("notaurl", "not a database URL", 2),
        ("mysql://db.example/opsdesk", "not a database URL", 2),
        ("sqlite:////nonexistent-dir/opsdesk.db", "cannot open the database", 3),
        # the port is picked when the test runs: in the id it would differ between pytest-xdist's workers
        ("postgresql://opsdesk:s3cret@127.0.0.1:{closed port}/x", "cannot open the database", 3),
    ],
)
def test_a_wrong_database_url_is_a_message_naming_it_not_a_traceback(
    tmp_path: Path, url: str, says: str, code: int
) -> None:
    init(tmp_path)
    url = url.replace("{closed port}", str(_closed_port()))
    result = opsdesk("cases", "list", cwd=tmp_path, env={"OPSDESK_DATABASE_URL": url})
    message = " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, result.stderr
    assert says in message
    assert "OPSDESK_DATABASE_URL" in message
    assert "s3cret" not in message  # the password is never printed


def test_a_configuration_file_named_but_missing_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    init(tmp_path)
    by_option = opsdesk("cases", "list", "--config", "opsdesk.yml", cwd=tmp_path)
    by_env = opsdesk(
        "cases", "list", cwd=tmp_path, env={"OPSDESK_CONFIG": str(tmp_path / "etc" / "opsdesk.yaml")}
    )
    for result in (by_option, by_env):
        assert result.returncode == 2, result.stdout
        assert "no such configuration file" in " ".join(result.stderr.split())
    # With neither, a folder without opsdesk.yaml still runs on the defaults, as documented.
    bare = tmp_path / "bare"
    bare.mkdir()
    assert opsdesk("tokens", "list", cwd=bare).returncode == 0
