"""Fault injection: nothing lost, nothing mixed, nothing crashes.

The installed console script (``idc-qc`` beside this interpreter) runs as a subprocess, as a
scheduler would run it, on a small synthetic input. Builds are killed with SIGINT and
SIGKILL at known moments (the ``IDC_QC_TEST_PAUSE_AT`` test hook, see
idc_qc/workspace.py), run twice at once, run into a full and a read-only file system,
and pointed at things that are not databases. Every case asserts the exit code, the one
line the user sees (never a traceback) and that the previous tables are all still there,
row for row, and consistent.

To stay fast, builds select ``+series_geometry +instance_geometry`` (everything but the
index-wide ``series``); the partial build starts from a copy of the previous database.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from support.data import query

SELECTION = ["-s", "+series_geometry +instance_geometry"]
PAUSE_TIMEOUT = 120


def _idc_qc() -> str:
    script = shutil.which("idc-qc", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the idc-qc console script is not installed beside this interpreter")
    return script


def run(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DO_NOT_TRACK": "1", **(env or {})}
    full_env.pop("IDC_QC_DB", None)
    return subprocess.run([_idc_qc(), *args], capture_output=True, text=True, timeout=timeout, env=full_env)


class Paused:
    """A command started with IDC_QC_TEST_PAUSE_AT=<point>, waiting at that point."""

    def __init__(self, point: str, *args: str, env_extra: dict[str, str] | None = None) -> None:
        env = {**os.environ, "DO_NOT_TRACK": "1", "IDC_QC_TEST_PAUSE_AT": point, "IDC_QC_TEST_PAUSE_SECONDS": "120",
               **(env_extra or {})}
        env.pop("IDC_QC_DB", None)
        self.proc = subprocess.Popen([_idc_qc(), *args], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.lines: list[str] = []
        self.paused = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.paused.wait(PAUSE_TIMEOUT):
            self.proc.kill()
            raise AssertionError(f"never paused at {point}: " + "".join(self.lines))

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)
            if "IDC_QC_TEST_PAUSE_AT paused at" in line:
                self.paused.set()

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, needle: str, timeout: float = 60) -> bool:
        """Whether a line holding ``needle`` was written within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in list(self.lines)):
                return True
            time.sleep(0.05)
        return False

    def stop(self, sig: int) -> tuple[int, str]:
        """Send ``sig`` (0: none, wait as it is) and wait for the end: exit code and stderr."""
        if sig:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=120)
        self.reader.join(timeout=10)
        return code, "".join(self.lines)


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def assert_one_error_line(result_stderr: str, *needles: str) -> str:
    assert "Traceback" not in result_stderr, result_stderr
    errors = [line for line in result_stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result_stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def table_counts(db: Path) -> dict[str, int]:
    tables = [r[0] for r in query(db, "select table_name from information_schema.tables "
                                      "where table_type = 'BASE TABLE' order by 1")]
    return {t: query(db, f'select count(*) from "{t}"')[0][0] for t in tables}


def assert_consistent(db: Path) -> None:
    """Both geometry marts come from the same input: no instance row without its series."""
    orphans = query(db, "select count(distinct SeriesInstanceUID) from instance_geometry "
                        "where SeriesInstanceUID not in (select SeriesInstanceUID from series_geometry)")[0][0]
    assert orphans == 0
    assert query(db, "select status from idc_qc_build order by started_at desc limit 1")[0][0] == "complete"


def leftovers(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name + ".") and p.name != db.name)


# The inputs and the first build are made in this process (the library's functions): what is
# under test is the builds below, each a process of its own.

@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from idc_qc.synth import synthesize

    out = tmp_path_factory.mktemp("faults") / "synth"
    synthesize(out, series_limit=50, seed=3)
    return out / "instances"


@pytest.fixture(scope="module")
def second_input(tmp_path_factory) -> Path:
    """Another input with other series: a build that mixed the two would leave orphans."""
    from idc_qc.synth import synthesize

    out = tmp_path_factory.mktemp("faults") / "synth2"
    synthesize(out, series_limit=40, seed=11)
    return out / "instances"


@pytest.fixture(scope="module")
def built(tmp_path_factory, synth) -> Path:
    from idc_qc.build import build

    db = tmp_path_factory.mktemp("faults") / "base" / "idc_qc.duckdb"
    build(db, str(synth), select=[SELECTION[1]])
    assert_consistent(db)
    return db


@pytest.fixture
def previous(built, tmp_path) -> tuple[Path, dict[str, int]]:
    """A copy of a complete build, and its row counts."""
    db = tmp_path / "idc_qc.duckdb"
    shutil.copyfile(built, db)
    return db, table_counts(db)


pytestmark = pytest.mark.slow


# --- interrupts -----------------------------------------------------------------------------

@pytest.mark.parametrize("point", ["before_dbt", "int_series__geometry_judged", "instance_geometry"])
def test_ctrl_c_keeps_the_previous_results(previous, second_input, point):
    db, before = previous
    paused = Paused(point, "build", "-i", str(second_input), "--db", str(db), *SELECTION)
    code, stderr = paused.stop(signal.SIGINT)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "IndexError" not in stderr
    assert last_line(stderr) == "interrupted; previous results kept"
    assert table_counts(db) == before
    assert_consistent(db)
    assert leftovers(db) == []  # the temporary database and the lock are gone


@pytest.mark.parametrize("how", ["grace", "second Ctrl-C"])
def test_a_build_that_does_not_stop_after_ctrl_c_is_ended_and_cleaned_up(previous, second_input, how):
    """A worker dbt cannot stop (held at instance_geometry): the build is ended after the grace
    period, or at once by a second Ctrl-C, with its staging folder and lock removed."""
    db, before = previous
    grace = "4" if how == "grace" else "600"
    paused = Paused("instance_geometry", "build", "-i", str(second_input), "--db", str(db), *SELECTION,
                    env_extra={"IDC_QC_TEST_PAUSE_HOLD": "1", "IDC_QC_INTERRUPT_GRACE_SECONDS": grace})
    started = time.monotonic()
    paused.proc.send_signal(signal.SIGINT)
    if how == "second Ctrl-C":
        # two signals sent before the handler ran would be one Ctrl-C: wait until it was seen
        assert paused.wait_for("Ctrl-C again ends it now"), paused.text()
        time.sleep(0.5)
        assert paused.proc.poll() is None  # held: the first Ctrl-C did not end it
    code, stderr = paused.stop(signal.SIGINT if how == "second Ctrl-C" else 0)
    assert code == 130, stderr
    note = "a second Ctrl-C" if how == "second Ctrl-C" else "did not stop within 4 s of Ctrl-C"
    assert any(note in line and line.startswith("Note:") for line in stderr.splitlines()), stderr
    assert "stopping the build (Ctrl-C again ends it now" in stderr
    assert last_line(stderr) == "interrupted; previous results kept"
    if how == "grace":
        assert time.monotonic() - started >= 4
    assert table_counts(db) == before
    assert_consistent(db)
    assert leftovers(db) == []


@pytest.mark.parametrize("point", ["series_geometry", "before_install"])
def test_sigkill_keeps_the_previous_results_and_the_next_build_cleans_up(previous, second_input, point):
    db, before = previous
    paused = Paused(point, "build", "-i", str(second_input), "--db", str(db), *SELECTION)
    killed_pid = paused.proc.pid
    code, _ = paused.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert table_counts(db) == before
    assert_consistent(db)
    assert leftovers(db) == ["idc_qc.duckdb.building", "idc_qc.duckdb.lock"]

    result = run("build", "-i", str(second_input), "--db", str(db), *SELECTION)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "did not finish" in line]
    assert len(notes) == 1 and f"pid {killed_pid}" in notes[0], result.stderr
    assert leftovers(db) == []
    assert_consistent(db)
    assert table_counts(db)["series_geometry"] == 40  # now the second input, whole


# --- two at once ----------------------------------------------------------------------------

def test_a_second_build_is_refused_and_export_reads_the_previous_build(previous, synth, tmp_path):
    db, before = previous
    first = Paused("before_dbt", "build", "-i", str(synth), "--db", str(db), *SELECTION)
    try:
        second = run("build", "-i", str(synth), "--db", str(db), *SELECTION)
        assert second.returncode == 2, second.stderr
        line = assert_one_error_line(second.stderr, "another build", f"pid {first.proc.pid}", "started")
        assert str(db) in line

        exported = run("export", "series_geometry", "-o", str(tmp_path / "g.csv"), "--db", str(db))
        assert exported.returncode == 0, exported.stderr
        assert "Traceback" not in exported.stderr
        assert "is running" in exported.stderr  # a warning, and the previous complete file is read
        assert f"Wrote {before['series_geometry']} rows" in exported.stderr
    finally:
        code, _ = first.stop(signal.SIGINT)
    assert code == 130
    assert table_counts(db) == before


# --- full and read-only file systems ---------------------------------------------------------

def _tmpfs(path: Path, size_bytes: int) -> Path:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    return path


@pytest.fixture
def mounts():
    mounted: list[Path] = []
    yield mounted
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_full_disk_during_build_and_export_loses_nothing(built, synth, tmp_path, mounts):
    size = built.stat().st_size
    disk = _tmpfs(tmp_path / "disk", size + 256 * 1024)  # room for the database, not for a second copy
    mounts.append(disk)
    db = disk / "idc_qc.duckdb"
    shutil.copyfile(built, db)
    before = table_counts(db)

    result = run("build", "-i", str(synth), "--db", str(db), *SELECTION)
    assert result.returncode == 2, result.stderr
    assert_one_error_line(result.stderr, "o space left")
    assert table_counts(db) == before
    assert_consistent(db)
    assert leftovers(db) == []

    with open(disk / "filler", "wb", buffering=0) as filler:  # now fill the disk to the last byte
        try:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        except OSError:
            pass
    out = disk / "instance_geometry.parquet"
    result = run("export", "instance_geometry", "-o", str(out), "--db", str(db))
    assert result.returncode == 2, result.stderr
    assert_one_error_line(result.stderr, "cannot write", "no space left")
    assert not out.exists() and not any(p.name.startswith(".instance_geometry") for p in disk.iterdir())
    assert table_counts(db) == before


def test_disk_full_while_dbt_writes_installs_nothing(built, synth, tmp_path, mounts):
    """Room for dbt's files and half the database: dbt itself runs out of space."""
    dbt_files = sum(p.stat().st_size for p in (built.parent / "dbt").rglob("*") if p.is_file())
    disk = _tmpfs(tmp_path / "small", dbt_files + built.stat().st_size // 2)
    mounts.append(disk)
    db = disk / "idc_qc.duckdb"
    result = run("build", "-i", str(synth), "--db", str(db), *SELECTION)
    assert result.returncode == 2, result.stderr
    assert_one_error_line(result.stderr, "o space left")
    assert not db.exists() and leftovers(db) == []
    # dbt's output of the failed build is not left on the full disk; the attempt is recorded
    assert not (disk / "dbt").exists(), sorted(str(p) for p in (disk / "dbt").rglob("*"))
    attempt = (disk / "idc_qc.attempt.json")
    assert not attempt.exists() or '"failed"' in attempt.read_text()


def test_read_only_target_is_one_line_and_untouched(built, synth, tmp_path, mounts):
    disk = _tmpfs(tmp_path / "ro", built.stat().st_size + 1024 * 1024)
    mounts.append(disk)
    db = disk / "idc_qc.duckdb"
    shutil.copyfile(built, db)
    before = table_counts(db)
    remount = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True, text=True)
    if remount.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")

    result = run("build", "-i", str(synth), "--db", str(db), *SELECTION)
    assert result.returncode == 2, result.stderr
    assert_one_error_line(result.stderr, "Read-only file system")
    result = run("export", "series_geometry", "-o", str(disk / "g.parquet"), "--db", str(db))
    assert result.returncode == 2, result.stderr
    assert_one_error_line(result.stderr, "cannot write", "read-only file system")
    assert table_counts(db) == before


# --- --db that is not a database -------------------------------------------------------------

def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["csv", "parquet", "text", "folder"])
def test_db_that_is_not_a_database_is_refused_before_anything_runs(kind, tmp_path, synth):
    import duckdb

    path = {"csv": tmp_path / "t.csv", "parquet": tmp_path / "t.parquet", "text": tmp_path / "notes.txt",
            "folder": tmp_path / "folder"}[kind]
    if kind == "csv":
        path.write_text("a,b\n1,2\n")
    elif kind == "parquet":
        duckdb.sql(f"copy (select 1 as a) to '{path}' (format parquet)")
    elif kind == "text":
        path.write_text("hello\n")
    else:
        path.mkdir()
    digest = None if kind == "folder" else _digest(path)
    for args in (["build", "-i", str(synth), "--db", str(path)], ["export", "series", "-o", str(tmp_path / "s.csv"),
                                                                  "--db", str(path)]):
        result = run(*args)
        assert result.returncode == 2, result.stderr
        line = assert_one_error_line(result.stderr, str(path))
        assert ("folder" in line) if kind == "folder" else ("not a DuckDB database" in line)
        assert "loading dbt" not in result.stderr  # refused before dbt started
    if digest is not None:
        assert _digest(path) == digest
    else:
        assert list(path.iterdir()) == []


# --- selection ------------------------------------------------------------------------------

def test_select_matching_nothing_is_an_error(previous, synth):
    db, before = previous
    result = run("build", "-i", str(synth), "--db", str(db), "-s", "+series_geometry", "-s", "series_geometri")
    assert result.returncode == 2, result.stderr
    assert_one_error_line(result.stderr, "no model matches 'series_geometri'", "did you mean 'series_geometry'")
    assert table_counts(db) == before and leftovers(db) == []


def test_select_with_parents_into_a_new_database_builds_and_tests_exactly_that(synth, tmp_path):
    db = tmp_path / "new" / "idc_qc.duckdb"  # named idc_qc.duckdb (its own folder): builds share dbt's cached parse by database name
    db.parent.mkdir()
    result = run("build", "-i", str(synth), "--db", str(db), "-s", "+series_geometry")
    assert result.returncode == 0, result.stderr
    counts = table_counts(db)
    assert counts["series_geometry"] == 50 and "instance_geometry" not in counts and "series" not in counts
    # The closing lines name only tables that exist.
    assert "idc-qc export series_geometry" in result.stderr and "export series " not in result.stderr
    assert "relationships_instance_geometry" not in result.stderr


def _project_with_gate(tmp_path: Path, name: str, sql: str) -> dict[str, str]:
    """A copy of the dbt project with one more singular data test (a curator's own gate), and the
    environment that points idc-qc at it. No input can fail the shipped tests on purpose any more
    (bad rows are classified, not refused), so a failing check is one the user adds."""
    from idc_qc.paths import PROJECT_DIR

    project = tmp_path / "project"
    project.mkdir()
    for item in ["dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "analyses", "expectations"]:
        source = PROJECT_DIR / item
        if source.is_dir():
            shutil.copytree(source, project / item)
        elif source.exists():
            shutil.copy2(source, project / item)
    gate = project / "tests" / "dbt" / "sql" / f"{name}.sql"
    gate.parent.mkdir(parents=True)
    gate.write_text(sql)
    return {"IDC_QC_PROJECT_DIR": str(project)}


def test_a_failing_data_test_is_exit_1_and_a_build_it_cut_short_is_not_installed(previous, second_input, tmp_path):
    db, before = previous
    env = _project_with_gate(tmp_path, "gate_every_series_regular",
                             "-- fails on any irregular series; int_series__geometry_judged's children are skipped\n"
                             "select * from {{ ref('int_series__geometry_judged') }} where geometry_category <> 'regular_volume'\n")
    result = run("build", "-i", str(second_input), "--db", str(db), *SELECTION, env=env)
    assert result.returncode == 1, result.stderr
    assert_one_error_line(result.stderr, "data test(s) failed", "gate_every_series_regular", "previous database was kept")
    assert table_counts(db) == before and leftovers(db) == []


def test_a_failing_leaf_check_installs_the_build_marked_checks_failed(previous, second_input, tmp_path):
    db, before = previous
    env = _project_with_gate(tmp_path, "gate_no_offending_instance",
                             "-- fails when any instance offends; nothing depends on instance_geometry\n"
                             "select * from {{ ref('instance_geometry') }}\n")
    result = run("build", "-i", str(second_input), "--db", str(db), *SELECTION, env=env)
    assert result.returncode == 1, result.stderr
    assert_one_error_line(result.stderr, "data test(s) failed", "gate_no_offending_instance")
    after = table_counts(db)
    assert after != before and after["series_geometry"] == 40  # the new input, whole, to inspect
    assert query(db, "select status from idc_qc_build order by started_at desc limit 1")[0][0] == "checks_failed"
    exported = run("export", "series_geometry", "-o", str(tmp_path / "g.csv"), "--db", str(db))
    assert exported.returncode == 0 and "failing data test(s): gate_no_offending_instance" in exported.stderr, exported.stderr
    assert leftovers(db) == []


# --- errors that used to be tracebacks ----------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["demo", "--series", "0"], "--series 0"),
    (["demo", "--series", "5", "--out", "/dev/null/x"], "Not a directory"),
    (["synth", "--series", "5", "--collection", "LIDC-IDRX"], "did you mean"),
])
def test_former_tracebacks_are_one_line(args, needle):
    result = run(*args, timeout=120)
    assert result.returncode == 2, result.stderr
    assert_one_error_line(result.stderr, needle)


def test_version_and_debug():
    assert run("--version").stdout.startswith("idc-qc ")
    result = run("--debug", "demo", "--series", "0")
    assert result.returncode != 0 and "Traceback" in result.stderr
