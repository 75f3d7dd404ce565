"""Every synth fault is detected, series by series, with the reason seeds/geometry_reasons.csv
says it leads to.

idc-qc synth injects each fault of FaultRates (all rates > 0) into a few hundred real IDC
series and records the fault of each series in truth.parquet; the whole project is built on
the result (the in_geometry_vocabulary data tests run in that build) and each faulty series
is joined with its truth row: its failure_reasons must hold one of the series-level words
whose synth_fault is the fault, its geometry_category must be the category the seed gives
that word, and instance_geometry must list one of its instances with one of the fault's
instance-level words. A fault IDC's own tolerances call regular (truth's
expected_regularly_spaced_3d_volume TRUE: a tilt or spacing change too small to see) is not
expected to be detected.
"""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from support.data import REPO, query

pytestmark = pytest.mark.slow

SEED = REPO / "seeds" / "geometry_reasons.csv"


def _seed_by_fault() -> dict[str, dict[str, dict[str, str]]]:
    """fault -> level -> {label: geometry_category}."""
    by_fault: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    with SEED.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["synth_fault"]:
                by_fault[row["synth_fault"]][row["level"]][row["label"]] = row["geometry_category"]
    return by_fault


@pytest.fixture(scope="module")
def synth_build(tmp_path_factory):
    from idc_qc.build import build
    from idc_qc.synth import FaultRates, synthesize

    out = tmp_path_factory.mktemp("vocabulary_synth")
    # every fault at 0.9 / 12 = 7.5 %: about 30 series of each in 400
    result = synthesize(out / "synth", series_limit=400, seed=5, rates=FaultRates.all_equal(0.9))
    db = out / "idc_qc.duckdb"
    build(db, result.instances_glob)
    return db, result.truth_path


def test_every_fault_is_detected_with_its_seed_reason(synth_build):
    from idc_qc.synth import FAULTS

    db, truth_path = synth_build
    seed = _seed_by_fault()
    rows = query(db, """
        select t.SeriesInstanceUID, t.fault, t.expected_regularly_spaced_3d_volume, t.n_instances_written,
               g.geometry_category, g.failure_reasons,
               (select list(distinct i.reason) from instance_geometry as i
                where i.SeriesInstanceUID = t.SeriesInstanceUID) as instance_reasons
        from read_parquet(?) as t
        left join series_geometry as g using (SeriesInstanceUID)
    """, [str(truth_path)])

    checked: dict[str, int] = defaultdict(int)
    undetectable: dict[str, int] = defaultdict(int)
    misses: list[str] = []
    for uid, fault, idc_regular, written, category, reasons, instance_reasons in rows:
        assert category is not None, f"{uid} ({fault}) is missing from series_geometry"
        reasons, instance_reasons = set(reasons or []), set(instance_reasons or [])
        if fault == "none":
            # a regular pair of slices is too_few_slices by design (docs/geometry.md)
            regular = category == "regular_volume" or (written == 2 and category == "too_few_slices"
                                                        and reasons == {"only two slices"})
            if not regular:
                misses.append(f"{uid}: no fault injected, yet {category} {sorted(reasons)}")
            continue
        if fault == "single_instance":
            if "single instance" not in reasons:
                misses.append(f"{uid}: single_instance, reasons {sorted(reasons)}")
            continue
        if idc_regular is True:
            undetectable[fault] += 1
            continue
        checked[fault] += 1
        expected = seed[fault]
        if expected.get("series"):
            found = reasons & set(expected["series"])
            if not found:
                misses.append(f"{uid}: {fault} expects one of {sorted(expected['series'])}, found {sorted(reasons)} ({category})")
            elif category not in {expected["series"][w] for w in found}:
                misses.append(f"{uid}: {fault} found {sorted(found)} but category {category}, "
                              f"the seed says {sorted({expected['series'][w] for w in found})}")
        # two slices shifted apart both lie on the line through the first and the last: no
        # instance is off-axis, the series-level reason alone says it
        pinned = not (fault == "in_plane_shift" and written < 3)
        if pinned and expected.get("instance") and not instance_reasons & set(expected["instance"]):
            misses.append(f"{uid}: {fault} expects an instance_geometry row with one of {sorted(expected['instance'])}, "
                          f"found {sorted(instance_reasons)}")

    print("\nfault                        series checked  (too small for IDC's tolerances)")
    for fault in FAULTS:
        print(f"  {fault:<28} {checked[fault]:>6}  ({undetectable[fault]})")
    assert set(checked) == set(FAULTS), f"faults with no detectable series in the sample: {sorted(set(FAULTS) - set(checked))}"
    assert not misses, f"{len(misses)} series not detected as the seed says:\n" + "\n".join(misses[:40])


def test_vocabulary_data_tests_ran_in_the_build(synth_build):
    """The in_geometry_vocabulary tests found every word of the synth build in the seed."""
    db, _ = synth_build
    unknown = query(db, """
        select reason from (
            select unnest(failure_reasons) as reason from series_geometry
            union all select reason from instance_geometry
            union all select geometry_category from series_geometry
        ) where reason not in (select label from geometry_reasons)
    """)
    assert unknown == []
    assert query(db, "select count(*) from rpt_geometry_reason_counts where reason_key is null")[0][0] == 0
