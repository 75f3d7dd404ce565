"""The sandbox as a user meets it (the console script in a subprocess): a file read through each
option that takes SQL is refused in one line, exit 2, nothing written, nothing leaked; Ctrl-C
stops a slow `query` and `cohort create` within seconds, exit 130, no partial output.

The whole table (every option x every hostile case) runs through the importable functions in
tests/unit/test_sql_sandbox.py.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.sandbox import SECRET_TEXT, make_selection_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> dict:
    return make_selection_warehouse(tmp_path_factory.mktemp("sandbox_cli"))


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "idc_qc.cli", *args], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("option", ["bias --by", "upset --where", "query", "export --where", "cohort create --where"])
def test_cli_refuses_a_file_read_in_one_line(warehouse, tmp_path, option):
    secret, db = warehouse["secret"], str(warehouse["db"])
    read = f"(select string_agg(column0, '|') from read_csv('{secret}', header=false, sep='\\x01'))"
    args = {
        "bias --by": ["bias", "--by", read, "-o", str(tmp_path), "--no-chart"],
        "upset --where": ["upset", "--where", f"cast((select content from read_text('{secret}')) as int) = 1",
                          "-o", str(tmp_path)],
        "query": ["query", f"select {read}"],
        "export --where": ["export", "series", "-o", str(tmp_path / "e.csv"), "--where", f"{read} is not null"],
        "cohort create --where": ["cohort", "create", "-o", str(tmp_path / "c.json"), "--where", f"{read} is not null"],
    }[option]
    before = _digests(warehouse["root"])
    result = _cli(*args, "--db", db)
    assert result.returncode == 2, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "unexpected" not in errors[0], result.stderr
    assert SECRET_TEXT not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert _digests(warehouse["root"]) == before


#: A query that runs for minutes: 10^11 rows, hashed.
SLOW = "select count(*) as n from range(100000000000) t(i) where hash(i) % 1000003 = 7"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow  # each waits 4 s for the query to be well under way
@pytest.mark.parametrize("command", ["query", "query -o", "cohort create", "query, started with SIGINT ignored"])
def test_ctrl_c_stops_a_slow_query_at_once(warehouse, tmp_path, command):
    """The last case: a process started by a script's background job inherits SIGINT ignored
    (Python then keeps it so); `kill -INT` still stops the query, as it stops a build."""
    db = str(warehouse["db"])
    out = tmp_path / ("r.parquet" if command == "query -o" else "c.json")
    args = {"query": ["query", SLOW], "query -o": ["query", SLOW, "-o", str(out)],
            "cohort create": ["cohort", "create", "-o", str(out),
                              SLOW.replace("count(*) as n", "cast(i as varchar) as SeriesInstanceUID")],
            "query, started with SIGINT ignored": ["query", SLOW]}[command]
    process = subprocess.Popen([sys.executable, "-m", "idc_qc.cli", *args, "--db", db], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=_ignore_sigint if "ignored" in command else None)
    time.sleep(4)  # started, and well inside the query (it would run for minutes)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        _stdout, stderr = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"{command} still running 15 s after Ctrl-C") from None
    stopped = time.monotonic() - sent
    print(f"\n{command}: exit {process.returncode} {stopped:.2f} s after SIGINT")
    assert process.returncode == 130, stderr
    assert stopped < 5
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []  # no output, no partial file, no s5cmd list


def _manifest(**changes) -> dict:
    from idc_qc.query.cohort import MANIFEST_FORMAT, query_sha256

    sql = "select SeriesInstanceUID from idc_index"
    manifest = {"format": MANIFEST_FORMAT, "query": {"sql": sql, "dialect": "duckdb", "sha256": query_sha256(sql, "duckdb")},
                "series": [{"SeriesInstanceUID": "1.2.3", "crdc_series_uuid": "uuid-0"}]}
    manifest.update(changes)
    return manifest


@pytest.mark.parametrize(("case", "words"), [
    ("query starts with a -- comment", "put -- before it"),
    ("-f file not UTF-8", "is not UTF-8 text"),
    ("--max-rows -1", "--max-rows"),
    ("manifest query is text", "must hold sql (text) and dialect"),
    ("manifest series is null", "\"series\" is not a list"),
    ("manifest series lacks crdc_series_uuid", "entry 1 lacks SeriesInstanceUID or crdc_series_uuid"),
    ("bias --where misspelt column", "no column 'Modalty' (similar: Modality"),
])
def test_sql_input_errors_are_one_line_with_a_next_step(warehouse, tmp_path, case, words):
    import json

    db = str(warehouse["db"])
    bad = tmp_path / "bad.sql"
    bad.write_bytes(b"select '\xff\xfe'")
    manifest = tmp_path / "m.json"
    changes = {"manifest query is text": {"query": "select 1"}, "manifest series is null": {"series": None},
               "manifest series lacks crdc_series_uuid": {"series": [{"SeriesInstanceUID": "1.2.3"}]}}.get(case)
    if changes is not None:
        manifest.write_text(json.dumps(_manifest(**changes)))
    args = {
        "query starts with a -- comment": ["query", "-- count the series\nselect count(*) from series"],
        "-f file not UTF-8": ["query", "-f", str(bad)],
        "--max-rows -1": ["query", "--max-rows", "-1", "select 1"],
        "bias --where misspelt column": ["bias", "--where", "Modalty = 'CT'", "-o", str(tmp_path / "b"), "--no-chart"],
    }.get(case, ["cohort", "check", str(manifest), "--index", str(warehouse["index"])])
    result = _cli(*args, "--db", db)
    assert result.returncode == 2, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "unexpected" not in errors[0] and "Traceback" not in result.stderr, result.stderr
    assert words in " ".join(result.stderr.split())


def test_bias_on_an_empty_selection_exits_1_in_one_line(warehouse, tmp_path):
    result = _cli("bias", "--where", "Modality = 'XA'", "-o", str(tmp_path / "b"), "--db", str(warehouse["db"]))
    assert result.returncode == 1, result.stderr
    assert "no series matches the selection" in result.stderr and not (tmp_path / "b").exists()
