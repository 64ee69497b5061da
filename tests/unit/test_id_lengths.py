"""Every id and key the desk builds fits the column that holds it, for the longest domain a shop can have.

A shop's domain is ``<handle>.myshopify.com`` and the handle is a DNS label: at most 63 characters, so a
domain of 77. PostgreSQL refuses a value longer than its ``VARCHAR(n)`` (SQLite does not check), so each
builder is measured here against its column in ``storage/tables/``. Names that fit stay as they were.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, String

from opsdesk import desk
from opsdesk.domain.events import ComplianceKind, ComplianceRequested, OrderId, ShopDomain
from opsdesk.domain.ids import fit_id
from opsdesk.domain.orders import OrderState
from opsdesk.domain.org import Person
from opsdesk.domain.policies import Guardrail, Scope, window_started
from opsdesk.domain.policy_names import NAME_LENGTH, OWNER_LENGTH, PRIORITY_LENGTH, QUEUE_LENGTH
from opsdesk.domain.records import OutboxAction, Timer
from opsdesk.domain.sla import SlaPolicy
from opsdesk.services import address_checks, followups, labels, monitors, notify, pickups, stuck
from opsdesk.services.deadlines import deadman_case, deadman_timer
from opsdesk.services.discount_incidents import code_audit_subject, code_subject, short_id
from opsdesk.services.payments import PaymentWatch
from opsdesk.services.privacy import request_timer
from opsdesk.services.reconcile_mark import MARK_PREFIX
from opsdesk.services.signals import signal
from opsdesk.services.sla import SLA_WARNING, sla_timer
from opsdesk.storage import tables as t
from tests.sla_harness import SUPPORT_NY

HANDLE = "the-longest-store-handle-a-shop-can-have-is-a-dns-label-of-63ch"
SHOP = f"{HANDLE}.myshopify.com"
ORDER = 9_223_372_036_854_775_807  # the largest id a BIGINT holds: Shopify's ids are 13 digits today
NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
FINGERPRINT = "0123456789abcdef"


def limit(column: Column[str]) -> int:
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


def assert_fits(value: str | None, *columns: Column[str]) -> None:
    assert value is not None
    for column in columns:
        assert len(value) <= limit(column), f"{column}: {len(value)} > {limit(column)}: {value}"


def assert_action_fits(action: OutboxAction) -> None:
    assert_fits(action.id, t.actions.c.id)
    assert_fits(action.decision_id, t.actions.c.decision_id, t.decisions.c.id)
    assert_fits(action.idempotency_key, t.actions.c.idempotency_key)


def assert_timer_fits(timer: Timer) -> None:
    assert_fits(timer.id, t.timers.c.id)
    assert_fits(timer.subject, t.timers.c.subject)
    assert_fits(timer.kind, t.timers.c.kind)


def action(decision: str) -> OutboxAction:
    """The outbox action a monitor makes for ``decision`` (its email, label or hold)."""
    return monitors.outbox_action(decision, 0, "email", "smtp", None, SHOP, {}, NOW)


def test_the_longest_shop_domain_is_the_one_measured() -> None:
    assert len(HANDLE) == 63 and len(SHOP) == 77
    assert_fits(SHOP, t.orders.c.shop, t.cases.c.shop, t.deliveries.c.shop)


@pytest.mark.parametrize("case_id", [
    stuck.case_id(SHOP, ORDER, NOW),
    followups.case_id(SHOP, ORDER),
    labels.case_id(SHOP, ORDER),
    address_checks.case_id(SHOP, ORDER, FINGERPRINT),
    short_id("abuse", SHOP, "A-CODE-OF-255-CHARACTERS" * 10) + "-9999",  # a discount incident's later episode
], ids=["stuck", "delayed", "label", "address", "discount"])
def test_the_monitors_cases_and_the_decisions_that_open_them_fit(case_id: str) -> None:
    assert_fits(case_id, t.cases.c.id, t.decisions.c.id, t.case_changes.c.case_id, t.discount_incidents.c.id)
    assert_fits(f"action-{case_id}", t.cases.c.id)


@pytest.mark.parametrize("decision", [
    followups.message_decision(SHOP, ORDER, 3),
    labels.label_decision(SHOP, ORDER, 1),
    labels.in_hand_decision(SHOP, ORDER),
    *(address_checks.address_decision(step, SHOP, ORDER, FINGERPRINT)
      for step in ("address", "address-hold", "address-release")),
    address_checks.address_decision("address-hold", SHOP, ORDER, FINGERPRINT, "2026-01-05T15:00:00.123456+00:00"),
], ids=["followup", "label", "label-in-hand", "address", "address-hold", "address-release", "address-answer"])
def test_the_monitors_actions_fit_and_their_decisions_fit_where_they_are_recorded(decision: str) -> None:
    made = action(decision)
    assert_action_fits(made)
    assert made.decision_id == fit_id(decision)  # what record_decision is given (labels, follow-ups)


def test_decisions_recorded_by_name_fit() -> None:
    assert_fits(labels.case_decision(SHOP, ORDER), t.decisions.c.id)
    assert_fits(fit_id(address_checks.address_decision("address-hold", SHOP, ORDER, FINGERPRINT)), t.decisions.c.id)


def test_names_that_fit_are_kept_as_they_were() -> None:
    shop = "demo-store.myshopify.com"
    assert stuck.case_id(shop, 5_123_456_789_012, NOW) == f"stuck-{shop}-5123456789012-{int(NOW.timestamp())}"
    assert followups.case_id(shop, 5_123_456_789_012) == f"delayed-{shop}-5123456789012"
    assert action(followups.message_decision(shop, 1, 1)).decision_id == f"followup:{shop}:1:1"


def test_the_ids_of_a_shortened_name_still_come_from_the_whole_name() -> None:
    """An action's id (and so the idempotency key the provider saw) is the one it had before the fix."""
    long, other = (labels.label_decision(SHOP, ORDER, attempt) for attempt in (0, 1))
    assert action(long).id != action(other).id and action(long).decision_id != action(other).decision_id
    assert action(long).idempotency_key == f"opsdesk-{action(long).id}"


def test_the_monitors_timers_fit() -> None:
    for timer_id, subject in [
        (stuck.timer_id(SHOP, ORDER), stuck.subject(SHOP, ORDER)),
        (followups.timer_id(SHOP, ORDER), followups.subject(SHOP, ORDER)),
        (labels.timer_id(SHOP, ORDER), labels.subject(SHOP, ORDER)),
        (address_checks.timer_id(SHOP, ORDER), address_checks.subject(SHOP, ORDER)),
        (f"{pickups.subject(SHOP, ORDER)}:20261123T1700:w60", pickups.subject(SHOP, ORDER)),
    ]:
        assert_fits(timer_id, t.timers.c.id)
        assert_fits(subject, t.timers.c.subject)
    assert_fits(f"{pickups.subject(SHOP, ORDER)}-case", t.cases.c.id)


def test_the_payment_and_privacy_timers_fit() -> None:
    assert_timer_fits(PaymentWatch()._timer(OrderState(ShopDomain(SHOP), OrderId(ORDER)), NOW))
    request = ComplianceRequested(ShopDomain(SHOP), NOW, ComplianceKind.CUSTOMER_REDACT, ORDER, "a@b.c", (ORDER,))
    assert_timer_fits(request_timer(request, NOW))


def test_the_desks_own_timers_and_cases_fit() -> None:
    longest_case = "x" * limit(t.cases.c.id)
    policy = SlaPolicy("standard", SUPPORT_NY, {"first_response": timedelta(hours=4)})
    assert_timer_fits(sla_timer(longest_case, policy, "first_response", SLA_WARNING, 0.75, NOW))
    dead = deadman_timer("label within 15 minutes of return approval", NOW, expect="case_resolved", shop=SHOP,
                         subject=labels.subject(SHOP, ORDER), order_id=ORDER)
    assert_timer_fits(dead)
    case = deadman_case(dead, NOW)
    assert_fits(case.id, t.cases.c.id)
    assert_fits(case.source, t.cases.c.source)


def test_a_digest_to_a_person_with_a_long_id_fits() -> None:
    person = Person("fulfilment-lead-north-east", "Lead", email="lead@example.com")
    timer = Timer(f"digest:{person.id}:{NOW.isoformat()}:urgent", notify.DIGEST, f"person:{person.id}", NOW,
                  {"person": person.id, "items": [], "total": 0})
    assert_timer_fits(timer)
    for made in notify.digest_actions(timer, person, [], 0, NOW):
        assert_action_fits(made)


def test_a_signal_about_an_order_of_many_skus_fits() -> None:
    skus = ",".join(f"SKU-{n:04d}-BLUE-XL" for n in range(30))
    raised = signal(SHOP, "opsdesk/order_oversold", f"{ORDER}:{skus}", {}, NOW)
    assert_fits(raised.webhook_id, t.deliveries.c.webhook_id)
    assert_fits(raised.event_id, t.deliveries.c.event_id)
    short = signal(SHOP, "opsdesk/payment_overdue", f"{ORDER}:due", {}, NOW)
    assert short.webhook_id == f"opsdesk:opsdesk/payment_overdue:{ORDER}:due"


def test_a_discount_code_as_long_as_shopify_allows_fits_its_rate_windows_and_audit_subject() -> None:
    code = "SPRING-" + "X" * 248  # 255 characters: Shopify's longest code
    assert_fits(code_subject(code), t.discount_windows.c.subject)
    assert_fits(code_audit_subject(code), t.audit.c.subject)
    assert code_subject("welcome10") == "code:WELCOME10"  # as before


def test_the_reconcile_mark_and_the_open_case_key_fit() -> None:
    assert_fits(f"{MARK_PREFIX}{SHOP}", t.usage.c.key)
    assert_fits(f"{SHOP}|{ORDER}|automation_failure", t.cases.c.open_key)


#: The longest a rule id is stored (``decisions.rule_id``) and an email address can be (RFC 5321: 64 + 1 + 255).
RULE = "refund-" + "r" * (limit(t.decisions.c.rule_id) - 7)
EMAIL = "a" * 64 + "@" + ("d" * 63 + ".") * 3 + "d" * 63


@pytest.mark.parametrize("now", [NOW, datetime(9999, 12, 31, 23, 59, tzinfo=UTC)], ids=["today", "year-9999"])
@pytest.mark.parametrize(
    "period",
    [timedelta(days=30), timedelta(seconds=1), None],  # None: a cap without a period, its window is "-"
    ids=["30d", "1s", "for-ever"],
)
def test_a_guardrail_counter_of_the_longest_rule_and_email_fits_and_keeps_its_window(
    period: timedelta | None, now: datetime
) -> None:
    per_customer = Guardrail(Scope.CUSTOMER, period, max_count=2)
    key, window = per_customer.usage_key(RULE, EMAIL, now), per_customer.window(now)
    assert (len(RULE), len(EMAIL), len(f"{RULE}|customer|{EMAIL}|{window}")) == (128, 320, 459 + len(window))

    assert_fits(key, t.usage.c.key)
    assert window_started(key) == (None if window == "-" else int(window))  # the retention sweep reads it back
    assert key.startswith("refund-r") and key.split("|")[1] == "customer"
    assert key == per_customer.usage_key(RULE, EMAIL, now)  # the same counter every time
    assert key != per_customer.usage_key(RULE, "b" + EMAIL[1:], now)  # and one per customer


def test_the_longest_rule_id_and_playbook_name_the_loader_takes_are_what_a_decision_holds() -> None:
    assert NAME_LENGTH == limit(t.decisions.c.rule_id) == limit(t.decisions.c.playbook) == len(RULE)


def test_the_longest_queue_priority_and_owner_the_loader_takes_are_what_a_case_holds() -> None:
    columns = (limit(t.cases.c.queue), limit(t.cases.c.priority), limit(t.cases.c.owner))
    assert columns == (QUEUE_LENGTH, PRIORITY_LENGTH, OWNER_LENGTH)


def test_a_guardrail_counter_that_fits_is_kept_as_it_was() -> None:
    per_customer = Guardrail(Scope.CUSTOMER, timedelta(days=30), max_count=2)
    start = int(per_customer.window(NOW))
    assert per_customer.usage_key("auto-refund", "9000001", NOW) == f"auto-refund|customer|9000001|{start}"
    per_shop = Guardrail(Scope.SHOP, timedelta(days=1), max_count=9)  # the longest domain and rule: 222
    assert per_shop.usage_key(RULE, SHOP, NOW) == f"{RULE}|shop|{SHOP}|{per_shop.window(NOW)}"
    longest = per_customer.usage_key("r" * 59, EMAIL, NOW)
    assert (len(longest), longest) == (400, f"{'r' * 59}|customer|{EMAIL}|{start}")  # the column, exactly


def test_a_worker_on_a_host_with_a_long_name_fits_the_lease_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "opsdesk-worker-" + "x" * 48)  # 63: a pod's longest
    assert_fits(desk.this_worker(), t.actions.c.lease_owner, t.timers.c.lease_owner)
    assert desk.this_worker().startswith("opsdesk-worker-")


