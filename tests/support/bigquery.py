"""Helpers for the BigQuery test group: fake credentials, the bqemulator process, inputs
shaped like IDC's tables, builds on both engines and a row-by-row comparison.

Nothing here needs a Google account or the internet. See docs/bigquery.md.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from support.servers import free_port, stop_process

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "idc_qc" / "testing" / "bqemulator_launcher.py"

#: Project the emulator serves; IDC's public project is replaced by it through the dbt var
#: ``idc_bigquery_project``, so dicom_all lives at ``<EMULATOR_PROJECT>.idc_v25.dicom_all``.
EMULATOR_PROJECT = "test-project"
IDC_RELEASE = "25"
INDEX_DATASET = "idc_qc_index"


# --------------------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------------------


def write_fake_service_account_key(path: Path, project: str = "idc-qc-offline") -> Path:
    """A syntactically valid service-account key with a throwaway RSA key (never usable)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    email = f"idc-qc-offline@{project}.iam.gserviceaccount.com"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project,
                "private_key_id": "0" * 40,
                "private_key": pem,
                "client_email": email,
                "client_id": "1" * 21,
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": "https://oauth2.googleapis.com/token",
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email}",
                "universe_domain": "googleapis.com",
            }
        )
    )
    return path


# --------------------------------------------------------------------------------------
# DuckDB-only syntax that must not survive into BigQuery SQL
# --------------------------------------------------------------------------------------

#: (check id, pattern, why BigQuery rejects it). Applied to compiled SQL with comments and
#: string literals removed.
DUCKDB_ONLY_SYNTAX: list[tuple[str, str, str]] = [
    ("double_colon_cast", r"::", "`x::type` casts are DuckDB/Postgres; BigQuery needs cast(x as type)"),
    ("arrow_lambda", r"->", "`x -> expr` lambdas (and JSON arrows) do not exist in BigQuery"),
    ("lambda_keyword", r"\blambda\b", "DuckDB `lambda x:` syntax"),
    ("list_function", r"\blist_\w+\s*\(", "list_* functions are DuckDB's (BigQuery: unnest / array subqueries)"),
    ("len_function", r"\blen\s*\(", "len() is DuckDB; BigQuery has array_length / length"),
    ("read_parquet", r"\bread_parquet\s*\(", "table functions over files are DuckDB-only"),
    ("try_cast", r"\btry_cast\s*\(", "BigQuery spells it safe_cast"),
    ("regexp_matches", r"\bregexp_matches\s*\(", "BigQuery: regexp_contains"),
    ("regexp_full_match", r"\bregexp_full_match\s*\(", "BigQuery: regexp_contains with anchors"),
    ("varchar_type", r"\bvarchar\b", "BigQuery has STRING, not VARCHAR"),
    ("double_type", r"\bdouble\b", "BigQuery has FLOAT64, not DOUBLE"),
    ("array_type_suffix", r"\w\[\]", "`type[]` array types are DuckDB; BigQuery writes array<type>"),
    ("list_literal_brace", r"\{\s*'", "DuckDB struct literals {'a': 1}"),
    ("isfinite", r"\bisfinite\s*\(", "BigQuery: is_inf / is_nan"),
    ("ilike", r"\bilike\b", "BigQuery has no ILIKE"),
    ("qualify_star_exclude", r"\*\s*exclude\b", "DuckDB `* exclude`; BigQuery writes `* except`"),
    ("string_agg_order_in_args", r"\bstring_split\s*\(", "DuckDB string_split; BigQuery split"),
    ("unnest_column_alias", r"\bunnest\s*\([^)]*\)\s+as\s+\w+\s*\(", "DuckDB `unnest(x) as t(col)`"),
]


def strip_comments_and_strings(sql: str) -> str:
    """The SQL with comments and string literals blanked (raw strings included)."""
    out = re.sub(r"--[^\n]*", " ", sql)
    out = re.sub(r"/\*.*?\*/", " ", out, flags=re.S)
    out = re.sub(r"#[^\n]*", " ", out)
    out = re.sub(r"[rRbB]?'''.*?'''|[rRbB]?\"\"\".*?\"\"\"", "''", out, flags=re.S)
    out = re.sub(r"[rRbB]?'(?:\\.|[^'\\])*'", "''", out)
    out = re.sub(r"[rRbB]?\"(?:\\.|[^\"\\])*\"", "''", out)
    return out


# --------------------------------------------------------------------------------------
# The emulator process
# --------------------------------------------------------------------------------------


def emulator_python() -> Path:
    """Python of the bqemulator venv: $IDC_QC_BQEMU_PYTHON, else <repo>/.venv-bqemu/bin/python."""
    return Path(os.environ.get("IDC_QC_BQEMU_PYTHON") or REPO / ".venv-bqemu" / "bin" / "python")


def emulator_unavailable_reason() -> str | None:
    """Why the emulator cannot start here, or None when it can."""
    python = emulator_python()
    if not python.exists():
        return (
            f"bqemulator venv not found at {python} (create it with the set-up script, or point "
            "IDC_QC_BQEMU_PYTHON at a python that has bqemulator==1.4.0)"
        )
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@dataclass
class Emulator:
    """A running bqemulator on a loopback port (stop() ends only this process)."""

    process: subprocess.Popen[str]
    port: int
    log_path: Path
    project: str = EMULATOR_PROJECT

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        from idc_qc.bigquery import make_client

        return make_client(self.project, api_endpoint=self.endpoint, anonymous=True, location="US")

    def stop(self) -> None:
        stop_process(self.process, grace=10)


def start_emulator(log_dir: Path, timeout: float = 60.0) -> Emulator:
    """Start bqemulator through the offline launcher and wait until its REST API answers."""
    port = free_port()
    log_path = log_dir / "bqemulator.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [str(emulator_python()), str(LAUNCHER), "--rest-port", str(port), "--project", EMULATOR_PROJECT],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "DO_NOT_TRACK": "1"},
    )
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        if line.startswith("BQEMULATOR_READY"):
            return Emulator(process=process, port=port, log_path=log_path)
        if line.startswith("BQEMULATOR_TIMEOUT"):
            break
    process.kill()
    tail = log_path.read_text()[-3000:] if log_path.exists() else ""
    raise RuntimeError(f"bqemulator did not start on port {port}; its log ends with:\n{tail}")


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def instance_columns_used() -> list[str]:
    """The dicom_all columns staging reads: the declared instance schema (a unit test keeps
    stg_dicom__instances.sql equal to it)."""
    from idc_qc.instances.schema import COLUMNS

    return [c.name for c in COLUMNS]


def absent_instance_columns(parquet: Path) -> list[str]:
    import pyarrow.parquet as pq

    present = set(pq.read_schema(parquet).names)
    return [c for c in instance_columns_used() if c not in present]


def write_index_subset(dest: Path, keep_series: Iterable[str], extra_series: int = 40) -> Path:
    """A folder shaped like idc-index-data with a deterministic subset of its rows.

    idc_index and prior_versions_index keep the series in ``keep_series`` plus the first
    ``extra_series`` of each ordered by SeriesInstanceUID (among them series present in
    both, so the release-history join is exercised); the small tables are copied whole.
    """
    import duckdb

    from idc_qc.paths import idc_index_dir

    src = idc_index_dir()
    dest.mkdir(parents=True, exist_ok=True)
    keep = sorted(set(keep_series))
    con = duckdb.connect()
    con.execute("create temp table keep_series(SeriesInstanceUID varchar)")
    if keep:
        con.executemany("insert into keep_series values (?)", [[k] for k in keep])
    idx, prior = f"'{src}/idc_index.parquet'", f"'{src}/prior_versions_index.parquet'"
    con.execute(
        f"""
        create temp table chosen as
        select SeriesInstanceUID from keep_series
        union select * from (select SeriesInstanceUID from {idx} order by SeriesInstanceUID limit {extra_series})
        union select * from (select SeriesInstanceUID from {prior} order by SeriesInstanceUID limit {extra_series})
        union select * from (
            select p.SeriesInstanceUID from {prior} as p join {idx} as i using (SeriesInstanceUID)
            order by p.SeriesInstanceUID limit {extra_series // 2})
        """
    )
    for name, table in (("idc_index", idx), ("prior_versions_index", prior)):
        con.execute(
            f"copy (select * from {table} where SeriesInstanceUID in (select SeriesInstanceUID from chosen) "
            f"order by SeriesInstanceUID) to '{dest}/{name}.parquet' (format parquet)"
        )
    for name in ("collections_index", "version_metadata_index", "analysis_results_index"):
        shutil.copy(src / f"{name}.parquet", dest / f"{name}.parquet")
    return dest


def index_series_sample(n: int = 4) -> list[dict[str, Any]]:
    """The first ``n`` CT series of the installed index (ordered by UID), for synthetic rows."""
    import duckdb

    from idc_qc.paths import idc_index_dir

    con = duckdb.connect()
    rows = con.execute(
        f"""select SeriesInstanceUID, StudyInstanceUID, PatientID, collection_id
            from '{idc_index_dir()}/idc_index.parquet' where Modality = 'CT'
            order by SeriesInstanceUID limit {n}"""
    ).fetchall()
    return [dict(zip(["SeriesInstanceUID", "StudyInstanceUID", "PatientID", "collection_id"], r)) for r in rows]


def write_synthetic_instances(path: Path, index_series: list[dict[str, Any]]) -> Path:
    """A small dicom_all-shaped parquet with geometry cases and one extra unused column.

    Series: a regular axial CT stack, one with a missing slice, one oblique, one with
    repeated positions (4D), and two series outside IDC's index (one a localizer, one an
    MR with malformed PatientAge and spelled-out sex), then five with one faulty instance each
    (duplicate, off-axis, other orientation, localizer inside a volume, malformed positions).
    The first four reuse the UIDs of real index series so the index joins are exercised.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    ct, mr = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"
    rows: list[dict[str, Any]] = []

    def fmt(v: float) -> str:
        return f"{v:.6g}"

    def add_series(uid: str, study: str, patient: str, collection: str, *, n: int, spacing: float,
                   iop: list[float], skip: set[int] = frozenset(), repeat: int = 1, modality: str = "CT",
                   sop: str = ct, image_type: list[str] | None = None, age: str = "064Y", sex: str = "M",
                   manufacturer: str = "GE MEDICAL SYSTEMS", tilt: str | None = None) -> None:
        row_dir, col_dir = iop[:3], iop[3:]
        normal = [row_dir[1] * col_dir[2] - row_dir[2] * col_dir[1],
                  row_dir[2] * col_dir[0] - row_dir[0] * col_dir[2],
                  row_dir[0] * col_dir[1] - row_dir[1] * col_dir[0]]
        k = 0
        for r in range(repeat):
            for i in range(n):
                if i in skip:
                    continue
                k += 1
                pos = [-120.5 + normal[0] * spacing * i, -130.25 + normal[1] * spacing * i, 40.0 + normal[2] * spacing * i]
                rows.append({
                    "SeriesInstanceUID": uid, "SOPInstanceUID": f"{uid}.{k}", "SOPClassUID": sop,
                    "StudyInstanceUID": study, "PatientID": patient, "collection_id": collection,
                    "Modality": modality, "Manufacturer": manufacturer, "ManufacturerModelName": "Model X",
                    "BodyPartExamined": "chest ", "PatientAge": age, "PatientSex": sex,
                    "SeriesDescription": f"synthetic {uid[-6:]}", "ImageType": image_type or ["ORIGINAL", "PRIMARY", "AXIAL"],
                    "ImagePositionPatient": [fmt(p) for p in pos], "ImageOrientationPatient": [fmt(v) for v in iop],
                    "PixelSpacing": ["0.703125", "0.703125"], "Rows": 512, "Columns": 512, "NumberOfFrames": None,
                    "SliceThickness": fmt(spacing), "SpacingBetweenSlices": None, "GantryDetectorTilt": tilt,
                    "InstanceNumber": str(k), "AcquisitionNumber": str(r + 1), "TemporalPositionIdentifier": str(r + 1) if repeat > 1 else None,
                    "EchoTime": None, "DiffusionBValue": None,
                    # not read by idc-qc: must not be read either (column projection)
                    "SliceLocation": fmt(pos[2]), "unused_payload": "x" * 64,
                })

    axial = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    oblique = [0.60883, 0.790737, 0.063724, -0.142762, 0.188227, -0.971694]
    s = index_series + [dict(SeriesInstanceUID=f"2.25.99990000{i}", StudyInstanceUID=f"2.25.88880000{i}",
                             PatientID=f"SYN-{i}", collection_id="synthetic") for i in range(11)]
    add_series(**_ids(s[0]), n=12, spacing=2.5, iop=axial)
    add_series(**_ids(s[1]), n=10, spacing=1.25, iop=axial, skip={4}, manufacturer="SIEMENS", sex="F", age="071Y")
    add_series(**_ids(s[2]), n=9, spacing=4.0, iop=oblique, manufacturer="Philips Medical Systems", age="")
    add_series(**_ids(s[3]), n=6, spacing=3.0, iop=axial, repeat=3, manufacturer="TOSHIBA", tilt="15.5")
    add_series(**_ids(s[4]), n=3, spacing=0.0, iop=axial, image_type=["ORIGINAL", "PRIMARY", "LOCALIZER"])
    add_series(**_ids(s[5]), n=5, spacing=5.0, iop=[0.0, 1.0, 0.0, 0.0, 0.0, -1.0], modality="MR", sop=mr,
               age="65", sex="female", manufacturer="ge_medical_systems")

    # Series whose faults are single instances, so that instance_geometry has rows of every
    # kind to compare between engines: a duplicate, an off-axis slice, another orientation,
    # a localizer inside a volume, malformed positions.
    def series_rows(series: dict[str, Any]) -> list[dict[str, Any]]:
        return [row for row in rows if row["SeriesInstanceUID"] == series["SeriesInstanceUID"]]

    def copy_of(row: dict[str, Any], k: int, **changes: Any) -> dict[str, Any]:
        return {**row, "SOPInstanceUID": f"{row['SeriesInstanceUID']}.{k}", "InstanceNumber": str(k), **changes}

    add_series(**_ids(s[6]), n=8, spacing=2.0, iop=axial)
    duplicated = series_rows(s[6])
    rows.append(copy_of(duplicated[3], 9))
    add_series(**_ids(s[7]), n=8, spacing=2.0, iop=axial)
    shifted = series_rows(s[7])[5]
    shifted["ImagePositionPatient"] = [fmt(float(shifted["ImagePositionPatient"][0]) + 3.0), *shifted["ImagePositionPatient"][1:]]
    add_series(**_ids(s[8]), n=8, spacing=2.0, iop=axial)
    series_rows(s[8])[2]["ImageOrientationPatient"] = ["0.996195", "0.0871557", "0", "-0.0871557", "0.996195", "0"]
    add_series(**_ids(s[9]), n=8, spacing=2.0, iop=axial)
    rows.append(copy_of(series_rows(s[9])[0], 9, ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"],
                        ImageOrientationPatient=["0", "1", "0", "0", "0", "-1"]))
    add_series(**_ids(s[10]), n=8, spacing=2.0, iop=axial)
    series_rows(s[10])[4]["ImagePositionPatient"] = ["-120.5", "abc", "50"]
    series_rows(s[10])[6]["ImagePositionPatient"] = ["-120.5", "-130.25"]

    from idc_qc.instances.schema import BY_NAME, arrow_type

    # Contract columns get their declared types; the extra columns (not read) are strings.
    schema = pa.schema([(name, arrow_type(BY_NAME[name].kind) if name in BY_NAME else pa.string())
                        for name in rows[0]])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _ids(series: dict[str, Any]) -> dict[str, Any]:
    return {"uid": series["SeriesInstanceUID"], "study": series["StudyInstanceUID"],
            "patient": series["PatientID"], "collection": series["collection_id"]}


# --------------------------------------------------------------------------------------
# Builds
# --------------------------------------------------------------------------------------


@dataclass
class Build:
    """One engine's build of every model: relation names by model name."""

    engine: str
    relations: dict[str, str]
    work_dir: Path


def _model_relations(manifest_path: Path) -> dict[str, str]:
    manifest = json.loads(manifest_path.read_text())
    return {
        n["name"]: n["relation_name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n.get("package_name") == "idc_qc" and n.get("relation_name")
    }


def build_duckdb(work_dir: Path, instances: Path, index_dir: Path, absent: list[str]) -> Build:
    from idc_qc.dbt_runner import dbt_vars, parse_project, run_dbt
    from idc_qc.instances import dbt_instances_var

    db_path = work_dir / "idc_qc.duckdb"
    vars = dbt_vars(instances=dbt_instances_var([str(instances)]), absent_columns=absent, idc_index_dir=str(index_dir))
    manifest = parse_project(db_path=db_path, vars=vars)  # parsed once (cached), for both commands
    for command in ("seed", "run"):
        run_dbt(command, db_path=db_path, vars=vars, manifest=manifest)
    return Build("duckdb", _model_relations(db_path.parent / "dbt" / "target" / "manifest.json"), work_dir)


def emulator_env(emulator: Emulator, dataset: str) -> dict[str, str]:
    return {
        "IDC_QC_BQEMU_ENDPOINT": emulator.endpoint,
        "IDC_QC_BQEMU_PROJECT": emulator.project,
        "IDC_QC_BQEMU_DATASET": dataset,
    }


def emulator_vars(emulator: Emulator, absent: list[str]) -> dict[str, Any]:
    return {
        "idc_bigquery_project": emulator.project,
        "idc_release": IDC_RELEASE,
        "idc_index_bigquery_dataset": INDEX_DATASET,
        "instance_columns_absent": absent,
    }


def build_emulator(emulator: Emulator, work_dir: Path, dataset: str, absent: list[str]) -> Build:
    """dbt seed + run with target bqemulator (dbt-bigquery through ``api_endpoint``)."""
    from idc_qc.dbt_runner import parse_project, run_dbt

    placeholder = work_dir / "bqemulator.placeholder"
    env = emulator_env(emulator, dataset)
    vars = emulator_vars(emulator, absent)
    manifest = parse_project(db_path=placeholder, target="bqemulator", vars=vars, env=env)  # once, for both commands
    for command in ("seed", "run"):
        run_dbt(command, db_path=placeholder, target="bqemulator", vars=vars, env=env, extra_args=["--threads", "4"],
                manifest=manifest)
    return Build("bqemulator", _model_relations(work_dir / "dbt" / "target" / "manifest.json"), work_dir)


def load_instances(emulator: Emulator, parquet: Path) -> int:
    from idc_qc.bigquery import load_parquet

    client = emulator.client()
    table_id = f"{emulator.project}.idc_v{IDC_RELEASE}.dicom_all"
    client.create_dataset(f"{emulator.project}.idc_v{IDC_RELEASE}", exists_ok=True)
    # bqemulator keeps the old columns on WRITE_TRUNCATE with a new schema (BigQuery
    # replaces them), so the table is dropped first.
    client.delete_table(table_id, not_found_ok=True)
    return load_parquet(client, parquet, table_id)


# --------------------------------------------------------------------------------------
# Fetch and compare
# --------------------------------------------------------------------------------------


def fetch_duckdb(build: Build, model: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    import duckdb

    con = duckdb.connect(str(build.work_dir / "idc_qc.duckdb"), read_only=True)
    try:
        cursor = con.execute(f"select * from {build.relations[model]}")
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()
    finally:
        con.close()


def fetch_bigquery(client: Any, relation: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = client.query(f"select * from {relation}").result()
    columns = [f.name for f in result.schema]
    return columns, [tuple(row.values()) for row in result]


def _normalize(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    def key(v: Any) -> tuple[int, Any]:
        if v is None:
            return (0, "")
        if isinstance(v, bool):
            return (1, int(v))
        if isinstance(v, (int, float)):
            return (2, 0.0 if isinstance(v, float) and math.isnan(v) else float(f"{v:.6g}"))
        if isinstance(v, list):
            return (3, repr([key(x) for x in v]))
        return (4, str(v))

    return tuple(key(v) for v in row)


def values_equal(a: Any, b: Any, rel_tol: float = 1e-9, abs_tol: float = 1e-9) -> bool:
    """Equality across engines. A NULL array equals an empty one: BigQuery cannot return or
    store a NULL ARRAY (query results and tables turn it into []), DuckDB keeps NULL."""
    if (a is None and b == []) or (a == [] and b is None):
        return True
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y, rel_tol, abs_tol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k], rel_tol, abs_tol) for k in a)
    if isinstance(a, date) and isinstance(b, date):
        return a == b
    return a == b


def compare_tables(
    left: tuple[list[str], list[tuple[Any, ...]]],
    right: tuple[list[str], list[tuple[Any, ...]]],
    *,
    rel_tol: float = 1e-9,
    abs_tol: float = 1e-9,
    max_report: int = 5,
    loose: dict[str, float] | None = None,
) -> list[str]:
    """Differences between two result sets (as messages); empty when they match.

    Columns are matched by name (case-insensitively); rows are compared as multisets
    after sorting on all columns; floats within a tolerance, arrays as lists. ``loose``: columns
    (lower case) compared within their own absolute tolerance instead.
    """
    (lcols, lrows), (rcols, rrows) = left, right
    problems: list[str] = []
    lnames, rnames = [c.lower() for c in lcols], [c.lower() for c in rcols]
    if sorted(lnames) != sorted(rnames):
        problems.append(f"columns differ: only left {sorted(set(lnames) - set(rnames))}, only right {sorted(set(rnames) - set(lnames))}")
    common = [c for c in lnames if c in rnames]
    li, ri = [lnames.index(c) for c in common], [rnames.index(c) for c in common]
    lrows2 = sorted((tuple(_normalize(r[i]) for i in li) for r in lrows), key=_sort_key)
    rrows2 = sorted((tuple(_normalize(r[i]) for i in ri) for r in rrows), key=_sort_key)
    if len(lrows2) != len(rrows2):
        problems.append(f"row counts differ: {len(lrows2)} vs {len(rrows2)}")
        return problems
    reported = 0
    for lrow, rrow in zip(lrows2, rrows2):
        for name, a, b in zip(common, lrow, rrow):
            column_abs = (loose or {}).get(name)
            if not (values_equal(a, b, 0.0, column_abs) if column_abs is not None else values_equal(a, b, rel_tol, abs_tol)):
                problems.append(f"row {lrow[0]!r}: column {name}: {a!r} != {b!r}")
                reported += 1
                break
        if reported >= max_report:
            problems.append("... (more differences not shown)")
            break
    return problems
