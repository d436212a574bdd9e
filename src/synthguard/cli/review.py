"""``synthguard review`` and ``synthguard library``: thin commands over ``Synthguard.reviewer``.

``synthguard review TEXT|FILE`` reviews a text (or a text/image/audio/video file); ``review eval``
runs a question bank; ``review queue ...`` works the human review queue; ``library import / export /
stats`` manage the keyword feature library.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from typer.core import TyperGroup

from synthguard.cli import output
from synthguard.cli.context import open_core
from synthguard.errors import InvalidText
from synthguard.labels.implicit import atomic_write

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic"}
AUDIO_EXT = {".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus"}
VIDEO_EXT = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".flv"}
MAX_MEDIA_BYTES = 512 * 1024**2

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


class _DefaultToText(TyperGroup):
    """``synthguard review 你好`` means ``synthguard review text 你好``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["text", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultToText,
    help="Review texts and media; question-bank evaluation; human review queue.",
    no_args_is_help=True,
)
queue_app = typer.Typer(
    help="The human review queue: list, show, claim, decide, escalate, media, purge.", no_args_is_help=True
)
library_app = typer.Typer(help="The keyword feature library: import, export, stats.", no_args_is_help=True)
app.add_typer(queue_app, name="queue")


def _emit(model: Any, as_json: bool) -> bool:
    if as_json:
        typer.echo(json.dumps(model.to_json_dict(), ensure_ascii=False))
    return as_json


def _modality(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXT:
        return "image"
    if suffix in AUDIO_EXT:
        return "audio"
    if suffix in VIDEO_EXT:
        return "video"
    return "text"


@app.command("text")
def review_text(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(help="Text to review, a file (text/image/audio/video), or - for stdin.")
    ],
    service: Annotated[
        str, typer.Option(help="Service type, e.g. chat, tts, face_swap, voice_clone.")
    ] = "chat",
    direction: Annotated[str, typer.Option(help="in: user input; out: generated output.")] = "in",
    user: Annotated[str, typer.Option("--user", help="User ID (for strikes and sanctions).")] = "",
    user_status: Annotated[str, typer.Option(help="verified, unverified, suspended or banned.")] = "verified",
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not record the decision.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Review a text or file: decision, matched categories and spans (offsets into the original)."""
    core = open_core(ctx)
    limit = core.settings.review_max_bytes
    path = Path(target)
    if target == "-":
        data = sys.stdin.buffer.read(limit + 1)
        decision = core.review_text(
            _decode(data, limit, "stdin"),
            service=service,
            direction=direction,
            user_id=user,
            user_status=user_status,
            record=not no_record,
        )
    elif len(target) < 4096 and path.is_file():
        modality = _modality(path)
        size = path.stat().st_size
        if modality == "text":
            if size > limit:
                _decode(b"\0" * (limit + 1), limit, str(path))
            text = _decode(path.read_bytes(), limit, str(path))
            decision = core.review_text(
                text,
                service=service,
                direction=direction,
                user_id=user,
                user_status=user_status,
                record=not no_record,
            )
        else:
            if size > MAX_MEDIA_BYTES:
                raise InvalidText(f"{path} is {size:,} bytes; media review takes at most {MAX_MEDIA_BYTES:,}")
            decision = core.review_media(
                path.read_bytes(),
                modality,
                service=service,
                direction=direction,
                user_id=user,
                user_status=user_status,
            )
    else:
        decision = core.review_text(
            target,
            service=service,
            direction=direction,
            user_id=user,
            user_status=user_status,
            record=not no_record,
        )
    if _emit(decision, as_json):
        return
    colour = {"pass": "green", "mask": "yellow", "review": "cyan"}.get(decision.action, "red")
    output.stdout.print(
        f"decision / 结论: [bold {colour}]{decision.action}[/]  (library v{decision.library_version}, "
        f"decision #{decision.decision_id or '-'})",
        highlight=False,
    )
    if decision.findings:
        output.emit_table(
            "Findings / 命中",
            ["risk", "source", "variant", "span", "text", "action"],
            [
                [
                    f"{f.risk} {f.risk_zh}",
                    f.source,
                    f.variant or f.label,
                    f"{f.start}-{f.end}" if f.start is not None else "-",
                    f.text,
                    f.action,
                ]
                for f in decision.findings
            ],
        )
    if decision.masked_text is not None:
        output.stdout.print(f"masked / 已遮蔽: {decision.masked_text}", highlight=False)
    if decision.refusal_zh:
        output.stdout.print(f"{decision.refusal_zh}\n{decision.refusal_en}", highlight=False)


def _decode(data: bytes, limit: int, what: str) -> str:
    from synthguard.review.engine import text_from_bytes

    return text_from_bytes(data, limit, what)


@app.command("eval")
def review_eval(
    ctx: typer.Context,
    bank: Annotated[Path, typer.Argument(help="Question bank CSV: text,expected[,risk,service,direction].")],
    as_json: JsonOpt = False,
) -> None:
    """TC260-003 metrics: refusal rate on the refusal set, false refusals, output acceptance."""
    from synthguard.review.engine import text_from_bytes
    from synthguard.review.eval import run_bank

    core = open_core(ctx)
    text = text_from_bytes(bank.read_bytes(), core.settings.review_max_bytes, str(bank))

    def review(t: str, c: Any) -> Any:
        return core.reviewer.review_text(t, c, record=False)

    report = run_bank(text, review, library_version=core.reviewer.library.matcher().version)
    if _emit(report, as_json):
        return
    rows = []
    for s in (report.refusal_set, report.non_refusal_set, report.outputs):
        rate = "-" if s.rate is None else f"{s.rate:.1%}"
        meets = "-" if s.meets is None else ("[green]yes[/]" if s.meets else "[red]no[/]")
        rows.append(
            [
                s.name,
                str(s.size),
                str(s.refused),
                rate,
                s.target,
                meets,
                "yes" if s.sample_ok else "too small",
            ]
        )
    output.emit_table(
        f"TC260-003 evaluation / 评估 (library v{report.library_version})",
        ["set", "questions", "refused", "rate", "target", "meets", "sample size"],
        rows,
    )
    for miss in report.misses[:10]:
        output.stdout.print(
            f"  miss line {miss.row}: expected {miss.expected}, got {miss.action}: {miss.text}"
        )
    if not report.passed:
        raise typer.Exit(1)


# --- queue ------------------------------------------------------------------------------------------

ReviewerOpt = Annotated[str, typer.Option("--reviewer", "-r", help="Reviewer name.")]
NoteOpt = Annotated[str, typer.Option("--note", "-n", help="Reviewer note.")]


def _show_item(item: Any, as_json: bool) -> None:
    if _emit(item, as_json):
        return
    output.emit_table(
        f"Review item #{item.id} / 审核任务",
        ["field", "value"],
        [
            ["status", f"{item.status} (level {item.level})"],
            ["categories", ", ".join(item.categories)],
            ["service / direction", f"{item.service} / {item.direction}"],
            ["due", f"{item.due_at:%Y-%m-%d %H:%M} UTC{' OVERDUE' if item.overdue else ''}"],
            ["claimed by", item.claimed_by or "-"],
            ["outcome", f"{item.outcome or '-'} {item.decided_by}"],
            ["content", item.content[:500]],
        ]
        + [[f"note ({n.kind})", f"{n.author}: {n.body}"] for n in item.notes],
    )


@queue_app.command("list")
def queue_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="open, claimed, escalated or decided.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only items past their deadline.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Items by priority and deadline."""
    items = open_core(ctx).reviewer.queue.list(status=status, overdue=overdue, limit=limit)
    if as_json:
        output.emit_json_lines(items)
        return
    output.emit_table(
        "Review queue / 人工审核队列",
        ["id", "status", "level", "categories", "due", "claimed by", "content"],
        [
            [
                str(i.id),
                i.status,
                str(i.level),
                ", ".join(i.categories),
                f"{i.due_at:%m-%d %H:%M}{' !' if i.overdue else ''}",
                i.claimed_by or "-",
                i.content[:40],
            ]
            for i in items
        ],
    )


@queue_app.command("show")
def queue_show(ctx: typer.Context, item_id: int, as_json: JsonOpt = False) -> None:
    """One item with its notes (its audit trail)."""
    _show_item(open_core(ctx).reviewer.queue.get(item_id), as_json)


@queue_app.command("claim")
def queue_claim(ctx: typer.Context, item_id: int, reviewer: ReviewerOpt, as_json: JsonOpt = False) -> None:
    """Claim an item; fails if someone else holds it."""
    _show_item(open_core(ctx).reviewer.queue.claim(item_id, reviewer), as_json)


@queue_app.command("next")
def queue_next(ctx: typer.Context, reviewer: ReviewerOpt, as_json: JsonOpt = False) -> None:
    """Claim the most urgent open item."""
    item = open_core(ctx).reviewer.queue.claim_next(reviewer)
    if item is None:
        if as_json:
            typer.echo(json.dumps({"schema": 1, "item": None}))
        else:
            output.stdout.print("queue is empty / 队列为空")
        return
    _show_item(item, as_json)


@queue_app.command("decide")
def queue_decide(
    ctx: typer.Context,
    item_id: int,
    reviewer: ReviewerOpt,
    outcome: Annotated[str, typer.Option(help="pass, mask, block or sanction.")],
    note: NoteOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Record the reviewer's decision on a claimed item."""
    _show_item(open_core(ctx).reviewer.queue.decide(item_id, reviewer, outcome, note), as_json)


@queue_app.command("escalate")
def queue_escalate(
    ctx: typer.Context, item_id: int, reviewer: ReviewerOpt, note: NoteOpt = "", as_json: JsonOpt = False
) -> None:
    """Pass a claimed item one level up, with a new deadline."""
    _show_item(open_core(ctx).reviewer.queue.escalate(item_id, reviewer, note), as_json)


@queue_app.command("release")
def queue_release(
    ctx: typer.Context, item_id: int, reviewer: ReviewerOpt, note: NoteOpt = "", as_json: JsonOpt = False
) -> None:
    """Give a claimed item back to the queue."""
    _show_item(open_core(ctx).reviewer.queue.release(item_id, reviewer, note), as_json)


@queue_app.command("note")
def queue_note(
    ctx: typer.Context,
    item_id: int,
    body: Annotated[str, typer.Argument(help="The note.")],
    reviewer: ReviewerOpt,
    as_json: JsonOpt = False,
) -> None:
    """Add a reviewer note."""
    _show_item(open_core(ctx).reviewer.queue.add_note(item_id, reviewer, body), as_json)


@queue_app.command("media")
def queue_media(
    ctx: typer.Context,
    item_id: int,
    reviewer: ReviewerOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the decrypted media to this file.")],
    as_json: JsonOpt = False,
) -> None:
    """Export a queued item's media (decrypted) for a reviewer working outside the console; the
    export is logged to the ledger with the reviewer's name, like a console view."""
    import hashlib

    from synthguard.errors import NotFound

    core = open_core(ctx)
    queue = core.reviewer.queue
    name = reviewer.strip()
    if not name:
        raise InvalidText("--reviewer names who exports the media", message_zh="请用 --reviewer 指明导出人")
    found = queue.media(item_id)
    if found is None:
        queue.get(item_id)  # NotFound for a missing item
        raise NotFound(
            f"review item {item_id} keeps no media (none, too large, or erased by retention)",
            message_zh=f"审核任务 {item_id} 无可导出的媒体（无媒体、超出大小上限或已按保存期限删除）",
        )
    data, media_type = found

    def write(f: BinaryIO) -> None:
        f.write(data)

    atomic_write(out, write, fsync=core.settings.fsync)
    digest = hashlib.sha256(data).hexdigest()
    core.record(
        "review.media_export", None, item_id=item_id, reviewer=name, media_type=media_type, sha256=digest
    )
    result = {"schema": 1, "item_id": item_id, "path": str(out), "media_type": media_type, "bytes": len(data)}
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        output.stdout.print(f"{out}: {media_type}, {len(data):,} bytes / 已导出")


@queue_app.command("purge")
def queue_purge(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Erase the sealed text/media of decided items past retention (SYNTHGUARD_REVIEW_RETENTION_DAYS,
    >= 184) and destroy emptied month keys; the purge itself is logged to the ledger. Run from cron."""
    core = open_core(ctx)
    result = core.reviewer.queue.purge()
    core.record("review.purge", None, **result)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    output.emit_table(
        "Review retention purge / 审核内容保存期限清理",
        ["field", "value"],
        [[k, str(v)] for k, v in result.items()],
    )


# --- library ----------------------------------------------------------------------------------------


@library_app.command("import")
def library_import(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="CSV (header: term,category[,action,...]) or JSON.")
    ] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Import the shipped SAMPLE library.")] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Entries missing from the file are removed.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows, list the rest.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Publish a new library version (every replica picks it up without a restart)."""
    from synthguard.review.keywords import read_library
    from synthguard.review.library import sample_library

    if (file is None) == (not sample):
        raise InvalidText("give a FILE or --sample", message_zh="请指定文件或 --sample")
    data, name = (sample_library(), "sample_library.csv") if sample else (file.read_bytes(), file.name)  # type: ignore[union-attr]
    entries, problems = read_library(data, name)
    library = open_core(ctx).reviewer.library
    report = library.import_entries(
        entries, problems=problems, replace=replace, skip_invalid=skip_invalid, source=name
    )
    result = report.to_json_dict()
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    output.stdout.print(
        f"library v{report.version}: +{report.added} new, {report.updated} updated, "
        f"-{report.removed} removed, "
        f"{report.unchanged} unchanged, {report.total} live",
        highlight=False,
    )
    for code in report.created_categories:
        output.stdout.print(f"  new provider-defined category / 新建自定义类别: {code}")
    for p in report.skipped:
        output.error(f"row {p.row} skipped: {p.message}")


@library_app.command("export")
def library_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json.")] = "csv",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file (default stdout).")
    ] = None,
) -> None:
    """The live library (same columns as import)."""
    text = open_core(ctx).reviewer.library.export(fmt)
    if out is None:
        sys.stdout.write(text)
        return
    payload = text.encode("utf-8")

    def write(f: BinaryIO) -> None:
        f.write(payload)

    atomic_write(out, write, fsync=open_core(ctx).settings.fsync)


@library_app.command("stats")
def library_stats(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Entries per risk against the TC260-003 minimums, version and last update."""
    stats = open_core(ctx).reviewer.library.stats()
    data = {
        "schema": 1,
        "version": stats.version,
        "total": stats.total,
        "meets_total": stats.meets_total,
        "updated_at": stats.updated_at.isoformat() if stats.updated_at else None,
        "updated_within_week": stats.updated_within_week,
        "modes": stats.modes,
        "categories": [
            {
                "code": c.code,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "count": c.count,
                "required": c.required,
                "meets": c.meets,
            }
            for c in stats.categories
        ],
    }
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    output.stdout.print(
        f"library v{stats.version}: {stats.total} entries (TC260-003 asks >= 10,000: "
        f"{'yes' if stats.meets_total else 'no'}); "
        f"updated within a week: {'yes' if stats.updated_within_week else 'no'}",
        highlight=False,
    )
    output.emit_table(
        "Entries per risk / 各风险条目数",
        ["risk", "name", "entries", "TC260 minimum", "meets"],
        [
            [c.code, c.name_zh, str(c.count), str(c.required or "-"), ("yes" if c.meets else "[red]no[/]")]
            for c in stats.categories
        ],
    )
