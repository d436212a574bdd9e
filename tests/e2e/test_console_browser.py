"""The console and public pages in headless Chromium: a reviewer logs in and decides a queued item,
a ban requested in the console and approved by a second staff member is refused by the gateway,
queued image and audio are previewed, the language switch renders one language, a public complaint
is answered by staff, and the public check page shows the verdict of a labeled file. Screenshots are
kept in tests/e2e/artifacts/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import openai
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from synthguard.review import read_library, sample_library
from tests.conftest import make_png
from tests.e2e.conftest import ARTIFACTS, FILING, PASSWORD
from tests.gateway.conftest import Running

RUMOUR = "演示谣言词"


@pytest.fixture
def page(browser_context: Any) -> Any:
    context: BrowserContext = browser_context
    context.clear_cookies()
    page = context.new_page()
    yield page
    page.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base: str, user: str) -> None:
    page.goto(base + "/console/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(user)


def test_reviewer_logs_in_claims_and_decides_an_item_as_illegal(page: Page, service: Running) -> None:
    entries, _ = read_library(sample_library(), "sample_library.csv")
    service.core.reviewer.library.import_entries(entries, source="e2e")
    decision = service.core.review_text(f"转发：{RUMOUR}，速看", user_id="alice")
    item = decision.queue_item_id
    assert item is not None
    log_in(page, service.url, "reviewer")
    expect(page.locator("footer#filing")).to_contain_text(FILING)
    expect(page.locator("[data-queue-open]")).not_to_have_text("0")
    shot(page, "00-dashboard")
    page.click("header nav a[href='/console/queue']")
    page.click(f"tr[data-item='{item}'] a")
    expect(page.locator("[data-content] mark")).to_have_text(RUMOUR)
    page.click("#claim")
    expect(page.locator("[data-claimed-by]")).to_have_text("reviewer")
    page.fill("#reason", "谣言，已核实 A.1.g")
    shot(page, "01-review-item-claimed")
    page.click("#decide-illegal")
    expect(page.locator("[data-incident-status]")).to_have_text("open")
    expect(page.locator("h1")).to_contain_text(f"Review item #{item} found illegal")
    shot(page, "02-incident-opened")
    view = service.core.reviewer.queue.get(item)
    assert (view.status, view.outcome, view.decided_by) == ("decided", "block", "reviewer")


def test_ban_needs_a_second_staff_member_then_the_gateway_refuses_at_once(
    page: Page, service: Running
) -> None:
    api = openai.OpenAI(base_url=service.url + "/v1", api_key=service.keys["dave"], max_retries=0)
    hello = [{"role": "user", "content": "你好"}]
    assert api.chat.completions.create(model="demo", messages=hello).choices  # type: ignore[arg-type]
    log_in(page, service.url, "reviewer")
    page.goto(service.url + "/console/users/dave")
    page.select_option("#sanction-action", "ban")
    page.fill("#sanction-reason", "多次输入违法信息")
    page.click("#sanction-submit")
    # Four-eyes: the request waits on the approvals page; the requester has no approve button.
    expect(page).to_have_url(re.compile(r"/console/approvals"))
    row = page.locator("#pending tr[data-approval]", has_text="dave")
    expect(row.locator("[data-own-request]")).to_be_visible()
    expect(row.locator("button.approve")).to_have_count(0)
    shot(page, "03-ban-requested")
    assert api.chat.completions.create(model="demo", messages=hello).choices  # type: ignore[arg-type]
    page.goto(service.url + "/console/users/dave")
    expect(page.locator("[data-user-status]")).not_to_have_text("banned")
    expect(page.locator("[data-pending-approval]")).to_be_visible()

    log_in(page, service.url, "admin")  # the second person
    page.goto(service.url + "/console/approvals")
    row = page.locator("#pending tr[data-approval]", has_text="dave")
    expect(row.locator("[data-requested-by]")).to_have_text("reviewer")
    row.locator("input[name=note]").first.fill("证据充分，同意封禁")
    shot(page, "03b-ban-awaiting-second-approver")
    row.locator("button.approve").click()
    decided = page.locator("#decided tr[data-approval]", has_text="dave")
    expect(decided.locator("[data-status]")).to_have_text("approved")
    expect(decided).to_contain_text("admin")
    shot(page, "03c-ban-approved")
    page.goto(service.url + "/console/users/dave")
    expect(page.locator("[data-user-status]")).to_have_text("banned")
    shot(page, "03d-user-banned")
    with pytest.raises(openai.PermissionDeniedError) as err:
        api.chat.completions.create(model="demo", messages=hello)  # type: ignore[arg-type]
    assert err.value.body["code"] == "account_restricted"  # type: ignore[index]


def test_review_queue_previews_image_audio_and_video_media(
    page: Page, service: Running, tmp_path: Path
) -> None:
    from tests.console.test_media_preview import wav_bytes
    from tests.review.test_classifiers import drawn_face, png_bytes

    png = png_bytes(drawn_face())
    decision = service.core.review_media(png, "image", service="face_swap", user_id="alice")
    image_item = decision.queue_item_id
    assert decision.action == "review" and image_item is not None
    audio_item = service.core.reviewer.queue.enqueue(
        "", media=wav_bytes(1.0), service="voice_clone", direction="in", user_id="alice"
    )
    log_in(page, service.url, "reviewer")
    page.goto(f"{service.url}/console/queue/{image_item}")
    image = page.locator("img#media-preview")
    expect(image).to_be_visible()
    page.wait_for_function("document.querySelector('img#media-preview').naturalWidth > 0")
    width = page.evaluate("document.querySelector('img#media-preview').naturalWidth")
    assert width == int.from_bytes(png[16:20], "big")  # the PNG's own width, decoded by the browser
    shot(page, "08-queue-image-preview")
    page.goto(f"{service.url}/console/queue/{audio_item}")
    expect(page.locator("audio#media-preview")).to_be_visible()
    page.wait_for_function("document.querySelector('audio#media-preview').duration > 0.9")
    shot(page, "09-queue-audio-preview")
    for suffix, args in (("webm", ["-c:v", "libvpx"]), ("mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"])):
        clip = tmp_path / f"clip.{suffix}"
        source = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1"]
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", *source, *args, "-y", str(clip)],
            check=True,
            timeout=60,
        )
        video_item = service.core.reviewer.queue.enqueue(
            "", media=clip.read_bytes(), service="video_edit", direction="in", user_id="alice"
        )
        page.goto(f"{service.url}/console/queue/{video_item}")
        expect(page.locator("video#media-preview")).to_have_attribute("data-media-type", f"video/{suffix}")
        page.wait_for_function("document.querySelector('video#media-preview').videoWidth === 160")
        shot(page, f"09b-queue-video-preview-{suffix}")
    # The auditor reads the audit trail, not the users' media.
    log_in(page, service.url, "auditor")
    response = page.request.get(f"{service.url}/console/queue/{image_item}/media")
    assert response.status == 403


def test_language_switch_renders_one_language(page: Page, service: Running) -> None:
    page.goto(service.url + "/public/check")  # the browser asks for zh-CN
    expect(page.locator("h1")).to_have_text("这是 AI 生成的吗？")
    page.click("#lang-en")
    expect(page.locator("h1")).to_have_text("Is this AI-generated?")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(service.url + "/public/complaint")  # remembered
    expect(page.locator("main")).not_to_contain_text("投诉")
    shot(page, "10-public-complaint-english")
    page.click("#lang-zh")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_public_complaint_shows_in_console_with_timer_and_gets_answered(
    page: Page, browser_context: Any, service: Running
) -> None:
    page.goto(service.url + "/public/complaint")
    expect(page.locator("[data-time-limit]")).to_have_text("72")
    page.select_option("#category", "rumour")
    page.fill("#content_id", "sg-e2e-rumour")
    page.fill("#description", "这段视频是伪造的")
    page.click("#complaint-submit")
    expect(page.locator("[data-ticket-status]")).to_have_text("open")
    ticket_url = page.url
    shot(page, "04-complaint-filed")
    staff = browser_context.new_page()
    log_in(staff, service.url, "reviewer")
    staff.goto(service.url + "/console/complaints")
    row = staff.locator("tr[data-complaint]", has_text="这段视频是伪造的")
    expect(row.locator("[data-timer]")).to_contain_text("剩余 71h")  # the client-side countdown ran
    shot(staff, "05-complaint-in-console")
    row.locator("a").first.click()
    staff.click("#take")
    expect(staff.locator("[data-complaint-status]")).to_have_text("in_progress")
    staff.fill("#feedback", "已核实并删除，感谢举报")
    staff.click("#answer")
    expect(staff.locator("[data-complaint-status]")).to_have_text("answered")
    staff.close()
    page.goto(ticket_url)
    expect(page.locator("[data-feedback]")).to_have_text("已核实并删除，感谢举报")
    shot(page, "06-complaint-answered")


def test_public_page_shows_the_verdict_of_a_labeled_file(
    page: Page, service: Running, tmp_path: Path
) -> None:
    labeled = service.core.label_file(make_png(tmp_path / "photo.png", (320, 240)))
    page.goto(service.url + "/public/check")
    page.set_input_files("#check-file", labeled.path or "")
    page.click("#check-submit")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "compliant")
    expect(verdict).to_have_attribute("data-integrity", "intact")
    expect(page.locator("[data-display]")).to_contain_text("人工智能生成")
    expect(page.locator("[data-art6]")).to_have_attribute("data-art6", "confirmed")
    expect(page.locator("[data-ledger]")).to_contain_text(labeled.content_id or "")
    expect(page.locator("footer#filing")).to_contain_text(FILING)
    shot(page, "07-public-check-verdict")
