"""Explicit labels in an interactive UI: an embeddable badge and its JSON description.

GB 45438-2025 (interactive scenes) and Labeling Measures Art. 4: a persistent notice near the
generated content for as long as it is shown; Deep Synthesis Provisions Art. 19: show the filing
number and a link to the public record prominently. :func:`badge_json` describes the label for apps
that draw their own; :func:`badge_html` is a self-contained snippet (inline styles, no external
assets, every value escaped) to place next to the content; :data:`BADGE_SCRIPT` defines a
``<synthguard-aigc-badge>`` custom element for pages that prefer a tag with attributes.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlparse

from synthguard.errors import InvalidNoticeOptions
from synthguard.labels.explicit.notice import Notice

SCHEMA = 1


def _safe_url(url: str) -> str:
    if not url:
        return ""
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise InvalidNoticeOptions(
            f"filing link {url!r} must be an http(s) URL", message_zh=f"备案链接 {url!r} 须为 http(s) 地址"
        )
    return url


def badge_json(
    notice: Notice | None = None, *, filing_number: str = "", filing_url: str = "", content_id: str = ""
) -> dict[str, Any]:
    """What an app needs to draw the label itself, in both languages."""
    notice = notice or Notice()
    return {
        "schema": SCHEMA,
        "type": "aigc-explicit-label",
        "label": notice.level,
        "text": notice.long,
        "short": notice.short,
        "text_zh": notice.text_zh,
        "text_en": notice.text_en,
        "placement": "adjacent-to-content",
        "persistent": True,
        "content_id": content_id,
        "filing": {"number": filing_number, "url": _safe_url(filing_url)} if filing_number else None,
    }


def badge_html(
    notice: Notice | None = None, *, filing_number: str = "", filing_url: str = "", content_id: str = ""
) -> str:
    """A self-contained badge: place it next to the generated content and keep it while shown."""
    data = badge_json(notice, filing_number=filing_number, filing_url=filing_url, content_id=content_id)
    esc = html.escape
    filing = ""
    if data["filing"]:
        number = esc(data["filing"]["number"])
        url = data["filing"]["url"]
        filing = (
            f' <a href="{esc(url)}" rel="noopener" target="_blank" style="color:inherit">{number}</a>'
            if url
            else f" <span>{number}</span>"
        )
    attrs = f' data-aigc-label="{esc(data["label"])}"'
    if content_id:
        attrs += f' data-content-id="{esc(content_id)}"'
    return (
        f'<div class="synthguard-aigc-badge" role="note" aria-label="{esc(data["text"])}"{attrs} '
        'style="display:inline-flex;align-items:center;gap:.4em;padding:.2em .6em;border-radius:.4em;'
        "font:600 12px/1.4 system-ui,'PingFang SC','Noto Sans CJK SC',sans-serif;"
        'background:rgba(0,0,0,.72);color:#fff">'
        f'<span aria-hidden="true">AI</span><span>{esc(data["text"])}</span>{filing}</div>'
    )


BADGE_SCRIPT = """\
/* synthguard AIGC badge (GB 45438-2025 explicit label for interactive UI).
   <synthguard-aigc-badge label="1" lang="zh-en" filing-number="..." filing-url="https://..."> */
(() => {
  const TEXT = %(texts)s;
  class SynthguardAigcBadge extends HTMLElement {
    static get observedAttributes() { return ["label", "lang", "filing-number", "filing-url"]; }
    connectedCallback() { this.render(); }
    attributeChangedCallback() { this.render(); }
    render() {
      const level = ["1", "2", "3"].includes(this.getAttribute("label")) ? this.getAttribute("label") : "1";
      const lang = this.getAttribute("lang") || "zh-en";
      const t = TEXT[level];
      const text = lang === "zh" ? t.zh : lang === "en" ? t.en : t.zh + " \\u00b7 " + t.en;
      const root = this.shadowRoot || this.attachShadow({ mode: "open" });
      root.textContent = "";
      const style = document.createElement("style");
      style.textContent = ":host{display:inline-flex;align-items:center;gap:.4em;padding:.2em .6em;" +
        "border-radius:.4em;font:600 12px/1.4 system-ui,'PingFang SC','Noto Sans CJK SC',sans-serif;" +
        "background:rgba(0,0,0,.72);color:#fff} a{color:inherit}";
      const note = document.createElement("span");
      note.setAttribute("role", "note");
      note.textContent = text;
      root.append(style, note);
      const number = this.getAttribute("filing-number");
      const url = this.getAttribute("filing-url") || "";
      if (number) {
        const link = document.createElement(/^https?:\\/\\//.test(url) ? "a" : "span");
        if (link.tagName === "A") { link.href = url; link.rel = "noopener"; link.target = "_blank"; }
        link.textContent = number;
        root.append(link);
      }
    }
  }
  if (!customElements.get("synthguard-aigc-badge")) {
    customElements.define("synthguard-aigc-badge", SynthguardAigcBadge);
  }
})();
"""


def badge_script() -> str:
    from synthguard.labels.explicit.notice import LONG_EN, LONG_ZH

    texts = {level: {"zh": LONG_ZH[level], "en": LONG_EN[level]} for level in LONG_ZH}
    return BADGE_SCRIPT % {"texts": json.dumps(texts, ensure_ascii=False)}
