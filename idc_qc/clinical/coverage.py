"""Read the coverage summary of a built database (rpt_clinical_coverage_summary)."""

from __future__ import annotations

from pathlib import Path

from ..errors import IdcQcError


def read_coverage(db: Path, collection_like: str | None = None):
    """(DataFrame of rpt_clinical_coverage_summary, warnings); '(all)' last.

    With ``collection_like`` the '(all)' row is left out: it sums every collection, and
    the figures of a subset come from rpt_clinical_coverage (``idc-qc export``).
    """
    from ..warehouse import open_warehouse

    with open_warehouse(Path(db)) as wh:
        if "rpt_clinical_coverage_summary" not in wh.tables():
            raise IdcQcError(f"{db} has no rpt_clinical_coverage_summary: register clinical data "
                             "(`idc-qc clinical add`) and build it (`idc-qc build -s +rpt_clinical_coverage_summary`)")
        sql = "select * from rpt_clinical_coverage_summary"
        params: list = []
        if collection_like:
            sql += " where collection_id like ?"
            params.append(collection_like)
        sql += " order by collection_id = '(all)', collection_id"
        frame = wh.con.execute(sql, params).df()
        return frame, list(wh.warnings)
