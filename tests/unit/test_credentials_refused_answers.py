"""Which Admin API answers refuse a shop's credentials rather than one call, and when the next probe goes
(ADR 0067)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.connectors.shopify_errors import credentials_refused
from opsdesk.domain.outbox import CredentialsRefused, Rejected, credentials_probe_at

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("status", "body", "refused"), [
    (401, '{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}', True),
    (403, '{"errors":"Forbidden"}', True),  # an uninstalled app, a shop that closed its doors to the app
    (403, '{"errors":"[API] This action requires merchant approval for write_orders scope."}', False),
    (404, '{"errors":"Not Found"}', False),
    (402, '{"errors":"Unavailable Shop"}', False),
])
def test_a_401_or_a_403_naming_no_scope_refuses_the_credentials(status: int, body: str, refused: bool) -> None:
    assert credentials_refused(status, body) is refused


def test_a_refusal_of_the_credentials_is_a_rejection_to_whoever_does_not_look() -> None:
    assert isinstance(CredentialsRefused("HTTP 401"), Rejected)


def test_probes_back_off_with_the_refusals_age_from_30_seconds_to_5_minutes() -> None:
    assert credentials_probe_at(T0, T0) == T0 + timedelta(seconds=30)
    assert credentials_probe_at(T0, T0 + timedelta(minutes=2)) == T0 + timedelta(minutes=4)
    assert credentials_probe_at(T0, T0 + timedelta(hours=1)) == T0 + timedelta(hours=1, minutes=5)
