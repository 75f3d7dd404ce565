"""`idc-qc release run vNN`: the scheduled job for one IDC release, with one exit code.

Steps, each recorded (status, seconds, detail) in the release's run manifest under
``release_run``:

1. **fetch** the release's index into the cache (idc_qc.releases.cache);
2. **build** it into ``<releases dir>/v<N>/idc_qc.duckdb`` (the index alone, or with instances);
3. **check**: the quality gates on that database (idc_qc.quality.check.run_checks, what
   ``idc-qc check`` runs);
4. **diff** against the newest release below N built in the same releases folder: CSV files
   beside the database and a ``diff`` section in the manifest (after check: it compares the
   two releases' QC failures);
5. **report**: the curators' QC report (idc_qc.reports.qc_report.build_report, what ``idc-qc
   report`` runs); it shows the diff of step 4 as a section (it reads the manifest's ``diff``).

Exit code: 2 when a step could not run (the steps after a failed fetch or build are skipped),
else 1 when checks failed (dbt data tests or ``check``), else 0.

Each step calls the library function behind its command, in this process, and is judged as
the command would be (0 ok, 1 checks failed, 2 could not run). This job sits beside the demo:
it uses the capabilities (build, quality, reports, releases) and nothing imports it but the CLI.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .database.files import RELEASES_DIR, release_db
from .database.manifest import read_manifest, update_manifest
from .errors import EXIT_CHECKS_FAILED, EXIT_OK, EXIT_TOOL_FAILED, ChecksFailed, IdcQcError


@dataclass
class StepResult:
    name: str
    status: str  # ok | checks_failed | failed | skipped
    seconds: float = 0.0
    detail: str = ""
    outputs: list[str] = field(default_factory=list)


@dataclass
class ReleaseRunResult:
    release: int
    db: Path
    steps: list[StepResult]
    previous: int | None = None
    diff: object | None = None  # idc_qc.releases.diff.ReleaseDiff, when there was a previous build

    @property
    def exit_code(self) -> int:
        statuses = {s.status for s in self.steps}
        if "failed" in statuses:
            return EXIT_TOOL_FAILED
        if "checks_failed" in statuses:
            return EXIT_CHECKS_FAILED
        return EXIT_OK

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


def built_releases(root: Path) -> list[int]:
    """Releases with a finished build (a manifest with a build status) under ``root``."""
    found = []
    for folder in Path(root).glob("v*"):
        if not folder.name[1:].isdigit():
            continue
        db = release_db(int(folder.name[1:]), root)
        status = ((read_manifest(db) or {}).get("build") or {}).get("status")
        if status in ("complete", "checks_failed") and db.is_file():
            found.append(int(folder.name[1:]))
    return sorted(found)


def _run_step(name: str, stage: str, on_stage: Callable[[str], None],
              work: Callable[[], tuple[str, str, list[str]]]) -> StepResult:
    """One step timed and judged as its command would be: ``work`` gives (status, detail,
    outputs); an IdcQcError it raises is the command's exit code, status ``failed``."""
    started = time.perf_counter()
    on_stage(stage)
    try:
        status, detail, outputs = work()
    except IdcQcError as exc:
        return StepResult(name, "failed", time.perf_counter() - started, f"exit {exc.exit_code}: {exc}")
    return StepResult(name, status, time.perf_counter() - started, detail, outputs)


def _check_step(db: Path, on_stage: Callable[[str], None]) -> StepResult:
    """The quality gates, as `idc-qc check --db <db>` runs them."""
    from .quality.check import run_checks

    def work() -> tuple[str, str, list[str]]:
        checked = run_checks(db)
        code = checked.exit_code
        return ({EXIT_OK: "ok", EXIT_CHECKS_FAILED: "checks_failed"}.get(code, "failed"),
                f"exit {code}: {checked.count('passed')} passed, {checked.count('failed')} failed, "
                f"{checked.count('errored')} errored; {checked.failing_rows:,} failing rows in "
                f"{checked.series_affected:,} series",
                [str(checked.validation_path), str(checked.failures_path)])

    return _run_step("check", f"check: quality gates on {db}", on_stage, work)


def _report_step(db: Path, on_stage: Callable[[str], None]) -> StepResult:
    """The curators' report, as `idc-qc report --db <db>` writes it."""
    from .reports.qc_report import build_report

    def work() -> tuple[str, str, list[str]]:
        report = build_report(db)
        return ("ok", f"exit 0: {report.rows_total:,} failing rows in {report.series_affected:,} series",
                [str(report.html), str(report.csv)])

    return _run_step("report", f"report: QC report of {db}", on_stage, work)


def release_run(release: int | str, *, root: Path | None = None, instances: str | None = None,
                select: list[str] | None = None, wheel: Path | None = None,
                on_stage: Callable[[str], None] | None = None, on_progress=None) -> ReleaseRunResult:
    """Fetch, build, check, report and diff one release; never raises for a failed step."""
    from .build import build
    from .releases.cache import fetch_release, parse_release
    say = on_stage or (lambda _text: None)
    number = parse_release(release)
    root = Path(root or RELEASES_DIR)
    db = release_db(number, root)
    result = ReleaseRunResult(release=number, db=db, steps=[])

    def skip_rest(after: str) -> None:
        for name in ("build", "check", "report", "diff"):
            if all(s.name != name for s in result.steps):
                result.steps.append(StepResult(name, "skipped", detail=f"{after} failed"))

    # 1. fetch
    started = time.perf_counter()
    try:
        say(f"fetch: IDC release v{number}")
        cached = fetch_release(number, wheel=wheel, on_stage=lambda t: say(f"fetch: {t}"))
        result.steps.append(StepResult("fetch", "ok", time.perf_counter() - started,
                                       f"idc-index-data {cached.version} ({cached.source})", [str(cached.folder)]))
    except IdcQcError as exc:
        result.steps.append(StepResult("fetch", "failed", time.perf_counter() - started, str(exc)))
        skip_rest("fetch")
        return result

    # 2. build
    started = time.perf_counter()
    say(f"build: {db}")
    try:
        built = build(db, instances, release=number, select=select, on_progress=on_progress)
        result.steps.append(StepResult("build", "ok", time.perf_counter() - started,
                                       f"{sum((built.row_counts or {}).values()):,} rows in "
                                       f"{len(built.row_counts or {})} tables", [str(db), str(built.manifest)]))
    except ChecksFailed as exc:
        built = getattr(exc, "result", None)
        status = "checks_failed" if built is not None else "failed"
        result.steps.append(StepResult("build", status, time.perf_counter() - started, str(exc)))
        if built is None:
            skip_rest("build")
            return result
    except IdcQcError as exc:
        result.steps.append(StepResult("build", "failed", time.perf_counter() - started, str(exc)))
        skip_rest("build")
        _record(result)
        return result

    # 3. check, 4. diff (it reads check's failures), 5. report (it shows the diff)
    result.steps.append(_check_step(db, say))
    _diff_step(result, root, number, say)
    result.steps.append(_report_step(db, say))
    _record(result)
    return result


def _diff_step(result: ReleaseRunResult, root: Path, number: int, say: Callable[[str], None]) -> None:
    """Diff against the newest release below ``number`` built under ``root``; CSVs and the manifest's ``diff``."""
    from .releases.diff import diff_releases, write_csv

    db = result.db
    # diff against the newest built release below this one
    started = time.perf_counter()
    earlier = [r for r in built_releases(root) if r < number]
    if not earlier:
        result.steps.append(StepResult("diff", "skipped", detail=f"no earlier release built under {root}"))
    else:
        previous = earlier[-1]
        result.previous = previous
        say(f"diff: v{previous} -> v{number}")
        try:
            diff = diff_releases(previous, number, db_a=release_db(previous, root), db_b=db)
            files = write_csv(diff, db.parent)
            result.diff = diff
            update_manifest(db, diff={
                "against": previous, "series_added": diff.series_added, "series_removed": diff.series_removed,
                "series_revised": diff.series_revised, "collections_added": diff.collections_added,
                "collections_removed": diff.collections_removed, "qc": diff.qc_totals(), "qc_note": diff.qc_note,
                "files": [str(f) for f in files]})
            result.steps.append(StepResult("diff", "ok", time.perf_counter() - started,
                                           f"v{previous} -> v{number}: +{diff.series_added:,} / "
                                           f"-{diff.series_removed:,} series", [str(f) for f in files]))
        except IdcQcError as exc:
            result.steps.append(StepResult("diff", "failed", time.perf_counter() - started, str(exc)))


def _record(result: ReleaseRunResult) -> None:
    """The steps and the exit code, under ``release_run`` in the release's manifest."""
    if not result.db.exists():
        return
    update_manifest(result.db, release_run={
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_id": ((read_manifest(result.db) or {}).get("build") or {}).get("build_id"),
        "exit_code": result.exit_code,
        "steps": [{**asdict(s), "seconds": round(s.seconds, 3)} for s in result.steps]})
