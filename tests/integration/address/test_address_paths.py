"""Any path the customer's answers take, nobody is left out: an order held for its address is waited on (a reply
timer) or has an open address case, never both, and one released has neither; every address the order is given
before it ships is checked, so the order is held exactly when its last address was refused.

Hypothesis plays short runs of answers (addresses the carrier refuses or accepts, the same one given again, a
day or more between two, a change after the hold was released or of an order whose first address passed) whose
deliveries come twice, again under another webhook id, or after the next one,
through the real intake path on a fresh SQLite file or PostgreSQL schema each time, with the carrier, SMTP and
Shopify Admin stand-ins (the order is held and released at the stand-in for real).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services.address_checks import REPLY, subject
from tests.conftest import postgres_server_url
from tests.integration.address.harness import TOKEN, holds, paid
from tests.integration.fulfilment_harness import ORDER_ID, START, Run, paid_order
from tests.samples import SHOP, delivery

#: The addresses a customer gives: (street, postal code); the carrier refuses the first two.
STREETS = [("123 Shipping Street", "40003"), ("7 Nowhere Lane", "40005"), ("125 Shipping Street", "40004")]
REFUSED = frozenset({"40003", "40005"})
#: One answer: which address, hours after the step before, how it is delivered, whether after the next one.
Answer = tuple[int, float, str, bool]
ANSWERS = st.lists(st.tuples(st.sampled_from([1, 0, 1, 0, 2]), st.sampled_from([0.5, 3.0, 0.5, 30.0]),
                             st.sampled_from(["once", "twice", "resent"]), st.booleans()), max_size=5)


@contextmanager
def fresh_database(folder: Path, server: Engine | None) -> Iterator[str]:
    """A database URL of its own for one example: a SQLite file, or (given the PostgreSQL server) a schema of
    its own, dropped afterwards."""
    if server is None:
        yield f"sqlite:///{folder}/opsdesk.db"
        return
    schema = f"opsdesk_paths_{uuid.uuid4().hex[:12]}"
    with server.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(postgres_server_url()).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with server.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def answer(at_hours: float, address: int, webhook_id: str) -> dict[str, Any]:
    """The order with the customer's address, ``at_hours`` after it was paid (``orders/updated``)."""
    street, zip_ = STREETS[address]
    order = paid_order(updated_at=(START + timedelta(hours=at_hours)).isoformat())
    order["shipping_address"] = {**order["shipping_address"], "address1": street, "zip": zip_}
    return delivery("orders/updated", order, webhook_id)


def copies(index: int, at_hours: float, address: int, how: str) -> list[dict[str, Any]]:
    """The deliveries of one answer: once, the same delivery twice, or again under another webhook id."""
    first = answer(at_hours, address, f"w-{index}")
    return {"once": [first], "twice": [first, first],
            "resent": [first, answer(at_hours, address, f"w-{index}-again")]}[how]


def nobody_left_out(run: Run, shopify: FakeShopifyAdmin) -> bool:
    """The invariant; returns whether the order is held (at the Shopify stand-in)."""
    held = holds(shopify) == ["ON_HOLD"]
    cases = run.cases()
    with run.desk.db.unit_of_work(read_only=True) as uow:
        waiting = [t for t in uow.timers.pending(subject(SHOP, ORDER_ID)) if t.kind == REPLY]
    assert all(c.kind == "address" for c in run.cases(active_only=False))  # no automation failure
    assert (len(cases) + len(waiting)) == (1 if held else 0), (held, cases, waiting)
    return held


def play(run: Run, shopify: FakeShopifyAdmin, answers: list[Answer]) -> None:
    run.settle()
    at, late = 0.0, []
    for index, (address, gap, how, after_next) in enumerate(answers):
        at += gap
        run.advance(hours=gap)
        nobody_left_out(run, shopify)
        now = copies(index, at, address, how)
        if after_next and index + 1 < len(answers):
            late += now  # delivered after the next answer's
            continue
        run.feed(*now, *late)
        late = []
        run.settle()
        nobody_left_out(run, shopify)
    run.advance(hours=30)  # every wait has ended


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(first=st.sampled_from([0, 2]), answers=ANSWERS)
@example(first=0, answers=[(1, 0.5, "once", False), (0, 0.5, "once", False)])  # back to the first refused address
@example(first=0, answers=[(1, 30.0, "once", False), (0, 0.5, "once", False)])  # the same, once the case opened
@example(first=0, answers=[(2, 0.5, "once", False), (1, 3.0, "once", False)])  # changed once released
@example(first=2, answers=[(1, 0.5, "once", False)])  # changed, the first address accepted
@example(first=0, answers=[(0, 30.0, "once", False), (2, 0.5, "once", False), (0, 3.0, "once", False)])  # once
# the case was settled, back to the address it was about: a case of its own
def test_whatever_the_answers_a_held_order_is_waited_on_or_a_persons_and_the_last_address_decides(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, backend: str, first: int,
    answers: list[Answer],
) -> None:
    server = request.getfixturevalue("pg_server") if backend == "postgres" else None
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(fresh_database(folder, server))
        carrier = stack.enter_context(FakeCarrier())
        carrier.reject_zip(*REFUSED)
        smtp = stack.enter_context(FakeSmtp())
        shopify = stack.enter_context(FakeShopifyAdmin(access_tokens=[TOKEN]))
        street, zip_ = STREETS[first]
        run = paid(folder, monkeypatch, url, carrier, smtp, shopify, address1=street, zip=zip_)
        stack.callback(run.desk.db.dispose)  # type: ignore[attr-defined]  # before its schema is dropped
        play(run, shopify, answers)

        held = nobody_left_out(run, shopify)
        last = STREETS[answers[-1][0] if answers else first][1]
        assert held == (last in REFUSED)  # the last address accepted ships; refused, it does not
        effects = [{"fulfillmentOrderHold": "hold", "fulfillmentOrderReleaseHold": "release"}[e.kind]
                   for e in shopify.effects]
        assert effects == ["hold", "release"] * (len(effects) // 2) + (["hold"] if held else [])
