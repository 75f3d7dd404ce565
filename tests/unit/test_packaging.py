"""The wheel and the sdist carry the dbt project; an installed idc-qc finds it.

The dbt project lives at the repository root (dbt users run dbt there); setup.py copies it
into the wheel at idc_qc/_project and MANIFEST.in puts it in the sdist. These tests build both
(the wheel from the sdist, as a release does) and compare their file lists with the checkout,
so a folder added to dbt_project.yml but not shipped, or a stale file from an old build,
fails here rather than on a user's machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.packaging import REPO, Distributions, build_distributions

#: dbt_project.yml keys naming folders dbt reads (target-path and clean-targets are outputs).
DBT_SOURCE_PATH_KEYS = ("model-paths", "macro-paths", "seed-paths", "analysis-paths", "test-paths",
                        "snapshot-paths", "docs-paths", "asset-paths", "function-paths")
#: Not read by dbt, but by idc-qc: Great Expectations suites.
IDC_QC_FOLDERS = ("expectations",)
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")


def _project_folders() -> list[str]:
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    folders = [path for key in DBT_SOURCE_PATH_KEYS for path in project.get(key, [])]
    return sorted(set(folders) | set(IDC_QC_FOLDERS))


def _files_under(folder: Path) -> set[str]:
    return {
        p.relative_to(REPO).as_posix() for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def _project_files() -> set[str]:
    files = set(PROJECT_FILES)
    for folder in _project_folders():
        files |= _files_under(REPO / folder)
    return files


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> Distributions:
    return build_distributions(tmp_path_factory.mktemp("dist"))


def test_the_project_folders_exist_and_are_not_empty():
    # analyses/ and expectations/ hold a README until they hold more, so that they are packaged.
    for folder in ("models", "macros", "seeds", "analyses", "expectations"):
        assert folder in _project_folders()
        assert _files_under(REPO / folder), f"{folder}/ is empty"


def test_the_wheel_carries_exactly_the_dbt_project(dists):
    names = dists.wheel_names()
    packaged = {n.removeprefix("idc_qc/_project/") for n in names if n.startswith("idc_qc/_project/")}
    expected = _project_files()
    assert expected - packaged == set(), "missing from the wheel's idc_qc/_project"
    assert packaged - expected == set(), "in the wheel's idc_qc/_project but not in the checkout"
    # The project is at the root of the repository only: nothing of it leaks to the wheel's top level.
    assert not [n for n in names if n.split("/")[0] in {"models", "macros", "seeds", "analyses", "expectations", "dbt_project.yml"}]


def test_the_wheel_carries_exactly_the_package_modules(dists):
    # A module deleted from idc_qc/ must not survive in the wheel through a reused build/ folder.
    in_wheel = {n for n in dists.wheel_names() if n.startswith("idc_qc/") and not n.startswith("idc_qc/_project/")}
    in_checkout = _files_under(REPO / "idc_qc")
    assert in_wheel == in_checkout


def test_the_sdist_carries_the_project_and_what_builds_it(dists):
    root = dists.sdist.name.removesuffix(".tar.gz") + "/"
    names = {n.removeprefix(root) for n in dists.sdist_names()}
    needed = _project_files() | {"setup.py", "pyproject.toml", "MANIFEST.in", "README.md"} | _files_under(REPO / "idc_qc")
    assert needed - names == set()
    assert not [n for n in names if n.startswith("idc_qc/_project/") or "__pycache__" in n or n.endswith(".duckdb")]


def test_the_licence_is_an_spdx_expression_and_the_build_does_not_warn_about_it(dists):
    assert "License-Expression: Apache-2.0" in dists.wheel_metadata()
    assert "project.license` as a TOML table is deprecated" not in dists.log
    assert "License classifiers are deprecated" not in dists.log


def test_the_wheel_declares_the_console_script(dists):
    import zipfile

    with zipfile.ZipFile(dists.wheel) as whl:
        entry_points = whl.read(next(n for n in whl.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "idc-qc = idc_qc.cli:main" in entry_points


def test_project_dir_is_the_checkout_here_the_packaged_copy_elsewhere_and_the_env_var_wins(tmp_path, monkeypatch):
    import idc_qc.paths as paths

    # This test session runs from a checkout (editable install): dbt reads the repository root.
    assert paths.PROJECT_DIR == REPO
    assert paths.find_project_dir({}) == REPO
    assert paths.find_project_dir({"IDC_QC_PROJECT_DIR": str(tmp_path)}) == tmp_path.resolve()
    # Installed from a wheel (no pyproject.toml beside the package), the copy inside the package.
    monkeypatch.setattr(paths, "_PACKAGE_DIR", tmp_path / "site-packages" / "idc_qc")
    monkeypatch.setattr(paths, "PACKAGED_PROJECT_DIR", tmp_path / "site-packages" / "idc_qc" / "_project")
    assert paths.find_project_dir({}) == tmp_path / "site-packages" / "idc_qc" / "_project"


def test_a_folder_without_a_dbt_project_is_one_clear_error(tmp_path, monkeypatch):
    import idc_qc.paths as paths
    from idc_qc.errors import IdcQcError

    monkeypatch.setattr(paths, "PROJECT_DIR", tmp_path)
    with pytest.raises(IdcQcError, match=rf"no dbt project at {tmp_path} \(dbt_project.yml missing\): set IDC_QC_PROJECT_DIR"):
        paths.require_project_dir()


def test_a_reused_build_folder_does_not_resurrect_deleted_files(tmp_path):
    # `pip install .` builds in the checkout's ./build and reuses it between builds.
    import shutil
    import zipfile

    from support.packaging import _hook, _ignore

    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=_ignore)
    first, _ = _hook(source, "build_wheel", tmp_path / "first")
    (source / "idc_qc" / "export.py").unlink()
    doomed_model = next((source / "models").rglob("*.sql"))
    doomed_model.unlink()
    second, _ = _hook(source, "build_wheel", tmp_path / "second")
    assert (source / "build" / "lib").is_dir()  # the build folder was indeed reused
    with zipfile.ZipFile(first) as whl:
        assert "idc_qc/export.py" in whl.namelist()
    with zipfile.ZipFile(second) as whl:
        names = whl.namelist()
    assert "idc_qc/export.py" not in names
    assert "idc_qc/_project/" + doomed_model.relative_to(source).as_posix() not in names
