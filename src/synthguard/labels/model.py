"""The GB 45438-2025 implicit label: the ``AIGC`` metadata value and what a reader concludes.

Annex E fixes seven string keys in a fixed order; values use printable ASCII without space, ``"`` and
``\\`` (item j)); ``Label``, ``ContentProducer`` and ``ProduceID`` are required. Provider codes
(TC260-PG-20252A) are 27 characters embedding the unified social credit code; bare names seen in the
wild are accepted by readers but flagged.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from synthguard.errors import InvalidLabel
from synthguard.identity.numbers import is_uscc

KEYS: tuple[str, ...] = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
REQUIRED_KEYS: tuple[str, ...] = ("Label", "ContentProducer", "ProduceID")
MAX_ID_CHARS = 64
MAX_RESERVED_CHARS = 4096
# TC260-PG-202511A's reserved-field form: JSON inside the value, the only value with quotes in it.
SECURITY_DATA_PREFIX = '{"SecurityData":'

# Annex E j): 0x21, 0x23-0x5B, 0x5D-0x7E. Anchored with \Z: "$" also matches before a final "\n".
_VALUE_CHARSET = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]*\Z")
PROVIDER_CODE = re.compile(r"^00[0-9A-Z]{25}\Z")
ORGANISATION_CODE = re.compile(r"^0011[0-9A-HJ-NPQRTUWXY]{18}[0-9A-Z]{5}\Z")


class LabelValue(enum.StrEnum):
    """``Label`` key: how sure the writer is that the content is AI-generated (Measures Art. 6)."""

    GENERATED = "1"
    POSSIBLY = "2"
    SUSPECTED = "3"

    @classmethod
    def parse(cls, text: str) -> LabelValue:
        try:
            return cls(text)
        except ValueError:
            raise InvalidLabel(
                f'Label must be "1", "2" or "3", not {text!r}',
                message_zh=f"Label 取值只能是 1、2 或 3，而不是 {text!r}",
            ) from None

    @property
    def text_zh(self) -> str:
        return {"1": "人工智能生成", "2": "可能为人工智能生成", "3": "疑似人工智能生成"}[self.value]

    @property
    def text_en(self) -> str:
        return {"1": "AI-generated", "2": "Possibly AI-generated", "3": "Suspected AI-generated"}[self.value]


# Iterating an enum is slow, and every label built (three per labeled file) checks its Label.
LABEL_VALUES = frozenset(value.value for value in LabelValue)


def provider_code_problem(code: str) -> str | None:
    """Why ``code`` is not a TC260-PG-20252A provider code, or None when it is one."""
    if not PROVIDER_CODE.match(code):
        return "not a 27-character provider code (00 + subject code + service extension)"
    if code[2:4] == "11":
        if not ORGANISATION_CODE.match(code):
            return "organisation code: characters 5-22 are not a unified social credit code"
        if not is_uscc(code[4:22]):
            return "organisation code: the unified social credit code's check character is wrong"
    return None


def value_problem(key: str, value: str) -> str | None:
    # TC260-PG-202511A puts a SecurityData JSON object in the reserved fields; its quotes travel
    # escaped in the outer JSON. Accepted there only (the reader adds a warning).
    security_data = key.startswith("ReservedCode") and value.startswith(SECURITY_DATA_PREFIX)
    if not security_data and not _VALUE_CHARSET.match(value):
        return (
            f"{key} uses characters outside GB 45438 Annex E j) (printable ASCII, no space, '\"' or '\\\\')"
        )
    limit = MAX_RESERVED_CHARS if key.startswith("ReservedCode") else MAX_ID_CHARS
    if len(value) > limit:
        return f"{key} is {len(value)} characters, more than {limit}"
    return None


@dataclass(frozen=True, slots=True)
class AIGCLabel:
    """One ``AIGC`` value. Construct with :meth:`produce`, :meth:`from_json` or directly."""

    Label: str
    ContentProducer: str
    ProduceID: str
    ReservedCode1: str = ""
    ContentPropagator: str = ""
    PropagateID: str = ""
    ReservedCode2: str = ""

    def __post_init__(self) -> None:
        if self._plainly_valid():
            return
        problems = self.problems()
        if problems:
            raise InvalidLabel(
                "; ".join(problems),
                message_zh="隐式标识不符合 GB 45438-2025 附录E：" + "；".join(problems),
            )

    def _plainly_valid(self) -> bool:
        """The common case in a few C calls: every value Annex E j) text of allowed length.

        Three labels are built per labeled file; walking the seven keys in Python to find nothing
        wrong cost more than the rest of the label's bookkeeping. Anything this does not accept
        (a SecurityData value, a missing key, a bad character) goes through :meth:`problems`,
        which decides and explains.
        """
        ids = (self.ContentProducer, self.ProduceID, self.ContentPropagator, self.PropagateID)
        reserved = (self.ReservedCode1, self.ReservedCode2)
        try:
            text = self.Label + "".join(ids) + "".join(reserved)
        except TypeError:  # a value that is not a str
            return False
        return (
            self.Label in LABEL_VALUES
            and bool(self.ContentProducer)
            and bool(self.ProduceID)
            and _VALUE_CHARSET.match(text) is not None
            and max(map(len, ids)) <= MAX_ID_CHARS
            and max(map(len, reserved)) <= MAX_RESERVED_CHARS
        )

    def problems(self) -> list[str]:
        found: list[str] = []
        for key in KEYS:
            value = getattr(self, key)
            if not isinstance(value, str):
                found.append(f"{key} must be a string")
                continue
            if not value:  # an empty value has no characters or length to check
                if key in REQUIRED_KEYS:
                    found.append(f"{key} is required")
                continue
            problem = value_problem(key, value)
            if problem:
                found.append(problem)
        if isinstance(self.Label, str) and self.Label not in LABEL_VALUES:
            found.append(f'Label must be "1", "2" or "3", not {self.Label!r}')
        return found

    @classmethod
    def checked_before(cls, values: Sequence[str]) -> AIGCLabel:
        """The label of ``values`` (in ``KEYS`` order) that an ``AIGCLabel`` already held, unchecked.

        For a label coming back from a label worker process: it was built (and checked) there, and
        checking it again cost the process that keeps the store as much as its record's insert.
        """
        label = object.__new__(cls)
        for key, value in zip(KEYS, values, strict=True):
            object.__setattr__(label, key, value)
        return label

    @classmethod
    def produce(cls, producer: str, produce_id: str, label: str = "1") -> AIGCLabel:
        """A producer's first write: the propagation keys repeat the production keys (Annex E Note 1)."""
        return cls(
            Label=label,
            ContentProducer=producer,
            ProduceID=produce_id,
            ContentPropagator=producer,
            PropagateID=produce_id,
        )

    def replace(self, **changes: str) -> AIGCLabel:
        # The constructor, not dataclasses.replace (which walks the fields' metadata first): this
        # runs for every label signed. An unknown key is the constructor's TypeError either way.
        return AIGCLabel(**(self.to_dict() | changes))

    @property
    def value(self) -> LabelValue:
        return LabelValue(self.Label)

    @property
    def propagated(self) -> bool:
        """True once a platform other than the producer has added its keys."""
        return bool(self.ContentPropagator) and (
            self.ContentPropagator != self.ContentProducer or self.PropagateID != self.ProduceID
        )

    def to_dict(self) -> dict[str, str]:
        # Written out rather than dataclasses.asdict: this runs for every labeled file, and asdict's
        # recursive deep copy costs more than signing the label.
        return {
            "Label": self.Label,
            "ContentProducer": self.ContentProducer,
            "ProduceID": self.ProduceID,
            "ReservedCode1": self.ReservedCode1,
            "ContentPropagator": self.ContentPropagator,
            "PropagateID": self.PropagateID,
            "ReservedCode2": self.ReservedCode2,
        }

    def to_json(self) -> str:
        """The bare seven-key object in Annex E order, compact, ASCII (what named slots hold)."""
        if self.ReservedCode1.startswith(SECURITY_DATA_PREFIX) or self.ReservedCode2.startswith(
            SECURITY_DATA_PREFIX
        ):
            return json.dumps(self.to_dict(), ensure_ascii=True, separators=(",", ":"))
        # Every other value passed the Annex E j) character check when the label was built: printable
        # ASCII without '"' or '\\', which JSON writes as it is. Joined directly, as ``json.dumps``
        # would write it (a test holds the two equal), at a quarter of its cost: this runs twice for
        # every labeled file.
        return (
            f'{{"Label":"{self.Label}","ContentProducer":"{self.ContentProducer}",'
            f'"ProduceID":"{self.ProduceID}","ReservedCode1":"{self.ReservedCode1}",'
            f'"ContentPropagator":"{self.ContentPropagator}","PropagateID":"{self.PropagateID}",'
            f'"ReservedCode2":"{self.ReservedCode2}"}}'
        )

    def to_wrapped_json(self) -> str:
        """``{"AIGC":{...}}``: the form unnamed slots (PNG tEXt, EXIF UserComment) use."""
        return '{"AIGC":' + self.to_json() + "}"

    @classmethod
    def from_json(cls, text: str | bytes) -> AIGCLabel:
        """Parse either the bare object or the ``{"AIGC":...}`` wrapper; strict on keys and values."""
        data = parse_label_object(text)
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise InvalidLabel(f"unknown keys {unknown}; Annex E defines only {list(KEYS)}")
        values: dict[str, str] = {}
        for key in KEYS:
            value = data.get(key, "")
            if isinstance(value, int) and not isinstance(value, bool) and key == "Label":
                value = str(value)  # tolerated on read, flagged by the detector
            if not isinstance(value, str):
                raise InvalidLabel(f"{key} must be a string, found {type(value).__name__}")
            values[key] = value
        return cls(**values)


def parse_label_object(text: str | bytes) -> dict[str, Any]:
    """JSON text -> the label mapping, unwrapping ``{"AIGC": {...}}``. Raises InvalidLabel."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidLabel("AIGC value is not UTF-8") from exc
    text = text.strip().strip("\x00")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidLabel(f"AIGC value is not JSON: {exc}") from exc
    if isinstance(data, dict) and set(data) == {"AIGC"}:
        data = data["AIGC"]
        if isinstance(data, str):  # some writers double-encode
            return parse_label_object(data)
    if not isinstance(data, dict):
        raise InvalidLabel("AIGC value is not a JSON object")
    return data


@dataclass(frozen=True, slots=True)
class RawLabel:
    """One AIGC carrier as a format plugin found it, before validation.

    ``carrier`` names the slot (``"XMP TC260:AIGC (JPEG APP1)"``); ``wrapped`` says the value used the
    ``{"AIGC":...}`` form; ``offset`` is where the carrier starts in the file, for error reports.
    """

    carrier: str
    text: str
    offset: int = -1
    wrapped: bool = False
    named_slot: bool = True


class Verdict(enum.StrEnum):
    """What a reader concludes about a file's implicit label (labels.md "What readers do")."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    ABSENT = "absent"
    INCONCLUSIVE = "inconclusive"


class Integrity(enum.StrEnum):
    """What ``verify`` concludes about one signature (producer's or propagator's)."""

    ABSENT = "absent"  # no label at all
    UNSIGNED = "unsigned"  # label present, no synthguard signature in the reserved field
    INTACT = "intact"
    LABEL_ALTERED = "label-altered"
    CONTENT_ALTERED = "content-altered"
    UNKNOWN_KEY = "signature-unknown-key"


@dataclass(frozen=True, slots=True)
class LabelFinding:
    """The implicit-label result for one file: the verdict, the label and every reason."""

    format: str
    verdict: Verdict
    label: AIGCLabel | None = None
    carriers: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    raw: tuple[RawLabel, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "verdict": self.verdict.value,
            "label": self.label.to_dict() if self.label else None,
            "carriers": list(self.carriers),
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }
