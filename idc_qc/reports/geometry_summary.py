"""Geometry summary: how many series are regularly spaced 3D volumes, and why not the others.

One self-contained HTML page (Altair with its JavaScript inlined, so it opens offline) and
the same chart as PNG for READMEs and slides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

# The reporting models count by collection, modality and manufacturer; the chart rolls those
# counts up to modality (a sum over the rpt_* rows, one bar segment per modality), so nothing
# here reads, let alone aggregates, a mart.
_REASONS_SQL = """
select reason, coalesce(Modality, 'unknown') as modality, sum(series_count) as series
from rpt_geometry_reason_counts
where level = 'series'
group by all
order by series desc, reason, modality
"""

_CATEGORY_SQL = """
select geometry_category as category, coalesce(Modality, 'unknown') as modality, sum(series_count) as series
from rpt_geometry_category_counts
group by all
order by series desc, category, modality
"""


# IDC's verdict beside ours: how many series IDC's regularly_spaced_3d_volume calls regular,
# and how many of those idc-qc finds malformed (the values IDC compares are equal, not valid)
_IDC_VERDICT_SQL = """
select
    sum(idc_regular_series_count) as idc_regular,
    sum(case when geometry_category = 'regular_volume' then series_count else 0 end) as regular,
    sum(case when geometry_category = 'malformed_geometry' then idc_regular_series_count else 0 end) as on_malformed
from rpt_geometry_category_counts
"""


# How the "not a regular volume" count splits (rpt_failing_series_counts): the same numbers
# the QC report's definitions table and the dashboard show.
_RECONCILE_SQL = """
select part, part_label, series_count
from rpt_failing_series_counts
where collection_id = '(all)' and definition = 'not_regular_volume'
order by part_order, series_count desc, part
"""


@dataclass
class SummaryFiles:
    html: Path
    png: Path | None
    categories: list[tuple[str, str, int]]
    reasons: list[tuple[str, str, int]]
    #: "N not regular volumes = A fail IDC's geometry checks + B single instance + ...", or None
    #: for a database without rpt_failing_series_counts
    reconciliation: str | None = None
    not_regular: int | None = None
    #: the line under the category chart: what 'regular_volume' counts, and IDC's count beside it
    definition: str = ""


def reconciliation_line(rows: list[tuple[str, str, int]]) -> tuple[str | None, int | None]:
    """``(part, label, series)`` rows of not_regular_volume -> the sentence every output prints."""
    total = next((int(n) for part, _label, n in rows if part == "total"), None)
    if total is None:
        return None, None
    parts = [f"{int(n):,} {label}" for part, label, n in rows if part != "total"]
    noun = "series is not a regular volume" if total == 1 else "series are not regular volumes"
    return f"{total:,} {noun}" + (f" = {' + '.join(parts)}" if parts else ""), total


def verdict_line(regular: int, idc_regular: int | None, on_malformed: int | None) -> str:
    """What the category chart counts, and IDC's verdict beside it."""
    line = (f"regular_volume: {regular:,} series by idc-qc's geometry_category (orientation and spacing compared "
            "as numbers; a malformed value is never regular)")
    if idc_regular is None:
        return line
    line += f"; IDC's regularly_spaced_3d_volume is TRUE for {idc_regular:,}"
    if on_malformed:
        line += f", {on_malformed:,} of them only on malformed values (malformed_geometry here)"
    return line


def render_geometry_summary(db_path: Path, out_dir: Path, *, png: bool = True) -> SummaryFiles:
    """Write geometry_summary.html (and .png) from the reporting models in ``db_path``.

    Reads rpt_geometry_category_counts and rpt_geometry_reason_counts (models/marts/reporting);
    ``categories`` and ``reasons`` of the result are (label, modality, series) per modality,
    largest first.
    """
    import altair as alt

    from ..provenance import read_build_context

    with duckdb.connect(str(db_path), read_only=True) as con:
        reasons_df = con.execute(_REASONS_SQL).df()
        categories_df = con.execute(_CATEGORY_SQL).df()
        notice = read_build_context(con).notice  # a synthetic build says so on the chart
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        reconciliation, not_regular = reconciliation_line(
            con.execute(_RECONCILE_SQL).fetchall() if "rpt_failing_series_counts" in tables else [])
        try:
            idc_regular, regular, on_malformed = con.execute(_IDC_VERDICT_SQL).fetchone()
        except duckdb.Error:  # a database built before rpt_geometry_category_counts had IDC's count
            idc_regular, on_malformed = None, None
            regular = int(categories_df.loc[categories_df["category"] == "regular_volume", "series"].sum())
    definition = verdict_line(int(regular or 0), None if idc_regular is None else int(idc_regular),
                              None if on_malformed is None else int(on_malformed))
    total = int(categories_df["series"].sum())

    subtitle = [line for line in (notice, reconciliation, definition) if line]
    categories = _bars_by_modality(categories_df, "category", f"Geometry category of {total:,} series")
    if subtitle:
        categories = categories.properties(title=alt.TitleParams(
            f"Geometry category of {total:,} series", subtitle=subtitle,
            subtitleColor="#b22222" if notice else "#333333"))
    reasons = _bars_by_modality(
        reasons_df, "reason", "Why the others are not regular 3D volumes (a series can have several reasons)"
    )
    chart = alt.vconcat(categories, reasons).resolve_scale(color="shared")
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / "geometry_summary.html"
    chart.save(str(html), inline=True)
    png_path = None
    if png:
        png_path = out_dir / "geometry_summary.png"
        chart.save(str(png_path), scale_factor=1.5)
    return SummaryFiles(
        html=html,
        png=png_path,
        categories=[(str(a), str(b), int(n)) for a, b, n in categories_df.itertuples(index=False)],
        reasons=[(str(a), str(b), int(n)) for a, b, n in reasons_df.itertuples(index=False)],
        definition=definition,
        reconciliation=reconciliation,
        not_regular=not_regular,
    )


def _bars_by_modality(df, label: str, title: str):
    """Horizontal bars of series counts per `label`, stacked by modality, longest first."""
    import altair as alt

    return (
        alt.Chart(df, title=title)
        .mark_bar()
        .encode(
            x=alt.X("sum(series):Q", title="series"),
            y=alt.Y(f"{label}:N", sort="-x", title=None),
            color=alt.Color("modality:N", title="Modality"),
            tooltip=[alt.Tooltip(f"{label}:N"), alt.Tooltip("modality:N"), alt.Tooltip("sum(series):Q", title="series")],
        )
        .properties(width=520, height=alt.Step(18))
    )
