"""Every error of the JSON API, over real HTTP, has one shape: ``{"error": "<sentence>"}`` (ADR 0054).

A client reads ``error`` whatever went wrong (no token, a role too low, an unknown case, a bad field, a bug), is
never sent its own input back and never gets a plain-text 500 for bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsdesk.desk import Desk
from opsdesk.web.app import create_app
from tests.integration.desk_harness import bearer, make_desk
from tests.integration.http_harness import serve
from tests.samples import order_lifecycle

RESOLVE = "/api/v1/cases/C-1/resolve"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return make_desk(tmp_path, monkeypatch, database_url=url)


@pytest.fixture
def base(desk: Desk) -> Iterator[str]:
    app = create_app(desk, background=False)

    @app.get("/api/v1/boom", include_in_schema=False)
    async def boom() -> None:  # a bug in a route, as a client meets it
        raise RuntimeError("a bug with a secret in its message")

    with serve(app) as url:
        yield url


def answer(response: httpx.Response) -> tuple[int, Any]:
    assert response.headers["content-type"] == "application/json", response.text[:300]
    return response.status_code, response.json()


def test_an_amount_too_large_for_a_float_is_a_422_naming_the_field_not_a_500(base, desk) -> None:
    agent = bearer(desk, "ag", "agent") | {"Content-Type": "application/json"}
    body = b'{"resolution": "approve_refund", "amount": 1e400}'
    response = httpx.post(base + RESOLVE, content=body, headers=agent)
    assert answer(response) == (422, {
        "error": "the request is not valid: body.amount: Input should be a finite number",
        "problems": [{"at": "body.amount", "problem": "Input should be a finite number"}],
    })


def test_a_field_too_long_is_refused_without_sending_it_back(base, desk) -> None:
    agent = bearer(desk, "ag", "agent")
    response = httpx.post(base + "/api/v1/cases/C-1/comment", json={"note": "x" * 200_000}, headers=agent)
    status, body = answer(response)
    assert (status, body["problems"]) == (422, [
        {"at": "body.note", "problem": "String should have at most 10000 characters"}])
    assert len(response.content) < 1_000


def test_every_refusal_has_an_error_sentence_and_nothing_else_to_parse(base, desk) -> None:
    viewer, agent = bearer(desk, "vi", "viewer"), bearer(desk, "ag", "agent")
    seen = {
        "no token": httpx.get(base + "/api/v1/cases"),
        "wrong token": httpx.get(base + "/api/v1/cases", headers={"Authorization": "Bearer odk_wrong"}),
        "role too low": httpx.post(base + "/api/v1/cases/C-1/claim", headers=viewer),
        "unknown case": httpx.get(base + "/api/v1/cases/C-404", headers=viewer),
        "unknown route": httpx.get(base + "/api/v1/nothing", headers=viewer),
        "bad limit": httpx.get(base + "/api/v1/cases", params={"limit": 0}, headers=viewer),
        "unknown action": httpx.post(base + "/api/v1/cases/C-1/fly", headers=agent),
    }
    shapes = {why: (r.status_code, sorted(answer(r)[1])) for why, r in seen.items()}
    assert shapes == {
        "no token": (401, ["error"]),
        "wrong token": (401, ["error"]),
        "role too low": (403, ["error"]),
        "unknown case": (404, ["error"]),
        "unknown route": (404, ["error"]),
        "bad limit": (422, ["error", "problems"]),
        "unknown action": (422, ["error", "problems"]),
    }
    assert seen["wrong token"].json()["error"] == "invalid or revoked token"
    assert seen["wrong token"].headers["www-authenticate"] == "Bearer"
    assert seen["unknown case"].json() == {"error": "no case C-404"}


def test_a_bug_is_a_500_in_the_same_shape_without_its_message(base, desk) -> None:
    response = httpx.get(base + "/api/v1/boom", headers=bearer(desk, "vi", "viewer"))
    assert answer(response) == (500, {"error": "internal error: the server's log has the details"})


def test_a_query_parameter_no_route_reads_is_refused_not_ignored(base, desk) -> None:
    """A misspelt filter (``stauts``) used to answer every case, as if no filter had been given."""
    viewer = bearer(desk, "vi", "viewer")
    typo = httpx.get(base + "/api/v1/cases", params={"stauts": "closed", "limit": 5}, headers=viewer)
    assert answer(typo) == (400, {
        "error": "unknown query parameter 'stauts' (this route reads: cursor, due_before, kind, limit, offset, owner, "
                 "queue, shop, status)"})
    order = httpx.get(base + "/api/v1/orders/1", params={"shpo": "x"}, headers=viewer)
    assert answer(order) == (400, {"error": "unknown query parameter 'shpo' (this route reads: shop)"})
    readiness = httpx.get(base + "/api/v1/readiness", params={"verbose": "1"}, headers=viewer)
    assert answer(readiness) == (400, {"error": "unknown query parameter 'verbose' (this route reads none)"})
    assert httpx.get(base + "/api/v1/cases", params={"status": "closed"}, headers=viewer).status_code == 200


def test_an_assignment_without_an_owner_tells_the_agent_what_is_missing_not_that_they_need_a_lead(base, desk) -> None:
    for delivery in order_lifecycle(1, reason="OTHER")[:6]:  # a return over the cap: a case in refunds
        sent = httpx.post(base + "/webhooks/shopify", content=delivery["body"].encode(), headers=delivery["headers"])
        assert sent.status_code == 200, sent.text
    desk.process_pending()
    agent = bearer(desk, "ag", "agent")
    key = httpx.get(base + "/api/v1/cases", headers=agent).json()["cases"][0]["key"]
    response = httpx.post(f"{base}/api/v1/cases/{key}/assign", json={}, headers=agent)
    assert answer(response) == (400, {"error": "assign needs owner"})
    by_lead = httpx.post(f"{base}/api/v1/cases/{key}/assign", json={"owner": "bob"}, headers=agent)
    assert answer(by_lead) == (403, {"error": "needs role lead or above in demo-store.myshopify.com; you are agent"})


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_far_over_what_any_action_takes_is_refused_413_without_being_read(base, desk, chunked) -> None:
    body = b'{"note": "' + b"x" * 5_000_000 + b'"}'
    content = iter([body[i:i + 65_536] for i in range(0, len(body), 65_536)]) if chunked else body
    headers = bearer(desk, "ag", "agent") | {"Content-Type": "application/json"}
    response = httpx.post(base + "/api/v1/cases/C-1/comment", content=content, headers=headers)
    assert answer(response) == (413, {"error": "the body is over the limit of 262144 bytes"})


def test_the_openapi_document_describes_the_422_a_client_gets(base) -> None:
    schemas = httpx.get(base + "/openapi.json").json()["components"]["schemas"]
    assert "ValidationError" not in schemas
    invalid = schemas["HTTPValidationError"]
    assert (invalid["required"], sorted(invalid["properties"])) == (["error", "problems"], ["error", "problems"])
    problem = invalid["properties"]["problems"]["items"]
    assert (problem["required"], sorted(problem["properties"])) == (["at", "problem"], ["at", "problem"])
