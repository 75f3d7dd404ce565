"""Properties of the geometry models on generated series (hypothesis).

Building dbt per hypothesis example would take minutes, so hypothesis draws the series up
front: a @given-decorated collector runs once per session (derandomized, so the same series
every run), every drawn series goes into one parquet file, the models are built once, and
each test then checks every drawn series of its kind.

Properties:
* a regular volume in any orientation, with any spacing from 0.1 to 10 mm, passes: IDC's
  verdict is TRUE, the category regular_volume, origin/orientation/spacing are the written ones;
* each injected fault is caught with its own reason (and category).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from support.geometry import SeriesSpec, built_once, instance_geometry_frame, rotation, series_geometry_frame, series_rows, write_instances

pytestmark = pytest.mark.slow

EXAMPLES_PER_KIND = 25

#: fault -> (the reason it must produce, the category, the least slices it needs)
FAULTS = {
    "regular": (None, "regular_volume", 3),
    "duplicate": ("duplicate slice positions", "irregular_volume", 3),
    "missing": ("missing slices", "irregular_volume", 5),
    "nonuniform": ("non-uniform slice spacing", "irregular_volume", 4),
    "tilt": ("gantry tilt", "irregular_volume", 3),
    "shift": ("slices shifted in plane", "irregular_volume", 5),
    "orientation": ("multiple orientations", "irregular_volume", 3),
    "pixel_spacing": ("inconsistent pixel spacing", "irregular_volume", 3),
    "dimensions": ("inconsistent image dimensions", "irregular_volume", 3),
    "ipp_missing": ("missing ImagePositionPatient", "malformed_geometry", 3),
    "ipp_wrong_count": ("malformed ImagePositionPatient", "malformed_geometry", 3),
    "ipp_non_numeric": ("malformed ImagePositionPatient", "malformed_geometry", 3),
    "ipp_nan": ("malformed ImagePositionPatient", "malformed_geometry", 3),
    "iop_non_orthogonal": ("non-orthogonal orientation", "malformed_geometry", 3),
    "iop_not_unit": ("non-orthogonal orientation", "malformed_geometry", 3),
    "mosaic": ("siemens mosaic", "mosaic", 3),
    "stacks": ("several stacks in one series", "multi_stack", 3),
    "localizer": (None, "regular_volume", 3),
}

finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def series_specs(draw, kind: str) -> SeriesSpec:
    _, _, least = FAULTS[kind]
    n = draw(st.integers(least, 60))
    spacing = draw(st.floats(0.1, 10.0, **finite))
    origin = tuple(draw(st.floats(-400, 400, **finite)) for _ in range(3))
    seed = tuple(draw(st.floats(-math.pi, math.pi, **finite)) for _ in range(3))
    faults: dict = {}
    if kind == "tilt":
        faults["tilt"] = draw(st.floats(5, 30, **finite))
        # a tilt IDC can see: the last slice moves more than the 0.1 mm in-plane tolerance
        assume((n - 1) * spacing * math.tan(math.radians(faults["tilt"])) > 0.3)
    elif kind == "shift":
        faults["shift"] = draw(st.floats(1, 5, **finite))
    elif kind == "orientation":
        faults["orientation"] = draw(st.floats(5, 30, **finite))
    elif kind == "iop_non_orthogonal":
        faults["iop_non_orthogonal"] = draw(st.floats(0.1, 0.5, **finite))
    elif kind == "iop_not_unit":
        faults["iop_not_unit"] = draw(st.sampled_from([0.8, 0.9, 1.1, 1.25]))
    elif kind == "stacks":
        faults["stacks"] = draw(st.integers(2, 4))
    elif kind != "regular":
        faults[kind] = 1
    uid = f"2.25.{abs(hash((kind, n, spacing, origin, seed))) % 10**30}"
    return SeriesSpec(uid=uid, n=n, spacing=spacing, origin=origin, rotation_seed=seed, faults=faults)


def draw_examples(kind: str, count: int) -> list[SeriesSpec]:
    """``count`` series of one kind, drawn by hypothesis (derandomized: the same every run)."""
    drawn: list[SeriesSpec] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(series_specs(kind))
    def collect(spec):
        drawn.append(spec)

    collect()
    unique = {spec.uid: spec for spec in drawn}
    return list(unique.values())


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    specs = {kind: draw_examples(kind, EXAMPLES_PER_KIND) for kind in FAULTS}
    rows = [row for kind_specs in specs.values() for spec in kind_specs for row in series_rows(spec)]
    folder = tmp_path_factory.mktemp("properties")
    path = write_instances(rows, folder / "instances.parquet")
    db = built_once(str(path), folder)
    return specs, series_geometry_frame(db), instance_geometry_frame(db)


def test_regular_volumes_pass_in_any_orientation_and_spacing(generated):
    specs, ours, _ = generated
    assert len(specs["regular"]) >= 10
    for spec in specs["regular"]:
        row = ours.loc[spec.uid]
        assert row.geometry_category == "regular_volume", (spec, list(row.failure_reasons))
        assert bool(row.regularly_spaced_3d_volume) and len(row.failure_reasons) == 0
        assert row.slice_spacing_mm == pytest.approx(spec.spacing, rel=1e-6)
        row_dir, col_dir = rotation(np.array(spec.rotation_seed))
        assert np.allclose(row.ImageOrientationPatient, [*row_dir, *col_dir], atol=1e-8)
        normal = np.cross(row_dir, col_dir)
        # origin: the slice at the lowest position along the normal (the first or the last written)
        ends = [np.array(spec.origin), np.array(spec.origin) + (spec.n - 1) * spec.spacing * normal]
        first = min(ends, key=lambda p: float(np.dot(p, normal)))
        assert np.allclose(row.origin_patient, first, atol=1e-6)
        expected_obliquity = math.degrees(math.acos(min(1.0, max(abs(normal)))))
        assert row.obliquity_degrees == pytest.approx(expected_obliquity, abs=0.01)
        assert row.estimated_gantry_tilt_degrees == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("kind", [k for k in FAULTS if k not in ("regular", "localizer")])
def test_each_fault_is_caught_with_its_reason(generated, kind):
    specs, ours, _ = generated
    reason, category, _ = FAULTS[kind]
    assert len(specs[kind]) >= 10
    for spec in specs[kind]:
        row = ours.loc[spec.uid]
        assert reason in row.failure_reasons, (spec, list(row.failure_reasons))
        assert row.geometry_category == category, (spec, row.geometry_category)
        assert row.regularly_spaced_3d_volume is not True or kind == "mosaic"


def test_the_numbers_behind_the_reasons(generated):
    specs, ours, _ = generated
    for spec in specs["missing"]:
        assert ours.loc[spec.uid].missing_slice_count == 1
        assert ours.loc[spec.uid].largest_gap_ratio == pytest.approx(2.0, rel=1e-4)
    for spec in specs["tilt"]:
        assert ours.loc[spec.uid].estimated_gantry_tilt_degrees == pytest.approx(spec.faults["tilt"], abs=0.05)
    for spec in specs["stacks"]:
        assert ours.loc[spec.uid].stack_count == spec.faults["stacks"]
        assert list(ours.loc[spec.uid].stack_attributes) == ["TemporalPositionIdentifier"]
    for spec in specs["duplicate"]:
        assert ours.loc[spec.uid].duplicate_position_count == 1


def test_localizers_are_set_aside_and_pointed_at(generated):
    """A localizer in a series: IDC drops the series, we judge its volume and list the localizer."""
    specs, ours, instances = generated
    for spec in specs["localizer"]:
        row = ours.loc[spec.uid]
        assert not row.idc_in_scope and row.localizer_instance_count == 1
        assert row.geometry_category == "regular_volume" and bool(row.regularly_spaced_3d_volume)
        listed = instances[instances.SeriesInstanceUID == spec.uid]
        assert list(listed.reason) == ["localizer"]


@pytest.mark.parametrize(("kind", "reason"), [("duplicate", "duplicate slice position"), ("missing", "before a gap"),
                                              ("shift", "off-axis"), ("orientation", "other orientation"),
                                              ("ipp_non_numeric", "malformed ImagePositionPatient")])
def test_instance_geometry_points_at_the_offending_instance(generated, kind, reason):
    specs, _, instances = generated
    for spec in specs[kind]:
        listed = instances[(instances.SeriesInstanceUID == spec.uid) & (instances.reason == reason)]
        assert len(listed) >= 1, spec
        # the fault is injected at the middle slice (k = n // 2); its SOPInstanceUID ends in .0.<k>
        middle = spec.n // 2
        expected = {f"{spec.uid}.0.{middle}"} if kind != "missing" else {f"{spec.uid}.0.{middle - 1}"}
        if kind == "duplicate":
            expected = {f"{spec.uid}.0.{middle}", f"{spec.uid}.0.{middle + 1}"}
        assert expected & set(listed.SOPInstanceUID), (spec, list(listed.SOPInstanceUID))
