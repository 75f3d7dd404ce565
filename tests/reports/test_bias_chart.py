"""The bias chart: a self-contained HTML page that renders offline in chromium with no console
errors, and a PNG that reads back, drawn from a real TCGA build."""

from __future__ import annotations

import pytest

from support import clinical as tc
from support.browser import SCREENSHOT_DIR, open_page

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from idc_qc.bias import Selection, compute_bias

    db = tc.tcga_clinical_db(tmp_path_factory.mktemp("tcga_clinical"))
    return compute_bias(db, Selection(where="collection_id like 'tcga_%' and Modality in ('CT','MR','PT')"),
                        reference="census")


def test_html_renders_offline_and_png_reads_back(result, tmp_path):
    from PIL import Image

    from idc_qc.bias.charts import save_chart

    html, png = save_chart(result, tmp_path)
    text = html.read_text()
    assert "cdn.jsdelivr" not in text and "vega-embed" in text  # the scripts are inside the page
    with open_page(html, width=1600, height=1200) as view:
        view.page.wait_for_selector("svg, canvas")
        assert view.console_errors == []
        assert view.failed_requests == []
        view.screenshot(SCREENSHOT_DIR / "bias_chart.png", full_page=True)
        marks = view.page.evaluate("document.querySelectorAll('svg path, svg rect, canvas').length")
        assert marks > 0
    with Image.open(png) as image:
        width, height = image.size
    assert width > 800 and height > 800
    # every collection of the selection has a row in the distances drawn
    assert set(result.distances["group_value"]) == set(result.distributions["group_value"])
    assert len(set(result.distances["group_value"])) >= 15
