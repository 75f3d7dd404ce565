"""The reporting models (models/marts/reporting) add up to the marts they summarize, and the
geometry summary draws them without aggregating a mart itself. Built once over the real
DICOM headers (shared data; skipped when absent)."""

from __future__ import annotations

import pytest

from support.data import query

pytestmark = pytest.mark.slow


def test_category_counts_add_up_to_series_geometry(real_headers_db):
    assert query(real_headers_db, "select sum(series_count) from rpt_geometry_category_counts")[0][0] \
        == query(real_headers_db, "select count(*) from series_geometry")[0][0] > 0
    by_category = dict(query(real_headers_db, "select geometry_category, sum(series_count) from rpt_geometry_category_counts group by 1"))
    assert by_category == dict(query(real_headers_db, "select geometry_category, count(*) from series_geometry group by 1"))


def test_reason_counts_add_up_to_the_marts(real_headers_db):
    series_level = query(real_headers_db, "select sum(series_count) from rpt_geometry_reason_counts where level = 'series'")[0][0]
    assert series_level == query(real_headers_db, "select count(*) from (select unnest(failure_reasons) from series_geometry)")[0][0]
    instance_level = dict(query(real_headers_db, """
        select reason, sum(instance_count) from rpt_geometry_reason_counts where level = 'instance' group by 1"""))
    assert instance_level == dict(query(real_headers_db, """
        select reason, count(distinct SOPInstanceUID) from instance_geometry group by 1"""))
    assert query(real_headers_db, "select count(*) from rpt_geometry_reason_counts where reason_key is null")[0][0] == 0


def test_failure_sets_and_worklist(real_headers_db):
    total, failing = query(real_headers_db, """
        select count(*), count(*) filter (where geometry_category <> 'regular_volume') from series_geometry""")[0]
    assert query(real_headers_db, "select count(*) from rpt_geometry_failure_sets")[0][0] == total
    assert query(real_headers_db, "select count(*) from rpt_geometry_failures")[0][0] == failing > 0
    # the booleans say what the arrays say
    assert query(real_headers_db, """
        select count(*) from rpt_geometry_failure_sets
        where reason_several_stacks <> list_contains(failure_reasons, 'several stacks in one series')
           or reason_siemens_mosaic <> list_contains(failure_reasons, 'siemens mosaic')""")[0][0] == 0
    assert query(real_headers_db, "select count(*) from rpt_geometry_failure_sets where reason_several_stacks")[0][0] > 0
    assert query(real_headers_db, """
        select count(*) from rpt_geometry_failure_sets s join series_geometry g using (SeriesInstanceUID)
        where s.fails_unique_slice_positions <> coalesce(not g.unique_slice_positions, false)""")[0][0] == 0
    # every failing series has a hint per reason
    assert query(real_headers_db, """
        select count(*) from rpt_geometry_failures
        where len(curator_hints) <> len(failure_reasons) or category_hint is null""")[0][0] == 0


def test_summary_draws_the_reporting_counts(real_headers_db, tmp_path):
    from idc_qc.reports.geometry_summary import render_geometry_summary

    summary = render_geometry_summary(real_headers_db, tmp_path, png=False)
    assert summary.html.stat().st_size > 0
    expected = query(real_headers_db, """
        select geometry_category, coalesce(Modality, 'unknown'), count(*) from series_geometry group by all""")
    assert sorted(summary.categories) == sorted(expected)
    # the category chart says what regular_volume counts, and IDC's count beside it (issue 23)
    regular, idc, on_malformed = query(real_headers_db, """
        select count(*) filter (where geometry_category = 'regular_volume'),
               count(*) filter (where regularly_spaced_3d_volume),
               count(*) filter (where idc_regular_on_malformed_values) from series_geometry""")[0]
    assert summary.definition.startswith(f"regular_volume: {regular:,} series by idc-qc's geometry_category")
    assert f"IDC's regularly_spaced_3d_volume is TRUE for {idc:,}" in summary.definition
    assert (f"{on_malformed:,} of them only on malformed values" in summary.definition) == (on_malformed > 0)
    assert summary.definition in summary.html.read_text()
