"""`idc-qc dashboard` in headless chromium (network off): it renders, every chart draws its
marks with no Vega error, the collection drop-down filters the charts, a synthetic build
says so on every chart, the page fits a 1,400 px window and the file stays small. The
screenshot is kept. The converter panel stacks rpt_converter_outcome_counts' series in the
outcomes' fixed colours; without that model the panel is left out."""

from __future__ import annotations

import pytest

from support.browser import SCREENSHOT_DIR, open_page
from support.data import query

pytestmark = pytest.mark.slow

#: Per chart title: how many marks (SVG paths and texts) it drew.
_MARKS_PER_VIEW = """() => {
  const out = {};
  document.querySelectorAll('svg g.mark-group.role-scope').forEach(g => {
    const title = g.querySelector(':scope > g > g.role-title .role-title-text, .role-title-text');
    if (!title) return;
    const name = title.textContent;
    if (name in out) return;
    out[name] = g.querySelectorAll('g.role-mark > path, g.role-mark > text').length;
  });
  return out;
}"""


#: Viewport coordinates of the centre of the longest bar in "Series by collection".
_LONGEST_COLLECTION_BAR = """() => {
  const group = Array.from(document.querySelectorAll('svg g.mark-group.role-scope')).find(g => {
    const t = g.querySelector('.role-title-text');
    return t && t.textContent.startsWith('Series by collection');
  });
  let best = null;
  group.querySelectorAll('g.mark-rect.role-mark > path').forEach(p => {
    const r = p.getBoundingClientRect();
    if (!best || r.width > best.width) best = r;
  });
  return {x: best.x + best.width / 2, y: best.y + best.height / 2};  // viewport coordinates, as mouse.click takes
}"""


#: The texts drawn in the "Totals in view" chart (figures, captions, what is in view).
_TOTALS_TEXT = """() => {
  const group = Array.from(document.querySelectorAll('svg g.mark-group.role-scope')).find(g => {
    const t = g.querySelector('.role-title-text');
    return t && t.textContent.startsWith('Totals in view');
  });
  return Array.from(group.querySelectorAll('g.role-mark > text')).map(t => t.textContent);
}"""


def test_dashboard_renders_every_chart_offline(synthetic_db, tmp_path):
    from idc_qc.provenance import SYNTHETIC_NOTICE
    from idc_qc.reports.dashboard import render_dashboard

    result = render_dashboard(synthetic_db, tmp_path / "dashboard.html")
    assert result.bytes < 10_000_000
    text = result.html.read_text()
    assert "https://cdn" not in text.split("<body>")[-1][:2000]
    expected_series = query(synthetic_db, "select count(*) from series")[0][0]
    assert result.totals["series"] == expected_series
    with open_page(result.html, width=1400, height=1100) as view:
        view.page.wait_for_selector("svg g.role-mark", timeout=20_000)
        assert view.console_errors == [], view.console_errors
        # every chart fits a 1,400 px window: nothing to scroll sideways to
        widths = view.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"
        assert view.failed_requests == []
        marks = view.page.evaluate(_MARKS_PER_VIEW)
        for chart in result.charts:
            drawn = [n for title, n in marks.items() if title.lower().startswith(chart)]
            assert drawn and drawn[0] > 0, f"{chart}: no marks drawn ({marks})"
        # the banner and every chart's subtitle say the input was synthetic
        assert SYNTHETIC_NOTICE in view.page.inner_text("#synthetic-banner")
        subtitles = view.page.evaluate(
            "() => Array.from(document.querySelectorAll('.role-title-subtitle')).map(e => e.textContent)")
        assert sum(SYNTHETIC_NOTICE in s for s in subtitles) >= len(result.charts)
        view.screenshot(SCREENSHOT_DIR / "dashboard.png", full_page=True)
        # the totals at the top are the whole build's while every collection is in view
        totals_all = view.page.evaluate(_TOTALS_TEXT)
        assert f"{result.totals['series']:,}" in totals_all and f"{result.totals['collections']:,}" in totals_all
        assert "Totals of every collection in this build" in totals_all
        # clicking the largest collection's bar filters the modality chart to its modalities
        largest, modalities = query(synthetic_db, """
            select c.collection_id, count(*) from rpt_archive_collections c
            join rpt_archive_collection_modality m using (collection_id)
            group by c.collection_id, c.series_count order by c.series_count desc limit 1""")[0]
        box = view.page.evaluate(_LONGEST_COLLECTION_BAR)
        view.page.mouse.click(box["x"], box["y"])
        view.page.wait_for_timeout(500)
        clicked = view.page.evaluate(_MARKS_PER_VIEW)
        assert clicked["Series by modality"] == 2 * modalities, (largest, clicked)  # a bar and a label each
        view.page.mouse.dblclick(box["x"], box["y"])
        view.page.wait_for_timeout(300)
        # one collection in the drop-down: the collection bars shrink to one
        nlst_series = query(synthetic_db, "select series_count from rpt_archive_collections where collection_id = 'nlst'")
        assert nlst_series, "the synthetic sample holds NLST series"
        view.page.select_option("select", "nlst")
        view.page.wait_for_timeout(500)
        after = view.page.evaluate(_MARKS_PER_VIEW)
        def collection_marks(found):
            return next(n for t, n in found.items() if t.lower().startswith("series by collection"))

        assert 0 < collection_marks(after) <= collection_marks(marks) / 5, (marks, after)  # one bar left
        # the totals follow the drop-down: nlst's own figures, not the whole build's
        nlst_series, nlst_patients = query(
            synthetic_db, "select series_count, patient_count from rpt_archive_collections where collection_id = 'nlst'")[0]
        totals_nlst = view.page.evaluate(_TOTALS_TEXT)
        assert f"{nlst_series:,}" in totals_nlst and f"{nlst_patients:,}" in totals_nlst, totals_nlst
        assert "Totals of collection nlst" in totals_nlst and "1" in totals_nlst  # one collection
        assert f"{result.totals['series']:,}" not in totals_nlst  # the build's total is gone
        assert view.console_errors == []
        view.screenshot(SCREENSHOT_DIR / "dashboard_nlst.png", full_page=True)


def test_dashboard_of_real_headers_is_not_called_synthetic(real_headers_db, tmp_path):
    from idc_qc.reports.dashboard import render_dashboard

    result = render_dashboard(real_headers_db, tmp_path / "dashboard.html")
    assert result.input_kind == "dicom" and result.notice is None
    assert "synthetic-banner" not in result.html.read_text()


#: (geometry_category, fill) of every bar of the charts whose title starts with the prefix.
_CATEGORY_FILLS = """(prefix) => {
  const out = [];
  document.querySelectorAll('svg g.mark-group.role-scope').forEach(g => {
    const t = g.querySelector('.role-title-text');
    if (!t || !t.textContent.startsWith(prefix)) return;
    g.querySelectorAll('g.mark-rect.role-mark > path').forEach(p => {
      const d = p.__data__ && p.__data__.datum;
      if (d && d.geometry_category) out.push([d.geometry_category, p.getAttribute('fill')]);
    });
  });
  return out;
}"""


def test_a_small_collection_keeps_the_colours_and_says_when_nothing_fails(synthetic_db, tmp_path):
    """Picked in the drop-down, a collection outside the top 15 shows its own failure reasons
    (not an empty chart), every category keeps its colour (one scale from the seed), no legend
    says NaN, and a collection with no failing series says so; the header line is the counts of
    rpt_failing_series_counts."""
    from idc_qc.reports.dashboard import CATEGORY_PALETTE, render_dashboard
    from idc_qc.reports.geometry_summary import _RECONCILE_SQL, reconciliation_line

    result = render_dashboard(synthetic_db, tmp_path / "dashboard.html")
    order = [r[0] for r in query(synthetic_db, "select label from geometry_reasons where level = 'category' order by reason_key")]
    palette = {category: CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)] for i, category in enumerate(order)}
    ranked = query(synthetic_db, """
        select c.collection_id, coalesce(f.series_count, 0) as failing
        from rpt_archive_collections c
        left join rpt_failing_series_counts f
            on f.collection_id = c.collection_id and f.definition = 'not_regular_volume' and f.part = 'total'
        order by failing desc, c.collection_id""")
    small = next(c for c, n in ranked[15:] if n > 0)          # failing, but outside the top 15 heat map
    healthy = next(c for c, n in ranked if n == 0)           # no failing series at all
    reasons_small = {r[0] for r in query(synthetic_db, f"""
        select reason from rpt_geometry_reason_counts where level = 'series' and collection_id = '{small}'""")}
    line, _ = reconciliation_line(query(synthetic_db, _RECONCILE_SQL))
    with open_page(result.html, width=1400, height=1100) as view:
        page = view.page
        page.wait_for_selector("svg g.role-mark", timeout=20_000)
        assert page.inner_text("#failing-definitions").startswith(line)
        seen_all = set(map(tuple, page.evaluate(_CATEGORY_FILLS, "Geometry category by")))
        assert seen_all and all(palette[c] == fill for c, fill in seen_all), seen_all
        page.select_option("select", small)
        page.wait_for_timeout(600)
        seen_small = set(map(tuple, page.evaluate(_CATEGORY_FILLS, "Geometry category by")))
        assert seen_small and all(palette[c] == fill for c, fill in seen_small), seen_small
        heat_rows = page.evaluate("""() => {
          const g = Array.from(document.querySelectorAll('svg g.mark-group.role-scope')).find(
            g => (g.querySelector('.role-title-text') || {}).textContent === 'Failure reasons by collection');
          return Array.from(g.querySelectorAll('g.mark-rect.role-mark > path')).map(p => p.__data__.datum.reason);
        }""")
        assert set(heat_rows) == reasons_small, (small, heat_rows)
        legends = page.evaluate("() => Array.from(document.querySelectorAll('g.role-legend text')).map(t => t.textContent)")
        assert legends and not any("NaN" in t for t in legends), legends
        widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], widths
        view.screenshot(SCREENSHOT_DIR / "dashboard_small_collection.png", full_page=True)
        page.select_option("select", healthy)
        page.wait_for_timeout(600)
        notes = page.evaluate(
            "() => Array.from(document.querySelectorAll('svg text')).filter(t => t.textContent === 'no failures in this collection').length")
        assert notes == 2, (healthy, notes)      # one in each failure-reason chart
        assert view.console_errors == []


#: (converter, outcome_kind, series, fill) of every bar of the converter panel.
_CONVERTER_BARS = """() => {
  const g = Array.from(document.querySelectorAll('svg g.mark-group.role-scope')).find(g => {
    const t = g.querySelector('.role-title-text');
    return t && t.textContent.startsWith('Will my pipeline load it?');
  });
  if (!g) return null;
  return Array.from(g.querySelectorAll('g.mark-rect.role-mark > path')).map(p => {
    const d = p.__data__.datum;
    return [d.converter, d.outcome_kind, d.series, p.getAttribute('fill')];
  });
}"""


def test_converter_panel_stacks_the_models_counts_in_fixed_colours(synthetic_db, tmp_path):
    """One stacked bar per converter: each segment is the model's series count for that outcome
    (all collections, then one picked in the drop-down), coloured by the outcome's fixed colour;
    the page still fits 1,400 px. A database without rpt_converter_outcome_counts (a partial
    build) leaves the panel out and renders the rest."""
    import duckdb
    import yaml

    from idc_qc.reports.dashboard import OUTCOME_PALETTE, render_dashboard
    from idc_qc.reports.report_sections import CONVERTER_OUTCOMES
    from support.data import REPO, writable_copy

    # the colour scale's domain is the model's own vocabulary (its accepted_values)
    spec = yaml.safe_load((REPO / "models/marts/converters/_converters__models.yml").read_text())
    kind = next(c for c in spec["models"][0]["columns"] if c["name"] == "outcome_kind")
    accepted = next(t["accepted_values"]["arguments"]["values"] for t in kind["data_tests"] if isinstance(t, dict))
    assert sorted(accepted) == sorted(CONVERTER_OUTCOMES)
    order = dict(query(synthetic_db, "select distinct outcome_kind, outcome_order from rpt_converter_outcome_counts"))
    assert sorted(order, key=order.get) == [o for o in CONVERTER_OUTCOMES if o in order]
    colour = {o: OUTCOME_PALETTE[i] for i, o in enumerate(CONVERTER_OUTCOMES)}

    result = render_dashboard(synthetic_db, tmp_path / "dashboard.html")
    assert "will my pipeline load it?" in result.charts
    expected = {(c, o): n for c, o, n in query(
        synthetic_db, "select converter, outcome_kind, count(*) from series_converters group by all")}
    collection, in_collection = query(synthetic_db, """
        select collection_id, count(distinct SeriesInstanceUID) from series_converters
        group by collection_id order by 2 desc, 1 limit 1""")[0]
    expected_one = {(c, o): n for c, o, n in query(synthetic_db, """
        select converter, outcome_kind, count(*) from series_converters where collection_id = ? group by all""",
        [collection])}
    with open_page(result.html, width=1400, height=1100) as view:
        page = view.page
        page.wait_for_selector("svg g.role-mark", timeout=20_000)
        bars = page.evaluate(_CONVERTER_BARS)
        assert bars, "no converter panel drawn"
        assert {(c, o): n for c, o, n, _ in bars} == expected
        assert all(fill == colour[o] for _, o, _, fill in bars), bars
        widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], widths
        page.select_option("select", collection)
        page.wait_for_timeout(600)
        bars_one = page.evaluate(_CONVERTER_BARS)
        assert {(c, o): n for c, o, n, _ in bars_one} == expected_one and 0 < in_collection
        assert all(fill == colour[o] for _, o, _, fill in bars_one), bars_one
        assert view.console_errors == []
        page.locator("text=Will my pipeline load it?").first.scroll_into_view_if_needed()
        view.screenshot(SCREENSHOT_DIR / "dashboard_converters.png")

    partial = writable_copy(synthetic_db, tmp_path / "partial")
    with duckdb.connect(str(partial)) as con:
        con.execute("drop table rpt_converter_outcome_counts")
    without = render_dashboard(partial, tmp_path / "partial.html")
    assert "will my pipeline load it?" not in without.charts
    assert set(without.charts) == set(result.charts) - {"will my pipeline load it?"}
