"""Take the dashboard screenshots in docs/screenshots/ from a real desk, the way a person sees it.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

It runs the simulated day of ``opsdesk demo`` (the ``demo`` scenario: a small store's Monday with its seven
incidents, simulated people working the queue) in a scratch folder, stopped at the scored day's end
(midnight in New York) instead of following the orders two more days, and serves that desk on a free
127.0.0.1 port with the local Shopify and SMTP stand-ins on the simulation's clock, standing at the day's
end: the SLA countdowns read as they would that night. It signs in as ``alice`` (a lead) in Debian's
headless Chromium through Playwright, claims and comments on the first stuck order in the queue (its page
shows store events, decisions with their rule and inputs, the payment check sent, the case's claim and
comment), and writes ``queue.png``, ``case.png``, ``readiness.png``,
``metrics.png`` (1280 px wide) and ``queue-phone.png`` (390 px, a phone). Needs ``/usr/bin/chromium``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opsdesk import app as composition  # noqa: E402
from opsdesk.cli import _with_stand_ins  # noqa: E402
from opsdesk.cli_demo import prepare  # noqa: E402
from opsdesk.cli_simulate import DEMO_SECRET, run_in_process  # noqa: E402
from opsdesk.config import Settings  # noqa: E402
from opsdesk.services import users  # noqa: E402
from opsdesk.simulator.runner import VirtualClock  # noqa: E402
from opsdesk.simulator.scenario import load_scenario  # noqa: E402
from opsdesk.web.app import create_app  # noqa: E402

USER, PASSWORD = "alice", "screenshots-only-password"
#: the row of the case shot for case.png
CASE = "tr[data-id]:has-text('is stuck')"


def simulate_day(directory: Path) -> tuple[Settings, datetime]:
    """What ``opsdesk demo --no-serve`` does, stopped at the scored day's end; the settings and that time."""
    os.environ.setdefault("OPSDESK_SHOPIFY_SECRET", DEMO_SECRET)
    url = f"sqlite:///{directory / 'opsdesk.db'}"
    plan = replace(load_scenario("demo"), follow=timedelta(0))
    with contextlib.redirect_stdout(None):
        settings = prepare(directory, url, plan)
    run_in_process(settings, plan, settings.secrets_for(plan.shop)[0], fmt="json")
    return settings, plan.end


def serve(app: object) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def sign_in(page: Page) -> None:
    page.goto("/login")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def shoot(url: str, out: Path, extras: list[str]) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        wide = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
        page = wide.new_page()
        sign_in(page)
        page.goto("/queue?view=all")
        page.wait_for_timeout(1500)  # let the countdowns tick once
        page.screenshot(path=str(out / "queue.png"))
        page.locator(f"#queue-rows {CASE} a").first.click()
        page.wait_for_url("**/cases/**")  # not the queue still: its "Claim selected" would be taken for Claim
        if page.locator("button:has-text('Claim')").count():
            page.click("button:has-text('Claim')")
            page.wait_for_load_state()
        page.fill("#comment", "Asked the warehouse when it ships; the customer has had three follow-ups.")
        page.click("button:has-text('Comment')")
        page.wait_for_load_state()
        page.screenshot(path=str(out / "case.png"), full_page=True)
        page.goto("/readiness")
        page.screenshot(path=str(out / "readiness.png"), full_page=True)
        page.goto("/charts")
        page.screenshot(path=str(out / "metrics.png"), full_page=True)
        for extra in extras:  # for a look, not for the docs
            page.goto(f"/{extra}")
            page.screenshot(path=str(out / f"{extra.replace('/', '-')}.png"), full_page=True)
        phone = browser.new_context(base_url=url, viewport={"width": 390, "height": 844}, is_mobile=True)
        mobile = phone.new_page()
        sign_in(mobile)
        mobile.goto("/queue?view=all")
        mobile.wait_for_timeout(1000)
        mobile.screenshot(path=str(out / "queue-phone.png"))
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--extra", action="append", default=[], help="another page to shoot (e.g. settings)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        settings, day_end = simulate_day(Path(scratch))
        os.environ.setdefault("OPSDESK_SHOPIFY_ACCESS_TOKEN", "stand-in-token")
        # The clock the simulation ran on, left where it stopped: the queue's "time left" and "overdue"
        # are those of the simulated day, not of today (`opsdesk demo` resumes its day's end the same way).
        with contextlib.redirect_stdout(None):
            settings = _with_stand_ins(settings, stack)
        desk = composition.build(settings, clock=VirtualClock(day_end))
        with desk.db.unit_of_work() as uow:
            # alice has the demo's account (an agent, a password nobody is told): shot as the ops lead
            users.set_password(uow, USER, PASSWORD, now=desk.clock.now())
            users.set_roles(uow, USER, {"*": "lead"}, now=desk.clock.now())
            uow.commit()
        url, server, thread = serve(create_app(desk))
        try:
            shoot(url, args.out, args.extra)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    for name in ("queue.png", "case.png", "readiness.png", "metrics.png", "queue-phone.png"):
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
