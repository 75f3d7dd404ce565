"""idc_qc.synth: synthetic instance metadata over IDC's real series index, with injected faults.

Small samples only (a few hundred series). The truth's IDC verdicts are checked against a
IDC's own volume_geometry_index SQL (transpiled to DuckDB) run on the written rows, and every fault
is looked for in the rows themselves.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import fields
from pathlib import Path

import duckdb
import numpy as np
import pytest

from idc_qc import synth
from idc_qc.synth import FAULTS, INSTANCE_COLUMNS, SOP_CLASSES, WIDER_COLUMNS, FaultRates, synthesize

DS = re.compile(r"^-?\d+\.\d{6}$")


def _q(sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("default") / "out", series_limit=300, seed=7)


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    """Every series faulty (each fault at 1/12), split into many small parts."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(synth, "ROWS_PER_PART", 20_000)
        return synthesize(tmp_path_factory.mktemp("faulty") / "out", series_limit=700, seed=11,
                          rates=FaultRates.all_equal(1.0))


@pytest.fixture(scope="module")
def faulty_series(faulty_run):
    """Per series of the faulty run: its truth row and its instance rows (sorted by InstanceNumber)."""
    truth = {r[0]: dict(zip(("uid", "fault", "detail", "inst", "n", "n_index", "spacing", "tilt", "modality"), r))
             for r in _q("select SeriesInstanceUID, fault, fault_detail, fault_instance_number, n_instances_written, "
                         "instance_count_index, spacing_mm, tilt_degrees, SOPClassUID from read_parquet(?) "
                         "join (select distinct SeriesInstanceUID, SOPClassUID from read_parquet(?)) using (SeriesInstanceUID)",
                         [str(faulty_run.truth_path), faulty_run.instances_glob])}
    rows = defaultdict(list)
    for r in _q("""select SeriesInstanceUID, InstanceNumber::int, ImageType, ImagePositionPatient, ImageOrientationPatient,
                          PixelSpacing, "Rows", "Columns", TemporalPositionIdentifier, GantryDetectorTilt, SliceThickness
                   from read_parquet(?) order by SeriesInstanceUID, InstanceNumber::int""", [faulty_run.instances_glob]):
        rows[r[0]].append(dict(zip(("uid", "inst", "image_type", "ipp", "iop", "ps", "rows", "cols", "temporal",
                                    "tilt", "thickness"), r)))
    return {uid: (t, rows[uid]) for uid, t in truth.items()}


def _of(faulty_series, fault):
    found = [v for v in faulty_series.values() if v[0]["fault"] == fault]
    assert found, f"no {fault} series in the sample"
    return found


def _detail(truth) -> dict[str, str]:
    return dict(item.split("=", 1) for item in truth["detail"].split(";"))


def _vec(values) -> np.ndarray:
    return np.array([float(v) for v in values])


def _frame(iop_strings):
    iop = _vec(iop_strings)
    x, y = iop[:3], iop[3:]
    n = np.cross(x, y)
    return x, y, n / np.linalg.norm(n)


def _positions(rows) -> np.ndarray:
    return np.array([_vec(r["ipp"]) for r in rows])


# ------------------------------------------------------------------------------------------
# IDC's own volume_geometry_index.sql (from idc-index-data), transpiled to DuckDB


def _idc_verdicts(result) -> dict[str, dict]:
    from idc_qc.idc_reference import idc_volume_geometry_sql_duckdb

    relation = "read_parquet('{}')".format(result.instances_glob.replace("'", "''"))
    with duckdb.connect() as con:
        cur = con.execute(idc_volume_geometry_sql_duckdb(relation))
        names = [d[0] for d in cur.description]
        return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


@pytest.mark.parametrize("run", ["default_run", "faulty_run"])
def test_truth_verdicts_match_idc_rules_on_the_written_rows(run, request):
    result = request.getfixturevalue(run)
    idc = _idc_verdicts(result)
    truth = _q("select SeriesInstanceUID, fault, expected_idc_in_scope, expected_regularly_spaced_3d_volume, idc_check "
               "from read_parquet(?)", [str(result.truth_path)])
    mismatches = []
    for uid, fault, in_scope, regular, check in truth:
        got = idc.get(uid)
        if (got is not None) != in_scope:
            mismatches.append((uid, fault, "in_scope", in_scope))
        elif got is not None and got["regularly_spaced_3d_volume"] != regular:
            mismatches.append((uid, fault, "regular", regular, got))
        elif check is not None and got[check] is not False:
            mismatches.append((uid, fault, check, got))
    assert not mismatches, mismatches[:5]
    verdicts = {t[3] for t in truth if t[2]}
    assert True in verdicts and (run == "default_run" or False in verdicts)


# ------------------------------------------------------------------------------------------
# shape and counts


def test_instance_columns_and_types(default_run):
    described = _q("select column_name, column_type from (describe select * from read_parquet(?))",
                   [default_run.instances_glob])
    duckdb_type = {"int64": "BIGINT", "date32[day]": "DATE", "string": "VARCHAR"}
    expected = {name: ("VARCHAR[]" if str(t).startswith("list") else duckdb_type[str(t)])
                for name, t in {**INSTANCE_COLUMNS, **WIDER_COLUMNS}.items()}
    assert described == list(expected.items())
    # typed as idc-qc ingest types the same attributes (one mapping: idc_qc/instances/dicom_columns.py)
    assert {name: duckdb_type[str(t)] for name, t in WIDER_COLUMNS.items()} == {
        "StudyDate": "DATE", "StudyDescription": "VARCHAR", "SeriesDate": "DATE", "SeriesNumber": "VARCHAR",
        "TransferSyntaxUID": "VARCHAR", "PhotometricInterpretation": "VARCHAR", "PixelRepresentation": "BIGINT",
        "instance_size": "BIGINT"}


def test_wider_columns_are_the_index_values_of_each_series(default_run):
    """What IDC's index knows per series is on every instance of it, as the index has it (issue 25)."""
    import idc_index_data

    (series, differ, sizes_off, dated), = _q("""
        with per_series as (
            select SeriesInstanceUID, count(*) as n, count(distinct StudyDate) as dates, any_value(StudyDate) as StudyDate,
                   any_value(SeriesNumber) as SeriesNumber, any_value(TransferSyntaxUID) as TransferSyntaxUID,
                   any_value(PhotometricInterpretation) as PhotometricInterpretation,
                   any_value(PixelRepresentation) as PixelRepresentation, any_value(StudyDescription) as StudyDescription,
                   any_value(instance_size) as instance_size
            from read_parquet(?) group by all)
        select count(*),
               count(*) filter (where p.dates > 1
                   or p.StudyDate is distinct from try_cast(i.StudyDate as date)
                   or p.SeriesNumber is distinct from i.SeriesNumber
                   or p.TransferSyntaxUID is distinct from i.TransferSyntaxUID
                   or p.PhotometricInterpretation is distinct from i.PhotometricInterpretation
                   or p.PixelRepresentation is distinct from try_cast(i.PixelRepresentation as bigint)
                   or p.StudyDescription is distinct from i.StudyDescription),
               count(*) filter (where abs(p.instance_size - i.series_size_MB * 1e6 / i.instanceCount) > 0.5),
               count(p.StudyDate)
        from per_series p join read_parquet(?) i using (SeriesInstanceUID)""",
        [default_run.instances_glob, str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)])
    assert series == default_run.series and differ == 0 and sizes_off == 0
    assert dated > series * 0.9


def test_row_counts_equal_truth(default_run, faulty_run):
    for result in (default_run, faulty_run):
        (rows, series, sops, longest, bad_uid), = _q(
            "select count(*), count(distinct SeriesInstanceUID), count(distinct SOPInstanceUID), max(length(SOPInstanceUID)), "
            "count(*) filter (where not regexp_full_match(SOPInstanceUID, '2\\.25\\.[1-9][0-9]*')) from read_parquet(?)",
            [result.instances_glob])
        (written, truth_series, distinct), = _q(
            "select sum(n_instances_written), count(*), count(distinct SeriesInstanceUID) from read_parquet(?)",
            [str(result.truth_path)])
        assert rows == written == result.instances == sops
        assert series == truth_series == distinct == result.series
        assert longest <= 64 and bad_uid == 0
        per_series = _q("""
            select count(*) from read_parquet($truth) t
            full join (select SeriesInstanceUID, count(*) as n from read_parquet($glob) group by 1) i using (SeriesInstanceUID)
            where t.n_instances_written is distinct from i.n
               or t.n_instances_written != t.instance_count_index
                  + case t.fault when 'localizer_instance' then 1
                                 when 'missing_slices' then -split_part(split_part(t.fault_detail, ';', 1), '=', 2)::int
                                 else 0 end
        """, {"truth": str(result.truth_path), "glob": result.instances_glob})
        assert per_series == [(0,)]
    parts = sorted(Path(faulty_run.out_dir, "instances").glob("*.parquet"))
    assert len(parts) > 3  # the small ROWS_PER_PART split the run


def test_series_keep_their_real_index_values(default_run):
    import idc_index_data

    mismatched = _q("""
        select count(*) from (select distinct SeriesInstanceUID, SOPClassUID, StudyInstanceUID, PatientID, collection_id,
                                     Modality, Manufacturer, ManufacturerModelName, BodyPartExamined, PatientAge,
                                     PatientSex, SeriesDescription from read_parquet($glob)) s
        join read_parquet($index) i using (SeriesInstanceUID)
        where (s.SOPClassUID, s.StudyInstanceUID, s.PatientID, s.collection_id, s.Modality, s.Manufacturer,
               s.ManufacturerModelName, s.BodyPartExamined, s.PatientAge, s.PatientSex, s.SeriesDescription)
              is distinct from
              (i.SOPClassUID, i.StudyInstanceUID, i.PatientID, i.collection_id, i.Modality, i.Manufacturer,
               i.ManufacturerModelName, i.BodyPartExamined, i.PatientAge, i.PatientSex, i.SeriesDescription)
    """, {"glob": default_run.instances_glob, "index": str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)})
    assert mismatched == [(0,)]
    (joined,), = _q("select count(*) from read_parquet(?) t join read_parquet(?) i using (SeriesInstanceUID) "
                    "where t.instance_count_index = i.instanceCount",
                    [str(default_run.truth_path), str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)])
    assert joined == default_run.series


def test_geometry_is_realistic(default_run):
    rows = _q("""
        select t.fault, t.plane, t.spacing_mm, i.SOPClassUID, i.ImagePositionPatient, i.ImageOrientationPatient,
               i.PixelSpacing, i.Rows, i.EchoTime, i.GantryDetectorTilt
        from read_parquet($glob) i join read_parquet($truth) t using (SeriesInstanceUID)
    """, {"glob": default_run.instances_glob, "truth": str(default_run.truth_path)})
    ranges = {SOP_CLASSES["CT"]: (0.5, 5), SOP_CLASSES["MR"]: (1, 6), SOP_CLASSES["PT"]: (2, 5)}
    for fault, plane, spacing, sop, ipp, iop, ps, _nrows, echo, tilt in rows:
        low, high = ranges[sop]
        assert low <= spacing <= high
        assert all(DS.match(v) for v in iop + ps)
        if fault != "malformed_position":
            assert all(DS.match(v) for v in ipp)
        assert (echo is not None) == (sop == SOP_CLASSES["MR"])
        assert (tilt is not None) == (sop == SOP_CLASSES["CT"])
        if plane == "axial" and fault not in ("localizer_instance", "mixed_orientation", "non_orthogonal_orientation"):
            assert iop == ["1.000000", "0.000000", "0.000000", "0.000000", "1.000000", "0.000000"]
    planes = dict(_q("select plane, count(*) from read_parquet(?) group by 1", [str(default_run.truth_path)]))
    assert planes["axial"] > 0.5 * default_run.series and len(planes) >= 3


# ------------------------------------------------------------------------------------------
# determinism and selection


def _content(result) -> list[bytes]:
    parts = sorted(Path(result.out_dir, "instances").glob("*.parquet"))
    return [p.read_bytes() for p in parts] + [result.truth_path.read_bytes()]


def test_same_seed_same_bytes_other_seed_differs(default_run, tmp_path):
    again = synthesize(tmp_path / "again", series_limit=300, seed=7)
    assert _content(again) == _content(default_run)
    other = synthesize(tmp_path / "other", series_limit=300, seed=8)
    assert _content(other) != _content(default_run)
    # The same series under another seed get other geometry and faults.
    a = synthesize(tmp_path / "a", collections=("rider_breast_mri",), seed=1)
    b = synthesize(tmp_path / "b", collections=("rider_breast_mri",), seed=2)
    (same, differ), = _q("select count(*), count(*) filter (where a.fault != b.fault or a.spacing_mm != b.spacing_mm "
                         "or a.plane != b.plane) from read_parquet(?) a join read_parquet(?) b using (SeriesInstanceUID)",
                         [str(a.truth_path), str(b.truth_path)])
    assert same == 40 and differ > 20


def test_a_series_is_the_same_whatever_else_is_selected(default_run, tmp_path):
    small = synthesize(tmp_path / "small", series_limit=40, seed=7)
    (outside,), = _q("select count(*) from read_parquet(?) s anti join read_parquet(?) d using (SeriesInstanceUID)",
                     [str(small.truth_path), str(default_run.truth_path)])
    assert outside == 0  # a smaller limit keeps a subset of the larger one
    (differ,), = _q("""
        select count(*) from read_parquet($small) s
        anti join read_parquet($big) b
          on s.SOPInstanceUID = b.SOPInstanceUID and s.ImagePositionPatient is not distinct from b.ImagePositionPatient
         and s.ImageOrientationPatient = b.ImageOrientationPatient and s.PixelSpacing = b.PixelSpacing
    """, {"small": small.instances_glob, "big": default_run.instances_glob})
    assert differ == 0


def test_filters_fraction_and_overwrite(tmp_path):
    pt = synthesize(tmp_path / "run", modalities=("PT",), collections=("qin_pet_phantom", "rider_phantom_pet_ct"), seed=1)
    rows = _q("select distinct SOPClassUID, collection_id from read_parquet(?)", [pt.instances_glob])
    assert {r[0] for r in rows} == {SOP_CLASSES["PT"]}
    assert {r[1] for r in rows} <= {"qin_pet_phantom", "rider_phantom_pet_ct"}
    manifest = json.loads((pt.out_dir / "synth_manifest.json").read_text())
    assert manifest["seed"] == 1 and manifest["series"] == pt.series and manifest["instances"] == pt.instances
    assert manifest["rates"] == FaultRates().as_dict() and manifest["idc_index_data_version"]
    assert sum(manifest["faults"].values()) == pt.series

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(synth, "ROWS_PER_PART", 500)
        many = synthesize(tmp_path / "run", collections=("rider_breast_mri",), seed=1, overwrite=True)
    assert len(list((tmp_path / "run" / "instances").glob("*.parquet"))) > 2
    half = synthesize(tmp_path / "run", collections=("rider_breast_mri",), sample_fraction=0.5, seed=1, overwrite=True)
    parts = sorted(p.name for p in (tmp_path / "run" / "instances").glob("*.parquet"))
    assert parts == json.loads((tmp_path / "run" / "synth_manifest.json").read_text())["instance_parts"] == ["part-00000.parquet"]
    assert 0 < half.series < many.series == 40
    (rows_now,), = _q("select count(*) from read_parquet(?)", [half.instances_glob])
    assert rows_now == half.instances


@pytest.mark.parametrize("kwargs, message", [
    ({"modalities": ("CT", "US")}, "'US'"),
    ({"modalities": ()}, "modalities"),
    ({"collections": ("no_such_collection",)}, "'no_such_collection'"),
    ({"series_limit": 0}, "series_limit"),
    ({"sample_fraction": 1.5}, "1.5"),
    ({"index_path": Path("/nonexistent/idc_index.parquet")}, "/nonexistent/idc_index.parquet"),
])
def test_bad_arguments_raise_value_error(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=re.escape(message)):
        synthesize(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()  # nothing is created before the arguments are known good


def test_unwritable_out_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="out_dir"):
        synthesize(blocker / "out", series_limit=5)


def test_fault_rates_validation_and_documented_defaults():
    assert abs(sum(FaultRates().as_dict().values()) - 0.30) < 1e-9
    assert tuple(FaultRates().as_dict()) == FAULTS and len(FAULTS) == 12
    for name, rate in FaultRates().as_dict().items():  # the module docstring's table states every default
        assert re.search(rf"^{name}\s+{rate:.2f}\s", synth.__doc__, re.M), name
    with pytest.raises(ValueError, match="missing_slices"):
        FaultRates(missing_slices=-0.1)
    with pytest.raises(ValueError, match="sum"):
        FaultRates(missing_slices=0.9, duplicate_position=0.2)
    with pytest.raises(ValueError, match="gantry_tilt"):
        FaultRates(gantry_tilt=float("nan"))
    assert all(getattr(FaultRates.zero(), f.name) == 0 for f in fields(FaultRates))


def test_sop_uid_hashes_are_unique_over_the_whole_index():
    import idc_index_data

    uids = [r[0] for r in _q("select SeriesInstanceUID from read_parquet(?) where SOPClassUID in (select unnest(?))",
                             [str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH), list(SOP_CLASSES.values())])]
    assert len(uids) == 402_230
    hashes = synth._series_hash(uids, "idc-qc-sop")
    assert len(np.unique(hashes)) == len(uids)


# ------------------------------------------------------------------------------------------
# each fault is in the rows


def test_every_fault_label_is_drawn(faulty_series):
    labels = {t["fault"] for t, _ in faulty_series.values()}
    assert set(FAULTS) <= labels
    for t, rows in faulty_series.values():
        # 'none' only where the drawn fault could not apply
        if t["fault"] == "none":
            assert t["n_index"] < 5 or t["modality"] != SOP_CLASSES["CT"]
        if t["fault"] == "single_instance":
            assert t["n_index"] == 1 and len(rows) == 1


def test_regular_series_are_regular(default_run):
    # default_run's 'none' series: one orientation, constant in-plane position, uniform spacing
    rows = defaultdict(list)
    for uid, ipp, iop, spacing in _q("""
            select SeriesInstanceUID, ImagePositionPatient, ImageOrientationPatient, t.spacing_mm
            from read_parquet($glob) join read_parquet($truth) t using (SeriesInstanceUID)
            where t.fault = 'none'""", {"glob": default_run.instances_glob, "truth": str(default_run.truth_path)}):
        rows[uid].append((ipp, tuple(iop), spacing))
    assert len(rows) > 100
    for items in rows.values():
        assert len({i[1] for i in items}) == 1
        x, y, n = _frame(items[0][1])
        pos = np.array([_vec(i[0]) for i in items])
        assert np.ptp(pos @ x) < 1e-3 and np.ptp(pos @ y) < 1e-3
        steps = np.diff(np.sort(pos @ n))
        assert np.allclose(steps, items[0][2], atol=1e-4)


def test_missing_slices_leave_a_gap_of_whole_spacings(faulty_series):
    for t, rows in _of(faulty_series, "missing_slices"):
        d = _detail(t)
        count = int(d["count"])
        assert 1 <= count <= 3 and len(rows) == t["n_index"] - count and len(rows) >= 3
        _, _, n = _frame(rows[0]["iop"])
        steps = np.diff(np.sort(_positions(rows) @ n))
        gaps = steps[~np.isclose(steps, t["spacing"], atol=1e-4)]
        assert len(gaps) == 1 and np.isclose(gaps[0], (count + 1) * t["spacing"], atol=1e-4)
        numbers = [r["inst"] for r in rows]
        assert t["inst"] not in numbers and numbers[0] == 1 and numbers[-1] == t["n_index"]  # interior


def test_duplicate_position(faulty_series):
    for t, rows in _of(faulty_series, "duplicate_position"):
        by_position = defaultdict(list)
        for r in rows:
            by_position[tuple(r["ipp"])].append(r["inst"])
        repeated = [v for v in by_position.values() if len(v) > 1]
        assert repeated == [[t["inst"] - 1, t["inst"]]]


def test_variable_spacing(faulty_series):
    for t, rows in _of(faulty_series, "variable_spacing"):
        _, _, n = _frame(rows[0]["iop"])
        steps = np.diff(np.sort(_positions(rows) @ n))
        odd = steps[~np.isclose(steps, t["spacing"], atol=1e-4)]
        assert len(odd) == 1
        assert 0.2 - 1e-4 <= abs(odd[0] - t["spacing"]) / t["spacing"] <= 0.5 * 1.01 + 1e-4
        assert np.isclose(odd[0] - t["spacing"], float(_detail(t)["delta_mm"]), atol=1e-5)


def test_gantry_tilt(faulty_series):
    for t, rows in _of(faulty_series, "gantry_tilt"):
        assert t["modality"] == SOP_CLASSES["CT"] and 5 <= abs(t["tilt"]) <= 30.1
        assert {r["tilt"] for r in rows} == {f"{t['tilt']:.1f}"} and len({tuple(r["iop"]) for r in rows}) == 1
        x, y, n = _frame(rows[0]["iop"])
        pos = _positions(rows)
        along, col = pos @ n, pos @ y
        slope = np.polyfit(along, col, 1)[0] if len(rows) > 1 else 0
        assert np.isclose(abs(slope), abs(np.tan(np.radians(t["tilt"]))), rtol=1e-4)
        assert np.ptp(pos @ x) < 1e-3


def test_mixed_orientation(faulty_series):
    for t, rows in _of(faulty_series, "mixed_orientation"):
        iops = defaultdict(list)
        for r in rows:
            iops[tuple(r["iop"])].append(r["inst"])
        assert len(iops) == 2 and sorted(len(v) for v in iops.values()) == [1, len(rows) - 1]
        assert [t["inst"]] in iops.values()


def test_non_orthogonal_orientation(faulty_series):
    for _t, rows in _of(faulty_series, "non_orthogonal_orientation"):
        assert len({tuple(r["iop"]) for r in rows}) == 1
        iop = _vec(rows[0]["iop"])
        assert 0.17 <= abs(iop[:3] @ iop[3:]) <= 0.51  # 60-80 degrees apart


def test_inconsistent_pixel_spacing(faulty_series):
    for t, rows in _of(faulty_series, "inconsistent_pixel_spacing"):
        values = defaultdict(list)
        for r in rows:
            values[tuple(r["ps"])].append(r["inst"])
        assert len(values) == 2
        (odd,) = [k for k, v in values.items() if v == [t["inst"]]]
        (usual,) = [k for k in values if k != odd]
        assert 0.04 <= abs(float(odd[0]) / float(usual[0]) - 1) <= 0.31


def test_inconsistent_dimensions(faulty_series):
    for t, rows in _of(faulty_series, "inconsistent_dimensions"):
        dims = defaultdict(list)
        for r in rows:
            dims[(r["rows"], r["cols"])].append(r["inst"])
        assert len(dims) == 2 and [t["inst"]] in dims.values()


def test_in_plane_shift(faulty_series):
    for t, rows in _of(faulty_series, "in_plane_shift"):
        x, y, n = _frame(rows[0]["iop"])
        pos = _positions(rows)
        inplane = np.stack([pos @ x, pos @ y], axis=1)
        odd = np.array([r["inst"] == t["inst"] for r in rows])
        others = inplane[~odd]
        assert np.ptp(others, axis=0).max() < 1e-3
        assert 1 - 1e-4 <= np.linalg.norm(inplane[odd][0] - others[0]) <= 5 + 1e-4


def test_malformed_position(faulty_series):
    kinds = set()
    for t, rows in _of(faulty_series, "malformed_position"):
        def bad(ipp):
            if ipp is None or len(ipp) != 3:
                return True
            try:
                [float(v) for v in ipp]
            except ValueError:
                return True
            return False

        odd = [r for r in rows if bad(r["ipp"])]
        assert [r["inst"] for r in odd] == [t["inst"]]
        kind = _detail(t)["kind"]
        kinds.add(kind)
        ipp = odd[0]["ipp"]
        assert {"null": ipp is None, "two_values": ipp is not None and len(ipp) == 2,
                "non_numeric": ipp is not None and ipp[0] == "abc"}[kind]
    assert kinds == {"null", "two_values", "non_numeric"}


def test_localizer_instance(faulty_series):
    for t, rows in _of(faulty_series, "localizer_instance"):
        localizers = [r for r in rows if "LOCALIZER" in r["image_type"]]
        assert [r["inst"] for r in localizers] == [t["n_index"] + 1] == [t["inst"]]
        assert len(rows) == t["n_index"] + 1
        assert localizers[0]["iop"] != rows[0]["iop"]


def test_multi_stack_4d(faulty_series):
    for t, rows in _of(faulty_series, "multi_stack_4d"):
        d = _detail(t)
        stacks, per_stack = int(d["temporal_positions"]), int(d["positions_per_stack"])
        assert 2 <= stacks <= 4
        temporal = [r["temporal"] for r in rows]
        assert None not in temporal and len(set(temporal)) == stacks
        positions = defaultdict(set)
        for r in rows:
            positions[tuple(r["ipp"])].add(r["temporal"])
        assert len(positions) == per_stack and max(len(v) for v in positions.values()) == stacks


# ------------------------------------------------------------------------------------------
# --out safety: synth never deletes what it did not write (issue 8)

_REFUSE_FOREIGN = ("synth --out {dir!r} is not empty and was not written by idc-qc synth (no synth_manifest.json); "
                   "pass --overwrite (removes only files synth wrote) or another folder")
_REFUSE_EARLIER = ("synth --out {dir!r} holds an earlier idc-qc synth run; pass --overwrite (removes only files "
                   "synth wrote) or another folder")


def _small(out: Path, **kwargs):
    return synthesize(out, collections=("rider_breast_mri",), series_limit=6, seed=1, **kwargs)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_manifest_lists_every_written_file_with_size_and_checksum(tmp_path):
    import hashlib

    result = _small(tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "synth_manifest.json").read_text())
    assert manifest["complete"] is True and manifest["arguments"]["seed"] == 1
    assert manifest["arguments"]["collections"] == ["rider_breast_mri"] and manifest["arguments"]["series_limit"] == 6
    on_disk = {rel for rel in _tree(tmp_path / "out")} - {"synth_manifest.json"}
    assert set(manifest["files"]) == on_disk == {"instances/part-00000.parquet", "truth.parquet"}
    for rel, entry in manifest["files"].items():
        data = (tmp_path / "out" / rel).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert result.bytes_written == sum(e["bytes"] for e in manifest["files"].values()) + \
        (tmp_path / "out" / "synth_manifest.json").stat().st_size


def test_a_users_folder_is_refused_and_left_untouched(tmp_path):
    out = tmp_path / "mine"
    _write_user_files(out)
    before = _tree(out)
    with pytest.raises(synth.SynthOutputError) as info:
        _small(out)
    assert str(info.value) == _REFUSE_FOREIGN.format(dir=str(out))
    assert _tree(out) == before


def test_an_earlier_run_is_refused_without_overwrite(tmp_path):
    _small(tmp_path / "out")
    before = _tree(tmp_path / "out")
    with pytest.raises(ValueError) as info:  # SynthOutputError is a ValueError (and an IdcQcError, exit 2)
        _small(tmp_path / "out", )
    assert str(info.value) == _REFUSE_EARLIER.format(dir=str(tmp_path / "out"))
    assert _tree(tmp_path / "out") == before


def _write_user_files(out: Path) -> None:
    (out / "instances").mkdir(parents=True, exist_ok=True)
    (out / "notes.txt").write_text("my notes")
    (out / "my_truth.parquet").write_bytes(b"PAR1 mine")


def test_overwrite_removes_only_the_files_its_manifest_lists(tmp_path):
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(synth, "ROWS_PER_PART", 300)
        first = synthesize(out, collections=("rider_breast_mri",), seed=1)  # several parts
    parts_before = sorted(p.name for p in (out / "instances").glob("*.parquet"))
    assert len(parts_before) > 2
    (out / "notes.txt").write_text("my notes")
    (out / "mine").mkdir()
    (out / "mine" / "data.parquet").write_bytes(b"not synth's")
    second = _small(out, overwrite=True)
    assert sorted(p.name for p in (out / "instances").glob("*.parquet")) == ["part-00000.parquet"]
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "mine" / "data.parquet").read_bytes() == b"not synth's"
    assert second.series == 6 < first.series
    (rows,), = _q("select count(*) from read_parquet(?)", [second.instances_glob])
    assert rows == second.instances


def test_overwrite_into_a_users_folder_keeps_their_files(tmp_path):
    out = tmp_path / "mine"
    _write_user_files(out)
    result = _small(out, overwrite=True)
    assert (out / "notes.txt").read_text() == "my notes" and (out / "my_truth.parquet").read_bytes() == b"PAR1 mine"
    assert result.series == 6


@pytest.mark.parametrize("foreign", ["instances/user.parquet", "instances/sub/x.txt", "truth.parquet"])
def test_overwrite_refuses_a_foreign_file_where_synth_writes(tmp_path, foreign):
    out = tmp_path / "out"
    _small(out)
    (out / foreign).parent.mkdir(parents=True, exist_ok=True)
    if foreign == "truth.parquet":  # a user's file under synth's truth name, after a manifest without it
        manifest = json.loads((out / "synth_manifest.json").read_text())
        del manifest["files"]["truth.parquet"]
        (out / "synth_manifest.json").write_text(json.dumps(manifest))
    (out / foreign).write_bytes(b"user data")
    before = _tree(out)
    with pytest.raises(synth.SynthOutputError) as info:
        _small(out, overwrite=True)
    assert str(info.value) == (f"synth --out {str(out)!r}: {foreign} was not written by idc-qc synth (not in its "
                               "synth_manifest.json); synth writes there, so move that file away or pass another folder")
    assert _tree(out) == before


def test_overwrite_refuses_a_listed_file_that_was_changed(tmp_path):
    out = tmp_path / "out"
    _small(out)
    (out / "truth.parquet").write_bytes(b"edited by hand")
    before = _tree(out)
    with pytest.raises(synth.SynthOutputError) as info:
        _small(out, overwrite=True)
    assert str(info.value) == (f"synth --out {str(out)!r}: truth.parquet changed since idc-qc synth wrote it (size or "
                               "SHA-256 differs from synth_manifest.json); move it away or pass another folder")
    assert _tree(out) == before


def test_overwrite_replaces_an_interrupted_run_and_a_legacy_manifest(tmp_path):
    out = tmp_path / "out"
    # An interrupted run: the provisional manifest lists the planned files without checksums.
    (out / "instances").mkdir(parents=True)
    (out / "instances" / "part-00000.parquet").write_bytes(b"half written")
    (out / "synth_manifest.json").write_text(json.dumps({
        "generator": "idc_qc.synth", "complete": False,
        "files": {"instances/part-00000.parquet": None, "instances/part-00001.parquet": None, "truth.parquet": None}}))
    assert _small(out, overwrite=True).series == 6
    # Output of idc-qc before synth_manifest.json: manifest.json listing its parts and truth.
    legacy = tmp_path / "legacy"
    (legacy / "instances").mkdir(parents=True)
    for name in ("part-00000.parquet", "part-00001.parquet"):
        (legacy / "instances" / name).write_bytes(b"old part")
    (legacy / "truth.parquet").write_bytes(b"old truth")
    (legacy / "manifest.json").write_text(json.dumps({"generator": "idc_qc.synth", "instance_parts": [
        "part-00000.parquet", "part-00001.parquet"], "truth": "truth.parquet"}))
    result = _small(legacy, overwrite=True)
    assert sorted(_tree(legacy)) == ["instances/part-00000.parquet", "synth_manifest.json", "truth.parquet"]
    assert result.series == 6


def test_cli_refusal_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "mine"
    _write_user_files(out)
    run = subprocess.run([sys.executable, "-m", "idc_qc.cli", "synth", "--out", str(out), "--series", "3"],
                         capture_output=True, text=True, env={**__import__("os").environ, "COLUMNS": "400"})
    assert run.returncode == 2, run.stdout + run.stderr
    assert (run.stdout + run.stderr).strip().splitlines()[-1] == "Error: " + _REFUSE_FOREIGN.format(dir=str(out))
    assert (out / "notes.txt").read_text() == "my notes"
    ok = subprocess.run([sys.executable, "-m", "idc_qc.cli", "synth", "--out", str(out), "--series", "3",
                         "--collection", "rider_breast_mri", "--overwrite"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (out / "notes.txt").read_text() == "my notes" and (out / "truth.parquet").is_file()


def test_an_edited_manifest_cannot_make_overwrite_delete_other_files(tmp_path):
    out = tmp_path / "out"
    _small(out)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "notes.txt").write_text("keep me too")
    manifest = json.loads((out / "synth_manifest.json").read_text())
    manifest["files"]["../victim.txt"] = None
    manifest["files"]["notes.txt"] = None
    (out / "synth_manifest.json").write_text(json.dumps(manifest))
    _small(out, overwrite=True)
    assert victim.read_text() == "keep me" and (out / "notes.txt").read_text() == "keep me too"
