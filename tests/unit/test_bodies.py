"""Raw bodies packed with the shipped dictionary (ADR 0031): exact, smaller, and readable forever."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import orjson
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from opsdesk.storage import bodies
from tests.samples import REAL, sample

ROOT = Path(__file__).resolve().parents[2]


@given(st.binary(max_size=20_000))
def test_any_bytes_come_back_exactly(body: bytes) -> None:
    assert bodies.unpack(bodies.pack(body)) == body


@given(st.binary(max_size=200))
def test_a_body_that_starts_like_a_frame_comes_back_exactly(tail: bytes) -> None:
    body = bodies.MAGIC + tail
    assert bodies.unpack(bodies.pack(body)) == body


def test_a_body_stored_before_bodies_were_packed_is_read_as_it_is() -> None:
    raw = orjson.dumps(sample("orders/create"))
    assert bodies.unpack(raw) == raw
    assert bodies.unpack(b"") == b""


def test_a_real_order_is_stored_in_a_fraction_of_its_size() -> None:
    raw = orjson.dumps(sample("orders/create"))
    packed = bodies.pack(raw)
    assert packed[:4] == bodies.MAGIC
    assert zstandard.get_frame_parameters(packed).dict_id == bodies.newest()
    assert len(packed) < len(raw) / 4, (len(packed), len(raw))


def test_a_body_packed_with_a_dictionary_this_version_lacks_says_so() -> None:
    other = zstandard.train_dictionary(4096, [orjson.dumps({"n": n, "name": f"order {n}"}) * 8 for n in range(400)])
    foreign = zstandard.ZstdCompressor(dict_data=other).compress(b'{"id": 1}')
    with pytest.raises(bodies.UnknownDictionary, match=str(other.dict_id())):
        bodies.unpack(foreign)


def test_a_frame_without_a_dictionary_is_read() -> None:
    assert bodies.unpack(zstandard.ZstdCompressor().compress(b'{"id": 1}')) == b'{"id": 1}'


def test_a_corrupted_body_is_an_error_not_other_bytes() -> None:
    packed = bytearray(bodies.pack(orjson.dumps(sample("orders/create"))))
    packed[len(packed) // 2] ^= 0xFF
    with pytest.raises(zstandard.ZstdError):
        bodies.unpack(bytes(packed))


def test_the_shipped_dictionary_is_the_one_trained_on_shopifys_own_payloads() -> None:
    """Provenance: the committed dictionary comes from the published fixtures, by the committed script."""
    script = _script()
    samples = list(script.payloads(REAL / "shopify"))
    trained = zstandard.train_dictionary(32 * 1024, samples, level=3, threads=1)
    assert trained.dict_id() in bodies.dictionaries()
    shipped = (ROOT / "src/opsdesk/storage/data/shopify-bodies-1.zdict").read_bytes()
    assert trained.as_bytes() == shipped


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_body_dictionary", ROOT / "scripts/train_body_dictionary.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
