"""Offline verifier of a regulator export: the bundle and the provider's public key, nothing else.

For the regulator (Deep Synthesis Provisions Art. 21) and for us in tests. No database, no network,
no synthguard state: only :mod:`merkle` and :mod:`checkpoint`, both pure. A failed check is a
*finding* in the report (a verdict, not an exception), each with a stable code:

=====================  ====================================================================
bundle_unreadable      not a folder or zip, or a required file is missing
file_altered           a file's SHA-256 differs from ``manifest.json`` (corrupt or edited)
key_unreadable         the public key given is not an Ed25519 key / verifier key
checkpoint_invalid     the checkpoint is malformed or not signed by that key (wrong key?)
manifest_mismatch      origin, size or root in the manifest differ from the checkpoint
entry_corrupt          a line, or its leaf, is not the JSON it must be
seq_mismatch           the leaf says another position than the line (reordered, renumbered)
not_in_tree            an entry has no proof or lies beyond the signed tree
proof_truncated        the proof has the wrong number of hashes for its position
proof_mismatch         the leaf and its proof do not lead to the signed root (changed entry)
duplicate_seq          one position appears twice (inserted copy)
gap                    a complete-range export skips positions (removed entry)
time_order             time goes backwards along the log (reordered entries)
entry_count            entries.jsonl has another number of lines than the manifest says
filter_violation       an entry outside the export's declared time range or content ID
range_incomplete       an entry just outside the range lies inside it: entries were left out
personal_mismatch      unsealed personal data does not match the leaf's commitment
=====================  ====================================================================
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from synthguard.errors import CheckpointInvalid, ProofMismatch
from synthguard.ledger.checkpoint import Checkpoint, load_verifier, verify_checkpoint
from synthguard.ledger.merkle import Hash, InclusionProof, inclusion_path_length, leaf_hash, verify_inclusion
from synthguard.ledger.results import BundleReport, Finding

REQUIRED = ("manifest.json", "entries.jsonl", "checkpoint.txt")
MAX_FILE_BYTES = 2 * 1024**3

_ZH = {
    "bundle_unreadable": "导出包无法读取",
    "file_altered": "文件与清单不符（损坏或被修改）",
    "key_unreadable": "公钥无法读取",
    "checkpoint_invalid": "检查点无效或非该公钥签署（公钥错误？）",
    "manifest_mismatch": "清单与检查点不一致",
    "entry_corrupt": "记录格式损坏",
    "seq_mismatch": "记录位置与叶子内容不符（被重排或重新编号）",
    "not_in_tree": "记录不在已签名的树中",
    "proof_truncated": "证明长度不对（被截断？）",
    "proof_mismatch": "记录与证明推不出已签名的树根（记录被修改）",
    "duplicate_seq": "同一位置出现两次（插入的副本）",
    "gap": "完整区间导出缺少位置（记录被删除）",
    "time_order": "时间沿日志倒退（记录被重排）",
    "entry_count": "记录条数与清单不符",
    "filter_violation": "记录超出导出声明的范围",
    "range_incomplete": "区间边界外的记录落在区间内：有记录被遗漏",
    "personal_mismatch": "个人信息与叶子中的承诺值不符",
    "key_from_bundle": "使用了导出包内附带的公钥，请使用独立获得的公钥",
}


class _Report:
    def __init__(self, source: str) -> None:
        self.result = BundleReport(source=source, ok=False)

    def add(self, code: str, message: str, seq: int | None = None, severity: str = "error") -> None:
        zh = _ZH.get(code, code) + (f"（位置 {seq}）" if seq is not None else "")
        self.result.findings.append(
            Finding(code=code, message=message, message_zh=zh, seq=seq, severity=severity)
        )

    def done(self) -> BundleReport:
        self.result.ok = not any(f.severity == "error" for f in self.result.findings)
        return self.result


def _read_files(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {
            p.name: p.read_bytes()
            for p in path.iterdir()
            if p.is_file() and p.stat().st_size < MAX_FILE_BYTES
        }
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if i.file_size < MAX_FILE_BYTES}


def check_bundle(path: Path, key_text: str | None = None) -> BundleReport:
    """Check everything in the bundle; ``key_text`` is a verifier key line or an Ed25519 PEM."""
    report = _Report(str(path))
    try:
        files = _read_files(path)
        manifest = json.loads(files["manifest.json"])
        declared: dict[str, str] = manifest["files"]
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        report.add("bundle_unreadable", f"cannot read the bundle: {type(exc).__name__}: {exc}")
        return report.done()
    for name in REQUIRED:
        if name not in files:
            report.add("bundle_unreadable", f"{name} is missing")
    for name, digest in declared.items():
        if name in files and hashlib.sha256(files[name]).hexdigest() != digest:
            report.add("file_altered", f"{name} does not match its SHA-256 in manifest.json")
    if any(f.code == "bundle_unreadable" for f in report.result.findings):
        return report.done()

    if key_text is None:
        key_text = files.get("public_key.vkey", b"").decode("utf-8", "replace")
        report.add("key_from_bundle", "no --key given: used the key inside the bundle", severity="warning")
    try:
        verifier = load_verifier(key_text)
    except CheckpointInvalid as exc:
        report.add("key_unreadable", exc.message)
        return report.done()
    try:
        checkpoint = verify_checkpoint(files["checkpoint.txt"], verifier)
    except CheckpointInvalid as exc:
        report.add("checkpoint_invalid", exc.message)
        return report.done()
    report.result.origin, report.result.tree_size, report.result.root = (
        checkpoint.origin,
        checkpoint.size,
        str(checkpoint.root),
    )
    if (manifest.get("origin"), manifest.get("tree_size"), manifest.get("root")) != (
        checkpoint.origin,
        checkpoint.size,
        str(checkpoint.root),
    ):
        report.add("manifest_mismatch", "manifest origin/tree_size/root differ from the signed checkpoint")

    filt = manifest.get("filter") or {}
    seqs: list[tuple[int, str]] = []  # (seq, time) of every entry whose leaf parsed
    for number, raw in enumerate(files["entries.jsonl"].splitlines(), 1):
        parsed = _check_entry(report, checkpoint, raw, f"entries.jsonl line {number}")
        if parsed is None:
            continue
        seq, leaf = parsed
        seqs.append((seq, leaf.get("time", "")))
        _check_filter(report, filt, seq, leaf)
    if manifest.get("entries") != len(files["entries.jsonl"].splitlines()):
        report.add("entry_count", "entries.jsonl has a different number of lines than the manifest says")
    _check_sequence(report, seqs, bool(filt.get("complete_range")))
    if filt.get("complete_range") and seqs:
        own = manifest.get("export_entry_seq")
        _check_boundary(report, checkpoint, files.get("boundary.jsonl", b""), filt, seqs, own)
    report.result.entries_checked = len(seqs)
    return report.done()


def _check_entry(
    report: _Report, checkpoint: Checkpoint, raw: bytes, where: str
) -> tuple[int, dict[str, Any]] | None:
    """One line: parse, position, proof, personal commitment. Returns (seq, leaf) when readable."""
    try:
        line = json.loads(raw)
        seq, text = line["seq"], line["leaf"]
        leaf = json.loads(text)
        if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(leaf, dict):
            raise TypeError("seq must be an integer and leaf a JSON object")
    except (ValueError, KeyError, TypeError) as exc:
        report.add("entry_corrupt", f"{where}: {type(exc).__name__}: {exc}")
        return None
    if leaf.get("seq") != seq:
        report.add("seq_mismatch", f"{where}: line says position {seq}, its leaf says {leaf.get('seq')}", seq)
    proof_texts = line.get("proof")
    if proof_texts is None or not 0 <= seq < checkpoint.size:
        report.add(
            "not_in_tree", f"entry {seq} is not covered by the checkpoint of size {checkpoint.size}", seq
        )
        return seq, leaf
    try:
        proof = InclusionProof(seq, checkpoint.size, tuple(Hash.parse(h) for h in proof_texts))
    except (ValueError, TypeError) as exc:
        report.add("entry_corrupt", f"{where}: proof is not a list of base64 hashes ({exc})", seq)
        return seq, leaf
    expected = inclusion_path_length(seq, checkpoint.size)
    if len(proof.hashes) != expected:
        report.add(
            "proof_truncated", f"entry {seq}: proof has {len(proof.hashes)} hashes, needs {expected}", seq
        )
        return seq, leaf
    try:
        verify_inclusion(proof, leaf_hash(text.encode("utf-8")), checkpoint.root)
        report.result.proofs_verified += 1
    except ProofMismatch:
        report.add("proof_mismatch", f"entry {seq} does not lead to the signed root: it was changed", seq)
    if "personal" in line:
        _check_personal(report, seq, leaf, line["personal"])
    return seq, leaf


def _check_personal(report: _Report, seq: int, leaf: dict[str, Any], record: Any) -> None:
    try:
        salt = base64.b64decode(record["salt"], validate=True)
        body = json.dumps(
            {"data": record.get("data") or {}, "user_id": record.get("user_id")},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    except (KeyError, TypeError, binascii.Error) as exc:
        report.add("personal_mismatch", f"entry {seq}: personal record unreadable ({exc})", seq)
        return
    if hashlib.sha256(salt + body).hexdigest() != leaf.get("personal"):
        report.add(
            "personal_mismatch", f"entry {seq}: personal data does not match the leaf's commitment", seq
        )
    else:
        report.result.personal_verified += 1


def _check_filter(report: _Report, filt: dict[str, Any], seq: int, leaf: dict[str, Any]) -> None:
    time = str(leaf.get("time", ""))  # fixed-width ISO 8601 UTC: string order is time order
    if (filt.get("from") and time < filt["from"]) or (filt.get("to") and time > filt["to"]):
        report.add("filter_violation", f"entry {seq} at {time} is outside the exported time range", seq)
    if filt.get("content_id") and leaf.get("content_id") != filt["content_id"]:
        report.add(
            "filter_violation", f"entry {seq} is about {leaf.get('content_id')!r}, not the exported ID", seq
        )


def _check_sequence(report: _Report, seqs: list[tuple[int, str]], complete: bool) -> None:
    counts = Counter(seq for seq, _ in seqs)
    for seq, count in sorted(counts.items()):
        if count > 1:
            report.add("duplicate_seq", f"position {seq} appears {count} times", seq)
    positions = sorted(counts)
    if complete:
        for seq, nxt in itertools.pairwise(positions):
            if nxt != seq + 1:
                report.add(
                    "gap", f"positions {seq + 1}..{nxt - 1} are missing from a complete range", seq + 1
                )
    ordered = sorted(seqs)
    for (seq, time), (nxt, next_time) in itertools.pairwise(ordered):
        if next_time < time:
            report.add("time_order", f"entry {nxt} ({next_time}) is older than entry {seq} ({time})", nxt)


def _check_boundary(
    report: _Report,
    checkpoint: Checkpoint,
    raw: bytes,
    filt: dict[str, Any],
    seqs: list[tuple[int, str]],
    own_seq: Any,
) -> None:
    first, last = min(s for s, _ in seqs), max(s for s, _ in seqs)
    # The neighbours outside a bounded range must be shown, or entries at the edges could be dropped.
    needed = {first - 1} if filt.get("from") and first > 0 else set()
    if filt.get("to") and last + 1 < checkpoint.size:
        needed.add(last + 1)
    for number, line in enumerate(raw.splitlines(), 1):
        parsed = _check_entry(report, checkpoint, line, f"boundary.jsonl line {number}")
        if parsed is None:
            continue
        seq, leaf = parsed
        needed.discard(seq)
        time = str(leaf.get("time", ""))
        inside = not (filt.get("from") and time < filt["from"]) and not (filt.get("to") and time > filt["to"])
        if seq == own_seq and leaf.get("type") == "ledger.export":
            inside = False  # the record of this very export, logged as it was made: in the tree, not hidden
        if seq not in (first - 1, last + 1) or inside:
            report.add(
                "range_incomplete", f"entry {seq} at {time} belongs in the range but was not exported", seq
            )
    for seq in sorted(needed):
        report.add(
            "range_incomplete", f"entry {seq} next to the range is missing: its edge is unchecked", seq
        )
