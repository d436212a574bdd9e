"""``synthguard explicit apply | find | badge | text`` and the ``label --explicit`` pass.

Explicit labels (GB 45438-2025 显式标识): ``apply`` renders only the visible/audible label; ``label
--explicit`` renders it and then writes the signed implicit label, in one pass; ``find`` looks for
our image label without OCR; ``badge`` prints the UI badge (HTML, JSON or the custom-element script).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from synthguard.cli import output
from synthguard.cli.context import settings_of
from synthguard.config import Settings
from synthguard.core import Synthguard
from synthguard.errors import SynthguardError
from synthguard.labels.batch import file_error
from synthguard.labels.explicit import (
    ExplicitOptions,
    Notice,
    apply_explicit,
    badge_html,
    badge_json,
    badge_script,
    find_image_notice,
    label_text,
)
from synthguard.labels.explicit.text import TextLabelOptions, guess_format
from synthguard.results import FileError, LabelOutcome

app = typer.Typer(help="Explicit labels people see and hear (GB 45438-2025 显式标识).", no_args_is_help=True)

FilesArg = Annotated[list[Path], typer.Argument(help="Files to label.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one object per file.")]
PositionOpt = Annotated[
    str | None,
    typer.Option(
        "--position",
        help="Pictures: top-left, top-right, bottom-left, bottom-right, top, bottom, left, right or vary; "
        "text and audio: start, end or middle (env SYNTHGUARD_EXPLICIT_POSITION).",
    ),
]
LangOpt = Annotated[
    str | None, typer.Option("--lang", help="zh, en or zh-en (env SYNTHGUARD_EXPLICIT_LANG).")
]


def build_options(
    settings: Settings,
    *,
    position: str | None = None,
    lang: str | None = None,
    text: str | None = None,
    **extra: Any,
) -> ExplicitOptions:
    notice = Notice(lang=lang or settings.explicit_lang, text=text)  # type: ignore[arg-type]
    options = ExplicitOptions(notice=notice, position=position or settings.explicit_position, **extra)
    options.validate()
    return options


def _bar(total: int, enabled: bool) -> tuple[Progress | None, Callable[[int, float], None]]:
    if not enabled or not output.stderr.is_terminal:
        return None, lambda _index, _fraction: None
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeRemainingColumn(),
        console=output.stderr,
        transient=True,
    )
    task = bar.add_task("labeling", total=float(total))
    return bar, lambda index, fraction: bar.update(task, completed=index + fraction)


def _at(update: Callable[[int, float], None], index: int) -> Callable[[float], None]:
    return lambda fraction: update(index, fraction)


def label_with_explicit(
    core: Synthguard,
    files: list[Path],
    targets: list[Path | None],
    *,
    label: str,
    options: ExplicitOptions,
    show_progress: bool,
    watermark: bool | None = None,
) -> list[LabelOutcome]:
    """Explicit then implicit label for each file, with a bar that moves inside long videos."""
    outcomes: list[LabelOutcome] = []
    bar, update = _bar(len(files), show_progress)
    if bar is not None:
        bar.start()
    try:
        for index, (path, target) in enumerate(zip(files, targets, strict=True)):
            try:
                outcomes.append(
                    core.label_file(
                        path,
                        target,
                        label=label,
                        explicit=options,
                        progress=_at(update, index),
                        watermark=watermark,
                    )
                )
            except SynthguardError as exc:
                outcomes.append(LabelOutcome(source=str(path), ok=False, error=file_error(exc)))
            except OSError as exc:
                error = FileError(
                    code="os_error",
                    message=f"{path}: {exc.strerror or exc}",
                    message_zh=f"无法读写文件：{path}（{exc.strerror or exc}）",
                )
                outcomes.append(LabelOutcome(source=str(path), ok=False, error=error))
            update(index, 1.0)
    finally:
        if bar is not None:
            bar.stop()
    return outcomes


@app.command("apply")
def apply(
    ctx: typer.Context,
    files: FilesArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write into this folder; default: in place.")
    ] = None,
    position: PositionOpt = None,
    lang: LangOpt = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Own wording (must say AI/人工智能 + 生成/合成).")
    ] = None,
    ratio: Annotated[float, typer.Option("--ratio", help="Text height / shortest side (>= 0.05).")] = 0.05,
    seconds: Annotated[
        float, typer.Option("--seconds", help="Video: label the first N seconds (>= 2).")
    ] = 3.0,
    whole: Annotated[bool, typer.Option("--whole", help="Video: label every frame.")] = False,
    at_end: Annotated[bool, typer.Option("--at-end", help="Video: label the last N seconds too.")] = False,
    audio_kind: Annotated[
        str, typer.Option("--audio-kind", help="rhythm, speech or rhythm+speech.")
    ] = "rhythm+speech",
    audio_mode: Annotated[
        str, typer.Option("--audio-mode", help="splice (insert) or mix (overlay).")
    ] = "splice",
    as_json: JsonOpt = False,
) -> None:
    """Render only the explicit label (no implicit label) into each file."""
    settings = settings_of(ctx)
    options = build_options(
        settings,
        position=position,
        lang=lang,
        text=text,
        height_ratio=ratio,
        seconds=seconds,
        whole=whole,
        at_end=at_end,
        audio_kind=audio_kind,
        audio_mode=audio_mode,
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    bar, update = _bar(len(files), not as_json)
    if bar is not None:
        bar.start()
    try:
        for index, path in enumerate(files):
            target = out / path.name if out is not None else None
            try:
                result = apply_explicit(
                    path, target, options, progress=_at(update, index), fsync=settings.fsync
                )
                rows.append({"schema": 1, "source": str(path), "ok": True, **asdict(result)})
            except SynthguardError as exc:
                rows.append({"schema": 1, "source": str(path), "ok": False, "error": exc.to_dict()})
            except OSError as exc:
                rows.append({"schema": 1, "source": str(path), "ok": False, "error": {"message": str(exc)}})
            update(index, 1.0)
    finally:
        if bar is not None:
            bar.stop()
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
    else:
        output.emit_table(
            "Explicit labels / 显式标识",
            ["file", "kind", "result"],
            [
                [
                    r["source"],
                    r.get("kind", "-"),
                    "[green]ok[/] " + r["path"] if r["ok"] else "[red]error[/] " + r["error"]["message"],
                ]
                for r in rows
            ],
        )
    if any(not r["ok"] for r in rows):
        raise typer.Exit(1)


@app.command("find")
def find(
    files: Annotated[list[Path], typer.Argument(help="Images to search.", show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """Look for synthguard's explicit image label (glyph-shape matching, no OCR). Exit 0 if all have one."""
    rows = []
    for path in files:
        try:
            match = find_image_notice(path)
            rows.append(
                {
                    "schema": 1,
                    "source": str(path),
                    "found": match is not None,
                    **(asdict(match) if match else {}),
                }
            )
        except (OSError, ValueError) as exc:
            rows.append({"schema": 1, "source": str(path), "found": False, "error": str(exc)})
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        output.emit_table(
            "Explicit image labels found / 检出的显式标识",
            ["file", "found", "box (x, y, w, h)", "score", "text"],
            [
                [
                    r["source"],
                    "yes" if r["found"] else "no",
                    str(r.get("box", "-")),
                    str(r.get("score", "-")),
                    str(r.get("text", r.get("error", "-"))),
                ]
                for r in rows
            ],
        )
    if not all(r["found"] for r in rows):
        raise typer.Exit(1)


@app.command("badge")
def badge(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="html, json or js (custom element).")] = "html",
    lang: LangOpt = None,
    level: Annotated[str, typer.Option("--level", help="AIGC Label: 1, 2 or 3.")] = "1",
) -> None:
    """Print the UI badge with the filing number and link from the settings (Art. 19)."""
    settings = settings_of(ctx)
    notice = Notice(lang=lang or settings.explicit_lang, level=level)  # type: ignore[arg-type]
    filing = {"filing_number": settings.filing_number, "filing_url": settings.filing_url}
    if fmt == "json":
        sys.stdout.write(json.dumps(badge_json(notice, **filing), ensure_ascii=False) + "\n")
    elif fmt == "js":
        sys.stdout.write(badge_script())
    elif fmt == "html":
        sys.stdout.write(badge_html(notice, **filing) + "\n")
    else:
        raise typer.BadParameter("--format must be html, json or js")


@app.command("text")
def text(
    ctx: typer.Context,
    source: Annotated[Path | None, typer.Argument(help="Text file; default: stdin to stdout.")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="plain, markdown or html (default: guessed).")
    ] = None,
    position: Annotated[str, typer.Option("--position", help="start, end or middle.")] = "start",
    lang: LangOpt = None,
) -> None:
    """Insert the text notice; with no file, read stdin and write stdout."""
    settings = settings_of(ctx)
    options = TextLabelOptions(Notice(lang=lang or settings.explicit_lang), position)  # type: ignore[arg-type]
    if source is None:
        content = sys.stdin.read()
        sys.stdout.write(label_text(content, options, fmt=fmt or guess_format("", content)))
        return
    from synthguard.labels.explicit import label_text_file

    used = label_text_file(source, None, options, fmt=fmt, fsync=settings.fsync)
    output.stderr.print(f"{source}: {used} notice inserted / 已插入文本标识")
