"""Reliability test 14, the API half: schemathesis over the real app's OpenAPI document.

The app is built through the composition root on a real SQLite file and seeded through signed webhooks
(orders whose damaged-item returns became cases). Every operation of ``/openapi.json`` is called with
generated inputs, valid (positive) and invalid (negative), with an admin and with a viewer bearer token.
Half of the valid cases have their ids swapped for the seeded ones, so the calls reach real records (and
an admin's actions really move the seeded cases through their states). The checks:

- no 5xx (``not_a_server_error``);
- input that breaks the schema gets a 4xx, never a 2xx (``negative_data_rejection`` on the path and
  body; the query's bounds have ``test_query_bounds_are_enforced``, see ``malformed_input_rejected``);
- a response whose status is documented matches the documented schema and content type;
- a call without the bearer token is refused (``ignored_auth``).

Found and fixed: an order id past 2**63 (``/api/v1/orders/{id}``) and a huge ``offset`` on
``/api/v1/cases`` overflowed SQLite's INTEGER (500s); the tests after the fuzzing keep them fixed.

Sizes: ``FUZZ_EXAMPLES`` per operation and role, derandomized (the same inputs every run); the ``slow``
variant runs ``SLOW_FUZZ_EXAMPLES`` (``pytest -m slow tests/fuzz``).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
)
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.desk import Desk
from opsdesk.domain.queue_cursor import MAX_OFFSET
from opsdesk.services import tokens
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.fuzz.harness import openapi_document
from tests.integration.desk_harness import make_desk
from tests.samples import SHOP, order_lifecycle

# The last test checks what the tests before it did in this process: the file runs whole, in one
# process (`make test` distributes files, not tests: --dist loadfile, ADR 0044).
FUZZ_EXAMPLES = 30
SLOW_FUZZ_EXAMPLES = int(os.environ.get("OPSDESK_FUZZ_EXAMPLES", "300"))
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
ORDERS = (1, 2, 3)


def malformed_input_rejected(ctx: Any, response: Any, case: Any) -> bool | None:
    """``negative_data_rejection``, except for invalid values only in the query string.

    On the wire every query value is text, and FastAPI reads a repeated scalar as its last value, so a
    "negative" ``kind=[1, 2]`` or ``status=false`` is a valid string there, not malformed input. The
    query's real constraints (numbers, bounds, dates) are fuzzed by ``test_query_bounds_are_enforced``.
    """
    negated = {
        location
        for location, info in (case.meta.components.items() if case.meta is not None else ())
        if info.mode is GenerationMode.NEGATIVE
    }
    if negated and negated <= {ParameterLocation.QUERY}:
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    malformed_input_rejected,
    response_schema_conformance,
    content_type_conformance,
    ignored_auth,
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Seeded:
    app: FastAPI
    desk: Desk
    tokens: dict[str, str]  # role -> bearer token
    case_ids: tuple[str, ...]
    order_ids: tuple[int, ...]


class SeededApp:
    """The app schemathesis calls: HTTP goes to the seeded app, whose lifespan the fixture's client runs.

    A stable object, set before ``parametrize`` copies the schema, pointed at each module's seeded app.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            assert self.app is not None, "the seeded fixture has not run"
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return


SEEDED_APP = SeededApp()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        desk = make_desk(tmp_path_factory.mktemp("fuzz"), monkeypatch, clock=ManualClock(NOW))
        app = create_app(desk, background=False)
        with TestClient(app, base_url="https://testserver") as client:
            for n in ORDERS:
                for d in order_lifecycle(n, reason="DEFECTIVE"):
                    response = client.post(
                        "/webhooks/shopify", content=str(d["body"]).encode(), headers=d["headers"]
                    )
                    assert response.status_code == 200, response.text
            desk.process_pending()
            with desk.db.unit_of_work() as uow:
                cases = [case for n in ORDERS for case in uow.cases.for_order(SHOP, order_id(n))]
                case_ids = tuple(c.id for c in sorted(cases, key=lambda c: (c.order_id or 0, c.kind, c.opened_at)))
                found = {
                    role: tokens.create_token(uow, f"fuzz-{role}", role, desk.clock.now())
                    for role in ("admin", "viewer")
                }
                uow.commit()
            assert case_ids, "the seeded returns made no case"
            SEEDED_APP.app = app
            yield Seeded(app, desk, found, case_ids, tuple(order_id(n) for n in ORDERS))
            SEEDED_APP.app = None
        desk.db.dispose()  # type: ignore[attr-defined]


def order_id(n: int) -> int:
    return 5_000_000_000_000_000_000 + n


# Loaded when the module is collected: ``parametrize`` needs the operations then (the fixture-based
# ``schemathesis.pytest.from_fixture`` does not work with this pytest). The bearer token is ours, so
# the Authorization header is not generated.
schema = schemathesis.openapi.from_dict(openapi_document())
schema.app = SEEDED_APP
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    deterministic=True,
    database="none",
    with_security_parameters=False,
)


def _aim_at_seeded(case: Any, seeded: Seeded, pick: int) -> None:
    """Half of the valid cases name a seeded case, order and shop, so the calls reach real records."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE or pick % 2:
        return
    path = case.path_parameters
    if path is not None and "case_id" in path:
        path["case_id"] = seeded.case_ids[pick // 2 % len(seeded.case_ids)]
    if path is not None and "order_id" in path:
        path["order_id"] = seeded.order_ids[pick // 2 % len(seeded.order_ids)]
    if case.query is not None and "shop" in case.query:
        case.query["shop"] = SHOP


def _run(case: Any, seeded: Seeded, role: str, pick: int) -> None:
    _aim_at_seeded(case, seeded, pick)
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {seeded.tokens[role]}"}, checks=copy.copy(CHECKS)
    )
    REACHED.setdefault((role, case.operation.label), set()).add(response.status_code)


FAST = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
SLOW = settings(FAST, max_examples=SLOW_FUZZ_EXAMPLES)
REACHED: dict[tuple[str, str], set[int]] = {}  # (role, operation) -> the statuses it answered


@schema.parametrize()
@schema.given(pick=st.integers(0, 15))
@FAST
def test_every_operation_as_an_admin(case: Any, seeded: Seeded, pick: int) -> None:
    _run(case, seeded, "admin", pick)


@schema.parametrize()
@schema.given(pick=st.integers(0, 15))
@FAST
def test_every_operation_as_a_viewer(case: Any, seeded: Seeded, pick: int) -> None:
    _run(case, seeded, "viewer", pick)


def test_the_fuzzing_reached_the_seeded_records_and_the_role_checks() -> None:
    """Not only 404s and 422s: every read answered 2xx to the admin, every action reached a seeded case
    (done, or refused by the case's state: 400, 409), and the viewer could not act."""
    if not REACHED:
        pytest.fail("nothing was fuzzed: run this test with the whole module, after its fuzz tests")
    operations = {label for _role, label in REACHED}
    assert len(operations) == len(list(schema.get_all_operations())), operations
    acted = [label for label in operations if label.startswith("POST")]
    assert acted
    for label in operations:
        reached = {200, 400, 409} if label in acted else {200}
        assert reached & REACHED[("admin", label)], (label, REACHED[("admin", label)])
    for label in acted:
        assert not any(200 <= s < 300 for s in REACHED[("viewer", label)]), (label, REACHED[("viewer", label)])
        assert 403 in REACHED[("viewer", label)]


def test_an_order_id_outside_64_bits_is_not_found_not_a_server_error(seeded: Seeded) -> None:
    """Found by the fuzzing: ``/api/v1/orders/9223372036854775808`` overflowed SQLite's INTEGER (500)."""
    with TestClient(seeded.app, base_url="https://testserver") as client:
        auth = {"Authorization": f"Bearer {seeded.tokens['viewer']}"}
        for bad in (2**63, -(2**63) - 1, 10**40):
            response = client.get(f"/api/v1/orders/{bad}", headers=auth)
            assert response.status_code == 404, response.text
        assert client.get(f"/api/v1/orders/{seeded.order_ids[0]}", headers=auth).status_code == 200


def test_a_huge_case_list_offset_is_refused_not_a_server_error(seeded: Seeded) -> None:
    """Found by the fuzzing: ``?offset=9223372036854775708`` overflowed SQLite's INTEGER (500)."""
    with TestClient(seeded.app, base_url="https://testserver") as client:
        auth = {"Authorization": f"Bearer {seeded.tokens['viewer']}"}
        for bad in (MAX_OFFSET + 1, 2**63 - 100, 2**64):
            assert client.get(f"/api/v1/cases?offset={bad}", headers=auth).status_code == 422
        assert client.get(f"/api/v1/cases?offset={MAX_OFFSET}", headers=auth).status_code == 200


def test_the_cli_refuses_the_same_offsets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``opsdesk cases list --offset`` shares the bound (it overflowed the same way)."""
    make_desk(tmp_path, monkeypatch)
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]
    for offset, code in ((2**63 - 100, 2), (MAX_OFFSET, 0)):
        result = CliRunner().invoke(cli, ["cases", "list", "--offset", str(offset), "--format", "json", *where])
        assert result.exit_code == code, (result.output, result.exception)


WIRE_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=FUZZ_EXAMPLES * 4, derandomize=True, database=None, deadline=None)
@given(
    limit=st.one_of(st.integers().filter(lambda n: not 1 <= n <= 500).map(str), WIRE_TEXT),
    offset=st.one_of(st.integers(max_value=-1).map(str), st.integers(min_value=MAX_OFFSET + 1).map(str)),
    due_before=WIRE_TEXT.filter(lambda t: not t.strip().lstrip("+-").replace(".", "", 1).isdigit()),
    which=st.sampled_from(["limit", "offset", "due_before"]),
)
def test_query_bounds_are_enforced(seeded: Seeded, limit: str, offset: str, due_before: str, which: str) -> None:
    """The query's real constraints, which ``malformed_input_rejected`` leaves aside: each bad one is a 422."""
    bad = {"limit": limit, "offset": offset, "due_before": due_before}[which]
    if which == "limit" and bad.strip().lstrip("+-").isdigit() and 1 <= int(bad) <= 500:
        return  # text that happens to be a valid limit
    if which == "due_before" and _reads_as_a_time(bad):
        return
    with TestClient(seeded.app, base_url="https://testserver") as client:
        response = client.get(
            "/api/v1/cases", params={which: bad}, headers={"Authorization": f"Bearer {seeded.tokens['admin']}"}
        )
    assert response.status_code == 422, (which, bad, response.status_code, response.text)


def _reads_as_a_time(text: str) -> bool:
    try:
        TypeAdapter(datetime).validate_python(text)
    except ValidationError:
        return False
    return True


@pytest.mark.slow
@schema.parametrize()
@schema.given(pick=st.integers(0, 15))
@SLOW
def test_every_operation_as_an_admin_at_length(case: Any, seeded: Seeded, pick: int) -> None:
    _run(case, seeded, "admin", pick)
