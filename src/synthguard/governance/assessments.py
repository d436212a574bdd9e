"""Algorithm reviews and security self-assessments with checklists, evidence, schedule and history.

Deep Synthesis Provisions Art. 7 (algorithm-review system), Art. 15 (periodic review of algorithm
mechanisms; security assessment of tools that edit biometric or special information) and Art. 20
(assessment before new public-opinion functions); TC260-003 / GB/T 45654-2025 supplies the figures
a review checks (keyword library, test banks, refusal rates, corpus sampling); the 2018 security
assessment provisions (Art. 3 triggers, Art. 5 contents) shape the self-assessment. Items are our
paraphrases with clause references, not copies of the standards' text.
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import InvalidField, NotFound, RecordConflict
from synthguard.governance._common import Actor, aware, choice, text_field, utcnow
from synthguard.governance.audit import AuditTrail
from synthguard.store.models import GovAssessment

KINDS = ("algorithm_review", "security_self")
ITEM_STATUSES = ("pending", "pass", "fail", "na")
SECURITY_SELF_DAYS = 365  # a yearly self-assessment besides the triggered ones
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# (code, clause, zh, en)
CHECKLISTS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "algorithm_review": (
        (
            "AR-1",
            "DS Art. 15",
            "已复核、评估、验证算法机制机理（模型版本、训练数据变更有记录）",
            "Algorithm mechanisms reviewed, assessed and verified (model versions and data changes recorded)",
        ),
        (
            "AR-2",
            "DS Art. 7",
            "算法机制机理审核与科技伦理审查制度已建立并有负责人",
            "Algorithm-review and technology-ethics review systems exist with a named owner",
        ),
        (
            "AR-3",
            "DS Art. 10; TC260-003",
            "违法不良信息特征库：关键词不少于 1 万个、覆盖 17 类风险、每周更新",
            "Feature library: >= 10,000 keywords covering the 17 risks, updated weekly",
        ),
        (
            "AR-4",
            "TC260-003",
            "生成内容测试题库不少于 2000 题、覆盖 31 类风险；抽检 1000 题合格率不低于 90%",
            "Generation test bank >= 2,000 questions over 31 risks; 1,000 sampled, pass rate >= 90 %",
        ),
        (
            "AR-5",
            "TC260-003",
            "应拒答题抽 300 题拒答率不低于 95%；非拒答题抽 300 题拒答率不高于 5%",
            "300 should-refuse questions refused >= 95 %; 300 non-refusal questions refused <= 5 %",
        ),
        (
            "AR-6",
            "DS Art. 16, 17; GB 45438-2025",
            "输出内容均带隐式标识；第十七条所列服务默认添加显式标识",
            "Every output carries the implicit label; Art. 17 services add explicit labels by default",
        ),
        (
            "AR-7",
            "DS Art. 18",
            "标识防篡改：签名校验与水印检测有效",
            "Label tampering is detected: signatures verify and watermarks are found",
        ),
        (
            "AR-8",
            "DS Art. 14",
            "人脸、人声编辑须有单独同意记录方可执行",
            "Face and voice edits run only with a separate consent record",
        ),
        (
            "AR-9",
            "DS Art. 19",
            "备案信息为最新；变更已在 10 个工作日内办理",
            "Filing information is current; changes filed within 10 working days",
        ),
        (
            "AR-10",
            "CSL Art. 21; Labeling Measures Art. 9",
            "日志留存不少于六个月",
            "Logs are kept for at least six months",
        ),
    ),
    "security_self": (
        (
            "SA-1",
            "2018 Provisions Art. 5",
            "服务提供者、联系人、安全负责人和审核人员明确",
            "Provider, contact, security officer and reviewers are named",
        ),
        (
            "SA-2",
            "DS Art. 20; 2018 Provisions Art. 3",
            "说明本次评估的服务/功能及触发情形",
            "The service or function assessed and the trigger of this assessment are described",
        ),
        (
            "SA-3",
            "DS Art. 9",
            "真实身份信息认证；未认证用户不得发布信息；注册信息留存",
            "Real-identity verification; no publishing for unverified users; registration data kept",
        ),
        (
            "SA-4",
            "CSL Art. 21; 2018 Provisions Art. 5",
            "网络日志（账号、时间、操作类型、源/目的地址与端口）留存不少于六个月",
            "Network logs (account, time, operation, source/destination address and port) kept >= 6 months",
        ),
        (
            "SA-5",
            "DS Art. 10",
            "违法信息防范、处置、记录与报告机制；用户警示、限制、暂停、注销",
            "Illegal content prevented, handled, recorded, reported; warn/restrict/suspend/close accounts",
        ),
        (
            "SA-6",
            "DS Art. 14; PIPL",
            "个人信息与训练数据保护措施",
            "Personal information and training data are protected",
        ),
        (
            "SA-7",
            "DS Art. 15 (1)",
            "生成或编辑人脸、人声等生物识别信息的工具已开展安全评估",
            "Tools that generate or edit faces, voices or other biometrics have a security assessment",
        ),
        (
            "SA-8",
            "DS Art. 15 (2)",
            "涉及国家安全、国家形象、公共利益的特殊对象、场景编辑工具已评估",
            "Tools editing objects/scenes touching national security, image or public interest assessed",
        ),
        (
            "SA-9",
            "2018 Provisions Art. 5",
            "防范社会动员功能失控风险的措施",
            "Measures against loss of control of social-mobilisation functions",
        ),
        (
            "SA-10",
            "DS Art. 12",
            "投诉举报入口、处理流程与时限已公布并按时反馈",
            "Complaint channel, procedure and time limit are published; feedback is timely",
        ),
        (
            "SA-11",
            "DS Art. 11",
            "辟谣机制：发现虚假信息及时辟谣、记录并报告",
            "Rumour refutation: false information is refuted, recorded and reported",
        ),
        (
            "SA-12",
            "DS Art. 21",
            "可向主管部门提供技术和数据支持（监管导出可离线校验）",
            "Technical and data support to authorities (regulator export verifies offline)",
        ),
        (
            "SA-13",
            "TC260-003",
            "语料来源违法不良信息超过 5% 的列入黑名单；人工抽检不少于 4000 条合格率不低于 96%",
            "Corpus sources > 5 % illegal are blacklisted; manual sample >= 4,000 items, pass >= 96 %",
        ),
    ),
}
KIND_NAMES = {
    "algorithm_review": ("算法机制机理审核", "Algorithm review"),
    "security_self": ("安全自评估", "Security self-assessment"),
}


class AssessmentView(BaseModel):
    id: int
    kind: str
    title: str
    trigger: str
    status: str
    items: list[dict[str, Any]]
    due_at: dt.datetime | None
    overdue: bool
    created_by: str
    created_at: dt.datetime
    completed_by: str
    completed_at: dt.datetime | None
    passed: int
    failed: int
    pending: int


class ScheduleEntry(BaseModel):
    kind: str
    interval_days: int
    last_completed_at: dt.datetime | None
    next_due_at: dt.datetime
    overdue: bool


def _view(row: GovAssessment) -> AssessmentView:
    items = [cast(dict[str, Any], dict(i)) for i in row.items or []]
    due = aware(row.due_at)
    return AssessmentView(
        id=row.id,
        kind=row.kind,
        title=row.title,
        trigger=row.trigger,
        status=row.status,
        items=items,
        due_at=due,
        overdue=row.status != "completed" and due is not None and due < utcnow(),
        created_by=row.created_by,
        created_at=aware(row.created_at) or utcnow(),
        completed_by=row.completed_by,
        completed_at=aware(row.completed_at),
        passed=sum(1 for i in items if i["status"] == "pass"),
        failed=sum(1 for i in items if i["status"] == "fail"),
        pending=sum(1 for i in items if i["status"] == "pending"),
    )


class Assessments:
    def __init__(self, sessions: sessionmaker[Session], audit: AuditTrail, *, review_days: int) -> None:
        self.sessions = sessions
        self.audit = audit
        self.intervals = {"algorithm_review": review_days, "security_self": SECURITY_SELF_DAYS}

    def start(
        self, actor: Actor, kind: str, title: str, *, trigger: str = "", due_at: dt.datetime | None = None
    ) -> AssessmentView:
        kind = choice(kind, "kind", KINDS)
        items = [
            {"code": c, "clause": cl, "zh": zh, "en": en, "status": "pending", "note": "", "evidence": []}
            for c, cl, zh, en in CHECKLISTS[kind]
        ]
        row = GovAssessment(
            kind=kind,
            title=text_field(title, "title", max_chars=300, multiline=False),
            trigger=text_field(trigger, "trigger", max_chars=200, required=False, multiline=False),
            items=items,
            due_at=aware(due_at) or utcnow() + dt.timedelta(days=30),
            created_by=actor.name,
        )
        with self.sessions.begin() as session:
            session.add(row)
            session.flush()
            aid = row.id
        self.audit.log(actor, "assessment.start", "assessment", aid, row.title, kind=kind)
        return self.get(aid)

    def get(self, assessment_id: int) -> AssessmentView:
        with self.sessions() as session:
            row = session.get(GovAssessment, assessment_id)
            if row is None:
                raise NotFound(
                    f"assessment {assessment_id} does not exist", message_zh=f"评估 {assessment_id} 不存在"
                )
            return _view(row)

    def list(self, *, kind: str | None = None, limit: int = 200) -> list[AssessmentView]:
        query = select(GovAssessment).order_by(GovAssessment.id.desc()).limit(max(1, min(limit, 5000)))
        if kind:
            query = query.where(GovAssessment.kind == choice(kind, "kind", KINDS))
        with self.sessions() as session:
            return [_view(r) for r in session.scalars(query)]

    def set_item(
        self,
        actor: Actor,
        assessment_id: int,
        code: str,
        status: str,
        note: str = "",
        evidence_sha256: str = "",
    ) -> AssessmentView:
        status = choice(status, "status", ITEM_STATUSES)
        text = text_field(note, "note", max_chars=5000, required=False)
        if evidence_sha256 and not _SHA256.match(evidence_sha256):
            raise InvalidField(
                "evidence must be a SHA-256 of an uploaded file", message_zh="证据须为已上传文件的 SHA-256"
            )
        if status in ("fail", "na") and not text:
            raise InvalidField(
                "say why in the note when an item fails or does not apply",
                message_zh="不通过或不适用须填写说明",
            )
        with self.sessions.begin() as session:
            row = session.get(GovAssessment, assessment_id, with_for_update=True)
            if row is None:
                raise NotFound(
                    f"assessment {assessment_id} does not exist", message_zh=f"评估 {assessment_id} 不存在"
                )
            if row.status == "completed":
                raise RecordConflict(
                    f"assessment {assessment_id} is completed", message_zh="评估已完成，不能修改"
                )
            items = [cast(dict[str, Any], dict(i)) for i in row.items or []]
            for item in items:
                if item["code"] == code:
                    item["status"] = status
                    item["note"] = text
                    if evidence_sha256 and evidence_sha256 not in item["evidence"]:
                        item["evidence"] = [*item["evidence"], evidence_sha256]
                    break
            else:
                raise NotFound(f"no checklist item {code[:20]!r}", message_zh=f"无检查项 {code[:20]}")
            row.items = items
        self.audit.log(
            actor,
            "assessment.item",
            "assessment",
            assessment_id,
            text,
            item=code,
            status=status,
            evidence_sha256=evidence_sha256,
        )
        return self.get(assessment_id)

    def complete(self, actor: Actor, assessment_id: int, reason: str) -> AssessmentView:
        why = text_field(reason, "reason", max_chars=2000)
        with self.sessions.begin() as session:
            row = session.get(GovAssessment, assessment_id, with_for_update=True)
            if row is None:
                raise NotFound(
                    f"assessment {assessment_id} does not exist", message_zh=f"评估 {assessment_id} 不存在"
                )
            if row.status == "completed":
                raise RecordConflict(
                    f"assessment {assessment_id} is already completed", message_zh="评估已完成"
                )
            pending = [str(i["code"]) for i in row.items or [] if i["status"] == "pending"]
            if pending:
                raise InvalidField(
                    f"items still pending: {', '.join(pending)}",
                    message_zh=f"仍有未完成检查项：{', '.join(pending)}",
                )
            row.status = "completed"
            row.completed_by = actor.name
            row.completed_at = utcnow()
        self.audit.log(actor, "assessment.complete", "assessment", assessment_id, why)
        return self.get(assessment_id)

    def schedule(self) -> builtins.list[ScheduleEntry]:
        """When each kind is next due: the last completion plus its interval (due now if never done)."""
        out: builtins.list[ScheduleEntry] = []
        now = utcnow()
        for kind in KINDS:
            with self.sessions() as session:
                last = session.scalars(
                    select(GovAssessment.completed_at)
                    .where(GovAssessment.kind == kind, GovAssessment.status == "completed")
                    .order_by(GovAssessment.completed_at.desc())
                    .limit(1)
                ).first()
            last_at = aware(last)
            interval = self.intervals[kind]
            due = (last_at + dt.timedelta(days=interval)) if last_at else now
            out.append(
                ScheduleEntry(
                    kind=kind,
                    interval_days=interval,
                    last_completed_at=last_at,
                    next_due_at=due,
                    overdue=due <= now,
                )
            )
        return out
