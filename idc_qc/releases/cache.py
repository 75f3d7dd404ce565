"""Any IDC release's series index, fetched once and kept in a checked local cache.

IDC publishes its series index of every data release as the PyPI package ``idc-index-data``:
one version per release, the major number being the IDC release (17.0.0 ... 25.0.5). Release
``N`` is the newest ``N.x.y`` version. :func:`release_index` returns the ``idc_index.parquet`` of
release ``N``; the files of the release sit beside it (``prior_versions_index.parquet`` from
v20 on, ``collections_index.parquet`` and friends later).

Where the files come from, in this order:

1. the cache, ``$IDC_QC_CACHE_DIR/releases/v<N>/`` (default ``~/.cache/idc-qc``), when its
   record ``release.json`` says which wheel it came from and every file still has the size
   and sha256 recorded there (a truncated or corrupted file is detected and fetched again);
2. the installed ``idc-index-data`` package, when it is release ``N`` (no download);
3. ``pip download --no-deps idc-index-data>=N,<N+1`` through pip's configured package index
   (the same access ``pip install`` has), or, offline, a wheel or an ``idc_index.parquet``
   the user names (``idc-qc release fetch 23 --wheel idc_index_data-23.10.1-py3-none-any.whl``).

A release whose wheel lacks a table, or carries an older shape of it, builds all the same:
:func:`index_vars` lists the absent columns and tables for dbt, and staging emits typed NULLs
or empty relations for them (docs/releases.md says which release lacks what).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..database.atomic import sha256_file, write_json
from ..errors import IdcQcError
from ..paths import CACHE_ENV, cache_dir

__all__ = ["CACHE_ENV", "sha256_file"]  # the one home of each is idc_qc.paths and idc_qc.database.atomic; tests and benchmarks read them here

PACKAGE = "idc-index-data"
INDEX_FILE = "idc_index.parquet"
RECORD_FILE = "release.json"
#: The first IDC release published as an idc-index-data version (17.0.0); older ones have no package.
FIRST_PACKAGED_RELEASE = 17

#: The tables staging reads, and the columns each must have to be read as it is today (v25).
#: A file that is absent, or lacks one of these columns (collections_index before v25 used
#: CamelCase names), is listed in ``idc_index_tables_absent`` and staged as an empty relation.
AUX_TABLES: dict[str, tuple[str, ...]] = {
    "prior_versions_index": ("SeriesInstanceUID", "collection_id", "Modality", "min_idc_version", "max_idc_version"),
    "version_metadata_index": ("idc_version", "version_timestamp"),
    "collections_index": ("collection_id", "collection_name", "cancer_types", "tumor_locations", "species",
                          "subjects", "program_id"),
}

#: idc_index columns staging reads through macros/idc_index_column.sql (absent -> typed NULL),
#: with the release that first shipped each (for the docs and the messages).
OPTIONAL_INDEX_COLUMNS: dict[str, str] = {
    "analysis_result_id": "v18",
    "SOPClassUID": "v21",
    "sop_class_name": "v21",
    "series_init_idc_version": "v24",
    "series_revised_idc_version": "v24",
}

#: idc_index columns every release has had since v17; a file without them is not an IDC index.
REQUIRED_INDEX_COLUMNS = ("SeriesInstanceUID", "StudyInstanceUID", "PatientID", "collection_id", "source_DOI",
                          "Modality", "BodyPartExamined", "Manufacturer", "ManufacturerModelName", "PatientAge",
                          "PatientSex", "SeriesDescription", "instanceCount", "license_short_name",
                          "series_size_MB", "series_aws_url")

NO_NETWORK_HINT = ("give a local copy instead: `idc-qc release fetch {release} --wheel "
                   "idc_index_data-{release}.x.y-py3-none-any.whl` (or `--parquet idc_index.parquet`), "
                   "downloaded where the package index is reachable with "
                   "`pip download --no-deps 'idc-index-data>={release},<{next}'`")


class ReleaseError(IdcQcError):
    """A release cannot be had: it does not exist, or the package index cannot be reached."""


class ReleaseNotFound(ReleaseError):
    pass


class PackageIndexUnreachable(ReleaseError):
    pass


@dataclass(frozen=True)
class ReleaseInfo:
    release: int
    version: str  # the newest idc-index-data version of that release


@dataclass
class CachedRelease:
    """A release's index files in the cache (or the installed package), checked."""

    release: int
    version: str
    folder: Path
    source: str  # "cache", "downloaded", "installed", "wheel", "parquet"
    wheel: Path | None = None
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {size, sha256}
    notices: list[str] = field(default_factory=list)  # e.g. "cached wheel was corrupt; fetched again"

    @property
    def index(self) -> Path:
        return self.folder / INDEX_FILE


# ---------------------------------------------------------------------------------------------
# where
# ---------------------------------------------------------------------------------------------

def cache_root(environ: dict[str, str] | None = None) -> Path:
    return cache_dir(environ) / "releases"


def release_folder(release: int) -> Path:
    return cache_root() / f"v{int(release)}"


def parse_release(text: str | int) -> int:
    """``"v23"``, ``"23"``, ``23`` -> 23; anything else is a one-line error."""
    if isinstance(text, int):
        text = str(text)
    match = re.fullmatch(r"\s*[vV]?(\d{1,3})\s*", str(text))
    if not match:
        raise IdcQcError(f"release {text!r} is not an IDC release number: expected e.g. v23 or 23")
    number = int(match.group(1))
    if number < 1:
        raise IdcQcError(f"release {text!r} is not an IDC release: IDC's releases are numbered from v1 "
                         f"(their indices from v{FIRST_PACKAGED_RELEASE}; `idc-qc release list` shows them)")
    return number


# ---------------------------------------------------------------------------------------------
# checksums and the cache record
# ---------------------------------------------------------------------------------------------

def file_entry(path: Path) -> dict[str, Any]:
    return {"size": path.stat().st_size, "sha256": sha256_file(path)}


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return None


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    write_json(folder / RECORD_FILE, record)


def verify_cached(release: int) -> tuple[CachedRelease | None, str | None]:
    """The cached release when every recorded file has its size and sha256, else (None, why)."""
    folder = release_folder(release)
    record = _read_record(folder)
    if record is None:
        return None, None if not folder.exists() else f"{folder} has no readable {RECORD_FILE}"
    files: dict[str, dict[str, Any]] = record.get("files", {})
    wheel = record.get("wheel")
    checks = dict(files)
    if wheel:
        checks[wheel["name"]] = wheel
    if INDEX_FILE not in files:
        return None, f"{folder / RECORD_FILE} lists no {INDEX_FILE}"
    for name, expected in checks.items():
        path = folder / name
        if not path.is_file():
            return None, f"cached {name} is missing"
        size = path.stat().st_size
        if size != expected["size"]:
            return None, f"cached {name} has {size:,} bytes, expected {expected['size']:,} (truncated or corrupt)"
        if sha256_file(path) != expected["sha256"]:
            return None, f"cached {name} does not match its sha256 (corrupt)"
    return CachedRelease(release=release, version=record["version"], folder=folder, source="cache",
                         wheel=folder / wheel["name"] if wheel else None, files=files), None


# ---------------------------------------------------------------------------------------------
# the package index, through pip
# ---------------------------------------------------------------------------------------------

_NETWORK_SIGNS = ("NewConnectionError", "ConnectionError", "Connection refused", "Max retries exceeded",
                  "Temporary failure in name resolution", "Name or service not known", "timed out",
                  "ProxyError", "SSLError", "Network is unreachable", "ReadTimeoutError", "Could not fetch URL")


def _pip(args: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", *args, "--retries", os.environ.get("IDC_QC_PIP_RETRIES", "1"),
               "--timeout", os.environ.get("IDC_QC_PIP_TIMEOUT", "20"), "--disable-pip-version-check"]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise PackageIndexUnreachable(f"pip did not answer within {timeout:.0f}s") from exc


def _versions_from_pip_output(text: str) -> list[str]:
    """Versions pip lists: ``(from versions: 17.0.0, ...)`` or ``Available versions: ...``."""
    match = re.search(r"from versions: ([^)]*)\)", text) or re.search(r"Available versions: (.*)", text)
    if not match or match.group(1).strip() in ("", "none"):
        return []
    return [v.strip() for v in match.group(1).split(",") if v.strip()]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.+-]", version))


def releases_from_versions(versions: list[str]) -> list[ReleaseInfo]:
    """Newest version per major number; ``0.x`` pre-releases of the package are not IDC releases."""
    newest: dict[int, str] = {}
    for version in versions:
        head = version.split(".")[0]
        if not head.isdigit() or int(head) < 1 or not re.fullmatch(r"\d+(\.\d+)*", version):
            continue
        major = int(head)
        if major not in newest or _version_key(version) > _version_key(newest[major]):
            newest[major] = version
    return [ReleaseInfo(r, v) for r, v in sorted(newest.items())]


def _unreachable(release: int | None, output: str) -> PackageIndexUnreachable:
    last = [line.strip() for line in output.strip().splitlines() if line.strip()]
    why = next((line for line in reversed(last) if any(s in line for s in _NETWORK_SIGNS)), last[-1] if last else "")
    shown = release if release is not None else "N"
    nxt = release + 1 if release is not None else "N+1"
    return PackageIndexUnreachable(
        f"the package index cannot be reached (pip: {why[:160]}); " + NO_NETWORK_HINT.format(release=shown, next=nxt))


def available_releases(offline: bool = False) -> list[ReleaseInfo]:
    """Every IDC release on the package index (newest idc-index-data version of each), oldest first.

    Raises PackageIndexUnreachable (saying how to give a local wheel) when pip cannot reach it.
    ``offline``: do not ask; the releases at hand (cached, and the installed idc-index-data).
    """
    if offline:
        known = {r.release: r for r in cached_releases()}
        try:
            import idc_index_data

            version = idc_index_data.__version__
            known.setdefault(int(version.split(".")[0]), ReleaseInfo(int(version.split(".")[0]), version))
        except (ImportError, ValueError):
            pass
        return [known[r] for r in sorted(known)]
    result = _pip(["index", "versions", PACKAGE])
    versions = _versions_from_pip_output(result.stdout + "\n" + result.stderr)
    if not versions:
        raise _unreachable(None, result.stderr or result.stdout)
    return releases_from_versions(versions)


def cached_releases() -> list[ReleaseInfo]:
    """Releases whose files are in the cache (not verified; :func:`release_index` verifies)."""
    root = cache_root()
    found = []
    for folder in sorted(root.glob("v*")) if root.is_dir() else []:
        record = _read_record(folder)
        if record and folder.name[1:].isdigit():
            found.append(ReleaseInfo(int(folder.name[1:]), record.get("version", "?")))
    return sorted(found, key=lambda r: r.release)


def _download_wheel(release: int, into: Path) -> Path:
    """``pip download`` the newest wheel of ``release`` into ``into``; typed errors otherwise."""
    spec = f"{PACKAGE}>={release},<{release + 1}"
    result = _pip(["download", "--no-deps", "--only-binary", ":all:", "--dest", str(into), spec])
    wheels = sorted(into.glob("idc_index_data-*.whl"))
    if result.returncode == 0 and wheels:
        return wheels[-1]
    output = result.stdout + "\n" + result.stderr
    versions = _versions_from_pip_output(output)
    if versions:
        known = releases_from_versions(versions)
        listed = ", ".join(f"v{r.release}" for r in known)
        raise ReleaseNotFound(f"IDC release v{release} is not on the package index ({PACKAGE} has no "
                              f"{release}.x version); available releases: {listed}")
    raise _unreachable(release, output)


# ---------------------------------------------------------------------------------------------
# filling the cache
# ---------------------------------------------------------------------------------------------

def _version_of_wheel(wheel: Path) -> str:
    match = re.match(r"idc_index_data-([^-]+)-", wheel.name)
    if not match:
        raise IdcQcError(f"{wheel} is not an idc-index-data wheel (expected idc_index_data-<version>-py3-none-any.whl)")
    return match.group(1)


def _wheel_record(archive: zipfile.ZipFile) -> dict[str, tuple[str, int]]:
    """The sha256 (hex) and size the wheel's own RECORD gives each file."""
    import base64

    names = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
    out: dict[str, tuple[str, int]] = {}
    if not names:
        return out
    for line in archive.read(names[0]).decode().splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            digest = base64.urlsafe_b64decode(parts[1][7:] + "==").hex()
            out[parts[0]] = (digest, int(parts[2]))
    return out


def _install_wheel(release: int, wheel: Path, source: str, keep_wheel: bool = True) -> CachedRelease:
    """Unpack the parquet files of ``wheel`` into the release folder, checked against its RECORD."""
    version = _version_of_wheel(wheel)
    if int(version.split(".")[0]) != release:
        raise IdcQcError(f"{wheel.name} is idc-index-data {version}, i.e. IDC release v{version.split('.')[0]}, "
                         f"not v{release}")
    folder = release_folder(release)
    staging = Path(tempfile.mkdtemp(prefix=f".v{release}.", dir=_ensure(folder.parent)))
    try:
        try:
            with zipfile.ZipFile(wheel) as archive:
                record = _wheel_record(archive)
                members = [n for n in archive.namelist() if n.startswith("idc_index_data/") and n.endswith(".parquet")]
                if f"idc_index_data/{INDEX_FILE}" not in members:
                    raise IdcQcError(f"{wheel.name} holds no idc_index_data/{INDEX_FILE}")
                files: dict[str, dict[str, Any]] = {}
                for member in members:
                    target = staging / Path(member).name
                    with archive.open(member) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    entry = file_entry(target)
                    expected = record.get(member)
                    if expected and (expected[0] != entry["sha256"] or expected[1] != entry["size"]):
                        raise IdcQcError(f"{wheel.name}: {member} does not match the wheel's RECORD (corrupt wheel)")
                    files[target.name] = entry
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise IdcQcError(f"{wheel} is not a readable wheel ({type(exc).__name__}: {exc}); "
                             "it is truncated or corrupt") from exc
        wheel_entry = None
        if keep_wheel:
            kept = staging / wheel.name
            shutil.copyfile(wheel, kept)
            wheel_entry = {"name": wheel.name, **file_entry(kept)}
        _write_record(staging, {"release": release, "version": version, "source": source,
                                "wheel": wheel_entry, "files": files})
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return CachedRelease(release=release, version=version, folder=folder, source=source,
                         wheel=folder / wheel.name if keep_wheel else None, files=files)


def _install_parquet(release: int, parquet: Path) -> CachedRelease:
    """Copy a user's ``idc_index.parquet`` (and the other index files beside it) into the cache."""
    parquet = Path(parquet)
    if not parquet.is_file():
        raise IdcQcError(f"--parquet {parquet}: no such file")
    check_index_file(parquet)
    folder = release_folder(release)
    staging = Path(tempfile.mkdtemp(prefix=f".v{release}.", dir=_ensure(folder.parent)))
    try:
        files = {}
        for name in [INDEX_FILE, *(f"{t}.parquet" for t in AUX_TABLES)]:
            src = parquet if name == INDEX_FILE else parquet.parent / name
            if src.is_file() and (name == INDEX_FILE or src.resolve() != parquet.resolve()):
                shutil.copyfile(src, staging / name)
                files[name] = file_entry(staging / name)
        _write_record(staging, {"release": release, "version": f"{release} (from {parquet})", "source": "parquet",
                                "wheel": None, "files": files})
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return CachedRelease(release=release, version=f"{release} (from {parquet})", folder=folder, source="parquet",
                         files=files)


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _installed(release: int) -> CachedRelease | None:
    try:
        import idc_index_data
    except ImportError:
        return None
    version = idc_index_data.__version__
    if int(version.split(".")[0]) != release:
        return None
    folder = Path(idc_index_data.IDC_INDEX_PARQUET_FILEPATH).parent
    if not (folder / INDEX_FILE).is_file():
        return None
    return CachedRelease(release=release, version=version, folder=folder, source="installed")


def fetch_release(release: int | str, *, wheel: Path | None = None, parquet: Path | None = None,
                  refresh: bool = False, use_installed: bool = True,
                  on_stage: Callable[[str], None] | None = None) -> CachedRelease:
    """Release ``release``'s index files, from the cache, the installed package, pip, or the user.

    ``wheel``/``parquet``: offline, a local ``idc_index_data-N.x.y-*.whl`` or ``idc_index.parquet``
    (replaces what the cache holds for that release). ``refresh``: download again even when the
    cache is sound. Raises ReleaseNotFound (listing the releases there are) or
    PackageIndexUnreachable (saying how to give a local wheel).
    """
    release = parse_release(release)
    say = on_stage or (lambda _text: None)
    if wheel is not None:
        wheel = Path(wheel)
        if not wheel.is_file():
            raise IdcQcError(f"--wheel {wheel}: no such file")
        say(f"unpacking {wheel.name}")
        return _install_wheel(release, wheel, source="wheel")
    if parquet is not None:
        say(f"copying {parquet}")
        return _install_parquet(release, parquet)
    notices: list[str] = []
    if not refresh:
        cached, problem = verify_cached(release)
        if cached is not None:
            return cached
        if problem:
            notices.append(f"{problem}; fetching v{release} again")
            say(notices[-1])
        if use_installed and problem is None:
            installed = _installed(release)
            if installed is not None:
                return installed
    if release < FIRST_PACKAGED_RELEASE:
        raise ReleaseNotFound(f"IDC release v{release} has no {PACKAGE} package (they start at v{FIRST_PACKAGED_RELEASE}): "
                         "give its index with --parquet, or pick a release `idc-qc release list` shows")
    say(f"downloading {PACKAGE} v{release}.x with pip")
    with tempfile.TemporaryDirectory(prefix="idc-qc-download-", dir=_ensure(cache_root())) as tmp:
        downloaded = _download_wheel(release, Path(tmp))
        say(f"unpacking {downloaded.name}")
        result = _install_wheel(release, downloaded, source="downloaded")
    result.notices = notices
    return result


def release_index(release: int | str) -> Path:
    """The ``idc_index.parquet`` of IDC release ``release`` (fetched and cached on first use).

    The release's other index files (``prior_versions_index.parquet``, ...) sit beside it.
    """
    return fetch_release(release).index


# ---------------------------------------------------------------------------------------------
# what dbt needs to read a release's files
# ---------------------------------------------------------------------------------------------

def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several kinds for a bad file
        raise IdcQcError(f"{path} is not a readable parquet file ({exc})") from exc


def check_index_file(path: Path) -> list[str]:
    """The columns of an idc_index parquet file; a one-line error when it is not one."""
    columns = _columns(path)
    missing = [c for c in REQUIRED_INDEX_COLUMNS if c not in columns]
    if missing:
        raise IdcQcError(f"{path} is not an IDC series index: column(s) {', '.join(missing)} missing "
                         f"(expected the columns of idc-index-data's idc_index; found {', '.join(columns[:8])}...)")
    return columns


@dataclass(frozen=True)
class IndexShape:
    """What a release's files lack compared with what staging reads."""

    columns_absent: tuple[str, ...]
    tables_absent: dict[str, str]  # table -> why (no file / older shape)


def index_shape(folder: Path) -> IndexShape:
    columns = check_index_file(Path(folder) / INDEX_FILE)
    absent_columns = tuple(c for c in OPTIONAL_INDEX_COLUMNS if c not in columns)
    absent_tables: dict[str, str] = {}
    for table, needed in AUX_TABLES.items():
        path = Path(folder) / f"{table}.parquet"
        if not path.is_file():
            absent_tables[table] = "not shipped in this release's wheel"
            continue
        have = _columns(path)
        lacking = [c for c in needed if c not in have]
        if lacking:
            absent_tables[table] = f"older shape (lacks {', '.join(lacking)})"
    return IndexShape(absent_columns, absent_tables)


def index_vars(folder: Path, release: int | None) -> dict[str, Any]:
    """dbt vars that point staging at ``folder`` and tell it what that release lacks."""
    shape = index_shape(folder)
    values: dict[str, Any] = {
        "idc_index_dir": str(Path(folder).resolve()),
        "idc_index_columns_absent": list(shape.columns_absent),
        "idc_index_tables_absent": sorted(shape.tables_absent),
    }
    if release is not None:
        values["idc_index_release"] = str(release)
        values["idc_release"] = str(release)  # the one release concept: BigQuery's idc_v<N> var agrees
    return values
