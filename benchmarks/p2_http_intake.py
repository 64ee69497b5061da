"""P2: signed Shopify deliveries over HTTP into `opsdesk serve` (SQLite, FULL), beside a bare Starlette route.

Builds a pool of distinct pre-signed real deliveries (benchmarks/corpus.py) as raw HTTP requests under
/tmp/opsdesk-bench, starts `opsdesk serve` on a free port, waits for /healthz, sends a short sequential
warm-up, then loads `POST /webhooks/shopify` at 50 concurrent connections for --duration seconds with wrk
(benchmarks/wrk/replay.lua sends each request once, in order). The same load then goes to
benchmarks/bare_starlette.py. Afterwards the opsdesk database is checked: every acknowledged (200)
delivery must be stored. Targets: >= 8,000 deliveries/s, p99 <= 20 ms, >= 0.4x the bare endpoint.

    .venv/bin/python benchmarks/p2_http_intake.py                 # full size: 20 s per server
    .venv/bin/python benchmarks/p2_http_intake.py --duration 5    # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

if __package__ in (None, ""):  # run as `python benchmarks/p2_http_intake.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common
from benchmarks.corpus import iter_deliveries

TARGET_RATE = 8_000
TARGET_P99_MS = 20.0
TARGET_RATIO = 0.4
LUA = Path(__file__).resolve().parent / "wrk" / "replay.lua"
BARE = Path(__file__).resolve().parent / "bare_starlette.py"
PATH = "/webhooks/shopify"
HOST = "127.0.0.1"
DURABLE = {True: "OK", False: "FAILED", None: "not checked (pool ran out)"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load per server (default 20)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: leaves a core free)")
    parser.add_argument("--pool-rate", type=int, default=15_000,
                        help="distinct deliveries built per second of --duration (default 15,000)")
    parser.add_argument("--warmup", type=int, default=500, help="deliveries sent one by one first (default 500)")
    parser.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto",
                        help="load generator (default: wrk, else the Python asyncio fallback)")
    parser.add_argument("--shops", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--secret", default=common.DEFAULT_SECRET)
    parser.add_argument("--synchronous", default="FULL", choices=common.SYNCHRONOUS)
    parser.add_argument("--skip-bare", action="store_true", help="do not measure the bare endpoint (no ratio)")
    parser.add_argument("--no-worker", action="store_true",
                        help="run `opsdesk serve --no-worker`: intake and API only (the pipeline runs elsewhere)")
    parser.add_argument("--keep", action="store_true", help="keep the request files and the database")
    parser.add_argument("--json", action="store_true", help="also print a P2_RESULT {json} line")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.connections < 1 or not 1 <= args.threads <= args.connections:
        parser.error("need --duration > 0 and 1 <= --threads <= --connections")
    return args


# -- the requests -------------------------------------------------------------------------------------------


def raw_request(delivery: dict[str, Any]) -> bytes:
    """Return one delivery as a complete HTTP/1.1 POST, as Shopify sends it."""
    body: bytes = delivery["body"].encode()
    headers = {"Host": HOST, "User-Agent": "Shopify-Captain-Hook", "Content-Type": "application/json",
               "Content-Length": str(len(body)), **delivery["headers"]}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {PATH} HTTP/1.1\r\n{head}\r\n".encode() + body


def write_pool(prefix: Path, deliveries: Iterator[dict[str, Any]], count: int, shards: int) -> int:
    """Write `count` requests round-robin into files PREFIX.0 .. PREFIX.<shards-1>; return the bytes written."""
    written = 0
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(path.open("wb", buffering=1 << 20)) for path in pool_files(prefix, shards)]
        for i in range(count):
            request = raw_request(next(deliveries))
            files[i % shards].write(b"%d\n%s" % (len(request), request))
            written += len(request)
    return written


def read_pool(handle: BinaryIO) -> Iterator[bytes]:
    """Yield the raw requests of one pool file."""
    while size := handle.readline():
        yield handle.read(int(size))


def build_requests(directory: Path, args: argparse.Namespace) -> tuple[list[bytes], Path, int]:
    """Build the warm-up requests and the load pool; return them, the pool prefix and its size."""
    pool = math.ceil(args.duration * args.pool_rate)
    deliveries = iter_deliveries(args.warmup + pool, secret=args.secret, seed=args.seed, shops=args.shops)
    started = time.perf_counter()
    warmup = [raw_request(next(deliveries)) for _ in range(args.warmup)]
    prefix = directory / "requests"
    size = write_pool(prefix, deliveries, pool, args.threads)
    print(f"requests: {args.warmup:,} warm-up + {pool:,} distinct signed deliveries for the load "
          f"({size / pool / 1e3:,.1f} KB per request on average, {size / 1e6:,.0f} MB) "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    return warmup, prefix, pool


def pool_files(prefix: Path, shards: int) -> list[Path]:
    """Return the pool's files."""
    return [Path(f"{prefix}.{i}") for i in range(shards)]


# -- the servers --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(cmd: list[str], env: dict[str, str], log: Path, ready_path: str,
           accept: tuple[int, ...]) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server subprocess, wait until `ready_path` answers, and stop it at the end."""
    port = int(cmd[cmd.index("--port") + 1])
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            waited = common.wait_http(f"http://{HOST}:{port}{ready_path}", process, log, accept=accept)
            print(f"server pid {process.pid} on port {port} ready after {waited:.1f} s", flush=True)
            yield process
        finally:
            common.stop_process(process)


def opsdesk_command(port: int, config: Path, db: Path, worker: bool = True) -> list[str]:
    """Return the `opsdesk serve` command line."""
    return [str(common.opsdesk_bin()), "serve", "--host", HOST, "--port", str(port), "--config", str(config),
            "--database-url", common.sqlite_url(db), "--worker" if worker else "--no-worker"]


def bare_command(port: int) -> list[str]:
    """Return the bare Starlette reference's command line."""
    if not BARE.is_file():
        raise common.BenchError(f"the P2 reference {BARE} is missing")
    return [sys.executable, str(BARE), "--host", HOST, "--port", str(port)]


def warm_up(port: int, requests: list[bytes]) -> int:
    """Send the warm-up requests one by one on one connection; return how many got a 2xx."""
    connection, ok = http.client.HTTPConnection(HOST, port, timeout=10), 0
    try:
        for raw in requests:
            head, body = raw.split(b"\r\n\r\n", 1)
            headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
            connection.request("POST", PATH, body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            ok += 200 <= answer.status < 300
    finally:
        connection.close()
    return ok


def metric(port: int, name: str) -> float | None:
    """Return one sample's value from the server's /metrics, or None."""
    with contextlib.suppress(OSError, ValueError):
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        connection.close()
        return next((float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)), None)
    return None


# -- the load -----------------------------------------------------------------------------------------------


def wrk_binary(choice: str) -> str | None:
    """Return the wrk executable, None for the asyncio fallback, or raise when wrk was required."""
    found = shutil.which("wrk")
    if found and choice != "asyncio":
        return found
    if choice == "wrk":
        raise common.BenchError("wrk is not installed: apt-get install -y wrk (after apt-get update)")
    if choice == "auto":
        print("NOTE: wrk not found (apt-get install -y wrk); falling back to a Python asyncio client in this "
              "process (raw keep-alive HTTP/1.1 on uvloop: httpx managed only ~85-145 requests/s at 50 "
              "connections here), which competes with the server for the 2 cores and is slower than wrk")
    return None


def run_wrk(wrk: str, port: int, prefix: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Load the server with wrk and return its WRK_RESULT figures."""
    cmd = [wrk, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration:g}s",
           "--timeout", "5s", "-s", str(LUA), f"http://{HOST}:{port}{PATH}", "--", str(prefix)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise common.BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = orjson.loads(line.split(" ", 1)[1])
    return result


async def _read_status(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length framed) and return its status."""
    status = int((await reader.readline()).split(b" ", 2)[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _asyncio_worker(port: int, requests: Iterator[bytes], deadline: float, latencies: list[float],
                          counts: dict[str, int]) -> None:
    """Send requests from the shared iterator on one keep-alive connection until the deadline."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        for raw in requests:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                writer.write(raw)
                status = await asyncio.wait_for(_read_status(reader), timeout=5.0)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError):
                counts["errors"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            latencies.append(time.perf_counter() - started)
            counts["ok" if 200 <= status < 300 else "non2xx"] += 1
    finally:
        writer.close()


async def _asyncio_load(port: int, prefix: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run the fallback load (one keep-alive connection per coroutine) and return figures shaped like wrk's."""
    latencies: list[float] = []
    counts = {"ok": 0, "non2xx": 0, "errors": 0}
    with contextlib.ExitStack() as stack:
        handles = [stack.enter_context(path.open("rb")) for path in pool_files(prefix, args.threads)]
        requests = (raw for handle in handles for raw in read_pool(handle))
        started = time.perf_counter()
        deadline = started + args.duration
        await asyncio.gather(*(_asyncio_worker(port, requests, deadline, latencies, counts)
                               for _ in range(args.connections)))
        seconds = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> int:
        return int(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1e6)

    return {"duration_us": int(seconds * 1e6), "requests": len(latencies), "ok": counts["ok"],
            "non2xx": counts["non2xx"], "sent": len(latencies) + counts["errors"], "wrapped": 0,
            "errors": {"socket_or_timeout": counts["errors"]},
            "latency_us": {"mean": sum(ordered) / len(ordered) * 1e6, "p50": pct(50), "p90": pct(90),
                           "p99": pct(99), "p999": pct(99.9), "max": pct(100)}}


def run_asyncio(port: int, prefix: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run the fallback client on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_asyncio_load(port, prefix, args))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_asyncio_load(port, prefix, args))


def load(wrk: str | None, port: int, prefix: Path, args: argparse.Namespace,
         process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Load a server for --duration; return the figures with the CPU the server and the client used."""
    print(f"load: {args.connections} connections, {args.duration:g} s, "
          f"{'wrk ' + str(args.threads) + ' thread(s)' if wrk else 'the asyncio fallback client'}; "
          f"load average {common.load_average()} before", flush=True)
    server_cpu, client_cpu = common.cpu_seconds(process.pid), _children_cpu()
    own_cpu = time.process_time()
    result = run_wrk(wrk, port, prefix, args) if wrk else run_asyncio(port, prefix, args)
    seconds = result["duration_us"] / 1e6
    result["server_cores"] = (common.cpu_seconds(process.pid) - server_cpu) / seconds
    result["client_cores"] = (_children_cpu() - client_cpu if wrk else time.process_time() - own_cpu) / seconds
    result["per_s"] = result["ok"] / seconds
    return result


def _children_cpu() -> float:
    """Return the CPU seconds used by this process's reaped children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def describe(name: str, result: dict[str, Any]) -> str:
    """Return one line of a server's figures."""
    lat = result["latency_us"]
    errors = ", ".join(f"{k} {v}" for k, v in result["errors"].items() if v) or "none"
    return (f"{name}: {result['per_s']:,.0f} deliveries/s ({result['ok']:,} 2xx in "
            f"{result['duration_us'] / 1e6:.1f} s), latency p50 {lat['p50'] / 1e3:.1f} ms, "
            f"p90 {lat['p90'] / 1e3:.1f} ms, p99 {lat['p99'] / 1e3:.1f} ms, max {lat['max'] / 1e3:.0f} ms; "
            f"non-2xx {result['non2xx']:,}; socket errors/timeouts: {errors}; "
            f"CPU: server {result['server_cores']:.2f} cores, client {result['client_cores']:.2f} cores")


# -- the runs -----------------------------------------------------------------------------------------------


def measure_opsdesk(directory: Path, args: argparse.Namespace, wrk: str | None, warmup: list[bytes],
                    prefix: Path, pool: int) -> dict[str, Any]:
    """Serve opsdesk, warm it up, load it, then check its database against the acknowledgements."""
    config = common.write_config(directory, shops=args.shops, synchronous=args.synchronous)
    db = directory / "opsdesk.sqlite3"
    port = common.free_port()
    print(common.commit_probe(directory))
    print(f"opsdesk serve: {config} (sqlite_synchronous={args.synchronous}), database {db}", flush=True)
    with server(opsdesk_command(port, config, db, not args.no_worker),
                common.opsdesk_env(args.secret), directory / "opsdesk.log",
                "/healthz", (200,)) as process:
        warm_ok = warm_up(port, warmup)
        result = load(wrk, port, prefix, args, process)
        result["metric_stored"] = metric(port, 'opsdesk_intake_deliveries_total{outcome="stored"}')
    result["warmup_ok"] = warm_ok
    result["check"] = check_durable(db, result, pool, args)
    if not args.keep:
        common.remove_sqlite(db)
    return result


def check_durable(db: Path, result: dict[str, Any], pool: int, args: argparse.Namespace) -> dict[str, Any]:
    """Compare the stored deliveries with the acknowledged ones and print the verdict."""
    facts = common.sqlite_facts(db, "deliveries")
    acked = result["warmup_ok"] + result["ok"]
    in_flight = facts["rows"] - acked
    print(f"database after stop: {facts['rows']:,} deliveries stored, journal_mode={facts['journal_mode']}; "
          f"acknowledged (200): {acked:,} ({result['warmup_ok']:,} warm-up + {result['ok']:,} under load); "
          f"/metrics stored counter {result['metric_stored']}")
    ok: bool | None = 0 <= in_flight <= args.connections
    if result["wrapped"]:
        ok = None
        print(f"durability check: SKIPPED: the pool of {pool:,} ran out and webhook ids repeated (duplicates are "
              "acknowledged but stored once); raise --pool-rate")
    else:
        print(f"durability check: {'OK' if ok else 'FAILED'}: stored - acknowledged = {in_flight:,} (must be "
              f"between 0 and {args.connections}, the requests the client abandoned in flight when it stopped)")
    return {"stored": facts["rows"], "acknowledged": acked, "difference": in_flight, "ok": ok}


def measure_bare(directory: Path, args: argparse.Namespace, wrk: str | None, prefix: Path) -> dict[str, Any]:
    """Serve the bare Starlette route and load it the same way."""
    port = common.free_port()
    print("bare Starlette reference (uvicorn, uvloop, httptools, reads the body, answers 200)", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with server(bare_command(port), env, directory / "bare.log", PATH, (405,)) as process:
        return load(wrk, port, prefix, args, process)


def report(args: argparse.Namespace, ops: dict[str, Any], bare: dict[str, Any] | None) -> None:
    """Print both servers' figures, the ratio and the verdicts (and the JSON line when asked)."""
    print(describe("opsdesk", ops))
    if bare:
        print(describe("bare   ", bare))
    rel = common.ratio(ops["per_s"], bare["per_s"]) if bare else 0.0
    p99 = ops["latency_us"]["p99"] / 1e3
    print(f"P2  opsdesk {ops['per_s']:,.0f} deliveries/s, p99 {p99:.1f} ms | bare Starlette "
          f"{bare['per_s'] if bare else 0:,.0f}/s | ratio {rel:.2f}x | sqlite_synchronous={args.synchronous} "
          f"(target >= {TARGET_RATE:,}/s, p99 <= {TARGET_P99_MS:.0f} ms, >= {TARGET_RATIO}x)")
    met = {"rate": ops["per_s"] >= TARGET_RATE, "p99": p99 <= TARGET_P99_MS, "ratio": rel >= TARGET_RATIO}
    print(f"    rate: {common.verdict(met['rate'])} ({ops['per_s'] / TARGET_RATE:.1%} of target); "
          f"p99: {common.verdict(met['p99'])}; ratio: {common.verdict(met['ratio']) if bare else 'not measured'}; "
          f"durability: {DURABLE[ops['check']['ok']]}; load average {common.load_average()}")
    if args.json:
        common.emit_json("P2_RESULT", {
            "duration_s": args.duration, "connections": args.connections, "synchronous": args.synchronous,
            "opsdesk": ops, "bare": bare, "ratio": rel, "targets_met": met,
            "load_average": common.load_average()})


def run(args: argparse.Namespace) -> None:
    """Build the requests, measure opsdesk and the bare endpoint, report, clean up."""
    common.heading(f"P2 HTTP intake: {args.connections} connections, {args.duration:g} s, opsdesk serve vs "
                   "bare Starlette")
    wrk = wrk_binary(args.client)
    if not LUA.is_file():
        raise common.BenchError(f"the wrk script {LUA} is missing")
    directory = common.work_dir("p2")
    warmup, prefix, pool = build_requests(directory, args)
    with common.deleting(*pool_files(prefix, args.threads), keep=args.keep):
        ops = measure_opsdesk(directory, args, wrk, warmup, prefix, pool)
        bare = None if args.skip_bare else measure_bare(directory, args, wrk, prefix)
    report(args, ops, bare)


def main(argv: list[str] | None = None) -> int:
    """Run P2 from the command line."""
    return common.entry(run, parse_args, argv)


if __name__ == "__main__":
    sys.exit(main())
