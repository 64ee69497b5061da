"""Each readiness control, measured over live data in the in-memory database on a manual clock.

The controls over a shop's stock, pages, access, fraud review, packaging and pickups are in
``test_readiness_shop_controls``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from opsdesk.domain.cases import CaseChange, CaseStatus, Changed
from opsdesk.domain.errors import InvalidInput, NotFound
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.readiness import Offender, PolicyReview, Result, Status
from opsdesk.domain.records import CaseRecord, OutboxAction
from opsdesk.organisation import build_org
from opsdesk.readiness import evidence, registry
from opsdesk.testing import InMemoryDatabase, replace
from tests.contract.test_readiness_repository import SHOP, order
from tests.unit.readiness_measures import NOW, email, measure, playbook, refund_case, settings, write


def test_order_owners_fails_naming_the_unowned_order_and_case_then_passes_once_owned() -> None:
    db = InMemoryDatabase()
    write(db, lambda uow: uow.orders.put_many([order(1, owner=None), order(2)]))
    write(db, lambda uow: uow.cases.open(CaseRecord("c1", SHOP, "order", "risk", "held order", "risk", NOW)))
    result = measure(db, "order-owners")
    assert result == Result(
        "order-owners", "Every order has a clear owner", Status.FAIL,
        "1 open orders and 1 active cases have no owner, 0 active cases are held by a name the desk does not "
        "know (allowed: 0)",
        {"unowned_open_orders": 1, "unowned_active_cases": 1, "unknown_owner_active_cases": 0,
         "unknown_default_owner_shops": 0}, {"max_unowned": 0},
        (Offender("order", f"{SHOP}/1", "#1"), Offender("case", "c1", "risk: held order")),
        "docs/reference/readiness.md#order-owners",
    )
    write(db, lambda uow: uow.orders.put_many([order(1, owner="alice")]))
    def claim(uow: Any) -> None:
        case = uow.cases.get("c1")
        new = replace(case, owner="bob", status=CaseStatus.ASSIGNED)
        uow.cases.save(Changed(new, CaseChange("c1", NOW, "bob", "claim", {}, {}, "")), case.version)
    write(db, claim)
    assert measure(db, "order-owners").status is Status.PASS


def test_order_owners_fails_naming_each_case_held_by_a_name_the_organisation_does_not_know() -> None:
    db = InMemoryDatabase()
    def held(case_id: str, owner: str) -> Any:
        def work(uow: Any) -> None:
            uow.cases.open(CaseRecord(case_id, SHOP, "refund", "refunds", f"refund {case_id}", "over cap", NOW))
            case = uow.cases.get(case_id)
            new = replace(case, owner=owner, status=CaseStatus.ASSIGNED)
            uow.cases.save(Changed(new, CaseChange(case_id, NOW, owner, "claim", {}, {}, "")), case.version)
        return work
    for case_id, owner in (("c1", "alice"), ("c2", "dora"), ("c3", "team:support"), ("c4", "team:suport")):
        write(db, held(case_id, owner))
    result = measure(db, "order-owners")
    assert (result.status, result.reason, result.measured) == (
        Status.FAIL,
        "0 open orders and 0 active cases have no owner, 2 active cases are held by a name the desk does not "
        "know (allowed: 0)",
        {"unowned_open_orders": 0, "unowned_active_cases": 0, "unknown_owner_active_cases": 2,
         "unknown_default_owner_shops": 0},
    )
    assert result.offending == (
        Offender("case", "c2", "held by 'dora', whom the desk does not know (people: alice, bob, carol); "
                               "refunds: refund c2"),
        Offender("case", "c4", "held by 'team:suport', whom the desk does not know (teams: support); "
                               "refunds: refund c4"),
    )
    no_people = settings(people={}, teams={}, ownership={})
    assert measure(db, "order-owners", no_people).status is Status.PASS  # nobody to check a name against


def test_order_owners_fails_naming_a_shop_whose_new_orders_go_to_a_name_the_organisation_does_not_know() -> None:
    db = InMemoryDatabase()
    typo = settings(shops=[{"domain": SHOP, "default_owner": "team:suport"}, {"domain": "b.myshopify.com"}])
    result = measure(db, "order-owners", typo)
    assert (result.status, result.reason, result.measured["unknown_default_owner_shops"]) == (
        Status.FAIL,
        "0 open orders and 0 active cases have no owner, 0 active cases are held by a name the desk does not know; "
        "1 shops give their new orders to a name the desk does not know (allowed: 0)",
        1,
    )
    assert result.offending == (
        Offender("shop", SHOP, "default_owner 'team:suport' is not known to the desk (teams: support)"),
    )
    known = settings(shops=[{"domain": SHOP, "default_owner": "team:support"}, {"domain": "b.myshopify.com"}])
    assert measure(db, "order-owners", known).status is Status.PASS
    assert measure(db, "order-owners", settings(shops=[{"domain": SHOP, "default_owner": "alice"}])).status is (
        Status.PASS
    )


def test_follow_ups_count_delayed_orders_followed_up_within_the_grace() -> None:
    db = InMemoryDatabase()
    overdue = NOW - timedelta(hours=30)
    write(db, lambda uow: uow.orders.put_many([
        order(1, ship_by=overdue), order(2, ship_by=overdue), order(3, ship_by=NOW - timedelta(hours=2)),
    ]))
    write(db, lambda uow: uow.outbox.add_many([
        email(1, overdue + timedelta(hours=1)), email(2, overdue + timedelta(hours=25)),
        email(3, overdue, template="refund_confirmation"),
    ]))
    result = measure(db, "delayed-fulfilment-follow-ups")
    assert (result.status, result.reason) == (
        Status.FAIL, "1 of 2 delayed orders were followed up within 24 h of their ship-by time (50.0%; needed 99%)"
    )
    assert [o.id for o in result.offending] == [f"{SHOP}/2"]  # order 3 is late by 2 h only: not judged yet
    write(db, lambda uow: uow.outbox.add_many([email(2, overdue + timedelta(hours=3))]))
    assert measure(db, "delayed-fulfilment-follow-ups").status is Status.PASS
    write(db, lambda uow: uow.orders.put_many([order(4, ship_by=overdue, financial="pending")]))
    assert measure(db, "delayed-fulfilment-follow-ups").measured["delayed_orders"] == 2  # unpaid: not delayed
    off = settings(monitors={"delayed_fulfilment": {"enabled": False}})
    assert measure(db, "delayed-fulfilment-follow-ups", off).reason == (
        "delayed-fulfilment follow-ups are turned off (monitors.delayed_fulfilment.enabled: false)"
    )


def test_refunds_within_48h_counts_open_late_requests_and_the_share_handled_in_time() -> None:
    db = InMemoryDatabase()
    write(db, refund_case("late", NOW - timedelta(hours=49)))
    write(db, refund_case("fresh", NOW - timedelta(hours=2)))
    write(db, refund_case("quick", NOW - timedelta(days=3), NOW - timedelta(days=3) + timedelta(hours=5)))
    sent = OutboxAction("r1", "d", SHOP, 1, "refund", "shopify", {}, "k", NOW - timedelta(days=2),
                        NOW - timedelta(days=2), ActionStatus.SENT,
                        history=({"at": (NOW - timedelta(days=2) + timedelta(seconds=3)).isoformat(),
                                  "outcome": "sent"},))
    write(db, lambda uow: uow.outbox.add_many([sent]))
    result = measure(db, "refunds-within-48h")
    assert result.status is Status.FAIL
    assert result.reason == ("1 refund requests open for more than 48 h (allowed: 0); 2 of 3 handled within 48 h "
                             "over 30 days (66.7%; needed 95%)")
    assert result.offending == (Offender("case", "late", "refunds: refund late"),)
    write(db, refund_case("late2", NOW - timedelta(hours=49), NOW))  # resolved, but after 49 h
    with db.unit_of_work() as uow:
        uow.cases.save(Changed(replace(uow.cases.get("late"), status=CaseStatus.RESOLVED, resolved_at=NOW),
                               CaseChange("late", NOW, "a", "resolve", {}, {}, "")), 1)
        uow.commit()
    relaxed = settings(readiness={"thresholds": {"refunds-within-48h": {"min_share": 0.5}}})
    result = measure(db, "refunds-within-48h", relaxed)
    assert (result.status, result.measured["share"], result.thresholds["min_share"]) == (Status.PASS, 0.5, 0.5)


def test_automations_owned_names_playbooks_whose_owner_is_nobody_configured() -> None:
    db = InMemoryDatabase()
    result = measure(db, "automations-owned", playbooks=(playbook(), playbook("risk", "team:fraud"),
                                                         playbook("x", "alice")))
    assert result.status is Status.FAIL
    assert result.offending == (
        Offender("playbook", "risk", "owner 'team:fraud' is not a configured person or team:<name>"),
    )
    write(db, lambda uow: uow.cases.open(CaseRecord("f1", SHOP, "automation_failure", "automation", "refund failed",
                                                    "rejected", NOW)))
    result = measure(db, "automations-owned")
    assert (result.status, result.measured["unowned_automation_failures"]) == (Status.FAIL, 1)
    assert measure(InMemoryDatabase(), "automations-owned").status is Status.PASS


def broken(ctx: Any, thresholds: Any) -> Any:
    raise RuntimeError("no data")


def test_a_store_adds_controls_by_dotted_path_and_a_failing_plugin_is_an_error_not_a_crash() -> None:
    s = settings(readiness={"controls": ["tests.unit.readiness_plugin:controls"], "skip": ["packaging-stocked"]})
    controls = registry.load_controls(s.file.readiness)
    ids = [c.id for c in controls]
    assert ids[-2:] == ["gift-wrap-stocked", "always-broken"]
    assert "packaging-stocked" not in ids and len(ids) == 13  # twelve built in, one skipped, two added
    with InMemoryDatabase().unit_of_work() as uow:
        report = registry.check(s, uow, NOW, (playbook(),), build_org(s.file, NOW), controls[-2:])
    assert [(r.control, r.status, r.reason) for r in report.results] == [
        ("gift-wrap-stocked", Status.FAIL, "3 rolls left (need 10)"),
        ("always-broken", Status.ERROR, "the control failed to measure: RuntimeError: no data"),
    ]
    assert report.as_dict()["failed"] == ["gift-wrap-stocked", "always-broken"]


@pytest.mark.parametrize(
    ("readiness", "message"),
    [
        ({"skip": ["no-such"]}, "readiness.skip.0: unknown control 'no-such'"),
        ({"thresholds": {"order-owners": {"max_unowned_x": 1}}},
         "readiness.thresholds.order-owners.max_unowned_x: unknown 'max_unowned_x' (known: max_unowned)"),
        ({"controls": ["tests.unit.readiness_plugin"]}, "write it as 'package.module:attribute'"),
        ({"controls": ["tests.unit.readiness_plugin:nothing"]}, "cannot be loaded"),
        ({"controls": ["tests.unit.readiness_plugin:not_a_control"]}, "expected a Control"),
    ],
)
def test_readiness_settings_that_name_nothing_are_refused(readiness: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        registry.load_controls(settings(readiness=readiness).file.readiness)


def test_a_review_records_the_loaded_version_with_an_audit_entry_and_refuses_unknown_playbooks() -> None:
    db = InMemoryDatabase()
    books = (playbook(), playbook("risk"))
    with db.unit_of_work() as uow:
        review = evidence.record_review(uow, books, "risk", " carol ", NOW, "checked holds")
        uow.commit()
    assert review == PolicyReview("risk", "risk-v1", "carol", NOW, "checked holds")
    with db.unit_of_work(read_only=True) as uow:
        assert uow.readiness.latest_review("risk") == review
        assert uow.audit.count() == 1
    unknown = r"no playbook 'fraud' is loaded \(loaded: refunds, risk\)"
    with db.unit_of_work() as uow, pytest.raises(NotFound, match=unknown):
        evidence.record_review(uow, books, "fraud", "carol", NOW)
    with db.unit_of_work() as uow, pytest.raises(InvalidInput, match="reviewer"):
        evidence.record_review(uow, books, "risk", "  ", NOW)
