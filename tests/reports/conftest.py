"""Fixtures of tests/reports: a small synthetic build (idc-qc synth, then build), for the
pictures that must say they come from synthetic input."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_db(tmp_path_factory) -> Path:
    """300 real IDC series synthesized (seed 0) and built: input_kind synthetic."""
    from idc_qc.build import build
    from idc_qc.synth import synthesize

    root = tmp_path_factory.mktemp("synthetic_build")
    synth = synthesize(root / "synth", series_limit=300, seed=0)
    db = root / "idc_qc.duckdb"
    build(db, str(Path(synth.instances_glob).parent))
    return db
