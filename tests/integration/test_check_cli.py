"""``opsdesk check`` as a user runs it: a fresh ``opsdesk init`` fails with the exact reasons, and after
the steps of docs/how-to/pass-the-readiness-check.md every control passes.

Real processes, a real SQLite file, and a real HTTP server on 127.0.0.1 standing in for the storefront.
"""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from tests.integration.test_cli import init, opsdesk
from tests.samples import SHOP, delivery, sample

DOCS = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "pass-the-readiness-check.md"


class _Pages(http.server.BaseHTTPRequestHandler):
    pages = {"/": b"<h1>shop</h1>", "/policies/refund-policy": b"<h1>Refunds within 30 days</h1>"}

    def do_GET(self) -> None:
        body = self.pages.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def storefront() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


#: Unset, as on a fresh desk, whatever the environment running the tests holds.
NO_TOKEN = {"OPSDESK_SHOPIFY_ACCESS_TOKEN": ""}


def check(cwd: Path) -> tuple[int, dict[str, dict[str, object]]]:
    result = opsdesk("check", "--format", "json", cwd=cwd, env=NO_TOKEN)
    report = json.loads(result.stdout)
    assert report["passed"] is (result.returncode == 0), result.stderr
    return result.returncode, {c["control"]: c for c in report["controls"]}


def test_a_fresh_init_fails_with_reasons_and_the_documented_steps_make_every_control_pass(
    tmp_path: Path, storefront: str
) -> None:
    init(tmp_path)
    code, controls = check(tmp_path)
    assert code == 1
    failing = {name: c["reason"] for name, c in controls.items() if c["status"] != "pass"}
    assert failing.pop("inventory-synced") == (
        "0 of 1 shops with inventory levels under 15 min old; 0 levels below zero (allowed: 0)"
    )
    assert failing.pop("returns-policy-accessible") == "0 of 1 shops pass"
    assert failing.pop("site-speed-monitored") == "0 of 1 shops pass"
    assert controls["returns-policy-accessible"]["offending"] == [
        {"kind": "shop", "id": SHOP, "detail": "no returns_policy_url configured"}
    ]
    assert failing.pop("support-can-read-orders").startswith(
        "0 of 3 people on the desk's teams can read orders"
    )
    assert [o["id"] for o in controls["support-can-read-orders"]["offending"]] == ["alice", "bob", "carol"]
    assert failing.pop("fraud-rules-reviewed") in {
        "no playbook named 'risk' is loaded, so there are no fraud rules to review",
        "playbook 'risk' has never been reviewed",
    }
    assert failing.pop("packaging-stocked").endswith("no packaging material is configured")
    assert failing.pop("webhooks-reconciled").startswith("0 of 1 shops' sweeps finish")  # before any sweep ran
    assert controls["webhooks-reconciled"]["offending"] == [{"kind": "shop", "id": SHOP, "detail": (
        "sweeps cannot run: OPSDESK_SHOPIFY_ACCESS_TOKEN not set (no Admin API access token)")}]
    assert failing == {}
    assert all(c["fix"].startswith("docs/reference/readiness.md#") for c in controls.values())

    text = opsdesk("check", "--no-probe", cwd=tmp_path, env=NO_TOKEN)
    assert text.returncode == 1
    assert "fail  support-can-read-orders" in text.stdout
    assert "- person alice: no API token or account with a role that reads orders" in text.stdout
    assert "fix: docs/reference/readiness.md#packaging-stocked" in text.stdout

    follow_the_how_to(tmp_path, storefront)
    assert "export OPSDESK_SHOPIFY_ACCESS_TOKEN=" in DOCS.read_text()  # 6. The shop's Admin API token.
    result = opsdesk("check", cwd=tmp_path, env={"OPSDESK_SHOPIFY_ACCESS_TOKEN": "shpat_from_the_app"})
    assert result.returncode == 0, result.stdout
    assert "12 of 12 controls pass" in result.stdout
    assert f"probed returns_policy of {SHOP}: {storefront}/policies/refund-policy -> 200" in result.stderr


def follow_the_how_to(cwd: Path, storefront: str) -> None:
    """The steps of docs/how-to/pass-the-readiness-check.md, in its order."""
    how_to = DOCS.read_text()
    # 1. The shop's pages.
    config = cwd / "opsdesk.yaml"
    text = config.read_text()
    text = text.replace(
        "    # storefront_url: https://demo-store.example/", f"    storefront_url: {storefront}/"
    ).replace(
        "    # returns_policy_url: https://demo-store.example/policies/refund-policy",
        f"    returns_policy_url: {storefront}/policies/refund-policy",
    )
    # 4. Packaging stock (appended as the how-to shows it).
    assert "readiness:\n  packaging:\n    box-medium: {stock: 600, per_order: 1}" in how_to
    text += "\nreadiness:\n  packaging:\n    box-medium: {stock: 600, per_order: 1}\n"
    config.write_text(text)
    # 2. A token for everyone on the desk's teams.
    for person in ("alice", "bob", "carol"):
        assert f"opsdesk tokens create {person} --role agent" in how_to
        assert opsdesk("tokens", "create", person, "--role", "agent", cwd=cwd).returncode == 0
    # 3. The risk playbook (the how-to's copy when the starter has none), and its review.
    risk = cwd / "playbooks" / "risk.yaml"
    if not risk.exists():
        risk.write_text(how_to.split("```yaml\n# playbooks/risk.yaml\n", 1)[1].split("```", 1)[0])
    assert opsdesk("policy", "check", cwd=cwd).returncode == 0
    reviewed = opsdesk("policy", "review", "risk", "--by", "carol", "--note", "weekly review", cwd=cwd)
    assert reviewed.returncode == 0, reviewed.stderr
    # 5. Inventory levels arrive (here: a recorded inventory_levels/update delivery).
    level = {
        **sample("inventory_levels/update"),
        "available": 12,
        "updated_at": datetime.now(UTC).isoformat(),
    }
    recorded = cwd / "inventory.jsonl.gz"
    recorded.write_bytes(
        gzip.compress(orjson.dumps(delivery("inventory_levels/update", level, "inv-1")) + b"\n")
    )
    assert opsdesk("ingest", str(recorded), cwd=cwd).returncode == 0


def test_check_refuses_thresholds_for_unknown_controls_with_exit_2(tmp_path: Path) -> None:
    init(tmp_path)
    config = tmp_path / "opsdesk.yaml"
    config.write_text(config.read_text() + "\nreadiness:\n  thresholds:\n    order-owner: {max_unowned: 1}\n")
    result = opsdesk("check", "--no-probe", cwd=tmp_path)
    assert result.returncode == 2
    assert "readiness.thresholds.order-owner: unknown control 'order-owner'" in " ".join(result.stderr.split())
    line = config.read_text().splitlines().index("    order-owner: {max_unowned: 1}") + 1
    assert f"{config.resolve()}:{line}:5: readiness.thresholds.order-owner" in result.stderr  # where it is written
