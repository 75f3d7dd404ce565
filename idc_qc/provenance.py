"""Where a build's input came from, so that nothing shown from a synthetic build passes for a finding.

``idc-qc synth`` marks what it writes (footer key-value metadata ``idc_qc.input_kind =
synthetic`` in every parquet file, and ``input_kind`` in its ``synth_manifest.json``; older
runs are known by the ``generator`` of their ``manifest.json``). ``idc-qc build`` reads the
marks (:func:`detect_input`), passes them to dbt as vars (``input_kind``, ``input_detail``)
and the one-row model ``rpt_build_context`` keeps them in the database. Readers (the build
summary, ``upset``, ``dashboard``) call :func:`read_build_context`; a database without that
table is ``unknown``, never assumed real.

Kinds: ``synthetic`` (idc-qc synth: geometry and faults injected, not found), ``dicom``
(instance metadata with no synthetic mark: real DICOM headers or an IDC export, as far as
idc-qc can tell; ``idc-qc ingest`` output says which files, from its ingest_manifest.json), ``index_only`` (no instances: IDC's series index alone), ``unknown``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

INPUT_KINDS = ("synthetic", "dicom", "index_only", "unknown")
#: The footer key synth writes (idc_qc/synth.py PARQUET_PROVENANCE).
PARQUET_KEY = "idc_qc.input_kind"
SYNTH_GENERATOR = "idc_qc.synth"
_MANIFESTS = ("synth_manifest.json", "manifest.json")
#: What ``idc-qc ingest`` writes beside its instances (idc_qc/instances/files.py INGEST_MANIFEST).
_INGEST_MANIFEST = "ingest_manifest.json"
#: Files whose footers are read; synth marks every file, so a few tell.
_FOOTERS_READ = 8

SYNTHETIC_NOTICE = "SYNTHETIC INPUT (idc-qc synth): geometry faults were injected, not found in IDC data"


@dataclass(frozen=True)
class InputProvenance:
    kind: str
    detail: str = ""

    @property
    def is_synthetic(self) -> bool:
        return self.kind == "synthetic"

    def dbt_vars(self) -> dict[str, str]:
        return {"input_kind": self.kind, "input_detail": self.detail}


def _synth_manifest(folder: Path) -> dict | None:
    for name in _MANIFESTS:
        path = folder / name
        if path.is_file():
            try:
                manifest = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(manifest, dict) and manifest.get("generator") == SYNTH_GENERATOR:
                return manifest
    return None


def _ingest_manifest(folder: Path) -> str | None:
    """``input_detail`` of an ``idc-qc ingest`` output folder: DICOM files, read from where."""
    try:
        manifest = json.loads((folder / _INGEST_MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("generator") != "idc_qc.ingest":
        return None
    counts = manifest.get("counts") or {}
    inputs = ", ".join(str(p) for p in (manifest.get("inputs") or [])[:3])
    if manifest.get("source") == "dicomweb":  # idc_qc.ingest.dicomweb: counts are series and instance rows
        return (f"DICOM instance metadata read by idc-qc ingest over DICOMweb from {manifest.get('server') or inputs} "
                f"({int(counts.get('instance_rows', 0)):,} instances of {int(counts.get('series_read', 0)):,} series, "
                f"{int(counts.get('series_failed', 0)):,} series failed; {manifest.get('finished', '')}) into {folder}")
    return (f"DICOM files read by idc-qc ingest from {inputs} ({int(counts.get('read', 0)):,} files read, "
            f"{int(counts.get('skipped', 0)) + int(counts.get('failed', 0)):,} skipped or failed; "
            f"{manifest.get('finished', '')}) into {folder}")


def _describe_manifest(manifest: dict, folder: Path) -> str:
    parts = [f"idc-qc synth run in {folder}"]
    if manifest.get("seed") is not None:
        parts.append(f"seed {manifest['seed']}")
    if manifest.get("series") is not None:
        parts.append(f"{int(manifest['series']):,} series")
    faults = manifest.get("faults")
    if isinstance(faults, dict):
        injected = sum(int(n) for label, n in faults.items() if label != "none")
        parts.append(f"{injected:,} series with injected faults")
    return "; ".join(parts)


def detect_input(files: list[str] | None) -> InputProvenance:
    """The provenance of an input given as the list of parquet files a build reads
    (None: the index alone). Local files only; a remote path (gs://, https://) is ``unknown``
    unless it is marked by a synth manifest we can read."""
    if not files:
        return InputProvenance("index_only", "IDC series index (idc-index-data), no instance metadata")
    local = [Path(f) for f in files if "://" not in str(f)]
    if not local:
        return InputProvenance("unknown", "remote instance files: provenance not read")
    for folder in dict.fromkeys(p.parent for p in local):
        for candidate in (folder, folder.parent):
            manifest = _synth_manifest(candidate)
            if manifest is not None:
                return InputProvenance("synthetic", _describe_manifest(manifest, candidate))
    for folder in dict.fromkeys(p.parent for p in local):
        for candidate in (folder, folder.parent):
            ingested = _ingest_manifest(candidate)
            if ingested is not None:
                return InputProvenance("dicom", ingested)
    import pyarrow.parquet as pq

    readable = 0
    for path in local[:_FOOTERS_READ]:
        try:
            metadata = pq.read_metadata(path).metadata or {}
        except (OSError, ValueError):
            continue
        readable += 1
        if metadata.get(PARQUET_KEY.encode()) == b"synthetic":
            return InputProvenance("synthetic", f"parquet files marked {PARQUET_KEY}=synthetic ({path.parent})")
    if not readable:
        return InputProvenance("unknown", "instance files could not be read for provenance")
    return InputProvenance("dicom", f"instance metadata with no synthetic mark ({len(files)} file(s))")


@dataclass(frozen=True)
class BuildContext:
    """What ``rpt_build_context`` says about a database (``unknown`` without it)."""

    input_kind: str = "unknown"
    input_detail: str = ""

    @property
    def is_synthetic(self) -> bool:
        return self.input_kind == "synthetic"

    @property
    def notice(self) -> str | None:
        """The line every page, chart and summary of a synthetic build carries; None otherwise."""
        return SYNTHETIC_NOTICE if self.is_synthetic else None

    @property
    def label(self) -> str:
        return {"synthetic": "synthetic input (faults injected)", "dicom": "DICOM metadata",
                "index_only": "IDC index only", "unknown": "input of unknown provenance"}.get(self.input_kind,
                                                                                             self.input_kind)


def read_build_context(con, record=None) -> BuildContext:
    """The build context of an open DuckDB connection (rpt_build_context), or ``unknown``.

    The one reader of ``input_kind`` (check, report, bias, the build summary, the demo). When a
    partial build left the table out, the build record (``record``: an
    idc_qc.warehouse.BuildRecord) says whether instances were given: a build without instances is
    ``index_only`` (``idc-qc release run vNN -s +series``); else ``unknown``. A table of another
    shape is ``unknown``, never a crash."""
    import duckdb

    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'main' and table_name = 'rpt_build_context'"
    ).fetchone()[0]
    if not exists:
        if record is not None and not getattr(record, "instances", None):
            return BuildContext(input_kind="index_only")
        return BuildContext()
    try:
        columns = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'main' "
            "and table_name = 'rpt_build_context'").fetchall()}
        detail = "input_detail" if "input_detail" in columns else "''"
        row = con.execute(f"select input_kind, {detail} from rpt_build_context limit 1").fetchone()
    except duckdb.Error:
        return BuildContext()
    if row is None:
        return BuildContext()
    kind = row[0] if row[0] in INPUT_KINDS else "unknown"
    return BuildContext(input_kind=kind, input_detail=row[1] or "")
