"""The quality gates' configuration: thresholds from one YAML file, suites that name only
thresholds and tables that exist, the committed GX project in step with its suites, and the
SQL the report prints for each expectation."""

from __future__ import annotations

import csv
import json
import re

import pytest

from idc_qc.errors import IdcQcError
from idc_qc.quality.sql import expectation_sql
from idc_qc.quality.suites import gx_dir, load_suites
from idc_qc.quality.thresholds import load_thresholds, parse_set_options
from support.data import REPO


def test_thresholds_come_from_the_yaml_and_overrides_layer_on_top(tmp_path):
    defaults = load_thresholds()
    assert set(defaults.values) >= {"min_regular_share", "max_malformed_share", "min_series_per_group",
                                    "max_inconsistent_series"}
    file = tmp_path / "t.yml"
    file.write_text("max_malformed_share: 0.05\n")
    layered = load_thresholds(file, parse_set_options(["min_regular_share=0.5"]))
    assert layered.values["max_malformed_share"] == 0.05 and layered.sources["max_malformed_share"] == str(file)
    assert layered.values["min_regular_share"] == 0.5 and layered.sources["min_regular_share"] == "--set"
    assert layered.values["max_inconsistent_series"] == defaults.values["max_inconsistent_series"]


@pytest.mark.parametrize("overrides, message", [
    ({"nope": 1}, "unknown threshold 'nope'"),
    ({"max_malformed_share": "lots"}, "expected a number, found 'lots'"),
    ({"max_malformed_share": -1}, "finite number >= 0"),
    ({"min_regular_share": 1.5}, "a share is at most 1"),
])
def test_bad_thresholds_name_the_threshold_and_what_was_found(overrides, message):
    with pytest.raises(IdcQcError, match=re.escape(message)):
        load_thresholds(None, overrides)


def test_no_threshold_is_a_literal_in_code():
    values = set(load_thresholds().values.values())
    for path in (REPO / "idc_qc" / "quality").glob("*.py"):
        text = path.read_text()
        for name in load_thresholds().values:
            assert not re.search(rf"{name}\s*[:=]\s*[0-9]", text), f"{path.name} sets {name} in code"
    assert values  # the file is read, not empty


def test_suites_name_known_tables_and_thresholds():
    thresholds = set(load_thresholds().values)
    models = {p.stem for p in (REPO / "models").rglob("*.sql")}
    for suite in load_suites():
        assert suite.table in models, f"suite {suite.name} validates {suite.table}, which no model builds"
        text = suite.path.read_text()
        named = set(re.findall(r'"\$PARAMETER":\s*"([^"]+)"', text)) | set(re.findall(r"\$\{([A-Za-z_]+)\}", text))
        assert named <= thresholds, f"suite {suite.name} names thresholds not in thresholds.yml: {named - thresholds}"
        assert suite.expectations and all(e.get("description") for e in suite.expectations), suite.name


def test_committed_gx_project_is_in_step_with_the_suites():
    """python -m idc_qc.quality.suites writes these; a new suite without them still runs (check adds them)."""
    suites = {s.name for s in load_suites()}
    definitions = {p.stem for p in (gx_dir() / "validation_definitions").glob("*.json")}
    assert definitions == suites
    checkpoint = json.loads((gx_dir() / "checkpoints" / "idc_qc.json").read_text())
    assert {v["name"] for v in checkpoint["validation_definitions"]} == suites


def test_category_sets_are_the_seed_words():
    with (REPO / "seeds" / "geometry_reasons.csv").open(newline="") as handle:
        categories = {r["label"] for r in csv.DictReader(handle) if r["level"] == "category"}
    for suite in load_suites():
        for e in suite.expectations:
            if e["kwargs"].get("column") == "geometry_category" and "value_set" in e["kwargs"]:
                assert set(e["kwargs"]["value_set"]) <= categories, suite.name
    macro = (REPO / "macros" / "reporting" / "qc_instance_rules.sql").read_text()
    failing = re.search(r"macro qc_failing_geometry_categories\(\) %\}\s*\{\{ return\(\[([^\]]*)\]", macro).group(1)
    assert set(re.findall(r"'([^']+)'", failing)) <= categories


@pytest.mark.parametrize("etype, kwargs, expected", [
    ("expect_column_values_to_not_be_null", {"column": "c"}, "select k, c from t where (c is null)"),
    ("expect_column_values_to_be_in_set", {"column": "c", "value_set": ["a", "b'c"]},
     "select k, c from t where (c not in ('a', 'b''c'))"),
    ("expect_column_values_to_be_between", {"column": "share", "max_value": {"$PARAMETER": "m"},
                                            "row_condition": 'kind=="x"', "condition_parser": "pandas"},
     "select k, share from t where kind = 'x' and (share > 0.25)"),
    ("expect_column_values_to_be_unique", {"column": "c"},
     "select c, count(*) as copies from t group by c having count(*) > 1 order by copies desc"),
    ("expect_column_kl_divergence_to_be_less_than", {"column": "c"}, None),
])
def test_expectation_sql(etype, kwargs, expected):
    assert expectation_sql("t", None, etype, kwargs, {"m": 0.25}, ["k"]) == expected
