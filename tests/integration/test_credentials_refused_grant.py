"""A refused client credentials grant (ADR 0036) and a refused reconciliation sweep mark the shop's credentials
refused as the outbox's 401 does (ADR 0067, amended in session 14): its actions held, one case, readiness failing.

The real composition root, outbox sender, sweep and Shopify connector; the Shopify stand-in over HTTP on 127.0.0.1
(its token endpoint answers a wrong client secret with 400 ``invalid_client``, as Shopify does; its Admin API a
revoked token with 401); SQLite and PostgreSQL; a manual clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.connectors.shopify_token import AccessTokens, ClientCredentials
from opsdesk.desk import Desk
from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.outbox import ActionStatus, CredentialsRefused, Rejected
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock
from tests.integration.reconcile_harness import database  # noqa: F401 (the fixture: SQLite and PostgreSQL)
from tests.integration.test_credentials_refused import (
    ACTIONS,
    T0,
    TOKEN,
    VARIABLE,
    actions,
    build,
    control,
    drain,
    incidents,
    queue_tags,
)
from tests.samples import SECRET, SHOP

CLIENT_ID, CLIENT_VARIABLE = "0f1e2d3c4b5a", "CREDS_CLIENT_ID"
ROTATED = "shpss_the-secret-rotated-in-the-dev-dashboard"


def test_a_grant_refused_for_a_wrong_client_secret_holds_the_shops_actions_and_opens_one_case(
    tmp_path: Path, database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    with FakeShopifyAdmin() as fake:
        fake.oauth.add_client(CLIENT_ID, ROTATED)  # not the secret the desk has
        (tmp_path / "playbooks").mkdir()
        config = {"shops": [{"domain": SHOP, "admin_url": fake.url_for(SHOP), "client_id_env": CLIENT_VARIABLE}],
                  "playbooks": "playbooks"}
        (tmp_path / "opsdesk.yaml").write_text(yaml.safe_dump(config))
        monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)  # the client secret the desk has: no longer the app's
        monkeypatch.setenv(CLIENT_VARIABLE, CLIENT_ID)
        clock = ManualClock(T0)
        desk = composition.build(load_settings(str(tmp_path / "opsdesk.yaml"), database("grant")), clock=clock)
        queued = queue_tags(desk, ACTIONS)
        sender = desk.sender(worker="worker-1")
        drain(sender)

        assert [g.status for g in fake.oauth.grants] == [400] and fake.calls == []
        assert {(a.status, a.attempts) for a in actions(desk, queued)} == {(ActionStatus.PENDING, 0)}
        [case] = incidents(desk)
        assert (case.kind, case.source, case.status) == ("incident", "monitor:credentials", CaseStatus.OPEN)
        assert "invalid_client" in case.reason and SECRET not in case.reason, case.reason
        assert control(desk)["status"] == "fail"

        monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", ROTATED)  # a person puts the app's new secret in place
        for _ in range(5 * 60 + 1):
            clock.advance(seconds=1)
            drain(sender)
        assert {(a.status, a.attempts) for a in actions(desk, queued)} == {(ActionStatus.SENT, 1)}
        assert [g.status for g in fake.oauth.grants] == [400, 200]  # the first probe after the fix asks again
        [case] = incidents(desk)
        assert case.status is CaseStatus.RESOLVED
        assert control(desk)["status"] == "pass"


def sweep(desk: Desk) -> None:
    """The worker's reconciliation step: sweep the shops due, record how it went."""
    reconciler = desk.reconciler(sleep=lambda _seconds: None)
    assert reconciler is not None
    desk.reconcile_due(reconciler)


def test_a_sweep_refused_marks_the_credentials_refused_and_one_that_reads_clears_the_mark(
    tmp_path: Path, database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0)
        desk = build(tmp_path, fake, database("sweep"), clock, monkeypatch)
        queued = queue_tags(desk, ACTIONS)
        monkeypatch.setenv(VARIABLE, "shpat_revoked")  # the stand-in answers 401, as Shopify does
        sweep(desk)  # the sweep finds out first: the outbox has not sent anything yet

        assert [c.status for c in fake.calls] == [401]
        [case] = incidents(desk)
        assert (case.source, case.status) == ("monitor:credentials", CaseStatus.OPEN), case
        assert "Invalid API key or access token" in case.reason, case.reason
        assert all(a.next_attempt_at > T0 for a in actions(desk, queued))  # held: the outbox sends none now
        drain(desk.sender(worker="worker-1"))
        assert len(fake.calls) == 1
        assert "refuses its Admin API credentials" in control(desk)["offending"][0]["detail"]

        for _ in range(40):  # the worker sweeps each minute: past the outage case's 30 minutes (ADR 0048)
            clock.advance(seconds=60)
            sweep(desk)
        assert [c.source for c in incidents(desk)] == ["monitor:credentials"]  # the same cause: no second case

        monkeypatch.setenv(VARIABLE, TOKEN)  # a working token in place: the next sweep reads
        clock.advance(seconds=60)
        sweep(desk)
        [case] = incidents(desk)
        assert case.status is CaseStatus.RESOLVED and case.resolution == "no_action"
        assert control(desk)["status"] == "pass"
        sender = desk.sender(worker="worker-1")
        for _ in range(5 * 60 + 1):  # unmarked: they go at once (session 15, test_credentials_released)
            clock.advance(seconds=1)
            drain(sender)
        assert {(a.status, a.attempts) for a in actions(desk, queued)} == {(ActionStatus.SENT, 1)}


@pytest.mark.parametrize(("status", "error", "refused"), [
    (400, "invalid_client", CredentialsRefused),  # a wrong client ID or secret
    (401, "invalid_client", CredentialsRefused),
    (400, "app_not_installed", CredentialsRefused),
    (400, "shop_not_permitted", CredentialsRefused),  # a store outside the app's organisation
    (400, "invalid_request", Rejected),  # the desk's request, not the app's credentials: that action fails
    (400, "unsupported_grant_type", Rejected),
])
def test_which_refused_grants_refuse_the_shops_credentials(status: int, error: str, refused: type[Rejected]) -> None:
    body = json.dumps({"error": error, "error_description": "as Shopify says it"}).encode()

    class TokenEndpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with httpx.Client() as client:
            tokens = AccessTokens(client, ManualClock(T0), lambda _shop: f"http://127.0.0.1:{server.server_port}/t")
            outcome = tokens.token(SHOP, ClientCredentials(CLIENT_ID, ROTATED, CLIENT_VARIABLE, "SECRET_VARIABLE"))
    finally:
        server.shutdown()
        server.server_close()
    assert type(outcome) is refused and error in outcome.reason and ROTATED not in outcome.reason, outcome
