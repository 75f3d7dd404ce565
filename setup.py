"""Ships the dbt project inside the wheel, at ``idc_qc/_project``.

The dbt project stays at the repository root (dbt users run ``dbt build`` there), so it is
not inside the ``idc_qc`` package. An installed idc-qc still needs it: this build step copies
it into the built package. ``idc_qc.paths.PROJECT_DIR`` finds the repository root in a
checkout or an editable install and this copy everywhere else. The sdist carries the same
files through MANIFEST.in; tests/unit/test_packaging.py checks both lists against the
paths dbt_project.yml declares.

Everything else about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

#: Files and folders of the dbt project, relative to the repository root (an absent folder is skipped).
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "macros", "seeds", "analyses", "expectations")
#: Where the copy goes inside the built package.
PACKAGED_PROJECT = Path("idc_qc") / "_project"

_JUNK = shutil.ignore_patterns("__pycache__", "*.py[cod]", ".DS_Store", "*.swp", "*~")


class build_py_with_dbt_project(build_py):
    """``build_py`` plus a fresh copy of the dbt project in ``<build_lib>/idc_qc/_project``."""

    def run(self) -> None:
        if getattr(self, "editable_mode", False):
            super().run()
            return  # an editable install reads the project in place (idc_qc/paths.py)
        # `pip install .` builds in ./build and reuses it: a module or model deleted since the
        # last build must not live on in the next wheel, so the package is built afresh.
        shutil.rmtree(Path(self.build_lib) / "idc_qc", ignore_errors=True)
        super().run()
        target = Path(self.build_lib) / PACKAGED_PROJECT
        target.mkdir(parents=True)
        for name in PROJECT_FILES:
            shutil.copy2(ROOT / name, target / name)
        for name in PROJECT_FOLDERS:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, target / name, ignore=_JUNK)


setup(cmdclass={"build_py": build_py_with_dbt_project})
