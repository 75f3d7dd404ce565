"""`idc-qc bias`: who is in a selection, and how far that is from the archive or the census."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption


def bias(
    where: Annotated[Optional[str], typer.Option(
        "--where", "-w", help="SQL condition on series joined with patient_clinical, e.g. "
                              "\"collection_id like 'tcga_%' and Modality in ('CT','MR','PT')\".")] = None,
    collection: Annotated[Optional[list[str]], typer.Option(
        "--collection", "-c", help="IDC collection_id, any case (repeatable), e.g. tcga_brca.")] = None,
    modality: Annotated[Optional[list[str]], typer.Option(
        "--modality", "-m", help="DICOM Modality, any case (repeatable), e.g. CT.")] = None,
    by: Annotated[str, typer.Option(
        "--by", help="Group by this column or expression (collection_id, Modality, ...); `none` for one group.")] = "collection_id",
    cohort: Annotated[Optional[Path], typer.Option(
        "--cohort", help="Cohort manifest (CSV/parquet) with SeriesInstanceUID, or PatientID [+ collection_id].")] = None,
    reference: Annotated[str, typer.Option(
        "--reference", "-r", help="archive (the whole database), census (US 2020, as MIDRC) or a CSV/parquet "
                                  "with attribute, category and share|percent|count.")] = "archive",
    age_groups: Annotated[str, typer.Option(
        "--age-groups", help="midrc (0-17, 18-49, 50-64, 65+) or census (the census's 11 groups).")] = "midrc",
    attribute: Annotated[Optional[list[str]], typer.Option(
        "--attribute", "-a", help="Attributes to describe (repeatable): sex, age_group, race, ethnicity, "
                                  "manufacturer, model. Default: all.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the CSV tables and the chart (HTML + PNG).")] = Path("build/bias"),
    no_chart: Annotated[bool, typer.Option("--no-chart", help="Write the CSV tables only.")] = False,
    details: Annotated[bool, typer.Option("--details", help="Print every distribution, not only the distances.")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Distribution of sex, age group, race, ethnicity, manufacturer and model, and its distance from a reference.

    Counts and shares per group (missing values are the category 'Not reported', never
    dropped); the Jensen-Shannon distance of each group from the reference, as MIDRC's
    diversity calculator computes it (scipy's jensenshannon, base 2: 0 same, 1 disjoint).

    --where and --by are one condition and one expression, checked by DuckDB's parser and run on
    a read-only connection that reads no file but the warehouse's own (docs/query.md). A
    selection without series exits 1.

    Example: idc-qc bias --where "collection_id like 'tcga_%' and Modality in ('CT','MR','PT')" --reference census
    """
    from rich.console import Console
    from rich.table import Table

    from ..bias import Selection, compute_bias
    from ..database.guard import refuse_output_on_input

    refuse_output_on_input(out, db)

    ref: str | Path = reference if reference in {"archive", "census"} else Path(reference)
    selection = Selection(collection=collection or [], modality=modality or [], where=where, cohort=cohort,
                          by=None if by.lower() == "none" else by)
    result = compute_bias(db, selection, reference=ref, age_scheme=age_groups, attributes=attribute)
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {escape(note)}")
    out_console = Console()
    distances = result.distances
    if distances.empty:
        out_console.print("No series in the selection.")
        return
    from ..bias.charts import distance_cell, share_rows
    from ..bias.distance import MIN_GROUP_SIZE

    distances = distances.assign(cell=[distance_cell(j, s) for j, s in zip(distances["jsd"], distances["distance_status"])])
    pivot = distances.pivot(index="group_value", columns="attribute", values="cell")
    totals = distances.groupby("group_value")["group_total"].max()
    patients = distances[distances["unit"] == "patients"].groupby("group_value")["group_total"].max()
    table = Table(title=f"Jensen-Shannon distance from {escape(result.reference_name)} "
                        f"({escape(selection.describe())}; 0 same, 1 disjoint)")
    table.add_column("group", no_wrap=True)
    table.add_column("patients", justify="right")
    for column in pivot.columns:
        table.add_column(column, justify="right")
    for group, row in pivot.iterrows():
        count = patients.get(group, totals.get(group, 0))
        table.add_row(escape(str(group)), f"{int(count):,}",
                      *["—" if v != v else v for v in row.tolist()])
    out_console.print(table)
    if (distances["distance_status"] != "ok").any():
        out_console.print(f"no data: every value of the group is 'Not reported'; * fewer than {MIN_GROUP_SIZE} "
                          f"members (patients, or series for manufacturer and model): a distance that says little")
    if details or pivot.shape[0] <= 3:
        for attribute_name, part in result.distributions.groupby("attribute", sort=False):
            t = Table(title=f"{attribute_name} ({part['unit'].iloc[0]})")
            t.add_column("group")
            t.add_column("category")
            t.add_column("n", justify="right")
            t.add_column("share", justify="right")
            t.add_column("reference", justify="right")
            for group, category, n, share, ref_share in share_rows(result, attribute_name):
                t.add_row(escape(group), escape(category), f"{n:,}", f"{share:.1%}",
                          "—" if ref_share is None else f"{ref_share:.1%}")
            out_console.print(t)
    from ..bias.charts import save_chart, write_tables

    dist_csv, dists_csv = write_tables(result, out)
    console.print(f"Wrote {escape(str(dist_csv))} and {escape(str(dists_csv))}")
    if not no_chart:
        html, png = save_chart(result, out)
        console.print(f"Chart: {escape(str(html))} (offline HTML) and {escape(str(png))}")
