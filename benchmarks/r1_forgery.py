"""Reliability test 1: signature forgery, at full size. 10,000 forged deliveries -> 0 accepted; compliance topics 401.

Starts `opsdesk serve --no-worker` (intake and the API, SQLite) and posts, over HTTP, --mutations deliveries
whose signature does not match: the real Shopify sample payloads of orders/create and of the three compliance
topics (customers/redact, customers/data_request, shop/redact) in turn, each forged one of four ways, chosen
by a seeded random draw: a body byte changed (the signature kept), a byte of the signature header changed,
signed with another secret, or the right signature in another encoding (unpadded, lower or upper case, hex,
URL-safe, a character made a space, one more, empty). Then each payload once, rightly signed, which must be accepted
(so that the 401s are the signature's doing), and the database is read: only those are stored.
Pass: no forgery answered 2xx, every forgery of a compliance topic answered 401, only the genuine ones stored.
The suite runs the quick size (tests/integration/test_webhook_intake.py, 2,000 through ``verify``).

    .venv/bin/python benchmarks/r1_forgery.py                     # 10,000 forgeries
    .venv/bin/python benchmarks/r1_forgery.py --mutations 1000    # a quick look
"""

from __future__ import annotations

import argparse
import base64
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/r1_forgery.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from tests.samples import delivery, sample

from benchmarks import common
from opsdesk.testing import sign

TOPICS = ("orders/create", "customers/redact", "customers/data_request", "shop/redact")
COMPLIANCE = frozenset(TOPICS[1:])
KINDS = ("body", "header", "secret", "encoding")
SHOP = "shop-1.myshopify.com"  # the shop common.write_config accepts
Forgery = tuple[bytes, str]  # the body sent, the signature header sent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=10_000, help="forged deliveries to send (default 10,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--secret", default=common.DEFAULT_SECRET)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--json", action="store_true", help="also print an R1_RESULT {json} line")
    return parser.parse_args(argv)


def forge(kind: str, body: bytes, secret: str, draw: random.Random) -> Forgery:
    """``body`` and a signature that does not match it, forged the ``kind`` way."""
    good = sign(body, secret)
    if kind == "body":
        i = draw.randrange(len(body))
        return body[:i] + bytes([body[i] ^ draw.randint(1, 255)]) + body[i + 1:], good
    if kind == "header":
        raw = bytearray(base64.b64decode(good))
        raw[draw.randrange(len(raw))] ^= draw.randint(1, 255)
        return body, base64.b64encode(bytes(raw)).decode()
    if kind == "secret":
        other = "".join(draw.choice("abcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(draw.randint(0, 40)))
        return body, sign(body, other if other != secret else other + "x")
    digest = base64.b64decode(good)
    encodings = [good.rstrip("="), good.lower(), good.upper(), good[:20] + " " + good[21:], good + "A", "",
                 digest.hex(), digest.hex().upper(), base64.urlsafe_b64encode(digest).decode()]
    return body, draw.choice([e for e in encodings if e != good])


def post(client: httpx.Client, url: str, headers: dict[str, str], body: bytes, signature: str) -> int:
    sent = {**headers, "X-Shopify-Hmac-Sha256": signature, "Content-Type": "application/json"}
    return client.post(url, content=body, headers=sent).status_code


def send_forgeries(client: httpx.Client, url: str, args: argparse.Namespace) -> tuple[Counter[tuple[str, str, int]],
                                                                                     float]:
    """(topic, kind, status) -> how many, and the seconds the forgeries took."""
    draw, answers = random.Random(args.seed), Counter[tuple[str, str, int]]()
    started = time.perf_counter()
    for i in range(args.mutations):
        topic, kind = TOPICS[i % len(TOPICS)], draw.choice(KINDS)
        genuine = delivery(topic, sample(topic), f"forged-{i}", shop=SHOP, secret=args.secret)
        body, signature = forge(kind, genuine["body"].encode(), args.secret, draw)
        answers[(topic, kind, post(client, url, genuine["headers"], body, signature))] += 1
    return answers, time.perf_counter() - started


def send_genuine(client: httpx.Client, url: str, secret: str) -> dict[str, int]:
    """Each topic's payload once, rightly signed and fresh: what the server answers."""
    answers = {}
    for topic in TOPICS:
        genuine = delivery(topic, sample(topic), f"genuine-{topic}", shop=SHOP, secret=secret,
                           triggered_at=datetime.now(UTC))
        body = genuine["body"].encode()
        answers[topic] = post(client, url, genuine["headers"], body, sign(body, secret))
    return answers


def run(args: argparse.Namespace) -> dict[str, Any]:
    common.heading(f"R1 signature forgery: {args.mutations:,} forged deliveries over HTTP")
    directory = common.work_dir("r1")
    config, db = common.write_config(directory, shops=1, synchronous="FULL"), directory / "opsdesk.sqlite3"
    port, log = common.free_port(), directory / "serve.log"
    cmd = [str(common.opsdesk_bin()), "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port),
           "--config", str(config), "--database-url", common.sqlite_url(db)]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=common.opsdesk_env(args.secret))
        try:
            common.wait_http(f"http://127.0.0.1:{port}/healthz", process, log)
            url = f"http://127.0.0.1:{port}/webhooks/shopify"
            with httpx.Client(timeout=30.0) as client:
                answers, seconds = send_forgeries(client, url, args)
                genuine = send_genuine(client, url, args.secret)
        finally:
            common.stop_process(process)
    with sqlite3.connect(db) as conn:
        stored = sorted(row[0] for row in conn.execute("SELECT webhook_id FROM deliveries"))
    result = tally(answers, seconds, genuine, stored)
    for name, value in result.items():
        print(f"  {name:28} {value}")
    print(f"R1 {common.verdict(bool(result['met']))}: {result['accepted']} of {args.mutations:,} forgeries accepted, "
          f"{result['compliance_not_401']} compliance forgeries not 401")
    if args.json:
        common.emit_json("R1_RESULT", result)
    if not args.keep:
        common.remove_sqlite(db)
    return result


def tally(answers: Counter[tuple[str, str, int]], seconds: float, genuine: dict[str, int],
          stored: list[str]) -> dict[str, Any]:
    by_kind, statuses, compliance = Counter[str](), Counter[int](), Counter[int]()
    for (topic, kind, status), n in answers.items():
        by_kind[kind] += n
        statuses[status] += n
        if topic in COMPLIANCE:
            compliance[status] += n
    total = sum(answers.values())
    accepted = sum(n for status, n in statuses.items() if 200 <= status < 300)
    compliance_not_401 = sum(compliance.values()) - compliance[401]
    only_genuine = stored == sorted(f"genuine-{topic}" for topic in TOPICS)
    return {
        "forgeries": total,
        "seconds": round(seconds, 1),
        "per_second": round(total / seconds) if seconds else 0,
        "by_kind": dict(sorted(by_kind.items())),
        "statuses": {str(status): n for status, n in sorted(statuses.items())},
        "accepted": accepted,
        "compliance_forgeries": sum(compliance.values()),
        "compliance_not_401": compliance_not_401,
        "genuine_answers": genuine,
        "stored": stored,
        "met": accepted == 0 and compliance_not_401 == 0 and set(genuine.values()) == {200} and only_genuine,
    }


if __name__ == "__main__":
    raise SystemExit(common.entry(run, parse_args))
