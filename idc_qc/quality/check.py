"""`idc-qc check`: validate a built warehouse with the GX suites of ``expectations/``.

Design (docs/quality.md): the heavy checks are SQL, built by dbt (``rpt_qc_failures``: one row
per failing series and check, over every instance row; ``rpt_qc_rule_counts``: one row per
check; ``rpt_qc_regular_share``: one row per collection and modality). Great Expectations
validates DataFrames of what fits: those aggregates against the thresholds, and the marts'
own columns (a million series at most, only the columns a suite names). Nothing reads the
instance rows into Python.

Outcomes are kept apart: an expectation *failed* when it ran and found rows breaking it; it
*errored* when it could not run (its table or column is missing, GX raised); it was
*skipped*, with a note, when its suite has nothing to judge in this build: a suite marked
``requires_instances`` on an index-only build (rpt_build_context.input_kind = index_only: the
geometry and DICOM value checks have no instance rows, and passing them over empty tables
would claim what was never checked), or a suite marked ``skip_when_empty`` whose rows are
none or whose table was not built (the clinical suite when no clinical data was registered).
Exit codes: 0 all passed or skipped, 1 an expectation failed (and every one ran), 2 some
could not run (errored: the verdict is incomplete, whatever else failed) or the tool itself
could not run.

Every output names the build it validated (``build_id``: the validation JSON's ``summary``,
the manifest's ``validation`` section, the failures parquet's key-value metadata
``idc_qc_build_id``): `idc-qc report` refuses results of another build (idc_qc/database/).
A check during a build validates the previous complete build, and says so.

Outputs beside the database ``<dir>/<stem>.duckdb``:
``<stem>.validation.json`` (summary, thresholds, every expectation with its outcome, a sample
of failing rows and the SQL returning all of them), ``<stem>.qc_failures.parquet`` (one row
per failing series and check: collection_id, SeriesInstanceUID, suite, check_name, observed,
...) and the ``validation`` section of the run manifest ``<stem>.manifest.json``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..database.atomic import atomic_path, write_json
from ..database.files import failures_path, manifest_path, validation_path
from ..errors import EXIT_CHECKS_FAILED, EXIT_OK, EXIT_TOOL_FAILED
from .sql import expectation_sql
from .suites import Suite, load_suites, open_context
from .thresholds import Thresholds, load_thresholds

#: Failing rows kept per expectation in the validation JSON (all of them go to the parquet).
SAMPLE_ROWS = 20
#: Columns of <stem>.qc_failures.parquet, in order (the interface other commands read).
FAILURE_COLUMNS = ["collection_id", "SeriesInstanceUID", "suite", "check_name", "observed", "attribute", "error_kind",
                   "PatientID", "StudyInstanceUID", "Modality", "failing_instance_count", "sample_SOPInstanceUID",
                   "hint", "viewer_url", "gate_failed"]


@dataclass
class ExpectationOutcome:
    """One expectation of one suite, after the run."""

    suite: str
    table: str
    expectation_type: str
    description: str
    column: str | None
    status: str                      # passed | failed | errored | skipped
    element_count: int | None = None
    unexpected_count: int | None = None
    observed: str | None = None
    failing_keys: list[dict] = field(default_factory=list)   # a sample: key columns + value
    sql: str | None = None
    error: str | None = None
    note: str | None = None          # why it was skipped


@dataclass
class SuiteOutcome:
    name: str
    table: str
    description: str
    rows: int | None
    seconds: float
    status: str                      # passed | failed | errored | skipped
    error: str | None = None
    note: str | None = None


@dataclass
class CheckResult:
    db: Path
    validation_path: Path
    failures_path: Path
    manifest_path: Path
    thresholds: Thresholds
    suites: list[SuiteOutcome]
    expectations: list[ExpectationOutcome]
    failing_rows: int
    series_affected: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    input_kind: str = "unknown"
    build_id: str | None = None      # the build validated (idc_qc_build); None before build records

    def count(self, status: str) -> int:
        return sum(1 for e in self.expectations if e.status == status)

    @property
    def exit_code(self) -> int:
        """2 when any expectation could not run (the verdict is incomplete), else 1 when one failed."""
        if self.count("errored"):
            return EXIT_TOOL_FAILED
        if self.count("failed"):
            return EXIT_CHECKS_FAILED
        return EXIT_OK

    def summary(self) -> dict:
        """The manifest's ``validation`` section."""
        return {
            "checked_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_id": self.build_id,
            "suites": len(self.suites),
            "expectations": len(self.expectations),
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "errored": self.count("errored"),
            "skipped": self.count("skipped"),
            "skipped_suites": {s.name: s.note for s in self.suites if s.status == "skipped"},
            "exit_code": self.exit_code,
            "failing_rows": self.failing_rows,
            "series_affected": self.series_affected,
            "thresholds": self.thresholds.as_manifest(),
            "input_kind": self.input_kind,
            "results": self.validation_path.name,
            "failures": self.failures_path.name,
            "seconds": round(self.seconds, 2),
        }


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _table_columns(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
        "order by ordinal_position", [table]).fetchall()]


def _load_frame(con, suite: Suite, available: list[str]):
    """The suite's table as a DataFrame of the columns it names (and that exist), filtered by its ``where``."""
    wanted = [c for c in suite.columns() if c in available]
    if not wanted:
        wanted = available[:1]
    select = ", ".join(f'"{c}"' for c in wanted)
    where = f" where {suite.where}" if suite.where else ""
    return con.execute(f'select {select} from "{suite.table}"{where}').df()


def _exception_text(info) -> str | None:
    """GX's exception_info is either one dict or a dict of them keyed by metric."""
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        return (info.get("exception_message") or "raised an exception") if info.get("raised_exception") else None
    if isinstance(info, dict):
        for value in info.values():
            text = _exception_text(value)
            if text:
                return text
    return None


def _short(value, limit: int = 200) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _outcome(suite: Suite, result: dict, parameters: dict, key_columns: list[str]) -> ExpectationOutcome:
    config = result.get("expectation_config") or {}
    kwargs = config.get("kwargs") or {}
    etype = config.get("type") or "?"
    res = result.get("result") or {}
    error = _exception_text(result.get("exception_info"))
    status = "errored" if error else ("passed" if result.get("success") else "failed")
    keys: list[dict] = []
    index_list = res.get("unexpected_index_list") or []
    values = res.get("unexpected_list") or []
    column = kwargs.get("column")
    for i, entry in enumerate(index_list[:SAMPLE_ROWS]):
        row = dict(entry) if isinstance(entry, dict) else {"row": entry}
        if column and i < len(values) and column not in row:
            row[column] = values[i]
        keys.append({k: (None if v != v else v) if isinstance(v, float) else v for k, v in row.items()})
    if not keys and values:
        keys = [{column or "value": v} for v in values[:SAMPLE_ROWS]]
    observed = res.get("observed_value")
    if observed is None and res.get("partial_unexpected_counts"):
        observed = res["partial_unexpected_counts"][:5]
    return ExpectationOutcome(
        suite=suite.name, table=suite.table, expectation_type=etype,
        description=config.get("description") or etype, column=column or kwargs.get("column_A"),
        status=status, element_count=res.get("element_count"), unexpected_count=res.get("unexpected_count"),
        observed=_short(observed), failing_keys=keys,
        sql=expectation_sql(suite.table, suite.where, etype, kwargs, parameters, key_columns),
        error=_short(error, 400),
    )


def _not_run(suite: Suite, status: str, parameters: dict, *, error: str | None = None,
             note: str | None = None) -> list[ExpectationOutcome]:
    """Every expectation of ``suite`` as not run: ``errored`` (with the error) or ``skipped`` (with the note)."""
    return [ExpectationOutcome(
        suite=suite.name, table=suite.table, expectation_type=e.get("type", "?"),
        description=e.get("description") or e.get("type", "?"), column=(e.get("kwargs") or {}).get("column"),
        status=status, error=error, note=note,
        sql=expectation_sql(suite.table, suite.where, e.get("type", ""), e.get("kwargs") or {}, parameters,
                            suite.key_columns))
        for e in suite.expectations]


def _failing_index_rows(result: dict) -> list[dict]:
    res = result.get("result") or {}
    return [r for r in (res.get("unexpected_index_list") or []) if isinstance(r, dict)]


def run_checks(db: Path, *, thresholds_file: Path | None = None, overrides: dict | None = None,
               progress: Callable[[str], None] | None = None) -> CheckResult:
    """Validate ``db`` with every suite; write the results JSON, the failures parquet and the manifest section."""
    import pandas as pd

    from ..database.manifest import update_manifest
    from ..provenance import read_build_context
    from ..warehouse import open_warehouse

    started = time.perf_counter()
    say = progress or (lambda _text: None)
    db = Path(db)
    thresholds = load_thresholds(thresholds_file, overrides)
    suites = load_suites()
    parameters = dict(thresholds.values)
    outcomes: list[ExpectationOutcome] = []
    suite_outcomes: list[SuiteOutcome] = []
    raw_results: dict[str, dict] = {}
    gx_rows: list[dict] = []
    failing_checks: set[tuple[str, str]] = set()
    failing_groups: set[tuple[str, str]] = set()

    say("loading Great Expectations")
    _quiet_gx()

    with open_warehouse(db) as wh, tempfile.TemporaryDirectory(prefix="idc_qc_gx_") as tmp:
        warnings = list(wh.warnings)
        tables = set(wh.tables())
        input_kind = read_build_context(wh.con, wh.record).input_kind
        build_id = wh.record.build_id if wh.record is not None else None
        context = open_context(Path(tmp), suites, parameters)
        for suite in suites:
            t0 = time.perf_counter()
            say(f"suite {suite.name} ({suite.table})")

            def not_run(status: str, rows: int | None, *, error: str | None = None, note: str | None = None) -> None:
                """Record ``suite`` (every expectation, and the suite) as errored or skipped."""
                outcomes.extend(_not_run(suite, status, parameters, error=error, note=note))
                suite_outcomes.append(SuiteOutcome(suite.name, suite.table, suite.description, rows,
                                                   time.perf_counter() - t0, status, error, note))

            if suite.requires_instances and input_kind == "index_only":
                not_run("skipped", None, note=f"index-only build: no instance metadata, so {suite.table} has nothing "
                                              "to check (build with instances to run this suite)")
                continue
            if suite.table not in tables and suite.skip_when_empty:
                not_run("skipped", None, note=f"{suite.table} is not in {db.name} (not built): {suite.skip_when_empty}")
                continue
            if suite.table not in tables:
                not_run("errored", None, error=f"table {suite.table} is not in {db.name}: build it (idc-qc build) "
                                               "to run this suite")
                continue
            available = _table_columns(wh.con, suite.table)
            try:
                frame = _load_frame(wh.con, suite, available)
            except Exception as exc:  # noqa: BLE001 - a suite's SQL filter can be wrong: the suite errors
                not_run("errored", None, error=f"cannot read {suite.table}: {str(exc).splitlines()[0]}")
                continue
            if suite.skip_when_empty and len(frame) == 0:
                not_run("skipped", 0, note=suite.skip_when_empty)
                continue
            keys = [k for k in suite.key_columns if k in frame.columns]
            definition = context.validation_definitions.get(suite.name)
            try:
                result = definition.run(
                    batch_parameters={"dataframe": frame}, expectation_parameters=parameters,
                    result_format={"result_format": "COMPLETE", "unexpected_index_column_names": keys}
                    if keys else {"result_format": "COMPLETE"})
            except Exception as exc:  # noqa: BLE001 - GX could not run the suite at all
                not_run("errored", len(frame),
                        error=f"Great Expectations could not run suite {suite.name}: {str(exc).splitlines()[0]}")
                continue
            data = result.to_json_dict()
            order = {e.get("id"): i for i, e in enumerate(suite.expectations)}
            results = sorted(data.get("results", []),
                             key=lambda r: order.get((r.get("expectation_config") or {}).get("id"), 1_000))
            mine = [_outcome(suite, r, parameters, keys) for r in results]
            outcomes += mine
            for r, o in zip(results, mine):
                if o.status != "failed":
                    continue
                for row in _failing_index_rows(r):
                    if "check_name" in row:
                        failing_checks.add((suite.where or "", str(row["check_name"])))
                    if suite.table == "rpt_qc_regular_share":
                        failing_groups.add((str(row.get("collection_id")), str(row.get("Modality"))))
                    if row.get("SeriesInstanceUID") is not None:
                        gx_rows.append({
                            "collection_id": row.get("collection_id"), "SeriesInstanceUID": row["SeriesInstanceUID"],
                            "suite": suite.name, "check_name": o.description,
                            "observed": _short(row.get(o.column) if o.column else None), "attribute": o.column,
                            "error_kind": o.expectation_type, "gate_failed": True})
            # keep the raw GX result, trimmed: every failing row is in the parquet
            for r in data.get("results", []):
                res = r.get("result") or {}
                for key in ("unexpected_list", "unexpected_index_list", "partial_unexpected_index_list",
                            "partial_unexpected_list", "unexpected_index_query"):
                    if isinstance(res.get(key), list):
                        res[key] = res[key][:SAMPLE_ROWS]
            raw_results[suite.name] = data
            status = "errored" if any(o.status == "errored" for o in mine) else (
                "failed" if any(o.status == "failed" for o in mine) else "passed")
            suite_outcomes.append(SuiteOutcome(suite.name, suite.table, suite.description, len(frame),
                                               time.perf_counter() - t0, status))

        say("writing the failing series")
        out = failures_path(db)
        failing_rows, series_affected = _write_failures(wh.con, tables, out, pd.DataFrame(gx_rows),
                                                        failing_checks, failing_groups, build_id)

    result = CheckResult(
        db=db, validation_path=validation_path(db), failures_path=failures_path(db), manifest_path=manifest_path(db),
        thresholds=thresholds, suites=suite_outcomes, expectations=outcomes, failing_rows=failing_rows,
        series_affected=series_affected, seconds=time.perf_counter() - started, warnings=warnings,
        input_kind=input_kind, build_id=build_id)
    write_json(result.validation_path, {
        "database": str(db), "manifest": manifest_path(db).name, "build_id": build_id,
        "summary": result.summary(),
        "suites": [asdict(s) for s in suite_outcomes],
        "expectations": [asdict(e) for e in outcomes],
        "great_expectations_results": raw_results,
    }, indent=1)
    update_manifest(db, validation=result.summary())
    return result


def _write_failures(con, tables: set[str], out: Path, gx_rows, failing_checks: set[tuple[str, str]],
                    failing_groups: set[tuple[str, str]], build_id: str | None = None) -> tuple[int, int]:
    """rpt_qc_failures (+ the failing mart rows GX found) to ``out``; returns (rows, distinct series).

    The copy runs in DuckDB (the rows never pass through pandas); gate_failed says whether the
    check's gate failed at this run's thresholds (a check can have failing rows and still pass
    its threshold). The file's key-value metadata names the build (``idc_qc_build_id``)."""
    import pandas as pd

    checks = pd.DataFrame(sorted({c for _w, c in failing_checks}), columns=["check_name"])
    groups = pd.DataFrame(sorted(failing_groups), columns=["collection_id", "Modality"])
    con.register("qc_failing_checks", checks)
    con.register("qc_failing_groups", groups)
    parts = []
    if "rpt_qc_failures" in tables:
        parts.append("""
            select f.collection_id, f.SeriesInstanceUID, f.suite, f.check_name, f.observed, f.attribute, f.error_kind,
                f.PatientID, f.StudyInstanceUID, f.Modality, f.failing_instance_count, f.sample_SOPInstanceUID,
                f.hint, f.viewer_url,
                case when f.suite = 'geometry' then g.collection_id is not null
                     else c.check_name is not null end as gate_failed
            from rpt_qc_failures as f
            left join qc_failing_checks as c on f.suite <> 'geometry' and f.check_name = c.check_name
            left join qc_failing_groups as g on f.suite = 'geometry'
                and coalesce(f.collection_id, 'unknown') = g.collection_id and coalesce(f.Modality, 'unknown') = g.Modality
        """)
    if len(gx_rows):
        frame = gx_rows.reindex(columns=FAILURE_COLUMNS)
        con.register("qc_gx_rows", frame)
        parts.append("select " + ", ".join(
            f"cast({c} as {'bigint' if c == 'failing_instance_count' else 'boolean' if c == 'gate_failed' else 'varchar'}) as {c}"
            for c in FAILURE_COLUMNS) + " from qc_gx_rows")
    if not parts:
        parts.append("select " + ", ".join(
            f"cast(null as {'bigint' if c == 'failing_instance_count' else 'boolean' if c == 'gate_failed' else 'varchar'}) as {c}"
            for c in FAILURE_COLUMNS) + " where false")
    query = " union all by name ".join(f"({p})" for p in parts)
    named = str(build_id or "").replace("'", "''")
    with atomic_path(out) as tmp:
        target = str(tmp).replace("'", "''")
        con.execute(f"copy (select * from ({query}) order by collection_id, suite, check_name, SeriesInstanceUID) "
                    f"to '{target}' (format parquet, kv_metadata {{idc_qc_build_id: '{named}'}})")
    rows, series = con.execute("select count(*), count(distinct SeriesInstanceUID) from read_parquet(?)",
                               [str(out)]).fetchone()
    return int(rows), int(series)
