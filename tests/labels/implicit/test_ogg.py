"""Ogg plugin: Vorbis/Opus comment ``AIGC=``; re-paging, CRCs and renumbering; interop; errors."""

from __future__ import annotations

import itertools
import struct
import subprocess
from pathlib import Path

import pytest
import soundfile as sf
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from synthguard.errors import CorruptFile, UnsupportedFormat
from synthguard.labels import implicit
from synthguard.labels.implicit import ogg
from synthguard.labels.model import AIGCLabel, Verdict
from tests.labels.implicit.audio_support import (
    OggPage,
    assert_same_decoding,
    ffmpeg_decodes_cleanly,
    ffprobe_tags,
    label_copy,
    ogg_packets,
    ogg_page_bytes,
    ogg_pages,
)
from tests.labels.implicit.image_support import CountingReader
from tests.media import audio

OGG_SAMPLES = {name: make for name, make in audio.SAMPLES.items() if name.endswith((".ogg", ".opus"))}
_MUTAGEN = {".ogg": OggVorbis, ".opus": OggOpus}


def _assert_well_formed(path: Path, *, decode: bool = True) -> list[OggPage]:
    """Every CRC right (textbook CRC), sequence numbers 0..n-1 per stream, flags consistent."""
    pages = ogg_pages(path.read_bytes())
    assert all(page.crc_ok for page in pages)
    for serial in {page.serial for page in pages}:
        own = [page for page in pages if page.serial == serial]
        assert [page.seqno for page in own] == list(range(len(own)))
        assert own[0].flags & 0x02 and own[-1].flags & 0x04
        for previous, page in itertools.pairwise(own):
            assert bool(page.flags & 0x01) == (previous.lacing[-1:] == b"\xff")
    assert not decode or ffmpeg_decodes_cleanly(path)
    return pages


def _header_pages(pages: list[OggPage], serial: int) -> int:
    """How many pages of ``serial`` come before the first one holding audio (granule > 0)."""
    own = [page for page in pages if page.serial == serial]
    return next(index for index, page in enumerate(own) if page.granule not in (0, 2**64 - 1))


def _comment(path: Path, serial: int | None = None) -> bytes:
    pages = ogg_pages(path.read_bytes())
    return ogg_packets(pages, pages[0].serial if serial is None else serial)[1]


@pytest.mark.parametrize("name", sorted(OGG_SAMPLES))
def test_mutagen_and_ffprobe_read_our_label_and_audio_is_unchanged(
    name: str, tmp_path: Path, label: AIGCLabel
) -> None:
    src = OGG_SAMPLES[name](tmp_path)
    out = label_copy(src, label, tmp_path)
    _assert_well_formed(out)
    assert _MUTAGEN[src.suffix](out)["AIGC"] == [label.to_json()]
    assert ffprobe_tags(out)["AIGC"] == label.to_json()
    assert_same_decoding(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)
    # Audio packets are byte-identical (only header pages were re-cut).
    old, new = ogg_pages(src.read_bytes()), ogg_pages(out.read_bytes())
    serial = old[0].serial
    assert ogg_packets(old, serial)[2:] == ogg_packets(new, serial)[2:]


def test_multi_page_comment_header_with_a_cover_is_re_paged_and_renumbered(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = audio.vorbis_big_cover(tmp_path)
    old_pages = ogg_pages(src.read_bytes())
    serial = old_pages[0].serial
    assert _header_pages(old_pages, serial) > 3  # mutagen cut the cover into ~4 KB pages
    out = label_copy(src, label, tmp_path)
    new_pages = _assert_well_formed(out)
    # We cut header pages at 255 lacing values, so fewer pages: every later page was renumbered.
    assert 2 < _header_pages(new_pages, serial) < _header_pages(old_pages, serial)
    old_comment, new_comment = _comment(src), _comment(out)
    picture = next(e for e in OggVorbis(src)["METADATA_BLOCK_PICTURE"])
    assert OggVorbis(out)["METADATA_BLOCK_PICTURE"] == [picture]
    assert new_comment.startswith(old_comment[: 7 + 4 + struct.unpack_from("<I", old_comment, 7)[0]])
    assert_same_decoding(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)


def _one_page_header(tmp_path: Path) -> Path:
    """plain.ogg re-made so that comment + setup fill exactly 255 lacing values on one page."""
    src = audio.vorbis_plain(tmp_path)
    pages = ogg_pages(src.read_bytes())
    serial = pages[0].serial
    ident, comment, setup = ogg_packets(pages, serial)[:3]
    vendor_len = struct.unpack_from("<I", comment, 7)[0]
    vendor = comment[11 : 11 + vendor_len]
    setup_segments = len(setup) // 255 + 1
    # A FILLER entry sized so that the comment packet takes the rest of the 255 segments.
    want = (255 - setup_segments) * 255 - 1
    fixed = 7 + 4 + len(vendor) + 4 + 4 + len(b"FILLER=") + 1
    entry = b"FILLER=" + b"f" * (want - fixed)
    new_comment = comment[:7] + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 1)
    new_comment += struct.pack("<I", len(entry)) + entry + b"\x01"
    assert len(new_comment) // 255 + 1 + setup_segments == 255
    lacing = b""
    for packet in (new_comment, setup):
        lacing += b"\xff" * (len(packet) // 255) + bytes((len(packet) % 255,))
    data = ogg_page_bytes(0x02, 0, serial, 0, pages[0].lacing, ident)
    data += ogg_page_bytes(0, 0, serial, 1, lacing, new_comment + setup)
    for seqno, page in enumerate(pages[_header_pages(pages, serial) :], start=2):
        data += ogg_page_bytes(page.flags, page.granule, serial, seqno, page.lacing, page.body)
    path = tmp_path / "one_page_header.ogg"
    path.write_bytes(data)
    return path


def test_a_header_that_outgrows_its_page_adds_a_page_and_renumbers_the_rest(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = _one_page_header(tmp_path)
    before = _assert_well_formed(src)
    serial = before[0].serial
    assert _header_pages(before, serial) == 2
    out = label_copy(src, label, tmp_path)
    after = _assert_well_formed(out)
    assert _header_pages(after, serial) == 3
    assert len(after) == len(before) + 1
    assert [p.body for p in after[3:]] == [p.body for p in before[2:]]
    assert OggVorbis(out)["FILLER"][0].startswith("fff")
    assert_same_decoding(src, out)
    assert implicit.content_digest(out) == implicit.content_digest(src)
    # Writing again into the grown layout keeps it valid (nothing moves a second time).
    again = label_copy(out, label, tmp_path, "again.ogg")
    assert again.read_bytes() == out.read_bytes()


def test_opus_tags_keep_their_trailing_padding(tmp_path: Path, label: AIGCLabel) -> None:
    src = audio.opus_mutagen_label(tmp_path)
    old = _comment(src)
    assert old.endswith(b"\x00" * 16)  # mutagen pads OpusTags after the comment list
    out = label_copy(src, label, tmp_path)
    new = _comment(out)
    assert new.endswith(old[-16:])
    tags = OggOpus(out)
    assert tags["AIGC"] == [label.to_json()]
    assert tags["TITLE"] == ["Labelled elsewhere"]


@pytest.mark.parametrize("name", ["mutagen_label.ogg", "mutagen_label.opus"])
def test_we_read_the_label_mutagen_writes_and_replace_it(name: str, tmp_path: Path, label: AIGCLabel) -> None:
    path = OGG_SAMPLES[name](tmp_path)
    finding = implicit.read_label(path)
    assert finding.verdict is Verdict.COMPLIANT
    assert finding.label == audio.THIRD_PARTY
    implicit.write_label(path, label)
    assert _MUTAGEN[path.suffix](path)["AIGC"] == [label.to_json()]
    assert implicit.read_label(path).carriers == (finding.carriers[0],)


def _ffmpeg(tmp_path: Path, name: str, *args: str) -> Path:
    path = tmp_path / name
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(path)], check=True)
    return path


def test_multiplexed_streams_get_one_label_in_the_first_audio_stream(
    tmp_path: Path, label: AIGCLabel
) -> None:
    # Vorbis + Opus in one Ogg, the Opus stream already labelled by ffmpeg: headers interleave.
    src = _ffmpeg(
        tmp_path,
        "two.ogg",
        *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=0.5"),
        *("-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=0.5"),
        *("-map", "0", "-map", "1", "-c:a:0", "libvorbis", "-c:a:1", "libopus"),
        *("-metadata:s:a:1", f"AIGC={audio.THIRD_PARTY.to_json()}", "-metadata:s:a:1", "TITLE=second"),
    )
    assert implicit.read_label(src).carriers == ("OpusTags comment AIGC=",)
    out = label_copy(src, label, tmp_path)
    pages = _assert_well_formed(out)
    assert implicit.read_label(out).carriers == ("Vorbis comment AIGC=",)
    serials = [page.serial for page in pages if page.flags & 0x02]
    assert b"AIGC=" in _comment(out, serials[0])
    assert b"AIGC=" not in _comment(out, serials[1]) and b"TITLE=second" in _comment(out, serials[1])
    assert implicit.content_digest(out) == implicit.content_digest(src)


def test_theora_video_with_vorbis_audio_labels_the_audio_stream(tmp_path: Path, label: AIGCLabel) -> None:
    src = _ffmpeg(
        tmp_path,
        "video.ogg",
        *("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=0.5"),
        *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=0.5"),
        *("-c:v", "libtheora", "-c:a", "libvorbis"),
    )
    out = label_copy(src, label, tmp_path)
    pages = _assert_well_formed(out)
    theora = pages[0].serial
    assert [p.body for p in pages if p.serial == theora] == [
        p.body for p in ogg_pages(src.read_bytes()) if p.serial == theora
    ]
    assert ffprobe_tags(out)["AIGC"] == label.to_json()
    assert implicit.content_digest(out) == implicit.content_digest(src)


def test_an_ogg_without_vorbis_or_opus_is_refused(tmp_path: Path, label: AIGCLabel) -> None:
    src = _ffmpeg(
        tmp_path,
        "theora.ogg",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10:duration=0.3",
        "-c:v",
        "libtheora",
    )
    data = src.read_bytes()
    with pytest.raises(UnsupportedFormat, match="no Vorbis or Opus"):
        implicit.write_label(src, label)
    assert src.read_bytes() == data


def test_chained_links_keep_one_label_in_the_first_link(tmp_path: Path, label: AIGCLabel) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = audio.vorbis_plain(tmp_path / "a").read_bytes()
    second = audio.vorbis_mutagen_label(tmp_path / "b").read_bytes()
    path = tmp_path / "chained.ogg"
    path.write_bytes(first + second)
    assert len({page.serial for page in ogg_pages(path.read_bytes())}) == 2
    assert implicit.read_label(path).verdict is Verdict.ABSENT  # readers stop after the first link
    implicit.write_label(path, label)
    # ffmpeg warns about the timestamp jump at the link boundary of any chained file: check structure.
    _assert_well_formed(path, decode=False)
    assert path.read_bytes().count(b"AIGC=") == 1
    assert implicit.read_label(path).label == label
    assert path.read_bytes().endswith(ogg_pages(second)[-1].body)


def test_a_stream_that_ends_on_its_header_page_keeps_its_eos_flag(tmp_path: Path, label: AIGCLabel) -> None:
    pages = ogg_pages(audio.vorbis_plain(tmp_path).read_bytes())
    serial = pages[0].serial
    headers = pages[: _header_pages(pages, serial)]
    last = headers[-1]
    data = b"".join(
        ogg_page_bytes(p.flags | (0x04 if p is last else 0), p.granule, serial, p.seqno, p.lacing, p.body)
        for p in headers
    )
    path = tmp_path / "headers_only.ogg"
    path.write_bytes(data)
    implicit.write_label(path, label)
    written = _assert_well_formed(path, decode=False)
    assert written[-1].flags & 0x04
    assert implicit.read_label(path).label == label


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes((data[at] ^ 0x20,)) + data[at + 1 :]


def test_a_crc_error_in_the_comment_header_is_corrupt_for_reading_and_writing(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = audio.vorbis_mutagen_label(tmp_path)
    data = src.read_bytes()
    pages = ogg_pages(data)
    broken = _flip(data, pages[1].offset + 27 + len(pages[1].lacing) + 20)
    src.write_bytes(broken)
    with pytest.raises(CorruptFile, match="CRC"):
        implicit.read_label(src)
    with pytest.raises(CorruptFile, match="CRC"):
        implicit.write_label(src, label)
    assert src.read_bytes() == broken


def test_a_crc_error_in_an_audio_page_stops_the_write_and_the_digest(
    tmp_path: Path, label: AIGCLabel
) -> None:
    src = audio.vorbis_plain(tmp_path)
    data = src.read_bytes()
    last = ogg_pages(data)[-1]
    broken = _flip(data, last.offset + 27 + len(last.lacing) + 5)
    src.write_bytes(broken)
    assert implicit.read_label(src).verdict is Verdict.ABSENT  # readers stop after the headers
    with pytest.raises(CorruptFile, match="CRC"):
        implicit.write_label(src, label)
    assert src.read_bytes() == broken
    with pytest.raises(CorruptFile, match="CRC"):
        implicit.content_digest(src)


def _orphan_page(data: bytes, pages: list[OggPage]) -> bytes:
    """A valid page (right CRC) of a stream that never had a BOS page, after the headers."""
    page = pages[2]
    stray = ogg_page_bytes(0, page.granule, 0x99999999, 0, page.lacing, page.body)
    return data[: page.offset] + stray + data[page.offset :]


@pytest.mark.parametrize(
    ("what", "damage"),
    [
        ("cut inside the headers", lambda d, p: d[: p[1].offset + 100]),
        ("garbage between pages", lambda d, p: d[: p[2].offset] + b"junk" + d[p[2].offset :]),
        ("page of a stream without a BOS page", _orphan_page),
        ("not an Ogg page after the capture", lambda d, p: d[:4] + b"\x01" + d[5:]),
    ],
)
def test_broken_files_raise_corrupt_file_and_stay_unchanged(
    what: str, damage: object, tmp_path: Path, label: AIGCLabel
) -> None:
    data = audio.vorbis_plain(tmp_path).read_bytes()
    broken = damage(data, ogg_pages(data))  # type: ignore[operator]
    path = tmp_path / "broken.ogg"
    path.write_bytes(broken)
    with pytest.raises(CorruptFile):
        implicit.write_label(path, label)
    assert path.read_bytes() == broken, what


def test_the_digest_ignores_paging_but_not_audio(tmp_path: Path) -> None:
    src = audio.vorbis_plain(tmp_path)
    data = bytearray(src.read_bytes())
    last = ogg_pages(bytes(data))[-1]
    body_at = last.offset + 27 + len(last.lacing)
    data[body_at + 3] ^= 0x01
    page = ogg_page_bytes(
        last.flags,
        last.granule,
        last.serial,
        last.seqno,
        last.lacing,
        bytes(data[body_at : body_at + len(last.body)]),
    )
    changed = tmp_path / "changed.ogg"
    changed.write_bytes(bytes(data[: last.offset]) + page)
    assert implicit.content_digest(changed) != implicit.content_digest(src)


def test_reading_stops_after_the_header_pages(tmp_path: Path, label: AIGCLabel) -> None:
    path = tmp_path / "long.ogg"
    sf.write(path, audio.tone(44100, 2, seconds=20), 44100, format="OGG", subtype="VORBIS")
    implicit.write_label(path, label, fsync=False)
    reader = CountingReader(path)
    try:
        raws = ogg.PLUGIN.read(reader)  # type: ignore[arg-type]
    finally:
        reader.close()
    assert [raw.text for raw in raws] == [label.to_json()]
    assert reader.bytes_read < 10_000 < path.stat().st_size // 10
