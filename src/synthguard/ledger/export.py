"""Regulator export: a self-contained bundle that proves a slice of the ledger (Provisions Art. 21).

``synthguard ledger export --from --to [--user] [--content-id] --out BUNDLE`` writes a folder, or a
``.zip`` when BUNDLE ends in ``.zip``, holding:

- ``entries.jsonl``: one object per entry: ``seq``, ``leaf`` (the exact hashed text), ``proof``
  (RFC 9162 inclusion path to the checkpoint) and, with ``--personal``, the unsealed personal
  record whose commitment the leaf carries;
- ``boundary.jsonl``: for an unfiltered time range, the entries just before and after it, with
  proofs, so the verifier can see that nothing at the edges was left out;
- ``checkpoint.txt`` (C2SP signed note), ``public_key.vkey`` / ``public_key.pem``;
- ``manifest.json``: origin, tree size, the filter, and the SHA-256 of every other file;
- ``README.md``: what the bundle is and how to check it without synthguard.

The export is itself logged (``ledger.export``) before the checkpoint is taken, so the bundle's own
checkpoint covers the record of its making. Files are written to a temp name and renamed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from synthguard.errors import LedgerDamaged, LedgerError, NotFound
from synthguard.ledger.log import StoredEntry, iso_us
from synthguard.ledger.results import ExportResult
from synthguard.ledger.service import Ledger

BUNDLE_FORMAT = "synthguard-ledger-export/1"
MAX_EXPORT_ENTRIES = 1_000_000

README = """# Ledger export / 证据账本导出

This bundle proves that the entries in `entries.jsonl` are in the provider's append-only log
(RFC 9162 Merkle tree) whose head is signed in `checkpoint.txt` (C2SP tlog-checkpoint, Ed25519).
本导出包证明 `entries.jsonl` 中的记录位于服务提供者只增不改的日志（RFC 9162 默克尔树）中，
其树根由 `checkpoint.txt`（C2SP tlog-checkpoint，Ed25519 签名）签署。

Check it offline / 离线核验:

    synthguard ledger verify THIS_BUNDLE --key PROVIDER_KEY.vkey

Use the provider's public key obtained independently (algorithm filing, console), not only the
copy in `public_key.vkey`. 请使用独立获得的服务提供者公钥（备案材料、控制台），而非仅用包内副本。

By hand: for each line of `entries.jsonl`, leaf_hash = SHA-256(0x00 || UTF-8 bytes of `leaf`);
follow `proof` with the algorithm of RFC 9162 section 2.1.3.2 from leaf index `seq` in a tree of
`tree_size` leaves (node = SHA-256(0x01 || left || right)); the result must equal the base64 root
on line 3 of `checkpoint.txt`, whose signature line verifies under the Ed25519 key
(signed message = the first lines up to the blank line). `personal.salt` (base64) + canonical
JSON of `{"data":..., "user_id":...}` hashed with SHA-256 must equal the leaf's `personal` field.
`manifest.json` lists the SHA-256 of every file. Entries whose personal data was erased after the
retention period keep their leaf and proof; only the sealed personal record is gone.
"""


def _public_pem(raw: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def export_bundle(
    ledger: Ledger,
    out: Path,
    *,
    from_us: int | None = None,
    to_us: int | None = None,
    user_id: str | None = None,
    content_id: str | None = None,
    include_personal: bool = False,
) -> ExportResult:
    if out.exists():
        raise LedgerError(f"{out} already exists", message_zh=f"{out} 已存在")
    if from_us is not None and to_us is not None and from_us > to_us:
        raise LedgerError("--from is after --to", message_zh="--from 晚于 --to")
    if to_us is None:
        to_us = ledger.clock()  # an open range ends now: the declared range is always explicit
    entries = ledger.select(
        from_us=from_us, to_us=to_us, content_id=content_id, user_id=user_id, limit=MAX_EXPORT_ENTRIES + 1
    )
    if not entries:
        raise NotFound("no ledger entries match the export filter", message_zh="没有符合导出条件的账本记录")
    if len(entries) > MAX_EXPORT_ENTRIES:
        raise LedgerError(
            f"more than {MAX_EXPORT_ENTRIES} entries: narrow the time range",
            message_zh=f"超过 {MAX_EXPORT_ENTRIES} 条记录：请缩小时间范围",
        )
    complete = user_id is None and content_id is None
    filt: dict[str, Any] = {
        "from": iso_us(from_us) if from_us is not None else None,
        "to": iso_us(to_us) if to_us is not None else None,
        "content_id": content_id,
        "user": user_id is not None,
        "complete_range": complete,
    }
    damaged = ""
    try:
        logged_seq: int | None = ledger.record(
            "ledger.export",
            entries=len(entries),
            first_seq=entries[0].seq,
            last_seq=entries[-1].seq,
            filter={k: v for k, v in filt.items() if k != "user"},
            user_filter=user_id is not None,
            include_personal=include_personal,
        ).seq
    except LedgerDamaged as exc:
        # A damaged ledger is exactly what must still be exportable: the verifier will show where.
        logged_seq, damaged = None, exc.message
    head = ledger.checkpoint()
    personal = ledger.vault.open([e.seq for e in entries]) if include_personal else {}

    def line(entry: StoredEntry) -> bytes:
        obj: dict[str, Any] = {"seq": entry.seq, "leaf": entry.leaf.decode("utf-8")}
        # Rows the tree does not cover (only possible if someone wrote the table by hand) go out
        # without a proof: the verifier must see them and say so, not the exporter hide them.
        obj["proof"] = (
            [str(h) for h in ledger.inclusion(entry.seq, head.size).hashes] if entry.seq < head.size else None
        )
        if entry.seq in personal:
            obj["personal"] = personal[entry.seq]
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    files: dict[str, bytes] = {"entries.jsonl": b"".join(line(e) for e in entries)}
    if complete:
        before, after = ledger.neighbours(entries[0].seq, entries[-1].seq)
        files["boundary.jsonl"] = b"".join(line(e) for e in (before, after) if e is not None)
    files["checkpoint.txt"] = head.text.encode("utf-8")
    files["public_key.vkey"] = (ledger.verifier.to_vkey() + "\n").encode()
    files["public_key.pem"] = _public_pem(ledger.verifier.public_key)
    files["README.md"] = README.encode("utf-8")
    manifest = {
        "format": BUNDLE_FORMAT,
        "origin": head.signed.checkpoint.origin,
        "tree_size": head.size,
        "root": str(head.root),
        "exported_at": iso_us(ledger.clock()),
        "export_entry_seq": logged_seq,
        "ledger_damaged": damaged,
        "filter": filt,
        "entries": len(entries),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode() + b"\n"
    _write(out, files)
    return ExportResult(
        path=str(out),
        entries=len(entries),
        tree_size=head.size,
        root=str(head.root),
        include_personal=include_personal,
        export_entry_seq=logged_seq,
        ledger_damaged=damaged,
    )


def _write(out: Path, files: dict[str, bytes]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return
    tmp_dir = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        for name, data in files.items():
            (tmp_dir / name).write_bytes(data)
        os.rename(tmp_dir, out)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
