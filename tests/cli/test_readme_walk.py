"""The README's Commands section, run as written, command by command, in a fresh folder.

A newcomer runs `idc-qc demo` and then the lines below it; each must work without naming
`--db` (commands read the last database built in the folder and say which in their first
line). The walk is the README's own ```bash block, parsed here, so the README cannot drift
from what runs. Two substitutions keep it cheap: every `--series N` (and the demo, which has
none) runs with SERIES series; the lines in SKIPPED do not run, each with its reason. The
demo's database is then read by the reconciliation tests in tests/reports (one walk, checked
many ways: see ``walked`` below).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
SERIES = 150

#: Lines of the Commands section this walk does not run, and why.
SKIPPED = {
    "idc-qc build": "builds IDC's whole index (1,044,191 series): minutes, not every CI run",
    "idc-qc release run v25": "fetches a release's index, builds all of it and diffs it: minutes",
    "idc-qc build --target bigquery --dry-run": "needs a BigQuery project and credentials (IDC_QC_BQ_PROJECT)",
}

#: The file `idc-qc query --dialect bigquery -f my.sql` reads: IDC's SQL over dicom_all.
MY_SQL = """SELECT collection_id, COUNT(DISTINCT SeriesInstanceUID) AS series
FROM `bigquery-public-data.idc_current.dicom_all`
GROUP BY collection_id ORDER BY series DESC LIMIT 5
"""


def readme_commands(text: str | None = None) -> list[str]:
    """The commands of the README's Commands section, comments and continuation lines dropped."""
    text = README.read_text(encoding="utf-8") if text is None else text
    section = text.split("\n## Commands\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert block, "README's Commands section has no ```bash block"
    commands = []
    for line in block.group(1).splitlines():
        command = re.sub(r"\s+#\s.*$", "", line).strip()
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def as_run(command: str) -> str:
    """The command with a small sample: --series SERIES (the demo too)."""
    command = re.sub(r"--series \d+", f"--series {SERIES}", command)
    if command.split()[:2] == ["idc-qc", "demo"] and "--series" not in command:
        command += f" --series {SERIES}"
    return command


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    """Every Commands line run in order in a fresh folder: (folder, [(command, completed process)])."""
    folder = tmp_path_factory.mktemp("readme_walk")
    (folder / "my.sql").write_text(MY_SQL, encoding="utf-8")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               COLUMNS="200", NO_COLOR="1")
    env.pop("IDC_QC_DB", None)
    ran = []
    for command in readme_commands():
        if command in SKIPPED:
            continue
        proc = subprocess.run(["bash", "-c", as_run(command)], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=600)
        ran.append((command, proc))
    return folder, ran


def test_the_readme_lists_the_walk_and_every_skip_is_a_readme_line():
    commands = readme_commands()
    assert commands[0].startswith("idc-qc demo"), commands
    for skipped in SKIPPED:
        assert skipped in commands, f"SKIPPED names {skipped!r}, no longer in the README's Commands section"
    assert readme_commands("x\n## Commands\n\n```bash\nidc-qc a   # one\n    # more\nidc-qc b\n```\n") == [
        "idc-qc a", "idc-qc b"]
    assert as_run("idc-qc synth --series 2000 --out x") == f"idc-qc synth --series {SERIES} --out x"


def test_every_command_of_the_readme_runs_as_written_after_the_demo(walked):
    folder, ran = walked
    for command, proc in ran:
        assert proc.returncode == 0, f"{command!r} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "Error" not in proc.stderr, (command, proc.stderr)
    assert (folder / "geometry.csv").stat().st_size > 0
    assert (folder / "worklist.csv").stat().st_size > 0
    selected = (folder / "nlst_geometry.html").read_text()
    assert 'id="selection-note"' in selected and "collection nlst" in selected
    assert (folder / "build" / "reports" / "dashboard.html").stat().st_size > 0
    # the demo's gates fail on the injected faults, and it says so and exits 0 (tests/cli/test_installed.py: --strict)
    demo = " ".join((ran[0][1].stdout + ran[0][1].stderr).split())
    assert ran[0][0].startswith("idc-qc demo") and "expectations failed" in demo, demo[-2000:]
    assert "expected: the input is synthetic" in demo and "exit 0 (the demo ran; --strict exits 1" in demo, demo[-2000:]


def test_commands_given_no_db_say_which_database_they_read(walked):
    _, ran = walked
    by_command = dict(ran)
    # after the demo: the demo's database, named in the first line
    first = by_command["idc-qc check; idc-qc report"].stderr.splitlines()[0]
    assert first.startswith("Database: build/demo/idc_qc.duckdb"), first
    # after `idc-qc build --instances ...`: that build (build/idc_qc.duckdb) is the last one
    commands = [command for command, _ in ran]
    assert commands.index("idc-qc build --instances build/synth/instances") > commands.index("idc-qc dashboard")


def _idc_qc(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    env.pop("IDC_QC_DB", None)
    return subprocess.run([str(Path(sys.executable).parent / "idc-qc"), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)


def test_tables_name_lists_columns_with_their_descriptions(walked):
    folder, _ = walked
    proc = _idc_qc(folder, "query", "--tables", "rpt_geometry_failures")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("rpt_geometry_failures") and "columns]" in lines[0]
    assert any(line.split()[:2] == ["viewer_url", "VARCHAR"] and "viewer" in line for line in lines), proc.stdout
    proc = _idc_qc(folder, "query", "--tables", "series_geom")
    assert proc.returncode == 2 and "did you mean series_geometry" in proc.stderr


def test_an_unknown_reference_lists_the_choices(walked):
    folder, _ = walked
    proc = _idc_qc(folder, "bias", "--reference", "censu")
    assert proc.returncode == 2
    error = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert error == ["Error: --reference censu: not one of archive, census, and no such file (or it is empty): "
                     "use --reference archive, --reference census or a CSV/parquet of shares"], proc.stderr


def test_one_count_of_broken_across_upset_report_summary_and_dashboard(walked):
    """On the demo's build, every output that counts failing series says which definition it
    counts and gives the number rpt_failing_series_counts has for it; the parts of each
    definition add up to its total."""
    import csv
    import html

    from support.data import query

    from idc_qc.reports.geometry_summary import reconciliation_line

    folder, _ = walked
    demo = folder / "build" / "demo"
    db = demo / "idc_qc.duckdb"
    counts = {(d, p): n for d, p, n in query(
        db, "select definition, part, series_count from rpt_failing_series_counts where collection_id = '(all)'")}
    for definition in {d for d, _ in counts}:
        parts = [n for (d, p), n in counts.items() if d == definition and p != "total"]
        assert not parts or sum(parts) == counts[(definition, "total")], (definition, counts)
    assert counts[("not_regular_volume", "total")] > counts[("fails_idc_checks", "total")] > 0
    line, total = reconciliation_line(query(db, """
        select part, part_label, series_count from rpt_failing_series_counts
        where collection_id = '(all)' and definition = 'not_regular_volume'
        order by part_order, series_count desc, part"""))
    assert total == counts[("not_regular_volume", "total")]
    assert f" = {counts[('not_regular_volume', 'fails_idc_checks')]:,} fail IDC's geometry checks + " in line

    # the UpSet plot (Figure 5 of every demo series): IDC's checks
    with open(demo / "upset_checks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["definition"] for r in rows} == {"fail IDC's geometry checks"}
    assert sum(int(r["series"]) for r in rows) == int(rows[0]["failing_series"]) == counts[("fails_idc_checks", "total")]

    # the QC report: the definitions table, and its card of series failing a QC rule
    page = (demo / "idc_qc.qc_report.html").read_text()
    in_report = {(d, p): int(n) for d, p, n in re.findall(
        r'<tr data-definition="([^"]+)" data-part="([^"]+)".*?data-count="(\d+)"', page)}
    assert in_report == counts
    card = re.search(r'<div class="card series-affected"><div class="n">([\d,]+)</div>', page).group(1)
    assert int(card.replace(",", "")) == counts[("fails_qc_rules", "total")]

    # the geometry summary (its chart's subtitle) and the dashboard's header: the same sentence
    assert json_text(line) in (demo / "geometry_summary.html").read_text()
    dashboard = (demo / "dashboard.html").read_text()
    assert f'<div id="failing-definitions" style="font-size:13px;margin-top:4px">{html.escape(line)} ' in dashboard


def json_text(text: str) -> str:
    """``text`` as it appears inside a JSON string (the Vega spec of an Altair page)."""
    import json

    return json.dumps(text)[1:-1]


def test_outputs_say_what_they_stand_on(walked):
    """IDC's dicom_all answered from the local sample says how much of IDC it covers; a cohort
    chosen on the synthetic geometry says so in its manifest (one chosen on IDC's index alone
    does not stand on the input)."""
    import json

    folder, ran = walked
    by_command = dict(ran)
    note = by_command["idc-qc query --dialect bigquery -f my.sql"].stderr
    assert re.search(r"local data covers [\d,]+ of IDC's [\d,]+ series", note), note
    proc = _idc_qc(folder, "cohort", "create", "select SeriesInstanceUID from series_geometry "
                   "where geometry_category = 'regular_volume'", "-o", "regular.json")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((folder / "regular.json").read_text())
    assert manifest["input"]["kind"] == "synthetic" and "SYNTHETIC INPUT" in manifest["input"]["notice"]
    proc = _idc_qc(folder, "cohort", "create", "--collection", "cptac_cm", "-o", "index_only.json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((folder / "index_only.json").read_text())["input"]["notice"] is None
