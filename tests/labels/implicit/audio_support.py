"""Shared checks for the audio/AVI plugin tests: third-party readers, decoded samples, raw structure.

The structure walkers here are deliberately independent of the code under test (plain loops over
bytes, a bit-by-bit Ogg CRC), so a test compares our writer against a second reading of the spec.
"""

from __future__ import annotations

import json
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from synthguard.labels import implicit
from synthguard.labels.model import AIGCLabel


def label_copy(src: Path, label: AIGCLabel, folder: Path, name: str | None = None) -> Path:
    out = folder / (name or f"labelled_{src.name}")
    implicit.write_label(src, label, out, fsync=False)
    return out


def ffprobe_tags(path: Path) -> dict[str, str]:
    """Format and stream tags as ffprobe reports them (stream tags win on a clash)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    tags: dict[str, str] = dict(data.get("format", {}).get("tags", {}))
    for stream in data.get("streams", []):
        tags.update(stream.get("tags", {}))
    return tags


def ffmpeg_decodes_cleanly(path: Path) -> bool:
    """ffmpeg decodes the whole file with CRC checks on and reports no error."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-err_detect", "crccheck+bitstream", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and not result.stderr.strip()


def decoded(path: Path) -> list[np.ndarray]:
    """Every decoded audio or video frame (PyAV/ffmpeg) as an array."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        frames = container.decode(stream)
        return [frame.to_ndarray() for frame in frames if isinstance(frame, av.AudioFrame | av.VideoFrame)]


def assert_same_decoding(before: Path, after: Path) -> None:
    old, new = decoded(before), decoded(after)
    assert len(old) == len(new) > 0
    for a, b in zip(old, new, strict=True):
        assert a.shape == b.shape
        assert np.array_equal(a, b)


# --- RIFF -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiffChunk:
    id: bytes
    offset: int
    payload: bytes
    form: bytes = b""


def riff_chunks(data: bytes, start: int = 12, end: int | None = None) -> list[RiffChunk]:
    end = len(data) if end is None else end
    out: list[RiffChunk] = []
    pos = start
    while pos + 8 <= end:
        cid, size = struct.unpack_from("<4sI", data, pos)
        payload = data[pos + 8 : pos + 8 + size]
        form = payload[:4] if cid in (b"RIFF", b"LIST") else b""
        out.append(RiffChunk(cid, pos, payload, form))
        pos += 8 + size + (size & 1)
    return out


def riff_size_is_right(data: bytes) -> bool:
    return int.from_bytes(data[4:8], "little") == len(data) - 8


# --- Ogg --------------------------------------------------------------------------------------------


def _crc_table() -> list[int]:
    table = []
    for index in range(256):
        crc = index << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def reference_ogg_crc(data: bytes) -> int:
    """Textbook table CRC-32: polynomial 0x04C11DB7, MSB first, no reflection, init and xorout 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[(crc >> 24) ^ byte]
    return crc


def ogg_page_bytes(flags: int, granule: int, serial: int, seqno: int, lacing: bytes, body: bytes) -> bytes:
    """A page built the textbook way (for crafting test files)."""
    head = b"OggS" + struct.pack("<BBQIIIB", 0, flags, granule, serial, seqno, 0, len(lacing))
    page = bytearray(head + lacing + body)
    struct.pack_into("<I", page, 22, reference_ogg_crc(bytes(page)))
    return bytes(page)


@dataclass(frozen=True)
class OggPage:
    offset: int
    flags: int
    granule: int
    serial: int
    seqno: int
    crc: int
    lacing: bytes
    body: bytes
    crc_ok: bool


def ogg_pages(data: bytes, check_crc: bool = True) -> list[OggPage]:
    pages: list[OggPage] = []
    pos = 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS", f"no capture pattern at {pos}"
        flags, granule, serial, seqno, crc, count = struct.unpack_from("<BQIIIB", data, pos + 5)
        lacing = data[pos + 27 : pos + 27 + count]
        body_start = pos + 27 + count
        body = data[body_start : body_start + sum(lacing)]
        raw = bytearray(data[pos : body_start + len(body)])
        raw[22:26] = b"\x00\x00\x00\x00"
        ok = reference_ogg_crc(bytes(raw)) == crc if check_crc else True
        pages.append(OggPage(pos, flags, granule, serial, seqno, crc, lacing, body, ok))
        pos = body_start + len(body)
    return pages


def ogg_packets(pages: list[OggPage], serial: int) -> list[bytes]:
    packets: list[bytes] = []
    partial = b""
    for page in pages:
        if page.serial != serial:
            continue
        at = 0
        for lace in page.lacing:
            partial += page.body[at : at + lace]
            at += lace
            if lace < 255:
                packets.append(partial)
                partial = b""
    return packets
