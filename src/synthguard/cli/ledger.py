"""``synthguard ledger ...``: the evidence ledger, regulator exports and C2PA, over ``Synthguard``.

``verify`` is the exception that proves the rule: it opens no store and no key, only the bundle
and the public key it is given, because the regulator runs it on their own machine.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from synthguard.cli import output
from synthguard.cli.context import open_core
from synthguard.errors import LedgerError

app = typer.Typer(help="Tamper-evident evidence ledger, regulator export, C2PA. 证据账本、监管导出、C2PA。")
c2pa_app = typer.Typer(help="C2PA Content Credentials: sign, read, make a test chain. C2PA 内容凭证。")
app.add_typer(c2pa_app, name="c2pa")

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
RESERVED_REFS = ("event_type", "content_id", "user_id", "personal", "idem_key")


def _parse_time(text: str | None, *, end: bool) -> int | None:
    """ISO date or date-time -> UTC microseconds; a bare date means the whole day."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise LedgerError(
            f"{text!r} is not an ISO date or date-time (e.g. 2026-11-01 or 2026-11-01T08:00:00+08:00)",
            message_zh=f"{text!r} 不是 ISO 日期或时间（如 2026-11-01 或 2026-11-01T08:00:00+08:00）",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if end and len(text) == 10:
        value += dt.timedelta(days=1, microseconds=-1)
    return int(value.timestamp() * 1_000_000)


def _emit(result: Any, as_json: bool, rows: list[tuple[str, str]], title: str) -> None:
    if as_json:
        output.emit_json_lines([result])
    else:
        output.emit_table(title, ["field", "value"], [[k, v] for k, v in rows])


@app.command("append")
def append(
    ctx: typer.Context,
    event_type: Annotated[str, typer.Argument(help="Dotted lowercase type, e.g. admin.action")],
    content_id: Annotated[
        str | None, typer.Option("--content-id", help="Content ID the event is about.")
    ] = None,
    ref: Annotated[
        list[str] | None, typer.Option("--ref", help="key=value reference (digest, ID); repeatable.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="User ID (sealed apart, erasable).")] = None,
    idem_key: Annotated[str | None, typer.Option("--idem-key", help="Retry-safe key: logged once.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Append one entry durably (admin actions, consent, refutations...)."""
    refs: dict[str, Any] = {}
    for item in ref or []:
        key, sep, value = item.partition("=")
        if not sep or not key or key in RESERVED_REFS:
            raise LedgerError(
                f"--ref {item!r} must be key=value, key not one of {', '.join(RESERVED_REFS)}",
                message_zh=f"--ref {item!r} 须为 key=value，且 key 不能是 {', '.join(RESERVED_REFS)}",
            )
        refs[key] = value
    result = open_core(ctx).record(event_type, content_id, user_id=user, idem_key=idem_key, **refs)
    _emit(
        result,
        as_json,
        [("seq", str(result.seq)), ("leaf hash", result.leaf_hash), ("logged at", result.logged_at)]
        + ([("duplicate", "yes (already logged)")] if result.duplicate else []),
        "Ledger entry / 账本记录",
    )


@app.command("checkpoint")
def checkpoint(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print the newest signed checkpoint (C2SP tlog-checkpoint), signing one if the log grew."""
    ledger = open_core(ctx).ledger
    result = ledger.checkpoint_result()
    if as_json:
        output.emit_json_lines([result])
    else:
        typer.echo(result.note, nl=False)
        output.stderr.print(f"verifier key / 验证公钥: {result.verifier_key}", highlight=False)


@app.command("proof")
def proof(ctx: typer.Context, content_id: str, as_json: JsonOpt = False) -> None:
    """Inclusion proofs of every entry about CONTENT_ID, against the newest checkpoint."""
    result = open_core(ctx).ledger.proofs_for(content_id)
    if as_json:
        output.emit_json_lines([result])
        return
    rows = [
        [str(e.seq), json.loads(e.leaf).get("type", ""), e.leaf_hash, str(len(e.proof))]
        for e in result.entries
    ]
    output.emit_table(
        f"Inclusion in tree of {result.checkpoint.size} / 包含证明 (root {result.checkpoint.root})",
        ["seq", "type", "leaf hash", "proof hashes"],
        rows,
    )


@app.command("consistency")
def consistency(
    ctx: typer.Context,
    first: Annotated[int, typer.Option("--first", help="Older tree size (from a checkpoint you kept).")],
    second: Annotated[int | None, typer.Option("--second", help="Newer tree size; default: now.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Consistency proof: the tree of FIRST entries is a prefix of the tree of SECOND."""
    result = open_core(ctx).ledger.consistency(first, second)
    _emit(
        result,
        as_json,
        [
            ("first", f"{result.first}  {result.first_root}"),
            ("second", f"{result.second}  {result.second_root}"),
            ("proof", "\n".join(result.proof) or "(empty)"),
        ],
        "Consistency proof / 一致性证明",
    )


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Bundle folder, or a .zip file.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="ISO date/time, inclusive (UTC if no zone).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="ISO date/time, inclusive; a date = whole day.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's entries.")] = None,
    content_id: Annotated[str | None, typer.Option("--content-id", help="Only this content ID.")] = None,
    personal: Annotated[bool, typer.Option("--personal", help="Include unsealed personal data.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a regulator bundle: entries, proofs, checkpoint, public key, README (logged too)."""
    from synthguard.ledger import export_bundle

    core = open_core(ctx)
    result = export_bundle(
        core.ledger,
        out,
        from_us=_parse_time(from_, end=False),
        to_us=_parse_time(to, end=True),
        user_id=user,
        content_id=content_id,
        include_personal=personal,
    )
    _emit(
        result,
        as_json,
        [
            ("bundle", result.path),
            ("entries", str(result.entries)),
            ("tree size", str(result.tree_size)),
            ("root", result.root),
        ],
        "Regulator export / 监管导出",
    )


@app.command("verify")
def verify(
    bundle: Annotated[Path, typer.Argument(help="Export folder or .zip.")],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", help="Provider public key (.vkey line or Ed25519 PEM), obtained independently."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check an export offline with only the public key. Exits 1 unless every check passes."""
    from synthguard.ledger import check_bundle

    key_text = None
    if key is not None:
        try:
            key_text = key.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(
                f"cannot read key {key}: {exc}", message_zh=f"无法读取公钥 {key}：{exc}"
            ) from None
    report = check_bundle(bundle, key_text)
    if as_json:
        output.emit_json_lines([report])
    else:
        verdict = "[green]VALID / 有效[/]" if report.ok else "[red]INVALID / 无效[/]"
        output.stdout.print(
            f"{verdict}  {report.source}: {report.entries_checked} entries, {report.proofs_verified} proofs, "
            f"{report.personal_verified} personal records verified; tree {report.tree_size} {report.root}",
            highlight=False,
        )
        if report.findings:
            output.emit_table(
                "Findings / 发现的问题",
                ["severity", "code", "seq", "message"],
                [
                    [f.severity, f.code, "" if f.seq is None else str(f.seq), f"{f.message}\n{f.message_zh}"]
                    for f in report.findings
                ],
            )
    if not report.ok:
        raise typer.Exit(1)


@app.command("purge")
def purge(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Erase personal data past retention (never < 6 months); the purge itself is logged."""
    result = open_core(ctx).ledger.purge()
    _emit(
        result,
        as_json,
        [
            ("cutoff", result.cutoff),
            ("personal records erased", str(result.personal_records_erased)),
            ("entries unlinked", str(result.entries_unlinked)),
            ("keys destroyed", ", ".join(result.keys_destroyed) or "-"),
            ("logged as seq", str(result.purge_entry_seq)),
        ],
        "Retention purge / 保存期限清理",
    )


@app.command("stats")
def stats(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Size, root, time span, event counts, last purge."""
    result = open_core(ctx).ledger.stats()
    _emit(
        result,
        as_json,
        [
            ("origin", result.origin),
            ("size", str(result.size)),
            ("root", result.root),
            ("span", f"{result.first_logged_at or '-'} .. {result.last_logged_at or '-'}"),
            ("personal records", str(result.personal_records)),
            ("latest checkpoint", str(result.latest_checkpoint_size)),
            ("retention days", str(result.retention_days)),
            ("last purge", json.dumps(result.last_purge, ensure_ascii=False) if result.last_purge else "-"),
            ("events", ", ".join(f"{k}={v}" for k, v in sorted(result.event_types.items())) or "-"),
        ],
        "Ledger / 证据账本",
    )


# --- C2PA ----------------------------------------------------------------------------------------------


@c2pa_app.command("sign")
def c2pa_sign(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Media files (label them first).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for signed copies.")] = None,
    content_id: Annotated[
        str | None, typer.Option("--content-id", help="Default: the file's GB 45438 ProduceID.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Embed a signed C2PA manifest (created, trainedAlgorithmicMedia, our content ID and label)."""
    core = open_core(ctx)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    results = [core.sign_c2pa_file(f, out / f.name if out else None, content_id=content_id) for f in files]
    if as_json:
        output.emit_json_lines(results)
    else:
        output.emit_table(
            "C2PA signed / 已签署 C2PA",
            ["file", "state", "content ID"],
            [[r.path, r.state, r.content_id] for r in results],
        )


@c2pa_app.command("read")
def c2pa_read(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Files to read.")],
    as_json: JsonOpt = False,
) -> None:
    """Read and validate C2PA manifests (Trusted / Valid / Invalid, with failure codes)."""
    from synthguard.ledger import read_c2pa

    settings = ctx.find_root().obj.settings
    anchors = settings.c2pa_trust_anchors.read_bytes() if settings.c2pa_trust_anchors else b""
    results = [read_c2pa(f, trust_anchors_pem=anchors) for f in files]
    if as_json:
        output.emit_json_lines(results)
    else:
        output.emit_table(
            "C2PA manifests / C2PA 清单",
            ["file", "state", "failures", "content ID", "source type"],
            [
                [
                    r.source,
                    r.state if r.present else "absent / 无",
                    ", ".join(r.failures),
                    r.content_id,
                    r.digital_source_type.rsplit("/", 1)[-1],
                ]
                for r in results
            ],
        )


@c2pa_app.command("test-chain")
def c2pa_test_chain(folder: Annotated[Path, typer.Argument(help="Where to write the PEM files.")]) -> None:
    """Make a throw-away root -> intermediate -> leaf chain for tests and demos (not production)."""
    from synthguard.ledger import make_test_chain

    chain = make_test_chain(folder)
    typer.echo(
        f"SYNTHGUARD_C2PA_CERT_CHAIN={chain.chain}\nSYNTHGUARD_C2PA_PRIVATE_KEY={chain.key}\n"
        f"SYNTHGUARD_C2PA_TRUST_ANCHORS={chain.root}"
    )
