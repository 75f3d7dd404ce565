"""An offline dashboard of a build: one self-contained HTML file (Altair, data and Vega inline).

What IDC's online Looker dashboard summarizes, for any build and with no network: series,
patients, instances and size by collection and modality (all of IDC's index when the build
kept it: ``--whole-index`` or the index alone), growth across IDC releases, geometry
categories and failure reasons by collection and manufacturer, demographics with unknown
values shown as categories of their own, and what each converter (highdicom, dcm2niix,
dicom2nifti, SimpleITK) is predicted to do with the series (rpt_converter_outcome_counts).

Every number comes from an ``rpt_*`` model (models/marts/reporting): the SQL here only reads
those rows (a few thousand at IDC scale), so the file stays small (~2 MB, most of it the
inlined Vega JavaScript). A drop-down picks one collection for every chart; clicking a
collection's bar filters the modality chart beside it. The totals at the top (collections,
patients, studies, series, instances, size) follow the drop-down too: they are a Vega chart
over rpt_archive_collections, not fixed HTML. A synthetic build says so in a banner and in
every chart's subtitle.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IdcQcError

ALL = "(all collections)"
#: Collections drawn in the "by collection" bar charts (largest first); the drop-down lists all.
TOP_COLLECTIONS = 30
TOP_REASON_COLLECTIONS = 15
REQUIRED = ("rpt_archive_collections", "rpt_archive_collection_modality", "rpt_archive_release_growth",
            "rpt_archive_demographics")
UNKNOWN_COLOR = "#bbbbbb"
#: Colours of series_converters' outcomes (report_sections.CONVERTER_OUTCOMES, best to worst):
#: one fixed scale, so a colour means the same outcome whatever the collection picked.
OUTCOME_PALETTE = ("#54a24b", "#eeca3b", "#72b7b2", "#f58518", "#e45756")
#: Colours of the geometry categories, in the order of the seed's category rows (level
#: category of seeds/geometry_reasons.csv, by reason_key): one fixed scale for every chart and
#: every collection picked, so a colour always means the same category.
CATEGORY_PALETTE = ("#e45756", "#bab0ac", "#b279a2", "#9d755d", "#ff9da6", "#f58518", "#54a24b", "#eeca3b",
                    "#72b7b2", "#4c78a8")


class DashboardError(IdcQcError):
    """The database lacks what the dashboard reads."""


@dataclass
class DashboardResult:
    html: Path
    bytes: int
    input_kind: str
    notice: str | None
    totals: dict[str, float]
    collections: int
    charts: list[str] = field(default_factory=list)
    rows_embedded: int = 0


_QUERIES = {
    "collections": """
        select collection_id, series_count, patient_count, study_count, instance_count,
               size_mb / 1024.0 as size_gb, modality_count, first_idc_release,
               series_count * 1.0 / sum(series_count) over () as series_share
        from rpt_archive_collections order by series_count desc, collection_id""",
    "modalities": """
        select collection_id, Modality, series_count, patient_count, instance_count, size_mb / 1024.0 as size_gb
        from rpt_archive_collection_modality""",
    "growth": """
        select idc_release, cast(release_date as varchar) as release_date, collection_id, series_added,
               instances_added, size_added_mb / 1024.0 as size_added_gb
        from rpt_archive_release_growth""",
    "demographics": """
        select attribute, category, collection_id, is_unknown, patient_count, series_count
        from rpt_archive_demographics""",
    # coll_rank: collections by their series with instance metadata, for the top-N chart
    # the failing series of each collection, by the definitions of rpt_failing_series_counts
    # (0 when none fails): the totals row and the empty states read it
    "failing": """
        select c.collection_id,
               coalesce(max(f.series_count) filter (where f.definition = 'not_regular_volume'), 0) as not_regular,
               coalesce(max(f.series_count) filter (where f.definition = 'fails_idc_checks'), 0) as fails_idc
        from rpt_archive_collections as c
        left join rpt_failing_series_counts as f
            on f.collection_id = c.collection_id and f.part = 'total'
        group by c.collection_id""",
    "categories": """
        select geometry_category, collection_id, Modality, manufacturer, series_count,
               dense_rank() over (order by coll_total desc, collection_id) as coll_rank
        from (select *, sum(series_count) over (partition by collection_id) as coll_total
              from rpt_geometry_category_counts)""",
    # coll_rank: collections by their failing series, for the top-N heat map
    "reasons": """
        select reason, collection_id, Modality, manufacturer, series_count,
               dense_rank() over (order by coll_total desc, collection_id) as coll_rank
        from (select *, sum(series_count) over (partition by collection_id) as coll_total
              from rpt_geometry_reason_counts where level = 'series')""",
    # converter_series: the collection's series judged by the converter (0 rows: nothing to show)
    "converters": """
        select collection_id, converter, converter_order, outcome_kind, outcome_order, series_count,
               converter_series_count as converter_series
        from rpt_converter_outcome_counts where collection_id <> '(all)'""",
}

_TOTALS_SQL = """
    select sum(series_count), sum(patient_count), sum(study_count), sum(instance_count), sum(size_mb) / 1024.0 / 1024.0,
           count(*)
    from rpt_archive_collections"""


def render_dashboard(db: Path, out: Path, *, title: str | None = None) -> DashboardResult:
    """Write the dashboard of the database ``db`` to the HTML file ``out``."""
    from ..provenance import read_build_context

    if Path(out).suffix.lower() not in {".html", ".htm"}:
        raise DashboardError(f"-o {out}: the dashboard is one HTML page; name a .html file "
                             f"(e.g. -o {Path(out).with_suffix('.html')})")
    from ..warehouse import open_warehouse

    with open_warehouse(Path(db)) as wh:
        tables = set(wh.tables())
        missing = [t for t in REQUIRED if t not in tables]
        if missing:
            raise DashboardError(f"{db} has no {', '.join(missing)}: rebuild it with this idc-qc (`idc-qc build`)")
        context = read_build_context(wh.con)
        frames = {}
        for key, sql in _QUERIES.items():
            source = {"categories": "rpt_geometry_category_counts", "reasons": "rpt_geometry_reason_counts",
                      "failing": "rpt_failing_series_counts", "converters": "rpt_converter_outcome_counts"}.get(key)
            if source is not None and source not in tables:
                frames[key] = None
                continue
            frames[key] = wh.con.execute(sql).df()
        category_domain = [r[0] for r in wh.con.execute(
            "select label from geometry_reasons where level = 'category' order by reason_key").fetchall()] \
            if "geometry_reasons" in tables else []
        reconciliation = None
        if "rpt_failing_series_counts" in tables:
            from .geometry_summary import _RECONCILE_SQL, reconciliation_line

            reconciliation, _ = reconciliation_line(wh.con.execute(_RECONCILE_SQL).fetchall())
        row = wh.con.execute(_TOTALS_SQL).fetchone()
    totals = {"series": int(row[0] or 0), "patients": int(row[1] or 0), "studies": int(row[2] or 0),
              "instances": int(row[3] or 0), "size_tb": float(row[4] or 0.0), "collections": int(row[5] or 0)}
    if totals["series"] == 0:
        raise DashboardError(f"{db} holds no series: nothing to show")

    if frames.get("failing") is not None:
        frames["collections"] = frames["collections"].merge(frames["failing"], on="collection_id", how="left")
    if frames.get("converters") is not None and len(frames["converters"]):
        # the series each collection has a converter verdict for (0: the panel says so, not blank)
        judged = frames["converters"].groupby("collection_id", as_index=False)["converter_series"].max()
        frames["collections"] = frames["collections"].merge(judged, on="collection_id", how="left")
        frames["collections"]["converter_series"] = frames["collections"]["converter_series"].fillna(0)
    chart, names = _chart(frames, context.notice, category_domain)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    chart.save(str(out), inline=True, embed_options={"renderer": "svg", "actions": False})
    _add_header(out, title or "IDC archive dashboard", context, Path(db), reconciliation)
    return DashboardResult(html=out, bytes=out.stat().st_size, input_kind=context.input_kind, notice=context.notice,
                           totals=totals, collections=totals["collections"], charts=names,
                           rows_embedded=sum(len(f) for f in frames.values() if f is not None))


def _category_color(alt, domain: list[str]):
    """The one colour scale of geometry_category (fixed domain: the seed's categories)."""
    if not domain:
        return alt.Color("geometry_category:N", title="geometry category", scale=alt.Scale(scheme="tableau10"))
    palette = [CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)] for i in range(len(domain))]
    return alt.Color("geometry_category:N", title="geometry category", scale=alt.Scale(domain=domain, range=palette))


def _empty_note(alt, collections, in_view: str, column: str, text: str):
    """A line drawn where a chart is empty because the collection picked has nothing failing."""
    return alt.Chart(collections).transform_filter(in_view).transform_filter(
        f"collection != '{ALL}' && datum.{column} == 0").mark_text(
        align="left", baseline="top", fontSize=13, color="#555555").encode(
        x=alt.value(4), y=alt.value(4), text=alt.value(text))


def _chart(frames: dict, notice: str | None, category_domain: list[str] | None = None):
    import altair as alt

    alt.data_transformers.disable_max_rows()
    collections = frames["collections"]
    options = [ALL, *sorted(collections["collection_id"].tolist())]
    pick_collection = alt.param(name="collection", value=ALL,
                                bind=alt.binding_select(options=options, name="Collection: "))
    in_view = f"collection == '{ALL}' || datum.collection_id == collection"
    clicked = alt.selection_point(name="clicked", fields=["collection_id"], on="click", clear="dblclick")
    names: list[str] = []

    def titled(text: str, sub: str | None = None) -> alt.TitleParams:
        subtitle = [s for s in (sub, notice) if s]
        return alt.TitleParams(text, subtitle=subtitle or None, subtitleColor="#b22222" if notice else None,
                               anchor="start")

    # 0. the totals of what is in view: they follow the drop-down (all collections, or one)
    totals = _totals_in_view(alt, collections, in_view, failing="not_regular" in collections).properties(
        title=titled("Totals in view", "pick a collection in the drop-down above and these follow"))
    names.append("totals in view")

    # 1. series by collection (top N), with shares beside counts; click links to 2.
    # the largest TOP_COLLECTIONS, or the one picked in the drop-down whatever its rank
    ranked = collections.assign(coll_rank=range(1, len(collections) + 1))
    base = alt.Chart(ranked).transform_filter(in_view).transform_filter(
        f"collection != '{ALL}' || datum.coll_rank <= {TOP_COLLECTIONS}").transform_calculate(
        label="format(datum.series_count, ',') + ' (' + format(datum.series_share, '.1%') + ')'")
    enc_y = alt.Y("collection_id:N", sort="-x", title=None)
    bars = base.mark_bar().encode(
        x=alt.X("series_count:Q", title="series"), y=enc_y,
        color=alt.condition(clicked, alt.value("#4c78a8"), alt.value("#c6d4e6")),
        tooltip=[alt.Tooltip("collection_id:N", title="collection"), alt.Tooltip("series_count:Q", format=",", title="series"),
                 alt.Tooltip("series_share:Q", format=".1%", title="share of series"),
                 alt.Tooltip("patient_count:Q", format=",", title="patients"),
                 alt.Tooltip("instance_count:Q", format=",", title="instances"),
                 alt.Tooltip("size_gb:Q", format=",.1f", title="size (GB)"),
                 alt.Tooltip("first_idc_release:Q", title="first IDC release")],
    ).add_params(clicked)
    text = base.mark_text(align="left", dx=3, fontSize=9).encode(x="series_count:Q", y=enc_y, text="label:N")
    by_collection = (bars + text).properties(
        title=titled(f"Series by collection (largest {min(TOP_COLLECTIONS, len(collections))} of {len(collections)})",
                     "click a bar to see its modalities; double-click to clear"),
        width=380, height=alt.Step(14))
    names.append("series by collection")

    # 2. series by modality, for the clicked / picked collection
    modalities = alt.Chart(frames["modalities"]).transform_filter(in_view).transform_filter(clicked).transform_aggregate(
        series="sum(series_count)", instances="sum(instance_count)", size_gb="sum(size_gb)", groupby=["Modality"],
    ).transform_joinaggregate(total="sum(series)").transform_calculate(
        share="datum.series / datum.total",
        label="format(datum.series, ',') + ' (' + format(datum.share, '.1%') + ')'")
    mod_y = alt.Y("Modality:N", sort="-x", title=None)
    by_modality = (
        modalities.mark_bar(color="#72b7b2").encode(
            x=alt.X("series:Q", title="series"), y=mod_y,
            tooltip=[alt.Tooltip("Modality:N"), alt.Tooltip("series:Q", format=","),
                     alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("instances:Q", format=","),
                     alt.Tooltip("size_gb:Q", format=",.1f", title="size (GB)")])
        + modalities.mark_text(align="left", dx=3, fontSize=9).encode(x="series:Q", y=mod_y, text="label:N")
    ).properties(title=titled("Series by modality", "of the clicked collection, or all in view"),
                 width=300, height=alt.Step(14))
    names.append("series by modality")

    # 3. growth across releases: series added per release, cumulated
    growth = alt.Chart(frames["growth"]).transform_filter(in_view).transform_aggregate(
        added="sum(series_added)", size_gb="sum(size_added_gb)", groupby=["idc_release", "release_date"],
    ).transform_window(series="sum(added)", sort=[alt.SortField("idc_release")]).transform_joinaggregate(
        final="max(series)").transform_calculate(share="datum.series / datum.final")
    growth_chart = (
        growth.mark_area(opacity=0.3, line=True, interpolate="step-after").encode(
            x=alt.X("release_date:T", title="IDC release date"), y=alt.Y("series:Q", title="series (cumulative)"))
        + growth.mark_circle(size=40).encode(
            x="release_date:T", y="series:Q",
            tooltip=[alt.Tooltip("idc_release:Q", title="IDC release"), alt.Tooltip("release_date:T", title="date"),
                     alt.Tooltip("added:Q", format=",", title="series added"),
                     alt.Tooltip("series:Q", format=",", title="series so far"),
                     alt.Tooltip("share:Q", format=".1%", title="share of today's series"),
                     alt.Tooltip("size_gb:Q", format=",.1f", title="size added (GB)")])
    ).properties(title=titled("Growth across IDC releases", "series by the release that first held them"),
                 width=420, height=220)
    names.append("growth across idc releases")

    charts_row3 = []
    if frames["categories"] is not None and len(frames["categories"]):
        cats = alt.Chart(frames["categories"]).transform_filter(in_view).transform_aggregate(
            series="sum(series_count)", groupby=["manufacturer", "geometry_category"],
        ).transform_joinaggregate(maker_total="sum(series)", groupby=["manufacturer"]).transform_calculate(
            share="datum.series / datum.maker_total")
        by_maker = cats.mark_bar().encode(
            x=alt.X("series:Q", stack="normalize", title="share of the maker's series", axis=alt.Axis(format="%")),
            y=alt.Y("manufacturer:N", sort=alt.EncodingSortField("maker_total", op="max", order="descending"),
                    title=None),
            color=_category_color(alt, category_domain or []),
            tooltip=[alt.Tooltip("manufacturer:N"), alt.Tooltip("geometry_category:N", title="category"),
                     alt.Tooltip("series:Q", format=","), alt.Tooltip("share:Q", format=".1%"),
                     alt.Tooltip("maker_total:Q", format=",", title="maker's series")],
        ).properties(title=titled("Geometry category by manufacturer", "series with instance metadata"),
                     width=360, height=alt.Step(14))
        names.append("geometry category by manufacturer")
        cats_c = alt.Chart(frames["categories"]).transform_filter(in_view).transform_filter(
            f"collection != '{ALL}' || datum.coll_rank <= {TOP_COLLECTIONS}").transform_aggregate(
            series="sum(series_count)", groupby=["collection_id", "geometry_category"],
        ).transform_joinaggregate(coll_total="sum(series)", groupby=["collection_id"]).transform_calculate(
            share="datum.series / datum.coll_total")
        by_coll = cats_c.mark_bar().encode(
            x=alt.X("series:Q", title="series"),
            y=alt.Y("collection_id:N", sort=alt.EncodingSortField("coll_total", op="max", order="descending"),
                    title=None),
            color=_category_color(alt, category_domain or []),
            tooltip=[alt.Tooltip("collection_id:N", title="collection"), alt.Tooltip("geometry_category:N", title="category"),
                     alt.Tooltip("series:Q", format=","), alt.Tooltip("share:Q", format=".1%", title="share of collection")],
        ).properties(title=titled("Geometry category by collection", f"largest {TOP_COLLECTIONS} with instance metadata"),
                     width=360, height=alt.Step(14))
        names.append("geometry category by collection")
        charts_row3 = [by_coll, by_maker]

    reasons_chart = None
    if frames["reasons"] is not None and len(frames["reasons"]):
        reasons = alt.Chart(frames["reasons"]).transform_filter(in_view).transform_aggregate(
            series="sum(series_count)", groupby=["reason", "manufacturer"],
        ).transform_joinaggregate(reason_total="sum(series)", groupby=["reason"]).transform_calculate(
            share="datum.series / datum.reason_total")
        heat = reasons.mark_rect().encode(
            x=alt.X("manufacturer:N", title=None, axis=alt.Axis(labelAngle=-40)),
            y=alt.Y("reason:N", sort=alt.EncodingSortField("reason_total", op="max", order="descending"), title=None),
            color=alt.Color("series:Q", title="series", scale=alt.Scale(scheme="oranges"), legend=None),
            tooltip=[alt.Tooltip("reason:N"), alt.Tooltip("manufacturer:N"), alt.Tooltip("series:Q", format=","),
                     alt.Tooltip("share:Q", format=".1%", title="share of the reason's series")],
        )
        labels = reasons.mark_text(fontSize=8).encode(x="manufacturer:N", y=alt.Y("reason:N", sort=alt.EncodingSortField(
            "reason_total", op="max", order="descending")), text=alt.Text("series:Q", format=","))
        empty = (_empty_note(alt, collections, in_view, "not_regular", "no failures in this collection")
                 if "not_regular" in collections else None)
        heat_layers = [heat, labels] + ([empty] if empty is not None else [])
        reasons_chart = alt.layer(*heat_layers).properties(
            title=titled("Failure reasons by manufacturer", "series with the reason (a series can have several)"),
            width=alt.Step(34), height=alt.Step(16))
        names.append("failure reasons by manufacturer")
        by_coll_reasons = alt.Chart(frames["reasons"]).transform_filter(in_view).transform_filter(
            f"collection != '{ALL}' || datum.coll_rank <= {TOP_REASON_COLLECTIONS}").transform_aggregate(
            series="sum(series_count)", groupby=["reason", "collection_id"],
        ).transform_joinaggregate(coll_total="sum(series)", groupby=["collection_id"]).transform_calculate(
            share="datum.series / datum.coll_total")
        reason_y = alt.Y("reason:N", sort=alt.EncodingSortField("series", op="sum", order="descending"), title=None)
        reasons_by_collection = (
            by_coll_reasons.mark_rect().encode(
                x=alt.X("collection_id:N", title=None, axis=alt.Axis(labelAngle=-40),
                        sort=alt.EncodingSortField("coll_total", op="max", order="descending")),
                y=reason_y, color=alt.Color("series:Q", title="series", scale=alt.Scale(scheme="purples"), legend=None),
                tooltip=[alt.Tooltip("reason:N"), alt.Tooltip("collection_id:N", title="collection"),
                         alt.Tooltip("series:Q", format=","),
                         alt.Tooltip("share:Q", format=".1%", title="share of the collection's reasons")])
            + by_coll_reasons.mark_text(fontSize=8).encode(
                x=alt.X("collection_id:N", sort=alt.EncodingSortField("coll_total", op="max", order="descending")),
                y=reason_y, text=alt.Text("series:Q", format=","))
            + (empty if empty is not None else alt.Chart(collections).mark_text().transform_filter("false"))
        ).properties(title=titled("Failure reasons by collection",
                                  f"the {TOP_REASON_COLLECTIONS} collections with most failing series"),
                     width=alt.Step(34), height=alt.Step(16))
        names.append("failure reasons by collection")
        reasons_chart = alt.hconcat(reasons_chart, reasons_by_collection).resolve_scale(color="independent")

    converters_chart = None
    if frames.get("converters") is not None and len(frames["converters"]):
        converters_chart = _converters_panel(alt, frames["converters"], collections, in_view, titled)
        names.append("will my pipeline load it?")

    demo_charts = []
    for attribute, heading in (("sex", "Patients by sex"), ("age_group", "Patients by age group")):
        data = frames["demographics"][frames["demographics"]["attribute"] == attribute]
        demo = alt.Chart(data).transform_filter(in_view).transform_aggregate(
            patients="sum(patient_count)", groupby=["category", "is_unknown"],
        ).transform_joinaggregate(total="sum(patients)").transform_calculate(
            share="datum.patients / datum.total",
            label="format(datum.patients, ',') + ' (' + format(datum.share, '.1%') + ')'")
        y = alt.Y("category:N", title=None, sort=alt.EncodingSortField("category", order="ascending"))
        demo_charts.append((
            demo.mark_bar().encode(
                x=alt.X("patients:Q", title="patients"), y=y,
                color=alt.Color("is_unknown:N", title="value", scale=alt.Scale(domain=[False, True],
                                range=["#54a24b", UNKNOWN_COLOR]), legend=alt.Legend(labelExpr="datum.value ? 'unknown' : 'known'")),
                tooltip=[alt.Tooltip("category:N"), alt.Tooltip("patients:Q", format=","),
                         alt.Tooltip("share:Q", format=".1%")])
            + demo.mark_text(align="left", dx=3, fontSize=9).encode(x="patients:Q", y=y, text="label:N")
        ).properties(title=titled(heading, "unknown values shown in grey, not hidden"), width=260,
                     height=alt.Step(16)))
        names.append(heading.lower())

    # the demographics stacked beside the growth chart: side by side, the three ran past a
    # 1,400 px window
    rows = [totals, alt.hconcat(by_collection, by_modality), alt.hconcat(growth_chart, alt.vconcat(*demo_charts))]
    if charts_row3:
        rows.append(alt.hconcat(*charts_row3))
    if reasons_chart is not None:
        rows.append(reasons_chart)
    if converters_chart is not None:
        rows.append(converters_chart)
    chart = alt.vconcat(*rows).add_params(pick_collection).resolve_scale(color="independent").configure_view(
        stroke=None).configure_axis(labelLimit=220)
    return chart, names


def _converters_panel(alt, frame, collections, in_view: str, titled):
    """Series per converter and predicted outcome (rpt_converter_outcome_counts), one stacked
    bar per converter, outcomes best to worst in their fixed colours; a collection picked with
    no series judged says so instead of an empty chart."""
    from .report_sections import CONVERTER_OUTCOMES

    outcomes = list(CONVERTER_OUTCOMES)
    data = alt.Chart(frame).transform_filter(in_view).transform_aggregate(
        series="sum(series_count)", groupby=["converter", "converter_order", "outcome_kind", "outcome_order"],
    ).transform_joinaggregate(converter_total="sum(series)", groupby=["converter"]).transform_calculate(
        share="datum.series / datum.converter_total")
    bars = data.mark_bar().encode(
        x=alt.X("series:Q", title="series"),
        y=alt.Y("converter:N", sort=alt.EncodingSortField("converter_order", op="min", order="ascending"), title=None),
        color=alt.Color("outcome_kind:N", title="predicted outcome",
                        scale=alt.Scale(domain=outcomes, range=[OUTCOME_PALETTE[i % len(OUTCOME_PALETTE)]
                                                                for i in range(len(outcomes))])),
        order=alt.Order("outcome_order:Q", sort="ascending"),
        tooltip=[alt.Tooltip("converter:N"), alt.Tooltip("outcome_kind:N", title="outcome"),
                 alt.Tooltip("series:Q", format=","), alt.Tooltip("share:Q", format=".1%", title="share of series"),
                 alt.Tooltip("converter_total:Q", format=",", title="series judged")])
    layers = [bars]
    if "converter_series" in collections:
        layers.append(_empty_note(alt, collections, in_view, "converter_series",
                                  "no series with instance metadata in this collection"))
    return alt.layer(*layers).properties(
        title=titled("Will my pipeline load it? Predicted outcome per converter",
                     "series_converters: each tool's own rules (docs/converters.md)"),
        width=560, height=alt.Step(22))


#: The totals row: (field of the aggregate, label under the figure), left to right.
_KPIS = (("collections", "collections"), ("patients", "patients"), ("studies", "studies"), ("series", "series"),
         ("instances", "instances"), ("size_gb", "size"))


#: With rpt_failing_series_counts: the failing series, by the definitions every output uses.
_FAILING_KPIS = (("not_regular", "not regular volumes"), ("fails_idc", "fail IDC's checks"))


def _totals_in_view(alt, collections, in_view: str, failing: bool = False):
    """One row of big figures (the sums of rpt_archive_collections' rows in view) under the
    drop-down, with what is in view written above them: they change with the collection picked.
    With ``failing``, two more: series not regular volumes and failing IDC's checks
    (rpt_failing_series_counts)."""
    kpis = _KPIS + (_FAILING_KPIS if failing else ())
    kpi_names = [name for name, _ in kpis]
    labels = dict(kpis)
    quoted = {k: labels[k].replace("'", "\\'") for k in kpi_names}  # a Vega string literal
    label_expr = " : ".join(f"datum.key == '{k}' ? '{quoted[k]}'" for k in kpi_names) + " : datum.key"
    base = alt.Chart(collections).transform_filter(in_view).transform_aggregate(
        collections="count()", patients="sum(patient_count)", studies="sum(study_count)",
        series="sum(series_count)", instances="sum(instance_count)", size_gb="sum(size_gb)",
        **({"not_regular": "sum(not_regular)", "fails_idc": "sum(fails_idc)"} if failing else {}),
    ).transform_fold(kpi_names, as_=["key", "value"]).transform_calculate(
        figure="datum.key == 'size_gb' ? (datum.value >= 1024 ? format(datum.value / 1024, ',.1f') + ' TB' "
               ": format(datum.value, ',.1f') + ' GB') : format(datum.value, ',')",
        label=label_expr,
        order=f"indexof({kpi_names!r}, datum.key)".replace('"', "'"))
    # left-aligned columns, one per figure: a linear scale over their order (0 .. 5)
    x = alt.X("order:Q", axis=None, title=None, scale=alt.Scale(domain=[0, len(kpi_names)], nice=False, zero=True))
    figures = base.mark_text(fontSize=22, fontWeight="bold", align="left", baseline="bottom").encode(
        x=x, y=alt.value(30), text="figure:N")
    captions = base.mark_text(fontSize=12, color="#666666", align="left", baseline="top").encode(
        x=x, y=alt.value(34), text="label:N")
    # what the figures are of: the drop-down's value, in words
    in_view_text = alt.Chart(collections.head(1)).mark_text(
        fontSize=12, align="left", baseline="bottom", color="#333333").transform_calculate(
        what=f"collection == '{ALL}' ? 'Totals of every collection in this build' : 'Totals of collection ' + collection"
    ).encode(x=alt.value(0), y=alt.value(8), text="what:N")
    return (in_view_text + figures + captions).properties(width=len(kpi_names) * 130, height=52)


def _without_machine_paths(text: str) -> str:
    """``text`` with the working directory's absolute path left out (a page, or its screenshot,
    should not carry the folder of the machine that built it)."""
    import os

    here = os.getcwd().rstrip(os.sep) + os.sep
    return text.replace(here, "") if here != os.sep else text


def _add_header(path: Path, title: str, context, db: Path, reconciliation: str | None = None) -> None:
    """A plain-HTML header above the charts: title, source, and the synthetic banner. The totals
    are not here: fixed HTML could not follow the drop-down (see _totals_in_view)."""
    esc = html_lib.escape
    banner = ""
    detail = _without_machine_paths(str(context.input_detail))
    if context.notice:
        banner = (f'<div id="synthetic-banner" style="background:#b22222;color:white;padding:8px 12px;'
                  f'font-weight:bold;margin-bottom:8px">{esc(context.notice)}'
                  f'<div style="font-weight:normal;font-size:12px">{esc(detail)}. Archive counts, '
                  'releases and demographics come from IDC\'s index; geometry from the synthetic instances.</div></div>')
    header = (f'<header id="dashboard-header" style="font-family:sans-serif;margin:8px">{banner}'
              f'<h1 style="margin:4px 0">{esc(title)}</h1>'
              f'<div style="color:#555;font-size:12px">{esc(str(db.name))} · input: {esc(context.label)} · '
              'every number from the rpt_* models; pick a collection below and every chart, the totals '
              'too, shows that collection</div>'
              + (f'<div id="failing-definitions" style="font-size:13px;margin-top:4px">{esc(reconciliation)} '
                 '<span style="color:#555">(all collections; rpt_failing_series_counts, the counts of the QC '
                 'report and the geometry summary)</span></div>' if reconciliation else '')
              + '</header>'
              '<style>'
              # the collection drop-down above the charts, not beside them
              '#vis.vega-embed{flex-direction:column-reverse;align-items:flex-start}'
              '.vega-bindings{font-family:sans-serif;font-size:14px;margin:6px 8px 10px}</style>')
    text = path.read_text()
    # The inlined Vega bundle itself contains "<head>" and "<body>" in strings: insert
    # before the chart's own container (the last one) and after the document's first <head>.
    marker = '<div class="vega-visualization" id="vis">'
    at = text.rfind(marker)
    if at < 0 or not text.lstrip().lower().startswith("<!doctype html>"):
        raise DashboardError(f"unexpected HTML from altair in {path}: no chart container")
    page_title = f"<title>{esc(title)}{' (synthetic input)' if context.notice else ''}</title>"
    text = text[:at] + header + "\n" + text[at:]
    text = text.replace("<head>", f"<head>\n{page_title}", 1)
    path.write_text(text)

