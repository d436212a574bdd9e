"""From the carriers a plugin found to a verdict (labels.md "What readers do"; GB 45438 6.1, Annex E).

compliant: exactly one carrier, valid JSON, every Annex E rule met.
non-compliant: parseable, but a rule is broken (charset, enum, missing or unknown key, duplicate copy).
absent: no carrier.  inconclusive: a carrier whose value cannot be parsed at all.
"""

from __future__ import annotations

from synthguard.errors import InvalidLabel
from synthguard.labels.model import (
    KEYS,
    AIGCLabel,
    LabelFinding,
    RawLabel,
    Verdict,
    parse_label_object,
    provider_code_problem,
)


def evaluate(fmt: str, raws: list[RawLabel]) -> LabelFinding:
    if not raws:
        return LabelFinding(format=fmt, verdict=Verdict.ABSENT)
    carriers = tuple(r.carrier for r in raws)
    problems: list[str] = []
    warnings: list[str] = []
    labels: list[AIGCLabel] = []
    unparseable = 0
    for raw in raws:
        try:
            data = parse_label_object(raw.text)
        except InvalidLabel as exc:
            unparseable += 1
            problems.append(f"{raw.carrier}: {exc.message}")
            continue
        if raw.named_slot and raw.wrapped:
            warnings.append(f'{raw.carrier}: named slot holds the {{"AIGC":...}} wrapper')
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            problems.append(f"{raw.carrier}: unknown keys {unknown}")
        if isinstance(data.get("Label"), int):
            problems.append(f"{raw.carrier}: Label is a number, Annex E wants a string")
        fields = {k: data.get(k, "") for k in KEYS}
        fields = {
            k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in fields.items()
        }
        if not all(isinstance(v, str) for v in fields.values()):
            problems.append(f"{raw.carrier}: every value must be a string")
            continue
        try:
            labels.append(AIGCLabel(**fields))
        except InvalidLabel as exc:
            problems.append(f"{raw.carrier}: {exc.message}")
    if len(raws) > 1:
        distinct = {lab.to_json() for lab in labels}
        kind = "disagreeing" if len(distinct) > 1 else "identical"
        problems.append(f"{len(raws)} AIGC carriers ({kind}); GB 45438 6.1 allows exactly one")
    label = labels[0] if labels else None
    if label is not None:
        for key in ("ReservedCode1", "ReservedCode2"):
            if getattr(label, key).startswith('{"SecurityData":'):
                warnings.append(
                    f"{key} holds TC260-PG-202511A SecurityData: its quotes are escaped, which strict "
                    "GB 45438 Annex E j) readers may flag"
                )
        for key in ("ContentProducer", "ContentPropagator"):
            code = getattr(label, key)
            if code:
                problem = provider_code_problem(code)
                if problem:
                    warnings.append(f"{key} {code!r}: {problem} (TC260-PG-20252A)")
    if unparseable == len(raws):
        verdict = Verdict.INCONCLUSIVE
    elif problems:
        verdict = Verdict.NON_COMPLIANT
    else:
        verdict = Verdict.COMPLIANT
    return LabelFinding(
        format=fmt,
        verdict=verdict,
        label=label,
        carriers=carriers,
        problems=tuple(problems),
        warnings=tuple(warnings),
        raw=tuple(raws),
    )
