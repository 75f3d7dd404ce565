"""What bias outputs say, on results made by hand (no database): 'no data' where a group has
no known value, small groups marked, every category drawn with a colour (more categories than
the palette: the crash of `bias` on an index-only build), each panel in its own unit, the
reference summing to 100% in the printed shares, and the basis written into the files."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from idc_qc.bias import BiasResult, Selection
from idc_qc.bias.charts import (
    MAX_CATEGORIES,
    bias_chart,
    distance_cell,
    share_rows,
    write_tables,
)
from idc_qc.bias.distance import MIN_GROUP_SIZE, distance_notes, judge_distance


def test_a_group_with_no_known_value_has_no_distance():
    """Issue 20: race 100% 'Not reported' scored 1.000 'disjoint' from the census."""
    census = {"White": 0.616, "Black": 0.124, "Asian": 0.06, "Multiple or Other": 0.2}
    assert judge_distance({"Not reported": 1010}, census, 1010)[1] == "no data"
    assert math.isnan(judge_distance({"Not reported": 1010}, census, 1010)[0])
    distance, status = judge_distance({"White": 12, "Black": 2, "Not reported": 1}, census, 15)
    assert status == "small group" and 0 < distance < 1            # kept, and marked
    assert judge_distance({"White": 40}, census, MIN_GROUP_SIZE)[1] == "ok"
    assert judge_distance({"White": 40}, {}, 40)[1] == "no reference"
    assert distance_cell(float("nan"), "no data") == "no data"
    assert distance_cell(0.41234, "small group") == "0.412*" and distance_cell(0.41234, "ok") == "0.412"


def _result(manufacturers: int = 3, basis: str = "") -> BiasResult:
    rows = []
    for group, patients, series in (("big", 120, 400), ("tiny", 3, 23)):
        for sex, n in (("Female", patients // 3), ("Male", patients - patients // 3)):
            rows.append((group, "sex", sex, "patients", n, patients))
        for race in ("Not reported",):
            rows.append((group, "race", race, "patients", patients, patients))
        for k in range(manufacturers):
            rows.append((group, "manufacturer", f"Vendor {k:03d}", "series", series // manufacturers, series))
    dist = pd.DataFrame(rows, columns=["group_value", "attribute", "category", "unit", "n", "group_total"])
    dist["share"] = dist["n"] / dist.groupby(["group_value", "attribute"])["n"].transform("sum")
    ref = pd.DataFrame([("sex", "Female", 0.507), ("sex", "Male", 0.493), ("race", "White", 0.616),
                        ("race", "Black", 0.124), ("race", "Asian", 0.26)], columns=["attribute", "category", "share"])
    ref = pd.concat([ref, pd.DataFrame({"attribute": "manufacturer", "category": [f"Vendor {k:03d}" for k in range(manufacturers)],
                                        "share": 1 / manufacturers})], ignore_index=True)
    out = []
    for (group, attribute), part in dist.groupby(["group_value", "attribute"]):
        q = ref[ref["attribute"] == attribute]
        jsd, status = judge_distance(dict(zip(part["category"], part["n"])), dict(zip(q["category"], q["share"])),
                                     int(part["group_total"].iloc[0]))
        out.append({"group_value": group, "attribute": attribute, "unit": part["unit"].iloc[0],
                    "group_total": int(part["group_total"].iloc[0]), "not_reported_share": 0.0, "jsd": jsd,
                    "distance_status": status})
    return BiasResult(selection=Selection(), reference_name="census", age_scheme="midrc",
                      attributes=["sex", "race", "manufacturer"], distributions=dist, reference=ref,
                      distances=pd.DataFrame(out), input_kind="dicom", basis=basis)


def _panels(spec: dict) -> dict[str, dict]:
    return {p["title"]: p for p in spec["hconcat"][1]["vconcat"]}


def test_more_categories_than_colours_draws_the_largest_and_other():
    """Issue 23: `bias` on an index-only build wrote the CSVs, then 'unexpected IndexError'
    (more manufacturers than the palette's 68 colours)."""
    spec = bias_chart(_result(manufacturers=150)).to_dict()
    panel = _panels(spec)["manufacturer (share of series)"]
    scale = panel["encoding"]["color"]["scale"]
    assert len(scale["domain"]) == MAX_CATEGORIES == len(scale["range"])
    assert scale["domain"][-1] == f"Other ({150 - MAX_CATEGORIES + 1})"
    assert len(set(scale["range"])) == len(scale["range"])            # no colour used twice


def test_each_panel_labels_its_own_unit_and_small_groups_are_marked():
    """Issue 20: a panel said 'n=23 patients' on a series axis."""
    spec = bias_chart(_result()).to_dict()
    panels = _panels(spec)
    datasets = spec["datasets"]
    manufacturer = datasets[panels["manufacturer (share of series)"]["data"]["name"]]
    sex = datasets[panels["sex (share of patients)"]["data"]["name"]]
    assert {r["group_value"] for r in manufacturer} >= {"tiny (n=23 series)", "big (n=400 series)"}
    assert {r["group_value"] for r in sex} >= {"tiny (n=3 patients)", "big (n=120 patients)"}
    assert panels["manufacturer (share of series)"]["encoding"]["x"]["title"] == "share of series"
    heat = datasets[spec["hconcat"][0]["data"]["name"]]
    labels = {r["group_label"] for r in heat}
    assert labels == {"big (120 patients, 400 series)", "tiny (3 patients, 23 series, small)"}
    cells = {(r["group_value"], r["attribute"]): r["jsd_label"] for r in heat}
    assert cells[("big", "race")] == "no data" and cells[("tiny", "sex")].endswith("*")
    notes = distance_notes(_result().distances)
    assert any("'no data' instead of a distance" in n for n in notes)
    assert any(f"fewer than {MIN_GROUP_SIZE} members" in n and "tiny" in n for n in notes)


def test_printed_reference_shares_sum_to_one_in_every_group():
    """Issue 20: the reference column listed only the group's categories (74% for race)."""
    result = _result()
    for attribute in ("sex", "race", "manufacturer"):
        rows = share_rows(result, attribute)
        for group in ("big", "tiny"):
            reference = [r[4] for r in rows if r[0] == group and r[4] is not None]
            assert sum(reference) == pytest.approx(1.0), (attribute, group, rows)
            assert sum(r[3] for r in rows if r[0] == group) == pytest.approx(1.0)


def test_the_files_say_what_they_stand_on(tmp_path):
    basis = "a local sample (dicom instance input): 300 series of 23 patients (0.03% of the 1,044,191 series in IDC's index)"
    dist_csv, dists_csv = write_tables(_result(basis=basis), tmp_path)
    for path in (dist_csv, dists_csv):
        assert set(pd.read_csv(path)["based_on"]) == {basis}
    assert set(pd.read_csv(dists_csv)["distance_status"]) == {"ok", "no data", "small group"}
    assert bias_chart(_result(basis=basis)).to_dict()["title"]["subtitle"] == [basis]


def test_describe_basis_tells_a_sample_from_the_whole_index():
    import duckdb

    from idc_qc.bias.basis import describe_basis

    con = duckdb.connect()
    con.execute("create table stg_idc_index__series as select range as SeriesInstanceUID from range(1000)")
    con.execute("create table series as select 'c' as collection_id, 'p' || (range % 23) as PatientID from range(300)")
    tables = {"series", "stg_idc_index__series"}
    line, partial = describe_basis(con, tables, "dicom")
    assert partial and line == ("a local sample (dicom instance input): 300 series of 23 patients "
                                "(30.00% of the 1,000 series in IDC's index)")
    line, partial = describe_basis(con, tables, "synthetic")
    assert partial and line.startswith("SYNTHETIC input (idc-qc synth), not IDC data: 300 series")
    con.execute("insert into series select 'c', 'q' from range(700)")
    assert describe_basis(con, tables, "index_only") == ("IDC's index: 1,000 series of 24 patients", False)
