"""``--instances`` to an explicit list of files, resolved once.

The rule (docs/instance_contract.md, "Which files are read"):

* a file is that file, literally, whatever characters its name holds (``{name}.parquet``,
  ``in st'ances [1].parquet``, ``*.parquet`` when a file has that name);
* a folder is every ``*.parquet`` file below it (recursively), sorted; an ``idc-qc ingest``
  output folder (it holds ``ingest_manifest.json``) is the files of its ``instances/`` folder,
  not its errors and file lists; an ``idc-qc synth`` output folder (``synth_manifest.json``)
  likewise, not its ``truth.parquet``;
* anything else is a glob (``*``, ``?``, ``[...]``, ``**``), expanded only because no file
  or folder of that literal name exists;
* a remote URL (``s3://``, ``gs://``, ``https://`` ...) is passed to DuckDB as given.

The contract check reads exactly these files and dbt is handed exactly these files, as a
list, each one escaped so that DuckDB reads it literally (:func:`duckdb_literal_path`).
"""

from __future__ import annotations

import glob as globlib
import os
from pathlib import Path

from ..errors import ContractError

#: URL schemes passed through to DuckDB unresolved and unchecked by name.
REMOTE_PREFIXES = ("s3://", "s3a://", "s3n://", "gs://", "gcs://", "http://", "https://", "az://", "abfss://",
                   "r2://", "hf://")
#: What marks an ``idc-qc ingest`` output folder (idc_qc/ingest/manifest.py MANIFEST_NAME).
INGEST_MANIFEST = "ingest_manifest.json"
#: The folders of an ``idc-qc ingest`` output (idc_qc/ingest/manifest.py INSTANCES_DIR, FRAMES_DIR).
INGEST_INSTANCES, INGEST_FRAMES = "instances", "frames"
#: What marks an ``idc-qc synth`` output folder (idc_qc/synth_output.py); its parts are in ``instances/`` too.
SYNTH_MANIFEST = "synth_manifest.json"
#: Characters DuckDB's file globbing gives a meaning to.
_DUCKDB_GLOB_CHARS = "*?["


def is_remote(path: str) -> bool:
    return path.lower().startswith(REMOTE_PREFIXES)


def resolve_instances(instances: str | os.PathLike) -> list[str]:
    """The files ``instances`` names: absolute local paths (sorted) or one remote URL.

    Raises
    ------
    ContractError
        When nothing is there: no such file, an empty folder, a glob matching no file.
    """
    text = os.fspath(instances)
    if not text:
        raise ContractError("--instances is empty: give a parquet file, a folder of them or a glob")
    if is_remote(text):
        return [text]
    path = Path(text).expanduser()
    if path.is_file():
        return [os.path.abspath(path)]
    if path.is_dir():
        if ((path / INGEST_MANIFEST).is_file() or (path / SYNTH_MANIFEST).is_file()) and (path / INGEST_INSTANCES).is_dir():
            path = path / INGEST_INSTANCES  # an idc-qc ingest or synth output: its instances, not errors/truth.parquet
        files = sorted(os.path.abspath(p) for p in path.rglob("*.parquet") if p.is_file())
        if not files:
            raise ContractError(f"--instances folder {text!r} holds no .parquet file")
        return files
    if path.exists():
        raise ContractError(f"--instances {text!r} is neither a file nor a folder")
    files = sorted({os.path.abspath(p) for p in globlib.glob(str(path), recursive=True) if os.path.isfile(p)})
    if not files:
        raise ContractError(f"--instances {text!r} matches no file")
    return files


def _output_of(instance_file: str, manifest: str) -> Path | None:
    """The output folder of an idc-qc command (DIR holding ``manifest``) an instance part
    ``DIR/instances/part-N.parquet`` belongs to; None for any other file."""
    if is_remote(instance_file):
        return None
    folder = Path(instance_file).parent
    if folder.name != INGEST_INSTANCES or not (folder.parent / manifest).is_file():
        return None
    return folder.parent


def ingest_output_of(instance_file: str) -> Path | None:
    """The ``idc-qc ingest`` output folder an instance part belongs to (``DIR/instances/part-N.parquet``,
    DIR holding the ingest manifest); None for any other file."""
    return _output_of(instance_file, INGEST_MANIFEST)


def carries_every_attribute(instance_file: str) -> bool:
    """Whether an instance part holds every attribute its instances have, so that a standard
    attribute absent from it is one none of them has (NULL in dicom_all's terms): the parts
    ``idc-qc ingest`` writes (every attribute of the files read) and those ``idc-qc synth``
    writes (every attribute of its synthetic instances, ``DIR/instances/part-N.parquet`` beside
    ``DIR/synth_manifest.json``). A hand-made parquet's missing column says nothing of the kind."""
    return any(_output_of(instance_file, manifest) is not None for manifest in (INGEST_MANIFEST, SYNTH_MANIFEST))


def frame_files(instance_files: list[str]) -> list[str]:
    """The frames table's parts that go with ``instance_files``: for each instance part an
    ``idc-qc ingest`` wrote (``DIR/instances/part-N.parquet``, DIR holding the ingest manifest),
    ``DIR/frames/part-N.parquet`` when it exists (a part without multi-frame objects has none).
    Whatever names the instances (the ingest folder, its ``instances/`` folder, one part, a glob),
    the frames of exactly the instances read come with them; other inputs have none."""
    frames = []
    for name in instance_files:
        output = ingest_output_of(name)
        part = None if output is None else output / INGEST_FRAMES / Path(name).name
        if part is not None and part.is_file():
            frames.append(os.path.abspath(part))
    return frames


def duckdb_literal_path(path: str) -> str:
    """``path`` written so that DuckDB's read_parquet reads that one file, not a glob.

    DuckDB expands ``*``, ``?`` and ``[...]`` in every path it is given; each of them is
    put in a one-character class (``[`` -> ``[[]``, ``*`` -> ``[*]``) which matches only
    itself. Remote URLs are returned unchanged (they may be meant as globs).
    """
    if is_remote(path) or not any(ch in path for ch in _DUCKDB_GLOB_CHARS):
        return path
    return "".join(f"[{ch}]" if ch in _DUCKDB_GLOB_CHARS else ch for ch in path)


def dbt_instances_var(files: list[str]) -> list[str]:
    """The dbt var ``instances``: the resolved files as DuckDB reads them literally.

    The macro idc_qc.source_files (macros/run_var.sql) quotes each one as an SQL string when
    stg_dicom__instances runs; jinja never renders the paths, it only inserts them.
    """
    return [duckdb_literal_path(f) for f in files]
