"""WAV plugin: a top-level RIFF chunk ``AIGC`` before ``data``; other chunks kept; interop; errors."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.wave import WAVE

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels import implicit
from synthguard.labels.implicit import wav
from synthguard.labels.model import AIGCLabel, Verdict
from tests.labels.implicit.audio_support import (
    assert_same_decoding,
    label_copy,
    riff_chunks,
    riff_size_is_right,
)
from tests.labels.implicit.image_support import CountingReader
from tests.media import audio

WAV_SAMPLES = {name: make for name, make in audio.SAMPLES.items() if name.endswith(".wav")}


def _chunk(cid: bytes, payload: bytes) -> bytes:
    return cid + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def _riff(chunks: list[bytes]) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _rebuild(
    path: Path, edit: dict[bytes, bytes | None], extra_after_data: list[bytes] | None = None
) -> bytes:
    """The sample with chunks replaced/dropped (``edit``) and extra chunks after ``data``."""
    out: list[bytes] = []
    for chunk in riff_chunks(path.read_bytes()):
        payload = edit.get(chunk.id, chunk.payload)
        if payload is not None:
            out.append(_chunk(chunk.id, payload))
        if chunk.id == b"data":
            out += extra_after_data or []
    return _riff(out)


@pytest.mark.parametrize("name", sorted(WAV_SAMPLES))
def test_label_chunk_sits_before_data_with_the_riff_size_fixed(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    out = label_copy(WAV_SAMPLES[name](tmp_path), label, tmp_path)
    data = out.read_bytes()
    ids = [chunk.id for chunk in riff_chunks(data)]
    assert ids.count(b"AIGC") == 1
    assert ids.index(b"AIGC") == ids.index(b"data") - 1
    (chunk,) = [c for c in riff_chunks(data) if c.id == b"AIGC"]
    assert chunk.payload == label.to_json().encode()
    assert riff_size_is_right(data)
    assert len(data) % 2 == 0


@pytest.mark.parametrize("name", sorted(WAV_SAMPLES))
def test_samples_decode_identically_and_the_digest_is_unchanged(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    src = WAV_SAMPLES[name](tmp_path)
    out = label_copy(src, label, tmp_path)
    before, rate_before = sf.read(src, dtype="int32")
    after, rate_after = sf.read(out, dtype="int32")
    assert rate_before == rate_after
    assert sf.info(src).subtype == sf.info(out).subtype
    assert np.array_equal(before, after)
    assert implicit.content_digest(out) == implicit.content_digest(src)


def test_changing_one_sample_byte_changes_the_digest(tmp_path: Path) -> None:
    src = audio.wav_pcm16_mono(tmp_path)
    data = bytearray(src.read_bytes())
    data[-2] ^= 0x01
    changed = tmp_path / "changed.wav"
    changed.write_bytes(bytes(data))
    assert implicit.content_digest(changed) != implicit.content_digest(src)


def test_list_info_and_every_other_chunk_are_kept_byte_for_byte(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.wav_list_info(tmp_path)
    out = label_copy(src, label, tmp_path)
    old = [(c.id, c.payload) for c in riff_chunks(src.read_bytes())]
    new = [(c.id, c.payload) for c in riff_chunks(out.read_bytes()) if c.id != b"AIGC"]
    assert new == old
    with sf.SoundFile(out) as sound:
        assert sound.title == "Sine study"
        assert sound.artist == "Synthguard tests"


def test_exiftool_shows_the_aigc_chunk_and_keeps_the_info_tags(
    tmp_path: Path, label: AIGCLabel, exiftool: list[str]
) -> None:
    # exiftool 12.57 has no table entry for a top-level AIGC chunk: with -u it lists it as
    # "Unknown_AIGC" binary data; -b gives it base64 including the RIFF pad byte of an odd payload.
    out = label_copy(audio.wav_list_info(tmp_path), label, tmp_path)
    result = subprocess.run(
        [*exiftool, "-j", "-u", "-b", str(out)], capture_output=True, text=True, check=True
    )
    (tags,) = json.loads(result.stdout)
    raw = base64.b64decode(tags["Unknown_AIGC"].removeprefix("base64:"))
    assert raw.rstrip(b"\x00") == label.to_json().encode()
    assert tags["Title"] == "Sine study"
    assert tags["Artist"] == "Synthguard tests"


def test_ffprobe_still_reads_the_info_tags(tmp_path: Path, label: AIGCLabel) -> None:
    # ffmpeg's WAV demuxer reads LIST/INFO but not custom chunks, so it cannot show the label itself.
    out = label_copy(audio.wav_list_info(tmp_path), label, tmp_path)
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout)["format"]["tags"]["title"] == "Sine study"


def test_label_in_mutagens_id3_chunk_is_read_and_moved_to_the_aigc_chunk(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = audio.wav_id3_label(tmp_path)
    finding = implicit.read_label(src)
    assert finding.verdict is Verdict.COMPLIANT
    assert finding.label == audio.THIRD_PARTY
    assert "TXXX:AIGC" in finding.carriers[0]
    out = label_copy(src, label, tmp_path)
    after = implicit.read_label(out)
    assert after.carriers == ("RIFF chunk AIGC",)
    assert after.label == label
    tags = WAVE(out).tags
    assert tags is not None
    assert str(tags["TIT2"]) == "Tagged WAV"
    assert not tags.getall("TXXX:AIGC")


def test_duplicate_chunks_and_an_info_copy_become_exactly_one(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.wav_list_info(tmp_path)
    wrapped = audio.THIRD_PARTY.to_wrapped_json().encode()
    info = next(c for c in riff_chunks(src.read_bytes()) if c.id == b"LIST").payload
    messy = tmp_path / "messy.wav"
    messy.write_bytes(
        _rebuild(
            src,
            {b"LIST": info + _chunk(b"AIGC", audio.THIRD_PARTY.to_json().encode())},
            [_chunk(b"AIGC", wrapped), _chunk(b"aigc", audio.THIRD_PARTY.to_json().encode() + b"\x00")],
        )
    )
    finding = implicit.read_label(messy)
    assert finding.verdict is Verdict.NON_COMPLIANT
    assert len(finding.carriers) == 3
    assert any(raw.wrapped for raw in finding.raw)

    implicit.write_label(messy, label)
    after = implicit.read_label(messy)
    assert after.verdict is Verdict.COMPLIANT
    assert after.carriers == ("RIFF chunk AIGC",)
    assert riff_size_is_right(messy.read_bytes())
    with sf.SoundFile(messy) as sound:
        assert sound.title == "Sine study"


def test_rf64_is_read_through_ds64_and_refused_for_writing(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.wav_pcm16_mono(tmp_path)
    path = tmp_path / "big.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy", "-rf64", "always", str(path)],
        check=True,
    )
    data = path.read_bytes()
    assert data[:4] == b"RF64"
    # Put a label chunk before data (ds64 keeps the real RIFF size: update it too).
    at = data.index(b"data")
    chunk = _chunk(b"AIGC", label.to_json().encode())
    labelled = bytearray(data[:at] + chunk + data[at:])
    riff_size = struct.unpack_from("<Q", labelled, 20)[0]
    struct.pack_into("<Q", labelled, 20, riff_size + len(chunk))
    path.write_bytes(bytes(labelled))

    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT
    assert finding.label == label
    assert_same_decoding(src, path)  # ffmpeg; libsndfile's RF64 reader rejects any extra chunk
    assert implicit.content_digest(path) == implicit.content_digest(src)

    with pytest.raises(UnsupportedFormat, match="RF64"):
        implicit.write_label(path, label)
    assert path.read_bytes() == bytes(labelled)


@pytest.mark.parametrize(
    ("what", "damage"),
    [
        ("data chunk cut short", lambda d: d[: len(d) - 1000]),
        ("fmt size past the end", lambda d: d[:16] + struct.pack("<I", 0x7FFFFFF0) + d[20:]),
        ("garbage chunk id", lambda d: d[:36] + b"\x00\x01\x02\x03" + d[40:]),
        ("header only", lambda d: d[:12]),
    ],
)
def test_broken_files_raise_corrupt_file_and_stay_unchanged(
    what: str, damage: object, tmp_path: Path, label: AIGCLabel
) -> None:
    src = audio.wav_pcm16_mono(tmp_path)
    broken = damage(src.read_bytes())  # type: ignore[operator]
    path = tmp_path / "broken.wav"
    path.write_bytes(broken)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == broken, what
    with pytest.raises(CorruptFile):
        implicit.content_digest(path)


def test_reading_a_large_wav_reads_a_few_hundred_bytes(tmp_path: Path, label: AIGCLabel) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros((48000 * 60, 2), dtype=np.int16), 48000, subtype="PCM_16")  # 11 MB
    implicit.write_label(path, label, fsync=False)
    reader = CountingReader(path)
    try:
        raws = wav.PLUGIN.read(reader)  # type: ignore[arg-type]
    finally:
        reader.close()
    assert [raw.text for raw in raws] == [label.to_json()]
    assert reader.bytes_read < 1024
