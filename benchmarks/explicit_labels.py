"""Explicit labels: synthguard's video labeler against ``ffmpeg -vf drawtext`` in the same run, and
images per second on 4-megapixel JPEGs against a bare Pillow draw-and-save.

Video: a 1080p, 60 s H.264 + AAC clip is generated with ffmpeg ``testsrc2``; both sides burn the same
notice (our font, same text height, plate, bottom-right, first 3 s), re-encode with libx264 at the same
preset and CRF, and copy the audio. Target (numbers.md / issue #3): synthguard within 1.5x of ffmpeg.

    .venv/bin/python benchmarks/explicit_labels.py [--seconds 60] [--preset veryfast] [--rounds 1]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from synthguard.labels.explicit import _render
from synthguard.labels.explicit.image import ImageLabelOptions, label_image_bytes
from synthguard.labels.explicit.notice import Notice
from synthguard.labels.explicit.video import VideoLabelOptions, label_video

LABEL_SECONDS = 3.0


def make_video(path: Path, seconds: int) -> None:
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip


def ffmpeg_drawtext(src: Path, dst: Path, preset: str, crf: int) -> float:
    text = Notice().short
    target = _render.target_text_px(1920, 1080, 0.05)
    font = _render.fit_font(text, target)
    patch = _render.render_patch(text, target, False)
    margin = round(1080 * _render.MARGIN_RATIO)
    pad = max(2, round(target * 0.3))
    escaped = text.replace(":", r"\:")
    vf = (
        f"drawtext=fontfile={_render.font_path()}:text='{escaped}':fontsize={font.size}:fontcolor=white"
        f":borderw={max(1, round(target / 18))}:bordercolor=black@0.8:box=1:boxcolor=black@0.66"
        f":boxborderw={pad}:x=w-tw-{margin + pad}:y=h-th-{margin + pad}:enable='lt(t,{LABEL_SECONDS})'"
    )
    assert patch.size[0] > 0
    start = time.perf_counter()
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-vf", vf,
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-c:a", "copy", str(dst),
        ],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def ours(src: Path, dst: Path, preset: str, crf: int) -> float:
    start = time.perf_counter()
    label_video(src, dst, VideoLabelOptions(seconds=LABEL_SECONDS, preset=preset, crf=crf), fsync=False)
    return time.perf_counter() - start


def bench_video(seconds: int, preset: str, crf: int, rounds: int, work: Path) -> tuple[float, float]:
    src = work / "in.mp4"
    t0 = time.perf_counter()
    make_video(src, seconds)
    print(f"generated {seconds} s 1080p30 H.264 input in {time.perf_counter() - t0:.1f} s", flush=True)
    peer_times, our_times = [], []
    for _ in range(rounds):
        peer_times.append(ffmpeg_drawtext(src, work / "ffmpeg.mp4", preset, crf))
        our_times.append(ours(src, work / "ours.mp4", preset, crf))
    return statistics.median(peer_times), statistics.median(our_times)


def make_jpegs(count: int) -> list[bytes]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(count):
        # Smooth content plus noise, like a photo: it compresses like one.
        base = rng.normal(0, 1, (1728 // 16, 2304 // 16, 3))
        base = ((base - base.min()) / np.ptp(base) * 255).astype(np.uint8)
        img = Image.fromarray(base).resize((2304, 1728), Image.Resampling.BICUBIC)
        arr = np.clip(np.asarray(img, dtype=np.int16) + rng.integers(-6, 7, (1728, 2304, 3)), 0, 255)
        buf = io.BytesIO()
        Image.fromarray(arr.astype(np.uint8)).save(buf, "JPEG", quality=90, exif=_exif(i))
        out.append(buf.getvalue())
    return out


def _exif(i: int) -> bytes:
    exif = Image.Exif()
    exif[0x0110] = f"bench camera {i}"
    return exif.tobytes()


def bench_images(jpegs: list[bytes]) -> tuple[float, float]:
    options = ImageLabelOptions()
    start = time.perf_counter()
    for data in jpegs:
        label_image_bytes(data, options)
    ours_rate = len(jpegs) / (time.perf_counter() - start)
    font = _render.fit_font(Notice().short, _render.target_text_px(2304, 1728, 0.05))
    start = time.perf_counter()
    for data in jpegs:
        img = Image.open(io.BytesIO(data))
        ImageDraw.Draw(img).text((1500, 1600), Notice().short, font=font, fill=(255, 255, 255))
        img.save(io.BytesIO(), "JPEG", quality=90)
    pillow_rate = len(jpegs) / (time.perf_counter() - start)
    return ours_rate, pillow_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--crf", type=int, default=18)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--images", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is required (make apt)")
    with tempfile.TemporaryDirectory() as tmp:
        peer, mine = bench_video(args.seconds, args.preset, args.crf, args.rounds, Path(tmp))
    ours_rate, pillow_rate = bench_images(make_jpegs(args.images))
    print()
    print(f"Video: 1080p30 H.264, {args.seconds} s, label first {LABEL_SECONDS:.0f} s, x264 preset "
          f"{args.preset} crf {args.crf}, audio copied; median of {args.rounds}")  # fmt: skip
    print(f"{'side':<34}{'seconds':>10}{'x realtime':>12}{'ratio':>8}")
    print(f"{'ffmpeg -vf drawtext':<34}{peer:>10.2f}{args.seconds / peer:>12.2f}{1.0:>8.2f}")
    print(f"{'synthguard label_video':<34}{mine:>10.2f}{args.seconds / mine:>12.2f}{mine / peer:>8.2f}")
    verdict = "meets" if mine / peer <= 1.5 else "MISSES"
    print(f"target: synthguard <= 1.5x ffmpeg -> {verdict} ({mine / peer:.2f}x)")
    print()
    print(f"Images: {args.images} JPEGs 2304x1728 (4.0 MP), q90, with EXIF")
    print(f"{'side':<34}{'images/s':>10}")
    print(f"{'synthguard label_image_bytes':<34}{ours_rate:>10.1f}")
    print(f"{'Pillow draw+save (no metadata kept)':<34}{pillow_rate:>10.1f}")


if __name__ == "__main__":
    main()
