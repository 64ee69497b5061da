"""Reliability test 3: intake under sustained load, with the worker running beside it.

Starts `opsdesk serve --stand-ins` (intake, JSON API, pipeline, timers and outbox in one process, SQLite at
`synchronous=FULL`, actions sent to the local Shopify and SMTP stand-ins) and sends signed real-size
deliveries (benchmarks/corpus.py: order lifecycles, fulfilments, carrier events, returns, refunds) at a
steady --rate per second from --connections concurrent senders, each delivery once, plus ~2% sent a
second time (Shopify's retries). Every answer's latency is recorded. Afterwards the database is read:
every delivery acknowledged with a 2xx must be stored (never a 2xx without a commit), none lost.
Pass: 0 lost, p99 acknowledgement <= 500 ms (reliability.md test 3).

    .venv/bin/python benchmarks/r3_sustained_intake.py                # 10 minutes at 50/s
    .venv/bin/python benchmarks/r3_sustained_intake.py --seconds 60   # the quick size
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/r3_sustained_intake.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from benchmarks import common
from benchmarks.corpus import iter_deliveries

P99_LIMIT_MS = 500.0
#: The deliveries this load sent, not the desk's own signals (``opsdesk/*`` topics, which timers and watchers
#: keep appending after the load ends).
SENT = "AND topic NOT LIKE 'opsdesk/%'"
RETRY_SHARE = 50  # every 50th delivery is sent again: a retry of something already acknowledged


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long the load lasts (default 600)")
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries per second (default 50)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent senders (default 8)")
    parser.add_argument("--secret", default=common.DEFAULT_SECRET)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--json", action="store_true", help="also print an R3_RESULT {json} line")
    return parser.parse_args(argv)


@dataclass
class Tally:
    """What the senders saw, shared under a lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)  # webhook ids answered 2xx
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sent: int = 0
    late_starts: int = 0  # sends that began more than a second behind the schedule


def schedule(args: argparse.Namespace) -> Iterator[tuple[float, dict[str, Any]]]:
    """(when to send, delivery) at a steady rate; every RETRY_SHARE-th one is followed by a repeat."""
    total = int(args.seconds * args.rate)
    for i, delivery in enumerate(iter_deliveries(total, secret=args.secret, seed=3)):
        at = i / args.rate
        yield at, delivery
        if i % RETRY_SHARE == RETRY_SHARE - 1:
            yield at + 0.5 / args.rate, delivery


def sender(url: str, jobs: list[tuple[float, dict[str, Any]]], started: float, tally: Tally) -> None:
    with httpx.Client(timeout=30.0) as client:
        for at, delivery in jobs:
            wait = started + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            elif wait < -1.0:
                with tally.lock:
                    tally.late_starts += 1
            headers = {**delivery["headers"], "Content-Type": "application/json"}
            begin = time.perf_counter()
            try:
                answer = client.post(url, content=str(delivery["body"]).encode(), headers=headers)
            except httpx.HTTPError as exc:
                with tally.lock:
                    tally.errors.append(f"{type(exc).__name__}: {exc}")
                    tally.sent += 1
                continue
            took = (time.perf_counter() - begin) * 1000
            with tally.lock:
                tally.sent += 1
                tally.latencies_ms.append(took)
                tally.statuses[answer.status_code] = tally.statuses.get(answer.status_code, 0) + 1
                if 200 <= answer.status_code < 300:
                    tally.acknowledged.add(delivery["headers"]["X-Shopify-Webhook-Id"])


def wait_drained(db: Path, timeout: float) -> float | None:
    """Seconds until the worker has processed every stored delivery (None: not within ``timeout``)."""
    begin = time.perf_counter()
    while time.perf_counter() - begin < timeout:
        with sqlite3.connect(db) as conn:
            if not conn.execute(f"SELECT count(*) FROM deliveries WHERE status = 'pending' {SENT}").fetchone()[0]:
                return round(time.perf_counter() - begin, 1)
        time.sleep(0.2)
    return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    common.heading(f"R3 sustained intake: {args.rate:g} deliveries/s for {args.seconds:g} s, worker on")
    directory = common.work_dir("r3")
    config = common.write_config(directory, shops=1, synchronous="FULL")
    db = directory / "opsdesk.sqlite3"
    common.remove_sqlite(db)
    port, log = common.free_port(), directory / "serve.log"
    cmd = [str(common.opsdesk_bin()), "serve", "--host", "127.0.0.1", "--port", str(port), "--stand-ins",
           "--config", str(config), "--database-url", common.sqlite_url(db)]
    jobs = list(schedule(args))
    lanes: list[list[tuple[float, dict[str, Any]]]] = [jobs[i :: args.connections] for i in range(args.connections)]
    tally = Tally()
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=common.opsdesk_env(args.secret))
        try:
            common.wait_http(f"http://127.0.0.1:{port}/healthz", process, log)
            url = f"http://127.0.0.1:{port}/webhooks/shopify"
            started = time.perf_counter()
            threads = [threading.Thread(target=sender, args=(url, lane, started, tally)) for lane in lanes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
            drained = wait_drained(db, timeout=60.0)
            server_cpu = common.cpu_seconds(process.pid)
        finally:
            common.stop_process(process)
    with sqlite3.connect(db) as conn:
        stored = {row[0] for row in conn.execute("SELECT webhook_id FROM deliveries")}
        processed = conn.execute(f"SELECT count(*) FROM deliveries WHERE status != 'pending' {SENT}").fetchone()[0]
    lost = sorted(tally.acknowledged - stored)
    p99 = percentile(tally.latencies_ms, 0.99)
    result = {
        "seconds": round(seconds, 1),
        "rate_asked": args.rate,
        "sent": tally.sent,
        "distinct": len(jobs) - len(jobs) // (RETRY_SHARE + 1),
        "statuses": {str(code): n for code, n in sorted(tally.statuses.items())},
        "transport_errors": len(tally.errors),
        "acknowledged_distinct": len(tally.acknowledged),
        "stored": len(stored),
        "processed_by_the_worker": processed,  # of the deliveries sent (the desk's own signals aside)
        "drained_after_load_s": drained,
        "lost": len(lost),
        "p50_ms": round(percentile(tally.latencies_ms, 0.50), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(tally.latencies_ms, default=0.0), 1),
        "late_starts": tally.late_starts,
        "server_cpu_seconds": round(server_cpu, 1),
        "met": not lost and not tally.errors and p99 <= P99_LIMIT_MS,
    }
    for name, value in result.items():
        print(f"  {name:24} {value}")
    print(f"R3 {common.verdict(bool(result['met']))}: lost {len(lost)}, p99 {p99:.1f} ms (limit {P99_LIMIT_MS:g})")
    if args.json:
        common.emit_json("R3_RESULT", result)
    if not args.keep:
        common.remove_sqlite(db)
    return result


if __name__ == "__main__":
    raise SystemExit(common.entry(run, parse_args))
