"""Result models the core returns and every face renders (Rich table or JSON from the same object)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


class FileError(BaseModel):
    code: str
    message: str
    message_zh: str


class SignatureStatus(BaseModel):
    integrity: str
    key_id: str = ""
    reason: str = ""


class LabelOutcome(BaseModel):
    """One file labeled (producer) or propagated (platform)."""

    schema_: int = Field(default=SCHEMA_VERSION, alias="schema")
    source: str
    path: str = ""
    ok: bool = True
    format: str = ""
    role: str = "produce"
    content_id: str = ""
    label: dict[str, str] | None = None
    key_id: str = ""
    explicit: dict[str, Any] | None = None  # what the explicit label renderer did, when asked
    watermark: dict[str, Any] | None = None  # the invisible watermark embedded (issue #4): mark id, key
    error: FileError | None = None

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class Inspection(BaseModel):
    """What a reader finds in a file: the GB 45438 verdict, the label, and both signatures."""

    schema_: int = Field(default=SCHEMA_VERSION, alias="schema")
    source: str
    ok: bool = True
    format: str = ""
    verdict: str = ""
    label: dict[str, str] | None = None
    carriers: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    integrity: str = ""
    producer: SignatureStatus | None = None
    propagator: SignatureStatus | None = None
    display_zh: str = ""
    display_en: str = ""
    error: FileError | None = None

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")
