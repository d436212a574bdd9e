"""Rendering for the CLI: results go to stdout (a Rich table, or JSON Lines with ``--json``); progress,
warnings and errors go to stderr, so ``--json`` output can be piped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


class JsonResult(Protocol):
    def to_json_dict(self) -> dict[str, Any]: ...


def emit_json_lines(results: Sequence[JsonResult]) -> None:
    out = sys.stdout
    for result in results:
        out.write(json.dumps(result.to_json_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


def emit_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    stdout.print(table)


@contextmanager
def progress_bar(total: int, description: str, *, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A Rich bar on stderr for long batches on a terminal; nothing otherwise."""
    if not enabled or total < 2 or not stderr.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def error(message: str) -> None:
    stderr.print(f"[bold red]error[/]: {message}", highlight=False)
