"""`idc-qc check`: the quality gates (Great Expectations suites of expectations/) on a built database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption

_MARKS = {"passed": "[green]passed [/]", "failed": "[red]FAILED [/]", "errored": "[yellow]ERRORED[/]",
          "skipped": "[dim]skipped[/]"}


def check(
    db: DbOption = DEFAULT_DB,
    thresholds: Annotated[Optional[Path], typer.Option(
        "--thresholds", help="YAML file overriding thresholds of expectations/thresholds.yml (any subset).",
        rich_help_panel="Thresholds")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Override one threshold NAME=VALUE (repeatable), e.g. --set max_malformed_share=0.01.",
        rich_help_panel="Thresholds")] = None,
) -> None:
    """Validate a built database with the quality suites; exit 0 all passed, 1 a check failed, 2 some could not run.

    Runs every Great Expectations suite of expectations/gx (DICOM value rules, completeness and
    consistency pushed down to SQL by the rpt_qc_* models; the marts' own expectations; the
    release-level thresholds of expectations/thresholds.yml). Writes beside the database
    <stem>.validation.json, <stem>.qc_failures.parquet (one row per failing series and check) and
    the "validation" section of <stem>.manifest.json. An expectation that could not run is
    "errored", not "failed" (exit 2 whatever else failed: the verdict is incomplete). The results
    name the build they validated; `idc-qc report` refuses them after a rebuild. During a build
    the previous complete build is validated (and the output says so). A suite with nothing to judge is "skipped" with a note (exit code
    unchanged): the instance suites on an index-only build, the clinical coverage suite when no
    clinical data was registered (idc-qc clinical add).

    Example: idc-qc check --db build/idc_qc.duckdb --set min_regular_share=0.7
    """
    from ..quality.check import run_checks
    from ..quality.thresholds import parse_set_options

    overrides = parse_set_options(set_)
    with console.status("checking ...", spinner="dots") as status:
        result = run_checks(db, thresholds_file=thresholds, overrides=overrides,
                            progress=lambda text: status.update(text + " ..."))
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    if result.input_kind == "synthetic":
        console.print("[yellow]Note:[/] synthetic input (idc-qc synth): its faults and malformed values are injected")
    for suite in result.suites:
        mine = [e for e in result.expectations if e.suite == suite.name]
        counts = ", ".join(f"{sum(e.status == s for e in mine)} {s}" for s in ("passed", "failed", "errored", "skipped")
                           if any(e.status == s for e in mine))
        rows = f"{suite.rows:,} rows" if suite.rows is not None else "not run"
        console.print(f"  {_MARKS[suite.status]}  {escape(suite.name)}  [dim]{escape(suite.table)}, {rows}: {counts}[/]")
        if suite.status == "skipped" and suite.note:
            console.print(f"        [dim]skipped: {escape(suite.note)}[/]")
        for e in mine:
            if e.status == "failed":
                n = f" ({e.unexpected_count:,} rows)" if e.unexpected_count else ""
                console.print(f"        [red]failed[/]  {escape(e.description)}{n}")
            elif e.status == "errored":
                console.print(f"        [yellow]errored[/] {escape(e.description)}: {escape(e.error or '')}")
    values = ", ".join(f"{k}={v:g}" for k, v in result.thresholds.values.items())
    console.print(f"{len(result.suites)} suites; expectations: [green]{result.count('passed')} passed[/], "
                  f"[red]{result.count('failed')} failed[/], [yellow]{result.count('errored')} errored[/]"
                  + (f", {result.count('skipped')} skipped" if result.count('skipped') else "") + " "
                  f"in {result.seconds:.1f}s  [dim](thresholds: {escape(values)})[/]")
    console.print(f"{result.failing_rows:,} failing rows in {result.series_affected:,} series: "
                  f"[bold]{escape(str(result.failures_path))}[/]")
    if result.count("errored"):
        console.print(f"[yellow]The verdict is incomplete:[/] {result.count('errored')} expectation(s) could not run "
                      "(exit 2); fix what they name and check again")
    built = f" of build {result.build_id}" if result.build_id else ""
    console.print(f"Results{built}: {escape(str(result.validation_path))}; manifest: {escape(str(result.manifest_path))}")
    console.print(f"Next: idc-qc report --db {escape(str(db))}")
    raise typer.Exit(result.exit_code)
