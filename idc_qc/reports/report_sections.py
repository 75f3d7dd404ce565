"""Sections of the curators' QC report contributed by other capabilities (via register_section).

* **Clinical coverage** (issue 13): the clinical suite's verdict per collection and rule
  (rpt_clinical_coverage_summary against expectations/thresholds.yml, as `idc-qc check` judged
  it) and the failing patients per collection with the rule and the values (rpt_clinical_coverage
  joined with patient_clinical: a SQL query, bounded per collection). Without clinical data the
  section says so (the suite was skipped).
* **Release diff** (issue 10): collections and series added / removed / revised, and QC
  failures new / fixed / unchanged by collection and check (idc_qc.releases.diff.ReleaseDiff),
  when the report is given one (``idc-qc report --against vNN|DB``) or the run manifest beside
  the database has a ``diff`` section (written by `idc-qc release run`). Without either the
  section is left out of the page.

Every figure is SQL (the rpt_* models, DuckDB over the release indices and failure parquets);
this module lays them out.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import IdcQcError
from .qc_report import ReportContext, esc, register_section

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


class ClinicalCoverageSection:
    id = "clinical"
    title = "Clinical coverage"

    def render(self, ctx: ReportContext) -> str:
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
            why = esc(note) if note else "no clinical data registered"
            return (f'<p id="clinical-none">No clinical data in this build: the clinical suite was skipped '
                    f'({why}).</p>')
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


class ReleaseDiffSection:
    id = "release-diff"
    title = "Changes since the previous release"

    def render(self, ctx: ReportContext) -> str:
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


register_section(ClinicalCoverageSection(), before="checks")
register_section(ReleaseDiffSection(), before="checks")
