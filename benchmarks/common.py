"""Helpers shared by the P1-P3 benchmarks: paths, the machine's load, configs, corpora and subprocesses.

The benchmarks treat opsdesk as a black box: they run the venv's `opsdesk` command in a subprocess, the
way a user would, and print every figure beside the settings and the machine load it was measured under.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks.corpus import write_jsonl

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(os.environ.get("OPSDESK_BENCH_DIR", "/tmp/opsdesk-bench"))
PLAYBOOKS = ROOT / "src" / "opsdesk" / "starter" / "playbooks"
DEFAULT_SECRET = "opsdesk-bench-secret"
SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


class BenchError(RuntimeError):
    """Something a benchmark needs is missing or failed; the message says what and how to fix it."""


def opsdesk_bin() -> Path:
    """Return the `opsdesk` command of the venv running this script (or /work/main/.venv)."""
    for candidate in (Path(sys.executable).with_name("opsdesk"), ROOT / ".venv" / "bin" / "opsdesk"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise BenchError(f"no `opsdesk` command next to {sys.executable} or in {ROOT / '.venv/bin'}: "
                     "run `make install` (or `pip install -e .`) first")


def work_dir(name: str) -> Path:
    """Create and return a fresh-named directory for one run under the benchmark scratch directory."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = BENCH_DIR / f"{name}-{stamp}-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=False)
    return path


def load_average() -> str:
    """Return the 1/5/15-minute load averages, as `uptime` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def git_commit() -> str:
    """Return the checked-out commit (read-only), or `unknown`."""
    try:
        found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                               capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return found.stdout.strip()


def src_changed() -> bool:
    """Whether src/ differs from the checked-out commit (changed or new files; ignored ones aside)."""
    try:
        found = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.stdout.strip())


def machine_line() -> str:
    """Describe the machine and its load right now."""
    changed = " (+ uncommitted changes in src/)" if src_changed() else ""
    return (f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, opsdesk commit {git_commit()}{changed}, "
            f"load average {load_average()} at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")


def heading(title: str) -> None:
    """Print a benchmark's title and the machine line."""
    print(f"== {title}")
    print(machine_line(), flush=True)


def write_config(directory: Path, *, shops: int, synchronous: str) -> Path:
    """Write a minimal opsdesk.yaml accepting shop-1..shop-K with the starter playbooks; return its path."""
    if synchronous not in SYNCHRONOUS:
        raise BenchError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}")
    if not PLAYBOOKS.is_dir():
        raise BenchError(f"starter playbooks not found at {PLAYBOOKS}")
    domains = "\n".join(f"  - domain: shop-{i}.myshopify.com" for i in range(1, shops + 1))
    path = directory / "opsdesk.yaml"
    path.write_text(f"shops:\n{domains}\nplaybooks: {PLAYBOOKS}\nsqlite_synchronous: {synchronous}\n")
    return path


def write_corpus(path: Path, n: int, *, secret: str, seed: int, shops: int) -> None:
    """Write n signed deliveries as JSON Lines (streaming) and print the time taken and the topic mix."""
    started = time.perf_counter()
    stats = write_jsonl(path, n, secret=secret, seed=seed, shops=shops,
                        progress_every=100_000 if n >= 200_000 else 0)
    seconds = time.perf_counter() - started
    print(f"corpus: {n:,} deliveries (seed {seed}, {shops} shop(s)) -> {path} "
          f"({path.stat().st_size / 1e6:,.0f} MB) in {seconds:.1f} s")
    print("  " + stats.table().replace("\n", "\n  "), flush=True)


def opsdesk_env(secret: str) -> dict[str, str]:
    """Return the environment for an opsdesk subprocess: this one plus the webhook secret."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPSDESK_")}
    return {**env, "OPSDESK_SHOPIFY_SECRET": secret, "PYTHONUNBUFFERED": "1"}


def sqlite_url(path: Path) -> str:
    """Return the SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite database with its -wal and -shm files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_facts(path: Path, table: str) -> dict[str, Any]:
    """Read back a table's row count, the journal mode and the file size of a SQLite database."""
    if not path.is_file():
        raise BenchError(f"database {path} was not created")
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    size = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
    return {"rows": rows, "journal_mode": journal, "bytes": size}


def commit_probe(directory: Path, commits: int = 200) -> str:
    """Time single-row commits (7 KB, WAL, synchronous=FULL) in `directory`: the disk's fsync cost right now."""
    path = directory / "commit-probe.sqlite3"
    times, body = [], os.urandom(7000)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, body BLOB)")
        for _ in range(commits):
            started = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO probe (body) VALUES (?)", (body,))
            db.execute("COMMIT")
            times.append(time.perf_counter() - started)
    remove_sqlite(path)
    times.sort()
    return (f"disk probe: a 7 KB one-row commit, WAL, synchronous=FULL, takes {statistics.median(times) * 1e3:.2f} ms "
            f"median, {times[int(0.99 * len(times))] * 1e3:.2f} ms p99 ({len(times) / sum(times):,.0f} commits/s) "
            "right now (a quiet machine of this kind: ~0.18 ms, 5,700/s)")


def startup_seconds(repeats: int = 3) -> float:
    """Return the median wall time of `opsdesk --help`: interpreter start plus opsdesk's imports."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(opsdesk_bin()), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_ingest(jsonl: Path, db: Path, config: Path, secret: str) -> tuple[dict[str, Any], float]:
    """Run `opsdesk ingest --format json` to completion; return its JSON summary and its wall time."""
    cmd = [str(opsdesk_bin()), "ingest", str(jsonl), "--format", "json",
           "--database-url", sqlite_url(db), "--config", str(config)]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=opsdesk_env(secret), check=False)
    seconds = time.perf_counter() - started
    return parse_summary(done.returncode, done.stdout, done.stderr), seconds


def parse_summary(returncode: int, stdout: bytes, stderr: bytes) -> dict[str, Any]:
    """Parse the JSON summary of `opsdesk ingest`, or raise with its output when it failed."""
    if returncode != 0:
        raise BenchError(f"opsdesk ingest exited with {returncode}:\n{stderr.decode(errors='replace')[-4000:]}")
    try:
        summary: dict[str, Any] = orjson.loads(stdout)
    except orjson.JSONDecodeError as exc:
        raise BenchError(f"opsdesk ingest did not print JSON ({exc}):\n{stdout[-2000:]!r}") from exc
    if summary.get("refused") or summary.get("bad_line_count"):
        print(f"WARNING: refused {summary.get('refused')}, bad lines {summary.get('bad_line_count')}: "
              f"{summary.get('bad_lines')}")
    return summary


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_status(url: str) -> int | None:
    """Return the status of a GET of `url`, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            status: int = answer.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path, *, accept: tuple[int, ...] = (200,),
              timeout: float = 60.0) -> float:
    """Poll `url` until it answers an accepted status; return the seconds waited; raise if the server dies."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise BenchError(f"server exited with {process.returncode} before {url} answered; "
                             f"its log ({log}):\n{log.read_text(errors='replace')[-4000:]}")
        if http_status(url) in accept:
            return time.perf_counter() - started
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer {accept} within {timeout:.0f} s; server log: {log}")


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """Stop a server we started: SIGINT, then SIGTERM, then SIGKILL, each after a grace period."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)


def cpu_seconds(pid: int) -> float:
    """Return the user+system CPU seconds a live process (all its threads) has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def emit_json(tag: str, data: Mapping[str, Any]) -> None:
    """Print one machine-readable line: the tag, then the figures as JSON."""
    print(f"{tag} {orjson.dumps(data, default=str).decode()}", flush=True)


@contextlib.contextmanager
def deleting(*paths: Path, keep: bool = False) -> Iterator[None]:
    """Delete the given (big) files when the block ends, unless asked to keep them."""
    try:
        yield
    finally:
        for path in paths:
            if keep:
                print(f"kept {path}")
            elif path.exists():
                path.unlink()


def ratio(numerator: float, denominator: float) -> float:
    """Return numerator / denominator, or 0 when the denominator is 0."""
    return numerator / denominator if denominator else 0.0


def verdict(met: bool) -> str:
    """Return MET or MISSED."""
    return "MET" if met else "MISSED"


def entry(run: Callable[[argparse.Namespace], object], parse: Callable[[list[str] | None], argparse.Namespace],
          argv: list[str] | None = None) -> int:
    """A benchmark's command line: run it, and turn a ``BenchError`` into a message and exit code 2."""
    try:
        run(parse(argv))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
