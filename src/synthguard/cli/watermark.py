"""``synthguard watermark embed|detect|rotate-key``: the invisible watermark on its own (issue #4).

``synthguard label`` embeds the watermark as part of labeling (explicit label, then watermark, then
the signed implicit label); this group is for direct use: mark files without a metadata label,
read a mark back with its statistics, and rotate the provider's watermark key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from synthguard.cli import output
from synthguard.cli.context import open_core
from synthguard.errors import SynthguardError, UnsupportedFormat
from synthguard.ids import new_content_id

app = typer.Typer(
    help="Invisible watermarks: embed, detect, rotate the key (隐式水印).", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one object per file.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")]


class WatermarkResult(BaseModel):
    source: str
    ok: bool = True
    path: str = ""
    modality: str = ""
    found: bool = False
    mark_id: int | None = None
    key_id: int | None = None
    content_id: str = ""
    bit_errors: int | None = None
    p_value: float | None = None
    sync: float | None = None
    detail: dict[str, Any] = {}
    error: dict[str, str] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _failed(path: Path, exc: SynthguardError | OSError) -> WatermarkResult:
    if isinstance(exc, SynthguardError):
        error = {"code": exc.code, "message": exc.message, "message_zh": exc.message_zh}
    else:
        error = {
            "code": "os_error",
            "message": f"{path}: {exc}",
            "message_zh": f"无法读写文件：{path}（{exc}）",
        }
    return WatermarkResult(source=str(path), ok=False, error=error)


@app.command("embed")
def embed(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Images or videos to mark.", show_default=False)],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output directory (default: mark in place).")
    ] = None,
    content_id: Annotated[
        str | None, typer.Option("--content-id", help="Content ID the mark resolves to (default: new).")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Embed the invisible watermark; the mark id is stored so detection resolves it to the content ID."""
    from synthguard.watermark.media import embed_media, watermark_modality

    core = open_core(ctx)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    results: list[WatermarkResult] = []
    with output.progress_bar(
        len(files), "watermarking / 嵌入水印", enabled=not (as_json or quiet)
    ) as advance:
        for path in files:
            try:
                modality = watermark_modality(path)
                if modality is None:
                    raise UnsupportedFormat(
                        f"{path.name}: not an image or video synthguard can watermark",
                        message_zh=f"{path.name}：不是可嵌入水印的图像或视频",
                    )
                cid = content_id or new_content_id()
                mark_id = core.issue_mark_id(cid, modality)
                key = core.watermark_keys.active
                target = out / path.name if out is not None else path
                detail = embed_media(path, target, mark_id, key)
                core.record("watermark.embedded", cid, mark_id=mark_id, key_id=key.key_id, modality=modality)
                results.append(
                    WatermarkResult(
                        source=str(path),
                        path=str(target),
                        modality=modality,
                        found=True,
                        mark_id=mark_id,
                        key_id=key.key_id,
                        content_id=cid,
                        detail=detail,
                    )
                )
            except (SynthguardError, OSError) as exc:
                results.append(_failed(path, exc))
            if advance is not None:
                advance(1)
    _finish(results, "watermarks embedded / 已嵌入水印", as_json, quiet)


@app.command("detect")
def detect(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Images or videos to check.", show_default=False)],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Read the invisible watermark: mark id, content ID, bit errors and false-positive bound."""
    from synthguard.watermark.media import watermark_modality

    core = open_core(ctx)
    results: list[WatermarkResult] = []
    with output.progress_bar(len(files), "detecting / 检测水印", enabled=not (as_json or quiet)) as advance:
        for path in files:
            try:
                modality = watermark_modality(path)
                if modality == "image":
                    from synthguard.watermark.image import detect_file
                elif modality == "video":
                    from synthguard.watermark.video import detect_file
                else:
                    raise UnsupportedFormat(
                        f"{path.name}: not an image or video (audio: use `synthguard detect`)",
                        message_zh=f"{path.name}：不是图像或视频（音频请用 synthguard detect）",
                    )
                found = detect_file(path, core.watermark_keys)
                result = WatermarkResult(source=str(path), modality=modality, sync=round(found.sync_score, 2))
                if found.payload is not None:
                    p = found.payload
                    record = core.resolve_mark_id(p.mark_id)
                    result.found, result.mark_id, result.key_id = True, p.mark_id, p.key_id
                    result.bit_errors, result.p_value = p.bit_errors, p.p_value
                    result.content_id = record.content_id if record is not None else ""
                results.append(result)
            except (SynthguardError, OSError) as exc:
                results.append(_failed(path, exc))
            if advance is not None:
                advance(1)
    _finish(results, "watermark detection / 水印检测", as_json, quiet)


@app.command("rotate-key")
def rotate_key(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Start marking with a fresh watermark key; marks made with older keys still detect."""
    core = open_core(ctx)
    key = core.watermark_keys.rotate()
    if as_json:
        output.emit_json_lines([WatermarkResult(source="keyring", key_id=key.key_id)])
    else:
        typer.echo(f"active watermark key is now {key.key_id} / 当前水印密钥编号：{key.key_id}")


def _finish(results: list[WatermarkResult], title: str, as_json: bool, quiet: bool) -> None:
    if as_json:
        output.emit_json_lines(results)
    elif not quiet:
        rows = []
        for r in results:
            if not r.ok and r.error is not None:
                rows.append([r.source, "[red]error[/]", "", r.error["message"]])
            elif r.found:
                stats = f"p<={r.p_value:.1g}, {r.bit_errors} bit errors" if r.p_value is not None else ""
                rows.append([r.source, f"mark {r.mark_id}", r.content_id or "(unknown here)", stats])
            else:
                rows.append([r.source, "none / 无", "", f"sync {r.sync}"])
        output.emit_table(title, ["file", "watermark", "content ID", "detail"], rows)
    failed = sum(1 for r in results if not r.ok)
    if failed:
        output.error(f"{failed} of {len(results)} files failed / {failed} 个文件失败")
        raise typer.Exit(1)
