"""Terminal output shared by every command: one stderr console and progress bars with rate and ETA."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# Progress and warnings go to stderr so that stdout stays clean for data (`--json`, lists, tables).
console = Console(stderr=True, highlight=False)


class RateColumn(TextColumn):
    """Items per second, in the unit the caller names (images/s, records/s)."""

    def __init__(self, unit: str) -> None:
        super().__init__("")
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            text = f"- {self.unit}/s"
        elif speed < 1:  # slow items (epochs) read better as time per item
            text = f"{1 / speed:,.1f} s/{self.unit.rstrip('s')}"
        else:
            text = f"{speed:,.1f} {self.unit}/s"
        return Text(text, style="progress.data.speed")


def progress_bar(unit: str = "it", transient: bool = False) -> Progress:
    """A progress bar showing count, percentage, rate and ETA; use as a context manager."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def warn(message: str) -> None:
    console.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


@contextmanager
def progress_callback(
    description: str, unit: str = "it", transient: bool = False
) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar driven by `callback(done, total)`, the form the data layers report progress in."""
    with progress_bar(unit, transient) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
