"""The demo store's set-up: its config edits and its stand-in storefront (``cli_demo``, ``fakes/storefront``)."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from opsdesk.cli_demo import MARK, demo_store
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.readiness import ProbeAnswer
from opsdesk.fakes.storefront import StandInStorefront

STARTER = (resources.files("opsdesk") / "starter" / "opsdesk.yaml").read_text()


def test_the_demo_store_uncomments_the_shops_pages_and_adds_its_warehouse_and_packaging_once() -> None:
    text = demo_store(STARTER)
    config = yaml.safe_load(text)
    shop = config["shops"][0]
    assert shop["storefront_url"] == "https://demo-store.example/"
    assert shop["returns_policy_url"] == "https://demo-store.example/policies/refund-policy"
    assert config["warehouses"]["main"]["carriers"]["UPS"]["pickups"]["mon"] == ["16:00"]
    assert config["warehouses"]["main"]["promise_tags"] == ["same-day"]  # no order of the demo's is held to it
    assert set(config["readiness"]["packaging"]) == {"box-medium", "tape-roll"}
    assert demo_store(text) == text and text.count(MARK) == 1  # run again on its folder: nothing added


def test_a_config_that_is_not_the_starters_is_refused_not_edited() -> None:
    with pytest.raises(InvalidInput, match="not the starter's"):
        demo_store("shops:\n  - domain: my-shop.myshopify.com\n")


def test_the_stand_in_answers_for_example_hosts_only_and_passes_real_pages_to_the_real_probe() -> None:
    real: list[str] = []

    def fallback(url: str) -> ProbeAnswer:
        real.append(url)
        return ProbeAnswer(None, None, "ConnectError: no network here")

    probe = StandInStorefront(fallback)
    assert probe("https://demo-store.example/").status_code == 200
    assert probe("https://DEMO-store.example/policies/refund-policy").status_code == 200
    assert probe("https://demo-store.example/nope").status_code == 404
    assert probe("https://shop.example.com/").error.startswith("ConnectError")  # .example.com is a real name
    assert probe("https://example.org/policies/refund-policy").status_code is None
    assert real == ["https://shop.example.com/", "https://example.org/policies/refund-policy"]
