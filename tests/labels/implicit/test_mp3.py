"""MP3 plugin: ID3v2 TXXX:AIGC (v2.4 UTF-8 / v2.3 Latin-1), other frames kept byte-for-byte, interop."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from mutagen.id3 import ID3, PRIV, TIT2, TXXX

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels import implicit
from synthguard.labels.implicit import mp3
from synthguard.labels.model import AIGCLabel, Verdict
from tests.labels.implicit.audio_support import assert_same_decoding, ffprobe_tags, label_copy
from tests.labels.implicit.image_support import CountingReader
from tests.media import audio

MP3_SAMPLES = {name: make for name, make in audio.SAMPLES.items() if name.endswith(".mp3")}


def _syncsafe(value: int) -> bytes:
    return bytes((value >> 21 & 0x7F, value >> 14 & 0x7F, value >> 7 & 0x7F, value & 0x7F))


def _frame(version: int, fid: bytes, data: bytes, flags: int = 0, *, plain_size: bool = False) -> bytes:
    size = _syncsafe(len(data)) if version == 4 and not plain_size else struct.pack(">I", len(data))
    return fid + size + struct.pack(">H", flags) + data


def _tag(version: int, body: bytes, flags: int = 0, padding: int = 0, *, footer: bool = False) -> bytes:
    body += b"\x00" * padding
    header = bytes((version, 0, flags)) + _syncsafe(len(body))
    return b"ID3" + header + body + (b"3DI" + header if footer else b"")


def _txxx(value: str, encoding: int = 3, desc: str = "AIGC") -> bytes:
    codec = {0: "latin-1", 3: "utf-8"}[encoding]
    return bytes((encoding,)) + desc.encode(codec) + b"\x00" + value.encode(codec)


def _audio(tmp_path: Path) -> bytes:
    return audio.mp3_untagged(tmp_path).read_bytes()


def _write(tmp_path: Path, data: bytes, name: str = "crafted.mp3") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _mutagen_label(path: Path) -> tuple[str, int, int]:
    tags = ID3(path)
    (frame,) = tags.getall("TXXX:AIGC")
    return str(frame.text[0]), int(frame.encoding), tags.version[1]


@pytest.mark.parametrize("name", sorted(MP3_SAMPLES))
def test_mutagen_and_ffprobe_read_our_label_and_the_audio_is_unchanged(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    src = MP3_SAMPLES[name](tmp_path)
    out = label_copy(src, label, tmp_path)
    text, _encoding, _version = _mutagen_label(out)
    assert text == label.to_json()
    assert ffprobe_tags(out)["AIGC"] == label.to_json()
    assert_same_decoding(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)


@pytest.mark.parametrize(
    ("name", "version", "encoding"), [("id3v23_cover.mp3", 3, 0), ("id3v24_cover.mp3", 4, 3)]
)
def test_the_tag_keeps_its_version_and_every_other_frame(
    name: str, version: int, encoding: int, tmp_path: Path, label: AIGCLabel
) -> None:
    src = MP3_SAMPLES[name](tmp_path)
    out = label_copy(src, label, tmp_path)
    assert _mutagen_label(out)[1:] == (encoding, version)  # v2.3 Latin-1, v2.4 UTF-8
    old, new = src.read_bytes(), out.read_bytes()
    # mutagen left padding: the new frame fits, so the tag keeps its size and the audio its offset.
    assert len(new) == len(old)
    tag_size = 10 + _syncsafe_decode(old[6:10])
    assert new[tag_size:] == old[tag_size:]  # audio and the ID3v1 trailer
    before, after = ID3(src), ID3(out)
    assert before.getall("APIC")[0].data == after.getall("APIC")[0].data
    for key in ("TIT2", "TPE1", "COMM::eng"):
        assert str(before[key]) == str(after[key])
    # Byte-for-byte: every old frame's bytes appear unchanged in the new tag.
    for frame_bytes in _frames(old[:tag_size], version):
        assert frame_bytes in new[:tag_size]


def _syncsafe_decode(data: bytes) -> int:
    return data[0] << 21 | data[1] << 14 | data[2] << 7 | data[3]


def _frames(tag: bytes, version: int) -> list[bytes]:
    out: list[bytes] = []
    pos = 10
    while pos + 10 <= len(tag) and tag[pos] != 0:
        size_bytes = tag[pos + 4 : pos + 8]
        size = _syncsafe_decode(size_bytes) if version == 4 else struct.unpack(">I", size_bytes)[0]
        out.append(tag[pos : pos + 10 + size])
        pos += 10 + size
    return out


def test_a_file_without_a_tag_gets_an_id3v24_tag_in_front(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.mp3_untagged(tmp_path)
    out = label_copy(src, label, tmp_path)
    data = out.read_bytes()
    assert data[:5] == b"ID3\x04\x00"
    assert data.endswith(src.read_bytes())


@pytest.mark.parametrize(("version", "encoding"), [(3, 0), (3, 1), (4, 1), (4, 2), (4, 3)])
def test_we_read_labels_mutagen_writes_in_every_text_encoding(
    version: int, encoding: int, tmp_path: Path, label: AIGCLabel
) -> None:
    path = audio.mp3_untagged(tmp_path)
    tags = ID3()
    tags.add(TXXX(encoding=encoding, desc="AIGC", text=audio.THIRD_PARTY.to_json()))
    tags.save(path, v2_version=version)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT, finding.problems
    assert finding.label == audio.THIRD_PARTY
    implicit.write_label(path, label)
    assert implicit.read_label(path).label == label
    assert len(ID3(path).getall("TXXX")) == 1


def test_v23_unsynchronised_tag_is_re_encoded_and_read_by_mutagen(tmp_path: Path, label: AIGCLabel) -> None:
    # PRIV data with false syncs: a v2.3 writer must unsynchronise the whole tag body.
    secret = b"\xff\xe0\x01\xff\x00\xff"
    body = _frame(3, b"TIT2", b"\x00Unsync") + _frame(3, b"PRIV", b"owner\x00" + secret)
    unsynced = body.replace(b"\xff", b"\xff\x00")
    path = _write(tmp_path, _tag(3, unsynced, flags=0x80, padding=64) + _audio(tmp_path))
    assert str(ID3(path)["TIT2"]) == "Unsync"
    implicit.write_label(path, label)
    data = path.read_bytes()
    assert data[5] & 0x80  # still flagged unsynchronised
    tags = ID3(path)
    assert tags.getall("PRIV")[0].data == secret
    assert str(tags.getall("TXXX:AIGC")[0]) == label.to_json()
    assert implicit.read_label(path).label == label


def test_v23_extended_header_with_crc_is_dropped_not_left_stale(tmp_path: Path, label: AIGCLabel) -> None:
    frames = _frame(3, b"TIT2", b"\x00Extended")
    extended = struct.pack(">IHI", 10, 0x8000, 32) + struct.pack(">I", zlib.crc32(frames))
    path = _write(tmp_path, _tag(3, extended + frames, flags=0x40, padding=32) + _audio(tmp_path))
    implicit.write_label(path, label)
    data = path.read_bytes()
    assert not data[5] & 0x40
    tags = ID3(path)
    assert str(tags["TIT2"]) == "Extended"
    assert str(tags.getall("TXXX:AIGC")[0]) == label.to_json()


def test_v24_footer_tag_keeps_its_footer_and_has_no_padding(tmp_path: Path, label: AIGCLabel) -> None:
    sound = _audio(tmp_path)
    path = _write(tmp_path, _tag(4, _frame(4, b"TIT2", b"\x03Footer"), flags=0x10, footer=True) + sound)
    implicit.write_label(path, label)
    data = path.read_bytes()
    size = _syncsafe_decode(data[6:10])
    assert data[10 + size : 13 + size] == b"3DI"
    assert data[13 + size : 20 + size] == data[3:10]
    assert data[20 + size :] == sound
    assert str(ID3(path).getall("TXXX:AIGC")[0]) == label.to_json()


def test_v24_tag_with_plain_frame_sizes_is_parsed_like_mutagen(tmp_path: Path, label: AIGCLabel) -> None:
    # Old iTunes wrote v2.4 frame sizes as plain integers; 0x100 reads as 128 if taken as syncsafe.
    comment = b"\x03" + b"x" * 255
    body = _frame(4, b"TIT3", comment, plain_size=True)
    body += _frame(4, b"TXXX", _txxx(audio.THIRD_PARTY.to_json()), plain_size=True)
    path = _write(tmp_path, _tag(4, body, padding=16) + _audio(tmp_path))
    assert implicit.read_label(path).label == audio.THIRD_PARTY
    implicit.write_label(path, label)
    data = path.read_bytes()
    assert _frame(4, b"TIT3", comment, plain_size=True) in data
    assert implicit.read_label(path).carriers == ("ID3v2.4 TXXX:AIGC",)
    assert str(ID3(path).getall("TXXX:AIGC")[0]) == label.to_json()


def test_compressed_frame_with_data_length_indicator_is_read(tmp_path: Path) -> None:
    payload = _txxx(audio.THIRD_PARTY.to_json())
    data = _syncsafe(len(payload)) + zlib.compress(payload)
    path = _write(tmp_path, _tag(4, _frame(4, b"TXXX", data, flags=0x0009), padding=8) + _audio(tmp_path))
    assert implicit.read_label(path).label == audio.THIRD_PARTY


def test_labels_in_stacked_and_appended_tags_are_removed_leaving_one(
    tmp_path: Path, label: AIGCLabel
) -> None:
    sound = _audio(tmp_path)
    first = _tag(3, _frame(3, b"TIT2", b"\x00First"), padding=16)
    second = _tag(4, _frame(4, b"TXXX", _txxx(audio.THIRD_PARTY.to_json())), padding=16)
    appended = _tag(
        4, _frame(4, b"TXXX", _txxx(audio.THIRD_PARTY.to_wrapped_json())), flags=0x10, footer=True
    )
    id3v1 = b"TAG" + b"Old title".ljust(30, b"\x00") + b"\x00" * 95
    path = _write(tmp_path, first + second + sound + appended + id3v1)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.NON_COMPLIANT
    assert len(finding.carriers) == 2
    before = implicit.content_digest(path)
    implicit.write_label(path, label)
    after = implicit.read_label(path)
    assert after.verdict is Verdict.COMPLIANT
    assert after.carriers == ("ID3v2.3 TXXX:AIGC",)
    data = path.read_bytes()
    assert data.endswith(id3v1)
    assert sound in data
    assert implicit.content_digest(path) == before


def test_id3v22_labels_are_read_but_writing_asks_for_a_conversion(tmp_path: Path, label: AIGCLabel) -> None:
    value = audio.THIRD_PARTY.to_json().encode()
    txx = b"TXX" + len(b"\x00AIGC\x00" + value).to_bytes(3, "big") + b"\x00AIGC\x00" + value
    data = b"ID3\x02\x00\x00" + _syncsafe(len(txx) + 20) + txx + b"\x00" * 20 + _audio(tmp_path)
    path = _write(tmp_path, data)
    assert implicit.read_label(path).carriers == ("ID3v2.2 TXX:AIGC",)
    with pytest.raises(UnsupportedFormat, match=r"2\.2"):
        implicit.write_label(path, label)
    assert path.read_bytes() == data


def test_changing_one_audio_byte_changes_the_digest(tmp_path: Path) -> None:
    src = audio.mp3_id3v24_cover(tmp_path)
    data = bytearray(src.read_bytes())
    data[-500] ^= 0x10
    changed = _write(tmp_path, bytes(data), "changed.mp3")
    assert implicit.content_digest(changed) != implicit.content_digest(src)


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("tag size past the end", lambda a: _tag(3, _frame(3, b"TIT2", b"\x00x"))[:6] + _syncsafe(10**6) + a),
        ("size not syncsafe", lambda a: b"ID3\x03\x00\x00\x00\x00\x80\x10" + a),
        ("frame overruns the tag", lambda a: _tag(3, b"TIT2" + struct.pack(">IH", 500, 0) + b"\x00x") + a),
    ],
)
def test_broken_tags_raise_corrupt_file_and_stay_unchanged(
    what: str, make: object, tmp_path: Path, label: AIGCLabel
) -> None:
    data = make(_audio(tmp_path))  # type: ignore[operator]
    path = _write(tmp_path, data)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == data, what


def test_reading_stops_at_the_end_of_the_tag(tmp_path: Path, label: AIGCLabel) -> None:
    path = audio.encode_mp3(tmp_path / "long.mp3", ffmpeg_tag=False)
    path.write_bytes(path.read_bytes() * 40)  # ~140 KB of frames
    tags = ID3()
    tags.add(TIT2(encoding=3, text="long"))
    tags.add(PRIV(owner="x", data=b"\x00" * 2000))
    tags.save(path)
    implicit.write_label(path, label, fsync=False)
    reader = CountingReader(path)
    try:
        raws = mp3.PLUGIN.read(reader)  # type: ignore[arg-type]
    finally:
        reader.close()
    assert [raw.text for raw in raws] == [label.to_json()]
    assert reader.bytes_read < 5000
