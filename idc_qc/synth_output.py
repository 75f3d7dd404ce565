"""The folder ``idc-qc synth --out`` writes: synth deletes only what its own manifest lists.

``synth_manifest.json`` names every file synth wrote (size and SHA-256) and the arguments;
before a run writes anything, :func:`claim_out_dir` decides whether the folder may be used
(empty, or an earlier synth run whose files are unchanged, with ``overwrite``) and which files
to remove; :func:`prepare_out_dir` removes them and writes a provisional manifest. The
generator itself is :mod:`idc_qc.synth`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .database.atomic import sha256_file
from .errors import IdcQcError
from .instances.files import SYNTH_MANIFEST


#: The file in ``out_dir`` that lists what synth wrote there (names, sizes, SHA-256, arguments).
MANIFEST = SYNTH_MANIFEST
_LEGACY_MANIFEST = "manifest.json"  # written by idc-qc before synth_manifest.json (no checksums)
GENERATOR = "idc_qc.synth"
#: The only names synth writes; a manifest entry naming anything else is ignored, so that an
#: edited manifest can never make ``overwrite`` delete another file.
_OWNABLE = re.compile(r"instances/part-\d{5,}\.parquet|truth\.parquet")


class SynthOutputError(IdcQcError, ValueError):
    """``out_dir`` holds files synth did not write, where it would write or delete."""


def read_manifest(out_dir: Path) -> dict[str, dict | None] | None:
    """Files synth wrote into ``out_dir`` (relative path -> {bytes, sha256} or None when
    unrecorded), from its manifest; None when there is no synth manifest."""
    path = out_dir / MANIFEST
    if path.is_file():
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or manifest.get("generator") != GENERATOR \
                or not isinstance(manifest.get("files"), dict):
            return None
        owned = {str(name): (entry if isinstance(entry, dict) else None) for name, entry in manifest["files"].items()
                 if _OWNABLE.fullmatch(str(name))}
        owned[MANIFEST] = None
        return owned
    legacy = out_dir / _LEGACY_MANIFEST
    if legacy.is_file():
        try:
            manifest = json.loads(legacy.read_text())
        except (OSError, ValueError):
            return None
        if isinstance(manifest, dict) and manifest.get("generator") == GENERATOR:
            owned = {f"instances/{name}": None for name in manifest.get("instance_parts", [])}
            owned["truth.parquet"] = None
            owned = {name: None for name in owned if _OWNABLE.fullmatch(name)}
            owned[_LEGACY_MANIFEST] = None
            return owned
    return None


def claim_out_dir(out_dir: Path, overwrite: bool) -> list[Path]:
    """Decide, before anything is read or written, whether synth may write into ``out_dir``.

    Returns the files of an earlier synth run to remove (``overwrite`` only).

    Raises
    ------
    SynthOutputError
        ``out_dir`` is not empty and ``overwrite`` is False; or, with ``overwrite``, a file
        synth did not write sits where synth writes (``instances/``, ``truth.parquet``,
        the manifest), or a file synth wrote was changed since.
    """
    shown = str(out_dir)
    if not out_dir.exists():
        return []
    if not out_dir.is_dir():
        raise SynthOutputError(f"synth --out {shown!r} is a file, not a folder; pass another folder")
    if not any(out_dir.iterdir()):
        return []
    owned = read_manifest(out_dir)
    if not overwrite:
        what = ("holds an earlier idc-qc synth run" if owned is not None
                else f"is not empty and was not written by idc-qc synth (no {MANIFEST})")
        raise SynthOutputError(f"synth --out {shown!r} {what}; pass --overwrite (removes only files "
                               "synth wrote) or another folder")
    owned = owned or {}
    # Where synth writes: its parts folder (read later as one folder, so any other file there
    # would be built with them), the truth and the manifest.
    targets = [p for p in (out_dir / "instances").rglob("*") if not p.is_dir()] \
        if (out_dir / "instances").is_dir() else []
    targets += [p for p in (out_dir / "truth.parquet", out_dir / MANIFEST) if p.exists() or p.is_symlink()]
    if (out_dir / "instances").exists() and not (out_dir / "instances").is_dir():
        targets.append(out_dir / "instances")
    for path in targets:
        rel = path.relative_to(out_dir).as_posix()
        if rel not in owned:
            raise SynthOutputError(
                f"synth --out {shown!r}: {rel} was not written by idc-qc synth (not in its {MANIFEST}); "
                "synth writes there, so move that file away or pass another folder")
    remove: list[Path] = []
    for rel, entry in owned.items():
        path = out_dir / rel
        if not path.is_file() or path.is_symlink():
            continue
        if entry and "sha256" in entry and (path.stat().st_size != entry.get("bytes")
                                            or sha256_file(path) != entry["sha256"]):
            raise SynthOutputError(
                f"synth --out {shown!r}: {rel} changed since idc-qc synth wrote it (size or SHA-256 differs "
                f"from {MANIFEST}); move it away or pass another folder")
        remove.append(path)
    return remove


def prepare_out_dir(out_dir: Path, remove: list[Path], manifest: dict) -> Path:
    """Remove the earlier run's files (as claimed), create ``out_dir/instances`` and write a
    provisional manifest listing the files about to be written (so an interrupted run's
    files are still synth's to replace)."""
    instances_dir = out_dir / "instances"
    try:
        for old in remove:
            old.unlink(missing_ok=True)
        instances_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    except OSError as exc:
        raise SynthOutputError(f"cannot write to out_dir {str(out_dir)!r}: {exc.strerror or exc}") from None
    return instances_dir
