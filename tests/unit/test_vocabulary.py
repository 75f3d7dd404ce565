"""seeds/geometry_reasons.csv is the one vocabulary of the geometry verdict: every place that
writes or lists a reason or a category is checked against it, both ways, so a new or renamed
word cannot drift. No dbt build needed: the SQL, the docs and synth are read as text/objects.

Places checked here: the reason arrays and the category CASE of the geometry SQL, the lists in
macros/reporting/geometry_vocabulary_columns.sql, the tables of docs/geometry.md, synth's
FaultRates. The built marts are checked by the in_geometry_vocabulary data tests
(models/marts/geometry/_geometry__models.yml) and, fault by fault, by
tests/dbt/test_geometry_vocabulary_synth.py.
"""

from __future__ import annotations

import csv
import re
from dataclasses import fields

import pytest

from support.data import REPO

SEED = REPO / "seeds" / "geometry_reasons.csv"
JUDGED = REPO / "models" / "intermediate" / "geometry" / "int_series__geometry_judged.sql"
INSTANCE = REPO / "models" / "marts" / "geometry" / "instance_geometry.sql"
VOCAB_MACROS = REPO / "macros" / "reporting" / "geometry_vocabulary_columns.sql"
USABLE = REPO / "macros" / "geometry" / "usable_instances.sql"
DOCS = REPO / "docs" / "geometry.md"

IDC_CHECKS = [
    "single_orientation", "orthogonal_orientation", "unique_slice_positions", "consistent_in_plane_row",
    "consistent_in_plane_col", "consistent_pixel_spacing", "consistent_image_dimensions", "uniform_slice_spacing",
]


def seed_rows() -> list[dict[str, str]]:
    with SEED.open(newline="") as f:
        return list(csv.DictReader(f))


def seed_words(level: str) -> set[str]:
    return {r["label"] for r in seed_rows() if r["level"] == level}


def _sql(path) -> str:
    """The SQL without comments (Jinja and SQL line comments)."""
    text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.S)
    return re.sub(r"--[^\n]*", "", text)


def _then_literals(block: str) -> set[str]:
    """String literals a CASE returns: `then 'x'`, `then ['x']` and `else 'x'`."""
    return set(re.findall(r"\b(?:then|else)\s+\[?\s*'([^']*)'", block))


def _block_before(sql: str, alias: str, opener: str) -> str:
    """The text of the expression that ends in `as <alias>`, from the last `opener` before it."""
    end = re.search(rf"\bas\s+{alias}\b", sql)
    assert end, f"no `as {alias}` in the SQL: the extraction in this test needs updating"
    start = sql.rfind(opener, 0, end.start())
    assert start >= 0, f"no {opener!r} before `as {alias}`"
    return sql[start:end.start()]


def sql_series_reasons() -> set[str]:
    sql = _sql(JUDGED)
    found = _then_literals(_block_before(sql, "found_reasons", "array_compact"))
    # the fallback for a non-regular series without a specific reason
    fallback = _then_literals(_block_before(sql, "failure_reasons", "case"))
    return found | fallback


def sql_categories() -> set[str]:
    return _then_literals(_block_before(_sql(JUDGED), "geometry_category", "case"))


def sql_instance_reasons() -> set[str]:
    return _then_literals(_block_before(_sql(INSTANCE), "reasons", "array_compact"))


def sql_notes() -> set[str]:
    return _then_literals(_block_before(_sql(JUDGED), "geometry_notes", "array_compact"))


def sql_unusable_reasons() -> set[str]:
    text = _sql(USABLE)
    start = text.index("macro geometry_unusable_reason")
    return _then_literals(text[start:text.index("endmacro", start)])


# ---------------------------------------------------------------------------------------
# the seed itself
# ---------------------------------------------------------------------------------------

def test_seed_is_well_formed():
    rows = seed_rows()
    assert list(rows[0]) == ["reason_key", "label", "level", "geometry_category", "idc_check", "synth_fault", "curator_hint",
                             "severity"]
    keys = [r["reason_key"] for r in rows]
    assert len(keys) == len(set(keys)), "reason_key repeats"
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in keys), "reason_key is not snake_case"
    pairs = [(r["level"], r["label"]) for r in rows]
    assert len(pairs) == len(set(pairs)), "a word repeats within a level"
    categories = seed_words("category")
    for r in rows:
        assert r["level"] in {"series", "instance", "category", "note", "unusable", "idc_check"}, r
        assert r["label"].strip() == r["label"] != "", r
        assert r["curator_hint"].strip(), f"{r['reason_key']} has no hint"
        assert r["idc_check"] in {"", *IDC_CHECKS}, r
        assert r["geometry_category"] in categories | {""}, r
        if r["level"] in {"series", "category"}:
            assert r["geometry_category"], f"{r['reason_key']}: a series reason or category leads to a category"
        if r["level"] in {"note", "unusable"}:
            assert not r["geometry_category"], f"{r['reason_key']}: a note or an unusable row changes no category"
        if r["level"] == "category":
            assert r["geometry_category"] == r["label"], r
        # what to fix first: every word of a failing series or instance has a severity, 1 to 3
        needs_severity = r["level"] in {"series", "instance", "category"} and r["label"] != "regular_volume"
        assert (r["severity"] in {"1", "2", "3"}) if needs_severity else r["severity"] == "", r
        if r["level"] == "category" and needs_severity:  # as severe as the most severe reason leading to it
            leading = [w["severity"] for w in rows if w["level"] == "series" and w["geometry_category"] == r["label"]]
            assert leading and r["severity"] == min(leading), (r["label"], leading)
        if r["level"] == "idc_check":  # the words every output gives IDC's eight checks
            assert r["reason_key"] == "idc_" + r["idc_check"] and not r["geometry_category"], r
    assert sorted(r["idc_check"] for r in rows if r["level"] == "idc_check") == sorted(IDC_CHECKS)


# ---------------------------------------------------------------------------------------
# the SQL that writes the words
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("level", "written"),
    [("series", sql_series_reasons), ("instance", sql_instance_reasons), ("category", sql_categories),
     ("note", sql_notes), ("unusable", sql_unusable_reasons)],
    ids=["series reasons (int_series__geometry_judged)", "instance reasons (instance_geometry)",
         "categories (int_series__geometry_judged)", "notes (int_series__geometry_judged)",
         "unusable rows (macros/geometry/usable_instances.sql)"],
)
def test_sql_writes_exactly_the_seed_words(level, written):
    in_sql, in_seed = written(), seed_words(level)
    assert in_sql, f"no {level} words found in the SQL: the extraction in this test needs updating"
    assert not in_sql - in_seed, f"{level} words the SQL writes but seeds/geometry_reasons.csv lacks: {sorted(in_sql - in_seed)}"
    assert not in_seed - in_sql, f"{level} words in seeds/geometry_reasons.csv the SQL never writes: {sorted(in_seed - in_sql)}"


def test_extraction_sees_a_renamed_reason(tmp_path, monkeypatch):
    """The check above can fail: rename one reason in a copy of the SQL and it is caught."""
    copy = tmp_path / "judged.sql"
    copy.write_text(JUDGED.read_text().replace("'missing slices'", "'slices missing'"))
    monkeypatch.setattr(__import__(__name__), "JUDGED", copy)
    assert "slices missing" in sql_series_reasons() and "missing slices" not in sql_series_reasons()


def test_category_comparisons_in_sql_use_seed_words():
    """Literals the geometry SQL compares geometry_category with are categories of the seed."""
    categories = seed_words("category")
    for path in (JUDGED, INSTANCE, *(REPO / "models").rglob("rpt_*.sql")):
        sql = _sql(path)
        for match in re.finditer(r"geometry_category\s*(?:<>|!=|=|not\s+in|in)\s*\(?((?:\s*'[^']*'\s*,?)+)", sql):
            for word in re.findall(r"'([^']*)'", match.group(1)):
                assert word in categories, f"{path.name} compares geometry_category with {word!r}, not a category of the seed"


# ---------------------------------------------------------------------------------------
# the reporting column lists
# ---------------------------------------------------------------------------------------

def test_reporting_macro_lists_the_seed_series_reasons_in_order():
    text = VOCAB_MACROS.read_text()
    listed = re.findall(r"\('([a-z0-9_]+)',\s*'([^']*)'\)", text)
    expected = [(r["reason_key"], r["label"]) for r in seed_rows() if r["level"] == "series"]
    assert listed == expected


def test_reporting_macro_lists_idc_checks():
    block = VOCAB_MACROS.read_text().split("idc_geometry_checks", 1)[1]
    assert re.findall(r"'([a-z_]+)'", block) == IDC_CHECKS


# ---------------------------------------------------------------------------------------
# docs/geometry.md
# ---------------------------------------------------------------------------------------

def _first_column_words(heading: str) -> set[str]:
    """Backticked words in the first column of the first table after the heading."""
    text = DOCS.read_text()
    at = text.find(heading)
    assert at >= 0, f"docs/geometry.md has no heading {heading!r}"
    lines = text[at:].splitlines()[1:]
    table = []
    for line in lines:
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    assert len(table) > 2, f"no table after {heading!r}"
    words = set()
    for row in table[2:]:
        words |= set(re.findall(r"`([^`]+)`", row.split("|")[1]))
    return words


@pytest.mark.parametrize(
    ("heading", "level"),
    [("### `geometry_category`", "category"), ("### `failure_reasons`", "series"), ("### `instance_geometry`", "instance"),
     ("### `geometry_notes`", "note"), ("### `unusable_instances`", "unusable")],
)
def test_docs_tables_list_exactly_the_seed_words(heading, level):
    documented, in_seed = _first_column_words(heading), seed_words(level)
    assert documented == in_seed, (
        f"docs/geometry.md {heading}: missing {sorted(in_seed - documented)}, not in the seed {sorted(documented - in_seed)}")


# ---------------------------------------------------------------------------------------
# synth's faults
# ---------------------------------------------------------------------------------------

def test_every_synth_fault_maps_to_a_reason_and_back():
    from idc_qc.synth import FaultRates

    faults = {f.name for f in fields(FaultRates)}
    in_seed = {r["synth_fault"] for r in seed_rows() if r["synth_fault"]}
    assert in_seed == faults, f"faults without a reason: {sorted(faults - in_seed)}; unknown faults in the seed: {sorted(in_seed - faults)}"
