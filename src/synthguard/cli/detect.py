"""``synthguard detect FILE...``: every AI-origin trace in each file and the Art. 6 verdict.

Labeling Measures Art. 6 (platform verification): the implicit metadata label, the invisible
watermark and the content ID it resolves to, the visible notice, a C2PA manifest, and the verdict
confirmed / possibly / suspected / none. Table on a terminal, ``--json`` (JSON Lines) or ``--csv``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from synthguard.cli import output
from synthguard.cli.context import open_core
from synthguard.watermark.detect import CSV_COLUMNS, Detection, detect_files

_STYLE = {"confirmed": "bold red", "possibly": "yellow", "suspected": "magenta", "none": "green"}


def _rows(results: list[Detection]) -> list[list[str]]:
    rows = []
    for d in results:
        if not d.ok and d.error is not None:
            rows.append([d.source, d.kind, "[red]error[/]", "", d.error["message"]])
            continue
        mark = "-"
        if d.watermark.found:
            mark = f"id {d.watermark.mark_id} (p<={d.watermark.p_value:.1g})"
        elif d.watermark.checked:
            mark = "none"
        style = _STYLE.get(d.art6, "")
        rows.append([d.source, d.kind, f"[{style}]{d.art6}[/]", mark, d.content_id or "; ".join(d.reasons)])
    return rows


def detect(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Files to check.", show_default=False)],
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON Lines on stdout, one object per file.")
    ] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout, one row per file.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")] = False,
) -> None:
    """Detect labels, watermarks, visible notices and C2PA in files (检测标识与水印)."""
    core = open_core(ctx)
    with output.progress_bar(len(files), "detecting / 检测中", enabled=not quiet) as advance:
        results = detect_files(core, files, advance)
    if as_json:
        output.emit_json_lines(results)
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for d in results:
            writer.writerow(d.csv_row())
    elif not quiet:
        output.emit_table(
            "detection / 检测结果",
            ["file", "kind", "Art. 6", "watermark", "content ID / traces"],
            _rows(results),
        )
    failed = sum(1 for d in results if not d.ok)
    if failed:
        output.error(f"{failed} of {len(results)} files could not be read / {failed} 个文件无法读取")
        raise typer.Exit(1)
