"""When a suite is skipped rather than run (docs/quality.md): its meta keys are checked on load,
and the shipped suites declare them where a build can lack what they judge."""

import json

import pytest

from idc_qc.errors import IdcQcError
from idc_qc.quality.suites import load_suites
from idc_qc.quality.thresholds import load_thresholds


def _suite(folder, **meta):
    data = {"name": "s", "expectations": [], "meta": {"idc_qc": {"table": "series", **meta}}}
    (folder / "s.json").write_text(json.dumps(data))


@pytest.mark.parametrize("meta, message", [
    ({"requires_instances": "yes"}, "requires_instances must be true or false"),
    ({"skip_when_empty": ""}, "skip_when_empty must be a note"),
    ({"skip_when_empty": 3}, "skip_when_empty must be a note"),
])
def test_malformed_skip_keys_are_refused_in_one_line(tmp_path, meta, message):
    _suite(tmp_path, **meta)
    with pytest.raises(IdcQcError, match=message):
        load_suites(tmp_path)


def test_shipped_suites_say_what_they_need():
    suites = {s.name: s for s in load_suites()}
    needs_instances = {n for n, s in suites.items() if s.requires_instances}
    # every suite over a geometry or rule-count table needs instance rows; series and clinical do not
    assert needs_instances == {n for n, s in suites.items()
                               if s.table.startswith(("rpt_geometry_", "rpt_qc_", "series_geometry"))}
    assert "series" not in needs_instances
    clinical = suites["rpt_clinical_coverage_summary"]
    assert clinical.skip_when_empty and not clinical.requires_instances
    assert clinical.where == "collection_id <> '(all)'"
    # its thresholds are in thresholds.yml (a suite naming an unknown one would error)
    named = {e["kwargs"]["max_value"]["$PARAMETER"] for e in clinical.expectations}
    assert named <= set(load_thresholds().values)
    assert len(named) == 3
