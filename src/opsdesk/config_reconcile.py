"""The ``reconcile:`` section of ``opsdesk.yaml``: the sweep that finds lost webhooks, and its outage case."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from opsdesk.config_model import Strict
from opsdesk.config_playbooks import Priority, Queue


class ReconcileOutageConfig(Strict):
    """A shop whose sweeps keep failing opens one case (ADR 0048)."""

    enabled: bool = True
    # Failing this long (the worker retries each minute) opens the case: a blip of Shopify 5xx passes before.
    after_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 30
    queue: Queue = "incidents"
    priority: Priority = "high"


class ReconcileConfig(Strict):
    """The reconciliation sweep (docs/reference/webhook-intake.md#reconciliation, ADR 0015)."""

    enabled: bool = True
    period_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    overlap_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 5  # re-read before the mark: clock skew
    # Orders per Admin API page. Shopify allows 250, but the listing costs 3 + 9 points an order and a
    # query must stay under 1,000 (ADR 0015): 100 is 903 points.
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    initial_lookback_hours: Annotated[int, Field(ge=0, le=24 * 60)] = 24  # a shop's first sweep
    disputes: bool = True  # sweep Shopify Payments disputes too (needs read_shopify_payments_disputes)
    dispute_window_days: Annotated[int, Field(ge=1, le=540)] = 120  # disputes re-read before the mark
    outage: ReconcileOutageConfig = ReconcileOutageConfig()  # sweeps failing this long: a case
