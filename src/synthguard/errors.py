"""The synthguard exception tree.

Every error has a stable ``code`` (it keys the Chinese and English message a user sees) and the HTTP
status the API answers with. A *verdict* is never an exception: "no label", "blocked" or "content
altered" are return values; exceptions mean the request itself could not be carried out.

::

    SynthguardError                  code, http_status, message_zh, message_en
    ├── ConfigError                  settings that cannot work (bad provider code, unreadable key)
    ├── FormatError
    │   ├── UnsupportedFormat        no plugin accepts the file (or the plugin cannot write it)
    │   ├── CorruptFile              the file claims a format but its structure is broken
    │   └── MetadataTooLarge         the label does not fit the format's metadata slot
    ├── LabelError
    │   ├── InvalidLabel             an AIGC value breaks GB 45438 Annex E (keys, enum, charset)
    │   ├── LabelTampered            a signature does not match (raised only by ``verify_*`` helpers)
    │   └── ExplicitLabelError       a visible/audible label cannot be applied to this input
    │       ├── InvalidNoticeOptions wording, position, size or language the label cannot use
    │       ├── NoticeDoesNotFit     the media is too small for a legible label at >= 5 % height
    │       └── NoMediaStream        nothing to label: no video/audio stream, zero-length media
    ├── SigningKeyError              signing key missing, unreadable or unknown
    ├── LedgerError                  the evidence ledger cannot do what was asked
    │   ├── ProofMismatch            a Merkle proof does not lead to the expected root
    │   ├── LedgerDamaged            the ledger tables were edited outside the ledger
    │   └── CheckpointInvalid        a checkpoint note is malformed or its signature is not ours
    ├── C2paError                    a C2PA manifest cannot be signed or read
    ├── ReviewError                  the review engine cannot review this request
    │   ├── InvalidText              not UTF-8 text, or not text at all
    │   ├── TextTooLarge             a text over the review size limit
    │   ├── LibraryInvalid           a keyword library file or row that cannot be imported
    │   │   └── PatternRejected      a regex entry RE2 refuses (or that matches everything)
    │   ├── QueueConflict            a review item is not in a state that allows this (lost claim)
    │   └── ClassifierUnavailable    a classifier's model or remote service cannot answer
    ├── WatermarkError               an invisible watermark cannot be embedded or read
    │   └── MediaTooSmall            too few pixels/frames/samples to carry the payload
    ├── NotFound                     a record the caller named does not exist
    ├── PermissionDenied             the caller may not do this
    ├── RequestTooLarge              an upload over the configured limit
    ├── GovernanceError              a governance record or console request cannot be processed
    │   ├── InvalidField             a form/API field is missing, too long or malformed
    │   ├── RecordConflict           the record changed state first (answered, published, revoked)
    │   ├── LoginRequired            no valid console session (log in first)
    │   ├── CsrfRejected             a console form without this session's CSRF token
    │   └── LoginLocked              too many failed console logins for the account or client
    ├── IdentityError                real-name users and API keys (identity/, issue #6)
    │   ├── InvalidIdentity          an ID number, credit code or mobile that fails its check
    │   ├── UserExists               a user (or organisation) name already taken
    │   ├── VerificationUnavailable  the real-name verification provider cannot answer
    │   ├── AuthenticationFailed     no API key, an unknown key or a revoked key (401)
    │   ├── AccountRestricted        the user's status forbids this (unverified, suspended, banned)
    │   ├── RateLimited              the key's per-minute limit is used up (429)
    │   └── QuotaExceeded            the key's request quota is used up (429)
    └── GatewayError                 the OpenAI-compatible gateway (gateway/, issue #6)
        ├── InvalidRequest           malformed JSON, wrong types, missing fields (400)
        ├── UnknownModel             a model no upstream is configured for (404)
        ├── ContentBlocked           review refused the prompt or the output (400)
        ├── ConsentRequired          a face/voice edit without a valid consent record (Art. 14)
        ├── UpstreamUnavailable      the model server cannot be reached (502)
        ├── UpstreamTimeout          the model server did not answer in time (504)
        └── UpstreamFailed           the model server answered with an error (502)
"""

from __future__ import annotations

from typing import ClassVar


class SynthguardError(Exception):
    """Base of every error synthguard raises on purpose."""

    code: ClassVar[str] = "synthguard_error"
    http_status: ClassVar[int] = 400
    title_zh: ClassVar[str] = "请求无法完成"
    title_en: ClassVar[str] = "The request could not be completed"

    def __init__(self, message: str, *, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or f"{self.title_zh}：{message}"

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "title": self.title_en,
            "title_zh": self.title_zh,
        }


class ConfigError(SynthguardError):
    code = "config_error"
    http_status = 500
    title_zh = "配置错误"
    title_en = "Configuration error"


class FormatError(SynthguardError):
    code = "format_error"
    http_status = 415
    title_zh = "文件格式错误"
    title_en = "File format error"


class UnsupportedFormat(FormatError):
    code = "unsupported_format"
    http_status = 415
    title_zh = "不支持的文件格式"
    title_en = "Unsupported file format"


class CorruptFile(FormatError):
    """The file's structure is broken: truncated, bad lengths, bad checksums."""

    code = "corrupt_file"
    http_status = 422
    title_zh = "文件已损坏"
    title_en = "Corrupt file"

    def __init__(
        self, fmt: str, reason: str, *, offset: int | None = None, message_zh: str | None = None
    ) -> None:
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{fmt}: {reason}{where}", message_zh=message_zh)
        self.format = fmt
        self.reason = reason
        self.offset = offset


class MetadataTooLarge(FormatError):
    code = "metadata_too_large"
    http_status = 413
    title_zh = "元数据超出格式容量"
    title_en = "Metadata too large for the format"


class LabelError(SynthguardError):
    code = "label_error"
    http_status = 422
    title_zh = "标识错误"
    title_en = "Label error"


class InvalidLabel(LabelError):
    """An AIGC value breaks GB 45438-2025 Annex E."""

    code = "invalid_label"
    http_status = 422
    title_zh = "隐式标识不符合 GB 45438-2025 附录E"
    title_en = "Implicit label does not conform to GB 45438-2025 Annex E"


class LabelTampered(LabelError):
    code = "label_tampered"
    http_status = 422
    title_zh = "标识已被篡改"
    title_en = "Label has been tampered with"


class ExplicitLabelError(LabelError):
    """An explicit label (GB 45438-2025 clause 4) cannot be rendered onto this input."""

    code = "explicit_label_error"
    http_status = 422
    title_zh = "无法添加显式标识"
    title_en = "Explicit label cannot be applied"


class InvalidNoticeOptions(ExplicitLabelError):
    code = "invalid_notice_options"
    http_status = 422
    title_zh = "显式标识参数无效"
    title_en = "Invalid explicit label options"


class NoticeDoesNotFit(ExplicitLabelError):
    code = "notice_does_not_fit"
    http_status = 422
    title_zh = "媒体过小，无法放置清晰的显式标识"
    title_en = "Media too small for a legible explicit label"


class NoMediaStream(ExplicitLabelError):
    code = "no_media_stream"
    http_status = 422
    title_zh = "没有可加标识的音视频内容"
    title_en = "No media stream to label"


class LedgerError(SynthguardError):
    code = "ledger_error"
    http_status = 400
    title_zh = "证据账本错误"
    title_en = "Evidence ledger error"


class ProofMismatch(LedgerError):
    """A Merkle proof does not lead to the expected root (RFC 9162 2.1.3.2 / 2.1.4.2)."""

    code = "proof_mismatch"
    http_status = 422
    title_zh = "默克尔证明不成立"
    title_en = "Merkle proof does not verify"

    def __init__(
        self,
        message: str,
        *,
        expected: bytes | None = None,
        calculated: bytes | None = None,
        message_zh: str | None = None,
    ) -> None:
        super().__init__(message, message_zh=message_zh)
        self.expected = expected
        self.calculated = calculated


class LedgerDamaged(LedgerError):
    """The ledger tables were written by something other than the ledger (tampering or corruption)."""

    code = "ledger_damaged"
    http_status = 500
    title_zh = "证据账本已损坏"
    title_en = "Evidence ledger damaged"


class CheckpointInvalid(LedgerError):
    code = "checkpoint_invalid"
    http_status = 422
    title_zh = "检查点无效"
    title_en = "Invalid checkpoint"


class C2paError(SynthguardError):
    code = "c2pa_error"
    http_status = 422
    title_zh = "C2PA 内容凭证错误"
    title_en = "C2PA Content Credentials error"


class SigningKeyError(SynthguardError):
    code = "signing_key_error"
    http_status = 500
    title_zh = "签名密钥错误"
    title_en = "Signing key error"


class NotFound(SynthguardError):
    code = "not_found"
    http_status = 404
    title_zh = "未找到"
    title_en = "Not found"


class PermissionDenied(SynthguardError):
    code = "permission_denied"
    http_status = 403
    title_zh = "无权执行此操作"
    title_en = "Permission denied"


class RequestTooLarge(SynthguardError):
    code = "request_too_large"
    http_status = 413
    title_zh = "上传文件过大"
    title_en = "Upload too large"


class ReviewError(SynthguardError):
    code = "review_error"
    http_status = 422
    title_zh = "内容审核无法进行"
    title_en = "Review cannot be carried out"


class InvalidText(ReviewError):
    code = "invalid_text"
    http_status = 422
    title_zh = "文本无效（须为 UTF-8 文本）"
    title_en = "Invalid text (UTF-8 text expected)"


class TextTooLarge(ReviewError):
    code = "text_too_large"
    http_status = 413
    title_zh = "待审核文本过大"
    title_en = "Text too large to review"


class LibraryInvalid(ReviewError):
    code = "library_invalid"
    http_status = 422
    title_zh = "关键词库无法导入"
    title_en = "Keyword library cannot be imported"


class PatternRejected(LibraryInvalid):
    """A regex entry that RE2 cannot compile, or that would match everywhere."""

    code = "pattern_rejected"
    http_status = 422
    title_zh = "正则表达式被拒绝"
    title_en = "Regular expression rejected"

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(
            f"regex {pattern!r} rejected: {reason}", message_zh=f"正则表达式 {pattern!r} 被拒绝：{reason}"
        )
        self.pattern = pattern
        self.reason = reason


class QueueConflict(ReviewError):
    code = "queue_conflict"
    http_status = 409
    title_zh = "审核任务状态冲突"
    title_en = "Review item state conflict"


class ClassifierUnavailable(ReviewError):
    code = "classifier_unavailable"
    http_status = 503
    title_zh = "分类器不可用"
    title_en = "Classifier unavailable"


class IdentityError(SynthguardError):
    code = "identity_error"
    http_status = 400
    title_zh = "实名身份错误"
    title_en = "Identity error"


class InvalidIdentity(IdentityError):
    code = "invalid_identity"
    http_status = 422
    title_zh = "身份信息无效"
    title_en = "Invalid identity information"


class UserExists(IdentityError):
    code = "user_exists"
    http_status = 409
    title_zh = "用户已存在"
    title_en = "User already exists"


class VerificationUnavailable(IdentityError):
    code = "verification_unavailable"
    http_status = 503
    title_zh = "实名核验服务不可用"
    title_en = "Real-name verification service unavailable"


class AuthenticationFailed(IdentityError):
    code = "invalid_api_key"
    http_status = 401
    title_zh = "API 密钥无效"
    title_en = "Invalid API key"


class AccountRestricted(IdentityError):
    code = "account_restricted"
    http_status = 403
    title_zh = "账号状态不允许此操作"
    title_en = "The account's status does not allow this"


class RateLimited(IdentityError):
    code = "rate_limit_exceeded"
    http_status = 429
    title_zh = "请求过于频繁"
    title_en = "Rate limit exceeded"


class QuotaExceeded(IdentityError):
    code = "insufficient_quota"
    http_status = 429
    title_zh = "配额已用完"
    title_en = "Quota exceeded"


class GatewayError(SynthguardError):
    code = "gateway_error"
    http_status = 502
    title_zh = "网关错误"
    title_en = "Gateway error"


class InvalidRequest(GatewayError):
    code = "invalid_request"
    http_status = 400
    title_zh = "请求无效"
    title_en = "Invalid request"


class UnknownModel(GatewayError):
    code = "model_not_found"
    http_status = 404
    title_zh = "模型不存在"
    title_en = "Model not found"


class ContentBlocked(GatewayError):
    code = "content_policy_violation"
    http_status = 400
    title_zh = "内容未通过审核"
    title_en = "Content refused by review"


class ConsentRequired(GatewayError):
    code = "consent_required"
    http_status = 403
    title_zh = "需要被编辑人的单独同意"
    title_en = "Separate consent of the person is required"


class UpstreamUnavailable(GatewayError):
    code = "upstream_unavailable"
    http_status = 502
    title_zh = "模型服务不可达"
    title_en = "Model server unreachable"


class UpstreamTimeout(GatewayError):
    code = "upstream_timeout"
    http_status = 504
    title_zh = "模型服务超时"
    title_en = "Model server timed out"


class UpstreamFailed(GatewayError):
    code = "upstream_error"
    http_status = 502
    title_zh = "模型服务返回错误"
    title_en = "Model server returned an error"


class WatermarkError(SynthguardError):
    """An invisible watermark cannot be embedded in or read from this input (issue #4)."""

    code = "watermark_error"
    http_status = 422
    title_zh = "无法处理隐式水印"
    title_en = "Watermark cannot be processed"


class MediaTooSmall(WatermarkError):
    """Too few pixels, frames or samples to carry the payload robustly."""

    code = "watermark_media_too_small"
    http_status = 422
    title_zh = "媒体尺寸或时长不足以承载水印"
    title_en = "Media too small to carry a watermark"


class GovernanceError(SynthguardError):
    code = "governance_error"
    http_status = 422
    title_zh = "治理记录无法处理"
    title_en = "Governance request cannot be processed"


class InvalidField(GovernanceError):
    code = "invalid_field"
    http_status = 422
    title_zh = "字段无效"
    title_en = "Invalid field"


class RecordConflict(GovernanceError):
    code = "record_conflict"
    http_status = 409
    title_zh = "记录状态冲突"
    title_en = "Record state conflict"


class LoginRequired(GovernanceError):
    code = "login_required"
    http_status = 401
    title_zh = "请先登录"
    title_en = "Login required"


class CsrfRejected(GovernanceError):
    code = "csrf_rejected"
    http_status = 403
    title_zh = "跨站请求校验失败"
    title_en = "CSRF check failed"


class LoginLocked(GovernanceError):
    """Too many failed console logins; ``retry_at`` says when the next attempt is allowed."""

    code = "login_locked"
    http_status = 429
    title_zh = "登录失败次数过多"
    title_en = "Too many failed logins"

    def __init__(self, message: str, *, message_zh: str | None = None, retry_at: object = None) -> None:
        super().__init__(message, message_zh=message_zh)
        self.retry_at = retry_at
