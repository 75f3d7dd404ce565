"""The sections of the curators' QC report, in the order a curator reads them: what failed and
how the counts relate, where to start, each failing check, then clinical coverage, the release
diff and every failing series. Each section is a plain function ``(ReportContext) -> html``
(an empty string leaves the section out); :data:`SECTIONS` is the order, and
``qc_report.build_report`` calls them. This module imports nothing of qc_report.

* **Summary**: the gates that failed first (Great Expectations over the rpt_* models), then how
  many series fail under each definition and how the definitions relate
  (rpt_failing_series_counts), then failing series per check and per collection.
* **Start here**: the series to look at first (in a failed gate, most severe, most failing checks), with
  their viewer links.
* **Clinical coverage** (issue 13): the clinical suite's verdict per collection and rule
  (rpt_clinical_coverage_summary against expectations/thresholds.yml, as `idc-qc check` judged
  it) and the failing patients per collection with the rule and the values (rpt_clinical_coverage
  joined with patient_clinical: a SQL query, bounded per collection). Without clinical data the
  section says so, once.
* **Will my pipeline load it?** (issue 22): per converter (highdicom, dcm2niix, dicom2nifti,
  SimpleITK) the series of each predicted outcome, the rules that decide most of them with
  their hints, and an example series of each with its viewer link (rpt_converter_outcome_counts
  over series_converters). Without series_converters (a partial build) one line says so.
* **IDC's published verdicts beside ours** (issue 21): series_geometry_vs_idc's counts (agree,
  differ, only IDC judged, not in the published index) and the series that differ, with our
  reasons and IDC's failed checks. Left out when the build read no published index.
* **Release diff** (issue 10): collections and series added / removed / revised, and QC
  failures new / fixed / unchanged by collection and check (idc_qc.releases.diff.ReleaseDiff),
  when the report is given one (``idc-qc report --against vNN|DB``) or the run manifest beside
  the database has a ``diff`` section (written by `idc-qc release run`). Without either the
  section is left out of the page.

Every figure is SQL (the rpt_* models, DuckDB over the release indices and failure parquets);
this module lays them out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import IdcQcError


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
    #: rpt_failing_series_counts for all collections: (definition, part) -> row (labels, counts)
    definitions: list[dict] = field(default_factory=list)
    #: the series to look at first (start_here_section)
    start_here: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 series``, ``2 collections``, ``1 collection``: a count with its noun."""
    many = many or (word if word.endswith(("series", "s")) else word + "s")
    return f"{count:,} {word if count == 1 else many}"


def fmt_value(value: Any, column: str = "") -> str:
    """A value as a page shows it: shares as percentages, other floats rounded, the rest as written."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, float):
        if "share" in column.lower() or "ratio_of" in column.lower():
            return f"{value:.1%}"
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# ----------------------------------------------------------------------------------------------
# summary: gates first, then how many series fail under each definition


def _failed_gates(ctx: ReportContext) -> str:
    gates = [c for c in ctx.checks if c.get("kind") == "gate"]
    if not gates:
        return ""
    items = "".join(
        f'<li class="{esc(c["status"])}"><span class="badge {esc(c["status"])}">gate {esc(c["status"])}</span> '
        f'<b>{esc(c["name"])}</b> <span class="small">{esc(c["suite"])} · {esc(c["detail"])}</span></li>'
        for c in gates)
    return f'<h3>Gates that did not pass ({len(gates):,})</h3><ul id="failed-gates">{items}</ul>'


def definitions_table(ctx: ReportContext) -> str:
    """How many series fail, by definition, and how the definitions relate (rpt_failing_series_counts)."""
    rows = ctx.definitions
    if not rows:
        return ""
    total = max((int(r["series_in_scope"]) for r in rows), default=0)
    body = []
    for r in rows:
        part = r["part"] != "total"
        label = (f'&nbsp;&nbsp;&nbsp;{"=" if r["part_order"] == 1 else "+"} {esc(r["part_label"])}' if part
                 else f'<b>{esc(r["definition_label"])}</b>')
        share = f'{int(r["series_count"]) / total:.1%}' if total else ""
        body.append(f'<tr data-definition="{esc(r["definition"])}" data-part="{esc(r["part"])}"'
                    f'{" class=part" if part else ""}><td>{label}</td>'
                    f'<td class="num" data-count="{int(r["series_count"])}">{int(r["series_count"]):,}</td>'
                    f'<td class="num">{share}</td><td class="small"><code>{esc(r["definition"])}</code></td></tr>')
    return (f'<h3>Series that fail, by definition (of {plural(total, "series")} with a geometry verdict)</h3>'
            f'<p class="small">Each output counts one of these and says which: the UpSet plot counts '
            f'<i>fail IDC\'s geometry checks</i>, the geometry summary and the worklist '
            f'(<code>rpt_geometry_failures</code>) <i>not a regular volume</i>, this report\'s rules '
            f'<i>fail a QC rule</i>. Indented rows add up to the line above them '
            f'(<code>rpt_failing_series_counts</code>).</p>'
            f'<table id="definitions"><thead><tr><th>series that</th><th>series</th><th>share</th>'
            f'<th>definition</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


def summary_section(ctx: ReportContext) -> str:
    s = ctx.summary
    cards = [
        ("gates failed", s["failed"], "failed"), ("gates errored", s["errored"], "errored"),
        ("gates passed", s["passed"], "passed"), ("gates skipped", s.get("skipped", 0), "skipped"),
        ("series failing a QC rule", s["series_affected"], "series-affected"),
        ("collections", s["collections_affected"], "collections-affected"),
        ("QC rules with failing rows", s["sql_checks_failing"], "rules-failing"),
    ]
    card_html = "".join(
        f'<div class="card {esc(cls)}"><div class="n">{value:,}</div><div>{esc(label)}</div></div>'
        for label, value, cls in cards)
    thresholds = (s.get("thresholds") or {}).get("values", {})
    trs = "".join(f"<tr><td>{esc(k)}</td><td>{v:g}</td></tr>" for k, v in thresholds.items())
    rows = "".join(
        f'<tr data-collection="{esc(c["collection_id"])}"><td>{esc(c["collection_id"])}</td>'
        f'<td class="num">{c["series"]:,}</td><td class="num">{c["failing_rows"]:,}</td>'
        f'<td class="num">{c["checks"]:,}</td><td>{esc(c["top_checks"])}</td></tr>'
        for c in ctx.collections)
    return f"""
<p class="verdict {'bad' if s['exit_code'] else 'good'}">{esc(s['verdict'])}</p>
<div class="cards">{card_html}</div>
{_failed_gates(ctx)}
{definitions_table(ctx)}
{_bar_chart(ctx.checks)}
<div class="two">
  <div><h3>Series failing a QC rule, by collection (most first)</h3>
    <table id="collections-table" class="sortable"><thead><tr><th>collection</th><th>series</th><th>failing rows</th>
    <th>rules</th><th>commonest rules</th></tr></thead><tbody>{rows or '<tr><td colspan="5">no failing series</td></tr>'}</tbody></table></div>
  <div><h3>Thresholds of this run</h3><table><tbody>{trs}</tbody></table>
    <p class="small">From expectations/thresholds.yml unless overridden; recorded in {esc(ctx.manifest_name)}.</p></div>
</div>{_skipped(s)}"""


def _skipped(summary: dict) -> str:
    """The suites `idc-qc check` skipped, each with its note (index-only build); the clinical
    suite is left to the clinical section, which says it once."""
    skipped = {name: note for name, note in (summary.get("skipped_suites") or {}).items() if name != CLINICAL_SUITE}
    if not skipped:
        return ""
    items = "".join(f"<li><b>{esc(name)}</b>: {esc(note)}</li>" for name, note in sorted(skipped.items()))
    return f'<h3>Skipped suites (nothing to judge in this build)</h3><ul id="skipped-suites">{items}</ul>'


def _bar_chart(checks: list[dict], top: int = 15) -> str:
    """Failing series per rule as an inline SVG bar chart (no script, no CDN): the largest first."""
    bars = sorted((c for c in checks if c.get("series")), key=lambda c: (-c["series"], c["name"]))[:top]
    if not bars:
        return ""
    width, label_w, row_h = 900, 330, 20
    largest = max(c["series"] for c in bars)
    rows = []
    for i, c in enumerate(bars):
        y = i * row_h
        w = max(1.0, (width - label_w - 80) * c["series"] / largest)
        color = "#b3261e" if c["in_failed_gate"] else "#9aa3af"
        rows.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{esc(c["name"])}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{color}">'
                    f'<title>{esc(c["name"])}: {plural(c["series"], "series")}</title></rect>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{c["series"]:,}</text>')
    height = row_h * len(bars)
    return (f'<h3>Failing series per QC rule (largest {len(bars)}; red: its gate failed, grey: within the thresholds)</h3>'
            f'<svg id="checks-chart" role="img" aria-label="failing series per rule" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-size="12" font-family="system-ui, sans-serif">{"".join(rows)}</svg>')


# ----------------------------------------------------------------------------------------------
# start here


def start_here_section(ctx: ReportContext) -> str:
    """The series to look at first: in a failed gate, most severe, failing the most rules, most instances."""
    if not ctx.start_here:
        return ""
    rows = "".join(
        f'<tr data-collection="{esc(r["collection_id"])}"><td class="num">{i}</td><td>{esc(r["collection_id"])}</td>'
        f'<td>{esc(r["Modality"])}</td>'
        + (f'<td class="uid"><a href="{esc(r["viewer_url"])}" target="_blank" rel="noopener" '
           f'title="open in IDC\'s viewer">{esc(r["SeriesInstanceUID"])}</a></td>' if r.get("viewer_url")
           else f'<td class="uid">{esc(r["SeriesInstanceUID"])}</td>')
        + f'<td>{esc(r["checks"])}</td><td class="num">{fmt_value(r["instances"])}</td><td class="hint">{esc(r["hint"])}</td></tr>'
        for i, r in enumerate(ctx.start_here, start=1))
    return (f'<p class="small">The {plural(len(ctx.start_here), "series")} to open first: in a failed gate, '
            f'of the most severe reason, failing the most rules, with the most offending instances. The link opens the '
            f'series in IDC\'s viewer.</p>'
            f'<table id="start-here"><thead><tr><th>#</th><th>collection</th><th>modality</th><th>series</th>'
            f'<th>fails</th><th>instances</th><th>what to do</th></tr></thead><tbody>{rows}</tbody></table>')


# ----------------------------------------------------------------------------------------------
# checks and failing series


def checks_section(ctx: ReportContext) -> str:
    if not ctx.checks:
        return "<p>No check failed and none errored.</p>"
    parts = []
    for c in ctx.checks:
        sample = c.get("sample") or []
        columns = list(dict.fromkeys(k for row in sample for k in row))
        table = ""
        if sample:
            head = "".join(f"<th>{esc(k)}</th>" for k in columns)
            body = "".join("<tr>" + "".join(f"<td>{esc(fmt_value(row.get(k), k))}</td>" for k in columns) + "</tr>"
                           for row in sample)
            table = f'<table class="sample"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        sql = f'<pre class="sql">{esc(c["sql"])}</pre>' if c.get("sql") else ""
        error = f'<p class="err">{esc(c["error"])}</p>' if c.get("error") else ""
        badge = c["badge"]
        parts.append(f"""
<details class="check {esc(c['status'].split()[0])}" data-check="{esc(c['name'])}" data-kind="{esc(c['kind'])}" data-severity="{esc(c.get('severity', ''))}">
  <summary><span class="badge {esc(c['status'].split()[0])}">{esc(badge)}</span> <b>{esc(c['name'])}</b>
    <span class="small">{esc(c['suite'])} · {esc(c['detail'])}</span></summary>
  {error}{table}{sql}
</details>""")
    return ('<p class="small">Gates first (the Great Expectations verdicts <code>idc-qc check</code> exits on), '
            'then every QC rule with failing rows, most series first, then the most severe (1: the volume is wrong '
            'or cannot be built, 2: split or convert before use, 3: not a volume); a rule is red when its gate '
            'failed.</p>'
            + "".join(parts))


def series_section(ctx: ReportContext) -> str:
    cols = [("collection_id", "collection"), ("check_name", "rule"), ("SeriesInstanceUID", "series"),
            ("observed", "offending value"), ("failing_instance_count", "instances"),
            ("instances", "instances involved"), ("hint", "hint")]
    head = "".join(f'<th data-key="{k}">{esc(label)}</th>' for k, label in cols)
    collections = "".join(f'<option value="{esc(c["collection_id"])}">{esc(c["collection_id"])} '
                          f'({plural(c["series"], "series")})</option>' for c in ctx.collections)
    checks = sorted({r["check_name"] for r in ctx.rows if r.get("check_name")})
    check_opts = "".join(f'<option value="{esc(c)}">{esc(c)}</option>' for c in checks)
    bounded = ctx.rows_total > len(ctx.rows)
    note = (f"This page holds {len(ctx.rows):,} of the {ctx.rows_total:,} failing rows (at most "
            f"{ctx.rows_per_collection:,} per collection; collections with the most failing series first); "
            f"<a href=\"{esc(ctx.csv_name)}\">{esc(ctx.csv_name)}</a> has every row.") if bounded else (
            f"All {plural(ctx.rows_total, 'failing row')} (collections with the most failing series first); also in "
            f"<a href=\"{esc(ctx.csv_name)}\">{esc(ctx.csv_name)}</a>.")
    return f"""
<p class="small">{note}</p>
<div class="controls">
  <input id="search" type="search" placeholder="search series, values, rules ..." aria-label="search">
  <select id="collection-filter" aria-label="collection"><option value="">all collections</option>{collections}</select>
  <select id="check-filter" aria-label="rule"><option value="">all rules</option>{check_opts}</select>
  <span id="shown" class="small"></span>
</div>
<table id="failures-table"><thead><tr>{head}</tr></thead><tbody></tbody></table>
<p id="more" class="small"></p>"""


# ----------------------------------------------------------------------------------------------
# clinical coverage

CLINICAL_SUITE = "rpt_clinical_coverage_summary"

#: (rule, SQL condition over rpt_clinical_coverage c / patient_clinical p, the values shown, the threshold)
CLINICAL_RULES = [
    ("imaging without clinical rows", "c.coverage_status = 'imaging_only'",
     "'series: ' || cast(c.series_count as varchar)", "max_imaging_without_clinical_share"),
    ("duplicate clinical rows", "c.has_duplicate_clinical_rows",
     "'clinical rows: ' || cast(c.clinical_row_count as varchar)", "max_duplicate_clinical_patients"),
    ("sex conflict", "c.sex_conflict",
     "'DICOM ' || coalesce(p.dicom_sex, '?') || ' vs clinical ' || coalesce(p.clinical_sex, '?') "
     "|| coalesce(' (' || p.clinical_sex_raw || ')', '')", "max_clinical_conflict_share"),
    ("age conflict", "c.age_conflict",
     "'DICOM ' || coalesce(cast(round(p.dicom_age_years, 1) as varchar), '?') || ' y vs clinical ' "
     "|| coalesce(cast(round(p.clinical_age_years, 1) as varchar), '?') || ' y'", "max_clinical_conflict_share"),
    ("clinical only, images in another collection", "c.matches_only_in_other_collection",
     "'images in: ' || c.other_collections_with_imaging", None),
]


def _gate_results(ctx: ReportContext) -> tuple[dict[str, str], dict[tuple[str, str], bool], str | None]:
    """The clinical suite's outcome: threshold -> status, (collection, threshold) -> failed, skip note."""
    status: dict[str, str] = {}
    failed: dict[tuple[str, str], bool] = {}
    note = None
    for suite in ctx.validation.get("suites", []):
        if suite.get("name") == CLINICAL_SUITE and suite.get("status") == "skipped":
            note = suite.get("note")
    for e in ctx.validation.get("expectations", []):
        if e.get("suite") != CLINICAL_SUITE:
            continue
        threshold = {"imaging_only_share": "max_imaging_without_clinical_share",
                     "patients_with_duplicate_clinical_rows": "max_duplicate_clinical_patients",
                     "conflict_share": "max_clinical_conflict_share"}.get(e.get("column") or "")
        if threshold is None:
            continue
        status[threshold] = e.get("status", "")
        for row in e.get("failing_keys") or []:
            if row.get("collection_id") is not None:
                failed[(str(row["collection_id"]), threshold)] = True
    return status, failed, note


def clinical_section(ctx: ReportContext) -> str:
    """Clinical coverage (issue 13): the clinical gate per collection and the failing patients;
    without clinical data one line (the only place the report says so)."""
    tables = set(ctx.extra.get("tables") or [])
    if "rpt_clinical_coverage_summary" not in tables or "rpt_clinical_coverage" not in tables:
        return ('<p id="clinical-none">The clinical models are not in this database '
                '(<code>idc-qc build</code> builds them; docs/clinical.md).</p>')
    status, failed, note = _gate_results(ctx)
    con = ctx.con
    summary = con.execute(
        """select collection_id, patients_with_imaging, imaging_only, imaging_only_share,
                  patients_with_duplicate_clinical_rows, patients_with_conflicts, conflict_share,
                  clinical_only, clinical_only_matching_other_collection, imaging_and_clinical
           from rpt_clinical_coverage_summary where collection_id <> '(all)'
           order by imaging_only_share desc nulls last, collection_id""").fetchall()
    if not summary:
        return ('<p id="clinical-none">No clinical data registered, so clinical coverage was not checked: '
                '<code>idc-qc clinical add FILE.csv</code>, then <code>idc-qc build</code> and '
                '<code>idc-qc check</code> (docs/clinical.md).</p>')
    values = (ctx.summary.get("thresholds") or {}).get("values", {})
    limits = ", ".join(f"{esc(k)} = {values[k]:g}" for k in
                       ("max_imaging_without_clinical_share", "max_duplicate_clinical_patients",
                        "max_clinical_conflict_share") if k in values)
    verdicts = ", ".join(f"{esc(k)}: <b>{esc(v)}</b>" for k, v in status.items())

    def cell(value, collection: str, threshold: str, share=None) -> str:
        bad = failed.get((collection, threshold))
        text = f"{int(value or 0):,}" + (f" ({share:.1%})" if share is not None else "")
        return f'<td class="num{" fail" if bad else ""}"{" data-gate=failed" if bad else ""}>{text}</td>'

    rows = "".join(
        f'<tr data-collection="{esc(r[0])}"><td>{esc(r[0])}</td><td class="num">{int(r[1] or 0):,}</td>'
        + cell(r[2], r[0], "max_imaging_without_clinical_share", r[3])
        + cell(r[4], r[0], "max_duplicate_clinical_patients")
        + cell(r[5], r[0], "max_clinical_conflict_share", r[6])
        + f'<td class="num">{int(r[7] or 0):,}</td><td class="num">{int(r[8] or 0):,}</td></tr>'
        for r in summary)
    union = " union all ".join(
        f"""select c.collection_id, '{rule}' as rule, c.patient_id, {shown} as value,
                   {('true' if threshold else 'false')} as gated, '{threshold or ''}' as threshold
            from rpt_clinical_coverage as c
            left join patient_clinical as p on p.patient_key = c.patient_key
            where {condition}"""
        for rule, condition, shown, threshold in CLINICAL_RULES)
    limit = int(ctx.rows_per_collection)
    patients = con.execute(f"""
        with findings as ({union}),
        ranked as (select *, count(*) over (partition by collection_id) as n,
                          row_number() over (partition by collection_id order by rule, patient_id) as k
                   from findings)
        select collection_id, rule, patient_id, value, threshold, n from ranked where k <= {limit}
        order by collection_id, rule, patient_id""").fetchall()
    total = con.execute(f"select count(*) from ({union})").fetchone()[0]
    def patient_row(r) -> str:
        gate_failed = bool(r[4] and failed.get((r[0], r[4])))
        gate = "gate failed" if gate_failed else ("within threshold" if r[4] else "reported")
        return (f'<tr data-collection="{esc(r[0])}" data-rule="{esc(r[1])}"'
                f'{" class=gate-failed" if gate_failed else ""}><td>{esc(r[0])}</td><td>{esc(r[1])}</td>'
                f"<td>{esc(r[2])}</td><td>{esc(r[3])}</td><td>{gate}</td></tr>")

    body = "".join(patient_row(r) for r in patients)
    shown = len(patients)
    more = (f" This page lists {shown:,} of the {total:,} findings (at most {limit:,} per collection); "
            "<code>select * from rpt_clinical_coverage</code> has all of them.") if shown < total else ""
    return f"""
<p class="small">Per collection with clinical data registered (rpt_clinical_coverage_summary), held against
{limits} by the suite <code>{CLINICAL_SUITE}</code> ({verdicts or 'not run'}). Red cells: the gate failed for that
collection.</p>
<table id="clinical-summary" class="sortable"><thead><tr><th>collection</th><th>patients with images</th>
<th>without clinical rows</th><th>duplicate clinical rows</th><th>sex/age conflicts</th><th>clinical only</th>
<th>clinical only, images elsewhere</th></tr></thead><tbody>{rows}</tbody></table>
<h3>Patients with a finding ({total:,})</h3>
<p class="small">Rule and values per patient (rpt_clinical_coverage, patient_clinical).{more}</p>
<table id="clinical-patients"><thead><tr><th>collection</th><th>rule</th><th>PatientID</th><th>values</th>
<th>gate</th></tr></thead><tbody>{body or '<tr><td colspan="5">no patient with a finding</td></tr>'}</tbody></table>"""


# ----------------------------------------------------------------------------------------------
# will my pipeline load it? (series_converters)

#: series_converters.outcome_kind, from best to worst for a pipeline (rpt_converter_outcome_counts'
#: outcome_order): the report's columns and the dashboard's stacks, in this order.
CONVERTER_OUTCOMES = ("assembles", "assembles with a warning", "splits into N volumes",
                      "assembles with wrong geometry", "refuses")
#: Rules listed per converter (most series first), and of those the ones with an example series.
CONVERTER_TOP_RULES = 3
CONVERTER_EXAMPLES = 2


def _link(uid: Any, url: Any) -> str:
    """A series UID as a table cell, linked to IDC's viewer when the series has a viewer_url."""
    if url:
        return (f'<td class="uid"><a href="{esc(url)}" target="_blank" rel="noopener" '
                f'title="open in IDC\'s viewer">{esc(uid)}</a></td>')
    return f'<td class="uid">{esc(uid)}</td>'


def converters_section(ctx: ReportContext) -> str:
    """Will the tool in a pipeline load each series (issue 22): outcomes per converter, the
    rules that decide them, example series; one line when the build has no series_converters."""
    tables = set(ctx.extra.get("tables") or [])
    if "series_converters" not in tables or "rpt_converter_outcome_counts" not in tables:
        return ('<p id="converters-none">The converter predictions (series_converters) are not in this '
                'database: a partial build; <code>idc-qc build</code> builds them (docs/converters.md).</p>')
    con = ctx.con
    cells = con.execute(
        """select converter, min(converter_order) as converter_order, min(tool_version) as tool_version,
                  outcome_kind, sum(series_count) as series, max(converter_series_count) as of_series
           from rpt_converter_outcome_counts where collection_id = '(all)'
           group by converter, outcome_kind order by converter_order, converter""").fetchall()
    if not cells:
        return '<p id="converters-none">No series with instance metadata: no converter to predict.</p>'
    counts: dict[str, dict[str, int]] = {}
    meta: dict[str, tuple[str, int]] = {}
    for converter, _order, version, outcome, series, of_series in cells:
        counts.setdefault(converter, {})[outcome] = int(series)
        meta[converter] = (version, int(of_series))
    head = "".join(f'<th>{esc(o)}</th>' for o in CONVERTER_OUTCOMES)
    body = []
    for converter, by_outcome in counts.items():
        version, total = meta[converter]
        row = "".join(
            f'<td class="num" data-outcome="{esc(o)}" data-count="{by_outcome.get(o, 0)}">'
            f'{by_outcome.get(o, 0):,}'
            + (f' <span class="small">({by_outcome[o] / total:.1%})</span>' if by_outcome.get(o) and total else "")
            + "</td>" for o in CONVERTER_OUTCOMES)
        body.append(f'<tr data-converter="{esc(converter)}"><td><b>{esc(converter)}</b></td>'
                    f'<td class="small">{esc(version)}</td>{row}<td class="num">{total:,}</td></tr>')
    rules = con.execute(
        f"""select converter, outcome_kind, rule_id, rule, hint, series_count, k from (
                select *, row_number() over (partition by converter order by series_count desc, rule_id) as k
                from rpt_converter_outcome_counts
                where collection_id = '(all)' and rule_id not like '%\\_regular' escape '\\')
            where k <= {CONVERTER_TOP_RULES} order by converter_order, k""").fetchall()
    rule_rows = "".join(
        f'<tr data-converter="{esc(r[0])}" data-rule="{esc(r[2])}"><td>{esc(r[0])}</td><td>{esc(r[1])}</td>'
        f'<td><code>{esc(r[2])}</code><div class="small">{esc(r[3])}</div></td>'
        f'<td class="num" data-count="{int(r[5])}">{int(r[5]):,}</td><td class="hint">{esc(r[4])}</td></tr>'
        for r in rules)
    picked = [(r[0], r[2]) for r in rules if r[6] <= CONVERTER_EXAMPLES]
    examples = []
    if picked:
        wanted = " union all ".join(
            f"select '{c.replace(chr(39), chr(39) * 2)}' as converter, '{rid.replace(chr(39), chr(39) * 2)}' as rule_id, "
            f"{i} as k" for i, (c, rid) in enumerate(picked))
        has_geometry = "series_geometry" in tables
        examples = con.execute(f"""
            with wanted as ({wanted}),
            first as (
                select c.converter, c.rule_id, min(c.SeriesInstanceUID) as SeriesInstanceUID
                from series_converters as c join wanted as w on c.converter = w.converter and c.rule_id = w.rule_id
                group by c.converter, c.rule_id)
            select c.converter, c.outcome, c.rule_id, c.measured_value, c.collection_id, c.Modality,
                   c.SeriesInstanceUID, {'g.viewer_url' if has_geometry else 'null'} as viewer_url
            from first
            join series_converters as c
                on c.converter = first.converter and c.rule_id = first.rule_id
                and c.SeriesInstanceUID = first.SeriesInstanceUID
            join wanted as w on w.converter = c.converter and w.rule_id = c.rule_id
            {'left join series_geometry as g on g.SeriesInstanceUID = c.SeriesInstanceUID' if has_geometry else ''}
            order by w.k""").fetchall()
    example_rows = "".join(
        f'<tr data-converter="{esc(r[0])}" data-rule="{esc(r[2])}"><td>{esc(r[0])}</td><td>{esc(r[1])}</td>'
        f'<td><code>{esc(r[2])}</code></td><td class="num">{esc(fmt_value(r[3]))}</td><td>{esc(r[4])}</td>'
        f'<td>{esc(r[5])}</td>{_link(r[6], r[7])}</tr>'
        for r in examples)
    return f"""
<p class="small">For every series with instance metadata, what each tool is predicted to do with it
(<code>series_converters</code>; counts from <code>rpt_converter_outcome_counts</code>). The rules and
tolerances are each tool's own, read from its code (<code>seeds/converter_rules.csv</code>, docs/converters.md);
<i>assembles with wrong geometry</i> is SimpleITK returning an evenly spaced volume whose slices are not where
they were acquired.</p>
<table id="converter-outcomes"><thead><tr><th>converter</th><th>version</th>{head}<th>series</th></tr></thead>
<tbody>{"".join(body)}</tbody></table>
<h3>What decides it: the commonest rules that fire (at most {CONVERTER_TOP_RULES} per converter)</h3>
<table id="converter-rules"><thead><tr><th>converter</th><th>outcome</th><th>rule</th><th>series</th>
<th>what to do</th></tr></thead><tbody>{rule_rows or '<tr><td colspan="5">no rule fired: every series assembles</td></tr>'}</tbody></table>
<h3>Example series (the first of each of the top {CONVERTER_EXAMPLES} rules per converter)</h3>
<p class="small">The value is the number the rule compared (see the rule); the link opens the series in IDC's viewer.
<code>select * from series_converters where SeriesInstanceUID = '...'</code> shows every tool's verdict.</p>
<table id="converter-examples"><thead><tr><th>converter</th><th>outcome</th><th>rule</th><th>value</th>
<th>collection</th><th>modality</th><th>series</th></tr></thead>
<tbody>{example_rows or '<tr><td colspan="7">no example: every series assembles</td></tr>'}</tbody></table>"""


# ----------------------------------------------------------------------------------------------
# release diff


def resolve_against(db: Path, against: str) -> tuple[int, Path]:
    """``vNN`` (a release built under the releases folder of ``db``, else $IDC_QC_RELEASES_DIR or
    build/releases) or a database path -> (its IDC release, its database)."""
    import os

    from ..database.files import RELEASES_DIR, release_db
    from ..releases.cache import parse_release
    from ..database.manifest import read_manifest

    text = str(against).strip()
    if text.lower().lstrip("v").isdigit():
        number = parse_release(text)
        candidates = [release_db(number, Path(db).resolve().parent.parent),
                      release_db(number, Path(os.environ.get("IDC_QC_RELEASES_DIR") or RELEASES_DIR))]
        found = next((c for c in candidates if c.is_file()), candidates[0])
        return number, found
    other = Path(text)
    if not other.is_file():
        raise IdcQcError(f"--against {against}: give a release (e.g. v20) or a built database file; "
                         f"{other} does not exist")
    release = ((read_manifest(other) or {}).get("idc") or {}).get("release")
    if not isinstance(release, int):
        raise IdcQcError(f"--against {other}: its run manifest does not say which IDC release it holds "
                         f"(idc.release in {other.with_suffix('').name}.manifest.json); build it with idc-qc build")
    return release, other


def release_diff_for(db: Path, against: str | None):
    """The ReleaseDiff the report shows: ``against`` if given, else the manifest's ``diff`` section; or None."""
    from ..releases.diff import diff_releases
    from ..database.manifest import read_manifest

    manifest = read_manifest(db) or {}
    this = (manifest.get("idc") or {}).get("release")
    if against is None:
        section = manifest.get("diff") or {}
        if not isinstance(section.get("against"), int):
            return None
        against = f"v{section['against']}"
    if not isinstance(this, int):
        raise IdcQcError(f"cannot compare {db} with {against}: its run manifest does not say which IDC release "
                         "it holds (idc.release); build it with idc-qc build")
    other, other_db = resolve_against(db, against)
    if other == this:
        raise IdcQcError(f"--against {against}: {db} holds IDC v{this} too; compare with another release")
    if other > this:
        raise IdcQcError(f"--against {against}: v{other} is newer than this database's v{this}; the report "
                         f"shows what changed since an older release (run the report of v{other} --against v{this})")
    try:
        return diff_releases(other, this, db_a=other_db if other_db.is_file() else None, db_b=db)
    except IdcQcError as exc:
        raise IdcQcError(f"comparing v{other} with v{this}: {exc}") from None


def release_diff_section(ctx: ReportContext) -> str:
    """Collections, series and QC failures changed since an older release; nothing without a diff."""
    diff = ctx.extra.get("release_diff")
    if diff is None:
        note = ctx.extra.get("release_diff_note")
        return f'<p id="release-diff-note" class="err">{esc(note)}</p>' if note else ""
    a, b = diff.a.release, diff.b.release
    summary = "".join(f"<tr><td>{esc(m)}</td><td class=num>{esc(_fmt(x))}</td><td class=num>{esc(_fmt(y))}</td>"
                      f"<td class=num>{esc(_fmt(d))}</td></tr>" for m, x, y, d in diff.summary_rows())
    added = ", ".join(esc(c) for c in diff.collections_added) or "none"
    removed = ", ".join(esc(c) for c in diff.collections_removed) or "none"
    changed = diff.changed_collections
    coll_rows = "".join(
        f'<tr data-collection="{esc(c.collection_id)}"><td>{esc(c.collection_id)}</td><td>{esc(c.status)}</td>'
        f"<td class=num>{c.series_a:,}</td><td class=num>{c.series_b:,}</td><td class=num>{c.series_added:,}</td>"
        f"<td class=num>{c.series_removed:,}</td><td class=num>{c.series_revised:,}</td></tr>"
        for c in changed[:50])
    more = f"<p class=small>{len(changed) - 50:,} more changed collections in the diff CSV files.</p>" \
        if len(changed) > 50 else ""
    if diff.qc is None:
        qc = f'<p id="release-diff-qc-note" class="small">{esc(diff.qc_note)}</p>'
    else:
        totals = diff.qc_totals()
        qc_rows = "".join(
            f'<tr data-collection="{esc(q.collection_id)}" data-check="{esc(q.check_name)}"><td>{esc(q.collection_id)}</td>'
            f"<td>{esc(q.suite)}</td><td>{esc(q.check_name)}</td><td class=num>{q.new:,}</td>"
            f"<td class=num>{q.fixed:,}</td><td class=num>{q.unchanged:,}</td></tr>" for q in diff.qc[:200])
        qc = (f"<h3>QC failures v{a} → v{b}: {totals['new']:,} new, {totals['fixed']:,} fixed, "
              f"{totals['unchanged']:,} unchanged (failing series by collection and check)</h3>"
              f'<table id="release-diff-qc" class="sortable"><thead><tr><th>collection</th><th>suite</th><th>check</th>'
              f"<th>new</th><th>fixed</th><th>unchanged</th></tr></thead><tbody>"
              f"{qc_rows or '<tr><td colspan=6>no QC failures in either release</td></tr>'}</tbody></table>")
    return f"""
<p class="small">IDC v{a} → v{b} (revisions: {esc(diff.revised_method)}). Collections added: {added}.
Collections removed: {removed}.</p>
<table id="release-diff-summary"><thead><tr><th></th><th>v{a}</th><th>v{b}</th><th>change</th></tr></thead>
<tbody>{summary}</tbody></table>
<h3>Collections with changes ({len(changed):,})</h3>
<table id="release-diff-collections" class="sortable"><thead><tr><th>collection</th><th>status</th><th>series v{a}</th>
<th>series v{b}</th><th>added</th><th>removed</th><th>revised</th></tr></thead><tbody>
{coll_rows or '<tr><td colspan=7>no collection changed</td></tr>'}</tbody></table>{more}
{qc}"""


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)





#: The comparison words of series_geometry_vs_idc, in the order the section shows them.
IDC_COMPARISONS = ("agree", "differ", "only IDC judged", "not in the published index")
#: Series listed where IDC's published verdict and ours differ.
IDC_DIFFER_ROWS = 25


def idc_published_section(ctx: ReportContext) -> str:
    """IDC's published volume_geometry_index beside our verdicts (issue 21): how many series agree,
    and each that differs with our reasons and IDC's failed checks. Left out (empty) when the
    build read no published index."""
    if "series_geometry_vs_idc" not in set(ctx.extra.get("tables") or []):
        return ""
    from ..warehouse import idc_published_comparison

    con = ctx.con
    counts = idc_published_comparison(con)
    if not counts:
        return ""
    cards = "".join(f'<td class="num" data-comparison="{esc(c)}" data-count="{counts.get(c, 0)}">{counts.get(c, 0):,}</td>'
                    for c in IDC_COMPARISONS)
    head = "".join(f"<th>{esc(c)}</th>" for c in IDC_COMPARISONS)
    rows = con.execute(
        f"""select SeriesInstanceUID, viewer_url, collection_id, Modality, geometry_category,
                   array_to_string(failure_reasons, ', '), ours_regularly_spaced_3d_volume,
                   idc_regularly_spaced_3d_volume, differing_checks, idc_failed_checks
            from series_geometry_vs_idc where comparison = 'differ'
            order by collection_id, SeriesInstanceUID limit {IDC_DIFFER_ROWS}""").fetchall()
    body = "".join(
        f'<tr data-series="{esc(r[0])}">{_link(r[0], r[1])}<td>{esc(r[2])}</td><td>{esc(r[3])}</td>'
        f'<td>{esc(r[4])}<div class="small">{esc(r[5])}</div></td><td>{esc(r[6])}</td><td>{esc(r[7])}</td>'
        f'<td><code>{esc(r[8])}</code></td><td class="small">{esc(r[9])}</td></tr>' for r in rows)
    differ = counts.get("differ", 0)
    more = (f'<p class="small">{IDC_DIFFER_ROWS:,} of {differ:,} shown; all of them: '
            "<code>idc-qc query \"from series_geometry_vs_idc where comparison = 'differ'\"</code></p>"
            if differ > IDC_DIFFER_ROWS else "")
    listing = (f"""<table id="idc-published-differ"><thead><tr><th>series</th><th>collection</th><th>modality</th>
<th>our verdict, our reasons</th><th>we: regular volume</th><th>IDC: regularly_spaced_3d_volume</th>
<th>columns that differ</th><th>checks IDC says fail</th></tr></thead><tbody>{body}</tbody></table>{more}"""
               if rows else '<p id="idc-published-all-agree">No series differs.</p>')
    return f"""<p>IDC's own <code>volume_geometry_index</code> (the file idc-index downloads, read by the build)
beside our verdicts, series by series (table <code>series_geometry_vs_idc</code>; docs/geometry.md).</p>
<table id="idc-published-counts" style="width:auto"><thead><tr>{head}</tr></thead><tbody><tr>{cards}</tr></tbody></table>
{listing}"""


#: The report's sections in order: (id, title, render). qc_report.build_report calls each.
SECTIONS: list[tuple[str, str, Callable[[ReportContext], str]]] = [
    ("summary", "What failed", summary_section),
    ("start", "Start here", start_here_section),
    ("checks", "Failing gates and rules: samples and the SQL that returns all rows", checks_section),
    ("converters", "Will my pipeline load it?", converters_section),
    ("idc-published", "IDC's published verdicts beside ours", idc_published_section),
    ("clinical", "Clinical coverage", clinical_section),
    ("release-diff", "Changes since the previous release", release_diff_section),
    ("series", "Failing series by collection", series_section),
]
