"""``opsdesk webhooks``: the app configuration's block from the normaliser's topics, and a shop's subscriptions
through the Admin API (ADR 0038). Real processes, a real SQLite file, the Shopify stand-in on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import textwrap
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import ComplianceRequested, ShopDomain
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.normalise.shopify import HANDLED_TOPICS, Ignored, normalise
from opsdesk.normalise.topics import IGNORED_TOPICS
from tests.integration.test_cli import init, opsdesk
from tests.samples import SHOP

URL = "https://desk.example.com/webhooks/shopify"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "connect-your-store.md"
TOKEN = {"OPSDESK_SHOPIFY_ACCESS_TOKEN": "shpat_test"}


def _reads(topic: str) -> bool:
    """Whether the normaliser turns ``topic`` into events (a payload it cannot read still counts)."""
    try:
        return not isinstance(normalise(topic, ShopDomain(SHOP), {}, datetime.now(UTC)), Ignored)
    except InvalidPayload:
        return True


def _privacy(topic: str) -> bool:
    try:
        events = normalise(topic, ShopDomain(SHOP), {}, datetime.now(UTC))
    except InvalidPayload:
        return False
    return not isinstance(events, Ignored) and all(isinstance(e, ComplianceRequested) for e in events)


def toml(*args: str, cwd: Path) -> str:
    result = opsdesk("webhooks", "toml", "--url", URL, *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_toml_block_subscribes_every_topic_the_normaliser_reads_and_the_privacy_ones_as_compliance(
        tmp_path: Path) -> None:
    block = tomllib.loads(toml(cwd=tmp_path))["webhooks"]
    assert block["api_version"] == "2026-07"
    topics, compliance = block["subscriptions"]
    assert topics["uri"] == compliance["uri"] == URL
    known = HANDLED_TOPICS | set(IGNORED_TOPICS)
    assert {t for t in known if _reads(t)} == set(topics["topics"]) | set(compliance["compliance_topics"])
    assert set(compliance["compliance_topics"]) == {t for t in HANDLED_TOPICS if _privacy(t)}
    assert len(topics["topics"]) == len(set(topics["topics"]))
    assert tomllib.loads(toml("--api-version", "2025-10", cwd=tmp_path))["webhooks"]["api_version"] == "2025-10"


def test_the_guides_snippet_is_the_commands_output() -> None:
    snippets = re.findall(r"```toml\n(.*?\n) *```", GUIDE.read_text(), re.S)
    assert len(snippets) == 1
    assert textwrap.dedent(snippets[0]) == toml(cwd=GUIDE.parent)


@pytest.fixture
def shopify() -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin() as fake:
        yield fake


@pytest.fixture
def folder(tmp_path: Path, shopify: FakeShopifyAdmin) -> Path:
    init(tmp_path)
    path = tmp_path / "opsdesk.yaml"
    path.write_text(path.read_text().replace("# base_url: http://127.0.0.1:8081/shops/{shop}",
                                             f"base_url: http://127.0.0.1:{shopify.port}/shops/{{shop}}"))
    return tmp_path


def subscribe(folder: Path, *args: str, url: str = URL) -> tuple[int, dict[str, object], str]:
    result = opsdesk("webhooks", "subscribe", "--shop", SHOP, "--url", url, "--format", "json", *args,
                     cwd=folder, env=TOKEN)
    return result.returncode, json.loads(result.stdout), result.stderr


def outcomes(report: dict[str, object]) -> dict[str, str]:
    return {str(t["topic"]): str(t["outcome"]) for t in report["topics"]}  # type: ignore[attr-defined]


def mutations(fake: FakeShopifyAdmin, since: int = 0) -> list[str]:
    return [c.operation for c in fake.calls[since:]
            if c.operation in ("webhookSubscriptionCreate", "webhookSubscriptionUpdate")]


def test_subscribe_creates_each_topic_once_and_a_second_run_creates_nothing(
        folder: Path, shopify: FakeShopifyAdmin) -> None:
    wanted = tomllib.loads(toml(cwd=folder))["webhooks"]["subscriptions"][0]["topics"]
    code, first, _ = subscribe(folder)
    assert code == 0
    assert outcomes(first) == dict.fromkeys(wanted, "created")
    held = shopify.store.webhooks.of(SHOP)
    assert sorted((s["topic"], s["uri"]) for s in held) == sorted(
        (t.replace("/", "_").upper(), URL) for t in wanted)
    calls = len(shopify.calls)
    code, second, _ = subscribe(folder)
    assert code == 0
    assert outcomes(second) == dict.fromkeys(wanted, "already there")
    assert second["counts"] == {"created": 0, "updated": 0, "already there": len(wanted), "refused": 0, "failed": 0}
    assert shopify.store.webhooks.of(SHOP) == held
    assert mutations(shopify, calls) == []


def test_subscribe_reads_every_page_before_deciding(folder: Path, shopify: FakeShopifyAdmin) -> None:
    for n in range(120):  # other subscriptions of the app's first: the desk's come on the second page
        shopify.store.webhooks.add(SHOP, "PRODUCTS_UPDATE", f"https://elsewhere.example/{n}")
    assert subscribe(folder)[0] == 0
    calls = len(shopify.calls)
    code, again, _ = subscribe(folder)
    assert code == 0 and set(outcomes(again).values()) == {"already there"}
    assert [c.operation for c in shopify.calls[calls:]] == ["webhookSubscriptions", "webhookSubscriptions"]


def test_a_changed_url_updates_the_subscriptions_in_place(folder: Path, shopify: FakeShopifyAdmin) -> None:
    subscribe(folder)
    before = {s["id"] for s in shopify.store.webhooks.of(SHOP)}
    code, moved, _ = subscribe(folder, url="https://desk2.example.com/webhooks/shopify")
    assert code == 0
    assert set(outcomes(moved).values()) == {"updated"}
    held = shopify.store.webhooks.of(SHOP)
    assert {s["id"] for s in held} == before
    assert {s["uri"] for s in held} == {"https://desk2.example.com/webhooks/shopify"}


def test_a_topic_refused_for_a_missing_scope_exits_1_and_says_why(folder: Path, shopify: FakeShopifyAdmin) -> None:
    shopify.store.webhooks.grant(SHOP, ["write_orders", "read_fulfillments", "read_inventory", "write_discounts",
                                        "write_merchant_managed_fulfillment_orders", "write_returns"])
    code, report, _ = subscribe(folder)
    assert code == 1
    refused = {t["topic"]: t["detail"] for t in report["topics"] if t["outcome"] == "refused"}  # type: ignore[attr-defined]
    assert refused == {t: f"topic: Access denied for {t.replace('/', '_').upper()} webhook subscription: the app "
                          "needs the read_shopify_payments_disputes scope"
                       for t in ("disputes/create", "disputes/update")}
    assert {s["topic"] for s in shopify.store.webhooks.of(SHOP)} >= {"ORDERS_CREATE", "RETURNS_REQUEST"}
    text = opsdesk("webhooks", "subscribe", "--shop", SHOP, "--url", URL, cwd=folder, env=TOKEN)
    assert text.returncode == 1
    assert re.search(r"disputes/create\s+refused\s+topic: Access denied for DISPUTES_CREATE", text.stdout)
    assert "2 refused" in text.stdout and "29 already there" in text.stdout


def test_dry_run_changes_nothing_and_says_what_it_would_do(folder: Path, shopify: FakeShopifyAdmin) -> None:
    code, report, _ = subscribe(folder, "--dry-run")
    assert code == 0 and report["dry_run"] is True
    assert set(outcomes(report).values()) == {"created"}
    assert shopify.store.webhooks.of(SHOP) == [] and mutations(shopify) == []
    subscribe(folder)
    code, report, _ = subscribe(folder, "--dry-run", url="https://desk2.example.com/webhooks/shopify")
    assert set(outcomes(report).values()) == {"updated"}
    assert {s["uri"] for s in shopify.store.webhooks.of(SHOP)} == {URL}


def test_list_shows_the_shops_subscriptions_by_topic(folder: Path, shopify: FakeShopifyAdmin) -> None:
    made = shopify.store.webhooks.add(SHOP, "ORDERS_CREATE", URL)
    shopify.store.webhooks.add("other-shop.myshopify.com", "ORDERS_PAID", URL)
    result = opsdesk("webhooks", "list", "--shop", SHOP, "--format", "json", cwd=folder, env=TOKEN)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"id": made, "topic": "orders/create", "uri": URL}]


def test_an_address_that_is_not_https_or_a_shop_not_configured_is_refused_before_any_call(
        folder: Path, shopify: FakeShopifyAdmin) -> None:
    plain = opsdesk("webhooks", "subscribe", "--shop", SHOP, "--url", "http://desk.example.com/w", cwd=folder,
                    env=TOKEN)
    assert plain.returncode == 2 and "https://" in plain.stderr
    other = opsdesk("webhooks", "list", "--shop", "nope.myshopify.com", cwd=folder, env=TOKEN)
    assert other.returncode == 2 and "nope.myshopify.com is not a shop in opsdesk.yaml" in other.stderr
    assert [c for c in shopify.calls if c.operation.startswith("webhook")] == []
