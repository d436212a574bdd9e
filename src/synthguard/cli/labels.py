"""``synthguard label | propagate | inspect | verify``: thin commands over ``Synthguard``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthguard.cli import output
from synthguard.cli.context import open_core
from synthguard.results import Inspection, LabelOutcome

FilesArg = Annotated[list[Path], typer.Argument(help="Files to process.", show_default=False)]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Write results into this folder (same file names); default: in place."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one object per file.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")]


def _targets(files: list[Path], out: Path | None) -> list[Path | None]:
    if out is None:
        return [None] * len(files)
    out.mkdir(parents=True, exist_ok=True)
    return [out / f.name for f in files]


def _outcome_rows(outcomes: list[LabelOutcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        if o.error is not None:
            rows.append([o.source, o.format or "-", "[red]error[/]", o.error.message])
        else:
            rows.append([o.source, o.format, "[green]ok[/]", f"{o.content_id} -> {o.path}"])
    return rows


def _finish(outcomes: list[LabelOutcome], title: str, as_json: bool, quiet: bool) -> None:
    if as_json:
        output.emit_json_lines(outcomes)
    elif not quiet:
        output.emit_table(title, ["file", "format", "result", "content ID / reason"], _outcome_rows(outcomes))
    failed = sum(1 for o in outcomes if not o.ok)
    if failed:
        output.error(f"{failed} of {len(outcomes)} files failed / {failed} 个文件处理失败")
        raise typer.Exit(1)


def label(
    ctx: typer.Context,
    files: FilesArg,
    out: OutOpt = None,
    label: Annotated[
        str, typer.Option("--label", "-l", help='AIGC "Label": 1 generated, 2 possibly, 3 suspected.')
    ] = "1",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    explicit: Annotated[
        bool, typer.Option("--explicit", help="First draw/insert the visible or audible label (显式标识).")
    ] = False,
    position: Annotated[str | None, typer.Option("--position", help="Explicit label position.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Explicit label language: zh, en, zh-en")] = None,
    watermark: Annotated[
        bool | None,
        typer.Option(
            "--watermark/--no-watermark",
            help="Embed the invisible watermark (隐式水印) before the implicit label; default: on for "
            "images and videos large enough to carry it.",
        ),
    ] = None,
) -> None:
    """Write a signed GB 45438 implicit label (the AIGC metadata field) into each file."""
    core = open_core(ctx)
    targets = _targets(files, out)
    duplicates = _duplicate_targets(targets)
    if explicit:
        from synthguard.cli import explicit as explicit_cli

        outcomes = explicit_cli.label_with_explicit(
            core,
            files,
            [None if t in duplicates else t for t in targets],
            label=label,
            options=explicit_cli.build_options(core.settings, position=position, lang=lang),
            show_progress=not (as_json or quiet),
            watermark=watermark,
        )
    else:
        with output.progress_bar(len(files), "labeling", enabled=not (as_json or quiet)) as advance:
            outcomes = core.label_files(
                files,
                out_paths=[None if t in duplicates else t for t in targets],
                label=label,
                progress=advance,
                watermark=watermark,
            )
    for index, target in enumerate(targets):
        if target is not None and target in duplicates and duplicates[target] != index:
            outcomes[index] = _duplicate_outcome(files[index], target)
    _finish(outcomes, "AIGC labels written / 已写入隐式标识", as_json, quiet)


def _duplicate_targets(targets: list[Path | None]) -> dict[Path, int]:
    """Targets that several inputs map to: only the first keeps it, the rest are reported."""
    seen: dict[Path, int] = {}
    clashes: dict[Path, int] = {}
    for index, target in enumerate(targets):
        if target is None:
            continue
        if target in seen:
            clashes[target] = seen[target]
        else:
            seen[target] = index
    return clashes


def _duplicate_outcome(source: Path, target: Path) -> LabelOutcome:
    from synthguard.results import FileError

    return LabelOutcome(
        source=str(source),
        ok=False,
        error=FileError(
            code="duplicate_output",
            message=f"another input already writes {target}; rename one of them",
            message_zh=f"多个输入文件会写到同一个输出 {target}，请重命名",
        ),
    )


def propagate(
    ctx: typer.Context,
    files: FilesArg,
    out: OutOpt = None,
    label: Annotated[
        str,
        typer.Option(
            "--label", "-l", help="Only for files without a label: 2 user-declared AI, 3 suspected."
        ),
    ] = "2",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """As a platform: add ContentPropagator/PropagateID/ReservedCode2, keeping the producer's keys."""
    from synthguard.errors import SynthguardError
    from synthguard.labels.batch import file_error

    core = open_core(ctx)
    outcomes: list[LabelOutcome] = []
    with output.progress_bar(len(files), "propagating", enabled=not (as_json or quiet)) as advance:
        for path, target in zip(files, _targets(files, out), strict=True):
            try:
                outcomes.append(core.propagate_file(path, target, label=label))
            except SynthguardError as exc:
                outcomes.append(LabelOutcome(source=str(path), ok=False, error=file_error(exc)))
            except OSError as exc:
                outcomes.append(
                    LabelOutcome(
                        source=str(path),
                        ok=False,
                        error=file_error(SynthguardError(f"{path}: {exc.strerror or exc}")),
                    )
                )
            if advance is not None:
                advance(1)
    _finish(outcomes, "Propagation keys written / 已写入传播标识", as_json, quiet)


def _inspection_rows(results: list[Inspection]) -> list[list[str]]:
    rows = []
    for r in results:
        if r.error is not None:
            rows.append([r.source, r.format or "-", "[red]error[/]", "-", r.error.message])
            continue
        label = r.label or {}
        summary = (
            f"Label={label.get('Label')} producer={label.get('ContentProducer')} id={label.get('ProduceID')}"
            if label
            else "-"
        )
        notes = "; ".join(r.problems + r.warnings)
        rows.append(
            [r.source, r.format, r.verdict, r.integrity or "-", summary + (f"\n{notes}" if notes else "")]
        )
    return rows


def inspect(ctx: typer.Context, files: FilesArg, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Read each file's AIGC label: GB 45438 verdict, label keys and signature integrity."""
    core = open_core(ctx)
    with output.progress_bar(len(files), "inspecting", enabled=not (as_json or quiet)) as advance:
        results = core.inspect_files(files, progress=advance)
    if as_json:
        output.emit_json_lines(results)
    else:
        output.emit_table(
            "Implicit labels / 隐式标识",
            ["file", "format", "verdict", "integrity", "label"],
            _inspection_rows(results),
        )
    if any(not r.ok for r in results):
        raise typer.Exit(1)


def verify(ctx: typer.Context, files: FilesArg, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Check signatures: absent, intact, label-altered, content-altered, signature-unknown-key.

    Exits 0 only when every file is intact.
    """
    core = open_core(ctx)
    with output.progress_bar(len(files), "verifying", enabled=not (as_json or quiet)) as advance:
        results = core.inspect_files(files, progress=advance)
    if as_json:
        output.emit_json_lines(results)
    elif not quiet:
        rows = []
        for r in results:
            reason = (
                r.error.message
                if r.error
                else "; ".join(s.reason for s in (r.producer, r.propagator) if s is not None and s.reason)
            )
            rows.append([r.source, r.integrity or "error", reason])
        output.emit_table("Label integrity / 标识完整性", ["file", "integrity", "reason"], rows)
    if any(r.integrity != "intact" for r in results):
        raise typer.Exit(1)
