"""Streamed output review with a hold-back window (Deep Synthesis Provisions Art. 10; TC260-003).

``TextGuard`` sits between the upstream's deltas and the client. Every delta goes through the
review library's ``IncrementalMatcher`` (~1 us per delta); text is released only up to the
matcher's ``releasable`` offset, which keeps back the last (longest normalised term - 1)
characters, so a prohibited phrase split across chunks is caught before any of it is sent.
On a hit the policy's action applies: ``mask`` replaces the span with ``*``; ``block``/``review``
stops the choice (the gateway then sends ``finish_reason: "content_filter"``).

Modes (``Settings.gateway_stream_mode``):

* ``strict``: additionally hold each sentence until the full text review (keywords + classifiers,
  e.g. Chinese PII) has passed it; never emits unreviewed text.
* ``balanced`` (default): keyword hold-back on every delta; classifiers run on the whole answer at
  the end and are recorded.
* ``audit``: forward at once; hits are only recorded (for a provider measuring before enforcing).

Hand-written because no library does hold-back release over an Aho-Corasick stream; the SSE line
parser is ten lines (the ``sse-starlette``/``httpx-sse`` packages add nothing for one reader).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from synthguard.review import IncrementalMatcher, Match, Matcher, ReviewDecision

SEGMENT_END = frozenset("。！？；.!?;\n")
MODES = ("strict", "balanced", "audit")


@dataclass
class Released:
    text: str = ""
    stopped: bool = False


@dataclass
class TextGuard:
    """One choice's text: ``feed(delta)`` -> what may be sent now; ``finish()`` -> the rest."""

    matcher: Matcher
    action_for: Callable[[Match], str]  # "pass" | "mask" | "block" | "review" | "sanction"
    mode: str = "balanced"
    on_hit: str = "auto"  # auto | mask | stop
    review_segment: Callable[[str], ReviewDecision] | None = None  # strict mode only
    hits: list[tuple[Match, str]] = field(default_factory=list)
    segment_refusals: list[str] = field(default_factory=list)
    _inc: IncrementalMatcher | None = None
    _sent: int = 0
    _masks: list[tuple[int, int]] = field(default_factory=list)
    _stop_at: int | None = None
    _reviewed: int = 0
    # The text not yet released (from offset ``_buf_at`` on): each delta appends to it and each
    # release slices it, so per delta the work is proportional to the delta and the hold-back,
    # not to the answer so far (``raw`` joins the whole answer: used only at the end, on a hit
    # and in strict mode's sentence search).
    _buf: str = ""
    _buf_at: int = 0
    _length: int = 0
    stopped: bool = False

    def __post_init__(self) -> None:
        self._inc = IncrementalMatcher(self.matcher)

    @property
    def raw(self) -> str:
        assert self._inc is not None
        return self._inc.raw_text

    @property
    def sent(self) -> int:
        return self._sent

    def _apply(self, matches: list[Match]) -> None:
        for m in matches:
            action = self.action_for(m)
            if action == "pass":
                continue
            if self.on_hit == "mask":
                action = "mask"
            elif self.on_hit == "stop":
                action = "block"
            self.hits.append((m, action))
            if self.mode == "audit":
                continue
            if action == "mask":
                self._masks.append((m.start, m.end))
            else:
                self._stop_at = m.start if self._stop_at is None else min(self._stop_at, m.start)

    def _strict_limit(self, limit: int, final: bool) -> int:
        if self.review_segment is None:
            return limit
        buf, at = self._buf, self._buf_at  # the buffer starts at or before ``_reviewed``
        end = self._reviewed
        for i in range(len(buf) - 1, self._reviewed - at - 1, -1):
            if buf[i] in SEGMENT_END:
                end = at + i + 1
                break
        if final:
            end = self._length
        if end > self._reviewed:
            base = self._reviewed
            segment = buf[base - at : end - at]
            decision = self.review_segment(segment)
            if decision.refused:
                self._stop_at = base if self._stop_at is None else min(self._stop_at, base)
                self.segment_refusals.append(decision.action)
            elif decision.masked_text is not None:
                self._masks += [
                    (base + i, base + i + 1)
                    for i, (a, b) in enumerate(zip(segment, decision.masked_text, strict=False))
                    if a != b
                ]
            self._reviewed = end
        return min(limit, self._reviewed)

    def _release(self, limit: int) -> Released:
        if self.stopped:
            return Released(stopped=True)
        stop = self._stop_at is not None and self._stop_at <= limit
        if self._stop_at is not None:
            limit = min(limit, self._stop_at)
        limit = max(limit, self._sent)
        sent, at = self._sent, self._buf_at
        text = self._buf[sent - at : limit - at]
        if self._masks:
            piece = list(text)
            for s, e in self._masks:
                for i in range(max(s, sent), min(e, limit)):
                    piece[i - sent] = "*"
            text = "".join(piece)
        self._sent = limit
        # Drop released text from the buffer (strict mode still reads from ``_reviewed`` on).
        keep_from = limit if self.review_segment is None else min(limit, self._reviewed)
        if keep_from > at:
            self._buf = self._buf[keep_from - at :]
            self._buf_at = keep_from
        if stop:
            self.stopped = True
        return Released(text, stop)

    def feed(self, delta: str) -> Released:
        if self.stopped:
            return Released(stopped=True)
        assert self._inc is not None
        self._buf += delta
        self._length += len(delta)
        self._apply(self._inc.feed(delta))
        if self.mode == "audit":
            return self._release(self._length)
        limit = self._inc.releasable
        if self.mode == "strict":
            limit = self._strict_limit(limit, final=False)
        return self._release(limit)

    def finish(self) -> Released:
        if self.stopped:
            return Released(stopped=True)
        assert self._inc is not None
        self._apply(self._inc.finish())
        limit = self._length
        if self.mode == "strict":
            limit = self._strict_limit(limit, final=True)
        return self._release(limit)


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data:`` payloads of a server-sent event stream (multi-line data joined by newlines)."""
    data: list[str] = []
    async for line in lines:
        if line == "":
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
