"""Explicit labels on video: the text notice burnt into the frames of the first N seconds.

GB 45438-2025 (video explicit label; Labeling Measures Art. 4(4)): a text notice at an edge or corner
of the frames at the start of the video, shown for at least 2 s, text height >= 5 % of the shortest
side; optionally at the end and in the middle. Here the default window is the first 3 s (a margin
over 2 s for frame rounding); ``whole=True`` labels every frame and ``at_end=True`` adds the last N s.

How: PyAV (FFmpeg's libraries) decodes the video stream, the label is blended into the frames of the
window directly in their YUV planes (the box is aligned to even coordinates, so no chroma sample
outside it changes), and the stream is re-encoded with the same codec (H.264, H.265, VP9, VP8, AV1,
MPEG-4) into the same container (MP4, MOV, MKV, WebM) with the source's pixel format, colour tags
and time stamps. Every other stream (audio, subtitles) is remuxed packet by packet, untouched. With
``lossless=True`` the encoder runs lossless, so decoded frames differ from the source only inside
the label box, which is what the tests prove.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from synthguard.errors import CorruptFile, InvalidNoticeOptions, NoMediaStream, UnsupportedFormat
from synthguard.labels.explicit import _render
from synthguard.labels.explicit.notice import Notice
from synthguard.labels.implicit import atomic_write

MIN_SECONDS = 2.0  # GB 45438-2025: shown for at least 2 s
DEFAULT_SECONDS = 3.0
_ENCODERS = {
    "h264": "libx264",
    "hevc": "libx265",
    "vp9": "libvpx-vp9",
    "vp8": "libvpx",
    "av1": "libsvtav1",
    "mpeg4": "mpeg4",
    "mpeg2video": "mpeg2video",
}
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
_YUV420 = {"yuv420p", "yuvj420p"}

Progress = Callable[[float], None]


@dataclass(frozen=True)
class VideoLabelOptions:
    notice: Notice = field(default_factory=Notice)
    position: str = "bottom-right"
    height_ratio: float = _render.MIN_HEIGHT_RATIO
    seed: str = ""
    seconds: float = DEFAULT_SECONDS  # label the first ``seconds`` (and the last, with at_end)
    whole: bool = False
    at_end: bool = False
    lossless: bool = False
    crf: int | None = None  # None: 18 for H.264/H.265 (visually lossless), 30 for VP9/AV1
    preset: str = "medium"  # x264/x265 speed preset

    def __post_init__(self) -> None:
        _render.check_position(self.position)
        _render.check_ratio(self.height_ratio)
        if not (math.isfinite(self.seconds) and MIN_SECONDS <= self.seconds <= 24 * 3600):
            raise InvalidNoticeOptions(
                f"the label must show for at least {MIN_SECONDS} s (GB 45438-2025), got {self.seconds!r}",
                message_zh=f"视频标识须至少持续 {MIN_SECONDS} 秒（GB 45438-2025）",
            )
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise InvalidNoticeOptions(f"crf {self.crf} must be between 0 and 63")
        missing = _render.missing_glyphs(self.notice.short)
        if missing:
            raise InvalidNoticeOptions(
                f"the bundled font cannot draw {missing!r}", message_zh=f"内置字体无法绘制字符 {missing!r}"
            )


@dataclass(frozen=True)
class VideoLabelResult:
    container: str
    codec: str
    width: int
    height: int
    frames: int
    labeled_frames: int
    box: tuple[int, int, int, int]  # x, y, width, height in stored frame coordinates
    text_px: int
    windows: tuple[tuple[float, float], ...]  # labeled spans in seconds
    copied_streams: int


def label_video(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    options: VideoLabelOptions | None = None,
    *,
    progress: Progress | None = None,
    fsync: bool = True,
) -> VideoLabelResult:
    """Burn the notice into ``src`` and write ``dst`` (None: in place) atomically."""
    import av

    options = options or VideoLabelOptions()
    source = Path(src)
    target = Path(dst) if dst is not None else source
    if source.stat().st_size == 0:
        raise CorruptFile("video", f"{source.name} is empty (0 bytes)")
    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise CorruptFile("video", f"{source.name}: not a readable video file ({exc})") from None
    with container:
        job = _Job(container, source, target, options, progress)
        atomic_write(target, job.run, fsync=fsync, like=source)
        return job.result()


class _Job:
    def __init__(
        self,
        container: Any,
        source: Path,
        target: Path,
        options: VideoLabelOptions,
        progress: Progress | None,
    ) -> None:
        videos = [s for s in container.streams.video if not is_cover_art(s)]
        if not videos:
            raise NoMediaStream(
                f"{source.name} has no video stream to label (audio only? use the audio label)",
                message_zh=f"{source.name} 没有视频流，无法添加视频显式标识",
            )
        self.container = container
        self.source = source
        self.options = options
        self.progress = progress
        self.vin = videos[0]
        ctx = self.vin.codec_context
        if not ctx.width or not ctx.height:
            raise CorruptFile("video", f"{source.name}: the video stream has no frame size")
        self.width, self.height = int(ctx.width), int(ctx.height)
        self.codec = ctx.name
        self.encoder = _ENCODERS.get(self.codec)
        if self.encoder is None:
            raise UnsupportedFormat(
                f"{source.name}: cannot re-encode {self.codec} video; supported: {', '.join(_ENCODERS)}",
                message_zh=f"{source.name}：不支持重新编码 {self.codec} 视频",
            )
        self.format = _CONTAINERS.get(target.suffix.lower()) or container.format.name.split(",")[0]
        self.duration = _duration(container, self.vin)
        self.windows = self._windows()
        self.total_frames = int(self.vin.frames) or max(
            1, round(self.duration * float(self.vin.average_rate or 25))
        )
        self.frames = 0
        self.labeled = 0
        self.copied = 0
        self.text = options.notice.short
        target_px = _render.target_text_px(self.width, self.height, options.height_ratio)
        position = _render.resolve_position(options.position, options.seed)
        probe = _render.render_patch(self.text, target_px, True)
        pw, ph = probe.size
        # Even size and position: every 2x2 chroma block is either fully inside the box or outside.
        self.x, self.y = _render.place(
            (self.width, self.height), (pw + pw % 2, ph + ph % 2), position, even=True
        )
        self.target_px = target_px
        self.patch_size = (pw + pw % 2, ph + ph % 2)
        self.blend: _Blender | None = None

    def _windows(self) -> tuple[tuple[float, float], ...]:
        seconds = self.options.seconds
        if self.options.whole:
            return ((0.0, math.inf),)
        spans = [(0.0, seconds)]
        if self.options.at_end and self.duration > 0:
            spans.append((max(0.0, self.duration - seconds), math.inf))
        return tuple(spans)

    def _in_window(self, t: float) -> bool:
        return any(start <= t < end for start, end in self.windows)

    def run(self, dst: BinaryIO) -> None:
        import av

        out = av.open(dst, "w", format=self.format)
        try:
            vout = self._video_stream(out)
            copies = {}
            for stream in self.container.streams:
                if stream is self.vin or stream.type not in ("audio", "subtitle"):
                    continue
                try:
                    copies[stream.index] = out.add_stream_from_template(stream)
                except (ValueError, av.error.FFmpegError):
                    continue  # the container cannot hold this stream (rare: e.g. mov_text in WebM)
            self.copied = len(copies)
            self.vin.thread_type = "AUTO"
            start_time = self._start_time()
            wanted = [self.vin, *(s for s in self.container.streams if s.index in copies)]
            for packet in self.container.demux(wanted):
                if packet.stream.index == self.vin.index:
                    for frame in packet.decode():
                        self._frame(frame, vout, out, start_time)
                elif packet.dts is not None:
                    packet.stream = copies[packet.stream.index]
                    out.mux(packet)
            for packet in vout.encode(None):
                out.mux(packet)
        except (av.error.InvalidDataError, av.error.FFmpegError) as exc:
            raise CorruptFile(
                self.format, f"{self.source.name}: cannot decode or encode the video ({exc})"
            ) from None
        finally:
            out.close()
        if self.frames == 0:
            raise CorruptFile(self.format, f"{self.source.name}: the video stream has no decodable frames")

    def _start_time(self) -> float:
        if self.vin.start_time is not None and self.vin.time_base is not None:
            return float(self.vin.start_time * self.vin.time_base)
        return 0.0

    def _video_stream(self, out: Any) -> Any:
        ctx = self.vin.codec_context
        rate = self.vin.average_rate or self.vin.guessed_rate or 25
        vout = out.add_stream(self.encoder, rate=rate)
        vout.width, vout.height = self.width, self.height
        pix_fmt = ctx.format.name if ctx.format is not None else "yuv420p"
        supported = {f.name for f in (vout.codec_context.codec.video_formats or [])}
        vout.pix_fmt = pix_fmt if not supported or pix_fmt in supported else "yuv420p"
        vout.time_base = self.vin.time_base
        vout.codec_context.time_base = self.vin.time_base
        for attr in ("color_range", "colorspace", "color_primaries", "color_trc"):
            try:
                setattr(vout.codec_context, attr, getattr(ctx, attr))
            except (AttributeError, ValueError, TypeError):
                continue
        if self.vin.sample_aspect_ratio:
            vout.codec_context.sample_aspect_ratio = self.vin.sample_aspect_ratio
        vout.codec_context.options = _encoder_options(str(self.encoder), self.options)
        if ctx.bit_rate and self.encoder in ("mpeg4", "mpeg2video"):
            vout.codec_context.bit_rate = ctx.bit_rate
        self.pix_fmt = vout.pix_fmt
        return vout

    def _frame(self, frame: Any, vout: Any, out: Any, start_time: float) -> None:
        t = (float(frame.pts * frame.time_base) - start_time) if frame.pts is not None else self.frames / 25.0
        self.frames += 1
        if self._in_window(t):
            frame = self._draw(frame)
            self.labeled += 1
        elif frame.format.name != self.pix_fmt:
            frame = frame.reformat(format=self.pix_fmt)
        frame.pict_type = 0  # let the encoder choose frame types, as ffmpeg does
        for packet in vout.encode(frame):
            out.mux(packet)
        if self.progress is not None and self.frames % 10 == 0:
            self.progress(min(1.0, self.frames / self.total_frames))

    def _draw(self, frame: Any) -> Any:
        import av

        fmt = frame.format.name
        if fmt in _YUV420 and self.pix_fmt == fmt:
            planes = frame.to_ndarray()  # (h * 3 / 2, w): Y, then U and V stacked
            if self.blend is None:
                self.blend = _Blender(self, _luma_mean(planes, self), frame)
            self.blend.apply_yuv420(planes)
            new = av.VideoFrame.from_ndarray(planes, format=fmt)
        else:
            rgb = frame.to_ndarray(format="rgb24")
            if self.blend is None:
                luma = rgb[self.y : self.y + self.patch_size[1], self.x : self.x + self.patch_size[0]].mean()
                self.blend = _Blender(self, float(luma), frame)
            self.blend.apply_rgb(rgb)
            new = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=self.pix_fmt)
        new.pts = frame.pts
        new.time_base = frame.time_base
        for attr in ("color_range", "colorspace"):
            try:
                setattr(new, attr, getattr(frame, attr))
            except (AttributeError, ValueError, TypeError):
                continue
        return new

    def result(self) -> VideoLabelResult:
        text_px = self.blend.patch.text_px if self.blend is not None else 0
        return VideoLabelResult(
            container=self.format,
            codec=self.codec,
            width=self.width,
            height=self.height,
            frames=self.frames,
            labeled_frames=self.labeled,
            box=(self.x, self.y, *self.patch_size),
            text_px=text_px,
            windows=self.windows,
            copied_streams=self.copied,
        )


def is_cover_art(stream: Any) -> bool:
    """An MP3/M4A cover picture shows up as a one-frame "video" stream; it is not a video."""
    import av

    return bool(int(stream.disposition) & int(av.stream.Disposition.attached_pic))


def _luma_mean(planes: NDArray[np.uint8], job: _Job) -> float:
    w, h = job.patch_size
    return float(planes[job.y : job.y + h, job.x : job.x + w].mean())


class _Blender:
    """The label pre-converted to the frame's colour space, blended per frame with numpy."""

    def __init__(self, job: _Job, luma: float, frame: Any) -> None:
        self.job = job
        self.patch = _render.render_patch(job.text, job.target_px, _render.dark_text_for(np.array([luma])))
        w, h = job.patch_size
        rgba = np.zeros((h, w, 4), np.float32)
        ph, pw = self.patch.rgba.shape[:2]
        rgba[:ph, :pw] = self.patch.rgba
        self.alpha = rgba[:, :, 3:4] / 255.0
        self.rgb = rgba[:, :, :3]
        full_range = getattr(frame, "color_range", 0) == 2 or frame.format.name == "yuvj420p"
        bt709 = job.height >= 720 and getattr(frame, "colorspace", 2) not in (5, 6)
        y, u, v = _rgb_to_yuv(self.rgb, bt709, full_range)
        a = self.alpha[:, :, 0]
        self.a_y = a
        self.y_premul = y * a
        a4 = a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        self.a_c = a4
        self.u_premul = (u * a).reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        self.v_premul = (v * a).reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    def apply_yuv420(self, planes: NDArray[np.uint8]) -> None:
        job = self.job
        w, h = job.patch_size
        x, y = job.x, job.y
        height, width = job.height, job.width
        region = planes[y : y + h, x : x + w].astype(np.float32)
        planes[y : y + h, x : x + w] = np.rint(region * (1 - self.a_y) + self.y_premul).astype(np.uint8)
        # to_ndarray() stacks U then V as (h/4, w) rows each: view them as (h/2, w/2) planes.
        chroma = planes[height:].reshape(2, height // 2, width // 2)
        cy, cx, ch, cw = y // 2, x // 2, h // 2, w // 2
        for plane, premul in ((chroma[0], self.u_premul), (chroma[1], self.v_premul)):
            area = plane[cy : cy + ch, cx : cx + cw].astype(np.float32)
            plane[cy : cy + ch, cx : cx + cw] = np.rint(area * (1 - self.a_c) + premul).astype(np.uint8)

    def apply_rgb(self, rgb: NDArray[np.uint8]) -> None:
        job = self.job
        w, h = job.patch_size
        region = rgb[job.y : job.y + h, job.x : job.x + w].astype(np.float32)
        rgb[job.y : job.y + h, job.x : job.x + w] = np.rint(
            region * (1 - self.alpha) + self.rgb * self.alpha
        ).astype(np.uint8)


def _rgb_to_yuv(
    rgb: NDArray[np.float32], bt709: bool, full_range: bool
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    kr, kb = (0.2126, 0.0722) if bt709 else (0.299, 0.114)
    r, g, b = (rgb[:, :, i] / 255.0 for i in range(3))
    luma = kr * r + (1 - kr - kb) * g + kb * b
    cb = (b - luma) / (2 * (1 - kb))
    cr = (r - luma) / (2 * (1 - kr))
    if full_range:
        return luma * 255.0, cb * 255.0 + 128.0, cr * 255.0 + 128.0
    return 16.0 + luma * 219.0, 128.0 + cb * 224.0, 128.0 + cr * 224.0


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0


def _encoder_options(encoder: str, options: VideoLabelOptions) -> dict[str, str]:
    if encoder in ("libx264", "libx265"):
        opts = {"preset": options.preset}
        if options.lossless:
            if encoder == "libx264":
                opts["qp"] = "0"
            else:
                opts["x265-params"] = "lossless=1:log-level=error"
        else:
            opts["crf"] = str(options.crf if options.crf is not None else 18)
            if encoder == "libx265":
                opts["x265-params"] = "log-level=error"
        return opts
    if encoder in ("libvpx-vp9", "libvpx"):
        opts = {"b": "0", "crf": str(options.crf if options.crf is not None else 30), "row-mt": "1"}
        opts.update({"deadline": "good", "cpu-used": "4"})
        if options.lossless and encoder == "libvpx-vp9":
            opts["lossless"] = "1"
        return opts
    if encoder == "libsvtav1":
        return {"crf": str(options.crf if options.crf is not None else 30), "preset": "8"}
    return {"qscale": "2"} if not options.lossless else {"qscale": "1"}
