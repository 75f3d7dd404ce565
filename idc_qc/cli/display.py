"""How a build looks on the terminal: a spinner from the first second, one line per model
with a steady n/N counter, failures in full, passing tests as a count."""

from __future__ import annotations

import threading
from collections import Counter

from rich.console import Console
from rich.markup import escape

from ..dbt_runner import BUILT_TYPES, Progress

_MARKS = {"success": "[green]OK[/]", "pass": "[green]PASS[/]", "fail": "[red]FAIL[/]", "error": "[red]ERROR[/]",
          "runtime error": "[red]ERROR[/]", "warn": "[yellow]WARN[/]", "skipped": "[yellow]SKIP[/]"}


class BuildDisplay:
    """A ProgressCallback (``display(event)``) that draws the build; use as a context manager."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total: int | None = None
        self.done = 0
        self.tests: Counter[str] = Counter()
        self.status = None
        self._lock = threading.Lock()

    def __enter__(self) -> "BuildDisplay":
        if self.console.is_terminal:
            self.status = self.console.status("starting ...", spinner="dots")
            self.status.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def _spin(self, text: str) -> None:
        if self.status is not None:
            self.status.update(text)

    def __call__(self, event: Progress) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: Progress) -> None:
        if event.kind == "stage":
            if self.status is not None:
                self._spin(event.text + " ...")
            else:
                self.console.print(f"[dim]{escape(event.text)} ...[/]")
        elif event.kind == "notice":
            self.console.print(f"[yellow]Note:[/] {escape(event.text)}")
        elif event.kind == "planned":
            self.total = len(event.names)
            self._spin(f"building 0/{self.total} models ...")
        elif event.kind == "started":
            kind, name = _kind_name(event.unique_id)
            if kind in BUILT_TYPES:
                self._spin(f"building {self.done}/{self.total or '?'} models: {name} ...")
        elif event.kind == "finished":
            self._finished(event)

    def _finished(self, event: Progress) -> None:
        kind, name = _kind_name(event.unique_id)
        mark = _MARKS.get(event.status, escape(event.status))
        if kind in BUILT_TYPES:
            self.done += 1
            width = len(str(self.total or self.done))
            counter = f"{self.done:>{width}}/{self.total or '?'}"
            self.console.print(f"  {counter}  {mark}  {escape(name)}  [dim]{event.seconds:.1f}s[/]")
            self._spin(f"building {self.done}/{self.total or '?'} models ...")
        elif kind in {"test", "unit_test"}:
            self.tests[event.status] += 1
            self._spin(f"built {self.done}/{self.total or '?'} models; {sum(self.tests.values())} tests run ...")
            if event.status not in {"pass", "success", "skipped"}:
                label = "unit test" if kind == "unit_test" else "test"
                self.console.print(f"        {mark}  {label} {escape(name)}")
        # exposures, operations: nothing to show

    def tests_line(self) -> str:
        passed = self.tests["pass"] + self.tests["success"]
        other = {k: v for k, v in self.tests.items() if k not in {"pass", "success"}}
        return f"{passed} tests passed" + "".join(f", {v} {k}" for k, v in sorted(other.items()))


def _kind_name(unique_id: str) -> tuple[str, str]:
    parts = unique_id.split(".")
    return parts[0], parts[2] if len(parts) > 2 else unique_id
