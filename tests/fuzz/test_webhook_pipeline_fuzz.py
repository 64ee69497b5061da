"""Reliability test 14, webhook parsing end to end: fuzzed signed deliveries through the real desk.

Each example posts a few signed deliveries (mutated Shopify samples, payloads built from the parsers'
field names, raw bytes) to ``POST /webhooks/shopify`` of an app built through the composition root on a
real SQLite file, then runs the pipeline (normalise, fold, decide, effects). Documented outcomes only:
the intake answers 200 (stored) or 400 (not JSON); the pipeline never raises, and a delivery it cannot
read is marked failed with the ``InvalidPayload`` reason, never with an ``internal error`` (an
unexpected exception type). The ``slow`` variant runs ``OPSDESK_FUZZ_EXAMPLES`` examples.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from opsdesk.desk import Desk
from opsdesk.normalise.shopify import HANDLED_TOPICS
from opsdesk.storage import tables
from opsdesk.testing import ManualClock, sign
from opsdesk.web.app import create_app
from tests.integration.desk_harness import make_desk
from tests.samples import SECRET, SHOP
from tests.unit.test_normalise_properties import payload_of
from tests.unit.test_webhook_fuzz import has_sample, payloads_for

# The last test checks what the tests before it did in this process: the file runs whole, in one
# process (`make test` distributes files, not tests: --dist loadfile, ADR 0044).
EXAMPLES = 40
SLOW_EXAMPLES = int(os.environ.get("OPSDESK_FUZZ_EXAMPLES", "300"))
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
SHOPIFY_TOPICS = sorted(HANDLED_TOPICS)


@dataclass
class Intake:
    desk: Desk
    client: TestClient
    ids: Iterator[int]


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        desk = make_desk(tmp_path_factory.mktemp("webhook-fuzz"), monkeypatch, clock=ManualClock(NOW))
        with TestClient(create_app(desk, background=False), base_url="https://testserver") as client:
            yield Intake(desk, client, itertools.count())
        desk.db.dispose()  # type: ignore[attr-defined]


def _body(topic: str) -> st.SearchStrategy[bytes]:
    as_json = payloads_for(topic).map(lambda v: json.dumps(v, allow_nan=True).encode())
    whole = [st.just(json.dumps(payload_of(topic)).encode())] if has_sample(topic) else []
    return st.one_of(*whole, as_json, as_json, st.binary(max_size=80))


deliveries = st.lists(
    st.sampled_from(SHOPIFY_TOPICS).flatmap(lambda topic: st.tuples(st.just(topic), _body(topic))),
    min_size=1,
    max_size=4,
)


def _post_and_process(intake: Intake, batch: list[tuple[str, bytes]]) -> None:
    for topic, body in batch:
        webhook_id = f"fuzz-{next(intake.ids)}"
        response = intake.client.post(
            "/webhooks/shopify",
            content=body,
            headers={
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": sign(body, SECRET),
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-Webhook-Id": webhook_id,
                "X-Shopify-Triggered-At": "2026-07-01T11:59:00Z",
            },
        )
        assert response.status_code in (200, 400), (topic, body[:200], response.status_code, response.text)
    intake.desk.process_pending()  # must not raise, whatever was stored
    with intake.desk.db.unit_of_work(read_only=True) as uow:
        assert uow.deliveries.count("pending") == 0
    _assert_no_internal_error(intake.desk)


def _assert_no_internal_error(desk: Desk) -> None:
    d = tables.deliveries.c
    with desk.db.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            select(d.topic, d.status, d.error, d.body).where(d.error.like("%internal error%"))
        ).all()
    assert not rows, [(r.topic, r.status, r.error, bytes(r.body)[:300]) for r in rows]


FAST = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@FAST
@given(batch=deliveries)
def test_fuzzed_deliveries_are_stored_or_refused_and_processed_without_internal_errors(
    intake: Intake, batch: list[tuple[str, bytes]]
) -> None:
    _post_and_process(intake, batch)


@pytest.mark.slow
@settings(FAST, max_examples=SLOW_EXAMPLES)
@given(batch=deliveries)
def test_fuzzed_deliveries_at_length(intake: Intake, batch: list[tuple[str, bytes]]) -> None:
    _post_and_process(intake, batch)


def test_the_fuzzing_reached_the_pipeline(intake: Intake) -> None:
    """Not only refusals: the deliveries above were stored, and many became events the desk decided on."""
    d = tables.deliveries.c
    with intake.desk.db.engine.connect() as conn:  # type: ignore[attr-defined]
        statuses = dict(conn.execute(select(d.status, func.count()).group_by(d.status)).all())
    if not statuses:
        pytest.fail("nothing was fuzzed: run this test with the whole module, after its fuzz tests")
    assert statuses.get("processed", 0) >= 10, statuses
    assert statuses.get("failed", 0) >= 1, statuses
