"""A shop on its own custom app rotates its webhook secret as the app-wide one does: while the shop's
``previous_secret_env`` names a variable that is set, a delivery signed with that old secret is accepted beside
the new one; once it is unset (the hour Shopify may still sign with the old secret has passed), it is refused.

Over the real intake: uvicorn on 127.0.0.1, deliveries posted with httpx, the desk on a SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from opsdesk.domain.errors import InvalidInput
from tests.integration.desk_harness import make_desk
from tests.integration.http_harness import serving
from tests.samples import SECRET, SHOP, delivery, sample

ROTATING = {"domain": SHOP, "secret_env": "SHOP_SECRET", "previous_secret_env": "SHOP_PREVIOUS_SECRET"}


def post(client: httpx.Client, url: str, webhook_id: str, secret: str) -> int:
    d = delivery("orders/create", sample("orders/create"), webhook_id, secret=secret)
    return client.post(url, content=d["body"].encode(), headers=d["headers"]).status_code


def test_a_delivery_signed_with_the_shops_previous_secret_is_accepted_while_it_is_set_and_refused_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_SECRET", "new-secret")
    monkeypatch.setenv("SHOP_PREVIOUS_SECRET", "old-secret")
    desk = make_desk(tmp_path, monkeypatch, shops=[ROTATING])
    with serving(desk) as url, httpx.Client(timeout=10) as client:
        during = [post(client, url, "w-new", "new-secret"), post(client, url, "w-old", "old-secret"),
                  post(client, url, "w-app", SECRET)]  # the app-wide secret is not this shop's
        monkeypatch.delenv("SHOP_PREVIOUS_SECRET")  # the rotation is over
        after = [post(client, url, "w-new-2", "new-secret"), post(client, url, "w-old-2", "old-secret")]

    assert (during, after) == ([200, 200, 401], [200, 401])
    assert desk.settings.secrets_for(SHOP) == ("new-secret",)
    monkeypatch.setenv("SHOP_PREVIOUS_SECRET", "old-secret")
    assert desk.settings.secrets_for(SHOP) == ("new-secret", "old-secret")


def test_the_previous_secret_alone_checks_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the shop's current secret its deliveries are refused (401), as before the rotation began."""
    monkeypatch.delenv("SHOP_SECRET", raising=False)
    monkeypatch.setenv("SHOP_PREVIOUS_SECRET", "old-secret")
    desk = make_desk(tmp_path, monkeypatch, shops=[ROTATING])
    with serving(desk) as url, httpx.Client(timeout=10) as client:
        assert post(client, url, "w-old", "old-secret") == 401


def test_a_previous_secret_without_a_secret_of_the_shops_own_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app-wide secrets check such a shop's deliveries: its previous secret would be ignored without a word."""
    with pytest.raises(InvalidInput) as refused:
        make_desk(tmp_path, monkeypatch, shops=[{"domain": SHOP, "previous_secret_env": "SHOP_PREVIOUS_SECRET"}])
    assert "shops.0: Value error, previous_secret_env goes with secret_env" in str(refused.value)
