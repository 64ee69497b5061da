"""The SpiffWorkflow peer of benchmark P1: every delivery runs one persisted `refund_request` instance.

Per delivery, as `/work/shared/peers/README.md` describes: parse the body, derive the refund workload
(order id, amount as text, reason), create a `BpmnWorkflow` from the spec parsed once, put the data on
the start task, `do_engine_steps()`, note whether a READY manual `human_review` task waits, and store
`BpmnWorkflowSerializer.serialize_json` in SQLite (WAL, synchronous=NORMAL), committing every 1,000.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal
from importlib.metadata import version
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

BPMN = Path(__file__).resolve().parents[1].parent / "shared" / "peers" / "refund.bpmn"
PROCESS_ID = "refund_request"
COMMIT_EVERY = 1000
SCHEMA = """CREATE TABLE IF NOT EXISTS workflow_instance (
    id INTEGER PRIMARY KEY, topic TEXT NOT NULL, order_id INTEGER, human_task INTEGER NOT NULL,
    serialization TEXT NOT NULL)"""


def load_spec(bpmn: Path = BPMN) -> BpmnProcessSpec:
    """Parse the refund process once."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(bpmn))
    return parser.get_spec(PROCESS_ID)


def topic_of(delivery: dict[str, Any]) -> str:
    """Return the delivery's topic, looking the header up case-insensitively."""
    return next(value for name, value in delivery["headers"].items() if name.lower() == "x-shopify-topic")


def order_id_of(topic: str, body: dict[str, Any]) -> int | None:
    """Return the order a payload belongs to, if any."""
    if topic.startswith("orders/"):
        return body["id"]
    if "order_id" in body:
        return body["order_id"]
    return body["order"]["id"] if isinstance(body.get("order"), dict) else None


def workload_data(delivery: dict[str, Any]) -> dict[str, Any]:
    """Derive the refund workload's start data (`order_id`, `amount` as text, `reason`) from a delivery."""
    topic, body = topic_of(delivery), orjson.loads(delivery["body"])
    if topic != "returns/request" or not body["return_line_items"]:
        return {"order_id": order_id_of(topic, body), "amount": str(body.get("total_price") or "0"),
                "reason": "none"}
    items = body["return_line_items"]
    amount = sum((Decimal(item["line_item"]["price"]) * item["quantity"] for item in items), Decimal(0))
    # Shopify's enum, lowercased: NOT_AS_DESCRIBED is the only one the BPMN's simple reasons contain.
    reason = items[0]["return_reason"].lower()
    return {"order_id": body["order"]["id"], "amount": str(amount), "reason": reason}


def run_instance(spec: BpmnProcessSpec, data: dict[str, Any]) -> tuple[BpmnWorkflow, bool]:
    """Run one instance as far as the engine goes; say whether it waits on the human review task."""
    workflow = BpmnWorkflow(spec)
    workflow.get_next_task(spec_name="start").data.update(data)
    workflow.do_engine_steps()
    waiting = workflow.get_next_task(state=TaskState.READY, manual=True, spec_name="human_review")
    return workflow, waiting is not None


def open_db(db_path: str) -> sqlite3.Connection:
    """Open the instance store with WAL and synchronous=NORMAL, and print the settings."""
    db = sqlite3.connect(db_path, isolation_level=None)
    journal = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    db.execute("PRAGMA synchronous=NORMAL")
    level = db.execute("PRAGMA synchronous").fetchone()[0]
    synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[level]
    db.execute(SCHEMA)
    print(f"SpiffWorkflow {version('SpiffWorkflow')}, SQLite {sqlite3.sqlite_version}: "
          f"journal_mode={journal}, synchronous={synchronous}, a commit every {COMMIT_EVERY:,} instances")
    return db


def run_spiff(deliveries: Iterable[dict[str, Any]], db_path: str) -> dict[str, Any]:
    """Run and persist one workflow instance per delivery; return the count, time, rate and human tasks."""
    spec, serializer = load_spec(), BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    db = open_db(db_path)
    insert = "INSERT INTO workflow_instance (topic, order_id, human_task, serialization) VALUES (?, ?, ?, ?)"
    count = human_tasks = 0
    started = time.perf_counter()
    db.execute("BEGIN")
    for delivery in deliveries:
        data = workload_data(delivery)
        workflow, waiting = run_instance(spec, data)
        row = (topic_of(delivery), data["order_id"], waiting, serializer.serialize_json(workflow))
        db.execute(insert, row)
        count, human_tasks = count + 1, human_tasks + waiting
        if count % COMMIT_EVERY == 0:
            db.execute("COMMIT")
            db.execute("BEGIN")
    db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return {"instances": count, "seconds": seconds, "per_second": count / seconds if seconds else 0.0,
            "human_tasks": human_tasks}


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Stream deliveries from a JSON Lines file."""
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


def main(argv: list[str] | None = None) -> None:
    """Run the peer on a deliveries file and print its figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deliveries", type=Path, help="JSON Lines written by benchmarks/corpus.py")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N deliveries")
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    args = parser.parse_args(argv)
    deliveries = islice(read_jsonl(args.deliveries), args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_spiff(deliveries, args.db or str(Path(tmp) / "spiff.sqlite3"))
    print(f"SpiffWorkflow P1 peer: {result['instances']:,} instances in {result['seconds']:.2f} s = "
          f"{result['per_second']:,.0f} instances/s ({result['human_tasks']:,} waiting on human_review; "
          "reading and parsing the deliveries included)")


if __name__ == "__main__":
    main()
