"""The curators' QC failure report: one self-contained HTML page and the same rows as CSV.

Reads what ``idc-qc check`` wrote beside the database (``<stem>.validation.json`` and
``<stem>.qc_failures.parquet``), the run manifest's name, the build's provenance
(``rpt_build_context.input_kind``, unknown when absent) and, for geometry failures, the
offending instances of ``instance_geometry``. Every count is a SQL aggregate (DuckDB over the
failures parquet); Python only lays the page out.

The page works offline (inline CSS and vanilla JavaScript, no CDN). It stays light at IDC
scale: at most ``rows_per_collection`` failing rows per collection are embedded (largest
problems first); the CSV holds every row. Filter, sort and search run on the embedded rows.

Sections are objects with ``id``, ``title`` and ``render(context) -> html``: another module
adds one with :func:`register_section` (e.g. a release diff) without touching this file.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from ..database.atomic import atomic_path, write_text
from ..errors import IdcQcError

TEMPLATE = Path(__file__).with_name("qc_report.html")
#: Failing rows embedded in the page per collection (the CSV has all of them).
DEFAULT_ROWS_PER_COLLECTION = 100
#: Sample rows shown under each failing check.
SAMPLE_ROWS = 5
#: Columns of the failing-series table and of the CSV, in order.
ROW_COLUMNS = ["collection_id", "suite", "check_name", "SeriesInstanceUID", "observed", "failing_instance_count",
               "instances", "Modality", "PatientID", "StudyInstanceUID", "hint", "viewer_url", "gate_failed"]


class Section(Protocol):
    id: str
    title: str

    def render(self, context: "ReportContext") -> str: ...


@dataclass
class ReportContext:
    """Everything a section may read: the database (open, read-only), the check outputs, the figures."""

    db: Path
    con: Any
    validation: dict
    failures_path: Path
    manifest_name: str
    input_kind: str
    summary: dict
    collections: list[dict]
    checks: list[dict]
    rows: list[dict]
    rows_total: int
    rows_per_collection: int
    csv_name: str
    extra: dict = field(default_factory=dict)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


# ----------------------------------------------------------------------------------------------
# sections


class SummarySection:
    id = "summary"
    title = "Summary"

    def render(self, ctx: ReportContext) -> str:
        s = ctx.summary
        cards = [
            ("suites", s["suites"]), ("expectations run", s["expectations"]), ("passed", s["passed"]),
            ("failed", s["failed"]), ("errored", s["errored"]), ("skipped", s.get("skipped", 0)), ("SQL checks run", s["sql_checks"]),
            ("with failing rows", s["sql_checks_failing"]), ("failing checks", s["failing_checks"]),
            ("series affected", s["series_affected"]), ("collections affected", s["collections_affected"]),
        ]
        card_html = "".join(
            f'<div class="card {esc(label.replace(" ", "-"))}"><div class="n">{value:,}</div><div>{esc(label)}</div></div>'
            for label, value in cards)
        thresholds = (s.get("thresholds") or {}).get("values", {})
        trs = "".join(f"<tr><td>{esc(k)}</td><td>{v:g}</td></tr>" for k, v in thresholds.items())
        rows = "".join(
            f'<tr><td>{esc(c["collection_id"])}</td><td class="num">{c["series"]:,}</td>'
            f'<td class="num">{c["failing_rows"]:,}</td><td class="num">{c["checks"]:,}</td>'
            f'<td>{esc(c["top_checks"])}</td></tr>'
            for c in ctx.collections)
        return f"""
<p class="verdict {'bad' if s['exit_code'] else 'good'}">{esc(s['verdict'])}</p>
<div class="cards">{card_html}</div>
{_bar_chart(ctx.checks)}
<div class="two">
  <div><h3>Series affected by collection (largest first)</h3>
    <table id="collections-table" class="sortable"><thead><tr><th>collection</th><th>series</th><th>failing rows</th>
    <th>checks</th><th>commonest checks</th></tr></thead><tbody>{rows or '<tr><td colspan="5">no failing series</td></tr>'}</tbody></table></div>
  <div><h3>Thresholds of this run</h3><table><tbody>{trs}</tbody></table>
    <p class="small">From expectations/thresholds.yml unless overridden; recorded in {esc(ctx.manifest_name)}.</p></div>
</div>{_skipped(s)}"""


def _skipped(summary: dict) -> str:
    """The suites `idc-qc check` skipped, each with its note (index-only build, no clinical data)."""
    skipped = summary.get("skipped_suites") or {}
    if not skipped:
        return ""
    items = "".join(f"<li><b>{esc(name)}</b>: {esc(note)}</li>" for name, note in sorted(skipped.items()))
    return f'<h3>Skipped suites (nothing to judge in this build)</h3><ul id="skipped-suites">{items}</ul>'


def _bar_chart(checks: list[dict], top: int = 15) -> str:
    """Failing series per check as an inline SVG bar chart (no script, no CDN): the largest first."""
    bars = sorted((c for c in checks if c.get("series")), key=lambda c: (-c["series"], c["name"]))[:top]
    if not bars:
        return ""
    width, label_w, row_h = 900, 330, 20
    largest = max(c["series"] for c in bars)
    rows = []
    for i, c in enumerate(bars):
        y = i * row_h
        w = max(1.0, (width - label_w - 80) * c["series"] / largest)
        color = "#b3261e" if c["status"] == "failed" else "#9aa3af"
        rows.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{esc(c["name"])}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{color}">'
                    f'<title>{esc(c["name"])}: {c["series"]:,} series</title></rect>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{c["series"]:,}</text>')
    height = row_h * len(bars)
    return (f'<h3>Failing series per check (largest {len(bars)}; red: the gate failed, grey: within the thresholds)</h3>'
            f'<svg id="checks-chart" role="img" aria-label="failing series per check" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-size="12" font-family="system-ui, sans-serif">{"".join(rows)}</svg>')


class ChecksSection:
    id = "checks"
    title = "Failing checks: samples and the SQL that returns all rows"

    def render(self, ctx: ReportContext) -> str:
        if not ctx.checks:
            return "<p>No check failed and none errored.</p>"
        parts = []
        for c in ctx.checks:
            sample = c.get("sample") or []
            columns = list(dict.fromkeys(k for row in sample for k in row))
            table = ""
            if sample:
                head = "".join(f"<th>{esc(k)}</th>" for k in columns)
                body = "".join("<tr>" + "".join(f"<td>{esc(row.get(k))}</td>" for k in columns) + "</tr>" for row in sample)
                table = f'<table class="sample"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            sql = f'<pre class="sql">{esc(c["sql"])}</pre>' if c.get("sql") else ""
            error = f'<p class="err">{esc(c["error"])}</p>' if c.get("error") else ""
            parts.append(f"""
<details class="check {esc(c['status'].split()[0])}" data-check="{esc(c['name'])}">
  <summary><span class="badge {esc(c['status'].split()[0])}">{esc(c['status'])}</span> <b>{esc(c['name'])}</b>
    <span class="small">{esc(c['suite'])} · {esc(c['detail'])}</span></summary>
  {error}{table}{sql}
</details>""")
        return "".join(parts)


class FailingSeriesSection:
    id = "series"
    title = "Failing series by collection"

    def render(self, ctx: ReportContext) -> str:
        cols = [("collection_id", "collection"), ("check_name", "check"), ("SeriesInstanceUID", "series"),
                ("observed", "offending value"), ("failing_instance_count", "instances"),
                ("instances", "instances involved"), ("hint", "hint")]
        head = "".join(f'<th data-key="{k}">{esc(label)}</th>' for k, label in cols)
        collections = "".join(f'<option value="{esc(c["collection_id"])}">{esc(c["collection_id"])} ({c["series"]:,})</option>'
                              for c in ctx.collections)
        checks = sorted({r["check_name"] for r in ctx.rows if r.get("check_name")})
        check_opts = "".join(f'<option value="{esc(c)}">{esc(c)}</option>' for c in checks)
        bounded = ctx.rows_total > len(ctx.rows)
        note = (f"This page holds {len(ctx.rows):,} of the {ctx.rows_total:,} failing rows (at most "
                f"{ctx.rows_per_collection:,} per collection, largest problems first); "
                f"<a href=\"{esc(ctx.csv_name)}\">{esc(ctx.csv_name)}</a> has every row.") if bounded else (
                f"All {ctx.rows_total:,} failing rows; also in <a href=\"{esc(ctx.csv_name)}\">{esc(ctx.csv_name)}</a>.")
        return f"""
<p class="small">{note}</p>
<div class="controls">
  <input id="search" type="search" placeholder="search series, values, checks ..." aria-label="search">
  <select id="collection-filter" aria-label="collection"><option value="">all collections</option>{collections}</select>
  <select id="check-filter" aria-label="check"><option value="">all checks</option>{check_opts}</select>
  <span id="shown" class="small"></span>
</div>
<table id="failures-table"><thead><tr>{head}</tr></thead><tbody></tbody></table>
<p id="more" class="small"></p>"""


SECTIONS: list[Section] = [SummarySection(), ChecksSection(), FailingSeriesSection()]


def register_section(section: Section, *, before: str | None = None) -> None:
    """Add a section to every report (e.g. a release diff); ``before`` names an existing section id."""
    ids = [s.id for s in SECTIONS]
    if section.id in ids:
        SECTIONS[ids.index(section.id)] = section
    elif before in ids:
        SECTIONS.insert(ids.index(before), section)
    else:
        SECTIONS.append(section)


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


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _checks(validation: dict, con, failures: str) -> list[dict]:
    """Failed or errored expectations, then rules with failing rows whose gate passed."""
    checks = []
    for e in validation.get("expectations", []):
        if e["status"] in ("passed", "skipped"):
            continue
        detail = (f"{e['unexpected_count']:,} of {e['element_count']:,} rows break it" if e.get("unexpected_count")
                  else f"observed {e['observed']}" if e.get("observed") else e["expectation_type"])
        checks.append({"name": e["description"], "suite": e["suite"], "status": e["status"], "detail": detail,
                       "sample": e.get("failing_keys") or [], "sql": e.get("sql"), "error": e.get("error")})
    # the SQL checks' rows (rows GX found in a mart are listed under their expectation above)
    rules = _dicts(con.execute(
        """select suite, check_name, bool_or(gate_failed) as gate_failed, count(*) as series,
                  count(distinct collection_id) as collections
           from read_parquet(?) where suite in ('instances', 'completeness', 'geometry')
           group by suite, check_name order by series desc, check_name""", [failures]))
    for r in rules:
        sample = _dicts(con.execute(
            """select collection_id, SeriesInstanceUID, observed, failing_instance_count, sample_SOPInstanceUID
               from read_parquet(?) where suite = ? and check_name = ?
               order by collection_id, SeriesInstanceUID limit ?""", [failures, r["suite"], r["check_name"], SAMPLE_ROWS]))
        name = r["check_name"].replace("'", "''")
        sql = (f"select * from rpt_qc_failures where suite = '{r['suite']}' and check_name = '{name}' "
               f"order by collection_id, SeriesInstanceUID")
        checks.append({"name": r["check_name"], "suite": r["suite"], "series": int(r["series"]),
                       "status": "failed" if r["gate_failed"] else "within threshold",
                       "detail": f"{r['series']:,} series in {r['collections']:,} collections"
                                 + ("" if r["gate_failed"] else " (within the thresholds of this run)"),
                       "sample": sample, "sql": sql, "error": None})
    return checks


def build_report(db: Path, *, out: Path | None = None, csv_out: Path | None = None,
                 rows_per_collection: int = DEFAULT_ROWS_PER_COLLECTION,
                 progress: Callable[[str], None] | None = None, against: str | None = None) -> ReportResult:
    """Write the QC report of ``db`` (``<stem>.qc_report.html`` and ``.csv`` beside it by default).

    ``against``: an older release (``v20``) or database to show a release diff section with; by
    default the run manifest's ``diff`` section (written by `idc-qc release run`) names it."""
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
    say("comparing with the previous release")
    release_diff, release_diff_note = None, None
    try:
        release_diff = report_sections.release_diff_for(db, against)
    except IdcQcError as exc:
        if against is not None:   # asked for: its error is the command's
            raise
        release_diff_note = f"the run manifest's diff could not be shown: {exc}"

    with open_warehouse(db) as wh:
        con = wh.con
        tables = wh.tables()
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
            order by page.collection_id, page.k""", [failures, rows_per_collection]))
        checks = _checks(validation, con, failures)
        s = validation.get("summary", {})
        sql_checks = con.execute(
            "select count(*), count(*) filter (where failing_rows > 0) from rpt_qc_rule_counts").fetchone() \
            if "rpt_qc_rule_counts" in tables else (0, 0)
        summary = {**s, "sql_checks": int(sql_checks[0]), "sql_checks_failing": int(sql_checks[1]), "failing_checks": len([c for c in checks if c["status"] in ("failed", "errored")]),
                   "series_affected": int(totals[1]), "collections_affected": int(totals[2]),
                   "verdict": {0: "All quality checks passed.", 1: "Quality checks FAILED: see the failing checks below.",
                               2: "Some checks could not run (errored): the verdict is incomplete."}.get(s.get("exit_code"), "")}
        manifest_name = validation.get("manifest") or manifest_path(db).name
        ctx = ReportContext(db=db, con=con, validation=validation, failures_path=fpath, manifest_name=manifest_name,
                            input_kind=input_kind, summary=summary, collections=collections, checks=checks, rows=rows,
                            rows_total=int(totals[0]), rows_per_collection=rows_per_collection, csv_name=csv_out.name,
                            extra={"tables": tables, "release_diff": release_diff,
                                   "release_diff_note": release_diff_note})
        say("writing the page")
        page = _render(ctx)
        write_text(out, page)
        say("writing the CSV")
        _write_csv(con, failures, csv_out, has_ig)
    return ReportResult(html=out, csv=csv_out, rows_total=int(totals[0]), rows_in_page=len(rows),
                        series_affected=int(totals[1]), collections=int(totals[2]), input_kind=input_kind,
                        manifest=manifest_name, release_diff=release_diff, build_id=build_id,
                        incomplete=int(s.get("errored") or 0))


def _render(ctx: ReportContext) -> str:
    template = TEMPLATE.read_text()
    rendered = [(s, s.render(ctx)) for s in SECTIONS]
    rendered = [(s, html_) for s, html_ in rendered if html_]   # a section with nothing to say is left out
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s, _ in rendered)
    body = "".join(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{h}</section>' for s, h in rendered)
    banner = ""
    if ctx.input_kind == "synthetic":
        banner = ('<div class="banner" id="synthetic-banner">Synthetic input: this build was made from '
                  '<code>idc-qc synth</code> data, whose geometry faults and malformed values were injected on '
                  'purpose. The failures below describe the injected faults, not IDC\'s data.</div>')
    elif ctx.input_kind == "unknown":
        banner = ('<div class="note" id="provenance-note">Input provenance unknown (no rpt_build_context in the '
                  'database): it may be synthetic.</div>')
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
