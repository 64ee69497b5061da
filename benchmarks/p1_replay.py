"""P1: replay recorded Shopify deliveries through `opsdesk ingest` (SQLite) beside SpiffWorkflow, same run.

Generates N signed deliveries with benchmarks/corpus.py into a JSON Lines file under /tmp/opsdesk-bench,
runs `opsdesk ingest --format json` on it into a fresh SQLite file (verify, store raw, normalise, decide,
write state, decisions, outbox and audit), and divides the pipeline's events by the wall time of that
subprocess. Then the SpiffWorkflow peer (benchmarks/peer_spiffworkflow.py) runs and persists one
`refund_request` instance per delivery of the same file, and the ratio is printed.
Target: >= 20,000 events/s and >= 10x SpiffWorkflow.

    .venv/bin/python benchmarks/p1_replay.py            # full size: 200,000 deliveries (~15 min here)
    .venv/bin/python benchmarks/p1_replay.py --quick    # 20,000 deliveries
"""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/p1_replay.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common

TARGET_EVENTS_PER_S = 20_000
TARGET_RATIO = 10.0
PEER_BUDGET_S = 300  # run the peer on all N when that takes less than ~5 min at its ~600/s here
PEER_RATE_GUESS = 600
QUICK_N = 20_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="deliveries to replay (default 200,000)")
    parser.add_argument("--quick", action="store_true", help=f"a quick look: --n {QUICK_N:,}")
    parser.add_argument("--shops", type=int, default=1, help="shops in the corpus (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--secret", default=common.DEFAULT_SECRET)
    parser.add_argument("--synchronous", default="FULL", choices=common.SYNCHRONOUS,
                        help="opsdesk's sqlite_synchronous (default FULL)")
    parser.add_argument("--peer-limit", type=int, default=50_000,
                        help="deliveries for SpiffWorkflow when all N would take over ~5 min (default 50,000)")
    parser.add_argument("--peer-all", action="store_true", help="run SpiffWorkflow on all N deliveries")
    parser.add_argument("--no-peer", action="store_true", help="skip SpiffWorkflow (no ratio)")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and databases")
    parser.add_argument("--json", action="store_true", help="also print a P1_RESULT {json} line")
    args = parser.parse_args(argv)
    if args.quick:
        args.n = QUICK_N
    if args.n < 1:
        parser.error("--n must be at least 1")
    return args


def peer_count(n: int, limit: int, run_all: bool) -> int:
    """Return how many deliveries the peer runs: all when that fits the time budget, else the limit."""
    if run_all or n <= PEER_BUDGET_S * PEER_RATE_GUESS:
        return n
    return min(n, limit)


def measure_opsdesk(jsonl: Path, db: Path, config: Path, secret: str) -> dict[str, Any]:
    """Run `opsdesk ingest` once and return its figures."""
    print(common.commit_probe(db.parent))
    print(f"opsdesk ingest: load average {common.load_average()} before", flush=True)
    summary, seconds = common.run_ingest(jsonl, db, config, secret)
    events, stored = summary["pipeline"]["events"], summary["stored"]
    facts = common.sqlite_facts(db, "deliveries")
    print(f"opsdesk ingest: {summary['lines']:,} lines, {stored:,} stored, {events:,} events, "
          f"{summary['pipeline']['decisions']:,} decisions, {summary['pipeline']['actions']:,} actions, "
          f"{summary['pipeline']['cases']:,} cases, {summary['pipeline']['failed']:,} failed in {seconds:.1f} s "
          f"(database {facts['bytes'] / 1e6:,.0f} MB, journal_mode={facts['journal_mode']}, "
          f"{facts['rows']:,} delivery rows)")
    return {"seconds": seconds, "events": events, "stored": stored, "summary": summary, "db": facts,
            "events_per_s": common.ratio(events, seconds), "deliveries_per_s": common.ratio(stored, seconds)}


def measure_peer(jsonl: Path, count: int, db: Path) -> dict[str, Any]:
    """Run the SpiffWorkflow peer on the first `count` deliveries of the file and return its figures."""
    try:
        from benchmarks.peer_spiffworkflow import read_jsonl, run_spiff
    except ImportError as exc:
        raise common.BenchError(f"SpiffWorkflow is missing ({exc}): "
                                "pip install SpiffWorkflow==3.2.0 (part of the dev extra)") from exc
    print(f"SpiffWorkflow: {count:,} deliveries, load average {common.load_average()} before", flush=True)
    result = run_spiff(islice(read_jsonl(jsonl), count), str(db))
    print(f"SpiffWorkflow: {result['instances']:,} instances in {result['seconds']:.1f} s "
          f"({result['human_tasks']:,} waiting on human_review)")
    return result


def report(args: argparse.Namespace, ops: dict[str, Any], startup: float, peer: dict[str, Any] | None) -> None:
    """Print the figures, the ratio and the verdicts (and the JSON line when asked)."""
    net = common.ratio(ops["events"], ops["seconds"] - startup)
    print(f"opsdesk: {ops['events_per_s']:,.0f} events/s, {ops['deliveries_per_s']:,.0f} deliveries/s over the "
          f"whole subprocess ({ops['seconds']:.1f} s); start-up (`opsdesk --help`) {startup:.2f} s, "
          f"without it {net:,.0f} events/s; sqlite_synchronous={args.synchronous}")
    peer_rate = peer["per_second"] if peer else 0.0
    rel = common.ratio(ops["events_per_s"], peer_rate)
    if peer:
        partial = "" if peer["instances"] == args.n else f" (first {peer['instances']:,} of {args.n:,})"
        print(f"SpiffWorkflow: {peer_rate:,.0f} instances/s{partial}, synchronous=NORMAL, 1,000 per commit")
    print(f"P1  opsdesk {ops['events_per_s']:,.0f} events/s | SpiffWorkflow {peer_rate:,.0f} instances/s | "
          f"ratio {rel:.1f}x (target >= {TARGET_EVENTS_PER_S:,}/s and >= {TARGET_RATIO:.0f}x)")
    met_rate, met_ratio = ops["events_per_s"] >= TARGET_EVENTS_PER_S, rel >= TARGET_RATIO
    print(f"    events/s: {common.verdict(met_rate)} ({ops['events_per_s'] / TARGET_EVENTS_PER_S:.1%} of target); "
          f"ratio: {common.verdict(met_ratio) if peer else 'not measured'}; load average {common.load_average()}")
    if args.json:
        common.emit_json("P1_RESULT", {
            "n": args.n, "shops": args.shops, "seed": args.seed, "synchronous": args.synchronous,
            "opsdesk_seconds": ops["seconds"], "events": ops["events"], "stored": ops["stored"],
            "events_per_s": ops["events_per_s"], "deliveries_per_s": ops["deliveries_per_s"],
            "startup_s": startup, "events_per_s_without_startup": net,
            "peer_instances": peer["instances"] if peer else 0, "peer_per_s": peer_rate, "ratio": rel,
            "target_met": met_rate and met_ratio, "load_average": common.load_average()})


def run(args: argparse.Namespace) -> None:
    """Build the corpus, measure opsdesk and the peer, report, clean up."""
    common.heading(f"P1 replay: {args.n:,} recorded deliveries through `opsdesk ingest` vs SpiffWorkflow")
    directory = common.work_dir("p1")
    jsonl, db, peer_db = directory / "deliveries.jsonl", directory / "opsdesk.sqlite3", directory / "spiff.sqlite3"
    config = common.write_config(directory, shops=args.shops, synchronous=args.synchronous)
    print(f"config {config}: {args.shops} shop(s), starter playbooks, sqlite_synchronous={args.synchronous}")
    with common.deleting(jsonl, keep=args.keep):
        common.write_corpus(jsonl, args.n, secret=args.secret, seed=args.seed, shops=args.shops)
        startup = common.startup_seconds()
        ops = measure_opsdesk(jsonl, db, config, args.secret)
        peer = None
        if not args.no_peer:
            peer = measure_peer(jsonl, peer_count(args.n, args.peer_limit, args.peer_all), peer_db)
        report(args, ops, startup, peer)
    for leftover in (db, peer_db):
        if not args.keep:
            common.remove_sqlite(leftover)


def main(argv: list[str] | None = None) -> int:
    """Run P1 from the command line."""
    return common.entry(run, parse_args, argv)


if __name__ == "__main__":
    sys.exit(main())
