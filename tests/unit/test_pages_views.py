"""The dashboard's pure parts: countdown states, chart geometry, what a case offers, metrics per day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from opsdesk.domain.calendar import BusinessCalendar
from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.org import Org
from opsdesk.domain.records import DecisionRecord
from opsdesk.domain.sla import SlaPolicy
from opsdesk.services.dashboard import desk_zone, filter_options, off_hours
from opsdesk.services.dashboard_case import case_actions, fitting_resolutions
from opsdesk.services.dashboard_metrics import (
    automation,
    backlog,
    compliance,
    metrics_series,
    resolution_hours,
)
from opsdesk.testing import InMemoryDatabase
from opsdesk.web.pages.charts import line_chart
from opsdesk.web.pages.common import local_path
from opsdesk.web.pages.queue import MAX_CLAIMED_BYTES, pack, unpack
from opsdesk.web.pages.rendering import countdown, make_templates, period, query_string, span, times, when

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def case(**changes: object) -> Case:
    base = Case(id="c1", shop="s.myshopify.com", kind="refund", queue="refunds", title="t", reason="r",
                opened_at=NOW - timedelta(days=2), order_id=1)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_countdown_is_green_then_amber_from_the_warning_then_red_from_the_breach() -> None:
    due, warn = NOW + timedelta(hours=2), NOW + timedelta(hours=1)
    assert countdown(due, warn, NOW) == {"text": "2h 0m 0s left", "cls": "sla-ok"}
    assert countdown(due, warn, warn) == {"text": "1h 0m 0s left, at risk", "cls": "sla-warn"}
    assert countdown(due, warn, due + timedelta(minutes=5)) == {"text": "5m 0s overdue", "cls": "sla-breach"}
    assert countdown(due, None, NOW)["cls"] == "sla-ok"
    assert countdown(due, warn, NOW, paused=True) == {"text": "paused", "cls": "sla-paused"}
    assert countdown(None, None, NOW) == {"text": "no deadline", "cls": "sla-none"}
    assert [span(s) for s in (45, 61, 3 * 86_400 + 7_200)] == ["45s", "1m 1s", "3d 2h"]
    assert [period(timedelta(days=30)), period(timedelta(hours=12)), period(timedelta(minutes=90))] == [
        "30d", "12h", "90m"]


def test_times_in_a_sentence_read_like_the_pages_other_times_in_utc() -> None:
    assert times("24 hours past its ship-by time 2026-11-20T14:34:38+00:00 (threshold 24 h)") == (
        "24 hours past its ship-by time 2026-11-20 14:34 UTC (threshold 24 h)")
    assert times("last: order.paid at 2026-11-20T09:34:38.123-05:00, then 2026-11-21T00:00Z") == (
        "last: order.paid at 2026-11-20 14:34 UTC, then 2026-11-21 00:00 UTC")
    assert [times(t) for t in ("return 5000000000149049687", "on 2026-11-20", "", None)] == [
        "return 5000000000149049687", "on 2026-11-20", "", ""]


def test_a_chart_maps_values_into_its_box_and_skips_days_without_one() -> None:
    chart = line_chart("Backlog", "cases", ["a", "b", "c"], [0.0, None, 40.0])
    assert chart.points == "34.0,118.0 312.0,31.6"  # 0 at the bottom; 40 of a rounded top of 50; b has none
    assert [tip for _, _, tip in chart.dots] == ["a: 0", "c: 40"]
    assert [text for _, text in chart.y_labels] == ["0", "25", "50"]
    assert chart.latest == "40"
    money = line_chart("Money at risk caught (USD)", "USD", ["a"], [21_639.0])
    assert ([t for _, t in money.y_labels], money.latest) == (["0", "15k", "30k"], "21,639 USD")
    percent = line_chart("Automation rate", "%", ["a"], [None])
    assert (percent.points, percent.latest, percent.y_labels[-1][1]) == ("", "no data", "100%")


def test_a_case_offers_the_resolutions_of_its_kind_that_it_can_carry_out() -> None:
    # An address case (the order held, the customer silent) releases the hold or leaves it; nothing else fits.
    assert [r.name for r in fitting_resolutions(case(kind="address"))] == ["release_hold", "no_action"]
    assert {"address", "stuck_order", "quality", "incident"} <= set(filter_options(Org())["kind"])  # the queue filter
    assert [r.name for r in fitting_resolutions(case())] == ["approve_refund", "deny", "no_action"]
    assert [r.name for r in fitting_resolutions(case(order_id=None))] == ["no_action"]
    assert [r.name for r in fitting_resolutions(case(kind="discount", order_id=None))] == [
        "pause_discount", "no_action"]
    assert fitting_resolutions(case(status=CaseStatus.RESOLVED)) == []
    assert [r.irreversible for r in fitting_resolutions(case())] == [True, True, False]


def test_a_hold_release_says_which_hold_it_releases() -> None:
    def effect(kind: str) -> str:
        return next(r.effect for r in fitting_resolutions(case(kind=kind)) if r.name == "release_hold")

    assert effect("address") == ("releases the desk's address hold in Shopify, and no other: a fraud hold, "
                                 "or one placed by hand, stays")
    assert effect("order") == ("releases the desk's fraud hold in Shopify, and no other: an address hold, "
                               "or one placed by hand, stays")
    assert effect("fulfilment").startswith("releases the desk's address and out-of-stock holds in Shopify")


def test_the_case_buttons_follow_its_status_and_owner() -> None:
    assert case_actions(case(), "alice") == ["claim", "start", "wait"]
    assert case_actions(case(owner="alice", status=CaseStatus.ASSIGNED), "alice") == ["start", "wait"]
    # Bob's case is his to work: nothing of it is offered to alice but reopening it, to him, once it ended.
    assert case_actions(case(owner="bob", status=CaseStatus.IN_PROGRESS), "alice") == []
    handed_back = case(owner="team:support", status=CaseStatus.IN_PROGRESS)  # by the return timer or a lead
    assert case_actions(handed_back, "alice") == ["claim", "wait"]
    assert case_actions(case(status=CaseStatus.WAITING_CUSTOMER), "alice") == ["claim", "resume"]
    # Someone else's case is not offered for claiming: the claim would be refused, naming them.
    assert case_actions(case(owner="bob", status=CaseStatus.ASSIGNED), "alice") == []
    assert case_actions(case(owner="bob", status=CaseStatus.WAITING_CUSTOMER), "alice") == []
    assert case_actions(case(owner="bob", status=CaseStatus.RESOLVED), "alice") == ["reopen"]
    assert case_actions(case(owner="bob", status=CaseStatus.RESOLVED), "bob") == ["close", "reopen"]
    assert case_actions(case(owner="team:support", status=CaseStatus.OPEN), "alice") == ["claim", "start", "wait"]
    assert case_actions(case(status=CaseStatus.RESOLVED), "alice") == ["close", "reopen"]
    assert case_actions(case(status=CaseStatus.CLOSED), "alice") == ["reopen"]


def test_metrics_per_day() -> None:
    days = [date(2026, 3, 1), date(2026, 3, 2)]
    resolved = case(status=CaseStatus.RESOLVED, opened_at=NOW - timedelta(days=1, hours=4),
                    resolved_at=NOW - timedelta(hours=22),  # 6 h later, on 1 March
                    detail={"decision": {"due_at": "x", "in_time": True}})
    late = replace(resolved, id="c2", resolved_at=NOW, detail={"decision": {"due_at": "x", "in_time": False}})
    new, old = case(id="c3", opened_at=NOW - timedelta(hours=1)), case(id="c4", opened_at=NOW - timedelta(days=5))
    # End of 1 March: c4 and c2 (resolved on 2 March); c1 was resolved that day and c3 not opened yet.
    assert backlog([new, old], [resolved, late], days) == [2.0, 2.0]
    assert backlog([new], [resolved, late], days) == [1.0, 1.0]
    assert compliance([resolved, late], days) == [100.0, 0.0]
    assert resolution_hours([resolved, late], days) == [6.0, 28.0]
    outcomes = {"2026-03-01": {"automate": 3, "escalate": 1, "ignore": 9}}
    assert automation(outcomes, days) == [75.0, None]


def test_the_metrics_series_read_decisions_per_day_from_the_database() -> None:
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.decisions.add_many([
            DecisionRecord(f"d{n}", "s.myshopify.com", None, 1, "return.requested", f"k{n}", "refunds", "r", "v",
                           outcome, "why", {}, NOW - timedelta(hours=n))
            for n, outcome in enumerate(["automate", "automate", "escalate", "automate"])
        ])
        uow.commit()
    with db.unit_of_work() as uow:
        series = metrics_series(uow, NOW, days=2)
    assert [s.name for s in series] == ["Automation rate", "Backlog", "SLA compliance",
                                        "Time to resolution (median)", "Money at risk caught (USD)"]
    assert series[0].values == [None, 75.0]
    assert series[1].values == [0.0, 0.0]


def test_query_strings_and_redirects_stay_on_the_site() -> None:
    assert query_string({"view": "all", "queue": None, "page": 2}, page=None, kind="refund") == "view=all&kind=refund"
    assert local_path("/queue?view=mine", "/queue") == "/queue?view=mine"
    for bad in ("//evil.example/x", "https://evil.example", "/\\evil", "", None):
        assert local_path(bad, "/queue") == "/queue"


def test_the_dashboard_shows_times_in_the_zone_of_the_calendars_the_slas_count_in() -> None:
    def policy(zone: str, always: bool = False) -> SlaPolicy:
        hours = {day: ((time(9), time(17)),) for day in range(5)}
        cal = BusinessCalendar.always_open(zone) if always else BusinessCalendar(zone, hours)
        return SlaPolicy(zone, cal, {"resolution": timedelta(hours=4)})

    ny, berlin, tokyo_24_7 = policy("America/New_York"), policy("Europe/Berlin"), policy("Asia/Tokyo", always=True)
    assert desk_zone(Org()) == "UTC"
    assert desk_zone(Org(sla_policies={"a": ny, "b": tokyo_24_7})) == "America/New_York"  # the one with hours
    assert desk_zone(Org(sla_policies={"b": tokyo_24_7})) == "Asia/Tokyo"
    assert desk_zone(Org(sla_policies={"a": ny, "b": berlin}, default_sla=berlin)) == "Europe/Berlin"
    assert desk_zone(Org(sla_policies={"a": ny, "b": berlin})) == "UTC"  # no one zone to choose: UTC, labelled
    moment = datetime(2026, 11, 29, 15, 4, tzinfo=UTC)
    assert (when(moment, "America/New_York"), when(moment, "America/Sao_Paulo"), when(moment)) == (
        "2026-11-29 10:04 EST", "2026-11-29 12:04 UTC-03", "2026-11-29 15:04 UTC")
    assert times("shipped 2026-11-29T15:04:00+00:00, late", "Europe/Berlin") == "shipped 2026-11-29 16:04 CET, late"


def test_off_hours_says_until_when_the_business_time_of_a_case_deadline_is_not_running() -> None:
    ny = BusinessCalendar("America/New_York", {day: ((time(9), time(17)),) for day in range(5)})
    org = Org(sla_policies={
        "refunds": SlaPolicy("refunds", ny, {"resolution": timedelta(hours=4)}),
        "pricing": SlaPolicy("pricing", BusinessCalendar.always_open(), {"resolution": timedelta(hours=1)}),
    })
    midnight_ny = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # a Monday: the case is due at 09:30 New York
    due = case(due_at=midnight_ny + timedelta(hours=9, minutes=30), detail={"sla": {"policy": "refunds"}})
    assert countdown(due.due_at, None, midnight_ny)["text"] == "9h 30m 0s left"  # clock time, as help desks show
    assert off_hours(org, due, midnight_ny) == {"at": "2026-11-23T14:00:00+00:00", "text": "Mon 09:00 EST"}
    assert off_hours(org, due, midnight_ny + timedelta(hours=9, minutes=5)) is None  # 09:05: business time runs
    assert off_hours(org, replace(due, detail={"sla": {"policy": "pricing"}}), midnight_ny) is None
    assert off_hours(org, replace(due, status=CaseStatus.WAITING_CUSTOMER), midnight_ny) is None  # "paused" says it


def test_what_a_bulk_claim_did_fits_its_cookie_and_a_forged_one_says_nothing() -> None:
    refused = [{"error": True, "text": f"case C-{n} is already claimed by someone with a long name"} for n in range(50)]
    notices = [{"error": False, "text": "claimed 0 cases"}, *refused]
    packed = pack(notices)
    assert len(packed) <= MAX_CLAIMED_BYTES
    shown = unpack(packed)
    assert shown[0] == notices[0] and shown[1:-1] == refused[: len(shown) - 2]
    assert shown[-1] == {"error": True, "text": f"and {50 - (len(shown) - 2)} more refused"}
    assert unpack(pack(notices[:3])) == notices[:3]
    for forged in ("", "not base64!", "bnVsbA==", "W3sidGV4dCI6IDF9XQ=="):  # null; [{"text": 1}]
        assert unpack(forged) == []


def test_readiness_shows_the_times_it_measured_in_the_desks_zone() -> None:
    """A control's numbers, reason and offenders carry ISO UTC times (the API keeps them); the page says them
    in the zone of every other time on it."""
    at = "2026-11-24T05:00:00+00:00"
    control = {"control": "site-speed-monitored", "title": "Site speed", "status": "fail", "fix": "",
               "reason": f"sweeps failing since {at}", "measured": {"probes": {"shop": {"at": at}}},
               "thresholds": {}, "offending": [{"kind": "shop", "id": "s", "detail": f"probed {at}"}]}
    report = {"passed": False, "failed": ["site-speed-monitored"], "at": at, "controls": [control]}
    page = make_templates("America/New_York").env.get_template("readiness.html").render(report=report, keys={})
    assert "05:00" not in page and page.count("2026-11-24 00:00 EST") == 4
