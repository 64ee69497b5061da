"""The fulfilment-side playbooks' settings (`monitors:` in opsdesk.yaml) and the customer time-zone rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdesk.config import load_file
from opsdesk.config_playbooks import StuckOrdersConfig
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.events import ShippingAddress
from opsdesk.services.monitors import COUNTRY_ZONES, customer_zones, quiet_until

STARTER = Path(__file__).resolve().parents[2] / "src" / "opsdesk" / "starter" / "opsdesk.yaml"


def test_the_starters_commented_monitors_section_is_valid_when_uncommented(tmp_path: Path) -> None:
    text = STARTER.read_text()
    block = re.search(r"^# monitors:\n(?:#.*\n)+", text, re.MULTILINE)
    assert block is not None
    path = tmp_path / "opsdesk.yaml"
    path.write_text("\n".join(line[2:] for line in block.group(0).splitlines()) + "\n")

    monitors = load_file(path).monitors

    assert monitors.delayed_fulfilment.quiet_hours == ("21:00", "08:00")
    assert monitors.stuck_orders.thresholds["fulfilled"] == 240
    assert monitors.stuck_orders.pending_by_gateway == StuckOrdersConfig().pending_by_gateway  # the defaults
    assert monitors.carrier_downtime.failure_rate == 0.5


@pytest.mark.parametrize(("yaml", "problem"), [
    ("monitors:\n  delayed_fulfilment:\n    cadence_hours: 0\n", "3:20: monitors.delayed_fulfilment.cadence_hours"),
    ("monitors:\n  delayed_fulfilment:\n    quiet_hours: ['25:00', '08:00']\n",
     "3:19: monitors.delayed_fulfilment.quiet_hours.0"),
    ("monitors:\n  stuck_orders:\n    thresholds: {shipped: 3}\n", "3:17: monitors.stuck_orders.thresholds"),
    ("monitors:\n  stuck_orders:\n    pending_by_gateway: {manual: 96, MANUAL: 48}\n",
     "3:25: monitors.stuck_orders.pending_by_gateway: Value error, gateway 'MANUAL' is listed twice"),
    ("monitors:\n  carrier_downtime:\n    failure_rate: 2\n", "3:19: monitors.carrier_downtime.failure_rate"),
    ("monitors:\n  email_health:\n    bounce_limit: 0.1\n", "3:5: monitors.email_health.bounce_limit: unknown key"),
    ("monitors:\n  delayed_fulfilment:\n    customer_timezones: {US: [Mars/Olympus]}\n",
     "3:25: monitors.delayed_fulfilment.customer_timezones"),
    ("monitors:\n  delayed_fulfilment:\n    template: late_notice\n",
     "3:5: monitors.delayed_fulfilment: Value error, unknown email template 'late_notice' (known: address_confirm,"),
    ("monitors:\n  delayed_fulfilment:\n    template: generic\n",
     "3:5: monitors.delayed_fulfilment: Value error, template 'generic' sends the shop's own words: set 'message'"),
])
def test_a_bad_threshold_is_reported_with_file_line_and_column(tmp_path: Path, yaml: str, problem: str) -> None:
    path = tmp_path / "opsdesk.yaml"
    path.write_text(yaml)

    with pytest.raises(InvalidInput) as raised:
        load_file(path)

    assert f"{path}:{problem}" in str(raised.value)


def test_a_shops_unknown_time_zone_is_refused_where_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "opsdesk.yaml"
    path.write_text("shops:\n  - domain: your-store.myshopify.com\n    timezone: Europe/Berln\n")

    with pytest.raises(InvalidInput) as raised:
        load_file(path)

    assert f"{path}:3:15: shops.0.timezone: Value error, unknown time zone 'Europe/Berln'" in str(raised.value)


def test_a_customer_is_placed_by_province_then_country_then_the_shops_zone() -> None:
    california = ShippingAddress(province_code="CA", country_code="US")
    assert customer_zones(california, "US", "Europe/Paris", {}) == ("America/Los_Angeles",)
    assert customer_zones(ShippingAddress(country_code="US"), "US", "Europe/Paris", {}) == COUNTRY_ZONES["US"]
    assert customer_zones(ShippingAddress(country_code="FR"), "FR", "UTC", {}) == ("Europe/Paris",)
    assert customer_zones(None, "ZZ", "Europe/Paris", {}) == ("Europe/Paris",)
    assert customer_zones(california, "US", "UTC", {"US": ["America/Chicago"]}) == ("America/Chicago",)


def test_quiet_hours_end_when_every_zone_of_the_country_is_awake() -> None:
    # 13:00 UTC is 08:00 in New York but 05:00 in Los Angeles: wait for 08:00 there, 16:00 UTC.
    at = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
    assert quiet_until(("America/New_York", "America/Los_Angeles"), ("21:00", "08:00"), at) == at.replace(hour=16)
    assert quiet_until(("America/New_York",), ("21:00", "08:00"), at) is None


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
       st.sampled_from(sorted(COUNTRY_ZONES)))
def test_a_follow_up_never_waits_past_a_day_and_lands_outside_quiet_hours(at: datetime, country: str) -> None:
    zones = COUNTRY_ZONES[country]
    quiet = ("21:00", "08:00")

    until = quiet_until(zones, quiet, at)

    if until is not None:
        assert at < until <= at + timedelta(days=1)
        assert quiet_until(zones, quiet, until) is None
