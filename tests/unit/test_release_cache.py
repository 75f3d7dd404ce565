"""The release cache over real idc-index-data wheels: reuse, corruption, absent releases, no network."""

from __future__ import annotations

import shutil

import pytest

from support.releases import offline_pip_env, release_or_skip
from idc_qc.releases import cache


def _cache_copy(monkeypatch, tmp_path, release: int):
    """A private cache holding a copy of ``release``'s real cached files (so faults touch only it)."""
    source = release_or_skip(release)
    if source.source == "installed":
        pytest.skip(f"v{release} comes from the installed package here; the cache test needs a cached wheel")
    root = tmp_path / "cache"
    shutil.copytree(source.folder, root / "releases" / f"v{release}")
    monkeypatch.setenv(cache.CACHE_ENV, str(root))
    return source


def test_parse_release_accepts_v_and_numbers_only():
    assert cache.parse_release("v23") == 23 == cache.parse_release("23") == cache.parse_release(23)
    with pytest.raises(cache.IdcQcError, match="not an IDC release number"):
        cache.parse_release("latest")


def test_releases_are_the_newest_version_of_each_major():
    versions = ["0.1.0", "20.0.0", "20.0.3", "20.0.10", "23.2.9", "23.10.1", "25.0.5"]
    assert cache.releases_from_versions(versions) == [
        cache.ReleaseInfo(20, "20.0.10"), cache.ReleaseInfo(23, "23.10.1"), cache.ReleaseInfo(25, "25.0.5")]


def test_a_sound_cache_is_reused_and_older_shapes_are_described(monkeypatch, tmp_path):
    source = _cache_copy(monkeypatch, tmp_path, 17)
    again = cache.fetch_release(17, use_installed=False)
    assert again.source == "cache" and again.version == source.version and again.version.startswith("17.")
    shape = cache.index_shape(again.folder)
    # v17 predates these columns and tables: staging makes them NULL / empty (docs/releases.md)
    assert {"analysis_result_id", "SOPClassUID", "series_init_idc_version"} <= set(shape.columns_absent)
    assert set(shape.tables_absent) == {"prior_versions_index", "version_metadata_index", "collections_index"}
    vars = cache.index_vars(again.folder, 17)
    assert vars["idc_index_release"] == "17" and vars["idc_index_columns_absent"] == list(shape.columns_absent)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_corrupt_cached_wheel_is_detected_and_fetched_again(monkeypatch, tmp_path, damage):
    source = _cache_copy(monkeypatch, tmp_path, 17)
    folder = cache.release_folder(17)
    wheel = next(folder.glob("*.whl"))
    good = cache.sha256_file(wheel)
    if damage == "truncate":
        with open(wheel, "r+b") as handle:
            handle.truncate(wheel.stat().st_size // 2)
    else:
        with open(wheel, "r+b") as handle:
            handle.seek(1000)
            byte = handle.read(1)
            handle.seek(1000)
            handle.write(bytes([byte[0] ^ 0xFF]))
    cached, problem = cache.verify_cached(17)
    assert cached is None and ("truncated" in problem if damage == "truncate" else "sha256" in problem)
    # Fetched again by real pip, offline: the only place it may look is a folder holding the good wheel.
    links = tmp_path / "links"
    links.mkdir()
    shutil.copy(source.wheel, links / source.wheel.name)
    for key, value in offline_pip_env(find_links=links).items():
        monkeypatch.setenv(key, value)
    stages: list[str] = []
    fresh = cache.fetch_release(17, on_stage=stages.append)
    assert fresh.source == "downloaded" and cache.sha256_file(fresh.wheel) == good
    assert any("fetching v17 again" in s for s in stages) and fresh.notices
    assert cache.verify_cached(17)[0] is not None


def test_a_truncated_cached_parquet_is_detected(monkeypatch, tmp_path):
    _cache_copy(monkeypatch, tmp_path, 17)
    index = cache.release_folder(17) / cache.INDEX_FILE
    with open(index, "r+b") as handle:
        handle.truncate(1000)
    cached, problem = cache.verify_cached(17)
    assert cached is None and "idc_index.parquet" in problem


def test_a_release_that_does_not_exist_lists_the_ones_that_do(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    try:
        cache.fetch_release(99)
    except cache.PackageIndexUnreachable as exc:
        pytest.skip(f"the package index cannot be reached: {exc}")
    except cache.ReleaseNotFound as exc:
        message = str(exc)
    else:
        pytest.fail("release 99 was found")
    assert "v99 is not on the package index" in message
    listed = message.split("available releases: ")[1].split(", ")
    assert {"v17", "v20", "v23", "v25"} <= set(listed)
    assert not (tmp_path / "cache" / "releases" / "v99").exists()


def test_no_network_says_how_to_give_a_local_wheel(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    for key, value in offline_pip_env().items():
        monkeypatch.setenv(key, value)
    with pytest.raises(cache.PackageIndexUnreachable) as caught:
        cache.fetch_release(22)
    message = str(caught.value)
    assert "cannot be reached" in message and "--wheel" in message and "idc-index-data>=22,<23" in message
    with pytest.raises(cache.PackageIndexUnreachable):
        cache.available_releases()


def test_a_local_wheel_of_another_release_is_refused(monkeypatch, tmp_path):
    source = _cache_copy(monkeypatch, tmp_path, 17)
    with pytest.raises(cache.IdcQcError, match="not v20"):
        cache.fetch_release(20, wheel=source.wheel)


def test_a_parquet_that_is_not_an_index_is_refused(monkeypatch, tmp_path):
    import duckdb

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    bogus = tmp_path / "idc_index.parquet"
    duckdb.connect().execute(f"copy (select 1 as SeriesInstanceUID) to '{bogus}' (format parquet)")
    with pytest.raises(cache.IdcQcError, match="not an IDC series index: column"):
        cache.fetch_release(30, parquet=bogus)


@pytest.mark.parametrize("command", [["release", "fetch"], ["release", "run"], ["release", "list"], ["diff"]])
def test_release_commands_teach_with_an_example(command):
    from typer.testing import CliRunner

    from idc_qc.cli.app import app

    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: idc-qc " + " ".join(command) in " ".join(result.output.split())
