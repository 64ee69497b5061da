"""Raw webhook bodies as stored: zstd frames packed with a dictionary of Shopify's own payloads (ADR 0031).

A body is stored exactly, only smaller: ``unpack(pack(body)) == body`` for any bytes. A Shopify order is
~7 KB of JSON whose keys and most values every order repeats; with a dictionary trained on Shopify's
published payloads (``scripts/train_body_dictionary.py``) a body is stored in about an eighth of its size
for ~4 µs, and read back in ~2 µs. Raw bodies were two thirds of a day's database, and writing them a
quarter of the desk's thread.

The frame carries its dictionary's id and a checksum of the body. Dictionaries live in ``data/`` and are
never changed once released: every one is kept for reading, the newest packs. A row stored before bodies
were packed is read as it is: intake stores only valid JSON, which never starts with the frame's magic number.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources

import zstandard

from opsdesk.domain.errors import SchemaAhead

#: The first four bytes of every zstd frame (a JSON body starts with ``{``, ``[`` or a space).
MAGIC = b"\x28\xb5\x2f\xfd"
LEVEL = 3

_local = threading.local()  # zstandard's (de)compressors are not to be shared between threads


@cache
def dictionaries() -> dict[int, zstandard.ZstdCompressionDict]:
    """Every released dictionary, by its id."""
    return {trained.dict_id(): trained for _, trained in _released()}


@cache
def _released() -> list[tuple[int, zstandard.ZstdCompressionDict]]:
    """The dictionaries in ``data/``, in the order they were released."""
    found = [
        (int(entry.name.removesuffix(".zdict").rpartition("-")[2]), zstandard.ZstdCompressionDict(entry.read_bytes()))
        for entry in resources.files("opsdesk.storage").joinpath("data").iterdir()
        if entry.name.startswith("shopify-bodies-") and entry.name.endswith(".zdict")
    ]
    if not found:
        raise RuntimeError("no body dictionary in opsdesk/storage/data: the package is incomplete")
    return sorted(found, key=lambda pair: pair[0])


@cache
def newest() -> int:
    """The id of the dictionary new bodies are packed with: the one released last (``shopify-bodies-<n>``)."""
    return _released()[-1][1].dict_id()


def pack(body: bytes) -> bytes:
    """The body as it is stored."""
    packer: zstandard.ZstdCompressor | None = getattr(_local, "packer", None)
    if packer is None:
        packer = _local.packer = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=dictionaries()[newest()], write_checksum=True
        )
    return packer.compress(body)


def unpack(stored: bytes) -> bytes:
    """The body as it was received, from what ``pack`` stored (or a body stored before bodies were packed)."""
    if stored[:4] != MAGIC:
        return stored
    dict_id = zstandard.get_frame_parameters(stored).dict_id
    unpackers: dict[int, zstandard.ZstdDecompressor] | None = getattr(_local, "unpackers", None)
    if unpackers is None:
        unpackers = _local.unpackers = {}
    unpacker = unpackers.get(dict_id)
    if unpacker is None:
        known = dictionaries().get(dict_id) if dict_id else None
        if dict_id and known is None:
            raise UnknownDictionary(f"a stored body was packed with dictionary {dict_id}, which this opsdesk lacks")
        unpacker = unpackers[dict_id] = zstandard.ZstdDecompressor(dict_data=known)
    return unpacker.decompress(stored)


def unpack_text(stored: bytes | None) -> str | None:
    """The body as text, for SQL functions and searches (undecodable bytes replaced, as ``bytes.decode`` does)."""
    return None if stored is None else unpack(bytes(stored)).decode("utf-8", errors="replace")


class UnknownDictionary(SchemaAhead, LookupError):
    """A stored body names a dictionary this version of opsdesk does not ship (a newer one wrote it, or the
    database is another program's): as a schema ahead of this opsdesk, the database named is not one it reads."""
