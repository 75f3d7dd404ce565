"""The bias analysis' fixed parts: the distance formula (scipy's, as MIDRC), the census copy the
product ships, the age groups and the harmonized vocabulary."""

from __future__ import annotations

import csv
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idc_qc.bias import jensen_shannon_distance
from support.clinical import CENSUS_SHARED
from support.data import REPO, require_shared

SEEDS = REPO / "seeds"


def _rows(name: str) -> list[dict[str, str]]:
    with open(SEEDS / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@settings(deadline=None)  # the first call imports scipy
@given(st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 1000), min_size=1),
       st.dictionaries(st.sampled_from("abcdefgh"), st.floats(0, 100), min_size=1))
def test_distance_is_scipy_jensenshannon_base_2_with_missing_categories_as_zero(p, q):
    import numpy as np
    from scipy.spatial.distance import jensenshannon

    got = jensen_shannon_distance(p, q)
    categories = sorted(set(p) | set(q))
    left = np.array([p.get(c, 0) for c in categories], dtype=float)
    right = np.array([q.get(c, 0) for c in categories], dtype=float)
    if left.sum() == 0 or right.sum() == 0:
        assert math.isnan(got)
        return
    want = float(jensenshannon(left, right, base=2))
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)
    assert 0.0 <= got <= 1.0 + 1e-12


def test_distance_bounds():
    assert jensen_shannon_distance({"a": 3, "b": 1}, {"a": 0.75, "b": 0.25}) == pytest.approx(0.0, abs=1e-7)
    assert jensen_shannon_distance({"a": 1}, {"b": 1}) == pytest.approx(1.0)


def test_shipped_census_equals_midrcs_figures():
    """The seed is the shared reference file, unchanged (its provenance is in seeds/_clinical__seeds.yml)."""
    shipped = _rows("us_census_2020_midrc.csv")
    with open(require_shared(CENSUS_SHARED), newline="", encoding="utf-8") as handle:
        original = list(csv.DictReader(handle))
    assert shipped == original
    yml = (SEEDS / "_clinical__seeds.yml").read_text()
    assert "MIDRC/MIDRC_Diversity_Calculator" in yml and "Apache License 2.0" in yml


def test_census_attributes_sum_to_100():
    totals: dict[str, float] = {}
    for row in _rows("us_census_2020_midrc.csv"):
        totals[row["attribute"]] = totals.get(row["attribute"], 0.0) + float(row["percent_of_us_population"])
    for attribute, total in totals.items():
        assert total == pytest.approx(100.0, abs=0.5), attribute  # rounded figures: Age at Index sums to 100.2


def test_age_groups_tile_the_ages_and_match_the_census():
    rows = _rows("bias_age_groups.csv")
    census_ages = [r["category"] for r in _rows("us_census_2020_midrc.csv") if r["attribute"] == "Age at Index"]
    for scheme in ("census", "midrc"):
        groups = [r for r in rows if r["scheme"] == scheme]
        assert float(groups[0]["min_years"]) == 0 and groups[-1]["max_years"] == ""
        for before, after in zip(groups, groups[1:]):
            assert before["max_years"] == after["min_years"], (scheme, before, after)
    assert [r["age_group"] for r in rows if r["scheme"] == "census"] == census_ages
    midrc = {r["age_group"]: r for r in rows if r["scheme"] == "midrc"}
    assert list(midrc) == ["0-17 Years", "18-49 Years", "50-64 Years", "65+ Years"]
    for r in rows:
        if r["scheme"] == "census":  # each census group lies inside its MIDRC group
            m = midrc[r["midrc_age_group"]]
            assert float(m["min_years"]) <= float(r["min_years"])
            assert m["max_years"] == "" or (r["max_years"] != "" and float(r["max_years"]) <= float(m["max_years"]))


def test_vocabulary_keys_are_normalized_and_categories_are_the_census_words():
    rows = _rows("clinical_vocabulary.csv")
    census = {(r["attribute"], r["category"]) for r in _rows("us_census_2020_midrc.csv")}
    seen = set()
    for r in rows:
        assert r["value_key"] == r["value_key"].strip().lower(), r
        assert (r["concept"], r["value_key"]) not in seen, r
        seen.add((r["concept"], r["value_key"]))
        assert (r["is_missing"] == "true") == (r["harmonized"] == "Not reported"), r
        attribute = {"sex": "Sex", "race": "Race", "ethnicity": "Ethnicity"}.get(r["concept"])
        if attribute and r["harmonized"] not in {"Other"}:
            assert (attribute, r["harmonized"]) in census, r
    # the spellings the issue names
    sex = {r["value_key"]: r["harmonized"] for r in rows if r["concept"] == "sex"}
    assert sex["male"] == sex["m"] == "Male" and sex["female"] == sex["f"] == "Female"
