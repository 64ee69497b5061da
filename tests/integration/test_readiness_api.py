"""``GET /api/v1/readiness``: the same controls as ``opsdesk check``, to any API token, over recorded evidence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.domain.readiness import Probe
from opsdesk.services import tokens
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.integration.desk_harness import make_desk
from tests.samples import SHOP


def test_readiness_answers_every_control_with_its_evidence_to_a_viewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    page = "http://127.0.0.1:9/"  # never fetched: the API reads recorded probes only
    desk = make_desk(tmp_path, monkeypatch, clock=clock, shops=[{"domain": SHOP, "storefront_url": page}])
    with desk.db.unit_of_work() as uow:
        viewer = tokens.create_token(uow, "viewer-bot", "viewer", clock.now())
        uow.readiness.add_probe(Probe("storefront", SHOP, page, clock.now() - timedelta(hours=1), 200, 250))
        uow.commit()
    with TestClient(create_app(desk, background=False)) as client:
        assert client.get("/api/v1/readiness").status_code == 401
        response = client.get("/api/v1/readiness", headers={"Authorization": f"Bearer {viewer}"})
        assert response.status_code == 200
        body = response.json()
        clock.advance(hours=24)
        later = client.get("/api/v1/readiness", headers={"Authorization": f"Bearer {viewer}"}).json()
    controls = {c["control"]: c for c in body["controls"]}
    assert len(controls) == 12 and body["passed"] is False  # the eleven of product.md §F and webhooks-reconciled
    assert body["failed"] == [name for name, c in controls.items() if c["status"] != "pass"]
    speed = controls["site-speed-monitored"]
    assert (speed["status"], speed["measured"]["probes"][SHOP]["elapsed_ms"]) == ("pass", 250)
    assert speed["fix"] == "docs/reference/readiness.md#site-speed-monitored"
    stale = next(c for c in later["controls"] if c["control"] == "site-speed-monitored")
    assert stale["offending"] == [{"kind": "shop", "id": SHOP, "detail": f"{page} not probed in 24 h"}]
