"""Drive the pipeline the way ``opsdesk ingest`` does: verify, store, process."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from opsdesk.domain.policies import Playbook
from opsdesk.policy import loader
from opsdesk.ports import Database
from opsdesk.services.pipeline import Pipeline
from opsdesk.services.pipeline_batch import BatchReport, ShopDefaults
from opsdesk.services.pipeline_drain import process_pending
from opsdesk.services.replay import ReplayReport, replay
from opsdesk.testing import ManualClock
from tests.samples import SECRET, SHOP

STARTER = Path(__file__).resolve().parents[1] / "src" / "opsdesk" / "starter" / "playbooks"


def starter_playbooks() -> list[Playbook]:
    return loader.load([STARTER])


def starter_with_refund_rule(directory: Path, rule_id: str) -> Path:
    """A copy of the starter playbooks in ``directory``/playbooks, the automatic refund rule's id replaced."""
    playbooks = directory / "playbooks"
    shutil.copytree(STARTER, playbooks)
    refunds = playbooks / "refunds.yaml"
    refunds.write_text(refunds.read_text().replace("id: auto-refund-simple-purchase-error", f"id: {rule_id}"))
    return playbooks


def feed(
    db: Database, deliveries: Iterable[dict[str, Any]], clock: ManualClock, known: Iterable[str] = (SHOP,)
) -> ReplayReport:
    shops = set(known)
    lines = [orjson.dumps(d) for d in deliveries]
    return replay(
        lines,
        db.unit_of_work,
        secrets_for=lambda _shop: (SECRET,),
        is_known=lambda s: s in shops,
        max_bytes=2 * 1024 * 1024,
        now=clock.now,
        batch_size=50,
    )


def drain(
    db: Database, clock: ManualClock, playbooks: list[Playbook] | None = None, batch_size: int = 500
) -> BatchReport:
    pipeline = Pipeline(starter_playbooks() if playbooks is None else playbooks, lambda _s: ShopDefaults())
    return process_pending(db.unit_of_work, pipeline, clock.now, batch_size)
