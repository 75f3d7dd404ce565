"""`idc-qc demo`: the main job end to end on the embedded engine.

Steps, in the order a curator runs them by hand (each is the importable function behind its
command, so the demo shows exactly what the commands do):

1. **synth**: instance metadata for a sample of IDC's real series, faults injected (``idc-qc synth``);
2. **build**: every dbt model into ``<out>/idc_qc.duckdb`` (``idc-qc build``);
3. **check**: the quality gates (``idc-qc check``): ``idc_qc.validation.json``,
   ``idc_qc.qc_failures.parquet`` and the run manifest's ``validation`` section;
4. **report**: the curators' QC report (``idc-qc report``): ``idc_qc.qc_report.html`` and ``.csv``;
5. **upset**: the IDC paper's Figure 5 for the demo's series (``idc-qc upset``): PNG, SVG, CSV;
6. **dashboard**: the offline HTML dashboard (``idc-qc dashboard``);
7. **summary**: the geometry summary chart (HTML, PNG) and the marts as parquet.

Exit code. The demo injects faults on purpose, so a failing quality gate is the expected
outcome, not an error: the demo exits 0 when every step ran, whatever the gates found, and says
so. ``strict=True`` (``--strict``) exits with check's own code instead (1 a gate failed),
as a scheduled job would. A step that could not run raises (exit 2); an expectation that
errored (the verdict is incomplete) is exit 2 as well. The outcome is recorded under ``demo`` in
the run manifest beside the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .dbt_runner import NodeCallback, ProgressCallback
from .errors import EXIT_CHECKS_FAILED, EXIT_OK, EXIT_TOOL_FAILED, ChecksFailed, IdcQcError

#: The steps, in order, with what each one does (the progress lines say these).
STEPS = (
    ("synth", "Synthesizing instance metadata for real IDC series"),
    ("build", "Building every model"),
    ("check", "Running the quality gates (idc-qc check)"),
    ("report", "Writing the curators' QC report (idc-qc report)"),
    ("upset", "Drawing Figure 5: which geometry checks fail together (idc-qc upset)"),
    ("dashboard", "Writing the offline dashboard (idc-qc dashboard)"),
    ("summary", "Writing the geometry summary and the tables as parquet"),
)
#: Marts exported as parquet beside the database (for pandas, Excel, a notebook).
EXPORTED = ("series", "series_geometry", "instance_geometry", "rpt_geometry_failures", "rpt_geometry_failure_sets")

StepCallback = Callable[[int, int, str, str], None]  # (number, of, step name, what it does)


@dataclass
class DemoStep:
    name: str
    status: str  # ok | checks_failed | skipped
    seconds: float
    detail: str = ""


@dataclass
class DemoResult:
    """Everything the demo wrote, and what it found. ``outputs``: label -> path, in order."""

    out: Path
    db: Path
    input_kind: str
    notice: str | None
    steps: list[DemoStep]
    outputs: dict[str, Path]
    seconds: float
    synth: Any = None          # idc_qc.synth.SynthResult
    build: Any = None          # idc_qc.build.BuildResult
    build_tests_failed: str | None = None  # dbt data tests that failed (the build is installed regardless)
    check: Any = None          # idc_qc.quality.check.CheckResult
    report: Any = None         # idc_qc.reports.qc_report.ReportResult
    upset: Any = None          # idc_qc.reports.upset.UpsetResult, None when nothing failed a check
    dashboard: Any = None      # idc_qc.reports.dashboard.DashboardResult
    summary: Any = None        # idc_qc.reports.geometry_summary.SummaryFiles
    exports: dict[str, Path] = field(default_factory=dict)  # model -> its parquet file

    @property
    def gates_failed(self) -> bool:
        """A quality gate (or a dbt data test) found failing rows: expected of synthetic input."""
        return bool(self.check is not None and self.check.count("failed")) or self.build_tests_failed is not None

    @property
    def check_exit_code(self) -> int:
        """What ``idc-qc check`` alone would exit with (a failed dbt data test counts as failed)."""
        code = self.check.exit_code if self.check is not None else EXIT_OK
        if code == EXIT_OK and self.build_tests_failed is not None:
            return EXIT_CHECKS_FAILED
        return code

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when every step ran (failing gates expected); ``strict``: check's own code.
        An errored expectation (the verdict is incomplete) is 2 either way."""
        if self.check is not None and self.check.count("errored"):
            return EXIT_TOOL_FAILED
        return self.check_exit_code if strict else EXIT_OK

    def step(self, name: str) -> DemoStep:
        return next(s for s in self.steps if s.name == name)


def run_demo(out: Path, *, series: int, seed: int, on_step: StepCallback | None = None,
             on_synth: Callable[[int, int], None] | None = None, on_node: NodeCallback | None = None,
             on_progress: ProgressCallback | None = None, on_status: Callable[[str], None] | None = None,
             on_done: Callable[[DemoStep], None] | None = None) -> DemoResult:
    """Synthesize ``series`` real IDC series into ``out``, build, check, report and draw.

    Callbacks (all optional): ``on_step(number, of, name, text)`` as each step starts;
    ``on_synth(done, total)`` series synthesized; ``on_node`` / ``on_progress`` the build's
    (``on_progress`` is entered as a context manager around the build when it is one);
    ``on_status(text)`` what the current step is doing; ``on_done(step)`` as each step ends.
    Never prints.
    """
    from .build import build
    from .export import export_model
    from .provenance import read_build_context
    from .quality.check import run_checks
    from .database.manifest import update_manifest
    from .reports.dashboard import render_dashboard
    from .reports.geometry_summary import render_geometry_summary
    from .reports.qc_report import build_report
    from .reports.upset import Selection, UpsetError, render_upset
    from .synth import synthesize
    from .warehouse import open_warehouse

    if series < 1:
        raise IdcQcError(f"--series {series}: give a positive number of series")
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "idc_qc.duckdb"
    say = on_status or (lambda _text: None)
    steps: list[DemoStep] = []
    outputs: dict[str, Path] = {}
    result = DemoResult(out=out, db=db, input_kind="unknown", notice=None, steps=steps, outputs=outputs, seconds=0.0)

    def begin(name: str, more: str = "") -> float:
        number = next(i for i, (n, _) in enumerate(STEPS, start=1) if n == name)
        if on_step is not None:
            on_step(number, len(STEPS), name, dict(STEPS)[name] + more)
        return time.perf_counter()

    def done(name: str, t0: float, detail: str, status: str = "ok") -> None:
        steps.append(DemoStep(name, status, time.perf_counter() - t0, detail))
        if on_done is not None:
            on_done(steps[-1])

    # 1. synth. The demo folder is the demo's own: rerunning replaces its earlier synth run
    # (only the files synth's manifest lists; a foreign file in it is refused, not deleted).
    t0 = begin("synth", f" ({series:,} series, seed {seed})")
    result.synth = synthesize(out / "synth", series_limit=series, seed=seed, overwrite=True, progress=on_synth)
    done("synth", t0, f"{result.synth.instances:,} instances of {result.synth.series:,} series (seed {seed})")

    # 2. build. Failed dbt data tests install the database anyway (ChecksFailed carries the
    # result): the demo goes on, and the summary says which tests failed.
    t0 = begin("build", f" into {db}")
    instances = str(out / "synth" / "instances")
    try:
        if on_progress is not None and hasattr(on_progress, "__enter__"):
            with on_progress:
                result.build = build(db, instances, on_node=on_node, on_progress=on_progress)
        else:
            result.build = build(db, instances, on_node=on_node, on_progress=on_progress)
        done("build", t0, f"{len(result.build.dbt.nodes)} dbt nodes")
    except ChecksFailed as exc:
        if getattr(exc, "result", None) is None:
            raise
        result.build = exc.result
        result.build_tests_failed = str(exc)
        done("build", t0, f"dbt data tests failed: {exc}", status="checks_failed")
    outputs["database"] = db
    with open_warehouse(db) as wh:
        context = read_build_context(wh.con)
    result.input_kind, result.notice = context.input_kind, context.notice

    # 3. check: a failing gate is a finding, not an error
    t0 = begin("check")
    check = result.check = run_checks(db, progress=say)
    status = "checks_failed" if check.count("failed") else "ok"
    done("check", t0, f"{check.count('passed')} passed, {check.count('failed')} failed, "
                      f"{check.count('errored')} errored of {len(check.expectations)} expectations; "
                      f"{check.failing_rows:,} failing rows in {check.series_affected:,} series", status)
    outputs["validation results"] = check.validation_path
    outputs["failing series"] = check.failures_path
    outputs["run manifest"] = check.manifest_path

    # 4. report
    t0 = begin("report")
    report = result.report = build_report(db, progress=say)
    done("report", t0, f"{report.rows_total:,} failing rows in {report.series_affected:,} series of "
                       f"{report.collections:,} collections")
    outputs["QC report"] = report.html
    outputs["QC report CSV"] = report.csv

    # 5. upset: Figure 5 (IDC's eight checks) for the demo's series. A sample in which no
    # series fails a check has nothing to plot: skipped, and said so.
    t0 = begin("upset")
    say("counting combinations and drawing")
    try:
        upset = result.upset = render_upset(
            db, out, sets="checks", selection=Selection(),
            title=f"Figure 5 on the demo's {result.synth.series:,} series: which IDC geometry checks fail together")
        largest = upset.intersections[0]
        done("upset", t0, f"{upset.failing_series:,} of {upset.selected_series:,} series fail IDC's geometry checks, in "
                          f"{len(upset.intersections)} combinations; largest: {' + '.join(largest.sets)} "
                          f"({largest.series:,})")
        outputs["UpSet plot PNG"] = upset.png
        outputs["UpSet plot SVG"] = upset.svg
        outputs["UpSet counts CSV"] = upset.csv
    except UpsetError as exc:
        for ext in ("png", "svg", "csv"):  # an earlier demo's plot in this folder would pass for this one's
            (out / f"upset_checks.{ext}").unlink(missing_ok=True)
        done("upset", t0, str(exc), status="skipped")

    # 6. dashboard
    t0 = begin("dashboard")
    say("reading the reporting models and drawing")
    dashboard = result.dashboard = render_dashboard(db, out / "dashboard.html")
    done("dashboard", t0, f"{len(dashboard.charts)} charts, {dashboard.bytes / 1e6:.1f} MB")
    outputs["dashboard"] = dashboard.html

    # 7. geometry summary and parquet exports
    t0 = begin("summary")
    say("drawing the geometry summary")
    result.summary = render_geometry_summary(db, out)
    outputs["geometry summary"] = result.summary.html
    if result.summary.png is not None:
        outputs["geometry summary PNG"] = result.summary.png
    for model in EXPORTED:
        say(f"exporting {model}")
        path = out / f"{model}.parquet"
        export_model(db, model, path)
        result.exports[model] = path
    done("summary", t0, f"{len(EXPORTED)} tables as parquet")

    result.seconds = time.perf_counter() - started
    update_manifest(db, demo={
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_id": getattr(result.build, "build_id", None),
        "series": series, "seed": seed, "input_kind": result.input_kind,
        "gates_failed": result.gates_failed, "check_exit_code": result.check_exit_code,
        "seconds": round(result.seconds, 2),
        "steps": [{"name": s.name, "status": s.status, "seconds": round(s.seconds, 2), "detail": s.detail}
                  for s in steps],
        "outputs": {label: str(path) for label, path in outputs.items()},
        "parquet": {model: str(path) for model, path in result.exports.items()},
    })
    return result
