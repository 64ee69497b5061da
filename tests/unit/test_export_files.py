"""The export folder: exports are owner-only files, and an erasure removes exactly the ones it covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdesk.app import ExportFiles
from opsdesk.domain.errors import InvalidInput
from opsdesk.services.privacy import export_name


def test_an_erasure_removes_the_customers_exports_or_all_of_the_shops(tmp_path: Path) -> None:
    files = ExportFiles(tmp_path)
    first = Path(files.write(export_name("a.myshopify.com", 7, "1"), b"{}"))
    second = Path(files.write(export_name("a.myshopify.com", 7, "2"), b"{}"))
    other = Path(files.write(export_name("a.myshopify.com", 70, "1"), b"{}"))  # 70 is not 7
    elsewhere = Path(files.write(export_name("b.myshopify.com", 7, "1"), b"{}"))
    assert first.stat().st_mode & 0o077 == 0
    assert files.erase("a.myshopify.com", 7) == 2
    assert not first.exists() and not second.exists() and other.exists() and elsewhere.exists()
    assert files.erase("a.myshopify.com") == 1
    assert not (tmp_path / "a.myshopify.com").exists() and elsewhere.exists()
    assert files.erase("never-exported.myshopify.com") == 0


@pytest.mark.parametrize("shop", ["", ".", "..", "../x", "a/b", "/etc"])
def test_an_erasure_outside_the_export_folder_is_refused(tmp_path: Path, shop: str) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(InvalidInput):
        ExportFiles(tmp_path / "exports").erase(shop)
    assert (tmp_path / "x").exists()
