from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.errors import CorruptFile, InvalidNoticeOptions
from synthguard.labels.explicit import (
    Notice,
    NoticeStream,
    TextLabelOptions,
    awith_notice,
    label_text,
    with_notice,
)
from synthguard.labels.explicit.text import label_text_file

ZH = Notice(lang="zh")
NOTICE = ZH.long


def test_plain_start_and_end_put_the_notice_in_its_own_paragraph() -> None:
    text = "第一段。\n\n第二段。\n"
    assert label_text(text, TextLabelOptions(ZH, "start")) == f"{NOTICE}\n\n{text}"
    assert label_text(text, TextLabelOptions(ZH, "end")) == f"第一段。\n\n第二段。\n\n{NOTICE}\n"


def test_plain_middle_snaps_to_the_nearest_paragraph_boundary() -> None:
    text = "A" * 10 + "\n\n" + "B" * 10 + "\n\n" + "C" * 10
    out = label_text(text, TextLabelOptions(ZH, "middle"))
    assert out == "A" * 10 + "\n\n" + f"{NOTICE}\n\n" + "B" * 10 + "\n\n" + "C" * 10


def test_crlf_text_keeps_crlf_line_endings() -> None:
    out = label_text("one\r\n\r\ntwo\r\n", TextLabelOptions(ZH, "start"))
    assert out == f"{NOTICE}\r\n\r\none\r\n\r\ntwo\r\n"


def test_markdown_start_goes_after_the_front_matter() -> None:
    doc = "---\ntitle: x\nAIGC: {}\n---\n# Heading\n\nBody.\n"
    out = label_text(doc, TextLabelOptions(ZH, "start"), fmt="markdown")
    assert out.startswith("---\ntitle: x\nAIGC: {}\n---\n" + NOTICE + "\n\n# Heading")


def test_markdown_middle_never_lands_inside_a_code_fence_or_list() -> None:
    doc = "# T\n\nintro\n\n```python\nx = 1\n\ny = 2\n\nz = 3\n```\n\n- a\n\n- b\n\nlast paragraph\n"
    for offset in range(len(doc)):
        out = label_text(doc, TextLabelOptions(ZH, "middle", offset=offset), fmt="markdown")
        at = out.index(NOTICE)
        before = out[:at]
        assert before.count("```") % 2 == 0, offset  # not inside the fence
        assert not before.rstrip("\n").endswith("- a"), offset  # not splitting the list


def test_markdown_escapes_markup_characters_of_custom_wording() -> None:
    out = label_text("x", TextLabelOptions(Notice(text="*AI* 生成 [x]"), "end"), fmt="markdown")
    assert "\\*AI\\* 生成 \\[x\\]" in out


def test_html_notice_goes_inside_body_even_with_body_strings_in_scripts() -> None:
    page = (
        "<!doctype html><html><head><title>t</title></head><body class='x'>"
        "<p>a</p><script>var s = '</body>';</script><div>b</div></body></html>"
    )
    start = label_text(page, TextLabelOptions(ZH, "start"), fmt="html")
    assert start.index('<p class="aigc-notice"') > start.index("<body class='x'>")
    assert start.index('<p class="aigc-notice"') < start.index("<p>a</p>")
    end = label_text(page, TextLabelOptions(ZH, "end"), fmt="html")
    assert end.index('<p class="aigc-notice"') > end.index("<div>b</div>")
    assert end.index('<p class="aigc-notice"') < end.rindex("</body>")
    middle = label_text(page, TextLabelOptions(ZH, "middle"), fmt="html")
    assert (
        '</p>\n<p class="aigc-notice"' in middle or "</script>\n<p class" in middle or "</div>\n<p" in middle
    )


def test_html_escapes_the_notice_text() -> None:
    out = label_text("<p>x</p>", TextLabelOptions(Notice(text="<b>AI生成</b>"), "start"), fmt="html")
    assert "&lt;b&gt;AI生成&lt;/b&gt;" in out


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300))
def test_any_text_keeps_every_original_character_in_order(text: str) -> None:
    for fmt in ("plain", "markdown"):
        for position in ("start", "end", "middle"):
            out = label_text(text, TextLabelOptions(ZH, position), fmt=fmt)
            assert NOTICE in out
            # Removing the inserted notice (and its separators) gives back the text's characters.
            rest = out.replace(NOTICE, "", 1)
            assert [c for c in rest if c not in "\r\n"] == [c for c in text if c not in "\r\n"]


def test_wording_without_ai_or_generated_is_refused() -> None:
    with pytest.raises(InvalidNoticeOptions):
        Notice(text="Hello world")
    with pytest.raises(InvalidNoticeOptions):
        TextLabelOptions(ZH, "sideways")


def test_stream_carries_the_notice_in_the_first_chunk_or_after_the_last() -> None:
    chunks = ["Hel", "lo", ""]
    assert list(with_notice(chunks, ZH)) == [f"{NOTICE}\n\nHel", "lo"]
    assert list(with_notice(chunks, ZH, position="end")) == ["Hel", "lo", f"\n\n{NOTICE}"]
    assert list(with_notice([], ZH)) == [NOTICE]
    stream = NoticeStream(ZH)
    assert stream.feed("") == ""  # an empty first delta does not take the notice
    assert stream.feed("x").startswith(NOTICE)


def test_async_stream_matches_the_sync_form() -> None:
    async def source() -> AsyncIterator[str]:
        for c in ("a", "b"):
            yield c

    async def collect() -> list[str]:
        return [c async for c in awith_notice(source(), ZH, position="end")]

    assert asyncio.run(collect()) == ["a", "b", f"\n\n{NOTICE}"]


def test_text_file_keeps_the_bom_and_refuses_non_utf8(tmp_path: Path) -> None:
    src = tmp_path / "a.md"
    src.write_bytes(b"\xef\xbb\xbf# T\n\nbody\n")
    assert label_text_file(src, None, TextLabelOptions(ZH, "end")) == "markdown"
    data = src.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# T") and NOTICE.encode() in data
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorruptFile):
        label_text_file(bad)
    assert bad.read_bytes() == b"\xff\xfe\x00bad"
