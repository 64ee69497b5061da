"""A JSON body sent as another type is a 415 in the API's error shape, on every route that reads one (ADR 0059).

The routes are walked from the app's route table (a new route is covered without a change here), over real
HTTP on a SQLite file; the OpenAPI document lists the 415 on each of them, and on no form route.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from opsdesk.desk import Desk
from opsdesk.web.app import create_app
from opsdesk.web.route_table import route_table
from tests.integration.desk_harness import bearer, make_desk
from tests.integration.http_harness import serve

WRONG = {
    "text/plain": {"Content-Type": "text/plain"},
    "a form": {"Content-Type": "application/x-www-form-urlencoded"},
    "none": {},
}


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    return make_desk(tmp_path, monkeypatch)


@pytest.fixture
def app(desk: Desk) -> FastAPI:
    return create_app(desk, background=False)


@pytest.fixture
def base(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def json_routes(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, OpenAPI operation) of every route in the route table whose body the document says is JSON."""
    paths = app.openapi()["paths"]
    found = []
    for entry in route_table(app):
        for method in sorted(entry.methods):
            operation = paths.get(entry.path, {}).get(method.lower(), {})
            if entry.body_params and "application/json" in operation.get("requestBody", {}).get("content", {}):
                found.append((method, entry.path, operation))
    return found


def address(app: FastAPI, path: str, operation: dict[str, Any]) -> str:
    """The path with each parameter filled: the first value of an enumeration, else a case key."""
    schemas = app.openapi()["components"]["schemas"]
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            schema = param["schema"]
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
            path = path.replace("{" + param["name"] + "}", str(schema.get("enum", ["C-1"])[0]))
    return path


def test_every_json_route_answers_415_for_a_body_of_another_type_and_says_so(app, base, desk) -> None:
    routes = json_routes(app)
    assert ("POST", "/api/v1/cases/{case_id}/{action}") in [(m, p) for m, p, _ in routes]
    lead = bearer(desk, "lead", "lead")
    for method, path, operation in routes:
        url = base + address(app, path, operation)
        for name, headers in WRONG.items():
            response = httpx.request(method, url, content=b'{"note": "x"}', headers=lead | headers)
            assert response.status_code == 415, (path, name, response.text)
            assert response.headers["content-type"] == "application/json"
            assert list(response.json()) == ["error"] and "JSON" in response.json()["error"], response.text
        # The same body said to be JSON, or no body at all, goes on to the route (here: no such case).
        for headers, body in (({"Content-Type": "application/json"}, b'{"note": "x"}'), ({}, b"")):
            response = httpx.request(method, url, content=body, headers=lead | headers)
            assert response.status_code == 404, (path, response.text)
        charset = {"Content-Type": "application/json; charset=utf-8"}
        assert httpx.request(method, url, content=b"{}", headers=lead | charset).status_code == 404
        assert "415" in operation["responses"], path  # the document says so


def test_a_form_route_is_left_to_its_form_and_lists_no_415(app) -> None:
    paths = app.openapi()["paths"]
    forms = [e for e in route_table(app) if e.body_params and e.path not in {p for _, p, _ in json_routes(app)}]
    assert forms  # the dashboard's forms and the sign-in
    for entry in forms:
        for method in entry.methods:
            assert "415" not in paths.get(entry.path, {}).get(method.lower(), {}).get("responses", {}), entry.path
