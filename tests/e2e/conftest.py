"""The whole service under uvicorn (gateway + console + public pages) in front of the demo model
server, and headless Chromium driven by Playwright.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``make apt``); Playwright never downloads
a browser here. Each browser starts with a fresh user-data dir. Screenshots go to
``tests/e2e/artifacts/`` (git-ignored) as test artefacts.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthguard.core import Synthguard
from synthguard.governance import Actor
from tests.gateway.conftest import Running, demo_upstream, make_settings, populate, serve

__all__ = ["demo_upstream"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "correct-horse-battery"
FILING = "网信算备110108823483901230031号"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, demo_upstream: str) -> Iterator[Running]:
    settings = make_settings(tmp_path_factory.mktemp("e2e") / "var", demo_upstream, console_password_cost=10)
    with Synthguard.open(settings) as core:
        keys = populate(core)
        setup = Actor("setup", "cli")
        for name in ("admin", "reviewer", "auditor"):
            core.governance.staff.create_user(setup, name, PASSWORD, name)
        core.governance.filing.set(setup, "filed", algorithm_number=FILING)
        for url in serve(settings, core):
            yield Running(url, core, settings, keys)


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed; `make apt` installs it")
    from playwright.sync_api import sync_playwright

    user_data = tempfile.mkdtemp(prefix="sg-chromium-")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, locale="zh-CN"
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(user_data, ignore_errors=True)
