"""series_geometry against independent tools on real DICOM headers.

oracle_verdicts.csv holds, per real series, IDC's rules (a Python port), highdicom's
get_series_volume_positions (a spacing, or empty when not a regular volume) and dicom2nifti's
validators. Where the tools that give a verdict agree, we agree; where they disagree, our
failure_reasons say why. Single-instance series are left out: one slice is no volume, and
highdicom and dicom2nifti pass it trivially.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from support.geometry import built_once, series_geometry_frame

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def read_oracle_verdicts(csv) -> pd.DataFrame:
    """One regular-volume verdict per tool (None where the tool gives none) and their consensus."""
    o = pd.read_csv(csv)
    o["idc"] = [None if not scope or _missing(v) else str(v) == "True"
                for scope, v in zip(o.idc_in_scope, o.regularly_spaced_3d_volume)]
    o["highdicom"] = o.highdicom_spacing.notna()
    o["dicom2nifti"] = [None if _missing(a) and _missing(b) else (a == "PASS" and b == "PASS")
                        for a, b in zip(o.dicom2nifti_orthogonal, o.dicom2nifti_slice_increment)]

    # dcm2niix: one untilted volume, equidistant, nothing missing (informational 4th opinion)
    o["dcm2niix"] = [None if _missing(dims) else (_missing(tilt) and str(varies) == "False" and str(missing) == "False"
                                                  and ";" not in dims and dims.endswith("x1"))
                     for dims, tilt, varies, missing in zip(o.dcm2niix_dims, o.dcm2niix_gantry_tilt_deg,
                                                            o.dcm2niix_interslice_varies, o.dcm2niix_missing_images)]

    def consensus(row):
        votes = {v for v in (row.idc, row.highdicom, row.dicom2nifti) if v is not None}
        return votes.pop() if len(votes) == 1 else None

    o["consensus"] = o.apply(consensus, axis=1)
    return o.set_index("SeriesInstanceUID")


@pytest.fixture(scope="module")
def verdicts(real_headers, oracle_verdicts, tmp_path_factory):
    ours = series_geometry_frame(built_once(str(real_headers), tmp_path_factory.mktemp("real_geometry")))
    return read_oracle_verdicts(oracle_verdicts).join(ours, how="left", lsuffix="_oracle")


def _row(verdicts, case: str) -> pd.Series:
    rows = verdicts[verdicts.source_case == case]
    assert len(rows) == 1, case
    return rows.iloc[0]


def test_every_oracle_series_is_in_series_geometry(verdicts):
    assert verdicts.geometry_category.notna().all()


def test_we_agree_where_the_oracles_agree(verdicts):
    volumes = verdicts[verdicts.volumetric_instance_count >= 2]
    agreed = volumes[volumes.consensus.notna()]
    ours = agreed.regularly_spaced_3d_volume.astype(bool)
    agree = (ours == agreed.consensus.astype(bool))
    print(f"\nreal headers: {len(verdicts)} series, {len(volumes)} with two or more volumetric instances; "
          f"the oracles agree on {len(agreed)} of them, we agree with that consensus on {int(agree.sum())}")
    print(f"  category agrees too (regular_volume / too_few_slices exactly when the consensus is regular, "
          f"mosaics aside): {int(((agreed.geometry_category.isin(['regular_volume', 'too_few_slices'])) == agreed.consensus.astype(bool)).sum())}")
    assert agree.all(), agreed[~agree][["source_case", "consensus", "regularly_spaced_3d_volume"]]
    assert len(agreed) >= 40


def test_where_the_tools_disagree_our_reasons_say_why(verdicts):
    """IDC's rules, highdicom and dicom2nifti, plus dcm2niix: where any two differ, we name a reason."""
    volumes = verdicts[verdicts.volumetric_instance_count >= 2]
    votes = volumes[["idc", "highdicom", "dicom2nifti", "dcm2niix"]]
    disputed = volumes[votes.apply(lambda r: len({v for v in r if v is not None}) > 1, axis=1)]
    print(f"\nthe four tools disagree on {len(disputed)} series:")
    for _uid, row in disputed.iterrows():
        print(f"  {row.source_case}: IDC={row.idc} highdicom={row.highdicom} dicom2nifti={row.dicom2nifti} "
              f"dcm2niix={row.dcm2niix} -> ours {row.geometry_category} {list(row.failure_reasons)}")
        assert len(row.failure_reasons) > 0, row.source_case
    assert len(disputed) >= 1


@pytest.mark.parametrize(
    ("case", "category", "reasons"),
    [
        # gantry tilt with GantryDetectorTilt 18.5 and variable spacing (dcm2niix: tilt + equidistant)
        ("GE", "irregular_volume", {"gantry tilt", "non-uniform slice spacing"}),
        ("Philips/S21610/S2010", "irregular_volume", {"gantry tilt"}),
        ("Philips/S21610/S3010", "irregular_volume", {"gantry tilt"}),
        # tilted although GantryDetectorTilt says 0: the positions tell
        ("failing/gantrytilting/001", "irregular_volume", {"gantry tilt"}),
        ("failing/sliceincrement/001", "irregular_volume", {"missing slices"}),
        ("failing/sliceincrement/002", "irregular_volume", {"missing slices", "gantry tilt"}),
        ("failing/sliceorientation/001", "irregular_volume", {"multiple orientations", "inconsistent pixel spacing"}),
        # four CT monitoring scans of one slice: a stack per AcquisitionNumber
        ("failing/notavolume/001", "multi_stack", {"several stacks in one series"}),
        # magnitude and phase interleaved: two stacks told apart by ImageType
        ("philips/anatomical/002", "multi_stack", {"several stacks in one series"}),
        ("20180918GE/mr_0004", "multi_stack", {"several stacks in one series"}),
        # the 2-slice series dicom2nifti refuses as a localizer (no LOCALIZER in ImageType)
        ("failing/slicecount/001", "too_few_slices", {"only two slices"}),
        ("siemens/fmri/001", "mosaic", {"siemens mosaic", "several stacks in one series"}),
        ("Philips/S21570/S1000", "localizer_or_projection", {"only localizer or projection images"}),
        ("philips_enhanced/anatomical/001", "missing_geometry", {"missing ImagePositionPatient", "multi-frame instances"}),
        ("Philips/S21570/S2010", "regular_volume", set()),
    ],
)
def test_known_cases(verdicts, case, category, reasons):
    row = _row(verdicts, case)
    assert row.geometry_category == category
    assert set(row.failure_reasons) == reasons


@pytest.mark.parametrize(("case", "tilt"), [("GE", 18.5), ("Philips/S21610/S2010", 18.5), ("Philips/S21610/S3010", 16.5),
                                            ("failing/gantrytilting/001", 14.0), ("failing/sliceincrement/002", 15.5)])
def test_gantry_tilt_is_estimated_from_the_positions(verdicts, case, tilt):
    """dcm2niix's tilt angles, recovered from ImagePositionPatient alone."""
    assert _row(verdicts, case).estimated_gantry_tilt_degrees == pytest.approx(tilt, abs=0.1)


def test_the_mosaic_pair_idc_passes_is_flagged(verdicts):
    """Two Siemens mosaics at different positions pass IDC, highdicom and dicom2nifti as a
    2-slice volume; only dcm2niix decodes them as a 4D mosaic. We keep IDC's verdict and say so."""
    mosaic = verdicts[verdicts.edge_cases.fillna("").str.contains("MOSAIC")]
    assert len(mosaic) == 1
    row = mosaic.iloc[0]
    assert bool(row.regularly_spaced_3d_volume) and bool(row.consensus)
    assert row.is_mosaic and row.geometry_category == "mosaic" and "siemens mosaic" in row.failure_reasons


def test_missing_slice_and_4d_numbers(verdicts):
    assert _row(verdicts, "failing/sliceincrement/001").missing_slice_count == 1
    assert _row(verdicts, "failing/notavolume/001").stack_count == 4
    assert list(_row(verdicts, "failing/notavolume/001").stack_attributes) == ["AcquisitionNumber"]
    assert _row(verdicts, "20180918GE/mr_0004").stack_count == 10


def test_the_tilt_bug_rewrite_is_a_regular_oblique_volume(tmp_path_factory):
    """dcm_qa_ct's GE series re-written as a regular oblique volume (9.55 degrees, 2.5 mm)."""
    from support.data import SHARED_DATA, require_shared

    path = require_shared(SHARED_DATA / "real_headers" / "dcm_qa_ct_tiltbug.parquet")
    ours = series_geometry_frame(built_once(str(path), tmp_path_factory.mktemp("tiltbug")))
    assert len(ours) == 1
    row = ours.iloc[0]
    assert row.geometry_category == "regular_volume" and bool(row.regularly_spaced_3d_volume)
    assert row.obliquity_degrees == pytest.approx(9.55, abs=0.01)
    assert row.slice_spacing_mm == pytest.approx(2.5, abs=1e-3)
    assert row.estimated_gantry_tilt_degrees == pytest.approx(0, abs=0.01)
