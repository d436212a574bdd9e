"""The one core API that the CLI, the HTTP service and (later) the gateway and console call.

``Synthguard.open(settings)`` owns the store and the signing key. ``label_file`` writes a signed
producer label (GB 45438 6.1; Deep Synthesis Provisions Art. 16), ``propagate_file`` adds a
platform's keys (Labeling Measures Art. 6), ``inspect_file``/``verify_file`` read a file back and
judge both the Annex E conformance and the signatures (Art. 18: tampering must show).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import tempfile
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TypeVar

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session, sessionmaker

from synthguard.config import Settings
from synthguard.errors import ConfigError, MediaTooSmall, SynthguardError, UnsupportedFormat
from synthguard.ids import new_content_id
from synthguard.labels import batch, implicit
from synthguard.labels.batch import Produced, file_error, os_error
from synthguard.labels.explicit import ExplicitOptions, Notice, staged_explicit
from synthguard.labels.model import AIGCLabel, Integrity, LabelFinding, LabelValue, Verdict
from synthguard.labels.security_data import Sm2Signer
from synthguard.labels.sign import (
    Ed25519Signer,
    SignatureCheck,
    Signer,
    b64url,
    check_producer,
    check_propagator,
    label_digests,
    sign_producer,
    sign_propagator,
    signing_digest,
    unb64url,
)
from synthguard.results import Inspection, LabelOutcome, SignatureStatus
from synthguard.store import LabelRecord, SigningKey, make_engine, make_sessionmaker, upgrade
from synthguard.store.models import utcnow

if TYPE_CHECKING:
    from synthguard.governance import Governance, RefutationView
    from synthguard.identity import ApiKeys, UserDirectory
    from synthguard.ledger import Entry, Ledger
    from synthguard.ledger.results import AppendResult, C2paResult
    from synthguard.review.engine import ReviewEngine
    from synthguard.review.policy import ReviewDecision
    from synthguard.store.models import WatermarkRecord
    from synthguard.watermark.payload import Keyring

Progress = Callable[[int], None]
PRODUCER_KEY_FILE = "producer-ed25519.pem"
SM2_KEY_FILE = "producer-sm2.key"
AUDIO_MARK_ATTEMPTS = 3
RECORD_BATCH = 256
# Near the end of a parallel batch: records commit in batches this small, while the workers finish.
TAIL_RECORD_BATCH = 32
# Labeled files staged but not yet committed, in bytes: bounds the temp space a batch of videos holds.
STAGED_BYTES_MAX = 256 << 20
# Worst first: the overall integrity of a file is the worst of its two signatures.
_SEVERITY = [
    Integrity.LABEL_ALTERED,
    Integrity.CONTENT_ALTERED,
    Integrity.UNKNOWN_KEY,
    Integrity.UNSIGNED,
    Integrity.INTACT,
]


class Synthguard:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], signer: Signer) -> None:
        self.settings = settings
        self.sessions = sessions
        self.signer = signer
        # The producer's ReservedCode1 signer: Ed25519 (SG1) by default, SM2 SecurityData on request
        # (TC260-PG-202511A interop). Platform signatures (ReservedCode2) always use ``signer``.
        self.producer_signer: Signer = signer
        self._public_keys: dict[str, bytes] = {signer.key_id: signer.public_key_bytes()}
        # Label worker processes kept between batches; stopped by close() or when this object goes.
        self._label_workers = batch.KeptWorkers()
        weakref.finalize(self, self._label_workers.close)

    @classmethod
    def open(cls, settings: Settings) -> Synthguard:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        signer = _load_or_create_signer(settings.keys_dir / PRODUCER_KEY_FILE)
        core = cls(settings, sessions, signer)
        core.register_key(signer, role="producer", owner_code=settings.provider_code)
        if settings.label_signature == "sm2":
            core.producer_signer = _load_or_create_sm2_signer(settings.keys_dir / SM2_KEY_FILE)
            core.register_key(core.producer_signer, role="producer", owner_code=settings.provider_code)
        return core

    def close(self) -> None:
        self._label_workers.close()
        if "ledger" in self.__dict__:
            self.ledger.close()
        bind = self.sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()

    def __enter__(self) -> Synthguard:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- keys -----------------------------------------------------------------------------------

    def register_key(self, signer: Signer, *, role: str, owner_code: str = "") -> None:
        self.add_public_key(
            signer.key_id,
            signer.public_key_bytes(),
            role=role,
            owner_code=owner_code,
            algorithm=signer.algorithm,
        )

    def add_public_key(
        self,
        key_id: str,
        public_key: bytes,
        *,
        role: str = "external",
        owner_code: str = "",
        algorithm: str = "ed25519",
    ) -> None:
        """Trust another party's public key (e.g. a producer whose files a platform verifies)."""
        with self.sessions.begin() as session:
            if session.get(SigningKey, key_id) is None:
                session.add(
                    SigningKey(
                        key_id=key_id,
                        algorithm=algorithm,
                        public_key=b64url(public_key),
                        role=role,
                        owner_code=owner_code,
                    )
                )
        self._public_keys[key_id] = public_key

    def public_key(self, key_id: str) -> bytes | None:
        # Keys never change once issued, so a positive answer is cached; a miss asks the store
        # again, because another replica may have registered the key since.
        cached = self._public_keys.get(key_id)
        if cached is not None:
            return cached
        with self.sessions() as session:
            row = session.get(SigningKey, key_id)
        if row is None:
            return None
        self._public_keys[key_id] = unb64url(row.public_key)
        return self._public_keys[key_id]

    def list_keys(self) -> list[SigningKey]:
        with self.sessions() as session:
            return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at)))

    # --- producing ------------------------------------------------------------------------------

    def _require_code(self, code: str, setting: str) -> str:
        if not code:
            raise ConfigError(
                f"set SYNTHGUARD_{setting.upper()} to your 27-character provider code "
                "(TC260-PG-20252A) before labeling",
                message_zh=f"请先设置 SYNTHGUARD_{setting.upper()}（27 位服务提供者编码）",
            )
        return code

    def label_file(
        self,
        path: Path,
        out: Path | None = None,
        *,
        label: str = "1",
        produce_id: str | None = None,
        explicit: bool | ExplicitOptions = False,
        progress: Callable[[float], None] | None = None,
        watermark: bool | None = None,
    ) -> LabelOutcome:
        """Write a signed producer label; ``out`` is a file path (None: in place, atomically).

        With ``explicit`` the visible/audible label is rendered first and the implicit label is
        signed over the labeled content, in one pass (GB 45438-2025 asks for both); ``progress``
        gets the fraction done of a long video.
        """
        producer = self._require_code(self.settings.provider_code, "provider_code")
        LabelValue.parse(label)
        pending = self._label_one(
            path, out, producer, label, produce_id, self.explicit_options(explicit), progress, watermark
        )
        self._commit_records([pending])
        pending.staged.commit()
        return pending.outcome

    def label_files(
        self,
        paths: Sequence[Path],
        *,
        out_paths: Sequence[Path | None] | None = None,
        label: str = "1",
        produce_ids: Sequence[str | None] | None = None,
        progress: Progress | None = None,
        explicit: bool | ExplicitOptions = False,
        watermark: bool | None = None,
    ) -> list[LabelOutcome]:
        """Label many files; a bad file yields an outcome with ``error`` and never stops the batch.

        Metadata-only labeling (no explicit label, ``watermark=False``) runs in parallel: on forked
        worker processes for batches of a few dozen files or more, otherwise on a few threads (see
        :func:`synthguard.labels.batch.plan`). Each labeled file waits as a temp file beside its
        target until the records of its batch commit (see :meth:`_finish_batch`); outcomes are
        returned after that. ``progress`` advances as each file is done (staged or failed), so the
        bar moves per file even when a batch of slow watermarked files commits late.
        """
        producer = self._require_code(self.settings.provider_code, "provider_code")
        LabelValue.parse(label)
        explicit_options = self.explicit_options(explicit)
        outs = out_paths or [None] * len(paths)
        ids = produce_ids or [None] * len(paths)
        jobs: list[batch.Job] = list(zip(paths, outs, ids, strict=True))
        spec = self._producer_spec(producer, label)

        def stage(job: batch.Job) -> _Pending | Produced:
            if explicit_options is None and watermark is False:
                return batch.produce(spec, job)
            path, out, given_id = job
            return self._label_one(
                path, out, producer, label, given_id, explicit_options, watermark=watermark
            )

        # Explicit labels and watermarks render media with libraries we do not vouch for across
        # threads (and take seconds per file anyway): they stay on the calling thread.
        mode: batch.Mode = "inline"
        workers = 1
        if explicit_options is None and watermark is False:
            mode, workers = batch.plan(jobs, self.producer_signer)
        chunk_files = batch.PROCESS_CHUNK_FILES if mode == "processes" else batch.CHUNK_FILES
        parallel, tail_files = workers > 1, max(chunk_files, TAIL_RECORD_BATCH)
        outcomes: list[LabelOutcome] = []
        pending: list[_Pending] = []
        with contextlib.ExitStack() as pools:
            submit = self._chunk_runner(mode, workers, spec, stage, pools)
            try:
                for segment in batch.segments(jobs):
                    staged_bytes = 0
                    # closing(): on an error here the workers stop and what they staged ahead goes.
                    staging = batch.staged_in_order(submit, segment, workers, chunk_files)
                    with contextlib.closing(staging) as results:
                        for done, result in enumerate(results, 1):
                            if isinstance(result, LabelOutcome):  # failed: nothing was staged
                                outcomes.append(result)
                            else:
                                # Owned by ``pending`` first, so whatever fails next discards it.
                                pending.append(self._adopt(result))
                                outcomes.append(pending[-1].outcome)
                                staged_bytes += pending[-1].staged.size
                            if progress is not None:
                                progress(1)
                            # The last files (all submitted by now) commit a few dozen at a time,
                            # while the workers finish theirs: what is left once they are done is small.
                            left = len(segment) - done
                            tail = parallel and left < batch.AHEAD_FILES and len(pending) >= tail_files
                            if tail or len(pending) >= RECORD_BATCH or staged_bytes >= STAGED_BYTES_MAX:
                                self._finish_batch(pending)
                                staged_bytes = 0
                    # A segment ends where a later file reads what this one writes: rename first.
                    self._finish_batch(pending)
            except BaseException:
                for staged in pending:
                    staged.staged.discard()
                raise
        return outcomes

    def _producer_spec(self, producer: str, label: str) -> batch.ProducerSpec:
        signer = self.producer_signer
        digest = signing_digest(signer, self.settings.label_digest)
        return batch.ProducerSpec(producer, label, signer, self.settings.fsync, digest)

    def _adopt(self, result: _Pending | Produced) -> _Pending:
        if isinstance(result, _Pending):
            return result
        try:
            return self._pending(result, role="produce")
        except BaseException:
            result.staged.discard()
            raise

    def _chunk_runner(
        self,
        mode: batch.Mode,
        workers: int,
        spec: batch.ProducerSpec,
        stage: Callable[[batch.Job], _Pending | Produced],
        pools: contextlib.ExitStack,
    ) -> Callable[[list[batch.Job]], batch.Reply[list[_Pending | Produced | LabelOutcome]]]:
        """Where chunks of jobs run: forked workers (``produce`` only), threads, or right here."""
        if mode == "processes":
            processes = pools.enter_context(self._label_workers.lease(spec, workers))
            return processes.submit  # type: ignore[return-value]  # workers return Produced, not _Pending
        if mode == "threads":
            threads = pools.enter_context(batch.thread_pool(workers))
            return lambda chunk: threads.submit(batch.stage_chunk, stage, chunk)

        def inline(chunk: list[batch.Job]) -> Future[list[_Pending | Produced | LabelOutcome]]:
            future: Future[list[_Pending | Produced | LabelOutcome]] = Future()
            future.set_result(batch.stage_chunk(stage, chunk))
            return future

        return inline

    def explicit_options(self, explicit: bool | ExplicitOptions) -> ExplicitOptions | None:
        """Explicit-label options from the settings (``True``) or as given; None for ``False``."""
        if isinstance(explicit, ExplicitOptions):
            explicit.validate()
            return explicit
        if not explicit:
            return None
        lang = self.settings.explicit_lang
        options = ExplicitOptions(notice=Notice(lang=lang), position=self.settings.explicit_position)  # type: ignore[arg-type]
        options.validate()
        return options

    def _label_explicit(
        self,
        path: Path,
        out: Path | None,
        producer: str,
        label: str,
        content_id: str,
        options: ExplicitOptions,
        progress: Callable[[float], None] | None,
        watermark: bool | None = None,
    ) -> _Pending:
        target = out or path
        plugin = implicit.files.identify_path(path)
        if not plugin.writable:  # fail before rendering a long video whose implicit label cannot be written
            raise UnsupportedFormat(
                f"{plugin.name}: synthguard cannot write the implicit label of this format yet",
                message_zh=f"{plugin.name} 格式暂不支持写入隐式标识",
            )
        seeded = options.with_seed(content_id)
        with staged_explicit(path, target, seeded, progress=progress) as (staged, shown):
            pending = self._label_one(staged, target, producer, label, content_id, watermark=watermark)
        pending.outcome.source = str(path)
        pending.outcome.explicit = {"kind": shown.kind, **shown.detail}
        pending.record.file_name = path.name[:255]
        return pending

    def _label_one(
        self,
        path: Path,
        out: Path | None,
        producer: str,
        label: str,
        given_id: str | None,
        explicit: ExplicitOptions | None = None,
        progress: Callable[[float], None] | None = None,
        watermark: bool | None = None,
    ) -> _Pending:
        """Stage one labeled file (a temp file beside the target) with its record; nothing renamed yet."""
        content_id = given_id or new_content_id()
        if explicit is not None:
            return self._label_explicit(path, out, producer, label, content_id, explicit, progress, watermark)
        if watermark is not False:
            # Order (issue #4): explicit label, then the invisible watermark, then the implicit label,
            # whose signature must cover the watermarked pixels.
            marked = self._watermark_stage(path, content_id, required=bool(watermark))
            if marked is not None:
                staged, detail = marked
                try:
                    pending = self._label_one(
                        staged, out or path, producer, label, content_id, watermark=False
                    )
                finally:
                    staged.unlink(missing_ok=True)
                pending.outcome.source = str(path)
                pending.outcome.watermark = detail
                pending.record.file_name = path.name[:255]
                return pending
        spec = self._producer_spec(producer, label)
        return self._pending(batch.produce(spec, (path, out, content_id)), role="produce")

    def _stage(
        self,
        path: Path,
        target: Path,
        src: BinaryIO,
        plugin: implicit.FormatPlugin,
        algorithm: str,
        digest: bytes,
        aigc: AIGCLabel,
        *,
        role: str,
    ) -> _Pending:
        """The record and outcome of a label about to be written, and its staged temp file."""
        mode = implicit.source_mode(src)
        staged = implicit.stage_opened(plugin, src, aigc, target, fsync=self.settings.fsync, mode=mode)
        try:
            produced = Produced(path, target, plugin.name, algorithm, digest, aigc, aigc.to_json(), staged)
            return self._pending(produced, role=role)
        except BaseException:
            staged.discard()
            raise

    def _pending(self, produced: Produced, *, role: str) -> _Pending:
        """Pair a staged label with its store record and the outcome the caller gets back."""
        aigc = produced.label
        content_id = aigc.PropagateID if role == "propagate" else aigc.ProduceID
        key_id = self.signer.key_id
        record = _LabelRow(
            content_id=content_id,
            role=role,
            file_name=os.path.basename(produced.source)[:255],
            format=produced.format,
            content_digest=produced.digest.hex(),
            label_json=produced.label_json,
            key_id=key_id,
        )
        outcome = LabelOutcome(
            source=str(produced.source),
            path=str(produced.target),
            format=produced.format,
            role=role,
            content_id=content_id,
            label=aigc.to_dict(),
            key_id=key_id,
        )
        return _Pending(outcome, record, produced.staged, produced.algorithm)

    def _commit_records(self, batch: Sequence[_Pending]) -> None:
        """Commit the records (and ledger entries) of staged files; on failure no file is renamed."""
        try:
            self._save_records(list(batch))
        except BaseException:
            for pending in batch:
                pending.staged.discard()
            raise

    def _finish_batch(self, batch: list[_Pending]) -> None:
        """Commit the batch's records and ledger entries in one transaction, then rename its files.

        Order decides what a crash can leave behind. Record first, rename second: every labeled file
        at its target has a committed record and ledger entry. A crash between the two leaves
        records of labels whose files were never renamed in (the targets keep their previous
        bytes; ``.sgtmp`` temp files remain beside them): evidence of a label that never left, never
        a label without evidence. A file is reported labeled only after both steps; a rename that
        fails (the target folder vanished) is reported as that file's error, its record stays.
        """
        if not batch:
            return
        self._commit_records(batch)
        for pending in batch:
            try:
                pending.staged.commit()
            except OSError as exc:
                pending.outcome.ok = False
                pending.outcome.error = os_error(exc)
        batch.clear()

    def _save_records(self, pending: list[_Pending]) -> None:
        if not pending:
            return
        # Evidence (Art. 16): one ledger entry per label issued. When the ledger shares the store's
        # database (the default) the records and their entries commit in ONE transaction, so a crash
        # leaves both or neither; otherwise the idempotency key (the record's id) keeps a retried
        # batch from logging twice.
        bind = self.sessions.kw.get("bind")
        if bind is not None and self.ledger.shares_database(bind):
            with self.ledger.transaction() as conn:
                _insert_records(conn, [p.record for p in pending])
                self.ledger.record_many([_label_entry(p) for p in pending], conn=conn)
        else:
            with self.sessions.begin() as session:
                _insert_records(session.connection(), [p.record for p in pending])
            self.ledger.record_many([_label_entry(p) for p in pending])
        pending.clear()

    # --- propagating ----------------------------------------------------------------------------

    def propagate_file(
        self,
        path: Path,
        out: Path | None = None,
        *,
        label: str = "2",
        propagate_id: str | None = None,
    ) -> LabelOutcome:
        """Add this platform's keys (Labeling Measures Art. 6), keeping the producer's untouched.

        With no label in the file, the platform becomes the first writer: ``label`` says how sure it
        is ("2" the user declared AI content, "3" traces were detected), and the propagation keys
        repeat the production keys as Annex E Note 1 asks; both reserved fields are signed by the
        platform key.
        """
        platform = self._require_code(self.settings.platform_code, "propagator_code")
        LabelValue.parse(label)
        pid = propagate_id or new_content_id()
        target = out or path
        algorithm = signing_digest(self.signer, self.settings.label_digest)
        with implicit.open_source(path) as src:
            plugin = implicit.files.open_plugin(src, path.name)
            finding = implicit.evaluate(plugin.name, plugin.read(src))
            digest = implicit.digest_opened(plugin, src, algorithm)
            if finding.label is not None:
                aigc = finding.label.replace(ContentPropagator=platform, PropagateID=pid, ReservedCode2="")
            else:
                aigc = sign_producer(AIGCLabel.produce(platform, pid, label), digest, self.signer, algorithm)
            aigc = sign_propagator(aigc, digest, self.signer, algorithm)
            pending = self._stage(path, target, src, plugin, algorithm, digest, aigc, role="propagate")
        # Record first, rename second, as for producer labels (see _finish_batch).
        self._commit_records([pending])
        pending.staged.commit()
        return pending.outcome

    # --- reading --------------------------------------------------------------------------------

    def inspect_file(self, path: Path, *, check_signatures: bool = True) -> Inspection:
        """Verdict, label and (optionally) both signatures; raises only for unreadable files."""
        with open(path, "rb") as src:
            plugin = implicit.files.open_plugin(src, path.name)
            finding = implicit.evaluate(plugin.name, plugin.read(src))
            digests: dict[str, bytes] = {}
            if check_signatures and finding.label:
                for algorithm in label_digests(finding.label):
                    digests[algorithm] = implicit.digest_opened(plugin, src, algorithm)
        return self._inspection(str(path), finding, digests if check_signatures else None)

    def inspect_files(
        self, paths: Iterable[Path], *, check_signatures: bool = True, progress: Progress | None = None
    ) -> list[Inspection]:
        results: list[Inspection] = []
        for path in paths:
            try:
                results.append(self.inspect_file(path, check_signatures=check_signatures))
            except SynthguardError as exc:
                results.append(Inspection(source=str(path), ok=False, error=file_error(exc)))
            except OSError as exc:
                results.append(Inspection(source=str(path), ok=False, error=os_error(exc)))
            if progress is not None:
                progress(1)
        return results

    def _inspection(self, source: str, finding: LabelFinding, digests: dict[str, bytes] | None) -> Inspection:
        label = finding.label
        result = Inspection(
            source=source,
            format=finding.format,
            verdict=finding.verdict.value,
            label=label.to_dict() if label else None,
            carriers=list(finding.carriers),
            problems=list(finding.problems),
            warnings=list(finding.warnings),
        )
        if label is None:
            result.integrity = Integrity.ABSENT.value
            if finding.verdict is Verdict.INCONCLUSIVE:
                result.integrity = Integrity.LABEL_ALTERED.value
            return result
        result.display_zh = label.value.text_zh
        result.display_en = label.value.text_en
        if digests is None:
            return result
        producer = check_producer(label, digests, self.public_key)
        checks = [producer]
        result.producer = _status(producer)
        if label.ReservedCode2:
            propagator = check_propagator(label, digests, self.public_key)
            checks.append(propagator)
            result.propagator = _status(propagator)
        result.integrity = min(checks, key=lambda c: _SEVERITY.index(c.integrity)).integrity.value
        return result

    # --- review (issue #5) ----------------------------------------------------------------------

    @cached_property
    def reviewer(self) -> ReviewEngine:
        """Keyword library, classifiers, policy and human review queue (built on first use)."""
        from synthguard.review.engine import ReviewEngine

        return ReviewEngine(self.settings, self.sessions)

    def review_text(
        self,
        text: str,
        *,
        service: str = "chat",
        direction: str = "in",
        user_id: str = "",
        user_status: str = "verified",
        record: bool = True,
    ) -> ReviewDecision:
        """Review one input or output (Art. 10): decision, reasons and spans; recorded in the store."""
        from synthguard.review.policy import Context

        ctx = Context(service=service, direction=direction, user_id=user_id, user_status=user_status)
        decision = self.reviewer.review_text(text, ctx, record=record)
        self._ledger_review(decision)
        return decision

    def review_media(
        self,
        data: bytes,
        modality: str,
        *,
        service: str = "chat",
        direction: str = "in",
        user_id: str = "",
        user_status: str = "verified",
    ) -> ReviewDecision:
        """Review an image, audio or video upload with the offline classifiers."""
        from synthguard.review.policy import Context

        ctx = Context(service=service, direction=direction, user_id=user_id, user_status=user_status)
        decision = self.reviewer.review_media(data, modality, ctx)
        self._ledger_review(decision)
        return decision

    def _ledger_review(self, decision: ReviewDecision) -> None:
        # The ledger (issue #7) is optional at run time: log through its ``record`` when it exists.
        record = getattr(self, "record", None)
        if decision.decision_id is None or not callable(record) or find_spec("synthguard.ledger") is None:
            return
        result = record(
            "review_decision",
            None,
            user_id=decision.user_id or None,
            idem_key=f"review-decision-{decision.decision_id}",
            decision_id=decision.decision_id,
            action=decision.action,
            categories=decision.categories,
            service=decision.service,
            direction=decision.direction,
            text_sha256=decision.text_sha256,
            library_version=decision.library_version,
        )
        seq = getattr(result, "seq", None)
        if seq is not None:
            decision.ledger_ref = str(seq)
            self.reviewer.set_ledger_ref(decision.decision_id, str(seq))

    # --- watermarks (issue #4) -----------------------------------------------------------------

    @cached_property
    def watermark_keys(self) -> Keyring:
        """The provider's watermark keyring (<data_dir>/keys/watermark.key; replicas share it)."""
        from synthguard.watermark.payload import Keyring

        return Keyring.load_or_create(self.settings.keys_dir)

    def _watermark_stage(
        self, path: Path, content_id: str, *, required: bool
    ) -> tuple[Path, dict[str, Any]] | None:
        """Write a watermarked copy of an image/video beside ``path``; None for other media."""
        from synthguard.watermark.media import embed_media, watermark_modality

        modality = watermark_modality(path)
        if modality is None:
            return None
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".wm{path.suffix}", dir=path.parent)
        os.close(fd)
        staged = Path(name)
        try:
            for _attempt in range(AUDIO_MARK_ATTEMPTS if modality == "audio" else 1):
                mark_id = self.issue_mark_id(content_id, modality)
                detail = embed_media(path, staged, mark_id, self.watermark_keys.active)
                # Audio marks are embedded at a fixed quality budget; on a few host/payload pairs the
                # clean file does not decode. Read it back and, if so, try another mark id.
                if modality != "audio" or self._audio_mark_reads_back(staged, mark_id):
                    break
        except MediaTooSmall:
            staged.unlink(missing_ok=True)
            if required:
                raise
            return None  # on by default, but a thumbnail too small to carry it is labeled without
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return staged, {"mark_id": mark_id, "key_id": self.watermark_keys.active.key_id, **detail}

    def _audio_mark_reads_back(self, path: Path, mark_id: int) -> bool:
        from synthguard.watermark.audio import detect_file

        found = detect_file(path, self.watermark_keys).payload
        return found is not None and found.mark_id == mark_id

    def issue_mark_id(self, content_id: str, modality: str) -> int:
        """A fresh mark id for ``content_id``, stored so a detected watermark resolves back to it.

        Audio payloads carry 20 bits of id, image/video 40; ids are random (no replica coordination)
        and a collision is retried inside the insert's unique key.
        """
        import secrets as _secrets

        from sqlalchemy.exc import IntegrityError

        from synthguard.store.models import WatermarkRecord
        from synthguard.watermark.payload import mark_id_bits

        bits = mark_id_bits(32 if modality == "audio" else 64)
        key_id = self.watermark_keys.active.key_id
        for _ in range(64):
            mark_id = _secrets.randbelow((1 << bits) - 1) + 1  # 0 stays unused: easy to spot in tests
            try:
                with self.sessions.begin() as session:
                    record = WatermarkRecord(
                        mark_id=mark_id, modality=modality, content_id=content_id, key_id=key_id
                    )
                    session.add(record)
                return mark_id
            except IntegrityError:
                continue
        raise ConfigError(
            "could not find a free watermark mark id; the id space is nearly full",
            message_zh="找不到空闲的水印编号，编号空间即将用尽",
        )

    def resolve_mark_id(self, mark_id: int) -> WatermarkRecord | None:
        """The record a detected mark id points to (content id, modality, key), or None if unknown."""
        from synthguard.store.models import WatermarkRecord

        with self.sessions() as session:
            return session.get(WatermarkRecord, mark_id)

    # --- evidence ledger (issue #7) -------------------------------------------------------------

    @cached_property
    def ledger(self) -> Ledger:
        """The tamper-evident log (opened on first use; its tables come with the store migrations)."""
        from synthguard.ledger import Ledger

        return Ledger(self.settings)

    def record(
        self,
        event_type: str,
        content_id: str | None = None,
        *,
        user_id: str | None = None,
        personal: dict[str, Any] | None = None,
        idem_key: str | None = None,
        **refs: Any,
    ) -> AppendResult:
        """The one way any part of synthguard writes evidence: digests and IDs in ``refs``, the
        user and other personal data sealed apart; returns once the entry is durable."""
        return self.ledger.record(
            event_type, content_id, user_id=user_id, personal=personal, idem_key=idem_key, **refs
        )

    def sign_c2pa_file(
        self, path: Path, out: Path | None = None, *, content_id: str | None = None
    ) -> C2paResult:
        """Embed C2PA Content Credentials mirroring the file's GB 45438 label, then log it.

        Call it after labeling: a metadata write after signing breaks the C2PA hash.
        """
        import hashlib

        from synthguard.ledger.c2pa import C2paCredentials, read_c2pa, sign_c2pa

        credentials = C2paCredentials.from_settings(self.settings)
        label: dict[str, str] | None = None
        with open(path, "rb") as src:
            plugin = implicit.files.open_plugin(src, path.name)
            finding = implicit.evaluate(plugin.name, plugin.read(src))
        if finding.label is not None:
            label = finding.label.to_dict()
            content_id = content_id or finding.label.ProduceID
        content_id = content_id or new_content_id()
        target = sign_c2pa(
            path, out, credentials, content_id=content_id, label=label, fsync=self.settings.fsync
        )
        result = read_c2pa(target, trust_anchors_pem=credentials.trust_anchors_pem)
        result.source, result.path = str(path), str(target)
        with open(target, "rb") as signed:
            file_sha256 = hashlib.file_digest(signed, "sha256").hexdigest()
        self.record(
            "c2pa.signed", content_id, file_sha256=file_sha256, state=result.state, format=plugin.name
        )
        return result

    # --- real-name users and API keys (issue #6) ---------------------------------------------------

    @cached_property
    def users(self) -> UserDirectory:
        """Real-name users (Art. 9), their statuses and history, agreement acceptances (Art. 8)."""
        from synthguard.identity import UserDirectory, verifier_from_settings

        return UserDirectory(self.settings, self.sessions, verifier_from_settings(self.settings))

    @cached_property
    def apikeys(self) -> ApiKeys:
        from synthguard.identity import ApiKeys

        return ApiKeys(
            self.sessions, rate_per_min=self.settings.apikey_rate_per_min, quota=self.settings.apikey_quota
        )

    # --- governance and console (issue #8) --------------------------------------------------------

    @cached_property
    def governance(self) -> Governance:
        """Incidents, refutations, complaints, consent, filing, assessments, staff and audit trail."""
        from synthguard.governance import Governance

        return Governance(
            self.settings,
            self.sessions,
            record=self.record,
            evidence_for=self.ledger_evidence,
            queue=lambda: self.reviewer.queue,
            users=lambda: self.users,
        )

    def has_valid_consent(self, consent_id: str, user_id: str, use: str) -> bool:
        """Art. 14: a consent record obtained by ``user_id`` that covers ``use`` (e.g. ``face_swap``,
        ``voice_clone``), neither revoked nor expired."""
        return self.governance.consents.has_valid_consent(consent_id, user_id, use)

    def refutation_for(self, content_id: str) -> RefutationView | None:
        """Art. 11: the published refutation notice of this content ID, if any."""
        return self.governance.refutations.refutation_for(content_id)

    def ledger_evidence(self, content_id: str) -> dict[str, Any] | None:
        """The ledger entries of a content ID with inclusion proofs to a signed checkpoint, or None."""
        from synthguard.errors import NotFound

        try:
            return self.ledger.proofs_for(content_id).model_dump(mode="json")
        except NotFound:
            return None


@dataclass(slots=True)
class _Pending:
    """A labeled file staged beside its target, with its record: committed together, then renamed."""

    outcome: LabelOutcome
    record: _LabelRow
    staged: implicit.Staged
    algorithm: str  # of the record's content digest


@dataclass(slots=True)
class _LabelRow:
    """A ``label_records`` row about to be inserted: the columns, then the id the insert gives it.

    Not a ``LabelRecord`` ORM object: nothing here needs a session, and building one (attribute
    instrumentation, instance state) cost the labeling process as much as the rest of a file's
    bookkeeping.
    """

    content_id: str
    role: str
    file_name: str
    format: str
    content_digest: str
    label_json: str
    key_id: str
    id: int | None = None
    created_at: dt.datetime | None = None

    def columns(self) -> tuple[str, ...]:
        """The values of ``_RECORD_COLUMNS``, in that order."""
        return (
            self.content_id,
            self.role,
            self.file_name,
            self.format,
            self.content_digest,
            self.label_json,
            self.key_id,
        )


_RECORD_COLUMNS = ("content_id", "role", "file_name", "format", "content_digest", "label_json", "key_id")


def _insert_records(conn: Connection, records: Sequence[_LabelRow]) -> None:
    """One multi-row INSERT ... RETURNING id; the ids (the ledger idempotency keys) go back on the records.

    A Core insert rather than ``session.add_all`` + ``flush``: the unit of work costs about as much
    per row as hashing a photo's metadata, and these rows have no relationships to cascade.
    """
    now = utcnow()
    if conn.dialect.name == "sqlite":
        # SQLAlchemy keeps RETURNING rows in parameter order on SQLite by running one statement per
        # row (a third of the labeling process's store time). One multi-row INSERT instead: SQLite
        # inserts VALUES rows in order, each taking a rowid above every existing one, so the
        # returned ids sorted ascending are the rows' ids in order, whatever order RETURNING uses.
        # Driver SQL: a Core ``values(rows)`` statement is compiled anew for every batch size.
        # The dialect's own DATETIME text, as the ORM writes it (the generic type has no processor,
        # which left the datetime to sqlite3's deprecated default adapter, row by row).
        column_type = LabelRecord.__table__.c.created_at.type.dialect_impl(conn.dialect)
        created = column_type.bind_processor(conn.dialect)
        stamp = created(now) if created is not None else now
        columns = (*_RECORD_COLUMNS, "created_at")
        marks = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * len(records))
        sql = f"INSERT INTO label_records ({', '.join(columns)}) VALUES {marks} RETURNING id"
        flat: list[object] = []
        for record in records:
            flat += record.columns()
            flat.append(stamp)
        ids = sorted(conn.exec_driver_sql(sql, tuple(flat)).scalars())
    else:
        rows = [dict(zip(_RECORD_COLUMNS, r.columns(), strict=True)) | {"created_at": now} for r in records]
        ordered = insert(LabelRecord).returning(LabelRecord.id, sort_by_parameter_order=True)
        ids = list(conn.execute(ordered, rows).scalars())
    for record, record_id in zip(records, ids, strict=True):
        record.id = record_id
        record.created_at = now


def _label_entry(pending: _Pending) -> Entry:
    """The ledger entry of a label: the content digest goes under ``content_<algorithm>``."""
    from synthguard.ledger import Entry

    record = pending.record
    return Entry(
        "label.issued" if record.role == "produce" else "label.propagated",
        record.content_id,
        {
            "format": record.format,
            f"content_{pending.algorithm}": record.content_digest,
            "label_sha256": hashlib.sha256(record.label_json.encode("utf-8")).hexdigest(),
            "key_id": record.key_id,
        },
        idem_key=f"label-record-{record.id}",
    )


def _status(check: SignatureCheck) -> SignatureStatus:
    return SignatureStatus(integrity=check.integrity.value, key_id=check.key_id, reason=check.reason)


class _KeyFile(Protocol):
    def save(self, path: Path) -> None: ...


KeyT = TypeVar("KeyT", bound=_KeyFile)


def _load_or_create(path: Path, load: Callable[[Path], KeyT], generate: Callable[[], KeyT]) -> KeyT:
    """The key at ``path``, generated and saved (mode 0600) the first time."""
    if path.exists():
        return load(path)
    key = generate()
    try:
        key.save(path)
    except FileExistsError:
        # Another process created it between our check and our write: use theirs.
        return load(path)
    return key


def _load_or_create_signer(path: Path) -> Ed25519Signer:
    return _load_or_create(path, Ed25519Signer.load, Ed25519Signer.generate)


def _load_or_create_sm2_signer(path: Path) -> Sm2Signer:
    return _load_or_create(path, Sm2Signer.load, Sm2Signer.generate)
