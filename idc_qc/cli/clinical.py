"""`idc-qc clinical`: register clinical tables (IDC's clinical shape) and show their coverage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .app import console
from ..paths import DEFAULT_DB
from .options import DbOption

app = typer.Typer(
    name="clinical",
    help=("Clinical data beside the images, in IDC's idc_vNN_clinical shape.\n\n"
          "Example: idc-qc clinical add tcga.csv --patient-id-column bcr_patient_barcode "
          "--collection-column acronym --collection-prefix tcga_"),
    no_args_is_help=True,
)

StoreOption = Annotated[
    Optional[Path],
    typer.Option("--store", "--clinical", envvar="IDC_QC_CLINICAL_DIR",
                 help="Clinical store folder. Default: the store of --db, named after it (build/idc_qc.duckdb -> "
                      "build/idc_qc.clinical/), which `idc-qc build --db` of that database reads and no other."),
]


@app.command()
def add(
    file: Annotated[Path, typer.Argument(help="Clinical table: CSV (any delimiter, UTF-8 or Latin-1) or parquet.")],
    patient_id_column: Annotated[str, typer.Option("--patient-id-column", "-p",
                                                   help="Column holding DICOM PatientID (IDC's dicom_patient_id).")],
    collection: Annotated[Optional[str], typer.Option("--collection", "-c",
                                                      help="IDC collection every row belongs to, e.g. tcga_brca.")] = None,
    collection_column: Annotated[Optional[str], typer.Option(
        "--collection-column", help="Column naming each row's collection (lower-cased; see --collection-prefix).")] = None,
    collection_prefix: Annotated[str, typer.Option(
        "--collection-prefix", help="Put before --collection-column's value, e.g. tcga_ (BRCA -> tcga_brca).")] = "",
    collection_from_index: Annotated[bool, typer.Option(
        "--collection-from-index", help="Place each row by looking its patient ID up in IDC's index "
                                        "(alone, or for the rows --collection-column cannot place).")] = False,
    dictionary: Annotated[Optional[Path], typer.Option(
        "--dictionary", help="Column dictionary CSV: column, label, data_type, concept, values (code=text;...). "
                             "Inferred when omitted.")] = None,
    db: DbOption = DEFAULT_DB,
    store: StoreOption = None,
    table_suffix: Annotated[str, typer.Option("--table-suffix", help="Tables are named <collection>_<suffix>.",
                                              rich_help_panel="Advanced")] = "clinical",
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="CSV encoding (default: UTF-8, else Latin-1).",
                                                    rich_help_panel="Advanced")] = None,
    allow_unknown_collection: Annotated[bool, typer.Option(
        "--allow-unknown-collection", help="Accept collections that are not in IDC's index (an archive of your own).",
        rich_help_panel="Advanced")] = False,
) -> None:
    """Register a clinical table: one table per collection keyed by dicom_patient_id, with its dictionary.

    Every row is accounted for: written to a collection's table, or kept in
    rejected_rows.parquet with the reason. Registering the same table again replaces it.
    Then `idc-qc build` builds patient_clinical and the coverage and bias tables from it.

    Example: idc-qc clinical add tcga_pancan_clinical.csv -p bcr_patient_barcode --collection-column acronym --collection-prefix tcga_ --collection-from-index

    (TCGA Pan-Cancer clinical data: the acronym says the collection, BRCA -> tcga_brca; the
    index places the rows without one.)
    """
    from ..clinical import default_store_for, register

    target = store or default_store_for(db)
    result = register(file, target, patient_id_column=patient_id_column, collection=collection,
                      collection_column=collection_column, collection_prefix=collection_prefix,
                      collection_from_index=collection_from_index, dictionary=dictionary, table_suffix=table_suffix,
                      encoding=encoding, allow_unknown_collection=allow_unknown_collection)
    for notice in result.notices:
        console.print(f"[yellow]Note:[/] {escape(notice)}")
    console.print(f"Read {result.rows_read:,} rows from {escape(str(file))} ({result.encoding}"
                  f"{f', {result.blank_lines} blank lines skipped' if result.blank_lines else ''}): "
                  f"[bold]{result.rows_written:,}[/] written to {len(result.tables)} table(s) in {escape(str(target))}, "
                  f"{result.rows_rejected:,} rejected")
    if result.rejected_reasons:
        console.print("  rejected: " + ", ".join(f"{k} ({v:,})" for k, v in sorted(result.rejected_reasons.items()))
                      + f"  (see {escape(str(target / 'rejected_rows.parquet'))})")
    if result.replaced_tables:
        console.print(f"  replaced {len(result.replaced_tables)} earlier table(s) of the same name")
    concepts = next(iter(result.concepts.values()), {})
    if concepts:
        console.print("  demographics read from: " + ", ".join(f"{k} <- {escape(v)}" for k, v in sorted(concepts.items())))
    else:
        console.print("  [yellow]no column was recognized as sex, age, race, ethnicity or vital status[/] "
                      "(give a --dictionary with a concept column)")
    from ..database.files import clinical_store

    scoped = "" if store is None or Path(store).resolve() == clinical_store(db) else f" --clinical {escape(str(target))}"
    console.print(f"Next: idc-qc build --db {escape(str(db))}{scoped} -s \"+patient_clinical+ +rpt_bias_census_reference\"")


@app.command()
def coverage(
    db: DbOption = DEFAULT_DB,
    collection: Annotated[Optional[str], typer.Option("--collection", "-c",
                                                      help="Only collections matching this SQL LIKE pattern, e.g. tcga_%.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Also write the table as CSV.")] = None,
) -> None:
    """Coverage of the clinical data per collection: imaging only, clinical only, both, duplicates.

    Reads rpt_clinical_coverage_summary of a built database (per-patient rows are in
    rpt_clinical_coverage: `idc-qc export rpt_clinical_coverage -o coverage.csv`).

    Example: idc-qc clinical coverage --collection 'tcga_%'
    """
    from rich.table import Table

    from ..clinical.coverage import read_coverage

    frame, warnings = read_coverage(db, collection)
    for warning in warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    table = Table(title=f"Clinical coverage ({escape(str(db))})")
    labels = {"collection_id": "collection", "patients_with_imaging": "with images", "patients_with_clinical": "with clinical",
              "imaging_and_clinical": "both", "ct_mr_pt_and_clinical": "CT/MR/PT + clinical",
              "imaging_only": "images only", "clinical_only": "clinical only",
              "clinical_only_matching_other_collection": "ID in other collection",
              "patients_with_duplicate_clinical_rows": "duplicated", "sex_conflicts": "sex conflicts",
              "age_conflicts": "age conflicts"}
    for column in labels:
        table.add_column(labels[column], justify="left" if column == "collection_id" else "right",
                         no_wrap=column == "collection_id")
    for row in frame.itertuples(index=False):
        values = row._asdict()
        table.add_row(*[escape(str(values[c])) if c == "collection_id" else f"{int(values[c]):,}" for c in labels],
                      style="bold" if values["collection_id"] == "(all)" else None)
    from rich.console import Console

    Console().print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False)
        console.print(f"Wrote {escape(str(out))}")
