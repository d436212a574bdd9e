"""Adapter for the provider's own moderation model or a cloud moderation API, over HTTP.

No Chinese toxicity classifier ships offline, so the 31 TC260-003 risks beyond keywords and PII are
scored by a service the provider runs (e.g. Qwen3Guard behind vLLM) or buys (Aliyun, Tencent,
NetEase, Baidu), through one small JSON contract:

request  ``POST url`` ``{"modality": "text", "text": "..."}`` or
         ``{"modality": "image"|"audio"|"video", "data_base64": "..."}``
response ``{"scores": [{"risk": "A.1.f", "score": 0.93, "label": "porn"}]}``; an item may give
         only ``label`` when ``label_map`` maps provider labels to risk codes.

Timeouts, HTTP errors and malformed answers raise ``ClassifierUnavailable``; the review engine then
applies the configured fail mode (closed: human review; open: pass), never a silent pass.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import httpx

from synthguard.errors import ClassifierUnavailable
from synthguard.review.classifiers.base import MODALITIES, Content, Score
from synthguard.review.taxonomy import is_valid_code


class HttpModeration:
    def __init__(
        self,
        url: str,
        *,
        name: str = "http",
        timeout_s: float = 2.0,
        headers: Mapping[str, str] | None = None,
        label_map: Mapping[str, str] | None = None,
        modalities: frozenset[str] = frozenset(MODALITIES),
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self.modalities = modalities
        self.label_map = dict(label_map or {})
        self._client = client or httpx.Client(timeout=timeout_s, headers=dict(headers or {}))

    def close(self) -> None:
        self._client.close()

    def classify(self, content: Content) -> list[Score]:
        body: dict[str, Any] = {"modality": content.modality}
        if content.modality == "text":
            body["text"] = content.text
        else:
            body["data_base64"] = base64.b64encode(content.read_bytes()).decode("ascii")
        try:
            response = self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise ClassifierUnavailable(
                f"{self.name}: {type(exc).__name__} calling {self.url}",
                message_zh=f"审核服务 {self.name} 调用失败（{type(exc).__name__}）",
            ) from None
        if response.status_code != 200:
            raise ClassifierUnavailable(
                f"{self.name}: {self.url} answered HTTP {response.status_code}",
                message_zh=f"审核服务 {self.name} 返回 HTTP {response.status_code}",
            )
        try:
            payload = response.json()
            return self._parse(payload)
        except (ValueError, TypeError, KeyError) as exc:
            raise ClassifierUnavailable(
                f"{self.name}: malformed answer ({exc})", message_zh=f"审核服务 {self.name} 返回格式错误"
            ) from None

    def _parse(self, payload: Any) -> list[Score]:
        items = payload["scores"] if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise ValueError("expected an object with a 'scores' list")
        scores: list[Score] = []
        for item in items:
            label = str(item.get("label", ""))
            risk = str(item.get("risk") or self.label_map.get(label, ""))
            if not is_valid_code(risk):
                raise ValueError(f"unknown risk {risk!r} (label {label!r}); map it with label_map")
            score = float(item["score"])
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"score {score} outside 0..1")
            start, end = item.get("start"), item.get("end")
            scores.append(
                Score(
                    risk,
                    score,
                    label or risk,
                    self.name,
                    int(start) if start is not None else None,
                    int(end) if end is not None else None,
                )
            )
        return scores
