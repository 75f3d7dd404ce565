"""`idc-qc upset`: the upsetplot shim (pandas 3, NumPy 2.4), counts aggregated in SQL that add
up to the per-series booleans, the PNG read back, and a synthetic build saying so."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from support.data import REPO, query

# --------------------------------------------------------------------------------------
# the shim (fast)


def _draw(upset_cls, path: Path):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from upsetplot import from_memberships

    data = from_memberships([["a"], ["a", "b"], ["b", "c"]], data=[5, 10, 3])
    upset = upset_cls(data, show_counts=True, show_percentages=True, sort_by="cardinality")
    upset.style_subsets(present=["a", "b"], absent=["c"], facecolor="red")
    fig = plt.figure()
    try:
        axes = upset.plot(fig=fig)
        fig.savefig(path)
        return axes
    finally:
        plt.close(fig)


def test_upsetplot_needs_the_shim_on_this_stack(tmp_path):
    """The plain class still fails here: when it stops failing, the shim can go."""
    import upsetplot

    from idc_qc.reports._upsetplot_compat import needs_shim

    if not needs_shim():
        pytest.skip(f"upsetplot {upsetplot.__version__} is not a version the shim covers")
    with pytest.raises((ValueError, TypeError)):
        _draw(upsetplot.UpSet, tmp_path / "plain.png")


def test_shim_draws_dots_labels_and_highlight(tmp_path):
    import matplotlib.image as mpimg
    import numpy as np

    from idc_qc.reports._upsetplot_compat import upset_class

    png = tmp_path / "shim.png"
    axes = _draw(upset_class(), png)
    labels = [t.get_text() for t in axes["intersections"].texts]
    assert labels == ["10\n(55.6%)", "5\n(27.8%)", "3\n(16.7%)"]
    assert all(isinstance(t.get_position()[1], float) for t in axes["intersections"].texts)
    dots = axes["matrix"].collections[0]
    colours = dots.get_facecolors()
    assert len(colours) == 9 and not np.isnan(colours).any()
    image = mpimg.imread(png)
    red = (image[..., 0] > 0.9) & (image[..., 1] < 0.2) & (image[..., 2] < 0.2)
    assert red.sum() > 100, "the highlighted intersection is drawn in red"


def test_check_labels_cover_idc_checks():
    from idc_qc.reports.upset import IDC_CHECKS

    macro = (REPO / "macros" / "reporting" / "geometry_vocabulary_columns.sql").read_text()
    block = macro[macro.index("macro idc_geometry_checks"):]
    checks = re.findall(r"'(\w+)'", block[:block.index("endmacro")])
    assert list(IDC_CHECKS) == checks
    assert len(set(IDC_CHECKS.values())) == len(checks)
    # the words are the seed's (level idc_check): one vocabulary for every output
    with (REPO / "seeds" / "geometry_reasons.csv").open(newline="") as handle:
        seed = {r["idc_check"]: r["label"] for r in csv.DictReader(handle) if r["level"] == "idc_check"}
    assert seed == IDC_CHECKS


# --------------------------------------------------------------------------------------
# on built databases (slow: dbt builds)


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_headers_upset_counts_add_up(real_headers_db, tmp_path):
    import matplotlib.image as mpimg

    from idc_qc.reports.upset import IDC_CHECKS, render_upset

    result = render_upset(real_headers_db, tmp_path, sets="checks")
    fails = " or ".join(f"fails_{c}" for c in IDC_CHECKS)
    expected_failing = query(real_headers_db, f"select count(*) from rpt_geometry_failure_sets where {fails}")[0][0]
    assert result.failing_series == expected_failing > 0
    assert result.selected_series == query(real_headers_db, "select count(*) from rpt_geometry_failure_sets")[0][0]
    rows = _csv(result.csv)
    assert sum(int(r["series"]) for r in rows) == expected_failing
    assert [int(r["series"]) for r in rows] == sorted((int(r["series"]) for r in rows), reverse=True)
    # each set's total equals the booleans' count
    for check, label in IDC_CHECKS.items():
        in_csv = sum(int(r["series"]) for r in rows if label in r["sets"].split(" + "))
        assert in_csv == query(real_headers_db, f"select count(*) from rpt_geometry_failure_sets where fails_{check}")[0][0]
    assert {r["input_kind"] for r in rows} == {"dicom"} and result.notice is None
    assert result.png.stat().st_size > 20_000
    image = mpimg.imread(result.png)
    assert image.shape[0] > 400 and image.shape[1] > 600 and image[..., :3].std() > 0.05
    assert "<svg" in result.svg.read_text()[:2000]


@pytest.mark.slow
@pytest.mark.shared_data
def test_filters_and_errors(real_headers_db, tmp_path):
    from idc_qc.query.safety import NotACondition
    from idc_qc.reports.upset import Selection, UpsetError, render_upset

    ct = render_upset(real_headers_db, tmp_path, sets="reasons", selection=Selection(modality=["ct"]))
    assert ct.selected_series == query(real_headers_db,
                                       "select count(*) from rpt_geometry_failure_sets where Modality = 'CT'")[0][0]
    where = render_upset(real_headers_db, tmp_path, sets="reasons", selection=Selection(where="Modality = 'CT'"))
    assert [(i.sets, i.series) for i in where.intersections] == [(i.sets, i.series) for i in ct.intersections]
    with pytest.raises(UpsetError, match="no_such_column|does not run"):
        render_upset(real_headers_db, tmp_path, selection=Selection(where="no_such_column = 1"))
    with pytest.raises(NotACondition, match="not an SQL condition"):
        render_upset(real_headers_db, tmp_path, selection=Selection(where="1=1; drop table series"))
    # a word of SQL inside a string is no statement (it was refused before the parser checked)
    with pytest.raises(UpsetError, match="no series matches"):
        render_upset(real_headers_db, tmp_path, selection=Selection(where="body_part_examined ilike '%delete%update%'"))
    with pytest.raises(UpsetError, match="no series matches"):
        render_upset(real_headers_db, tmp_path, selection=Selection(collection=["no-such-collection"]))


@pytest.mark.slow
def test_synthetic_build_says_so(synthetic_db, tmp_path):
    from idc_qc.provenance import SYNTHETIC_NOTICE
    from idc_qc.reports.upset import render_upset
    from idc_qc.warehouse import summarize

    assert query(synthetic_db, "select input_kind, is_synthetic from rpt_build_context") == [("synthetic", True)]
    result = render_upset(synthetic_db, tmp_path, sets="checks")
    assert result.notice == SYNTHETIC_NOTICE
    assert {r["input_kind"] for r in _csv(result.csv)} == {"synthetic"}
    assert "SYNTHETIC INPUT" in result.svg.read_text()
    summary = summarize(synthetic_db)
    assert summary.input_kind == "synthetic" and summary.notice == SYNTHETIC_NOTICE


def test_single_set_and_ties_still_draw(tmp_path):
    """upsetplot cannot plot one set (a flat Index): the drawing keeps a MultiIndex."""
    import matplotlib.image as mpimg

    from idc_qc.reports.upset import Intersection, _draw

    for n, inters in enumerate(([Intersection(("a",), 5)],
                                [Intersection(("a", "b"), 3), Intersection(("b",), 3), Intersection(("c",), 1)])):
        png, svg = tmp_path / f"{n}.png", tmp_path / f"{n}.svg"
        _draw(inters, 20, sum(i.series for i in inters), "title", "subtitle", png, svg, synthetic=False)
        assert mpimg.imread(png).shape[0] > 200 and "subtitle" in svg.read_text()


@pytest.mark.slow
@pytest.mark.shared_data
def test_converter_sets_count_what_series_converters_says(real_headers_db, tmp_path):
    from idc_qc.reports.upset import CONVERTERS, render_upset

    result = render_upset(real_headers_db, tmp_path, sets="converters")
    rows = _csv(result.csv)
    for key, label in CONVERTERS.items():
        in_csv = sum(int(r["series"]) for r in rows if label in r["sets"].split(" + "))
        assert in_csv == query(real_headers_db, "select count(*) from series_converters where lower(converter) = ? "
                                                "and outcome_kind <> 'assembles'", [key])[0][0]
    assert result.failing_series == query(
        real_headers_db, "select count(distinct SeriesInstanceUID) from series_converters "
                         "where outcome_kind <> 'assembles'")[0][0] > 0
