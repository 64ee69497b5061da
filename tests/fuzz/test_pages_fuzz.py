"""Reliability test 14 beyond the OpenAPI document: the dashboard's routes (not in ``/openapi.json``).

Walks the real app's route table (``web.route_table``), so a new page is fuzzed the day it lands:
every GET page with generated path and query values (text of any kind, huge and negative numbers, the
seeded case, order and shops), every form POST with generated fields and the right CSRF token, signed
in as an admin of every shop and as a viewer. No answer may be a 5xx. The world is the security
suite's: two shops, a case and an order in each, people signed in through the real login form.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsdesk.web.route_table import RouteEntry
from tests.fuzz.harness import routes
from tests.security.harness import ORDER, OTHER, OWN, World, two_shop_desk, world

EXAMPLES = 25
SLOW_EXAMPLES = int(os.environ.get("OPSDESK_FUZZ_EXAMPLES", "300"))
#: Not fuzzed here: sign-in and sign-out change the session the test signs in with (the security suite
#: covers them), the webhook has its own fuzz test, static files and the API documentation are fixed.
SKIPPED = {"/login", "/logout", "/webhooks/shopify", "/static", "/docs", "/redoc", "/docs/oauth2-redirect"}
#: Query names the pages read from the request (the queue's filters) besides the declared ones.
EXTRA_QUERY = ("view", "team", "queue", "kind", "status", "owner", "due", "shop", "page", "q", "next")


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        desk = two_shop_desk(tmp_path_factory.mktemp("pages-fuzz"), monkeypatch)
        yield from world(desk)
        desk.db.dispose()  # type: ignore[attr-defined]


awkward = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "0", "-1", "9223372036854775808", "1e400", "NaN", "../../etc", "%00", "\u202e", "*"]),
)


def _value(w: World, name: str) -> st.SearchStrategy[str]:
    seeded = {
        "case_id": [w.cases[OWN], w.cases[OTHER]],
        "case": [w.cases[OWN], w.cases[OTHER]],
        "order_id": [str(ORDER)],
        "shop": [OWN, OTHER],
        "action": ["claim", "assign", "start", "wait", "resume", "comment", "close", "reopen"],
        "resolution": ["approve_refund", "deny", "reship", "release_hold", "pause_discount", "no_action"],
        "on": ["customer", "supplier"],
        "confirmed": ["1", "yes", "true"],
    }.get(name, [])
    return st.sampled_from(seeded) | awkward if seeded else awkward


@st.composite
def requests(draw: st.DrawFn, w: World, route: RouteEntry) -> tuple[str, str, dict[str, str], dict[str, str]]:
    method = sorted(route.methods)[0]
    path = route.path
    for name in sorted(route.path_params):
        path = path.replace("{" + name + "}", quote(draw(_value(w, name)), safe="") or "x")
    names = sorted(route.query_params | set(EXTRA_QUERY)) if method == "GET" else []
    query = draw(st.dictionaries(st.sampled_from(names), awkward, max_size=4)) if names else {}
    form: dict[str, str] = {}
    if method == "POST":
        fields = sorted(route.body_params | {"note", "owner"})
        form = {name: draw(_value(w, name)) for name in fields if draw(st.booleans())}
    return method, path, query, form


ROUTES = sorted(
    (r for r in routes() if r.path not in SKIPPED and r.methods & {"GET", "POST"} and r.access is not None),
    key=lambda r: (r.path, sorted(r.methods)),
)
ROUTE_IDS = [f"{sorted(r.methods)[0]} {r.path}" for r in ROUTES]


def _fuzz(w: World, who: str, request: tuple[str, str, dict[str, str], dict[str, str]]) -> None:
    method, path, query, form = request
    person = w.people[who]
    w.client.cookies.clear()
    response = w.client.request(
        method, path, params=query, data=form or None, headers=person.headers(), follow_redirects=False
    )
    assert response.status_code < 500, (who, method, path, query, form, response.status_code, response.text[:500])


FAST = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("who", ["boss", "viewer"])
@FAST
@given(data=st.data())
def test_no_page_or_form_answers_a_server_error(w: World, who: str, route: RouteEntry, data: st.DataObject) -> None:
    _fuzz(w, who, data.draw(requests(w, route)))


@pytest.mark.slow
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@settings(FAST, max_examples=SLOW_EXAMPLES // 4)
@given(data=st.data())
def test_no_page_or_form_answers_a_server_error_at_length(w: World, route: RouteEntry, data: st.DataObject) -> None:
    _fuzz(w, "boss", data.draw(requests(w, route)))


def test_an_order_page_outside_64_bits_is_not_found(w: World) -> None:
    """The same overflow the API fuzzing found, on the dashboard's order page."""
    w.client.cookies.clear()
    for bad in (2**63, 10**40):
        response = w.client.get(f"/orders/{OWN}/{bad}", headers=w.people["boss"].headers(), follow_redirects=False)
        assert response.status_code == 404, response.text[:300]


@pytest.mark.parametrize("q", ["9223372036854775808", "99999999999999999999", "²", "#\uff11\uff12"])
def test_an_order_search_for_any_number_answers(w: World, q: str) -> None:
    """Found by the fuzzing: ``/orders?q=9223372036854775808`` overflowed SQLite's INTEGER, and ``q=²``
    (a digit to ``str.isdigit``, not to ``int``) raised ValueError: both were 500s."""
    w.client.cookies.clear()
    response = w.client.get("/orders", params={"q": q}, headers=w.people["boss"].headers())
    assert response.status_code == 200, response.text[:300]


@pytest.mark.parametrize(
    ("next_path", "pushed"),
    [("/queue?owner=Ā", "/queue?owner=%C4%80"), ("/\x80", "/%C2%80"), ("/\t/evil.example", "/queue")],
)
def test_the_bulk_claim_pushes_an_ascii_url_of_this_site(w: World, next_path: str, pushed: str) -> None:
    """Found by the fuzzing: ``next`` went raw into the ``HX-Push-Url`` header, which carries Latin-1 only
    (``/Ā`` was a 500); a tab, which browsers drop, made ``/\\t/evil`` an open redirect. A plain form post is
    redirected there (POST-redirect-GET), under the same rules."""
    w.client.cookies.clear()
    headers = {**w.people["boss"].headers(), "HX-Request": "true"}
    response = w.client.post("/queue/claim", data={"next": next_path}, headers=headers)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["HX-Push-Url"] == pushed
    w.client.cookies.clear()
    plain = w.client.post("/queue/claim", data={"next": next_path}, headers=w.people["boss"].headers(),
                          follow_redirects=False)
    assert (plain.status_code, plain.headers["location"]) == (303, pushed)
