"""Benchmark the idc-qc build against a single-pass floor query and IDC's own query.

Every engine runs over the same instance files, each in a fresh subprocess so that its peak
resident memory is its own (dbt runs in-process there), all under the same DuckDB
memory_limit (--memory-limit) and thread count:

* ``floor``     -- the least any engine has to do for the slice-spacing question, one pass:
  cast the three position values and six cosines to double, project the position on the
  normal, ``lead()`` over each series ordered by that projection for the gap, then per
  series the smallest and largest gap and the span. The reference for the targets below.
* ``floor_idc`` -- IDC's columns written as one hand-optimised pass: parse, project on the
  normal, one window, one aggregate (min = max instead of COUNT(DISTINCT), arg_min for
  the origin): the least an engine has to do for IDC's full answer.
* ``floor_verdicts`` -- what the verdicts cannot do without, none of the checks: one pass that
  reads every column the geometry models read (14 where the floor reads 3), casts the 11
  decimal strings with the engine's plain cast, projects the position on the normal, takes
  per series the smallest and largest of each value and gathers the sorted positions with the
  gaps between them, as the verdicts do (no window). No DS grammar, no parse status, no
  duplicate instances, no IDC string comparison: a lower bound for ``verdicts``.
* ``build``     -- the whole ``idc-qc build`` as a user runs it: ``idc_qc.build.build()``,
  i.e. ``dbt build`` of every model (all marts, rpt_* models when present), seed and data
  test (dbt's unit tests run in the test suite, not in builds), into a fresh DuckDB file.
* ``verdicts``  -- ``dbt run`` of series_geometry and its parents, without tests: the
  series-level verdicts alone, the same question the floors answer.
* ``dbt``       -- ``dbt run`` of both geometry marts (series_geometry and instance_geometry).
* ``idc``       -- IDC's volume_geometry_index.sql, transpiled to DuckDB by
  idc_qc.idc_reference, materialised as a table (does not finish at full IDC scale).
* ``release_qc`` -- the whole release QC end to end, as ``idc-qc demo`` runs it after synth:
  build, check (the GX gates), report, upset and dashboard into a fresh folder, in one process;
  the seconds of each step are printed below the table.

Targets (issue 7, "the whole build fast at IDC scale"): ``build`` within 2.5x of ``floor``,
``verdicts`` within 1.5x, peak RSS of each under 8 GB; the table ends with PASS/FAIL for
each, what the verdicts would take with every check free (``floor_verdicts`` plus the verdicts
run outside its aggregate; when floor, floor_verdicts and verdicts all ran) and the ten slowest
dbt nodes of each dbt engine (from its run_results.json).

Targets of issue 24 (arbitrary order, against the floor query on the same file): build within
3.0x, verdicts within 2.0x, release_qc within 3.5x; on series order the ratios are printed.

Both orders (issue 24): ``--synth N --orders series,shuffled`` writes N series of real IDC
series with ``idc-qc synth`` in each order (the same rows; 0: every series, IDC's full scale)
and runs every engine on each file, the floor on each, one table per order.

Usage::

    python benchmarks/bench_geometry.py --instances '/tmp/synth_full/instances/*.parquet'
    python benchmarks/bench_geometry.py --instances '...' --engines floor,floor_idc,floor_verdicts,build,verdicts,dbt,idc
    # no data at hand: generate N series (about 120 instances each) first
    python benchmarks/bench_geometry.py --generate 25000 --work /tmp/bench
    # issue 24: synth's series in both orders, the whole release QC end to end
    python benchmarks/bench_geometry.py --synth 0 --orders series,shuffled --work /tmp/bench24 \
        --engines floor,floor_verdicts,verdicts,build,release_qc

An engine that fails or exceeds --timeout is reported as such; the others still run.
DuckDB's spill to disk is capped at $BENCH_MAX_SPILL (default 40GB) for the floors and IDC.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: The three position values and six direction cosines cast to double: both floors parse so.
_CAST_NINE = """\
        try_cast(ImagePositionPatient[1] as double) as x,
        try_cast(ImagePositionPatient[2] as double) as y,
        try_cast(ImagePositionPatient[3] as double) as z,
        try_cast(ImageOrientationPatient[1] as double) as r1,
        try_cast(ImageOrientationPatient[2] as double) as r2,
        try_cast(ImageOrientationPatient[3] as double) as r3,
        try_cast(ImageOrientationPatient[4] as double) as c1,
        try_cast(ImageOrientationPatient[5] as double) as c2,
        try_cast(ImageOrientationPatient[6] as double) as c3"""

#: The floor the targets are measured against: positions cast and projected on the normal,
#: one window for the gap to the next slice, one aggregate (smallest, largest gap; span).
FLOOR_SQL = """
create table floor_geometry as
with parsed as (
    select
        SeriesInstanceUID,
{cast_nine}
    from {relation}
),
projected as (
    select
        SeriesInstanceUID,
        x * (r2 * c3 - r3 * c2) + y * (r3 * c1 - r1 * c3) + z * (r1 * c2 - r2 * c1) as pos
    from parsed
),
windowed as (
    select SeriesInstanceUID, pos, lead(pos) over (partition by SeriesInstanceUID order by pos) - pos as gap
    from projected
)
select
    SeriesInstanceUID,
    min(gap) as min_gap_mm,
    max(gap) as max_gap_mm,
    max(pos) - min(pos) as span_mm
from windowed
group by SeriesInstanceUID
"""

#: IDC's columns in one hand-optimised pass (the heavier floor of earlier measurements).
FLOOR_IDC_SQL = """
create table floor_geometry as
with parsed as (
    select
        SeriesInstanceUID,
{cast_nine},
        array_to_string(ImageOrientationPatient, '/') as iop,
        array_to_string(PixelSpacing, '/') as pixel_spacing,
        "Rows" as n_rows,
        "Columns" as n_columns
    from {relation}
    where SOPClassUID in ('1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.4', '1.2.840.10008.5.1.4.1.1.128')
),
projected as (
    select
        *,
        r2 * c3 - r3 * c2 as n1,
        r3 * c1 - r1 * c3 as n2,
        r1 * c2 - r2 * c1 as n3,
        x * (r2 * c3 - r3 * c2) + y * (r3 * c1 - r1 * c3) + z * (r1 * c2 - r2 * c1) as pos,
        x * r1 + y * r2 + z * r3 as row_offset,
        x * c1 + y * c2 + z * c3 as col_offset
    from parsed
),
windowed as (
    select *, lead(pos) over (partition by SeriesInstanceUID order by pos) - pos as gap
    from projected
),
aggregated as (
    select
        SeriesInstanceUID,
        count(*) as n,
        min(iop) as min_iop, max(iop) as max_iop,
        min(pixel_spacing) as min_ps, max(pixel_spacing) as max_ps,
        min(n_rows) as min_rows, max(n_rows) as max_rows,
        min(n_columns) as min_columns, max(n_columns) as max_columns,
        min(sqrt(n1 * n1 + n2 * n2 + n3 * n3)) as min_mag, max(sqrt(n1 * n1 + n2 * n2 + n3 * n3)) as max_mag,
        count(pos) as n_pos, sum(case when gap = 0 then 1 else 0 end) as n_shared,
        min(pos) as min_pos, max(pos) as max_pos,
        min(gap) as min_gap, max(gap) as max_gap,
        max(row_offset) - min(row_offset) as row_range,
        max(col_offset) - min(col_offset) as col_range,
        arg_min([x, y, z], pos) as origin,
        arg_min([r1, r2, r3, c1, c2, c3], pos) as orientation,
        arg_min([n1, n2, n3], pos) as normal
    from windowed
    group by SeriesInstanceUID
)
select
    SeriesInstanceUID,
    coalesce(min_iop = max_iop, false) as single_orientation,
    min_mag between 0.99 and 1.01 and max_mag between 0.99 and 1.01 as orthogonal_orientation,
    n = n_pos - n_shared as unique_slice_positions,
    row_range < 0.1 as consistent_in_plane_row,
    col_range < 0.1 as consistent_in_plane_col,
    coalesce(min_ps = max_ps, false) as consistent_pixel_spacing,
    coalesce(min_rows = max_rows and min_columns = max_columns, false) as consistent_image_dimensions,
    greatest(max_gap - (max_pos - min_pos) / (n - 1), (max_pos - min_pos) / (n - 1) - min_gap)
        < 0.01 * abs((max_pos - min_pos) / (n - 1)) as uniform_slice_spacing,
    round(degrees(acos(greatest(abs(normal[1]), abs(normal[2]), abs(normal[3]))
        / sqrt(normal[1] * normal[1] + normal[2] * normal[2] + normal[3] * normal[3]))), 2) as obliquity_degrees,
    origin,
    orientation,
    (max_pos - min_pos) / (n - 1) as slice_spacing_mm
from aggregated
"""


#: Read by the geometry models besides the position, the orientation and the pixel spacing
#: (absent ones, optional in the input, read as NULL). Each gets its smallest and largest value
#: per series in the lower bound below.
_VERDICT_COLUMNS = ("SOPInstanceUID", "SOPClassUID", "Modality", "ImageType", "Rows", "Columns", "NumberOfFrames",
                    "TemporalPositionIdentifier", "EchoTime", "AcquisitionNumber", "DiffusionBValue")

#: The lower bound for the verdicts (engine ``floor_verdicts``): {columns} and {min_max} are
#: filled from _VERDICT_COLUMNS, {gantry} with GantryDetectorTilt or NULL.
FLOOR_VERDICTS_SQL = """
create table floor_geometry as
with parsed as (
    select
        SeriesInstanceUID,
{cast_nine},
        try_cast(PixelSpacing[1] as double) as s1,
        try_cast(PixelSpacing[2] as double) as s2,
        try_cast({gantry} as double) as tilt,
{columns}
    from {relation}
),
projected as (
    select *, x * (r2 * c3 - r3 * c2) + y * (r3 * c1 - r1 * c3) + z * (r1 * c2 - r2 * c1) as pos
    from parsed
),
aggregated as (
    select
        SeriesInstanceUID,
        count(*) as n,
{min_max},
        list_sort(list(pos) filter (where pos is not null)) as positions
    from projected
    group by SeriesInstanceUID
),
gaps as (
    select *, list_transform(range(1, coalesce(len(positions), 0)), lambda i: positions[i + 1] - positions[i]) as gaps
    from aggregated
)
select * exclude (positions, gaps), list_min(gaps) as min_gap, list_max(gaps) as max_gap
from gaps
"""


def floor_verdicts_sql(relation: str, present: set[str]) -> str:
    """FLOOR_VERDICTS_SQL over `relation`, whose columns are `present`."""
    def column(name: str) -> str:
        return f'"{name}"' if name in present else "null"

    values = ["x", "y", "z", "r1", "r2", "r3", "c1", "c2", "c3", "s1", "s2", "tilt"] + [f"v_{c}" for c in _VERDICT_COLUMNS]
    return FLOOR_VERDICTS_SQL.format(
        relation=relation, cast_nine=_CAST_NINE, gantry=column("GantryDetectorTilt"),
        columns=",\n".join(f"        {column(c)} as v_{c}" for c in _VERDICT_COLUMNS),
        min_max=",\n".join(f"        min({v}) as min_{v}, max({v}) as max_{v}" for v in values))

# ---------------------------------------------------------------------------------------
# data: a generated instance table shaped like dicom_all, when none is given
# ---------------------------------------------------------------------------------------

GENERATE_SQL = """
copy (
with series as (
    select
        i,
        '1.2.826.0.1.3680043.8.498.' || cast(1000000000 + i as varchar) || '.' || cast(hash(i) % 100000000 as varchar) as uid,
        cast(10 + hash(i, 1) % 225 as bigint) as n,
        0.5 + (hash(i, 2) % 100) / 20.0 as spacing,
        case when hash(i, 3) % 10 < 7 then 0.0 else (hash(i, 4) % 600) / 1000.0 end as a,
        case when hash(i, 3) % 10 < 7 then 0.0 else (hash(i, 5) % 600) / 1000.0 end as b,
        cast(hash(i, 6) % 100 as integer) as fault,
        -200.0 + hash(i, 7) % 400 as ox,
        -200.0 + hash(i, 8) % 400 as oy,
        -500.0 + hash(i, 9) % 1000 as oz
    from range({n_series}) as t(i)
),
slices as (
    select series.*, k
    from series, range(n) as r(k)
    where not (fault < 3 and k = n // 2)                     -- 3 %: a missing slice
),
geometry as (
    select
        *,
        cos(a) as r1, sin(a) as r2, 0.0 as r3,
        -sin(a) * cos(b) as c1, cos(a) * cos(b) as c2, sin(b) as c3,
        sin(a) * sin(b) as n1, -cos(a) * sin(b) as n2, cos(b) as n3,
        case when fault between 3 and 5 and k = n // 2 + 1 then k - 1                    -- 3 %: a duplicate position
             when fault between 6 and 7 and k >= n // 2 then k + 0.3                     -- 2 %: non-uniform spacing
             else k end as step,
        case when fault between 8 and 9 then tan(radians(15)) else 0.0 end as tilt      -- 2 %: gantry tilt
    from slices
)
select
    uid as SeriesInstanceUID,
    uid || '.' || cast(k as varchar) as SOPInstanceUID,
    '1.2.840.10008.5.1.4.1.1.2' as SOPClassUID,
    uid || '.1' as StudyInstanceUID,
    'P' || cast(i % 5000 as varchar) as PatientID,
    'CT' as Modality,
    ['ORIGINAL', 'PRIMARY', 'AXIAL'] as ImageType,
    [cast(round(ox + step * spacing * (n1 + tilt * c1), 6) as varchar),
     cast(round(oy + step * spacing * (n2 + tilt * c2), 6) as varchar),
     cast(round(oz + step * spacing * (n3 + tilt * c3), 6) as varchar)] as ImagePositionPatient,
    [cast(round(r1, 8) as varchar), cast(round(r2, 8) as varchar), cast(round(r3, 8) as varchar),
     cast(round(c1, 8) as varchar), cast(round(c2, 8) as varchar), cast(round(c3, 8) as varchar)] as ImageOrientationPatient,
    ['0.703125', '0.703125'] as PixelSpacing,
    cast(512 as bigint) as "Rows",
    cast(512 as bigint) as "Columns",
    cast(spacing as varchar) as SliceThickness,
    cast(k + 1 as varchar) as InstanceNumber,
    '1' as AcquisitionNumber
from geometry
) to '{out}' (format parquet, per_thread_output true, row_group_size 122880)
"""


def generate(n_series: int, folder: Path) -> str:
    import duckdb

    out = folder / "instances"
    if out.exists():
        shutil.rmtree(out)
    with duckdb.connect() as con:
        con.execute(GENERATE_SQL.format(n_series=n_series, out=str(out)))
        rows = con.execute(f"select count(*) from read_parquet('{out}/*.parquet')").fetchall()[0][0]
    print(f"generated {n_series:,} series, {rows:,} instances in {out}", file=sys.stderr)
    return str(out / "*.parquet")


# ---------------------------------------------------------------------------------------
# one engine run per subprocess
# ---------------------------------------------------------------------------------------

DBT_ENGINES = ("build", "verdicts", "dbt")
SQL_ENGINES = ("floor", "floor_idc", "floor_verdicts", "idc")
ENGINES = SQL_ENGINES[:3] + DBT_ENGINES + ("release_qc",) + SQL_ENGINES[3:]
ALIASES = {"dbt_series": "verdicts"}  # the name of earlier measurements

#: issue 7's targets: seconds as a multiple of ``floor``, and peak RSS
TARGET_RATIO = {"build": 2.5, "verdicts": 1.5}
#: issue 24's, for arbitrary input order (on series order the ratios are printed, not judged)
TARGET_RATIO_SHUFFLED = {"build": 3.0, "verdicts": 2.0, "release_qc": 3.5}
TARGET_PEAK_BYTES = 8 * 10**9


def _peak_rss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _slowest_nodes(target: Path, top: int = 10) -> list[dict]:
    """The ``top`` slowest nodes of the dbt run whose artefacts are in ``target``."""
    path = target / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text())["results"]
    nodes = [{"node": r["unique_id"], "status": r["status"], "seconds": r["execution_time"]} for r in results]
    return sorted(nodes, key=lambda n: -n["seconds"])[:top]


def _run_child(engine: str, instances: str, work: Path, threads: int, memory_limit: str) -> dict:
    import duckdb

    relation = f"read_parquet('{instances}', union_by_name = true)"
    # one folder per engine: dbt writes its target/ and logs/ beside the database
    folder = work / engine
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    db = folder / f"{engine}.duckdb"
    extra: dict = {}
    start = time.perf_counter()
    if engine == "release_qc":
        os.environ.update({"IDC_QC_THREADS": str(threads), "IDC_QC_MEMORY_LIMIT": memory_limit})
        extra["steps"] = _release_qc(db, instances)
        seconds = time.perf_counter() - start
        extra["slowest"] = _slowest_nodes(folder / "dbt" / "target")
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute("select count(*) from series_geometry").fetchall()[0][0]
    elif engine in DBT_ENGINES:
        os.environ.update({"IDC_QC_THREADS": str(threads), "IDC_QC_MEMORY_LIMIT": memory_limit})
        if engine == "build":
            # exactly what `idc-qc build --instances ...` runs: contract check, then dbt build
            from idc_qc.build import build

            result = build(db, instances)
            extra["nodes"] = len(result.dbt.nodes)
            extra["tests"] = sum(1 for n in result.dbt.nodes if n.unique_id.startswith(("test.", "unit_test.")))
        else:
            from idc_qc.dbt_runner import run_dbt

            run_dbt(
                "run",
                db_path=db,
                # verdicts: the series-level verdicts alone, the same answer the floors compute;
                # dbt: both marts, including the instance-level list a curator works from.
                select=["+series_geometry"] if engine == "verdicts" else ["+series_geometry", "+instance_geometry"],
                vars=instance_vars(instances),
            )
        seconds = time.perf_counter() - start
        extra["slowest"] = _slowest_nodes(folder / "dbt" / "target")
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute("select count(*) from series_geometry").fetchall()[0][0]
    else:
        from idc_qc.idc_reference import idc_volume_geometry_sql_duckdb

        if engine == "idc":
            sql, table = "create table idc_volume_geometry as " + idc_volume_geometry_sql_duckdb(relation), "idc_volume_geometry"
        elif engine == "floor_verdicts":
            with duckdb.connect() as con:
                present = {row[0] for row in con.execute(f"describe select * from {relation}").fetchall()}
            sql, table = floor_verdicts_sql(relation, present), "floor_geometry"
        else:
            sql, table = (FLOOR_SQL if engine == "floor" else FLOOR_IDC_SQL).format(relation=relation, cast_nine=_CAST_NINE), "floor_geometry"
        # IDC's query spills tens of GB at full scale: cap the spill so that it fails cleanly
        # (reported as a row) before it fills the disk.
        config = {"threads": threads, "preserve_insertion_order": False, "memory_limit": memory_limit,
                  "max_temp_directory_size": os.environ.get("BENCH_MAX_SPILL", "40GB")}
        with duckdb.connect(str(db), config=config) as con:
            con.execute(sql)
            seconds = time.perf_counter() - start
            rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    return {"engine": engine, "seconds": seconds, "peak_rss": _peak_rss_bytes(), "rows": rows, **extra}


def instance_vars(instances: str) -> dict:
    """The dbt vars `idc-qc build` derives from ``instances`` (checked once): the files, the optional
    columns they lack, and instances_series_ordered as it finds it (series-ordered input is parsed
    as it comes; input in arbitrary order is written series by series first)."""
    from idc_qc.dbt_runner import dbt_vars
    from idc_qc.instances import check_instances, dbt_instances_var, resolve_instances

    report = check_instances(instances)
    return dbt_vars(instances=dbt_instances_var(resolve_instances(instances)), absent_columns=report.absent_optional,
                    instances_series_ordered=report.series_ordered)


def _release_qc(db: Path, instances: str) -> dict[str, float]:
    """build, check, report, upset and dashboard into ``db``'s folder: the seconds of each."""
    from idc_qc.build import build
    from idc_qc.errors import ChecksFailed
    from idc_qc.quality.check import run_checks
    from idc_qc.reports.dashboard import render_dashboard
    from idc_qc.reports.qc_report import build_report
    from idc_qc.reports.upset import Selection, UpsetError, render_upset

    steps: dict[str, float] = {}
    t = time.perf_counter()
    try:
        build(db, instances)
    except ChecksFailed as exc:  # a failed data test installs the database: the QC goes on
        if getattr(exc, "result", None) is None:
            raise
    steps["build"], t = time.perf_counter() - t, time.perf_counter()
    run_checks(db)
    steps["check"], t = time.perf_counter() - t, time.perf_counter()
    build_report(db)
    steps["report"], t = time.perf_counter() - t, time.perf_counter()
    try:
        render_upset(db, db.parent, sets="checks", selection=Selection())
    except UpsetError:
        pass  # nothing failed a check: nothing to draw
    steps["upset"], t = time.perf_counter() - t, time.perf_counter()
    render_dashboard(db, db.parent / "dashboard.html")
    steps["dashboard"] = time.perf_counter() - t
    return steps


def run_engine(engine: str, instances: str, work: Path, threads: int, memory_limit: str,
               timeout: float | None = None) -> dict:
    """Run one engine in a fresh Python process and return its measurements.

    The peak RSS is the child's own (``ru_maxrss``): DuckDB and dbt run inside it. A run that
    fails (out of memory, say) or exceeds ``timeout`` is a result too: it is reported as such
    and the other engines still run.
    """
    env = {**os.environ, "DO_NOT_TRACK": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, __file__, "--child", engine, "--instances", instances, "--work", str(work),
           "--threads", str(threads), "--memory-limit", memory_limit]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"engine": engine, "seconds": time.perf_counter() - start, "peak_rss": 0, "rows": 0,
                "error": f"did not finish within {timeout:.0f} s"}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        # the exception line, not the hints DuckDB prints after it
        errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
        last = (errors or lines or [f"exit code {done.returncode}"])[-1]
        print(f"{engine} failed:\n{done.stderr[-4000:]}", file=sys.stderr)
        return {"engine": engine, "seconds": time.perf_counter() - start, "peak_rss": 0, "rows": 0,
                "error": f"failed (exit {done.returncode}): {last[:200]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", help="parquet file or glob of dicom_all-shaped instances")
    parser.add_argument("--generate", type=int, metavar="N_SERIES", help="generate N series first (about 120 instances each)")
    parser.add_argument("--synth", type=int, metavar="N_SERIES",
                        help="write N real IDC series with idc-qc synth first (0: every series, IDC's full scale)")
    parser.add_argument("--orders", default="series",
                        help="with --synth: the orders to write and run every engine on, comma-separated "
                             "(series, shuffled; default: series)")
    parser.add_argument("--work", type=Path, help="folder for the DuckDB files (default: a temporary folder)")
    parser.add_argument("--engines", default="floor,build,verdicts",
                        help=f"comma-separated subset of {','.join(ENGINES)} (default: floor,build,verdicts)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--memory-limit", default="6GB",
                        help="DuckDB memory_limit for every engine (the idc-qc profile's default is 6GB)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds each engine may take (default: no limit)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per engine, interleaved; the table shows the median (an engine that fails is not repeated)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(_run_child(args.child, args.instances, args.work, args.threads, args.memory_limit)))
        return

    # in the order given, each once (an alias and its engine name the same engine)
    engines = list(dict.fromkeys(ALIASES.get(e.strip(), e.strip()) for e in args.engines.split(",") if e.strip()))
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}: choose from {', '.join(ENGINES)}")

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_geometry_"))
    work.mkdir(parents=True, exist_ok=True)
    if args.synth is not None:
        inputs = {order: synth_input(args.synth, order, work) for order in args.orders.split(",") if order.strip()}
    else:
        instances = generate(args.generate, work) if args.generate else args.instances
        if not instances:
            parser.error("give --instances, --generate or --synth")
        inputs = {None: instances}

    everything = {}
    for order, instances in inputs.items():
        folder = work / order if order else work
        runs: dict[str, list[dict]] = {engine: [] for engine in engines}
        for round_ in range(args.repeat):
            for engine in engines:
                if runs[engine] and "error" in runs[engine][-1]:
                    continue
                label = f"{engine}, {order} order" if order else engine
                print(f"running {label} ({round_ + 1}/{args.repeat}) ...", file=sys.stderr, flush=True)
                runs[engine].append(run_engine(engine, instances, folder, args.threads, args.memory_limit, args.timeout))
        results = {engine: _summarise(engine_runs) for engine, engine_runs in runs.items()}
        print_table(results, instances, args, order)
        everything[order or "given"] = {"instances": instances, "results": results}
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "memory_limit": args.memory_limit,
                                         "orders": everything}, indent=2))


def synth_input(n_series: int, order: str, work: Path) -> str:
    """``idc-qc synth`` of ``n_series`` (0: all) in ``order`` into ``work/synth_<order>``, once:
    an earlier run with the same arguments is used again."""
    from idc_qc.synth import ORDERS, synthesize

    if order not in ORDERS:
        raise SystemExit(f"--orders: {order!r} is not one of {', '.join(ORDERS)}")
    out = work / f"synth_{order}"
    manifest = out / "synth_manifest.json"
    wanted = {"series_limit": n_series or None, "order": order}
    if manifest.exists():
        earlier = json.loads(manifest.read_text())
        if earlier.get("complete") and all(earlier.get("arguments", {}).get(k) == v for k, v in wanted.items()):
            print(f"using the earlier synth run in {out}", file=sys.stderr)
            return str(out / "instances")
    start = time.perf_counter()
    result = synthesize(out, series_limit=n_series or None, order=order, overwrite=True)
    print(f"synth: {result.series:,} series, {result.instances:,} instances in {order} order "
          f"({time.perf_counter() - start:.0f} s) in {out}", file=sys.stderr)
    return str(out / "instances")


def _summarise(engine_runs: list[dict]) -> dict:
    """The median run of an engine (its seconds) with the range and the highest peak RSS."""
    failed = [r for r in engine_runs if "error" in r]
    if failed:
        return failed[0]
    seconds = sorted(r["seconds"] for r in engine_runs)
    median = statistics.median(seconds)
    closest = min(engine_runs, key=lambda r: abs(r["seconds"] - median))  # its node timings
    return {**closest, "seconds": median, "min": seconds[0], "max": seconds[-1],
            "peak_rss": max(r["peak_rss"] for r in engine_runs), "runs": len(engine_runs)}


def verdicts_against_targets(results: dict[str, dict]) -> list[tuple[str, bool, str]]:
    """(target, passed, detail) for each target the results can be judged on."""
    checks: list[tuple[str, bool, str]] = []
    floor = results.get("floor")
    for engine, ratio in TARGET_RATIO.items():
        r = results.get(engine)
        if r is None:
            continue
        if "error" in r:
            checks.append((f"{engine} within {ratio}x of floor", False, r["error"]))
            checks.append((f"{engine} peak RSS under {TARGET_PEAK_BYTES / 1e9:.0f} GB", False, r["error"]))
            continue
        if floor is not None and "error" not in floor:
            measured = r["seconds"] / floor["seconds"]
            checks.append((f"{engine} within {ratio}x of floor", measured <= ratio,
                           f"{measured:.2f}x ({r['seconds']:.1f} s / {floor['seconds']:.1f} s)"))
        checks.append((f"{engine} peak RSS under {TARGET_PEAK_BYTES / 1e9:.0f} GB", r["peak_rss"] < TARGET_PEAK_BYTES,
                       f"{r['peak_rss'] / 1e9:.2f} GB"))
    return checks


def _ran(results: dict[str, dict], engine: str) -> bool:
    """``engine`` was run and did not fail."""
    return engine in results and "error" not in results[engine]


def verdicts_lower_bound(results: dict[str, dict]) -> dict | None:
    """What the verdicts would take if every check cost nothing: ``floor_verdicts`` (the pass
    without any check) plus what the verdicts run spends outside int_series__geometry_aggregated
    (dbt's start-up and parse, the judged and series_geometry models), in seconds and as a
    multiple of ``floor``. None unless floor, floor_verdicts and verdicts all ran."""
    if not all(_ran(results, name) for name in ("floor", "floor_verdicts", "verdicts")):
        return None
    verdicts = results["verdicts"]
    aggregate = next((n["seconds"] for n in verdicts.get("slowest", [])
                      if n["node"] == "model.idc_qc.int_series__geometry_aggregated"), None)
    if aggregate is None:
        return None
    outside = verdicts["seconds"] - aggregate
    seconds = results["floor_verdicts"]["seconds"] + outside
    return {"floor_verdicts": results["floor_verdicts"]["seconds"], "outside": outside, "seconds": seconds,
            "ratio": seconds / results["floor"]["seconds"], "checks": aggregate - results["floor_verdicts"]["seconds"]}


def print_table(results: dict[str, dict], instances: str, args: argparse.Namespace, order: str | None = None) -> None:
    if order:
        print(f"\n### {order} order")
    print(f"\ninstances: {instances}   threads: {args.threads}   memory_limit: {args.memory_limit}"
          f"   runs per engine: {args.repeat} (median seconds, min-max)")
    print(f"{'engine':<15}{'seconds':>9}{'min-max':>14}{'peak RSS GB':>13}{'rows out':>12}{'x floor':>9}{'x IDC':>8}")

    for engine, r in results.items():
        if "error" in r:
            print(f"{engine:<15}{r['seconds']:>9.1f}  {r['error']}")
            continue
        vs_idc = r["seconds"] / results["idc"]["seconds"] if _ran(results, "idc") else float("nan")
        vs_floor = r["seconds"] / results["floor"]["seconds"] if _ran(results, "floor") else float("nan")
        spread = f"{r['min']:.1f}-{r['max']:.1f}"
        print(f"{engine:<15}{r['seconds']:>9.1f}{spread:>14}{r['peak_rss'] / 1e9:>13.2f}{r['rows']:>12,}"
              f"{vs_floor:>9.2f}{vs_idc:>8.2f}")
    for ours in ("verdicts", "dbt", "build"):
        if _ran(results, ours) and _ran(results, "idc"):
            print(f"IDC / {ours} speed-up: {results['idc']['seconds'] / results[ours]['seconds']:.2f}x")
        elif _ran(results, ours) and "idc" in results:
            # IDC's query failed or timed out: its time so far is a lower bound
            print(f"IDC / {ours} speed-up: more than {results['idc']['seconds'] / results[ours]['seconds']:.1f}x "
                  f"(IDC's query did not finish: {results['idc']['error']})")

    if order == "shuffled" and _ran(results, "floor"):
        print("\ntargets (issue 24, arbitrary order)")
        for engine, ratio in TARGET_RATIO_SHUFFLED.items():
            if engine in results:
                r = results[engine]
                measured = r["seconds"] / results["floor"]["seconds"] if "error" not in r else float("inf")
                name = f"{engine} within {ratio}x of floor"
                print(f"  {'PASS' if measured <= ratio else 'FAIL'}  {name:<32} {measured:.2f}x"
                      + (f" ({r['error']})" if "error" in r else f" ({r['seconds']:.1f} s)"))
    checks = verdicts_against_targets(results) if order in (None, "series") else []
    if checks:
        print("\ntargets (issue 7)")
        for name, passed, detail in checks:
            print(f"  {'PASS' if passed else 'FAIL'}  {name:<32} {detail}")
    bound = verdicts_lower_bound(results)
    if bound:
        print(f"\nverdicts with every check free: floor_verdicts {bound['floor_verdicts']:.1f} s + the run outside "
              f"its aggregate {bound['outside']:.1f} s = {bound['seconds']:.1f} s = {bound['ratio']:.2f}x the floor"
              f"\n(the checks themselves: {bound['checks']:.1f} s, the aggregate less floor_verdicts)")

    for engine, r in results.items():
        if r.get("slowest"):
            summed = f", {r['tests']} tests" if "tests" in r else ""
            print(f"\n{engine}: slowest dbt nodes (seconds of execution, threads overlap; {r.get('nodes', '')} nodes{summed})"
                  if "nodes" in r else f"\n{engine}: slowest dbt nodes (seconds of execution, threads overlap)")
            for node in r["slowest"]:
                print(f"  {node['seconds']:>8.1f}  {node['status']:<8} {node['node']}")
    if _ran(results, "release_qc") and results["release_qc"].get("steps"):
        steps = results["release_qc"]["steps"]
        print("\nrelease_qc by step (seconds): " + ", ".join(f"{name} {sec:.1f}" for name, sec in steps.items()))


if __name__ == "__main__":
    main()
