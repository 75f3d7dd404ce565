"""Build idc-qc's sdist and wheel the way a release does, and install the wheel into its own venv.

``build_distributions`` copies the source tree (so no build/ or egg-info lands in the checkout),
builds the sdist with setuptools' PEP 517 hooks, then builds the wheel *from the unpacked sdist*,
as ``python -m build`` does: a file the sdist forgets is then missing from the wheel too.
No build isolation: the hooks run in the test interpreter, whose setuptools the ``test`` extra
pins, so nothing is downloaded.

``installed_venv`` installs a wheel into ``.venv-wheel-test/`` (gitignored), a venv that sees
nothing of the checkout. Its dependencies are installed once and kept while the wheel's
Requires-Dist and the Python version stay the same (a stamp file says which); every call then
replaces idc-qc itself with the given wheel. ``./dev setup`` primes it:
``PYTHONPATH=tests .venv/bin/python -m support.packaging``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_DIR = Path(os.environ.get("IDC_QC_WHEEL_TEST_VENV", REPO / ".venv-wheel-test"))

#: Top-level entries of a checkout that are never source (venvs, outputs, caches).
_NOT_SOURCE_TOP = {"build", "dist", "out", "target", "logs", "dbt_packages"}
_NOT_SOURCE_ANY = {"__pycache__", ".pytest_cache", ".hypothesis", ".DS_Store"}


@dataclass(frozen=True)
class Distributions:
    sdist: Path
    wheel: Path
    log: str  # what the build printed (setuptools warnings land here)
    seconds: float

    def sdist_names(self) -> set[str]:
        with tarfile.open(self.sdist) as tar:
            return {m.name for m in tar.getmembers() if m.isfile()}

    def wheel_names(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as whl:
            return {n for n in whl.namelist() if not n.endswith("/")}

    def wheel_metadata(self) -> str:
        with zipfile.ZipFile(self.wheel) as whl:
            name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
            return whl.read(name).decode()


def _ignore(folder: str, names: list[str]) -> set[str]:
    top = Path(folder).resolve() == REPO
    return {
        n for n in names
        if n in _NOT_SOURCE_ANY or n.endswith((".pyc", ".duckdb", ".duckdb.wal", ".egg-info"))
        or (top and (n.startswith(".") or n in _NOT_SOURCE_TOP))
    }


def _hook(source: Path, hook: str, out: Path) -> tuple[Path, str]:
    code = (
        "import sys, setuptools.build_meta as backend\n"
        f"print('BUILT=' + backend.{hook}(sys.argv[1]))\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(out)], cwd=source, capture_output=True, text=True, timeout=600)
    log = run.stdout + run.stderr
    if run.returncode != 0:
        raise RuntimeError(f"{hook} failed in {source}:\n{log[-4000:]}")
    built = next(line.split("=", 1)[1] for line in run.stdout.splitlines() if line.startswith("BUILT="))
    return out / built, log


def build_distributions(out: Path) -> Distributions:
    """The sdist of the checkout, and the wheel built from that sdist, into ``out``."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="idc-qc-src-") as scratch:
        source = Path(scratch) / "src"
        shutil.copytree(REPO, source, ignore=_ignore)
        sdist, sdist_log = _hook(source, "build_sdist", out)
        with tarfile.open(sdist) as tar:
            tar.extractall(scratch, filter="data")
        unpacked = Path(scratch) / sdist.name.removesuffix(".tar.gz")
        wheel, wheel_log = _hook(unpacked, "build_wheel", out)
    return Distributions(sdist=sdist, wheel=wheel, log=sdist_log + wheel_log, seconds=time.perf_counter() - started)


# --- the wheel installed into a venv of its own -------------------------------------------


@dataclass(frozen=True)
class InstalledVenv:
    root: Path
    python: Path
    script: Path  # the idc-qc console script
    package_dir: Path  # site-packages/idc_qc
    fresh: bool  # dependencies were (re)installed by this call
    seconds: float


def _dependency_stamp(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as whl:
        meta = whl.read(next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = sorted(line for line in meta.splitlines() if line.startswith(("Requires-Dist:", "Requires-Python:")))
    return hashlib.sha256(json.dumps([sys.version, requires]).encode()).hexdigest()[:16]


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip(python: Path, *args: str) -> None:
    run = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                         capture_output=True, text=True, timeout=1800, env=clean_env())
    if run.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{(run.stdout + run.stderr)[-4000:]}")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of the checkout's venv, paths or idc-qc settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IDC_QC_", "PYTHON", "VIRTUAL_ENV", "PYTEST", "DO_NOT_TRACK"))}
    env.update(extra)
    return env


def installed_venv(wheel: Path, venv: Path = VENV_DIR) -> InstalledVenv:
    """``venv`` with exactly ``wheel`` installed as idc-qc (dependencies reused while unchanged)."""
    started = time.perf_counter()
    python = venv / "bin" / "python"
    stamp_file = venv / ".deps-stamp"
    stamp = _dependency_stamp(wheel)
    with _locked(venv.parent / f"{venv.name}.lock"):
        fresh = not python.exists() or (stamp_file.read_text() if stamp_file.exists() else "") != stamp
        if fresh:
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean_env())
            # The wheel and every dependency it declares, resolved by pip as a user's install is.
            # With $IDC_QC_UV (./dev set-up) uv puts the dependencies in first, in seconds; pip's
            # own install of the wheel then resolves against them and adds what they lack.
            uv = os.environ.get("IDC_QC_UV")
            if uv:
                subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), str(wheel)],
                               capture_output=True, text=True, timeout=1800, env=clean_env())
            _pip(python, "install", "--quiet", str(wheel))
            stamp_file.write_text(stamp)
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True, env=clean_env()).stdout.strip()
        package_dir = Path(site) / "idc_qc"
        if not fresh:
            # Whatever an earlier (failed) run left inside the package goes too, not only pip's RECORD.
            shutil.rmtree(package_dir, ignore_errors=True)
            _pip(python, "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel))
        _pip(python, "check")
    return InstalledVenv(root=venv, python=python, script=venv / "bin" / "idc-qc", package_dir=package_dir,
                         fresh=fresh, seconds=time.perf_counter() - started)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder``: relative path -> (size, mtime in ns); folders as (-1, mtime)."""
    entries: dict[str, tuple[int, int]] = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        entries[path.relative_to(folder).as_posix()] = (-1 if path.is_dir() else stat.st_size, stat.st_mtime_ns)
    return entries


if __name__ == "__main__":  # ./dev setup: build the wheel and prepare the venv the installed-wheel test uses
    with tempfile.TemporaryDirectory(prefix="idc-qc-dist-") as dist:
        built = build_distributions(Path(dist))
        venv = installed_venv(built.wheel)
    print(f"==> {venv.root}: idc-qc wheel installed ({'with its dependencies, ' if venv.fresh else ''}"
          f"{built.seconds + venv.seconds:.0f}s)")
