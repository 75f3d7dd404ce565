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

Parallel runs (./dev test: ``-n 2 --dist loadgroup``): each test file is one xdist group, except
that the files using the same costly shared build are one group (found from the fixtures a test
uses and the builders named in its file, ``SHARED_BUILDS``), so that build is made by one worker. Groups start heaviest first (``HEAVY_FIRST``). Without ``-n`` none of this changes anything.
"""

from __future__ import annotations

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
#: synthetic_db: well under a minute) are left out on purpose: building one twice, once per
#: worker, costs less than the idle worker a group of every file using them would leave.
SHARED_BUILDS = ("index_only_db", "quality_faults_build", "quality_clean_build", "cached_quality_build",
                 "tcga_db", "tcga_clinical_db", "query_warehouse")

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
    "cli/test_release_qc_integration.py",
    "cli/test_releases.py",
    "engines/bigquery/test_clinical_bigquery.py",
    "cli/test_installed.py",
)


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).resolve().parent
    relative: dict[str, str] = {}
    for item in items:
        try:
            relative[item.nodeid] = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        for folder, markers in _FOLDER_MARKERS.items():
            if relative[item.nodeid].startswith(folder + "/"):
                for marker in markers:
                    item.add_marker(getattr(pytest.mark, marker))
    _group_for_xdist(items, relative)


def _group_for_xdist(items: list, relative: dict[str, str]) -> None:
    """xdist_group marks (used only by --dist loadgroup) and an order that starts heavy groups first."""
    files = sorted(set(relative.values()))
    parent = {f: f for f in files}

    def find(f: str) -> str:
        while parent[f] != f:
            parent[f] = parent[parent[f]]
            f = parent[f]
        return f

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    sources: dict[str, str] = {}
    first_user: dict[str, str] = {}
    for item in items:
        if item.nodeid not in relative:
            continue
        path = relative[item.nodeid]
        if path not in sources:
            sources[path] = Path(str(item.fspath)).read_text()
        used = {name for name in SHARED_BUILDS if name in item.fixturenames or name in sources[path]}
        for name in used:
            union(path, first_user.setdefault(name, path))
    group_of = {f: find(f) for f in files}
    # a group with a shared build is named after the first of SHARED_BUILDS it uses (HEAVY_FIRST names it)
    label: dict[str, str] = {}
    for name in SHARED_BUILDS:
        if name in first_user:
            label.setdefault(find(first_user[name]), name)

    def group(item) -> str | None:
        if item.nodeid not in relative:
            return None
        root_file = group_of[relative[item.nodeid]]
        return label.get(root_file, root_file)

    for item in items:
        name = group(item)
        if name and not any(True for _ in item.iter_markers("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(name))

    def rank(item) -> int:
        path, name = relative.get(item.nodeid, ""), group(item)
        for i, heavy in enumerate(HEAVY_FIRST):
            if heavy in (path, name):
                return i
        return len(HEAVY_FIRST)

    items.sort(key=rank)  # stable: the order within a group, and of the rest, is pytest's


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

    db = tmp_path_factory.mktemp("real_headers") / "idc_qc.duckdb"
    build(db, str(real_headers))
    return db


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

    root = tmp_path_factory.mktemp("synthetic_build")
    synth = synthesize(root / "synth", series_limit=300, seed=0)
    db = root / "idc_qc.duckdb"
    build(db, str(Path(synth.instances_glob).parent))
    return db


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
def tcga_db(tmp_path_factory) -> Path:
    """The TCGA clinical data registered and the clinical models built over IDC's index (support.clinical)."""
    from support.clinical import tcga_clinical_db

    return tcga_clinical_db(tmp_path_factory.mktemp("tcga_clinical"))
