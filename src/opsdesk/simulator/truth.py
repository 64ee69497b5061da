"""The simulator's ground truth: what really happened in the store, kept beside what opsdesk recorded.

Saved as JSON next to the database (``<database>.truth.json``) so a scorecard can be recomputed later.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Affected:
    """An order an incident harmed, when, and the money it put at risk."""

    at: datetime
    order_id: int | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Trouble:
    """A parcel's trouble on its last leg (or its wait at a pickup point), and how it ended (``trouble.py``)."""

    order_id: int
    path: str  # attempted_delivery, buyer_action, returned_to_sender or pickup
    at: datetime  # its first trouble scan (at a pickup point: ready_for_pickup)
    ended: str  # delivered, collected or returned: the scan that ends it may fall after the horizon
    ended_at: datetime
    acted_at: datetime | None = None  # when the buyer acted on the carrier's request

    def as_row(self) -> list[Any]:
        acted = self.acted_at.isoformat() if self.acted_at is not None else None
        return [self.order_id, self.path, self.at.isoformat(), self.ended, self.ended_at.isoformat(), acted]


def trouble_from_row(row: list[Any]) -> Trouble:
    order_id, path, at, ended, ended_at, acted = row
    acted_at = datetime.fromisoformat(acted) if acted is not None else None
    return Trouble(order_id, path, datetime.fromisoformat(at), ended, datetime.fromisoformat(ended_at), acted_at)


@dataclass(slots=True)
class IncidentTruth:
    kind: str
    start: datetime
    end: datetime
    params: dict[str, Any]
    affected: list[Affected] = field(default_factory=list)
    #: when the harm ended on its own, by order (a stalled payment that went through at last)
    cleared: dict[int, datetime] = field(default_factory=dict)

    def at_risk(self, until: datetime) -> Decimal:
        """Money put at risk by the incident up to ``until``."""
        return sum((a.amount for a in self.affected if a.at <= until), Decimal(0))

    def harmed_at(self) -> dict[int, datetime]:
        """Each affected order and when the incident first harmed it."""
        first: dict[int, datetime] = {}
        for a in self.affected:
            if a.order_id is not None and (a.order_id not in first or a.at < first[a.order_id]):
                first[a.order_id] = a.at
        return first

    def lasted(self, order_id: int, harmed: datetime) -> timedelta | None:
        """How long the harm to an order lasted, if it ended on its own (None: it did not end)."""
        until = self.cleared.get(order_id)
        return until - harmed if until is not None else None

    @property
    def orders(self) -> set[int]:
        return {a.order_id for a in self.affected if a.order_id is not None}


@dataclass(slots=True)
class Truth:
    scenario: str
    seed: int
    shop: str
    start: datetime
    end: datetime
    horizon: datetime
    orders: int = 0
    deliveries: int = 0
    duplicates: int = 0
    reordered: int = 0
    topics: Counter[str] = field(default_factory=Counter)
    #: orders a person must look at, and why (a dispute, a damaged item, an incident, ...)
    needs_person: dict[int, str] = field(default_factory=dict)
    #: routine events that automation should handle alone (e.g. a simple return inside the caps)
    routine_decisions: int = 0
    incidents: list[IncidentTruth] = field(default_factory=list)
    #: each order's total as the store charged it, by order id: its value, whatever reached the desk of it
    totals: dict[int, Decimal] = field(default_factory=dict)
    #: the parcels whose last leg was not a delivery at the first attempt, seen before the horizon
    trouble: list[Trouble] = field(default_factory=list)
    _digest: Any = field(default_factory=hashlib.sha256, repr=False)
    saved_digest: str = ""  # the digest of a truth read back from its file

    def record(self, topic: str, webhook_id: str, body: bytes, *, duplicate: bool) -> None:
        self.deliveries += 1
        self.duplicates += duplicate
        self.topics[topic] += 1
        self._digest.update(webhook_id.encode())
        self._digest.update(body)

    def person(self, order_id: int, why: str) -> None:
        self.needs_person.setdefault(order_id, why)

    @property
    def digest(self) -> str:
        """A hash over every delivery's webhook id and body, in the order they were sent."""
        return self.saved_digest or str(self._digest.hexdigest())

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "shop": self.shop,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "horizon": self.horizon.isoformat(),
            "orders": self.orders,
            "deliveries": self.deliveries,
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "digest": self.digest,
            "topics": dict(sorted(self.topics.items())),
            "routine_decisions": self.routine_decisions,
            "needs_person": {str(k): v for k, v in sorted(self.needs_person.items())},
            "incidents": [
                {
                    "kind": i.kind,
                    "start": i.start.isoformat(),
                    "end": i.end.isoformat(),
                    "params": i.params,
                    "affected": [[a.at.isoformat(), a.order_id, str(a.amount)] for a in i.affected],
                    "cleared": {str(k): v.isoformat() for k, v in sorted(i.cleared.items())},
                }
                for i in self.incidents
            ],
            "totals": {str(k): str(v) for k, v in self.totals.items()},
            "trouble": [t.as_row() for t in self.trouble],
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=1) + "\n")


def load_truth(path: Path) -> Truth:
    data = json.loads(path.read_text())
    truth = Truth(
        data["scenario"],
        data["seed"],
        data["shop"],
        datetime.fromisoformat(data["start"]),
        datetime.fromisoformat(data["end"]),
        datetime.fromisoformat(data["horizon"]),
        data["orders"],
        data["deliveries"],
        data["duplicates"],
        data["reordered"],
        Counter(data["topics"]),
        {int(k): v for k, v in data["needs_person"].items()},
        data["routine_decisions"],
        saved_digest=data["digest"],
        # a file written before the truth kept them has none: the scorecard then reads what the desk recorded
        totals={int(k): Decimal(v) for k, v in data.get("totals", {}).items()},
        trouble=[trouble_from_row(row) for row in data.get("trouble", [])],  # none in a file of before session 15
    )
    for i in data["incidents"]:
        affected = [
            Affected(datetime.fromisoformat(at), oid, Decimal(amount)) for at, oid, amount in i["affected"]
        ]
        truth.incidents.append(
            IncidentTruth(
                i["kind"],
                datetime.fromisoformat(i["start"]),
                datetime.fromisoformat(i["end"]),
                i["params"],
                affected,
                {int(k): datetime.fromisoformat(v) for k, v in i.get("cleared", {}).items()},
            )
        )
    return truth


def truth_path(database_url: str) -> Path | None:
    """Where the truth of a SQLite database is kept (beside the file); None for a server database."""
    if not database_url.startswith("sqlite:///"):
        return None
    return Path(database_url.removeprefix("sqlite:///") + ".truth.json")
