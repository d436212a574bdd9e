"""AVI plugin: LIST INFO sub-chunk ``AIGC``; ``movi`` and its index never broken; interop; errors."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest

from synthguard.errors import CorruptFile, MetadataTooLarge
from synthguard.labels import implicit
from synthguard.labels.implicit import avi
from synthguard.labels.model import AIGCLabel, Verdict
from tests.labels.implicit.audio_support import (
    RiffChunk,
    assert_same_decoding,
    ffprobe_tags,
    label_copy,
    riff_chunks,
    riff_size_is_right,
)
from tests.labels.implicit.image_support import CountingReader
from tests.media import audio

AVI_SAMPLES = {name: make for name, make in audio.SAMPLES.items() if name.endswith(".avi")}


def _chunk(cid: bytes, payload: bytes) -> bytes:
    return cid + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def _avi(chunks: list[bytes]) -> bytes:
    body = b"AVI " + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _top(data: bytes) -> list[RiffChunk]:
    return riff_chunks(data, 12, 8 + struct.unpack_from("<I", data, 4)[0])


def _movi(data: bytes) -> RiffChunk:
    return next(c for c in _top(data) if c.form == b"movi")


def _info_labels(data: bytes) -> list[bytes]:
    found = []
    for chunk in _top(data):
        if chunk.form == b"INFO":
            found += [c.payload for c in riff_chunks(chunk.payload, 4) if c.id == b"AIGC"]
    return found


def _idx1_points_at_frames(data: bytes, *, absolute: bool) -> bool:
    """Every idx1 entry names the chunk id found at the offset it gives."""
    idx1 = next(c for c in _top(data) if c.id == b"idx1").payload
    base = 0 if absolute else _movi(data).offset + 8
    for at in range(0, len(idx1), 16):
        ckid, _flags, offset, _size = struct.unpack_from("<4sIII", idx1, at)
        if data[base + offset : base + offset + 4] != ckid:
            return False
    return True


def _without_junk(data: bytes) -> bytes:
    """ffmpeg's file minus the JUNK before movi: no room left (idx1 stays valid, it is movi-relative)."""
    return _avi([_chunk(c.id, c.payload) for c in _top(data) if c.id != b"JUNK"])


def _absolute_idx1(data: bytes) -> bytes:
    """The same file with idx1 offsets counted from the file start (what some old writers do)."""
    movi = _movi(data)
    out = []
    for chunk in _top(data):
        payload = chunk.payload
        if chunk.id == b"idx1":
            entries = bytearray(payload)
            for at in range(0, len(entries), 16):
                offset = struct.unpack_from("<I", entries, at + 8)[0]
                struct.pack_into("<I", entries, at + 8, offset + movi.offset + 8)
            payload = bytes(entries)
        out.append(_chunk(chunk.id, payload))
    return _avi(out)


def _big_label(label: AIGCLabel) -> AIGCLabel:
    return label.replace(ReservedCode1="S" * 4000)  # far more than the 1016 bytes of ffmpeg's JUNK


@pytest.mark.parametrize("name", sorted(AVI_SAMPLES))
def test_label_goes_into_list_info_before_movi_without_moving_the_frames(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    src = AVI_SAMPLES[name](tmp_path)
    out = label_copy(src, label, tmp_path)
    old, new = src.read_bytes(), out.read_bytes()
    assert _info_labels(new) == [label.to_json().encode()]
    ids = [(c.id, c.form) for c in _top(new)]
    assert ids.index((b"LIST", b"INFO")) < ids.index((b"LIST", b"movi"))
    # ffmpeg's JUNK absorbed the label: every byte from movi on is where it was.
    assert len(new) == len(old)
    assert _movi(new).offset == _movi(old).offset
    assert new[_movi(old).offset :] == old[_movi(old).offset :]
    assert riff_size_is_right(new)
    assert_same_decoding(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)


def test_ffprobe_and_exiftool_read_the_label_and_keep_the_title(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    out = label_copy(audio.avi_mpeg4(tmp_path), label, tmp_path)
    tags = ffprobe_tags(out)
    assert tags["AIGC"] == label.to_json()
    assert tags["title"] == "Test pattern"
    # exiftool 12.57 has no table entry for INFO/AIGC: -u lists it as "Unknown_AIGC", -b prints it.
    result = subprocess.run(
        [*exiftool, "-j", "-u", "-b", str(out)], capture_output=True, text=True, check=True
    )
    (info,) = json.loads(result.stdout)
    assert info["Unknown_AIGC"].rstrip("\x00") == label.to_json()
    assert info["Title"] == "Test pattern"


def test_label_larger_than_the_junk_grows_the_head_and_keeps_idx1_valid(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = audio.avi_mpeg4(tmp_path)
    big = _big_label(label)
    out = label_copy(src, big, tmp_path)
    data = out.read_bytes()
    assert _movi(data).offset > _movi(src.read_bytes()).offset  # path 2: movi moved
    assert _idx1_points_at_frames(data, absolute=False)
    assert implicit.read_label(out).label == big
    assert ffprobe_tags(out)["AIGC"] == big.to_json()
    assert_same_decoding(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)


def test_absolute_idx1_without_room_gets_the_info_list_after_the_index(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = tmp_path / "absolute.avi"
    src.write_bytes(_absolute_idx1(_without_junk(audio.avi_mpeg4(tmp_path).read_bytes())))
    assert _idx1_points_at_frames(src.read_bytes(), absolute=True)
    out = label_copy(src, label, tmp_path)
    data = out.read_bytes()
    assert _movi(data).offset == _movi(src.read_bytes()).offset  # path 3: nothing indexed moved
    assert _idx1_points_at_frames(data, absolute=True)
    assert [(c.id, c.form) for c in _top(data)][-1] == (b"LIST", b"INFO")
    assert implicit.read_label(out).label == label
    assert ffprobe_tags(out)["AIGC"] == label.to_json()
    assert ffprobe_tags(out)["title"] == "Test pattern"
    assert_same_decoding(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)


def test_multi_part_opendml_without_room_is_refused_and_left_unchanged(
    tmp_path: Path, label: AIGCLabel
) -> None:
    first = _without_junk(audio.avi_mpeg4(tmp_path).read_bytes())
    avix = _chunk(b"RIFF", b"AVIX" + _chunk(b"LIST", b"movi" + _chunk(b"00dc", b"\x00" * 10)))
    path = tmp_path / "opendml.avi"
    path.write_bytes(first + avix)
    assert implicit.read_label(path).verdict is Verdict.ABSENT
    with pytest.raises(MetadataTooLarge, match="OpenDML"):
        implicit.write_label(path, label)
    assert path.read_bytes() == first + avix


def test_labels_outside_the_head_are_neutralised_in_place_leaving_one(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = audio.avi_mpeg4(tmp_path)
    old = src.read_bytes()
    late_info = _chunk(b"LIST", b"INFO" + _chunk(b"AIGC", audio.THIRD_PARTY.to_json().encode()))
    stray = _chunk(b"AIGC", audio.THIRD_PARTY.to_wrapped_json().encode())
    early = _chunk(b"AIGC", audio.THIRD_PARTY.to_json().encode())
    messy = tmp_path / "messy.avi"
    messy.write_bytes(_avi([early] + [_chunk(c.id, c.payload) for c in _top(old)] + [late_info, stray]))
    movi_before = _movi(messy.read_bytes()).offset
    assert len(implicit.read_label(messy).carriers) == 3
    implicit.write_label(messy, label)
    data = messy.read_bytes()
    finding = implicit.read_label(messy)
    assert finding.verdict is Verdict.COMPLIANT
    assert finding.carriers == ("RIFF LIST/INFO AIGC",)
    assert len(data) == len(old) + len(early) + len(late_info) + len(stray)
    assert _movi(data).offset == movi_before
    assert_same_decoding(src, messy)


def test_opendml_super_index_is_detected(tmp_path: Path) -> None:
    src = audio.avi_mpeg4(tmp_path)
    with open(src, "rb") as f:
        top = list(avi._open(f).top)
        assert not avi._has_opendml_index(f, top)
    data = bytearray(src.read_bytes())
    # ffmpeg reserves the indx space as a JUNK chunk inside strl; naming it indx makes an OpenDML head.
    strl_junk = data.index(b"JUNK", data.index(b"strl"))
    data[strl_junk : strl_junk + 4] = b"indx"
    marked = tmp_path / "indx.avi"
    marked.write_bytes(bytes(data))
    with open(marked, "rb") as f:
        assert avi._has_opendml_index(f, list(avi._open(f).top))


@pytest.mark.parametrize(
    ("what", "damage"),
    [
        ("movi cut short", lambda d: d[: len(d) - 3000]),
        ("riff size past the end", lambda d: d[:4] + struct.pack("<I", len(d) + 100) + d[8:]),
        ("hdrl size past the end", lambda d: d[:16] + struct.pack("<I", 0x7FFFFFF0) + d[20:]),
    ],
)
def test_broken_files_raise_corrupt_file_and_stay_unchanged(
    what: str, damage: object, tmp_path: Path, label: AIGCLabel
) -> None:
    broken = damage(audio.avi_mpeg4(tmp_path).read_bytes())  # type: ignore[operator]
    path = tmp_path / "broken.avi"
    path.write_bytes(broken)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == broken, what


def test_a_file_without_movi_is_corrupt(tmp_path: Path, label: AIGCLabel) -> None:
    data = audio.avi_mpeg4(tmp_path).read_bytes()
    path = tmp_path / "no_movi.avi"
    path.write_bytes(_avi([_chunk(c.id, c.payload) for c in _top(data) if c.form != b"movi"]))
    with pytest.raises(CorruptFile, match="movi"):
        implicit.write_label(path, label)
    with pytest.raises(CorruptFile, match="movi"):
        implicit.content_digest(path)


def test_reading_seeks_over_the_frames(tmp_path: Path, label: AIGCLabel) -> None:
    path = audio.encode_avi(tmp_path / "long.avi", "mjpeg", frames=120)
    implicit.write_label(path, label, fsync=False)
    reader = CountingReader(path)
    try:
        raws = avi.PLUGIN.read(reader)  # type: ignore[arg-type]
    finally:
        reader.close()
    assert [raw.text for raw in raws] == [label.to_json()]
    assert path.stat().st_size > 90_000
    assert reader.bytes_read < 1024
