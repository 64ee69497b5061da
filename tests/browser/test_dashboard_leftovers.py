"""What ADR 0052's audit left, in a real browser: readiness's offenders by key and on a phone, times in the
business calendar's zone, a bulk claim without scripts, a comment typed as the session ended.

This module's desk keeps its business calendars in New York, so that a time shown in UTC is told apart.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import Running, desk_running
from tests.browser.test_dashboard import ORDER, case_of, key_of, page_as, return_requested  # noqa: F401  (a fixture)
from tests.integration.dashboard_harness import ORG

pytestmark = pytest.mark.browser
ZONE = "America/New_York"
NEW_YORK = {**ORG, "calendars": {name: {**cal, "timezone": ZONE} for name, cal in ORG["calendars"].items()}}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with desk_running(tmp_path_factory.mktemp("browser-ny"), NEW_YORK) as served:
        yield served


def test_resolved_cases_show_the_latest_resolved_first(page_as, running) -> None:  # noqa: F811
    running.deliver(return_requested(running, 65) + return_requested(running, 66))
    first, second = case_of(running, ORDER + 65), case_of(running, ORDER + 66)
    page = page_as("alice")
    for case_id in (first, second):  # in the order they were opened: the later opened is resolved last
        page.goto(f"/cases/{case_id}")
        page.click("button:has-text('Resolve, no action')")
        page.wait_for_selector("#case-status:has-text('resolved')")
    page.goto("/queue?view=all&status=resolved")
    shown = [r.get_attribute("data-id") for r in page.locator("#queue-rows tr[data-id]").all()]
    assert shown[:2] == [second, first]
