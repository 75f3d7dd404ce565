"""What a DICOMweb ingest reads: the selection, QIDO-RS listings, and the series table of earlier runs.

:func:`list_series` turns a :class:`Selection` (studies, series, a cohort manifest, or every
series) into :class:`Listed` series, each with the token that says whether it changed (the
instance count QIDO-RS lists, or a cohort's ``crdc_series_uuid``). ``series.parquet`` (one row
per series: URL, study, token, status, part, instances) is what a rerun compares with, as the
file ingest's files.parquet (docs/dicomweb.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IdcQcError
from . import manifest as mf
from .dicomweb_client import (
    GONE,
    MALFORMED,
    REFUSED,
    SERIES_INSTANCES,
    SERIES_UID,
    STUDY_UID,
    UNREACHABLE,
    RequestFailed,
    Server,
    value,
)

SERIES_NAME = "series.parquet"


@dataclass
class Selection:
    """What to read from the server."""

    studies: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)
    cohort: Path | None = None
    all: bool = False

    def empty(self) -> bool:
        return not (self.studies or self.series or self.cohort or self.all)

    def as_dict(self) -> dict:
        return {"studies": self.studies, "series": self.series, "all": self.all,
                "cohort": str(Path(self.cohort).absolute()) if self.cohort else None}


@dataclass(frozen=True)
class Listed:
    """One series to read: where, and what says whether it changed since the last run."""

    study: str
    series: str
    url: str
    token: str | None           # instance count listed, or a cohort's crdc_series_uuid
    collection: str | None = None


def list_series(server: Server, selection: Selection) -> tuple[list[Listed], list[dict]]:
    """The series the selection names, each once; and errors rows for what could not be listed.

    Connection failures and refused credentials raise IdcQcError (nothing can be read)."""
    listed: dict[str, Listed] = {}
    problems: list[dict] = []

    def add(item: dict, study: str | None = None, collection: str | None = None, token: str | None = None) -> None:
        study = str(value(item, STUDY_UID) or study or "")
        series = str(value(item, SERIES_UID) or "")
        if not study or not series:
            problems.append({"path": server.url, "kind": MALFORMED,
                             "reason": f"a QIDO-RS match without StudyInstanceUID or SeriesInstanceUID ({series or study})"})
            return
        count = value(item, SERIES_INSTANCES)
        url = server.series_url(study, series)
        listed.setdefault(series, Listed(study, series, url, token or (str(count) if count is not None else None),
                                         collection))

    def query(path: str, params: dict, what: str) -> list[dict]:
        try:
            found, note = server.query(path, params)
        except RequestFailed as failure:
            if failure.kind in (UNREACHABLE, REFUSED):
                raise IdcQcError(_fatal(server, failure)) from None
            problems.append({"path": failure.url, "kind": failure.kind, "reason": f"listing {what}: {failure.reason}"})
            return []
        if note:
            problems.append({"path": f"{server.url}/{path}", "kind": "paging_ignored", "reason": note})
        if not found:
            problems.append({"path": f"{server.url}/{path}", "kind": GONE,
                             "reason": f"the server lists nothing for {what}"})
        return found

    include = {"includefield": SERIES_INSTANCES}
    if selection.all:
        for item in query("series", include, "every series"):
            add(item)
    for study in selection.studies:
        for item in query(f"studies/{study}/series", include, f"study {study}"):
            add(item, study)
    for series in selection.series:
        for item in query("series", {SERIES_UID: series, **include}, f"series {series}"):
            add(item)
    if selection.cohort is not None:
        from ..query.cohort import read_manifest

        for entry in read_manifest(Path(selection.cohort))["series"]:
            uid, study = entry["SeriesInstanceUID"], entry.get("StudyInstanceUID")
            token = entry.get("crdc_series_uuid") or (str(entry["instanceCount"]) if entry.get("instanceCount")
                                                      is not None else None)
            if study:
                add({STUDY_UID: {"Value": [study]}, SERIES_UID: {"Value": [uid]}}, study,
                    entry.get("collection_id"), token)
            else:
                for item in query("series", {SERIES_UID: uid, **include}, f"series {uid}"):
                    add(item, collection=entry.get("collection_id"), token=token)
    return list(listed.values()), problems


def _fatal(server: Server, failure: RequestFailed) -> str:
    if failure.kind == REFUSED:
        return (f"{server.url}: {failure.reason}; set IDC_QC_DICOMWEB_TOKEN (or --token-file), or "
                "IDC_QC_DICOMWEB_USER and IDC_QC_DICOMWEB_PASSWORD, to credentials the server accepts")
    return f"cannot reach {server.url}: {failure.reason}; is the server running and the URL right?"


# ----------------------------------------------------------------------------------------------
# the series table: what the last runs read (the file ingest's files.parquet, per series)


@dataclass(frozen=True)
class SeriesRecord:
    study: str
    token: str | None
    status: str
    part: str | None
    instances: int


def read_series_table(out: Path) -> dict[str, SeriesRecord]:
    import pyarrow.parquet as pq

    path = out / SERIES_NAME
    if not path.is_file():
        return {}
    t = pq.ParquetFile(path).read().to_pydict()
    return {u: SeriesRecord(s, tok, st, p, n) for u, s, tok, st, p, n in
            zip(t["series_url"], t["StudyInstanceUID"], t["token"], t["status"], t["part"], t["instances"])}


def write_series_table(out: Path, records: dict[str, SeriesRecord]) -> None:
    import pyarrow as pa

    urls = sorted(records)
    r = [records[u] for u in urls]
    table = pa.table({"series_url": pa.array(urls, pa.string()),
                      "StudyInstanceUID": pa.array([x.study for x in r], pa.string()),
                      "token": pa.array([x.token for x in r], pa.string()),
                      "status": pa.array([x.status for x in r], pa.string()),
                      "part": pa.array([x.part for x in r], pa.string()),
                      "instances": pa.array([x.instances for x in r], pa.int64())})
    mf._atomic_parquet(table, out / SERIES_NAME)
