"""Altair charts of a bias result: distances (heatmap) and shares per group beside the reference.

Saved as a self-contained HTML page (``inline=True``: Vega's scripts inside, works offline)
and a PNG (vl-convert). Every number drawn comes from the result's tables.
"""

from __future__ import annotations

from pathlib import Path

#: Bars per attribute beside the reference; `model` has hundreds of categories and stays in the tables.
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d",
           "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
NOT_REPORTED_COLOR = "#c7c7c7"
CHART_ATTRIBUTES = ("sex", "age_group_midrc", "age_group_census", "race", "ethnicity", "manufacturer")


#: Categories drawn per attribute; the rest are summed into one "Other (N)" bar segment
#: (all of IDC has hundreds of manufacturers; the tables keep every one).
MAX_CATEGORIES = 12
OTHER_COLOR = "#8c8c8c"
NO_DATA_COLOR = "#f0f0f0"


def basis_of(result) -> str:
    """What the result stands on, as written into its chart and CSVs: the input kind and
    (when compute_bias knew it) how much of IDC the database holds."""
    basis = getattr(result, "basis", None)
    if basis:
        return basis
    return "SYNTHETIC input (idc-qc synth)" if result.input_kind == "synthetic" else f"input: {result.input_kind}"


def _group_labels(distances):
    """{group: 'g (23 patients, 40 series)'}, with ', small' under MIN_GROUP_SIZE patients."""
    from .distance import MIN_GROUP_SIZE

    labels = {}
    for group, part in distances.groupby("group_value", sort=False):
        totals = part.groupby("unit")["group_total"].max()
        sizes = ", ".join(f"{int(n):,} {unit}" for unit, n in sorted(totals.items()))
        small = int(totals.min()) < MIN_GROUP_SIZE
        labels[group] = f"{group} ({sizes}{', small' if small else ''})"
    return labels


def _capped(data):
    """The panel's rows with at most MAX_CATEGORIES categories (largest first, by the mean
    share over the groups and the reference); the others summed into 'Other (N)'."""

    from .distance import NOT_REPORTED

    known = data[data["category"] != NOT_REPORTED]
    order = known.groupby("category")["share"].mean().sort_values(ascending=False)
    if len(order) <= MAX_CATEGORIES:
        return data, list(order.index), None
    keep = list(order.index[:MAX_CATEGORIES - 1])
    other = f"Other ({len(order) - len(keep)})"
    data = data.copy()
    data.loc[~data["category"].isin(keep + [NOT_REPORTED]), "category"] = other
    data = data.groupby(["group_value", "category"], as_index=False, sort=False).agg(
        share=("share", "sum"), n=("n", lambda v: None if v.isna().all() else v.sum()))
    return data, keep, other


def bias_chart(result):
    import altair as alt
    import pandas as pd

    from .distance import MIN_GROUP_SIZE, NOT_REPORTED, STATUS_NO_DATA, STATUS_SMALL

    title = alt.TitleParams(f"Bias analysis: {result.selection.describe()}; reference: {result.reference_name}",
                            subtitle=[basis_of(result)],
                            subtitleColor="#b22222" if result.input_kind == "synthetic" else "#555555")
    labels = _group_labels(result.distances)
    distances = result.distances.copy()
    if "distance_status" not in distances.columns:
        distances["distance_status"] = "ok"
    distances["group_label"] = distances["group_value"].map(labels)

    def cell(row) -> str:
        if row.distance_status == STATUS_NO_DATA:
            return "no data"
        if row.jsd != row.jsd:
            return "—"
        return f"{row.jsd:.2f}{'*' if row.distance_status == STATUS_SMALL else ''}"

    distances["jsd_label"] = [cell(r) for r in distances.itertuples()]
    heat_base = alt.Chart(distances).encode(
        x=alt.X("attribute:N", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("group_label:N", title=None, sort=list(dict.fromkeys(distances["group_label"])),
                axis=alt.Axis(labelLimit=360)),
    )
    tooltip = ["group_value", "attribute", alt.Tooltip("jsd:Q", format=".3f"), "distance_status", "group_total", "unit",
               alt.Tooltip("not_reported_share:Q", format=".1%", title="not reported")]
    heat = alt.layer(
        heat_base.mark_rect(color=NO_DATA_COLOR).encode(tooltip=tooltip),       # every cell, grey under 'no data'
        heat_base.transform_filter("isValid(datum.jsd)").mark_rect().encode(
            color=alt.Color("jsd:Q", scale=alt.Scale(domain=[0, 1], scheme="orangered"),
                            title="Jensen-Shannon distance"),
            tooltip=tooltip),
        heat_base.mark_text(fontSize=10).encode(
            text="jsd_label:N",
            color=alt.condition("isValid(datum.jsd) && datum.jsd > 0.6", alt.value("white"), alt.value("black"))),
    ).properties(title=alt.TitleParams(
        f"Distance from {result.reference_name} (0 = same distribution, 1 = disjoint)",
        subtitle=[f"no data: every value 'Not reported'; * fewer than {MIN_GROUP_SIZE} members (a small group)"]),
        width=420)

    panels = []
    ref = result.reference.assign(group_value=f"reference: {result.reference_name}")
    for attribute in [a for a in CHART_ATTRIBUTES if a in result.attributes]:
        part = result.distributions[result.distributions["attribute"] == attribute][
            ["group_value", "category", "share", "n", "unit", "group_total"]].copy()
        if part.empty:
            continue
        unit = str(part["unit"].iloc[0])
        # each bar's label says what it counts, in this panel's unit
        part["group_value"] = [f"{g} (n={int(t):,} {u})" for g, t, u in zip(part["group_value"], part["group_total"], part["unit"])]
        ref_part = ref[ref["attribute"] == attribute][["group_value", "category", "share"]]
        data = pd.concat([ref_part.assign(n=None), part[["group_value", "category", "share", "n"]]], ignore_index=True)
        data, kept, other = _capped(data)
        # one colour per category, 'Other' dark grey, 'Not reported' light grey and last
        domain = kept + ([other] if other else []) + ([NOT_REPORTED] if NOT_REPORTED in set(data["category"]) else [])
        colors = [NOT_REPORTED_COLOR if d == NOT_REPORTED else OTHER_COLOR if d == other else PALETTE[i % len(PALETTE)]
                  for i, d in enumerate(domain)]
        panels.append(alt.Chart(data).mark_bar().encode(
            y=alt.Y("group_value:N", title=None, sort=None),
            x=alt.X("share:Q", stack="normalize", title=f"share of {unit}", axis=alt.Axis(format="%")),
            color=alt.Color("category:N", title=attribute, scale=alt.Scale(domain=domain, range=colors)),
            tooltip=["group_value", "category", alt.Tooltip("share:Q", format=".1%"), "n"],
        ).properties(title=f"{attribute} (share of {unit})", width=420))
    shares = alt.vconcat(*panels).resolve_scale(color="independent") if panels else None
    body = alt.hconcat(heat, shares) if shares is not None else heat
    return body.properties(title=title)


def save_chart(result, out_dir: Path) -> tuple[Path, Path]:
    """bias.html (self-contained) and bias.png in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = bias_chart(result)
    html, png = out_dir / "bias.html", out_dir / "bias.png"
    chart.save(str(html), inline=True)
    chart.save(str(png), scale_factor=1.5)
    return html, png


def write_tables(result, out_dir: Path) -> tuple[Path, Path]:
    """bias_distributions.csv and bias_distances.csv in ``out_dir``; both end with ``based_on``
    (basis_of), and the distances with ``distance_status`` (ok, small group, no data, no reference)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dist, dists = out_dir / "bias_distributions.csv", out_dir / "bias_distances.csv"
    # every row says what it stands on (synthetic input, a local sample of IDC), so that a
    # CSV passed on alone still says it
    basis = basis_of(result)
    result.distributions.assign(based_on=basis).to_csv(dist, index=False)
    result.distances.assign(reference=result.reference_name, based_on=basis).to_csv(dists, index=False)
    return dist, dists


def share_rows(result, attribute: str) -> list[tuple[str, str, int, float, float | None]]:
    """(group, category, n, share, reference share) of one attribute, for the printed tables:
    the group's categories, then the reference's categories the group lacks (n 0), so that
    the reference column sums to 100% in every group."""
    part = result.distributions[result.distributions["attribute"] == attribute]
    ref_part = result.reference[result.reference["attribute"] == attribute]
    ref_share = dict(zip(ref_part["category"], ref_part["share"]))
    rows = []
    for group, rows_of_group in part.groupby("group_value", sort=False):
        seen = set()
        for r in rows_of_group.itertuples(index=False):
            seen.add(r.category)
            rows.append((str(group), str(r.category), int(r.n), float(r.share), ref_share.get(r.category)))
        for category, share in sorted(ref_share.items(), key=lambda kv: -kv[1]):
            if category not in seen:
                rows.append((str(group), str(category), 0, 0.0, float(share)))
    return rows


def distance_cell(jsd: float, status: str) -> str:
    """A distance as printed: 'no data', '—' (no reference), '0.123' or '0.123*' (small group)."""
    import math

    from .distance import STATUS_NO_DATA, STATUS_SMALL

    if status == STATUS_NO_DATA:
        return "no data"
    if math.isnan(jsd):
        return "—"
    return f"{jsd:.3f}{'*' if status == STATUS_SMALL else ''}"
