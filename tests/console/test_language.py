"""One language per page: Chinese by default, English by ``?lang=en`` (remembered in a cookie) or
the browser's Accept-Language; every label exists in both; user content is never mistaken for a
language marker."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from synthguard.console.web import single_language
from synthguard.core import Synthguard
from tests.console.conftest import login, queued_item
from tests.console.test_access import PAGE_URLS, PUBLIC_URLS

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u3011]")


def _visible(html: str) -> str:
    """The page text a reader sees (tags, scripts and the language switch's own name removed)."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    html = re.sub(r'<span class="lang-switch".*?</span>\n', "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_chinese_by_default_english_by_accept_language(app_client: TestClient) -> None:
    zh = app_client.get("/public/check")
    assert zh.headers["content-language"] == "zh-CN" and '<html lang="zh-CN">' in zh.text
    assert "是否 AI 生成" in zh.text and "Is this AI-generated?" not in _visible(zh.text)
    en = app_client.get("/public/check", headers={"Accept-Language": "en-GB,en;q=0.8,zh;q=0.5"})
    assert en.headers["content-language"] == "en" and '<html lang="en">' in en.text
    assert "Is this AI-generated?" in en.text and not CJK.search(_visible(en.text))
    prefers_zh = app_client.get("/public", headers={"Accept-Language": "en;q=0.3, zh-CN"})
    assert prefers_zh.headers["content-language"] == "zh-CN"


def test_the_switch_is_remembered_and_beats_the_browser(app_client: TestClient) -> None:
    r = app_client.get("/public/complaint?lang=en", headers={"Accept-Language": "zh-CN"})
    assert r.headers["content-language"] == "en" and "sg_lang=en" in r.headers["set-cookie"]
    again = app_client.get("/public/complaint", headers={"Accept-Language": "zh-CN"})
    assert again.headers["content-language"] == "en"  # the cookie wins over Accept-Language
    back = app_client.get("/public/complaint?lang=zh")
    assert back.headers["content-language"] == "zh-CN"
    assert app_client.get("/public?lang=fr").headers["content-language"] == "zh-CN"  # unknown: ignored


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_one_language(app_client: TestClient, core: Synthguard, lang: str) -> None:
    from synthguard.governance import Actor

    staff = Actor("reviewer2", "reviewer")
    queued_item(core)
    core.users.add_user("alice")
    incident = core.governance.incidents.open(staff, "incident title")
    complaint = core.governance.complaints.file("rumour", "description")
    assessment = core.governance.assessments.start(staff, "security_self", "assessment title")
    core.governance.sanction(staff, "alice", "ban", "reason")  # a pending approval to show
    login(app_client, "admin")
    app_client.cookies.set("sg_lang", lang)
    details = [
        "/console/queue/1",
        "/console/users/alice",
        f"/console/incidents/{incident.id}",
        f"/console/complaints/{complaint.id}",
        f"/console/assessments/{assessment.id}",
    ]
    for url in [*PAGE_URLS.values(), *PUBLIC_URLS[:4], "/console/login", *details]:
        page = app_client.get(url)
        assert page.status_code == 200, url
        other = "en" if lang == "zh" else "zh"
        assert f'class="{other}"' not in page.text, url
        if lang == "en":
            leftover = CJK.findall(_visible(page.text).replace("请审核这段文字：样例词", ""))
            assert not leftover, (url, leftover[:10])


def test_user_text_that_looks_like_a_marker_is_kept_escaped(app_client: TestClient, core: Synthguard) -> None:
    item = queued_item(core, text='<span class="en">keep me</span> 以及中文')
    login(app_client, "reviewer")
    page = app_client.get(f"/console/queue/{item}").text
    assert "&lt;span class=&#34;en&#34;&gt;keep me&lt;/span&gt; 以及中文" in page


def test_single_language_handles_nesting() -> None:
    html = '<p><span class="zh">中 <span>内</span></span> <span class="en">en <span>in</span></span>!</p>'
    assert single_language(html, "zh") == '<p><span class="zh">中 <span>内</span></span>!</p>'
    assert single_language(html, "en") == '<p><span class="en">en <span>in</span></span>!</p>'
