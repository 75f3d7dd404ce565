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
    return subprocess.run([sys.executable, "-m", "idc_qc.cli", *args], capture_output=True, text=True, timeout=120)


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


@pytest.mark.parametrize("command", ["query", "query -o", "cohort create"])
def test_ctrl_c_stops_a_slow_query_at_once(warehouse, tmp_path, command):
    db = str(warehouse["db"])
    out = tmp_path / ("r.parquet" if command == "query -o" else "c.json")
    args = {"query": ["query", SLOW], "query -o": ["query", SLOW, "-o", str(out)],
            "cohort create": ["cohort", "create", "-o", str(out),
                              SLOW.replace("count(*) as n", "cast(i as varchar) as SeriesInstanceUID")]}[command]
    process = subprocess.Popen([sys.executable, "-m", "idc_qc.cli", *args, "--db", db], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
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
