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
    │   └── LabelTampered            a signature does not match (raised only by ``verify_*`` helpers)
    ├── SigningKeyError              signing key missing, unreadable or unknown
    ├── NotFound                     a record the caller named does not exist
    ├── PermissionDenied             the caller may not do this
    └── RequestTooLarge              an upload over the configured limit
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
