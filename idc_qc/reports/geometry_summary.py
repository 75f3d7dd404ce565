"""Geometry summary: how many series are regularly spaced 3D volumes, and why not the others.

One self-contained HTML page (Altair with its JavaScript inlined, so it opens offline) and
the same chart as PNG for READMEs and slides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

_REASONS_SQL = """
with g as (
    select g.SeriesInstanceUID, coalesce(s.Modality, 'unknown') as modality,
           g.geometry_category, g.failure_reasons
    from series_geometry as g
    left join series as s using (SeriesInstanceUID)
)
select modality, reason, count(*) as series
from g, unnest(failure_reasons) as r(reason)
group by all
order by series desc
"""

_CATEGORY_SQL = """
select g.geometry_category as category, coalesce(s.Modality, 'unknown') as modality, count(*) as series
from series_geometry as g left join series as s using (SeriesInstanceUID)
group by all order by series desc
"""


@dataclass
class SummaryFiles:
    html: Path
    png: Path | None
    categories: list[tuple[str, str, int]]
    reasons: list[tuple[str, str, int]]


def render_geometry_summary(db_path: Path, out_dir: Path, *, png: bool = True) -> SummaryFiles:
    """Write geometry_summary.html (and .png) for the series_geometry table in ``db_path``."""
    import altair as alt

    with duckdb.connect(str(db_path), read_only=True) as con:
        reasons_df = con.execute(_REASONS_SQL).df()
        categories_df = con.execute(_CATEGORY_SQL).df()
    total = int(categories_df["series"].sum())

    categories = _bars_by_modality(categories_df, "category", f"Geometry category of {total:,} series")
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
        categories=[tuple(r) for r in categories_df.itertuples(index=False)],
        reasons=[tuple(r) for r in reasons_df.itertuples(index=False)],
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
            tooltip=[label, "modality", "series"],
        )
        .properties(width=520, height=alt.Step(18))
    )
