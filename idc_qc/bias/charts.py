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


def bias_chart(result):
    import altair as alt
    import pandas as pd

    title = f"Bias analysis: {result.selection.describe()}; reference: {result.reference_name}"
    if result.input_kind == "synthetic":
        title += " (SYNTHETIC input)"
    # each group's label carries its size: a distance over 3 patients says little
    sizes = {}
    for row in result.distances.sort_values("unit").itertuples():  # patients before series
        sizes.setdefault(row.group_value, f"{row.group_value} (n={row.group_total:,} {row.unit})")
    distances = result.distances.dropna(subset=["jsd"]).copy()
    distances["group_value"] = distances["group_value"].map(sizes)
    distances["jsd_label"] = distances["jsd"].map(lambda v: f"{v:.2f}")
    heat_base = alt.Chart(distances).encode(
        x=alt.X("attribute:N", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("group_value:N", title=None),
    )
    heat = (heat_base.mark_rect().encode(
        color=alt.Color("jsd:Q", scale=alt.Scale(domain=[0, 1], scheme="orangered"),
                        title="Jensen-Shannon distance"),
        tooltip=["group_value", "attribute", alt.Tooltip("jsd:Q", format=".3f"), "group_total",
                 alt.Tooltip("not_reported_share:Q", format=".1%", title="not reported")],
    ) + heat_base.mark_text(fontSize=10).encode(
        text="jsd_label:N",
        color=alt.condition("datum.jsd > 0.6", alt.value("white"), alt.value("black")),
    )).properties(
        title=f"Distance from {result.reference_name} (0 = same distribution, 1 = disjoint)", width=420)

    panels = []
    ref = result.reference.assign(group_value=f"reference: {result.reference_name}")
    for attribute in [a for a in CHART_ATTRIBUTES if a in result.attributes]:
        part = result.distributions[result.distributions["attribute"] == attribute][
            ["group_value", "category", "share", "n"]].copy()
        part["group_value"] = part["group_value"].map(sizes)
        if part.empty:
            continue
        ref_part = ref[ref["attribute"] == attribute][["group_value", "category", "share"]]
        data = pd.concat([ref_part.assign(n=None), part], ignore_index=True)
        # one colour per category, 'Not reported' always grey and last
        domain = sorted(set(data["category"]) - {"Not reported"}) + (["Not reported"] if "Not reported" in set(data["category"]) else [])
        palette = [c for i, c in zip(range(len(domain)), PALETTE * 4)]
        colors = [NOT_REPORTED_COLOR if d == "Not reported" else palette[i] for i, d in enumerate(domain)]
        panels.append(alt.Chart(data).mark_bar().encode(
            y=alt.Y("group_value:N", title=None, sort=None),
            x=alt.X("share:Q", stack="normalize", title=f"share of {'series' if attribute == 'manufacturer' else 'patients'}",
                    axis=alt.Axis(format="%")),
            color=alt.Color("category:N", title=attribute, scale=alt.Scale(domain=domain, range=colors)),
            tooltip=["group_value", "category", alt.Tooltip("share:Q", format=".1%"), "n"],
        ).properties(title=attribute, width=420))
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
    """bias_distributions.csv and bias_distances.csv in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dist, dists = out_dir / "bias_distributions.csv", out_dir / "bias_distances.csv"
    result.distributions.to_csv(dist, index=False)
    result.distances.assign(reference=result.reference_name).to_csv(dists, index=False)
    return dist, dists
