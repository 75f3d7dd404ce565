"""`idc-qc release run vNN`: the scheduled job for one IDC release, with one exit code.

Steps, each recorded (status, seconds, detail) in the release's run manifest under
``release_run``:

1. **fetch** the release's index into the cache (idc_qc.releases.cache);
2. **build** it into ``<releases dir>/v<N>/idc_qc.duckdb`` (the index alone, or with instances);
3. **check**: ``idc-qc check --db <that db>`` when the installed idc-qc has a ``check`` command
   (idc_qc.quality); skipped with a note when it has none;
4. **diff** against the newest release below N built in the same releases folder: CSV files
   beside the database and a ``diff`` section in the manifest (after check: it compares the
   two releases' QC failures);
5. **report**: ``idc-qc report --db <that db>`` likewise (idc_qc.reports); the report shows the
   diff of step 4 as a section (it reads the manifest's ``diff``).

Exit code: 2 when a step could not run (the steps after a failed fetch or build are skipped),
else 1 when checks failed (dbt data tests or ``check``), else 0.

The seam to check and report is their command line, the interface a scheduler would use too:
each is run as ``python -m idc_qc.cli <command> --db <db>`` and judged by its exit code (0 ok,
1 checks failed, 2 could not run); a command that the app does not register is skipped.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import EXIT_CHECKS_FAILED, EXIT_OK, EXIT_TOOL_FAILED, ChecksFailed, IdcQcError
from .build_info import RELEASES_DIR, release_db
from .manifest import read_manifest, update_manifest

#: Commands `release run` calls when the app has them: (step, command name, what provides it).
OPTIONAL_STEPS = (("check", "check", "idc_qc.quality"), ("report", "report", "idc_qc.reports"))


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
        manifest = read_manifest(folder / "idc_qc.duckdb") or {}
        status = (manifest.get("build") or {}).get("status")
        if status in ("complete", "checks_failed") and (folder / "idc_qc.duckdb").is_file():
            found.append(int(folder.name[1:]))
    return sorted(found)


def registered_commands() -> set[str]:
    from ..cli.app import app

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups if g.name}
    return names


def _run_command(step: str, command: str, db: Path, on_stage: Callable[[str], None]) -> StepResult:
    started = time.perf_counter()
    on_stage(f"{step}: idc-qc {command} --db {db}")
    proc = subprocess.run([sys.executable, "-m", "idc_qc.cli", command, "--db", str(db)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    last = [line.strip() for line in (proc.stderr + "\n" + proc.stdout).splitlines() if line.strip()]
    detail = last[-1][:300] if last else ""
    status = {0: "ok", EXIT_CHECKS_FAILED: "checks_failed"}.get(proc.returncode, "failed")
    return StepResult(step, status, seconds, f"exit {proc.returncode}: {detail}")


def release_run(release: int | str, *, root: Path | None = None, instances: str | None = None,
                select: list[str] | None = None, wheel: Path | None = None,
                on_stage: Callable[[str], None] | None = None, on_progress=None) -> ReleaseRunResult:
    """Fetch, build, check, report and diff one release; never raises for a failed step."""
    from ..build import build
    from .cache import fetch_release, parse_release
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

    # 3. check, 4. diff (it reads check's failures), 5. report (it shows the diff): check and
    # report through their commands when the app has them
    commands = registered_commands()

    def optional(step: str, command: str, provider: str) -> None:
        if command not in commands:
            result.steps.append(StepResult(step, "skipped", detail=f"this idc-qc has no `{command}` command "
                                                                   f"({provider} not installed)"))
        else:
            result.steps.append(_run_command(step, command, db, say))

    optional(*OPTIONAL_STEPS[0])
    _diff_step(result, root, number, say)
    optional(*OPTIONAL_STEPS[1])
    _record(result)
    return result


def _diff_step(result: ReleaseRunResult, root: Path, number: int, say: Callable[[str], None]) -> None:
    """Diff against the newest release below ``number`` built under ``root``; CSVs and the manifest's ``diff``."""
    from .diff import diff_releases, write_csv

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
        "exit_code": result.exit_code,
        "steps": [{**asdict(s), "seconds": round(s.seconds, 3)} for s in result.steps]})
