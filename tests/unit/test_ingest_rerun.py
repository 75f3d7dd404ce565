"""`idc-qc ingest` with nothing changed since the last run: answered from the manifest's
fingerprint after one walk (idc_qc/ingest/rerun.py), before Typer, Rich, Arrow or pydicom are
imported (idc_qc/cli/ingest_rerun.py). It must write the manifest the full run would have
written, say what the full run would have said, and leave every other change to the full run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pydicom")

from support.dicom_files import dataset_for, write_broken_files, write_file
from support.geometry import SeriesSpec, series_rows

from idc_qc.cli.ingest_rerun import _parse
from idc_qc.ingest import manifest as mf
from idc_qc.ingest.files import walk_inputs
from idc_qc.ingest.rerun import rerun_if_unchanged
from idc_qc.ingest.run import ingest

#: What differs between two runs that read the same files: when and how fast.
RUN_TIME = ("finished", "seconds")


def _rows(n: int, uid: str = "1.2.826.0.1.3680043.8.498.27.1") -> list[dict]:
    return series_rows(SeriesSpec(uid=uid, n=n, rows=16, columns=16))


@pytest.fixture()
def ingested(tmp_path) -> dict:
    """A folder of good and broken files (walk notes, duplicates, failures), ingested once."""
    folder = tmp_path / "in"
    rows = _rows(4)
    paths = [write_file(dataset_for(r), folder / "series" / f"{k}.dcm") for k, r in enumerate(rows)]
    write_broken_files(folder / "broken", _rows(1, uid="1.2.826.0.1.3680043.8.498.27.2")[0])
    out = tmp_path / "out"
    ingest([str(folder)], out, collection="site_a", workers=1)
    return {"folder": folder, "out": out, "paths": paths, "rows": rows}


def _manifest(out: Path) -> dict:
    return json.loads((out / mf.MANIFEST_NAME).read_text())


def _without(manifest: dict, keys=RUN_TIME) -> dict:
    return {k: v for k, v in manifest.items() if k not in keys}


def test_an_unchanged_rerun_writes_the_manifest_the_full_run_writes(ingested):
    folder, out = ingested["folder"], ingested["out"]
    tables = {name: (out / name).stat().st_mtime_ns for name in (mf.FILES_NAME, mf.ERRORS_NAME)}
    quick = rerun_if_unchanged([str(folder)], out, collection="site_a", workers=1)
    assert quick is not None and quick == _manifest(out)
    found, notes = walk_inputs([str(folder)], str(out))
    broken_links = sum(n.counts_as_file for n in notes)
    assert quick["counts"]["unchanged"] == len(found) == quick["counts"]["found"] - broken_links
    assert (quick["counts"]["new"], quick["counts"]["changed"], quick["counts"]["removed"]) == (0, 0, 0)
    assert quick["counts"]["walk_notes"] == len(notes) - broken_links > 0
    assert {name: (out / name).stat().st_mtime_ns for name in tables} == tables  # nothing but the manifest written

    full = ingest([str(folder)], out, collection="site_a", workers=1)
    assert full.files_read_this_run == 0
    assert _without(full.manifest) == _without(quick)  # the same counts, parts, columns and fingerprint


def _touch(ingested):
    os.utime(ingested["paths"][0], ns=(1, 1))


def _grow(ingested):
    path = ingested["paths"][1]
    mtime_ns = path.stat().st_mtime_ns
    with open(path, "ab") as handle:
        handle.write(b"\0\0")
    os.utime(path, ns=(mtime_ns, mtime_ns))  # as before: only the size tells


def _add(ingested):
    row = dict(ingested["rows"][0], SOPInstanceUID=ingested["rows"][0]["SOPInstanceUID"] + ".7")
    write_file(dataset_for(row), ingested["folder"] / "series" / "added.dcm")


def _orphan_part(ingested):
    part = next((ingested["out"] / mf.INSTANCES_DIR).iterdir())
    (part.parent / "part-999999.parquet").write_bytes(part.read_bytes())  # as a stopped run leaves one


CHANGES = {
    "a file's modification time": (_touch, {}),
    "a file's size, same time": (_grow, {}),
    "a new file": (_add, {}),
    "a removed file": (lambda i: i["paths"][2].unlink(), {}),
    "a new symlink loop": (lambda i: os.symlink(i["folder"], i["folder"] / "series" / "up"), {}),
    "an extra part in the output": (_orphan_part, {}),
    "the errors table removed": (lambda i: (i["out"] / mf.ERRORS_NAME).unlink(), {}),
    "another --collection": (lambda i: None, {"collection": "site_b"}),
    "another input path": (lambda i: None, {"paths": "series"}),
    "a manifest without a fingerprint (an older ingest)": (
        lambda i: mf.write_manifest(i["out"], _without(_manifest(i["out"]), ("generator", "fingerprint"))), {}),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_anything_changed_is_left_to_the_full_run(ingested, change):
    make, options = CHANGES[change]
    make(ingested)
    paths = [str(ingested["folder"] / options["paths"])] if "paths" in options else [str(ingested["folder"])]
    before = (ingested["out"] / mf.MANIFEST_NAME).read_bytes()
    assert rerun_if_unchanged(paths, ingested["out"], collection=options.get("collection", "site_a")) is None
    assert (ingested["out"] / mf.MANIFEST_NAME).read_bytes() == before  # not touched


def test_an_unchanged_folder_after_a_full_rerun_of_a_change_is_quick_again(ingested):
    _touch(ingested)
    changed = ingest([str(ingested["folder"])], ingested["out"], collection="site_a", workers=1)
    assert changed.changed == 1
    assert rerun_if_unchanged([str(ingested["folder"])], ingested["out"], collection="site_a") is not None


@pytest.mark.parametrize("args, expected", [
    (["in"], (["in"], {})),
    (["in", "more", "-o", "x", "-c", "s", "-w", "2"], (["in", "more"], {"out": "x", "collection": "s", "workers": "2"})),
    (["--out=x", "--collection=s", "--workers=1", "in"], (["in"], {"out": "x", "collection": "s", "workers": "1"})),
    ([], None),                                        # the full command says what is missing
    (["--help"], None),
    (["in", "--study", "1.2"], None),                  # DICOMweb options, and URLs
    (["https://host/dicom-web", "--all"], None),
    (["in", "-o"], None),                              # an option without its value
    (["in", "-o", "a", "--out", "b"], None),           # given twice
    (["-o=x", "in"], None),                            # Click reads that as the folder "=x"
    (["in", "--bogus"], None),
    (["in", "--", "-file-named-like-an-option"], None),
])
def test_only_the_plain_forms_of_the_options_that_decide_what_is_read_are_parsed(args, expected):
    assert _parse(args) == expected


HEAVY = ("typer", "click", "rich", "pyarrow", "pydicom", "pandas", "duckdb")

RUN_MAIN = """
import sys
sys.argv = ["idc-qc", *sys.argv[1:]]
from idc_qc.cli import main
try:
    main()
except SystemExit as stop:
    code = stop.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print(code, *heavy)
""" % (HEAVY,)


def test_the_command_answers_without_its_libraries_and_says_what_the_full_command_says(ingested):
    args = ["ingest", str(ingested["folder"]), "-o", str(ingested["out"]), "--collection", "site_a"]
    quick = subprocess.run([sys.executable, "-c", RUN_MAIN, *args], capture_output=True, text=True, check=False)
    assert quick.stdout.split() == ["0"], quick.stderr  # exit 0, and none of the heavy libraries imported
    full = subprocess.run([sys.executable, "-m", "idc_qc.cli", "--debug", *args], capture_output=True, text=True,
                          check=False)  # a global option first: the full command
    assert full.returncode == 0, full.stderr
    said = [line for line in full.stderr.splitlines() if not line.startswith("reading DICOM headers")]
    assert quick.stderr.splitlines() == said
    assert "; this run read 0 (0 new, 0 changed), " in said[0] and "unchanged, 0 removed" in said[0]
    assert any("Errors table:" in line for line in said)

    _touch(ingested)  # something to read: the full command, with its progress bar
    changed = subprocess.run([sys.executable, "-c", RUN_MAIN, *args], capture_output=True, text=True, check=False)
    assert changed.stdout.split()[0] == "0" and "pyarrow" in changed.stdout.split()
    assert "this run read 1 (0 new, 1 changed)" in " ".join(changed.stderr.split())


def test_ctrl_c_while_the_rerun_walks_is_the_commands_interrupted_line(monkeypatch, capsys):
    import idc_qc.cli.ingest_rerun as quick
    from idc_qc.cli import main
    from idc_qc.errors import EXIT_INTERRUPTED, INTERRUPTED_LINE

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(quick, "answer", interrupted)
    monkeypatch.setattr(sys, "argv", ["idc-qc", "ingest", "in"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == EXIT_INTERRUPTED
    assert capsys.readouterr().err.splitlines() == [INTERRUPTED_LINE]  # one line, no traceback
