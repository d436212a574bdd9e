"""The CLI's settings and core, built once per invocation by the root callback."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from synthguard.config import Settings
from synthguard.core import Synthguard


@dataclass
class CliState:
    settings: Settings
    core: Synthguard | None = field(default=None)


def open_core(ctx: typer.Context) -> Synthguard:
    state: CliState = ctx.find_root().obj
    if state.core is None:
        state.core = Synthguard.open(state.settings)
        ctx.find_root().call_on_close(state.core.close)
    return state.core


def settings_of(ctx: typer.Context) -> Settings:
    state: CliState = ctx.find_root().obj
    return state.settings
