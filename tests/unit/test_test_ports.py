"""The suite's own port picker (tests/ports.py): each xdist worker draws from a range no other worker and no
outgoing connection can be given."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ports(worker: str, count: int) -> list[int]:
    code = f"from tests.ports import free_port; print(*[free_port() for _ in range({count})])"
    env = {**os.environ, "PYTEST_XDIST_WORKER": worker, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return [int(p) for p in out.stdout.split()]


def test_two_workers_never_share_a_port_and_stay_below_the_ephemeral_range() -> None:
    first, second = _ports("gw0", 200), _ports("gw1", 200)
    assert not set(first) & set(second)
    low, _ = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert max(first + second) < low


def test_a_port_in_use_is_passed_over() -> None:
    from tests.ports import free_port

    taken = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        picked = [free_port() for _ in range(1_500)]  # one full turn of the worker's range
    assert taken not in picked
