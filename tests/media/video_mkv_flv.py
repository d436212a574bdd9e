"""Matroska, WebM and FLV samples, encoded by the ffmpeg command line (libx264, libvpx, mpeg4, flv1,
aac, opus, mp3), 160x120 at 10 fps for 2 s with a keyframe every 5 frames, so seeking has several
keyframes (and, for Matroska, several clusters and Cues entries) to land on.

Two samples are rearranged from ffmpeg's output, to reach layouts ffmpeg itself never writes:
``live.webm`` has the layout of a browser MediaRecorder file (unknown-size Segment and Clusters,
no SeekHead, no Cues, no Tags), and ``tight.mkv`` has a SeekHead with no Void reserve and no
Tags, so a label can only go in front of the first cluster, with the SeekHead and Cues positions
shifted. Cluster and track bytes are copied unchanged; the positions are computed here
independently of synthguard.
``no_metadata.flv`` is an FLV whose ``onMetaData`` tag was removed (as some encoders emit).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

THIRD_PARTY_JSON = (
    '{"Label":"1","ContentProducer":"001191330106MA2CFLDG4R10001","ProduceID":"thirdparty-42",'
    '"ReservedCode1":"","ContentPropagator":"001191330106MA2CFLDG4R10001","PropagateID":"thirdparty-42",'
    '"ReservedCode2":""}'
)

_VIDEO = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2"]
_AUDIO_44K = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2"]
_AUDIO_48K = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2"]
_GOP = ["-g", "5", "-keyint_min", "5"]
_MKV_CLUSTERS = ["-cluster_time_limit", "300"]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _h264_aac_mkv(folder: Path) -> Path:
    out = folder / "h264_aac.mkv"
    _ffmpeg(
        *_VIDEO, *_AUDIO_44K, "-c:v", "libx264", *_GOP, "-c:a", "aac", *_MKV_CLUSTERS,
        "-metadata", "title=Sample title", "-metadata", "ARTIST=Sample artist", str(out),
    )  # fmt: skip
    return out


def _mpeg4_mp3_mkv(folder: Path) -> Path:
    out = folder / "mpeg4_mp3.mkv"
    _ffmpeg(*_VIDEO, *_AUDIO_44K, "-c:v", "mpeg4", *_GOP, "-c:a", "libmp3lame", *_MKV_CLUSTERS, str(out))
    return out


def _aigc_by_ffmpeg_mkv(folder: Path) -> Path:
    out = folder / "aigc_by_ffmpeg.mkv"
    _ffmpeg(
        *_VIDEO, "-c:v", "mpeg4", *_GOP, *_MKV_CLUSTERS,
        "-metadata", f"AIGC={THIRD_PARTY_JSON}", "-metadata", "title=Labelled elsewhere", str(out),
    )  # fmt: skip
    return out


def _wrapped_by_ffmpeg_mkv(folder: Path) -> Path:
    out = folder / "wrapped_by_ffmpeg.mkv"
    _ffmpeg(*_VIDEO, "-c:v", "mpeg4", *_GOP, "-metadata", 'AIGC={"AIGC":' + THIRD_PARTY_JSON + "}", str(out))
    return out


def _vp9_opus_webm(folder: Path) -> Path:
    out = folder / "vp9_opus.webm"
    _ffmpeg(
        *_VIDEO, *_AUDIO_48K, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", *_GOP,
        "-c:a", "libopus", *_MKV_CLUSTERS, "-metadata", "title=Sample webm", str(out),
    )  # fmt: skip
    return out


def _flv1_mp3_flv(folder: Path) -> Path:
    out = folder / "flv1_mp3.flv"
    _ffmpeg(
        *_VIDEO, *_AUDIO_44K, "-c:v", "flv1", *_GOP, "-c:a", "libmp3lame",
        "-flvflags", "add_keyframe_index", "-metadata", "title=Sample flv", str(out),
    )  # fmt: skip
    return out


def _h264_aac_flv(folder: Path) -> Path:
    out = folder / "h264_aac.flv"
    _ffmpeg(*_VIDEO, *_AUDIO_44K, "-c:v", "libx264", *_GOP, "-c:a", "aac", str(out))
    return out


def _aigc_by_ffmpeg_flv(folder: Path) -> Path:
    out = folder / "aigc_by_ffmpeg.flv"
    _ffmpeg(
        *_VIDEO, "-c:v", "flv1", *_GOP, "-flvflags", "add_keyframe_index",
        "-metadata", f"AIGC={THIRD_PARTY_JSON}", "-metadata", "title=Labelled elsewhere", str(out),
    )  # fmt: skip
    return out


def _no_metadata_flv(folder: Path) -> Path:
    made = folder / "no_metadata_source.flv"
    _ffmpeg(*_VIDEO, *_AUDIO_44K, "-c:v", "libx264", *_GOP, "-c:a", "aac", str(made))
    source = made.read_bytes()
    made.unlink()
    first = int.from_bytes(source[5:9], "big") + 4
    assert source[first] == 18, "ffmpeg's first FLV tag is onMetaData"
    after = first + 11 + int.from_bytes(source[first + 1 : first + 4], "big") + 4
    out = folder / "no_metadata.flv"
    out.write_bytes(source[:first] + source[after:])
    return out


# --- rearranged Matroska layouts -----------------------------------------------------------------

_SEGMENT, _SEEK_HEAD, _INFO, _TRACKS = 0x18538067, 0x114D9B74, 0x1549A966, 0x1654AE6B
_CLUSTER, _CUES = 0x1F43B675, 0x1C53BB6B


def _vint_at(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int]:
    length = 9 - data[pos].bit_length()
    value = data[pos] if keep_marker else data[pos] & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, length


def _elements(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(id, start, data start, end) of each element in data[start:end] (known sizes only)."""
    found = []
    pos = start
    while pos < end:
        eid, id_len = _vint_at(data, pos, True)
        size, size_len = _vint_at(data, pos + id_len, False)
        found.append((eid, pos, pos + id_len + size_len, pos + id_len + size_len + size))
        pos += id_len + size_len + size
    return found


def _el(eid: int, payload: bytes) -> bytes:
    length = 1
    while len(payload) >= (1 << (7 * length)) - 1:
        length += 1
    size = ((1 << (7 * length)) | len(payload)).to_bytes(length, "big")
    return eid.to_bytes((eid.bit_length() + 7) // 8, "big") + size + payload


def _uint(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _level1(path: Path) -> tuple[bytes, dict[int, list[bytes]], list[bytes]]:
    """(bytes before the Segment, level-1 elements by ID except clusters, the clusters in order)."""
    data = path.read_bytes()
    (segment,) = [e for e in _elements(data, 0, len(data)) if e[0] == _SEGMENT]
    by_id: dict[int, list[bytes]] = {}
    clusters: list[bytes] = []
    for eid, start, _data, end in _elements(data, segment[2], segment[3]):
        (clusters if eid == _CLUSTER else by_id.setdefault(eid, [])).append(data[start:end])
    return data[: segment[1]], by_id, clusters


def _live_webm(folder: Path) -> Path:
    source = folder / "live_source.webm"
    _ffmpeg(*_VIDEO, "-c:v", "libvpx", *_GOP, *_MKV_CLUSTERS, str(source))
    ebml, by_id, clusters = _level1(source)
    unknown_size = b"\x01\xff\xff\xff\xff\xff\xff\xff"
    # Browsers stream their clusters too: each one "unknown size", ended by the next Cluster ID.
    streamed = [c[:4] + unknown_size + c[4 + _vint_at(c, 4, False)[1] :] for c in clusters]
    body = by_id[_INFO][0] + by_id[_TRACKS][0] + b"".join(streamed)
    out = folder / "live.webm"
    out.write_bytes(ebml + _SEGMENT.to_bytes(4, "big") + unknown_size + body)
    source.unlink()
    return out


def _cues_shifted(cues: bytes, shift: int) -> bytes:
    def rebuild(data: bytes, start: int, end: int) -> bytes:
        parts = []
        for eid, s, d, e in _elements(data, start, end):
            if eid in (0xBB, 0xB7):  # CuePoint, CueTrackPositions
                parts.append(_el(eid, rebuild(data, d, e)))
            elif eid == 0xF1:  # CueClusterPosition
                parts.append(_el(eid, _uint(int.from_bytes(data[d:e], "big") + shift)))
            elif eid != 0xBF:  # CRC-32 dropped: this rearranged file carries none
                parts.append(data[s:e])
        return b"".join(parts)

    (_eid, _s, d, e) = _elements(cues, 0, len(cues))[0]
    return _el(_CUES, rebuild(cues, d, e))


def _tight_mkv(folder: Path) -> Path:
    source = folder / "tight_source.mkv"
    _ffmpeg(
        *_VIDEO, *_AUDIO_44K, "-c:v", "mpeg4", *_GOP, "-c:a", "libmp3lame", *_MKV_CLUSTERS,
        "-metadata", "title=Tight layout", str(source),
    )  # fmt: skip
    ebml, by_id, clusters = _level1(source)
    info, tracks = by_id[_INFO][0], by_id[_TRACKS][0]
    old_first_cluster = _old_first_cluster(source)
    seek_head = b""
    for _ in range(4):  # the SeekHead's size depends on the Cues position it holds
        first_cluster = len(seek_head) + len(info) + len(tracks)
        cues = _cues_shifted(by_id[_CUES][0], first_cluster - old_first_cluster)
        cues_at = first_cluster + sum(len(c) for c in clusters)
        entries = [(_INFO, len(seek_head)), (_TRACKS, len(seek_head) + len(info)), (_CUES, cues_at)]
        seek_head = _el(
            _SEEK_HEAD,
            b"".join(
                _el(0x4DBB, _el(0x53AB, eid.to_bytes(4, "big")) + _el(0x53AC, _uint(pos)))
                for eid, pos in entries
            ),
        )
    body = seek_head + info + tracks + b"".join(clusters) + cues
    assert len(seek_head) + len(info) + len(tracks) == first_cluster
    out = folder / "tight.mkv"
    out.write_bytes(ebml + _el(_SEGMENT, body))
    source.unlink()
    return out


def _old_first_cluster(path: Path) -> int:
    data = path.read_bytes()
    (segment,) = [e for e in _elements(data, 0, len(data)) if e[0] == _SEGMENT]
    for eid, start, _d, _e in _elements(data, segment[2], segment[3]):
        if eid == _CLUSTER:
            return start - segment[2]
    raise AssertionError("ffmpeg wrote no cluster")


SAMPLES: dict[str, Callable[[Path], Path]] = {
    "h264_aac.mkv": _h264_aac_mkv,
    "mpeg4_mp3.mkv": _mpeg4_mp3_mkv,
    "aigc_by_ffmpeg.mkv": _aigc_by_ffmpeg_mkv,
    "wrapped_by_ffmpeg.mkv": _wrapped_by_ffmpeg_mkv,
    "vp9_opus.webm": _vp9_opus_webm,
    "live.webm": _live_webm,
    "tight.mkv": _tight_mkv,
    "flv1_mp3.flv": _flv1_mp3_flv,
    "h264_aac.flv": _h264_aac_flv,
    "aigc_by_ffmpeg.flv": _aigc_by_ffmpeg_flv,
    "no_metadata.flv": _no_metadata_flv,
}
