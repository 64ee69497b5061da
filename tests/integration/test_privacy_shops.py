"""``opsdesk privacy export`` and ``redact`` refuse a shop opsdesk.yaml does not list, as ``reconcile`` does.

Before, ``privacy export --shop nope.myshopify.com --customer 1`` wrote an (empty) export file and exited 0: a typo
in the shop read as "this customer has no data". Real processes on a starter config (``opsdesk init``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli import init, opsdesk
from tests.samples import SHOP


@pytest.mark.parametrize("command", ["export", "redact"])
def test_a_shop_not_in_the_config_is_refused_and_nothing_is_written(tmp_path: Path, command: str) -> None:
    init(tmp_path)
    result = opsdesk("privacy", command, "--shop", "nope.myshopify.com", "--customer", "1", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "nope.myshopify.com is not a shop in opsdesk.yaml" in result.stderr and SHOP in result.stderr
    exports = tmp_path / "privacy-exports"
    assert not exports.exists() or not any(exports.rglob("*.json"))


def test_a_shop_in_the_config_is_exported(tmp_path: Path) -> None:
    init(tmp_path)
    result = opsdesk("privacy", "export", "--shop", SHOP, "--customer", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "privacy-exports").rglob("*.json"))) == 1
