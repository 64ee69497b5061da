"""Take the dashboard screenshots in docs/screenshots/ from a real desk, the way a person sees it.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

It does what ``make demo`` does in a scratch directory (``opsdesk init``, then ``opsdesk ingest`` of the
486 recorded deliveries in ``examples/``), serves the desk on a free 127.0.0.1 port with the local
Shopify and SMTP stand-ins, signs in as ``alice`` (a lead) in Debian's headless Chromium through
Playwright, claims and comments on one case, and writes ``queue.png``, ``case.png``, ``readiness.png``,
``metrics.png`` (1280 px wide) and ``queue-phone.png`` (390 px, a phone). Needs ``/usr/bin/chromium``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opsdesk import app as composition  # noqa: E402
from opsdesk.config import Settings, load_settings  # noqa: E402
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin  # noqa: E402
from opsdesk.fakes.smtp import FakeSmtp  # noqa: E402
from opsdesk.services import users  # noqa: E402
from opsdesk.web.app import create_app  # noqa: E402

SECRET = "demo-secret"
USER, PASSWORD = "alice", "screenshots-only-password"


def opsdesk(directory: Path, *args: str) -> None:
    command = [str(Path(sys.executable).with_name("opsdesk")), *args]
    env = {**os.environ, "OPSDESK_SHOPIFY_SECRET": SECRET}
    subprocess.run(command, cwd=directory, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def with_stand_ins(settings: Settings, shopify: FakeShopifyAdmin, smtp: FakeSmtp) -> Settings:
    base = shopify.url_for("{shop}").split("/admin/")[0]
    connectors = settings.file.connectors.model_copy(update={
        "shopify": settings.file.connectors.shopify.model_copy(update={"base_url": base}),
        "smtp": settings.file.connectors.smtp.model_copy(update={"host": "127.0.0.1", "port": smtp.port}),
    })
    return settings.model_copy(update={"file": settings.file.model_copy(update={"connectors": connectors})})


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
        page.locator("#queue-rows tr[data-id] a").first.click()
        page.wait_for_load_state()
        if page.locator("button:has-text('Claim')").count():
            page.click("button:has-text('Claim')")
            page.wait_for_load_state()
        page.fill("#comment", "Asked the customer for a photo of the item.")
        page.click("button:has-text('Comment')")
        page.wait_for_load_state()
        page.screenshot(path=str(out / "case.png"), full_page=True)
        page.goto("/readiness")
        page.screenshot(path=str(out / "readiness.png"), full_page=True)
        page.goto("/charts")
        page.screenshot(path=str(out / "metrics.png"), full_page=True)
        for extra in extras:  # for a look, not for the docs
            page.goto(f"/{extra}")
            page.screenshot(path=str(out / f"{extra}.png"), full_page=True)
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
    with tempfile.TemporaryDirectory() as scratch, FakeShopifyAdmin() as shopify, FakeSmtp() as smtp:
        directory = Path(scratch)
        opsdesk(directory, "init", ".")
        opsdesk(directory, "ingest", str(ROOT / "examples" / "deliveries.jsonl.gz"))
        os.environ["OPSDESK_SHOPIFY_SECRET"] = SECRET
        os.environ.setdefault("OPSDESK_SHOPIFY_ACCESS_TOKEN", "stand-in-token")
        settings = load_settings(str(directory / "opsdesk.yaml"), f"sqlite:///{directory / 'opsdesk.db'}")
        desk = composition.build(with_stand_ins(settings, shopify, smtp))
        with desk.db.unit_of_work() as uow:
            users.add_user(uow, USER, PASSWORD, "Alice Ng", {"*": "lead"}, "alice", now=desk.clock.now())
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
