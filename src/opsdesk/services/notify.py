"""Notifications to people: held through their quiet hours, batched into digests, sent through the outbox.

Nothing is sent from ``notify``: each notification joins a digest, a ``notify_digest`` timer per person
that fires at the end of the batching window (or of the person's quiet hours), so a backlog of 500 SLA
warnings becomes one email and one chat message. The digest handler writes those as outbox actions, in
the sweep's transaction, so they go out exactly once with retries like every other effect. Every
notification leaves an audit entry: ``notification.held`` when it joins a digest,
``notification.sent`` when its digest goes out, ``notification.dropped`` when nobody can receive it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsdesk.domain.cases import Case
from opsdesk.domain.ids import fit_id
from opsdesk.domain.org import Org, Person
from opsdesk.domain.outbox import action_id, idempotency_key
from opsdesk.domain.records import AuditEntry, OutboxAction, Timer
from opsdesk.ports import UnitOfWork

DIGEST = "notify_digest"
#: Items a digest keeps in full; past this it only counts them, so a flood cannot grow one row forever.
KEEP = 50
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Notifier:
    """Tells people about their work without flooding them."""

    org: Org
    window: timedelta = timedelta(minutes=5)
    #: The email template of a digest (fields: ``order_name`` carries the title, ``message`` the text).
    template: str = "generic"

    def notify(
        self, uow: UnitOfWork, person_id: str, subject: str, body: str, now: datetime, urgent: bool = False
    ) -> None:
        """Add a notification to the person's digest; urgent ones ignore quiet hours and batching."""
        person = self.org.people.get(person_id)
        if person is None or not (person.email or person.chat_webhook):
            _record(uow, now, person_id, "notification.dropped", {"subject": subject, "reason": _why(person)})
            return
        item = {"subject": subject, "body": body, "at": now.isoformat(), "urgent": urgent}
        if urgent:  # goes out with the next timer sweep: a T-15 warning cannot wait for the window
            _hold(uow, person, [item], 1, (now, now), "urgent", now)
            return
        quiet = person.quiet_period(now)
        _hold(uow, person, [item], 1, quiet or self._batch(now), "quiet_hours" if quiet else "batching", now)

    def notify_owner(
        self, uow: UnitOfWork, owner: str, subject: str, body: str, now: datetime, urgent: bool = False
    ) -> None:
        """Notify a case owner: the person, or for ``team:<name>`` the team's lead (if it has one)."""
        person = self.org.team(owner.removeprefix("team:")).lead if owner.startswith("team:") else owner
        if person is not None:
            self.notify(uow, person, subject, body, now, urgent)

    def tell(self, uow: UnitOfWork, case: Case, message: str, now: datetime) -> None:
        """Tell a case's owner about it (the SLA handlers' ``tell``): ``Case <key>: <message>``."""
        if case.owner is not None:
            self.notify_owner(uow, case.owner, f"Case {case.key}: {message}", case.title, now)

    def send_digest(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``notify_digest`` timer handler: one email and, with a chat webhook, one chat message."""
        pid = str(timer.payload.get("person", ""))
        items: list[dict[str, Any]] = list(timer.payload.get("items", []))
        total = int(timer.payload.get("total", len(items)))
        person = self.org.people.get(pid)
        quiet = person.quiet_period(now) if person is not None else None
        if person is not None and quiet is not None and not any(i.get("urgent") for i in items):
            # Batched just before quiet hours began: hold it until they end rather than wake anyone.
            _hold(uow, person, items, total, quiet, "quiet_hours", now)
            return
        actions = digest_actions(timer, person, items, total, now, self.template) if person else []
        if not actions:  # the person left the configuration, or lost every address, since
            _record(
                uow,
                now,
                pid,
                "notification.dropped",
                {"digest": timer.id, "items": total, "reason": _why(person)},
            )
            return
        uow.outbox.add_many(actions)
        _record(
            uow,
            now,
            pid,
            "notification.sent",
            {
                "digest": timer.id,
                "items": total,
                "subjects": [i.get("subject", "") for i in items],
                "actions": {a.kind: a.id for a in actions},
            },
        )

    def _batch(self, now: datetime) -> tuple[datetime, datetime]:
        """The batching window ``now`` falls in, aligned on multiples of the window since 2026-01-01."""
        start = EPOCH + (now - EPOCH) // self.window * self.window
        return start, start + self.window


def _hold(
    uow: UnitOfWork,
    person: Person,
    items: list[dict[str, Any]],
    count: int,
    period: tuple[datetime, datetime],
    reason: str,
    now: datetime,
) -> None:
    """Add ``items`` (``count`` notifications) to the person's digest for ``period``."""
    digest = _digest(person.id, period, reason)

    def add(held: Timer) -> Timer:
        kept = [*held.payload["items"], *items][:KEEP]
        return replace(held, payload={**held.payload, "items": kept, "total": int(held.payload["total"]) + count})

    # Added at commit, not read and written back here: two transactions adding to one digest each saw the
    # items before both, and the later overwrote the earlier's (ADR 0058, amended).
    uow.timers.amend(digest, add)
    subjects = [str(i.get("subject", "")) for i in items]
    _record(
        uow,
        now,
        person.id,
        "notification.held",
        {
            "subjects": subjects,
            "count": count,
            "digest": digest.id,
            "until": period[1].isoformat(),
            "reason": reason,
        },
    )


def _digest(pid: str, period: tuple[datetime, datetime], reason: str) -> Timer:
    """The person's digest for ``period`` as a new, empty one: due when the period ends."""
    # Quiet stretches and urgent sends are named apart from batching windows: they may start together.
    suffix = {"quiet_hours": ":quiet", "urgent": ":urgent"}.get(reason, "")
    digest_id = f"digest:{pid}:{period[0].astimezone(UTC).isoformat()}{suffix}"
    return Timer(digest_id, DIGEST, f"person:{pid}", period[1], {"person": pid, "items": [], "total": 0})


def digest_actions(
    timer: Timer,
    person: Person,
    items: list[dict[str, Any]],
    total: int,
    now: datetime,
    template: str = "generic",
) -> list[OutboxAction]:
    """The outbox actions one digest sends: an email if the person has an address, a chat message if a hook."""
    title = f"{total} desk notification{'s' if total != 1 else ''}: {items[0]['subject'] if items else ''}"
    text = _text(items, total, person.timezone)
    # The content is part of the id: a digest id fired once and refilled later is a different message.
    fingerprint = hashlib.blake2b(
        json.dumps(timer.payload, sort_keys=True).encode(), digest_size=8
    ).hexdigest()
    decision = f"{timer.id}#{fingerprint}"
    actions = []
    if person.email:
        actions.append(
            _action(
                decision,
                0,
                "email",
                "smtp",
                now,
                {
                    "to": person.email,
                    "template": template,
                    "order_name": title,
                    "subject": title,
                    "message": text,
                },
            )
        )
    if person.chat_webhook:
        actions.append(
            _action(
                decision,
                1,
                "chat",
                "chat",
                now,
                {"webhook_env": person.chat_webhook, "text": f"*{title}*\n{text}"},
            )
        )
    return actions


def _action(
    decision: str, index: int, kind: str, provider: str, now: datetime, payload: dict[str, Any]
) -> OutboxAction:
    aid = action_id(decision, index)
    return OutboxAction(
        id=aid,
        decision_id=fit_id(decision),  # a long person id makes the name outgrow its column
        shop="",
        order_id=None,
        kind=kind,
        provider=provider,
        payload=payload,
        idempotency_key=idempotency_key(aid),
        created_at=now,
        next_attempt_at=now,
    )


def _text(items: list[dict[str, Any]], total: int, zone: str) -> str:
    """The digest's body: one paragraph per notification, times in the person's zone."""
    local = ZoneInfo(zone)
    lines = []
    for item in items:
        at = datetime.fromisoformat(str(item["at"])).astimezone(local).strftime("%Y-%m-%d %H:%M %Z")
        lines.append(
            f"- {at}{' [urgent]' if item.get('urgent') else ''}  {item['subject']}\n  {item['body']}"
        )
    if total > len(items):
        lines.append(f"... and {total - len(items)} more.")
    return "\n".join(lines)


def _why(person: Person | None) -> str:
    return "no such person under people" if person is None else "the person has no email and no chat webhook"


def _record(uow: UnitOfWork, now: datetime, pid: str, action: str, after: dict[str, Any]) -> None:
    uow.audit.record([AuditEntry(now, "automation", action, f"person:{pid}", None, after)])
