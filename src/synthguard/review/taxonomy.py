"""The risk taxonomy of TC260-003-2024 Appendix A (GB/T 45654-2025): 31 risks in 5 groups, as data.

Every keyword, classifier score and decision names one risk code (``A.1.a`` ... ``A.5.b``). Each
risk carries a default action the policy starts from. The 17 risks of groups A.1 and A.2 are the
ones the keyword library and the should-refuse question bank must cover (TC260-003 Annex A and
section 8: >= 200 keywords per A.1 risk, >= 100 per A.2 risk).

Providers add their own risks (``P.<slug>``) through the library import: an unknown category in a
CSV row becomes a provider-defined risk stored in ``review_risks`` so every replica sees it. The
``S.*`` signals are not violations: they mark biometric content (faces, voices) that the consent
rule of Deep Synthesis Provisions Art. 14 needs to know about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What the policy does with a finding, in increasing severity."""

    PASS = "pass"
    MASK = "mask"
    REVIEW = "review"
    BLOCK = "block"
    SANCTION = "sanction"

    @property
    def rank(self) -> int:
        return _ACTION_RANK[self]

    @classmethod
    def worst(cls, actions: list[Action]) -> Action:
        return max(actions, key=lambda a: a.rank, default=cls.PASS)


_ACTION_RANK = {a: i for i, a in enumerate(Action)}


@dataclass(frozen=True)
class Risk:
    code: str
    group: str
    name_zh: str
    name_en: str
    default_action: Action
    builtin: bool = True

    @property
    def refusal_risk(self) -> bool:
        """One of the 17 risks a service must refuse (groups A.1 and A.2)."""
        return self.group in ("A.1", "A.2")


GROUPS: dict[str, tuple[str, str]] = {
    "A.1": ("违背社会主义核心价值观", "Violates core socialist values"),
    "A.2": ("歧视性内容", "Discriminatory content"),
    "A.3": ("商业违法违规", "Commercial violations"),
    "A.4": ("侵犯他人合法权益", "Infringes the lawful rights of others"),
    "A.5": ("无法满足特定服务类型的安全需求", "Cannot meet the security needs of specific service types"),
    "S": ("生物识别信号", "Biometric signals"),
    "P": ("服务提供者自定义", "Provider-defined"),
}

_B = Action.BLOCK
_R = Action.REVIEW
_M = Action.MASK
_P = Action.PASS

_BUILTIN: tuple[tuple[str, str, str, Action], ...] = (
    ("A.1.a", "煽动颠覆国家政权、推翻社会主义制度", "Inciting subversion of state power or the socialist system", _B),  # noqa: E501
    ("A.1.b", "危害国家安全和利益、损害国家形象", "Endangering national security and interests, damaging the national image", _B),  # noqa: E501
    ("A.1.c", "煽动分裂国家、破坏国家统一和社会稳定", "Inciting secession, undermining national unity and social stability", _B),  # noqa: E501
    ("A.1.d", "宣扬恐怖主义、极端主义", "Promoting terrorism or extremism", _B),
    ("A.1.e", "宣扬民族仇恨", "Promoting ethnic hatred", _B),
    ("A.1.f", "宣扬暴力、淫秽色情", "Promoting violence, obscenity or pornography", _B),
    ("A.1.g", "传播虚假有害信息", "Spreading false and harmful information", _B),
    ("A.1.h", "其他法律、行政法规禁止的内容", "Other content prohibited by laws and administrative regulations", _B),  # noqa: E501
    ("A.2.a", "民族歧视内容", "Ethnic discrimination", _B),
    ("A.2.b", "信仰歧视内容", "Discrimination by belief", _B),
    ("A.2.c", "国别歧视内容", "Discrimination by country", _B),
    ("A.2.d", "地域歧视内容", "Regional discrimination", _B),
    ("A.2.e", "性别歧视内容", "Sex discrimination", _B),
    ("A.2.f", "年龄歧视内容", "Age discrimination", _B),
    ("A.2.g", "职业歧视内容", "Occupational discrimination", _B),
    ("A.2.h", "健康歧视内容", "Health discrimination", _B),
    ("A.2.i", "其他方面歧视内容", "Other discrimination", _B),
    ("A.3.a", "侵犯他人知识产权", "Infringing intellectual property rights", _R),
    ("A.3.b", "违反商业道德", "Breaching business ethics", _R),
    ("A.3.c", "泄露他人商业秘密", "Disclosing trade secrets", _B),
    ("A.3.d", "利用算法、数据、平台等优势实施垄断和不正当竞争", "Monopoly and unfair competition", _R),
    ("A.3.e", "其他商业违法违规行为", "Other commercial violations", _R),
    ("A.4.a", "危害他人身心健康", "Harming the physical or mental health of others", _B),
    ("A.4.b", "侵害他人肖像权", "Infringing portrait rights", _R),
    ("A.4.c", "侵害他人名誉权", "Infringing the right of reputation", _R),
    ("A.4.d", "侵害他人荣誉权", "Infringing the right of honour", _R),
    ("A.4.e", "侵害他人隐私权", "Infringing privacy", _M),
    ("A.4.f", "侵害他人个人信息权益", "Infringing personal information rights", _M),
    ("A.4.g", "侵犯他人其他合法权益", "Infringing other lawful rights", _R),
    ("A.5.a", "内容不准确，严重不符合科学常识或主流认知", "Inaccurate content seriously contrary to science or common knowledge", _R),  # noqa: E501
    ("A.5.b", "内容不可靠，无法对使用者形成帮助", "Unreliable content of no help to the user", _R),
)  # fmt: skip

_SIGNALS: tuple[tuple[str, str, str, Action], ...] = (
    ("S.face", "含人脸（需单独同意）", "Face present (separate consent needed)", _P),
    ("S.voice", "含人声（需单独同意）", "Voice present (separate consent needed)", _P),
)

BUILTIN_RISKS: dict[str, Risk] = {
    code: Risk(code, code.rsplit(".", 1)[0], zh, en, action) for code, zh, en, action in _BUILTIN + _SIGNALS
}
TC260_RISKS = tuple(r for r in BUILTIN_RISKS.values() if r.group.startswith("A."))
REFUSAL_RISKS = tuple(r for r in TC260_RISKS if r.refusal_risk)

_CODE = re.compile(r"^A\.[1-5]\.[a-i]$|^S\.[a-z]+$|^P\.[0-9a-z_\-\u4e00-\u9fff]{1,48}$")


def provider_code(name: str) -> str:
    """The code for a provider-defined category name: ``P.<name>`` (lower case, spaces -> '_')."""
    slug = re.sub(r"\s+", "_", name.strip().lower())
    slug = re.sub(r"[^0-9a-z_\-\u4e00-\u9fff]", "", slug)[:48]
    return f"P.{slug or 'custom'}"


def is_valid_code(code: str) -> bool:
    return bool(_CODE.match(code))


def resolve_category(value: str, known: dict[str, Risk]) -> tuple[str, bool]:
    """Map a category as written in an import (code, Chinese or English name) to a risk code.

    Returns ``(code, created)``; ``created`` is True when the category is unknown and becomes a
    provider-defined risk.
    """
    text = value.strip()
    if text in known:
        return text, False
    lowered = text.lower()
    for risk in known.values():
        if text == risk.name_zh or lowered == risk.name_en.lower():
            return risk.code, False
    code = provider_code(text)
    return code, code not in known


def default_risks() -> dict[str, Risk]:
    return dict(BUILTIN_RISKS)
