"""Every open order gets an owner by rules, through the real composition root and pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdesk.services.orders import order_view
from opsdesk.testing import sign
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import feed
from tests.samples import SECRET, order_lifecycle

RULES = {
    "people": {"vera": {"name": "Vera"}},
    "teams": {"vip": {"members": ["vera"]}, "ops": {"members": ["vera"]}},
    "ownership": {"order_rules": [{"if": "order.total > 100.0 && 'vip' in order.tags", "owner": "team:vip"},
                                  {"if": "order.country == 'CA'", "owner": "vera"}]},
}


def owner_of(desk, n: int) -> str:
    with desk.db.unit_of_work() as uow:
        return order_view(uow, 5_000_000_000_000_000_000 + n, None)["owner"]


def test_the_first_matching_rule_owns_the_order_else_the_shops_default(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    desk = make_desk(tmp_path, monkeypatch, **RULES)
    vip, plain = order_lifecycle(1, price="150.00")[0], order_lifecycle(2, price="150.00")[0]
    vip["body"] = vip["body"].replace('"tags":"tag1, tag2"', '"tags":"vip"')
    vip["headers"]["X-Shopify-Hmac-Sha256"] = sign(vip["body"].encode(), SECRET)
    feed(desk.db, [vip, plain], desk.clock)  # type: ignore[arg-type]
    desk.process_pending()
    assert owner_of(desk, 1) == "team:vip"
    assert owner_of(desk, 2) == "team:ops"


def test_a_bad_rule_is_refused_with_its_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {**RULES, "ownership": {"order_rules": [{"if": "order.total >", "owner": "team:vip"}]}}
    with pytest.raises(Exception, match=r"ownership\.order_rules\.0\.if"):
        make_desk(tmp_path, monkeypatch, **broken)
