"""Real IDC releases for tests: fetched once into a cache reused across test runs.

The cache is ``$IDC_QC_CACHE_DIR`` (default ``~/.cache/idc-qc``), the same one users have: the
first run downloads each wheel with pip (v17 32 MB, v20 80 MB, v23 74 MB; v25 is installed),
later runs reuse it after checking sizes and checksums. When the package index cannot be reached
and the release is not cached, the test is skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: An index URL that refuses connections at once: "no network", really, for pip.
UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"


def release_or_skip(release: int):
    """The CachedRelease of ``release`` (from the cache, the installed package or pip), or skip."""
    from idc_qc.releases.cache import PackageIndexUnreachable, fetch_release

    try:
        return fetch_release(release)
    except PackageIndexUnreachable as exc:
        pytest.skip(f"IDC release v{release} is not cached and the package index cannot be reached: {exc}")


def offline_pip_env(find_links: Path | None = None, **extra: str) -> dict[str, str]:
    """Environment in which pip cannot reach any package index (optionally: a local find-links folder)."""
    env = dict(os.environ)
    env.update({"PIP_INDEX_URL": UNREACHABLE_INDEX, "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": "",
                "PIP_CONFIG_FILE": os.devnull, "IDC_QC_PIP_RETRIES": "0", "IDC_QC_PIP_TIMEOUT": "3"})
    if find_links is not None:
        env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(find_links)})
    env.update(extra)
    return env


#: What the shared release runs build: the index-wide series and the clinical coverage.
RELEASE_RUN_SELECT = ["-s", "+series", "-s", "+rpt_clinical_coverage_summary"]


def two_small_tcga_collections():
    """The two tcga_* collections of IDC v25 with the fewest imaging patients (at least 4) that
    the TCGA file has rows for; their imaging patients (pandas over the index) and CSV rows."""
    import idc_index_data
    import pandas as pd

    from support.data import TCGA_CLINICAL, require_shared

    index = pd.read_parquet(idc_index_data.IDC_INDEX_PARQUET_FILEPATH, columns=["collection_id", "PatientID"])
    clin = pd.read_csv(require_shared(TCGA_CLINICAL), dtype=str, keep_default_na=False)
    clin["collection_id"] = "tcga_" + clin["acronym"].str.lower()
    imaging = index[index["collection_id"].str.startswith("tcga_")].groupby("collection_id")["PatientID"].agg(set)
    sizes = sorted((len(p), c) for c, p in imaging.items()
                   if len(p) >= 4 and c in set(clin["collection_id"]) and len(p & set(clin["bcr_patient_barcode"])) >= 2)
    chosen = [c for _n, c in sizes[:2]]
    return chosen, {c: imaging[c] for c in chosen}, clin[clin["collection_id"].isin(chosen)].reset_index(drop=True)


def release_qc_runs(work: Path) -> dict:
    """`idc-qc release run v20` (no clinical data) then `release run v25` (the TCGA clinical rows of
    two small tcga_* collections registered beside its database, one imaging patient's row left
    out, another patient's row twice; without ../shared/data, none), in ``work`` as a scheduler
    runs them: the session fixture
    ``release_runs`` (tests/conftest.py), read by test_releases.py and test_release_qc_integration.py."""
    import pandas as pd

    from idc_qc.clinical import register
    from support.cli import run_cli

    from support.data import TCGA_CLINICAL

    release_or_skip(20)
    release_or_skip(25)
    root = work / "build" / "releases"
    if not TCGA_CLINICAL.exists():  # no shared data: the releases alone (the clinical tests skip)
        out = {r: run_cli("release", "run", f"v{r}", *RELEASE_RUN_SELECT, cwd=work) for r in (20, 25)}
        return {"work": work, "root": root, "runs": out, "clinical_registered": False}
    chosen, imaging, rows = two_small_tcga_collections()
    a, b = chosen
    # collection a: the first imaging patient with a clinical row loses it; collection b: a row twice
    dropped = sorted(set(rows.loc[rows["collection_id"] == a, "bcr_patient_barcode"]) & imaging[a])[0]
    doubled = sorted(set(rows.loc[rows["collection_id"] == b, "bcr_patient_barcode"]) & imaging[b])[0]
    rows = rows[rows["bcr_patient_barcode"] != dropped]
    rows = pd.concat([rows, rows[rows["bcr_patient_barcode"] == doubled]], ignore_index=True)
    csv = work / "tcga_two_collections.csv"
    rows.drop(columns=["collection_id"]).to_csv(csv, index=False)
    register(csv, root / "v25" / "idc_qc.clinical", patient_id_column="bcr_patient_barcode", collection_column="acronym",
             collection_prefix="tcga_")
    out = {r: run_cli("release", "run", f"v{r}", *RELEASE_RUN_SELECT, cwd=work) for r in (20, 25)}
    clinical = {c: set(rows.loc[rows["collection_id"] == c, "bcr_patient_barcode"]) for c in chosen}
    return {"work": work, "root": root, "runs": out, "clinical_registered": True, "chosen": chosen, "imaging": imaging,
            "clinical": clinical, "dropped": (a, dropped), "doubled": (b, doubled)}
