"""A shop that authenticates by the client credentials grant, configured in ``opsdesk.yaml`` and checked by
``opsdesk check`` (ADR 0036): real processes, a real SQLite file, the Shopify stand-in on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsdesk.config import load_file
from opsdesk.domain.errors import InvalidInput
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.shopify_oauth import Grant
from tests.integration.test_cli import init, opsdesk
from tests.samples import SECRET, SHOP

CLIENT_ID = "0f1e2d3c4b5a"
GRANT = ("client credentials grant (client ID in OPSDESK_SHOPIFY_CLIENT_ID, secret in OPSDESK_SHOPIFY_SECRET)")


@pytest.fixture
def shopify() -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin() as fake:
        yield fake


def by_grant(folder: Path, fake: FakeShopifyAdmin) -> None:
    """``opsdesk init``, then the shop on the grant (the app's secret is the webhook secret, the default) and
    the Admin API at the stand-in."""
    init(folder)
    path = folder / "opsdesk.yaml"
    text = path.read_text().replace("access_token_env: OPSDESK_SHOPIFY_ACCESS_TOKEN",
                                    "client_id_env: OPSDESK_SHOPIFY_CLIENT_ID")
    text = text.replace("# base_url: http://127.0.0.1:8081/shops/{shop}",
                        f"base_url: http://127.0.0.1:{fake.port}/shops/{{shop}}")
    path.write_text(text)


def authentication(folder: Path, *args: str, **env: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    result = opsdesk("check", "--format", "json", *args, cwd=folder, env=env)
    report = json.loads(result.stdout)
    assert report["passed"] is (result.returncode == 0), result.stderr
    return report, report["authentication"]


def test_check_obtains_a_token_by_the_grant_and_says_how_the_shop_authenticates(
        tmp_path: Path, shopify: FakeShopifyAdmin) -> None:
    shopify.oauth.add_client(CLIENT_ID, SECRET)
    by_grant(tmp_path, shopify)
    _, rows = authentication(tmp_path, OPSDESK_SHOPIFY_CLIENT_ID=CLIENT_ID)
    assert rows == [{"shop": SHOP, "method": "client_credentials", "status": "pass", "how": GRANT,
                     "detail": "a token was obtained"}]
    assert shopify.oauth.grants == [Grant(SHOP, CLIENT_ID, 200)]


def test_a_refused_grant_fails_check_naming_what_to_check_and_not_the_secret(
        tmp_path: Path, shopify: FakeShopifyAdmin) -> None:
    shopify.oauth.add_client(CLIENT_ID, "shpss_the-real-secret")
    by_grant(tmp_path, shopify)
    report, rows = authentication(tmp_path, OPSDESK_SHOPIFY_CLIENT_ID=CLIENT_ID)
    assert report["passed"] is False
    assert rows[0]["status"] == "fail"
    assert str(rows[0]["detail"]).startswith(f"Shopify refused the client credentials grant for '{SHOP}' "
                                             "(HTTP 400: invalid_client: ")
    text = opsdesk("check", cwd=tmp_path, env={"OPSDESK_SHOPIFY_CLIENT_ID": CLIENT_ID})
    assert text.returncode == 1
    assert f"fail  shopify-auth {SHOP}: {GRANT}: Shopify refused" in text.stdout
    assert SECRET not in text.stdout + text.stderr and "shpss_the-real-secret" not in text.stdout


def test_without_probe_check_asks_no_token_but_names_unset_variables(
        tmp_path: Path, shopify: FakeShopifyAdmin) -> None:
    by_grant(tmp_path, shopify)
    _, rows = authentication(tmp_path, "--no-probe", OPSDESK_SHOPIFY_CLIENT_ID="")
    assert rows[0]["status"] == "fail" and rows[0]["detail"] == "OPSDESK_SHOPIFY_CLIENT_ID not set"
    _, rows = authentication(tmp_path, "--no-probe", OPSDESK_SHOPIFY_CLIENT_ID=CLIENT_ID)
    assert rows[0]["status"] == "pass" and rows[0]["detail"] == "set (no token asked for: --no-probe)"
    assert shopify.oauth.grants == []


def test_a_static_token_is_reported_and_only_warned_about_when_unset(tmp_path: Path) -> None:
    init(tmp_path)
    _, rows = authentication(tmp_path, "--no-probe", OPSDESK_SHOPIFY_ACCESS_TOKEN="")
    assert rows == [{"shop": SHOP, "method": "access_token", "status": "warn",
                     "how": "static access token in OPSDESK_SHOPIFY_ACCESS_TOKEN",
                     "detail": "not set: actions on Shopify are rejected"}]
    _, rows = authentication(tmp_path, "--no-probe", OPSDESK_SHOPIFY_ACCESS_TOKEN="shpat_x")
    assert rows[0]["status"] == "pass" and rows[0]["detail"] == "set"


@pytest.mark.parametrize(("shop", "problem"), [
    ("client_secret_env: MY_SECRET", "shops.0: Value error, client_secret_env needs client_id_env"),
    ("client_id_env: MY_ID\n    access_token_env: MY_TOKEN",
     "shops.0: Value error, access_token_env and client_id_env: choose one"),
])
def test_a_shop_configured_both_ways_or_half_way_is_refused(tmp_path: Path, shop: str, problem: str) -> None:
    path = tmp_path / "opsdesk.yaml"
    path.write_text(f"shops:\n  - domain: {SHOP}\n    {shop}\n")
    with pytest.raises(InvalidInput) as refused:
        load_file(path)
    assert problem in str(refused.value)


def test_the_client_secret_is_the_webhook_secret_unless_named(tmp_path: Path) -> None:
    path = tmp_path / "opsdesk.yaml"
    path.write_text(f"shops:\n  - domain: {SHOP}\n    client_id_env: ID\n  - domain: b-{SHOP}\n"
                    "    client_id_env: ID\n    secret_env: OWN_APP_SECRET\n"
                    f"  - domain: c-{SHOP}\n    client_id_env: ID\n    client_secret_env: CLIENT_SECRET\n")
    shops = load_file(path).shops
    assert [s.client_secret_variable for s in shops] == ["OPSDESK_SHOPIFY_SECRET", "OWN_APP_SECRET",
                                                         "CLIENT_SECRET"]
