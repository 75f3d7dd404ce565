"""The clinical models over real data: TCGA Pan-Cancer clinical (../shared/data) joined to
IDC's real v25 index, checked against an independent plain pandas/scipy computation
(tests/support/clinical.py) of the join, the coverage and the bias tables."""

from __future__ import annotations

import math

import pytest

from support import clinical as tc
from support.data import query

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tc.tcga_clinical_db(tmp_path_factory.mktemp("tcga_clinical"))


@pytest.fixture(scope="module")
def expected():
    index = tc.index_frame()
    clin = tc.clinical_frame(index)
    return tc.expected_patients(index, clin)


def test_patients_with_ct_mr_pt_and_clinical_data(db, expected):
    """The issue's figure: TCGA patients with CT, MR or PT series in IDC's tcga_* collections."""
    built = query(db, "select count(*) from patient_clinical where has_clinical and ct_mr_pt_series_count > 0 "
                      "and collection_id like 'tcga_%'")[0][0]
    independent = int((expected["has_clinical"] & expected["ct_mr_pt"]).sum())
    assert built == independent
    # idc-index-data 25.0.5 and the shared TCGA file (README of ../shared/data): 1,108.
    assert built == 1108
    summary = query(db, "select ct_mr_pt_and_clinical from rpt_clinical_coverage_summary where collection_id = '(all)'")
    assert summary[0][0] == independent


def test_coverage_per_collection_matches_pandas(db, expected):
    rows = query(db, "select collection_id, patients_with_imaging, patients_with_clinical, imaging_and_clinical, "
                     "imaging_only, clinical_only, patients_with_duplicate_clinical_rows "
                     "from rpt_clinical_coverage_summary where collection_id <> '(all)'")
    built = {r[0]: r[1:] for r in rows}
    want = {}
    for collection, part in expected.groupby("collection_id"):
        both = part["has_imaging"] & part["has_clinical"]
        want[collection] = (int(part["has_imaging"].sum()), int(part["has_clinical"].sum()), int(both.sum()),
                            int((part["has_imaging"] & ~part["has_clinical"]).sum()),
                            int((~part["has_imaging"] & part["has_clinical"]).sum()), 0)
    assert built == want
    # every registered clinical row is one patient row (TCGA lists each patient once)
    assert sum(v[1] for v in built.values()) == query(db, "select count(*) from rpt_clinical_coverage where has_clinical")[0][0]


def test_coverage_rows_are_classified_once(db):
    rows = query(db, "select coverage_status, has_imaging, has_clinical, count(*) from rpt_clinical_coverage group by all")
    for status, imaging, clinical, _ in rows:
        assert status == {(True, True): "imaging_and_clinical", (True, False): "imaging_only",
                          (False, True): "clinical_only"}[(imaging, clinical)]


@pytest.mark.parametrize("attribute,column", [("sex", "sex_category"), ("race", "race_category"),
                                              ("age_group_midrc", "age_group_midrc")])
def test_bias_distributions_match_pandas(db, expected, attribute, column):
    rows = query(db, "select group_value, category, n from rpt_bias_distributions "
                     "where group_by = 'collection_id' and attribute = ? and group_value like 'tcga_%'", [attribute])
    built = {(g, c): n for g, c, n in rows}
    imaging = expected[expected["has_imaging"]]
    want = {(g, c): int(n) for (g, c), n in imaging.groupby(["collection_id", column]).size().items()}
    assert built == want


def test_sex_conflicts_match_pandas(db, expected):
    built = query(db, "select count(*) from patient_clinical where sex_conflict and collection_id like 'tcga_%'")[0][0]
    assert built == int(expected["sex_conflict"].sum())


def test_census_distance_matches_scipy(db, expected):
    """JSD of each TCGA collection's sex and race from the census, recomputed with scipy from
    the shared census file and the pandas counts."""
    from scipy.spatial.distance import jensenshannon

    from idc_qc.bias import Selection, compute_bias

    result = compute_bias(db, Selection(where="collection_id like 'tcga_%'"), reference="census",
                          attributes=["sex", "race"])
    got = {(r.group_value, r.attribute): r.jsd for r in result.distances.itertuples()}
    status = {(r.group_value, r.attribute): r.distance_status for r in result.distances.itertuples()}
    imaging = expected[expected["has_imaging"]]
    checked = 0
    for attribute, column, census_name in [("sex", "sex_category", "Sex"), ("race", "race_category", "Race")]:
        q_all = tc.census_shares(census_name)
        for collection, part in imaging.groupby("collection_id"):
            counts = part[column].value_counts().to_dict()
            categories = sorted(set(counts) | set(q_all))
            p = [counts.get(c, 0) for c in categories]
            q = [q_all.get(c, 0.0) for c in categories]
            if not set(counts) - {"Not reported"}:
                # no known value: 'no data', not the distance of 'Not reported' from the census (1.0)
                assert math.isnan(got[(collection, attribute)]), (collection, attribute)
                assert status[(collection, attribute)] == "no data"
                continue
            want = float(jensenshannon(p, q, base=2))
            assert math.isclose(got[(collection, attribute)], want, rel_tol=1e-9, abs_tol=1e-12), (collection, attribute)
            checked += 1
    assert checked >= 2 * 30


def test_parameterized_query_equals_the_reporting_model(db):
    """The --where path and rpt_bias_distributions count the same way (one selection, two routes)."""
    from idc_qc.bias import Selection, compute_bias

    default = compute_bias(db)
    same = compute_bias(db, Selection(where="true"))
    cols = ["group_value", "attribute", "category", "n", "group_total"]
    a = default.distributions[cols].sort_values(cols[:3]).reset_index(drop=True)
    b = same.distributions[cols].sort_values(cols[:3]).reset_index(drop=True)
    assert len(a) > 0
    assert a.equals(b)


def test_missing_is_a_category_and_nothing_is_dropped(db):
    rows = query(db, "select group_value, attribute, sum(n), max(group_total), sum(share) from rpt_bias_distributions "
                     "where group_by = 'collection_id' group by all")
    patients = dict(query(db, "select collection_id, count(*) from patient_clinical where has_imaging group by all"))
    series = dict(query(db, "select collection_id, count(*) from series group by all"))
    for group, attribute, total, group_total, share in rows:
        assert total == group_total
        assert total == (series[group] if attribute in {"manufacturer", "model"} else patients[group])
        assert math.isclose(share, 1.0, rel_tol=1e-9)


def test_cohort_manifest_selects_the_same_as_where(db, tmp_path):
    import pandas as pd

    from idc_qc.bias import Selection, compute_bias

    uids = [r[0] for r in query(db, "select SeriesInstanceUID from series where collection_id = 'tcga_kirc' "
                                    "and Modality = 'CT'")]
    cohort = tmp_path / "cohort.csv"
    pd.DataFrame({"SeriesInstanceUID": uids}).to_csv(cohort, index=False)
    by_cohort = compute_bias(db, Selection(cohort=cohort, by=None), attributes=["sex", "model"]).distributions
    by_where = compute_bias(db, Selection(where="collection_id = 'tcga_kirc' and Modality = 'CT'", by=None),
                            attributes=["sex", "model"]).distributions
    assert len(by_cohort) > 0
    assert by_cohort.reset_index(drop=True).equals(by_where.reset_index(drop=True))


def test_user_reference_table_in_midrcs_shape_gives_the_census_distances(db):
    """The shared census CSV given as a user reference (MIDRC's attribute names and percent
    column) gives the same distances as the shipped census reference."""
    from idc_qc.bias import Selection, compute_bias

    selection = Selection(where="collection_id like 'tcga_%'")
    shipped = compute_bias(db, selection, reference="census", age_scheme="census",
                           attributes=["sex", "race", "age_group"]).distances
    user = compute_bias(db, selection, reference=tc.require_shared(tc.CENSUS_SHARED), age_scheme="census",
                        attributes=["sex", "race", "age_group"]).distances
    assert set(shipped["attribute"]) == {"sex", "race", "age_group_census"}
    assert (shipped["jsd"].notna() | (shipped["distance_status"] == "no data")).all()
    merged = shipped.merge(user, on=["group_value", "attribute"], suffixes=("_shipped", "_user"))
    assert len(merged) == len(shipped)
    assert (merged["distance_status_shipped"] == merged["distance_status_user"]).all()
    known = merged[merged["jsd_shipped"].notna()]
    assert ((known["jsd_shipped"] - known["jsd_user"]).abs() < 1e-12).all()


def test_archive_reference_distance_of_the_archive_is_zero(db):
    from idc_qc.bias import Selection, compute_bias

    whole = compute_bias(db, Selection(by=None), reference="archive").distances
    assert len(whole) == 6
    # an attribute with no known value in the whole archive (every value 'Not reported') has no distance
    known = whole[whole["distance_status"] != "no data"]
    assert len(known) >= 5 and (known["jsd"].abs() < 1e-7).all()
    assert whole.loc[whole["distance_status"] == "no data", "jsd"].isna().all()
