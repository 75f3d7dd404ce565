"""What a bias result stands on: synthetic input, a local sample of IDC, or IDC's whole index.

Written into the result's chart and into every row of its CSVs (``based_on``), so that a
file passed on alone still says it: a distance computed over 23 patients of a local sample
is not a statement about a collection of IDC.
"""

from __future__ import annotations

#: IDC's series index as the warehouse holds it (models/staging/idc_index).
INDEX_VIEW = "stg_idc_index__series"


def describe_basis(con, tables: set[str], input_kind: str) -> tuple[str, bool]:
    """(one line, is_partial): the input kind, and the series and patients the database
    holds beside IDC's index (``is_partial`` when that is less than the whole index)."""
    held = con.execute("select count(*), count(distinct collection_id || '/' || PatientID) from series").fetchall()[0]
    series, patients = int(held[0]), int(held[1])
    in_index = None
    if INDEX_VIEW in tables:
        try:
            in_index = int(con.execute(f"select count(*) from {INDEX_VIEW}").fetchall()[0][0])
        except Exception:  # noqa: BLE001 - the index parquet may be gone; the line says less
            in_index = None
    holds = f"{series:,} series of {patients:,} patients"
    partial = in_index is not None and series < in_index
    of_idc = f" ({series / in_index:.2%} of the {in_index:,} series in IDC's index)" if partial and in_index else ""
    if input_kind == "synthetic":
        return f"SYNTHETIC input (idc-qc synth), not IDC data: {holds}", True
    if input_kind == "index_only" or (not partial and in_index is not None):
        return f"IDC's index: {holds}", False
    if partial:
        return f"a local sample ({input_kind} instance input): {holds}{of_idc}", True
    return f"{input_kind} input: {holds}", False
