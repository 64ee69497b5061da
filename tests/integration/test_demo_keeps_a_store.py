"""`opsdesk demo DIR` into a store's working folder: it refuses, and the folder is left as it was.

The demo recreates its folder's database. Pointed at a folder ``opsdesk init`` made and a store then used,
it deleted that store's database (its deliveries, cases, tokens: everything) and rewrote its opsdesk.yaml
with the demo store's set-up; with a config of the store's own, it deleted the database and only then
said the config was not the starter's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.integration.test_demo import SCENARIO, opsdesk


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("own_config", [False, True], ids=["starter-config", "own-config"])
def test_demo_into_a_stores_folder_refuses_and_loses_nothing(tmp_path: Path, own_config: bool) -> None:
    (tmp_path / "day.yaml").write_text(SCENARIO)
    store = tmp_path / "store"
    assert opsdesk("init", "store", cwd=tmp_path).returncode == 0
    if own_config:
        config = store / "opsdesk.yaml"
        config.write_text(config.read_text().replace("# storefront_url:", "# (ours) storefront_url:"))
    made = opsdesk("tokens", "create", "shop-script", "--role", "agent", cwd=store)
    assert made.returncode == 0, made.stderr
    before = _digests(store)

    done = opsdesk("demo", "store", "--no-serve", "--scenario", str(tmp_path / "day.yaml"), cwd=tmp_path)

    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        "error: store/opsdesk.db is not a demo's database: the demo recreates its folder's database, "
        "so it runs only in a new folder or one an earlier demo made (pick another folder)"
    )
    assert _digests(store) == before


def test_demo_into_a_new_folder_beside_a_store_runs(tmp_path: Path) -> None:
    (tmp_path / "day.yaml").write_text(SCENARIO)
    (tmp_path / "opsdesk.db").write_bytes(b"not the demo's")
    done = opsdesk("demo", "shop", "--no-serve", "--format", "json", "--scenario", str(tmp_path / "day.yaml"),
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "opsdesk.db").read_bytes() == b"not the demo's"
