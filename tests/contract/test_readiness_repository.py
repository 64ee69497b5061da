"""What the readiness repository promises on every backend: the live data the controls read, exactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.events import LineItem, OrderId, OrderSnapshot, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.readiness import PolicyReview, Probe
from opsdesk.domain.records import ApiToken, CaseRecord, OutboxAction, RawDelivery
from opsdesk.ports import Database
from tests.contract.transactions import read, write

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP = ShopDomain("alpha.myshopify.com")


def order(n: int, *, owner: str | None = "team:ops", financial: str = "paid", fulfilment: str = "",
          cancelled: bool = False, ship_by: datetime | None = None) -> OrderState:
    usd = Money(Decimal("10.00"), "USD")
    snap = OrderSnapshot(
        id=OrderId(n), name=f"#{n}", email="a@example.com", customer_id=1, currency="USD", total=usd,
        subtotal=usd, total_discounts=Money(Decimal(0), "USD"), financial_status=financial,
        fulfillment_status=fulfilment, cancelled_at=T0 if cancelled else None, created_at=T0, updated_at=T0,
        tags=(), source_name="web", shipping_country="US", discount_codes=(),
        line_items=(LineItem(1, "SKU", 1, 1, 1, Decimal("10.00"), Decimal(0)),),
    )
    return OrderState(shop=SHOP, order_id=OrderId(n), snapshot=snap, owner=owner, ship_by=ship_by)


def case(case_id: str, kind: str = "refund", *, opened: datetime = T0) -> CaseRecord:
    return CaseRecord(case_id, SHOP, kind, "refunds", f"case {case_id}", "because", opened, order_id=None)


def test_unowned_and_overdue_orders_are_the_open_ones_only(any_db: Database) -> None:
    late = T0 - timedelta(hours=1)
    states = [
        order(1, owner=None, ship_by=late),            # open, unowned, overdue
        order(2, owner="", ship_by=T0 + timedelta(hours=1)),  # open, unowned (empty), not due yet
        order(3, owner=None, fulfilment="fulfilled", ship_by=late),  # shipped: not open
        order(4, owner=None, cancelled=True, ship_by=late),           # cancelled: not open
        order(5, owner=None, financial="voided", ship_by=late),      # voided: not open
        order(6, owner="alice", ship_by=late),          # open, owned, overdue
    ]
    write(any_db, lambda uow: uow.orders.put_many(states))
    count, first = read(any_db, lambda uow: uow.readiness.unowned_orders(1))
    assert (count, [o.order_id for o in first]) == (2, [1])
    count, first = read(any_db, lambda uow: uow.readiness.overdue_orders(T0, 10))
    assert (count, [o.order_id for o in first]) == (2, [1, 6])


def test_unowned_cases_and_cases_of_a_kind(any_db: Database) -> None:
    def setup(uow):  # type: ignore[no-untyped-def]
        for record in (case("old-open", opened=T0 - timedelta(days=90)), case("new", opened=T0),
                       case("old-done", opened=T0 - timedelta(days=90)), case("other", "dispute")):
            uow.cases.open(record)
        done = uow.cases.get("old-done")
        uow.cases.save(_changed(replace(done, status=CaseStatus.CLOSED, owner="bob")), done.version)
        new = uow.cases.get("new")
        uow.cases.save(_changed(replace(new, owner="alice", status=CaseStatus.ASSIGNED)), new.version)

    write(any_db, setup)
    count, first = read(any_db, lambda uow: uow.readiness.unowned_cases(10))
    assert (count, [c.id for c in first]) == (2, ["old-open", "other"])
    found = read(any_db, lambda uow: uow.readiness.cases_of_kind("refund", T0 - timedelta(days=30)))
    assert [c.id for c in found] == ["old-open", "new"]


def test_owners_of_active_cases_with_how_many_each_holds(any_db: Database) -> None:
    def setup(uow):  # type: ignore[no-untyped-def]
        owners = {"a": "alice", "b": "alice", "c": "team:ops", "d": "ghost", "e": None, "f": "ghost"}
        for case_id, owner in owners.items():
            uow.cases.open(case(case_id))
            if owner is not None:
                opened = uow.cases.get(case_id)
                uow.cases.save(_changed(replace(opened, owner=owner, status=CaseStatus.ASSIGNED)), opened.version)
        done = uow.cases.get("f")
        uow.cases.save(_changed(replace(done, status=CaseStatus.RESOLVED)), done.version)

    write(any_db, setup)
    assert read(any_db, lambda uow: uow.readiness.case_owners()) == {"alice": 2, "team:ops": 1, "ghost": 1}


def _changed(new):  # type: ignore[no-untyped-def]
    from opsdesk.domain.cases import CaseChange, Changed

    return Changed(new, CaseChange(new.id, T0, "tester", "status", {}, {}, ""))


def test_actions_deliveries_and_credentials(any_db: Database) -> None:
    def action(aid: str, kind: str, at: datetime) -> OutboxAction:
        return OutboxAction(aid, "d", SHOP, 1, kind, "shopify", {"amount": "1"}, f"k-{aid}", at, at,
                            ActionStatus.PENDING)

    def delivery(webhook: str, topic: str, at: datetime) -> RawDelivery:
        return RawDelivery(SHOP, webhook, topic, b"{}", at)

    def setup(uow):  # type: ignore[no-untyped-def]
        uow.outbox.add_many([action("a1", "refund", T0), action("a2", "email", T0),
                             action("a3", "refund", T0 - timedelta(days=40))])
        uow.deliveries.add([delivery("w1", "orders/create", T0 - timedelta(hours=1)),
                            delivery("w2", "orders/create", T0), delivery("w3", "refunds/create", T0),
                            delivery("w4", "orders/create", T0 - timedelta(days=40))])
        uow.tokens.add(ApiToken("t1", "bob", "agent", "digest-1", T0))
        uow.tokens.add(ApiToken("t2", "alice", "viewer", "digest-2", T0))
        uow.tokens.add(ApiToken("t3", "eve", "admin", "digest-3", T0, revoked=True))

    write(any_db, setup)
    since = T0 - timedelta(days=30)
    assert [a.id for a in read(any_db, lambda uow: uow.readiness.actions_of_kind("refund", since))] == ["a1"]
    found = read(any_db, lambda uow: uow.readiness.deliveries(["orders/create"], since, 5))
    assert [d.delivery.webhook_id for d in found] == ["w2", "w1"]
    assert read(any_db, lambda uow: uow.readiness.count_deliveries(["orders/create", "refunds/create"], since)) == 3
    names = [(t.name, t.role) for t in read(any_db, lambda uow: uow.readiness.credentials())]
    assert names == [("alice", "viewer"), ("bob", "agent")]


def test_reviews_and_probes_latest_first(any_db: Database) -> None:
    def setup(uow):  # type: ignore[no-untyped-def]
        uow.readiness.add_review(PolicyReview("risk", "v1", "carol", T0 - timedelta(days=8)))
        uow.readiness.add_review(PolicyReview("risk", "v2", "dan", T0, "looked at holds"))
        uow.readiness.add_review(PolicyReview("refunds", "v9", "bob", T0 + timedelta(days=1)))
        uow.readiness.add_probe(Probe("storefront", SHOP, "https://a/", T0, 200, 120))
        uow.readiness.add_probe(Probe("storefront", SHOP, "https://a/", T0 + timedelta(hours=1), None, None,
                                      "ConnectError: refused"))
        uow.readiness.add_probe(Probe("returns_policy", SHOP, "https://a/r", T0, 404, 30))

    write(any_db, setup)
    assert read(any_db, lambda uow: uow.readiness.latest_review("risk")) == PolicyReview(
        "risk", "v2", "dan", T0, "looked at holds"
    )
    assert read(any_db, lambda uow: uow.readiness.latest_review("nothing")) is None
    assert read(any_db, lambda uow: uow.readiness.latest_probe("storefront", SHOP)) == Probe(
        "storefront", SHOP, "https://a/", T0 + timedelta(hours=1), None, None, "ConnectError: refused"
    )
    returns = read(any_db, lambda uow: uow.readiness.latest_probe("returns_policy", SHOP))
    assert returns is not None
    assert (returns.status_code, returns.answered) == (404, False)
