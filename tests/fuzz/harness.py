"""What the fuzz tests need when they are collected: the app's OpenAPI document and route table.

Neither depends on the data, so a throwaway desk (a temporary SQLite file) serves; the tests then run
against a seeded desk of their own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsdesk.web.app import create_app
from opsdesk.web.route_table import RouteEntry, route_table
from tests.integration.desk_harness import make_desk


@contextmanager
def throwaway_app() -> Iterator[FastAPI]:
    with tempfile.TemporaryDirectory() as directory, pytest.MonkeyPatch.context() as monkeypatch:
        desk = make_desk(Path(directory), monkeypatch)
        try:
            yield create_app(desk, background=False)
        finally:
            desk.db.dispose()  # type: ignore[attr-defined]


def openapi_document() -> dict[str, Any]:
    with throwaway_app() as app, TestClient(app) as client:
        response = client.get("/openapi.json")
        assert response.status_code == 200, response.text
        return dict(response.json())


def routes() -> list[RouteEntry]:
    with throwaway_app() as app:
        return route_table(app)
