"""UpSet plot of series failing geometry checks: the paper's Figure 5 for any selection.

Fedorov et al. (RadioGraphics 2023, Figure 5) show which combinations of IDC's geometry
checks NLST CT series fail together; the query behind it is IDC's ``queryUpsetPlot.sql``
(ImagingDataCommons/CloudSegmentator), whose checks are the eight boolean columns of IDC's
``volume_geometry_index``. Here the sets are those eight checks (``sets="checks"``, the
default) or idc-qc's series-level failure reasons (``sets="reasons"``, words from
seeds/geometry_reasons.csv), read from ``rpt_geometry_upset_series``.

The counts per combination are aggregated in SQL (``group by`` the booleans): only one row
per combination reaches pandas, never a row per series, so a 400,000-series build plots in
seconds. The plot is drawn with upsetplot through a narrow pandas 3 / NumPy 2.4 shim
(_upsetplot_compat.py). Outputs: PNG, SVG and the numbers as CSV. A synthetic build says so
in the title and in every CSV row (rpt_build_context).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..errors import IdcQcError
from ..query.selection import Selection

#: IDC volume_geometry_index's eight checks (macros/reporting/geometry_vocabulary_columns.sql),
#: in the words of seeds/geometry_reasons.csv (level idc_check), which every output gives them:
#: the plot reads the words from the built seed; these are the same words for a database built
#: before the seed had them. tests/reports/test_upset.py keeps keys and words equal to the macro
#: and the seed.
IDC_CHECKS: dict[str, str] = {
    "single_orientation": "multiple orientations",
    "orthogonal_orientation": "non-orthogonal orientation",
    "unique_slice_positions": "duplicate slice positions",
    "consistent_in_plane_row": "slices shifted in plane (rows)",
    "consistent_in_plane_col": "slices shifted in plane (columns)",
    "consistent_pixel_spacing": "inconsistent pixel spacing",
    "consistent_image_dimensions": "inconsistent image dimensions",
    "uniform_slice_spacing": "non-uniform slice spacing",
}
#: What each kind of set counts as failing, in the words of rpt_failing_series_counts.
DEFINITIONS = {"checks": "fail IDC's geometry checks", "reasons": "have a failure reason",
               "converters": "are not simply assembled by a converter"}

SET_KINDS = ("checks", "reasons", "converters")
#: ``--sets converters``: the tools of series_converters, each a set of the series it does not
#: simply assemble (docs/converters.md).
CONVERTERS: dict[str, str] = {
    "highdicom": "highdicom not clean",
    "dcm2niix": "dcm2niix not clean",
    "dicom2nifti": "dicom2nifti not clean",
    "simpleitk": "SimpleITK not clean",
}
#: The model the command reads: rpt_geometry_failure_sets with the series' attributes.
SOURCE = "rpt_geometry_upset_series"
HIGHLIGHT = "#d62728"


class UpsetError(IdcQcError):
    """The selection or the database cannot make an UpSet plot."""


@dataclass
class Intersection:
    sets: tuple[str, ...]  # the labels of the sets the series fail, in words
    series: int

    def share(self, total: int) -> float:
        return self.series / total if total else 0.0


@dataclass
class UpsetResult:
    png: Path
    svg: Path
    csv: Path
    sets: str
    title: str
    selection: str
    selected_series: int
    failing_series: int
    intersections: list[Intersection]  # every combination, largest first
    shown: int  # how many of them the plot shows
    input_kind: str
    notice: str | None


def _source_columns(con) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
        [SOURCE]).fetchall()]


def _set_columns(con, sets: str) -> list[tuple[str, str]]:
    """(column of rpt_geometry_upset_series, label in words) for each set."""
    columns = set(_source_columns(con))
    if sets == "checks":
        seed_columns = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = 'geometry_reasons'").fetchall()}
        # a database built before the seed named IDC's checks keeps IDC_CHECKS' (identical) words
        seed = dict(con.execute(
            "select idc_check, label from geometry_reasons where level = 'idc_check'").fetchall()) \
            if "idc_check" in seed_columns else {}
        wanted = [(f"fails_{key}", seed.get(key, label)) for key, label in IDC_CHECKS.items()]
    elif sets == "converters":
        wanted = [(f"converter_{key}", label) for key, label in CONVERTERS.items()]
    elif sets == "reasons":
        labels = dict(con.execute(
            "select reason_key, label from geometry_reasons where level = 'series'").fetchall())
        wanted = [(name, labels.get(name[len("reason_"):], name[len("reason_"):].replace("_", " ")))
                  for name in sorted(columns) if name.startswith("reason_")]
    else:
        raise UpsetError(f"--sets {sets!r}: use one of {', '.join(SET_KINDS)}")
    missing = [c for c, _ in wanted if c not in columns]
    if missing:
        raise UpsetError(f"{SOURCE} lacks column(s) {', '.join(missing)}: rebuild with `idc-qc build`")
    return wanted


def query_intersections(con, sets: str, selection: Selection) -> tuple[int, list[Intersection]]:
    """Selected series and the failing combinations, counted in SQL (largest first)."""
    columns = _set_columns(con, sets)
    selected_rows, params = selection.relation(SOURCE, _source_columns(con))
    flags = ", ".join(f"coalesce({c}, false) as s{i}" for i, (c, _) in enumerate(columns))
    any_fail = " or ".join(f"s{i}" for i in range(len(columns)))
    group = ", ".join(f"s{i}" for i in range(len(columns)))
    sql = f"""
        with selected as (select {flags} from {selected_rows} as selection)
        select {group}, count(*) as series, sum(count(*)) over () as failing,
               (select count(*) from selected) as selected
        from selected where {any_fail}
        group by {group}
        order by series desc
    """
    from ..query.run import explain_condition_error, interruptible

    def count() -> tuple[list, int]:
        rows = con.execute(sql, params).fetchall()
        return rows, (rows[0][-1] if rows else con.execute(f"select count(*) from {selected_rows} as s", params).fetchone()[0])

    try:
        rows, selected = interruptible(con, count)
    except Exception as exc:  # duckdb raises its own classes; name the user's filter
        if type(exc).__module__.split(".")[0] in {"duckdb", "_duckdb"}:
            raise UpsetError(explain_condition_error(exc, f"the selection ({selection.describe()}) does not run on "
                                                          f"{SOURCE}", _source_columns(con))) from None
        raise
    labels = [label for _, label in columns]
    result = []
    for row in rows:
        members = tuple(label for label, flag in zip(labels, row[:len(labels)]) if flag)
        result.append(Intersection(sets=members, series=int(row[len(labels)])))
    result.sort(key=lambda i: (-i.series, len(i.sets), i.sets))
    return int(selected), result


def render_upset(db: Path, out_dir: Path, *, sets: str = "checks", selection: Selection | None = None,
                 top: int = 20, name: str | None = None, title: str | None = None) -> UpsetResult:
    """Write ``<name>.png``, ``.svg`` and ``.csv`` into ``out_dir`` from the database ``db``.

    ``top`` intersections (largest first) are drawn; the CSV has all of them. Raises
    UpsetError when the database lacks the reporting view, the filter does not run, or
    no selected series fails a check.
    """
    from ..provenance import read_build_context
    from ..query.run import contained

    selection = selection or Selection()
    selection.check(columns_of=SOURCE, example="\"body_part_examined = 'CHEST'\"")
    if top < 1:
        raise UpsetError(f"--top {top}: give a positive number of intersections to draw")
    # the sandbox every user condition runs in: read-only, locked, only the warehouse's input files
    with contained(Path(db)) as (con, catalog, _warnings):
        if SOURCE not in catalog.relations:
            raise UpsetError(f"{db} has no {SOURCE}: rebuild it with this idc-qc (`idc-qc build`)")
        context = read_build_context(con)
        selected, intersections = query_intersections(con, sets, selection)
    if selected == 0:
        raise UpsetError(f"no series matches the selection ({selection.describe()})")
    failing = sum(i.series for i in intersections)
    if failing == 0:
        raise UpsetError(f"none of the {selected:,} selected series ({selection.describe()}) fails a "
                         f"{ {'checks': 'check', 'reasons': 'reason'}.get(sets, 'converter')}: nothing to plot")

    what = {"checks": "IDC's geometry checks (volume_geometry_index)", "reasons": "idc-qc failure reasons",
            "converters": "a converter (not simply assembled by highdicom, dcm2niix, dicom2nifti or SimpleITK)"}[sets]
    heading = title or f"Series failing {what}: {selection.describe()}"
    counted = {"checks": "fail at least one of IDC's geometry checks", "reasons": "have a failure reason",
               "converters": "are not simply assembled by at least one converter"}[sets]
    subtitle = (f"{failing:,} of {selected:,} selected series ({failing / selected:.1%}) {counted}; "
                f"{min(top, len(intersections))} largest of {len(intersections)} combinations shown, "
                "largest in red")
    if context.notice:
        subtitle += f"\n{context.notice}"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = name or f"upset_{sets}"
    paths = {ext: out_dir / f"{stem}.{ext}" for ext in ("png", "svg", "csv")}
    _write_csv(paths["csv"], intersections, failing, selected, context.input_kind, selection.describe(),
               DEFINITIONS[sets])
    _draw(intersections, top, failing, heading, subtitle, paths["png"], paths["svg"],
          synthetic=context.is_synthetic)
    return UpsetResult(png=paths["png"], svg=paths["svg"], csv=paths["csv"], sets=sets, title=heading,
                       selection=selection.describe(), selected_series=selected, failing_series=failing,
                       intersections=intersections, shown=min(top, len(intersections)),
                       input_kind=context.input_kind, notice=context.notice)


def _write_csv(path: Path, intersections: list[Intersection], failing: int, selected: int, input_kind: str,
               selection: str, definition: str = DEFINITIONS["checks"]) -> None:
    """One row per combination; every row also says what counts as failing (``definition``, the
    words of rpt_failing_series_counts) and the totals it is a share of."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["rank", "sets", "set_count", "series", "share_of_failing", "share_of_selected",
                         "selection", "input_kind", "definition", "failing_series", "selected_series"])
        for rank, inter in enumerate(intersections, start=1):
            writer.writerow([rank, " + ".join(inter.sets), len(inter.sets), inter.series,
                             f"{inter.share(failing):.6f}", f"{inter.series / selected:.6f}", selection, input_kind,
                             definition, failing, selected])


def _draw(intersections: list[Intersection], top: int, failing: int, heading: str, subtitle: str, png: Path, svg: Path,
          *, synthetic: bool) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import pandas as pd

    from ._upsetplot_compat import upset_class

    # counts indexed by a boolean MultiIndex (one level per set), built directly so that a
    # single set stays a MultiIndex (from_memberships returns a flat Index then, which
    # upsetplot cannot plot)
    categories = sorted({s for i in intersections for s in i.sets})
    if len(categories) < 2:  # upsetplot needs two sets; an empty one keeps the picture honest
        categories.append("(no other set fails)")
    index = pd.MultiIndex.from_arrays([[s in i.sets for i in intersections] for s in categories], names=categories)
    data = pd.Series([i.series for i in intersections], index=index, name="series")
    upset = upset_class()(data, sort_by="cardinality", sort_categories_by="-cardinality",
                          show_counts="{:,.0f}", show_percentages="{:.1%}", element_size=None,
                          facecolor="#444444", intersection_plot_elements=6, totals_plot_elements=3,
                          max_subset_rank=top)
    largest = intersections[0]
    absent = sorted({s for i in intersections for s in i.sets} - set(largest.sets))
    upset.style_subsets(present=list(largest.sets), absent=absent or None, facecolor=HIGHLIGHT,
                        edgecolor=HIGHLIGHT, label=f"largest: {largest.series:,} series")
    n_sets = len({s for i in intersections for s in i.sets})
    fig = plt.figure(figsize=(max(8.0, 4.5 + 0.55 * min(top, len(intersections))), max(5.0, 3.6 + 0.35 * n_sets)), dpi=100)
    axes = upset.plot(fig=fig)
    from matplotlib.ticker import MaxNLocator

    axes["intersections"].set_ylabel("series")
    axes["intersections"].yaxis.set_major_locator(MaxNLocator(integer=True))
    if "totals" in axes and axes["totals"] is not None:
        axes["totals"].set_xlabel("series failing\nthe check")
    for text in axes["intersections"].texts:
        text.set_fontsize(7)
    # upsetplot reserves room for the set names at its default size; a notch smaller keeps
    # the longest names clear of the totals bars
    for label in axes["matrix"].get_yticklabels():
        label.set_fontsize(9)
    if axes.get("totals") is not None:
        for text in axes["totals"].texts:
            text.set_fontsize(8)
    fig.suptitle(heading, fontsize=12, fontweight="bold", y=1.02)
    fig.text(0.5, 0.985, subtitle, ha="center", va="top", fontsize=9,
             color=HIGHLIGHT if synthetic else "#333333")
    # shares on the bars are of every failing series (upsetplot: of the data's total; the
    # combinations beyond `top` are in the data, only not drawn)
    fig.text(0.99, 0.01, f"shares: of the {failing:,} failing series", ha="right", va="bottom", fontsize=7,
             color="#666666")
    fig.savefig(png, bbox_inches="tight", dpi=130)
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: searchable, selectable
        fig.savefig(svg, bbox_inches="tight")
    plt.close(fig)
