"""`idc-qc demo`: the main job end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from .app import console


class DemoDisplay:
    """Progress of the demo: a numbered line per step, a bar while synthesizing, a spinner
    while checking and drawing, and the step's outcome when it ends."""

    _MARKS = {"ok": "[green]done[/]", "checks_failed": "[yellow]found failures[/]", "skipped": "[yellow]skipped[/]"}

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = None       # the rich Progress or Status running now
        self.task = None

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def step(self, number: int, of: int, name: str, text: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.stop()
        self.console.print(f"[bold]{number}/{of}[/] {escape(text)} ...")
        if name == "synth":
            self.live = Progress(TextColumn("  series"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=self.console, transient=True)
            self.task = self.live.add_task("synth", total=None)
            self.live.start()
        elif name != "build" and self.console.is_terminal:  # the build draws its own progress
            self.live = self.console.status(f"{name} ...", spinner="dots")
            self.live.start()

    def synth(self, done: int, total: int) -> None:
        if self.live is not None and self.task is not None:
            self.live.update(self.task, completed=done, total=total)

    def status(self, text: str) -> None:
        if self.live is not None and hasattr(self.live, "update") and self.task is None:
            self.live.update(f"{text} ...")

    def done(self, step) -> None:
        self.stop()
        self.task = None
        mark = self._MARKS.get(step.status, escape(step.status))
        self.console.print(f"  {mark}: {escape(step.detail)} [dim]{step.seconds:.1f}s[/]")


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's data, database and reports.")] = Path("build/demo"),
    series: Annotated[int, typer.Option("--series", "-n", help="How many real IDC series to synthesize.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed for the synthetic sample.")] = 0,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit like `idc-qc check` (1 when a quality gate failed) instead of 0: the demo's "
                         "faults are injected, so its gates are expected to fail.")] = False,
) -> None:
    """Run the main job end to end on the embedded DuckDB engine, and say where every result is.

    Synthesizes instance metadata for a sample of IDC's real series (with injected geometry
    faults and malformed values), builds every table, runs the quality gates (check), writes
    the curators' QC report, draws the IDC paper's Figure 5 (UpSet of failing geometry
    checks) for the sample and the offline dashboard. Everything is marked synthetic.

    Exit code: 0 when every step ran, even though the gates find the injected faults (that is
    what they are for); --strict exits 1 then, as `idc-qc check` does. 2 when a step could not
    run.

    Example: idc-qc demo --series 5000 --out build/demo
    """
    from ..demo import run_demo
    from ..paths import remember_db
    from .display import BuildDisplay

    display = DemoDisplay(console)
    try:
        result = run_demo(out, series=series, seed=seed, on_step=display.step, on_synth=display.synth,
                          on_progress=BuildDisplay(console), on_status=display.status, on_done=display.done)
    finally:
        display.stop()
    remember_db(result.db)  # the commands the README lists next read this database
    _summary(result, strict)
    raise typer.Exit(result.exit_code(strict=strict))


def _summary(result, strict: bool) -> None:
    from rich.table import Table

    if result.summary is not None and result.summary.categories:
        table = Table(title="Geometry of the synthesized series", caption=result.notice, caption_style="bold red")
        for column, justify in (("category", "left"), ("modality", "left"), ("series", "right")):
            table.add_column(column, justify=justify)
        for category, modality, count in result.summary.categories:
            table.add_row(category, modality, f"{count:,}")
        console.print(table)
        if getattr(result.summary, "reconciliation", None):
            console.print(f"  {escape(result.summary.reconciliation)}")

    console.print(f"\n[bold]Done in {result.seconds:.0f}s.[/] Results in {escape(str(result.out))}:")
    if result.notice:
        console.print(f"[bold red]{escape(result.notice)}[/]")
    width = max(len(label) for label in [*result.outputs, "tables as parquet"])
    for label, path in result.outputs.items():
        console.print(f"  {label:<{width}}  {escape(str(path))}")
    if result.exports:
        names = ",".join(result.exports)
        console.print(f"  {'tables as parquet':<{width}}  {escape(str(result.out))}/{{{escape(names)}}}.parquet")

    check = result.check
    failed, errored = check.count("failed"), check.count("errored")
    total = len(check.expectations)
    if errored:
        console.print(f"[red]Quality gates incomplete:[/] {errored} of {total} expectations could not run "
                      f"(see {escape(str(check.validation_path))}); exit 2.")
    elif result.gates_failed:
        expected = ("expected: the input is synthetic and its faults and malformed values were injected on purpose"
                    if result.input_kind == "synthetic" else "the input is not marked synthetic: look at the report")
        what = f"{failed} of {total} expectations failed" if failed else "dbt data tests failed"
        exit_line = ("exit 1 (--strict)" if strict else
                     "exit 0 (the demo ran; --strict exits 1 as `idc-qc check` does)")
        console.print(f"[yellow]Quality gates: {what}[/] ({check.failing_rows:,} failing rows in "
                      f"{check.series_affected:,} series) - {expected}; {exit_line}.")
        if result.build_tests_failed:
            console.print(f"  dbt data tests: {escape(result.build_tests_failed)}")
    else:
        console.print(f"[green]Quality gates: all {total} expectations passed.[/]")
    skipped = [s for s in result.steps if s.status == "skipped"]
    for s in skipped:
        console.print(f"[yellow]Skipped {escape(s.name)}:[/] {escape(s.detail)}")
    if "QC report" in result.outputs and "dashboard" in result.outputs:
        console.print(f"Open in a browser: {escape(str(result.outputs['QC report']))} and "
                      f"{escape(str(result.outputs['dashboard']))} (both work offline).")
