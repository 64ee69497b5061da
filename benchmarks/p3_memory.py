"""P3: memory of `opsdesk ingest` while it replays 1,000,000 deliveries: peak RSS, and RSS over the run.

Writes the deliveries (benchmarks/corpus.py, streaming) to a JSON Lines file under /tmp/opsdesk-bench,
runs `opsdesk ingest --format json` on it into a fresh SQLite file and samples the subprocess's VmRSS and
VmHWM from /proc/<pid>/status every 0.5 s. Prints the peak and the RSS at 10%, 50% and 90% of the run
(a streaming replay stays flat). Deletes the file afterwards. Target: peak RSS <= 300 MB, flat.

    .venv/bin/python benchmarks/p3_memory.py             # full size: 1,000,000 deliveries (7 GB file)
    .venv/bin/python benchmarks/p3_memory.py --n 200000  # a fifth of it
    .venv/bin/python benchmarks/p3_memory.py --quick     # 20,000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/p3_memory.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common

TARGET_PEAK_MB = 300
QUICK_N = 20_000
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the process's memory, in bytes, at seconds since it started."""

    at: float
    rss: int
    hwm: int


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="deliveries to replay (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help=f"a quick look: --n {QUICK_N:,}")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples (default 0.5)")
    parser.add_argument("--shops", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--secret", default=common.DEFAULT_SECRET)
    parser.add_argument("--synchronous", default="FULL", choices=common.SYNCHRONOUS)
    parser.add_argument("--keep", action="store_true", help="keep the corpus and the database")
    parser.add_argument("--json", action="store_true", help="also print a P3_RESULT {json} line")
    args = parser.parse_args(argv)
    if args.quick:
        args.n = QUICK_N
    if args.n < 1 or args.interval <= 0:
        parser.error("--n must be at least 1 and --interval positive")
    return args


def read_memory(pid: int) -> tuple[int, int] | None:
    """Return (VmRSS, VmHWM) in bytes of a live process, or None once it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    values = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in text.splitlines()
              if line.startswith(("VmRSS:", "VmHWM:"))}
    if "VmRSS" not in values:  # a zombie has no memory lines
        return None
    return values["VmRSS"], values["VmHWM"]


def sample_until_exit(process: subprocess.Popen[bytes], interval: float,
                      progress_every: float = 60.0) -> tuple[list[Sample], float]:
    """Sample a process's memory until it exits, printing a progress line a minute; return samples, wall time."""
    started, samples, next_progress = time.perf_counter(), [], progress_every
    while process.poll() is None:
        reading = read_memory(process.pid)
        if reading:
            samples.append(Sample(time.perf_counter() - started, *reading))
            if samples[-1].at >= next_progress:
                next_progress += progress_every
                print(f"  {samples[-1].at:6.0f} s  RSS {reading[0] / MB:,.0f} MB  peak {reading[1] / MB:,.0f} MB  "
                      f"load average {common.load_average()}", flush=True)
        time.sleep(interval)
    process.wait()
    return samples, time.perf_counter() - started


def run_sampled(jsonl: Path, db: Path, config: Path, secret: str, interval: float,
                directory: Path) -> tuple[dict[str, Any], list[Sample], float]:
    """Run `opsdesk ingest` while sampling it; return its summary, the samples and its wall time."""
    cmd = [str(common.opsdesk_bin()), "ingest", str(jsonl), "--format", "json",
           "--database-url", common.sqlite_url(db), "--config", str(config)]
    out_path, err_path = directory / "ingest.stdout", directory / "ingest.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(cmd, stdout=out, stderr=err, env=common.opsdesk_env(secret))
        samples, seconds = sample_until_exit(process, interval)
    summary = common.parse_summary(process.returncode, out_path.read_bytes(), err_path.read_bytes())
    return summary, samples, seconds


def at_fraction(samples: list[Sample], seconds: float, fraction: float) -> Sample:
    """Return the sample nearest to a fraction of the run's wall time."""
    return min(samples, key=lambda sample: abs(sample.at - fraction * seconds))


def report(args: argparse.Namespace, summary: dict[str, Any], samples: list[Sample], seconds: float) -> None:
    """Print the peak, the RSS over the run and the verdict (and the JSON line when asked)."""
    if not samples:
        raise common.BenchError("the ingest ended before the first sample; use a larger --n")
    peak = max(s.hwm for s in samples)  # the high-water mark is never below the RSS
    points = {pct: at_fraction(samples, seconds, pct / 100).rss for pct in range(0, 101, 10)}
    events = summary["pipeline"]["events"]
    print(f"opsdesk ingest: {summary['stored']:,} stored, {events:,} events in {seconds:.1f} s "
          f"({common.ratio(events, seconds):,.0f} events/s), {len(samples):,} samples every {args.interval} s, "
          f"sqlite_synchronous={args.synchronous}")
    print("RSS over the run (MB): " + "  ".join(f"{pct}% {rss / MB:,.0f}" for pct, rss in points.items()))
    growth = (points[90] - points[10]) / MB
    print(f"P3  peak RSS {peak / MB:,.0f} MB (VmHWM) | RSS at 10% {points[10] / MB:,.0f} MB, "
          f"50% {points[50] / MB:,.0f} MB, 90% {points[90] / MB:,.0f} MB (10%->90% {growth:+,.0f} MB) | "
          f"target <= {TARGET_PEAK_MB} MB, flat")
    met = peak / MB <= TARGET_PEAK_MB
    print(f"    peak: {common.verdict(met)} ({peak / MB / TARGET_PEAK_MB:.0%} of the limit); "
          f"load average {common.load_average()}")
    if args.json:
        common.emit_json("P3_RESULT", {
            "n": args.n, "synchronous": args.synchronous, "seconds": seconds, "events": events,
            "peak_rss_mb": peak / MB, "rss_mb": {f"{pct}%": rss / MB for pct, rss in points.items()},
            "growth_10_90_mb": growth, "target_met": met, "load_average": common.load_average()})


def run(args: argparse.Namespace) -> None:
    """Write the corpus, replay it while sampling memory, report, clean up."""
    common.heading(f"P3 memory: {args.n:,} deliveries through `opsdesk ingest`")
    directory = common.work_dir("p3")
    jsonl, db = directory / "deliveries.jsonl", directory / "opsdesk.sqlite3"
    config = common.write_config(directory, shops=args.shops, synchronous=args.synchronous)
    with common.deleting(jsonl, keep=args.keep):
        common.write_corpus(jsonl, args.n, secret=args.secret, seed=args.seed, shops=args.shops)
        print(f"opsdesk ingest: load average {common.load_average()} before", flush=True)
        summary, samples, seconds = run_sampled(jsonl, db, config, args.secret, args.interval, directory)
    facts = common.sqlite_facts(db, "deliveries")
    print(f"database: {facts['rows']:,} delivery rows, {facts['bytes'] / 1e6:,.0f} MB, "
          f"journal_mode={facts['journal_mode']}")
    if not args.keep:
        common.remove_sqlite(db)
    report(args, summary, samples, seconds)


def main(argv: list[str] | None = None) -> int:
    """Run P3 from the command line."""
    return common.entry(run, parse_args, argv)


if __name__ == "__main__":
    sys.exit(main())
