"""Notifications: quiet hours in the person's own zone, digests per batching window, every one audited."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from opsdesk.domain.calendar import BusinessCalendar
from opsdesk.domain.cases import Case
from opsdesk.domain.org import Org, Person, Team
from opsdesk.domain.records import AuditEntry, OutboxAction, Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.services.notify import DIGEST, Notifier
from opsdesk.testing import InMemoryDatabase, ManualClock

PARIS = BusinessCalendar("Europe/Paris", {d: ((time(9), time(17)),) for d in range(5)})
ANA = Person("ana", "Ana", "ana@shop.example", calendar=PARIS, quiet_hours=(time(22), time(7)))
BEN = Person("ben", "Ben", "ben@shop.example", chat_webhook="BEN_CHAT_URL")
NOBODY = Person("cy", "Cy")
ORG = Org(
    people={p.id: p for p in (ANA, BEN, NOBODY)},
    teams={"support": Team("support", ("ana", "ben"), lead="ben")},
)
MONDAY = datetime(2026, 3, 2, 10, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def notify(db: InMemoryDatabase, person: str, subject: str, at: datetime, urgent: bool = False) -> None:
    with db.unit_of_work() as uow:
        Notifier(ORG).notify(uow, person, subject, f"about {subject}", at, urgent)
        uow.commit()


def sweep(db: InMemoryDatabase, now: datetime) -> int:
    """Fire the digests due at ``now`` through the timer sweeper; returns how many fired."""
    notifier = Notifier(ORG)
    sweeper = TimerSweeper(db, {DIGEST: notifier.send_digest}, ManualClock(now), worker="sweeper")
    sweeper.run_once()
    assert (sweeper.stats.failed, sweeper.stats.retried, sweeper.stats.lost) == (0, 0, 0)
    return sweeper.stats.fired


def pending(db: InMemoryDatabase, person: str) -> list[Timer]:
    with db.unit_of_work() as uow:
        return uow.timers.pending(f"person:{person}")


def sent(db: InMemoryDatabase) -> list[OutboxAction]:
    return sorted(db.tables.actions.values(), key=lambda a: a.kind)


def audit(db: InMemoryDatabase, action: str) -> list[AuditEntry]:
    return [e for e in db.tables.audit if e.action == action]


def test_a_notification_waits_for_the_end_of_its_batching_window_then_goes_as_one_email() -> None:
    db = InMemoryDatabase()

    notify(db, "ana", "Case c1 is now yours", MONDAY)

    [digest] = pending(db, "ana")
    assert (digest.id, digest.kind, digest.due_at) == ("digest:ana:2026-03-02T10:00:00+00:00", DIGEST,
                                                       utc(2026, 3, 2, 10, 5))
    assert sweep(db, utc(2026, 3, 2, 10, 4, 59)) == 0
    assert sweep(db, utc(2026, 3, 2, 10, 5)) == 1
    [email] = sent(db)
    assert (email.kind, email.provider, email.idempotency_key) == ("email", "smtp", f"opsdesk-{email.id}")
    assert email.payload == {
        "to": "ana@shop.example",
        "template": "generic",
        "order_name": "1 desk notification: Case c1 is now yours",
        "subject": "1 desk notification: Case c1 is now yours",
        "message": "- 2026-03-02 11:01 CET  Case c1 is now yours\n  about Case c1 is now yours",
    }


def test_500_warnings_in_one_window_make_one_email_and_one_chat_message() -> None:
    db = InMemoryDatabase()
    start = utc(2026, 3, 2, 10, 0)

    for i in range(500):
        notify(db, "ben", f"SLA warning on case c{i}", start + timedelta(seconds=i * 0.5))

    assert len(pending(db, "ben")) == 1
    sweep(db, utc(2026, 3, 2, 10, 5))
    chat, email = sent(db)
    assert (email.kind, chat.kind, chat.provider) == ("email", "chat", "chat")
    assert email.payload["subject"] == "500 desk notifications: SLA warning on case c0"
    assert email.payload["message"].endswith("\n... and 450 more.")
    assert email.payload["message"].count("  about SLA warning on case") == 50
    assert chat.payload == {"webhook_env": "BEN_CHAT_URL",
                            "text": f"*{email.payload['subject']}*\n{email.payload['message']}"}
    assert (len(audit(db, "notification.held")), len(audit(db, "notification.sent"))) == (500, 1)
    [record] = audit(db, "notification.sent")
    assert (record.subject, (record.after or {})["items"], (record.after or {})["actions"]) == (
        "person:ben", 500, {"email": email.id, "chat": chat.id})


def test_the_next_window_gets_a_digest_of_its_own() -> None:
    db = InMemoryDatabase()

    notify(db, "ben", "first", utc(2026, 3, 2, 10, 1))
    notify(db, "ben", "second", utc(2026, 3, 2, 10, 7))

    assert [t.due_at for t in pending(db, "ben")] == [utc(2026, 3, 2, 10, 5), utc(2026, 3, 2, 10, 10)]


def test_quiet_hours_hold_notifications_until_they_end_in_the_persons_zone() -> None:
    db = InMemoryDatabase()
    evening = utc(2026, 3, 2, 21, 30)  # 22:30 in Paris (CET, UTC+1): quiet

    notify(db, "ana", "Case c1 is now yours", evening)
    notify(db, "ana", "SLA warning on case c1", evening + timedelta(hours=3))

    [digest] = pending(db, "ana")
    assert (digest.id, digest.due_at) == ("digest:ana:2026-03-02T21:00:00+00:00:quiet", utc(2026, 3, 3, 6))
    assert [(e.after or {})["reason"] for e in audit(db, "notification.held")] == ["quiet_hours"] * 2
    assert sweep(db, utc(2026, 3, 3, 5, 59)) == 0
    assert sweep(db, utc(2026, 3, 3, 6, 0)) == 1
    [email] = sent(db)
    assert email.payload["message"] == (
        "- 2026-03-02 22:30 CET  Case c1 is now yours\n  about Case c1 is now yours\n"
        "- 2026-03-03 01:30 CET  SLA warning on case c1\n  about SLA warning on case c1"
    )


def test_quiet_hours_follow_the_clock_change_in_the_persons_zone() -> None:
    db = InMemoryDatabase()

    notify(db, "ana", "overnight", utc(2026, 3, 28, 23, 30))  # 00:30 CET; clocks go forward at 02:00

    [digest] = pending(db, "ana")
    assert digest.due_at == utc(2026, 3, 29, 5)  # 07:00 CEST


def test_an_urgent_notification_ignores_quiet_hours_and_batching() -> None:
    db = InMemoryDatabase()
    notify(db, "ana", "routine", utc(2026, 3, 2, 23, 2))  # 00:02 in Paris: held until 07:00

    notify(db, "ana", "breach on case c1", utc(2026, 3, 2, 23, 2), urgent=True)

    assert sorted(d.due_at for d in pending(db, "ana")) == [utc(2026, 3, 2, 23, 2), utc(2026, 3, 3, 6)]
    sweep(db, utc(2026, 3, 2, 23, 2))
    [email] = sent(db)
    assert "[urgent]  breach on case c1" in email.payload["message"]


def test_a_digest_that_comes_due_in_quiet_hours_is_held_until_they_end() -> None:
    db = InMemoryDatabase()
    notify(db, "ana", "just before bedtime", utc(2026, 3, 2, 20, 58))  # 21:58 Paris; due 22:00 Paris

    sweep(db, utc(2026, 3, 2, 21, 0))

    assert sent(db) == []
    [held] = pending(db, "ana")
    assert (held.due_at, held.payload["total"]) == (utc(2026, 3, 3, 6), 1)


def test_a_team_owner_is_told_through_its_lead() -> None:
    db = InMemoryDatabase()

    with db.unit_of_work() as uow:
        Notifier(ORG).notify_owner(uow, "team:support", "case c9 has no one on shift", "", MONDAY)
        uow.commit()

    assert [t.payload["person"] for t in pending(db, "ben")] == ["ben"]


def test_a_notification_nobody_can_receive_is_recorded_as_dropped() -> None:
    db = InMemoryDatabase()

    notify(db, "cy", "no address", MONDAY)
    notify(db, "zed", "no such person", MONDAY)

    assert [(e.subject, e.after) for e in audit(db, "notification.dropped")] == [
        ("person:cy", {"subject": "no address", "reason": "the person has no email and no chat webhook"}),
        ("person:zed", {"subject": "no such person", "reason": "no such person under people"}),
    ]
    assert db.tables.timers == {}


def test_the_sla_handlers_tell_goes_to_the_case_owner() -> None:
    db = InMemoryDatabase()
    held = Case("c7", "demo.myshopify.com", "refund", "refunds", "Refund for #1001", "over the cap", MONDAY,
                owner="team:support")

    with db.unit_of_work() as uow:
        Notifier(ORG).tell(uow, held, "SLA warning: 80 % of first_response used", MONDAY)
        uow.commit()

    [digest] = pending(db, "ben")  # the team's lead
    assert digest.payload["items"] == [{"subject": "Case c7: SLA warning: 80 % of first_response used",
                                        "body": "Refund for #1001", "at": MONDAY.isoformat(), "urgent": False}]


def test_a_digest_for_someone_who_left_the_configuration_is_recorded_as_dropped() -> None:
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        payload = {"person": "zed", "items": [{"subject": "old news"}], "total": 1}
        uow.timers.schedule([Timer("digest:zed:w", DIGEST, "person:zed", MONDAY, payload)])
        uow.commit()

    assert sweep(db, MONDAY) == 1

    assert sent(db) == []
    assert [(e.subject, e.after) for e in audit(db, "notification.dropped")] == [
        ("person:zed", {"digest": "digest:zed:w", "items": 1, "reason": "no such person under people"})]
