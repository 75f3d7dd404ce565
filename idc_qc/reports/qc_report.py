"""The curators' QC failure report: one self-contained HTML page and the same rows as CSV.

Reads what ``idc-qc check`` wrote beside the database (``<stem>.validation.json`` and
``<stem>.qc_failures.parquet``), the run manifest's name, the build's provenance
(``rpt_build_context.input_kind``, unknown when absent) and, for geometry failures, the
offending instances of ``instance_geometry``. Every count is a SQL aggregate (DuckDB over the
failures parquet); Python only lays the page out.

The page works offline (inline CSS and vanilla JavaScript, no CDN). It stays light at IDC
scale: at most ``rows_per_collection`` failing rows per collection are embedded (largest
problems first); the CSV holds every row. Filter, sort and search run on the embedded rows.

The page leads with what to fix: the gates that failed, how many series fail under each
definition (rpt_failing_series_counts), the series to open first, then every rule with failing
rows, most series first. The sections are plain functions in report_sections.py, called in the
order of its ``SECTIONS``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..database.atomic import atomic_path, write_text
from ..errors import IdcQcError
from ..query.selection import Selection
from .report_sections import SECTIONS, ReportContext, esc, plural

TEMPLATE = Path(__file__).with_name("qc_report.html")
#: Failing rows embedded in the page per collection (the CSV has all of them).
DEFAULT_ROWS_PER_COLLECTION = 100
#: Sample rows shown under each failing check.
SAMPLE_ROWS = 5
#: Columns of the failing-series table and of the CSV, in order.
ROW_COLUMNS = ["collection_id", "suite", "check_name", "SeriesInstanceUID", "observed", "failing_instance_count",
               "instances", "Modality", "PatientID", "StudyInstanceUID", "hint", "viewer_url", "gate_failed"]


# ----------------------------------------------------------------------------------------------
# data


@dataclass
class ReportResult:
    html: Path
    csv: Path
    rows_total: int
    rows_in_page: int
    series_affected: int
    collections: int
    input_kind: str
    manifest: str
    release_diff: Any = None   # idc_qc.releases.diff.ReleaseDiff shown in the page, if any
    build_id: str | None = None  # the build the check results (and so this report) describe
    incomplete: int = 0          # expectations that could not run: the verdict is incomplete
    selection: str | None = None  # the selection the rows were filtered to (Selection.describe), if any


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


#: What each severity of seeds/geometry_reasons.csv means (a rule the seed has no word for, a
#: DICOM value rule, counts as 1: its values are wrong).
SEVERITY = {1: "the volume is wrong or cannot be built", 2: "split or convert before use", 3: "not a volume"}


def _severity_join(tables: list[str], alias: str) -> tuple[str, str]:
    """(join, expression): the seed's severity of a failing row's geometry reason, 1 otherwise."""
    if "geometry_reasons" not in tables:
        return "", "1"
    return (f"left join (select label, severity from geometry_reasons where level = 'series') as g "
            f"on {alias}.suite = 'geometry' and {alias}.check_name = 'geometry: ' || g.label",
            "coalesce(g.severity, 1)")


def _checks(validation: dict, con, failures: str, tables: list[str]) -> list[dict]:
    """Gates that did not pass (failed, then errored), then rules with failing rows: those in a
    failed gate first, then by series affected, then by severity (seeds/geometry_reasons.csv)."""
    checks = []
    order = {"failed": 0, "errored": 1}
    for e in sorted((e for e in validation.get("expectations", []) if e["status"] not in ("passed", "skipped")),
                    key=lambda e: (order.get(e["status"], 2), -(e.get("unexpected_count") or 0))):
        detail = (f"{e['unexpected_count']:,} of {plural(e['element_count'], 'row')} break it" if e.get("unexpected_count")
                  else f"observed {e['observed']}" if e.get("observed") else e["expectation_type"])
        checks.append({"name": e["description"], "suite": e["suite"], "status": e["status"], "kind": "gate",
                       "badge": f"gate {e['status']}", "in_failed_gate": e["status"] == "failed", "detail": detail,
                       "sample": e.get("failing_keys") or [], "sql": e.get("sql"), "error": e.get("error")})
    # the SQL checks' rows (rows GX found in a mart are listed under their expectation above)
    join, severity = _severity_join(tables, "f")
    rules = _dicts(con.execute(
        f"""select f.suite, f.check_name, bool_or(f.gate_failed) as gate_failed,
                   count(distinct f.SeriesInstanceUID) as series, count(distinct f.collection_id) as collections,
                   min({severity}) as severity
            from read_parquet(?) as f {join} where f.suite in ('instances', 'completeness', 'geometry')
            group by f.suite, f.check_name order by gate_failed desc, series desc, severity, f.check_name""", [failures]))
    for r in rules:
        sample = _dicts(con.execute(
            """select collection_id, SeriesInstanceUID, observed, failing_instance_count, sample_SOPInstanceUID
               from read_parquet(?) where suite = ? and check_name = ?
               order by collection_id, SeriesInstanceUID limit ?""", [failures, r["suite"], r["check_name"], SAMPLE_ROWS]))
        name = r["check_name"].replace("'", "''")
        sql = (f"select * from rpt_qc_failures where suite = '{r['suite']}' and check_name = '{name}' "
               f"order by collection_id, SeriesInstanceUID")
        checks.append({"name": r["check_name"], "suite": r["suite"], "series": int(r["series"]), "kind": "rule",
                       "severity": int(r["severity"]),
                       "status": "failed" if r["gate_failed"] else "within threshold",
                       "badge": "in a failed gate" if r["gate_failed"] else "within threshold",
                       "in_failed_gate": bool(r["gate_failed"]),
                       "detail": f"{plural(int(r['series']), 'series')} in {plural(int(r['collections']), 'collection')}"
                                 + f" · severity {int(r['severity'])}: {SEVERITY[int(r['severity'])]}"
                                 + ("" if r["gate_failed"] else " (within the thresholds of this run)"),
                       "sample": sample, "sql": sql, "error": None})
    return checks


#: Series in the "start here" list.
START_HERE = 10


def _start_here(con, failures: str, tables: list[str], limit: int = START_HERE) -> list[dict]:
    """The series to open first: in a failed gate, of the most severe reason (seeds/
    geometry_reasons.csv), failing the most rules, most offending instances."""
    join, severity = _severity_join(tables, "f")
    return _dicts(con.execute(
        f"""select coalesce(f.collection_id, 'unknown') as collection_id, f.SeriesInstanceUID,
                   any_value(f.Modality) as Modality, any_value(f.viewer_url) as viewer_url,
                   string_agg(distinct f.check_name, '; ' order by f.check_name) as checks,
                   count(distinct f.check_name) as rules, max(f.failing_instance_count) as instances,
                   arg_max(f.hint, coalesce(f.failing_instance_count, 0)) as hint, bool_or(f.gate_failed) as gate_failed,
                   min({severity}) as severity
            from read_parquet(?) as f {join} where f.SeriesInstanceUID is not null
            group by all
            order by gate_failed desc, severity, rules desc, instances desc nulls last, collection_id, f.SeriesInstanceUID
            limit ?""", [failures, limit]))


def _definitions(con, tables: list[str]) -> list[dict]:
    """rpt_failing_series_counts for all collections, in the order pages list it (empty when absent)."""
    if "rpt_failing_series_counts" not in tables:
        return []
    return _dicts(con.execute(
        """select definition, definition_label, part_order, part, part_label, series_count, series_in_scope
           from rpt_failing_series_counts where collection_id = '(all)'
           order by definition_order, part_order, series_count desc, part"""))


def build_report(db: Path, *, out: Path | None = None, csv_out: Path | None = None,
                 rows_per_collection: int = DEFAULT_ROWS_PER_COLLECTION,
                 progress: Callable[[str], None] | None = None, against: str | None = None,
                 selection: Selection | None = None) -> ReportResult:
    """Write the QC report of ``db`` (``<stem>.qc_report.html`` and ``.csv`` beside it by default).

    ``against``: an older release (``v20``) or database to show a release diff section with; by
    default the run manifest's ``diff`` section (written by `idc-qc release run`) names it.
    ``selection`` (collection, modality, ``--where`` on the failing rows' columns): only the
    failing rows it selects are counted and listed; the gates and the counts by definition stay
    the whole build's, and the page says so."""
    from . import report_sections
    from ..database.files import failures_path, manifest_path, report_csv_path, report_path, validation_path
    from ..database.state import check_results_current
    from ..provenance import read_build_context
    from ..warehouse import open_warehouse

    say = progress or (lambda _t: None)
    db = Path(db)
    vpath, fpath = validation_path(db), failures_path(db)
    if not vpath.exists() or not fpath.exists():
        raise IdcQcError(f"no check results beside {db} ({vpath.name}, {fpath.name}): run `idc-qc check --db {db}` first")
    try:
        validation = json.loads(vpath.read_text())
    except ValueError as exc:
        raise IdcQcError(f"{vpath} is not JSON ({exc}); run `idc-qc check` again") from None
    if rows_per_collection < 1:
        raise IdcQcError(f"--rows-per-collection {rows_per_collection}: give a positive number")
    out = Path(out) if out else report_path(db)
    csv_out = Path(csv_out) if csv_out else report_csv_path(out)
    failures = str(fpath)
    selected = selection is not None and not selection.empty()
    if selected:
        selection.check(columns_of="the failing rows (suite, check_name, observed, Modality, ...)",
                        example="\"check_name like 'geometry:%'\"")
    say("comparing with the previous release")
    release_diff, release_diff_note = None, None
    try:
        release_diff = report_sections.release_diff_for(db, against)
    except IdcQcError as exc:
        if against is not None:   # asked for: its error is the command's
            raise
        release_diff_note = f"the run manifest's diff could not be shown: {exc}"

    with open_warehouse(db) as wh, tempfile.TemporaryDirectory(prefix="idc_qc_report_") as scratch:
        con = wh.con
        tables = wh.tables()
        if selected:
            say("selecting the failing rows")
            failures = _select_failures(con, failures, selection, Path(scratch) / "selected.parquet")
        build_id = wh.record.build_id if wh.record is not None else None
        checked = (validation.get("summary") or {}).get("build_id", validation.get("build_id"))
        check_results_current(db, checked, build_id, what=f"the check results beside {db} ({vpath.name})",
                              rerun=f"idc-qc check --db {db}")
        say("summarizing the failures")
        input_kind = read_build_context(con, wh.record).input_kind
        totals = con.execute(
            """select count(*), count(distinct SeriesInstanceUID), count(distinct collection_id),
                      count(distinct suite || '|' || check_name)
               from read_parquet(?)""", [failures]).fetchone()
        collections = _dicts(con.execute(
            """with per as (
                   select coalesce(collection_id, 'unknown') as collection_id, check_name, count(*) as n
                   from read_parquet(?) group by all)
               select c.collection_id, c.series, c.failing_rows, c.checks,
                      (select string_agg(check_name || ' (' || n || ')', ', ' order by n desc, check_name)
                       from (select * from per where per.collection_id = c.collection_id order by n desc, check_name limit 3)) as top_checks
               from (select coalesce(collection_id, 'unknown') as collection_id,
                            count(distinct SeriesInstanceUID) as series, count(*) as failing_rows,
                            count(distinct check_name) as checks
                     from read_parquet(?) group by all) as c
               order by c.series desc, c.collection_id""", [failures, failures]))
        say("choosing the rows of the page")
        has_ig = "instance_geometry" in tables
        instances_sql = ("""left join (select SeriesInstanceUID, string_agg(SOPInstanceUID || ' (' || reason || ')', '; '
                                       order by SOPInstanceUID) filter (where k <= 3) as instances
                                from (select SeriesInstanceUID, SOPInstanceUID, reason,
                                             row_number() over (partition by SeriesInstanceUID order by SOPInstanceUID) as k
                                      from instance_geometry
                                      where SeriesInstanceUID in (select SeriesInstanceUID from page where suite = 'geometry'))
                                group by SeriesInstanceUID) as ig
                             on page.suite = 'geometry' and page.SeriesInstanceUID = ig.SeriesInstanceUID"""
                         if has_ig else "")
        instances_col = "coalesce(ig.instances, page.sample_SOPInstanceUID)" if has_ig else "page.sample_SOPInstanceUID"
        rows = _dicts(con.execute(f"""
            with ranked as (
                select *, row_number() over (
                    partition by coalesce(collection_id, 'unknown')
                    order by gate_failed desc, suite, check_name, SeriesInstanceUID) as k
                from read_parquet(?)),
            page as (select * from ranked where k <= ?)
            select page.collection_id, page.suite, page.check_name, page.SeriesInstanceUID, page.observed,
                   page.failing_instance_count, {instances_col} as instances, page.Modality, page.PatientID,
                   page.StudyInstanceUID, page.hint, page.viewer_url, page.gate_failed
            from page {instances_sql}
            order by count(distinct page.SeriesInstanceUID) over (partition by page.collection_id) desc,
                     page.collection_id, page.k""", [failures, rows_per_collection]))
        checks = _checks(validation, con, failures, tables)
        definitions = _definitions(con, tables)
        start_here = _start_here(con, failures, tables)
        s = validation.get("summary", {})
        sql_checks = con.execute(
            "select count(*), count(*) filter (where failing_rows > 0) from rpt_qc_rule_counts").fetchone() \
            if "rpt_qc_rule_counts" in tables else (0, 0)
        summary = {**s, "sql_checks": int(sql_checks[0]), "sql_checks_failing": int(sql_checks[1]),
                   "failing_checks": len([c for c in checks if c["status"] in ("failed", "errored")]),
                   "series_affected": int(totals[1]), "collections_affected": int(totals[2]),
                   "verdict": {0: "All quality checks passed.", 1: "Quality checks FAILED: see the failing checks below.",
                               2: "Some checks could not run (errored): the verdict is incomplete."}.get(s.get("exit_code"), "")}
        manifest_name = validation.get("manifest") or manifest_path(db).name
        ctx = ReportContext(db=db, con=con, validation=validation, failures_path=fpath, manifest_name=manifest_name,
                            input_kind=input_kind, summary=summary, collections=collections, checks=checks, rows=rows,
                            rows_total=int(totals[0]), rows_per_collection=rows_per_collection, csv_name=csv_out.name,
                            definitions=definitions, start_here=start_here,
                            extra={"tables": tables, "release_diff": release_diff,
                                   "release_diff_note": release_diff_note,
                                   "selection": selection.describe() if selected else None})
        say("writing the page")
        page = _render(ctx)
        write_text(out, page)
        say("writing the CSV")
        _write_csv(con, failures, csv_out, has_ig)
    return ReportResult(html=out, csv=csv_out, rows_total=int(totals[0]), rows_in_page=len(rows),
                        series_affected=int(totals[1]), collections=int(totals[2]), input_kind=input_kind,
                        manifest=manifest_name, release_diff=release_diff, build_id=build_id,
                        incomplete=int(s.get("errored") or 0),
                        selection=selection.describe() if selected else None)


def _select_failures(con, failures: str, selection: Selection, dest: Path) -> str:
    """The failing rows ``selection`` picks, written to ``dest`` (parquet): every query of the page
    then reads them as it reads the whole file. The user's condition runs on the warehouse's
    contained connection (as export's does); a second, private connection writes the file."""
    import duckdb

    from ..query.run import explain_condition_error

    columns = [r[0] for r in con.execute("describe select * from read_parquet(?)", [failures]).fetchall()]
    source = "read_parquet('" + failures.replace("'", "''") + "')"
    relation, params = selection.relation("failures", columns, base=source)
    what = f"the selection ({selection.describe()}) does not run on the failing rows"
    try:
        reader = con.sql(f"select * from {relation} as failures", params=params).to_arrow_reader()
        with duckdb.connect() as writer:
            writer.register("selected_rows", reader)
            writer.execute(f"copy selected_rows to '{str(dest).replace(chr(39), chr(39) * 2)}' (format parquet)")
    except duckdb.Error as exc:
        raise IdcQcError(explain_condition_error(exc, what, columns)) from None
    return str(dest)


def _render(ctx: ReportContext) -> str:
    template = TEMPLATE.read_text()
    rendered = [(id_, title, render(ctx)) for id_, title, render in SECTIONS]
    rendered = [r for r in rendered if r[2]]   # a section with nothing to say is left out
    nav = "".join(f'<a href="#{esc(id_)}">{esc(title)}</a>' for id_, title, _ in rendered)
    body = "".join(f'<section id="{esc(id_)}"><h2>{esc(title)}</h2>{h}</section>' for id_, title, h in rendered)
    banner = ""
    if ctx.input_kind == "synthetic":
        banner = ('<div class="banner" id="synthetic-banner">Synthetic input: this build was made from '
                  '<code>idc-qc synth</code> data, whose geometry faults and malformed values were injected on '
                  'purpose. The failures below describe the injected faults, not IDC\'s data.</div>')
    elif ctx.input_kind == "unknown":
        banner = ('<div class="note" id="provenance-note">Input provenance unknown (no rpt_build_context in the '
                  'database): it may be synthetic.</div>')
    if ctx.extra.get("selection"):
        banner += (f'<div class="note" id="selection-note">Filtered to {esc(ctx.extra["selection"])}: the failing '
                   'rows, the rules\' series counts, the series to start with and the collections below are those of '
                   'the selection; every other figure (the gates, the counts by definition, the converters, IDC\'s published verdicts, clinical '
                   'coverage) is the whole build\'s.</div>')
    data = json.dumps({"rows": ctx.rows, "columns": ROW_COLUMNS}, default=str, separators=(",", ":"))
    data = data.replace("</", "<\\/")
    generated = ctx.summary.get("checked_at", "")
    build = ctx.summary.get("build_id") or "unrecorded"
    subtitle = (f"Database {esc(ctx.db.name)} · build {esc(build)} · run manifest {esc(ctx.manifest_name)} · "
                f"checked {esc(generated)} · input {esc(ctx.input_kind)}")
    return (template.replace("<!--TITLE-->", f"QC failures: {esc(ctx.db.name)}")
            .replace("<!--SUBTITLE-->", subtitle).replace("<!--BANNER-->", banner)
            .replace("<!--NAV-->", nav).replace("<!--SECTIONS-->", body).replace("/*DATA*/", data))


def _write_csv(con, failures: str, out: Path, has_ig: bool) -> None:
    """Every failing row (the page's columns), in the page's order; written by DuckDB."""
    instances = ("""left join (select SeriesInstanceUID, string_agg(distinct SOPInstanceUID, '; ') as instances
                               from instance_geometry group by SeriesInstanceUID) as ig
                    on f.suite = 'geometry' and f.SeriesInstanceUID = ig.SeriesInstanceUID""" if has_ig else "")
    col = "coalesce(ig.instances, f.sample_SOPInstanceUID)" if has_ig else "f.sample_SOPInstanceUID"
    with atomic_path(out) as tmp:
        con.execute(f"""copy (
            select f.collection_id, f.suite, f.check_name, f.SeriesInstanceUID, f.observed, f.failing_instance_count,
                   {col} as instances, f.Modality, f.PatientID, f.StudyInstanceUID, f.hint, f.viewer_url, f.gate_failed
            from read_parquet('{failures.replace("'", "''")}') as f {instances}
            order by f.collection_id, f.gate_failed desc, f.suite, f.check_name, f.SeriesInstanceUID
        ) to '{str(tmp).replace("'", "''")}' (format csv, header true)""")
