"""A series without a manufacturer is 'unknown' in every rpt_* model, so `idc-qc upset
--manufacturer unknown` (and any group by manufacturer) finds it: rpt_geometry_failure_sets and
rpt_geometry_failures agree with the counts of rpt_geometry_category_counts.

Hand-made series (tests/support/geometry.py) with the manufacturer absent, blank, and written:
built once with the reporting models that read them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from support.data import query
from support.geometry import SeriesSpec, series_rows, write_instances

pytestmark = pytest.mark.slow

UID = "1.2.826.0.1.3680043.8.498.66.{}"
#: series -> (Manufacturer as written, geometry fault)
SERIES = {
    "absent_duplicate": (None, {"duplicate": 1}),
    "blank_missing": ("  ", {"missing": 1}),
    "absent_regular": (None, {}),
    "ge_duplicate": ("GE MEDICAL SYSTEMS", {"duplicate": 1}),
}


@pytest.fixture(scope="module")
def makers_db(tmp_path_factory):
    from idc_qc.build import build

    root = tmp_path_factory.mktemp("unknown_manufacturer")
    rows = []
    for name, (maker, faults) in SERIES.items():
        for row in series_rows(SeriesSpec(uid=UID.format(name), n=12, spacing=2.0, faults=faults)):
            row["Manufacturer"] = maker
            rows.append(row)
    write_instances(rows, root / "instances" / "part-0.parquet")
    db = root / "idc_qc.duckdb"
    build(db, str(root / "instances"),
          select=["+rpt_geometry_upset_series", "+rpt_geometry_failures", "+rpt_geometry_category_counts"])
    return db


def test_no_manufacturer_is_unknown_in_every_reporting_model(makers_db):
    sets = dict(query(makers_db, "select SeriesInstanceUID, manufacturer from rpt_geometry_failure_sets"))
    assert sets == {UID.format(name): ("GE" if name.startswith("ge") else "unknown") for name in SERIES}
    failures = dict(query(makers_db, "select SeriesInstanceUID, manufacturer from rpt_geometry_failures"))
    assert failures == {UID.format(n): m for n, m in (("absent_duplicate", "unknown"), ("blank_missing", "unknown"),
                                                      ("ge_duplicate", "GE"))}
    # the same series the counts call unknown
    counted = query(makers_db, "select sum(series_count) from rpt_geometry_category_counts where manufacturer = 'unknown'")
    assert counted[0][0] == sum(m == "unknown" for m in sets.values()) == 3


def test_upset_manufacturer_unknown_selects_them(makers_db, tmp_path):
    from idc_qc.cli.app import app
    from idc_qc.reports.upset import Selection, render_upset

    result = render_upset(makers_db, tmp_path, selection=Selection(manufacturer=["unknown"]))
    assert (result.selected_series, result.failing_series) == (3, 2)
    assert result.selection == "manufacturer unknown"
    cli = CliRunner().invoke(app, ["upset", "--db", str(makers_db), "--manufacturer", "Unknown", "-o", str(tmp_path)])
    assert cli.exit_code == 0, cli.output
    assert "2 of 3 series" in " ".join(cli.output.split())
