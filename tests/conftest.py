"""Shared fixtures, the markers each test folder carries, and how the suite runs in parallel.

Folders: unit (pure logic), dbt (models on DuckDB), engines/bigquery (compile, emulator),
cli (the command line as a user runs it), reports (HTML and images). Helpers: tests/support.

Shared builds (session fixtures below; built at most once per pytest process, read-only):

- ``synthetic_db``: idc-qc synth (300 real IDC series, seed 0, no faults) built with every
  model, about 30 s. The one to reuse when a test needs "a small complete build".
- ``real_headers_db``: every model over ../shared/data/real_headers (1,311 real instances).
- ``index_only_db``: IDC's whole index (1M series), no instance metadata: slow.
- ``quality_faults_build`` / ``quality_clean_build``: synth with injected faults and malformed
  values (support.quality), and without.
- ``tcga_db``: the TCGA clinical data registered and the clinical models built (support.clinical).

Never write into one of them: a test that changes the database, or writes files beside it
(``idc-qc check``, ``report``), works on ``writable_copy(db, tmp_path)`` (support.data).

Parallel runs (./dev test: ``-n 2 --dist loadgroup``): each test file is one unit of work for
xdist, except that the files naming the same costly shared build (``SHARED_BUILDS``, found in
their text: fixture parameters and support builders alike) are one unit, so that build is made
by one worker, and the files of ``SPLIT_BY_PARAM`` give one unit per parameter. Units start
heaviest first (``HEAVY_FIRST``). The units are made here (``pytest_xdist_make_scheduler``), from
node ids: pytest-xdist 3.8's own ``xdist_group`` marks do nothing under pytest 9 (it renames
``item._nodeid``, which pytest 9 no longer reads). Without ``-n`` none of this changes anything.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from support.data import ORACLE_VERDICTS, REAL_HEADERS, require_shared

os.environ.setdefault("DO_NOT_TRACK", "1")

#: Markers implied by a test's folder (relative to tests/).
_FOLDER_MARKERS = {
    "dbt": ["duckdb"],
    "engines/bigquery": ["bigquery"],
    "cli": ["cli"],
    "reports": ["reports"],
}

#: Shared builds too costly to make on each worker (fixtures, and the support builders behind
#: them): the test files naming one are one xdist group. The cheap ones (real_headers_db,
#: synthetic_db: well under a minute) are left out on purpose: a group of every file using them
#: would leave a worker idle; they are built once per run instead (``built_once``: the first
#: worker to need one builds it, the other copies it).
SHARED_BUILDS = ("index_only_db", "quality_faults_build", "quality_clean_build", "cached_quality_build",
                 "tcga_db", "tcga_clinical_db", "query_warehouse", "release_runs")

#: Groups to start first under xdist, longest first: a long group started last would leave the
#: other worker idle at the end. By what they run: the emulator equivalence (about 10 minutes in
#: one process before it was split in two), 21 killed and restarted builds, the quality builds
#: with GX checks, the 1M-series index build, real release runs, the clinical emulator run, a
#: wheel installed into a fresh venv.
HEAVY_FIRST = (
    "engines/bigquery/test_equivalence.py",
    "cli/test_faults.py",
    "cached_quality_build",
    "index_only_db",
    "release_runs",
    "engines/bigquery/test_clinical_bigquery.py",
    "cli/test_installed.py",
)


#: Files run as one unit per parameter (the id in brackets) under xdist; tests without one go
#: with the parameter named here. The emulator equivalence: each input set on its own worker,
#: with its own emulator.
SPLIT_BY_PARAM = {"engines/bigquery/test_equivalence.py": "synthetic"}

_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        relative = _relative(item.nodeid)
        for folder, markers in _FOLDER_MARKERS.items():
            if relative.startswith(folder + "/"):
                for marker in markers:
                    item.add_marker(getattr(pytest.mark, marker))
    if config.pluginmanager.hasplugin("xdist"):
        items.sort(key=_heaviness)  # stable: within a unit, and among the rest, pytest's order


def _relative(nodeid: str) -> str:
    """The test file of ``nodeid`` relative to tests/ (node ids are relative to the repository)."""
    return nodeid.split("::")[0].removeprefix("tests/")


@functools.lru_cache(maxsize=1)
def _file_units() -> dict[str, str]:
    """Test file (relative to tests/) -> its unit: the files sharing a costly build are joined."""
    files = sorted(p.relative_to(_TESTS).as_posix() for p in _TESTS.rglob("test_*.py"))
    users: dict[str, list[str]] = {}
    for f in files:
        text = (_TESTS / f).read_text()
        for name in SHARED_BUILDS:
            if name in text:
                users.setdefault(name, []).append(f)
    unit = {f: f for f in files}
    for name in SHARED_BUILDS:
        joined = {unit[f] for f in users.get(name, [])}
        if not joined:
            continue
        # named after the first of SHARED_BUILDS among its files (HEAVY_FIRST can name it)
        target = min((u for u in joined if u in SHARED_BUILDS), key=SHARED_BUILDS.index, default=name)
        for f in files:
            if unit[f] in joined:
                unit[f] = target
    return unit


def xdist_unit(nodeid: str) -> str:
    """The unit of work ``nodeid`` belongs to under xdist."""
    relative = _relative(nodeid)
    if relative in SPLIT_BY_PARAM:
        params = nodeid[nodeid.index("[") + 1:nodeid.rindex("]")] if nodeid.endswith("]") else SPLIT_BY_PARAM[relative]
        return f"{relative}[{params}]"
    return _file_units().get(relative, relative)


def _heaviness(item) -> int:
    relative, unit = _relative(item.nodeid), xdist_unit(item.nodeid)
    for i, heavy in enumerate(HEAVY_FIRST):
        if heavy in (relative, unit):
            return i
    return len(HEAVY_FIRST)


def pytest_xdist_make_scheduler(config, log):
    """--dist loadgroup: xdist's scope scheduler over the units of ``xdist_unit``."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedBuildScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit(nodeid)

    return SharedBuildScheduling(config, log)


def built_once(tmp_path_factory, name: str, make) -> Path:
    """``make(folder)`` (a build into ``folder``, returning the database's path), made once per run.

    Without xdist: into a new temporary folder. Under xdist the first worker to need it builds
    it, under a lock, into a folder of the run that both workers see (their base folders'
    parent), and every worker, that one included, works on its own copy of that folder (the
    database, the input beside it, dbt's target): as if it had built it itself, the build made
    once instead of once per worker. The pristine folder is never read by a test."""
    import fcntl
    import json
    import shutil

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent / f"built_once_{name}"
    with open(shared.with_name(shared.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared.with_name(shared.name + ".done")
        if not done.exists():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir()
            db = make(shared)
            done.write_text(json.dumps(str(db.relative_to(shared))))
        relative = json.loads(done.read_text())
    mine = tmp_path_factory.mktemp(name)
    shutil.copytree(shared, mine, symlinks=True, dirs_exist_ok=True)
    return mine / relative


@pytest.fixture(scope="session")
def real_headers() -> Path:
    return require_shared(REAL_HEADERS)


@pytest.fixture(scope="session")
def oracle_verdicts() -> Path:
    return require_shared(ORACLE_VERDICTS)


@pytest.fixture(scope="session")
def real_headers_db(tmp_path_factory, real_headers) -> Path:
    """The whole project built once over the real DICOM headers."""
    from idc_qc.build import build

    def make(root: Path) -> Path:
        db = root / "idc_qc.duckdb"
        build(db, str(real_headers))
        return db

    return built_once(tmp_path_factory, "real_headers", make)


@pytest.fixture(scope="session")
def index_only_db(tmp_path_factory) -> Path:
    """The project built over IDC's real index with no instance metadata (all 1M series: slow)."""
    from idc_qc.build import build

    db = tmp_path_factory.mktemp("index_only") / "idc_qc.duckdb"
    build(db, None, select=["+series"])
    return db


@pytest.fixture(scope="session")
def synthetic_db(tmp_path_factory) -> Path:
    """300 real IDC series synthesized (seed 0) and built with every model: input_kind synthetic."""
    from idc_qc.build import build
    from idc_qc.synth import synthesize

    def make(root: Path) -> Path:
        synth = synthesize(root / "synth", series_limit=300, seed=0)
        db = root / "idc_qc.duckdb"
        build(db, str(Path(synth.instances_glob).parent))
        return db

    return built_once(tmp_path_factory, "synthetic_build", make)


@pytest.fixture(scope="session")
def quality_faults_build(tmp_path_factory):
    """support.quality.build_quality with faults: geometry faults and malformed values, and the truth."""
    from support.quality import cached_quality_build

    return cached_quality_build(tmp_path_factory, faults=True)


@pytest.fixture(scope="session")
def quality_clean_build(tmp_path_factory):
    """support.quality.build_quality without faults (the same 400 series, seed 11)."""
    from support.quality import cached_quality_build

    return cached_quality_build(tmp_path_factory, faults=False)


@pytest.fixture(scope="session")
def release_runs(tmp_path_factory) -> dict:
    """`release run v20` then `release run v25` (clinical data registered), as a scheduler runs
    them (support.releases.release_qc_runs). Read-only: copy a release folder before changing it."""
    from support.releases import release_qc_runs

    return release_qc_runs(tmp_path_factory.mktemp("release_runs"))


@pytest.fixture(scope="session")
def tcga_db(tmp_path_factory) -> Path:
    """The TCGA clinical data registered and the clinical models built over IDC's index (support.clinical)."""
    from support.clinical import tcga_clinical_db

    return tcga_clinical_db(tmp_path_factory.mktemp("tcga_clinical"))
