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
