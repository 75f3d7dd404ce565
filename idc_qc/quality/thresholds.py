"""Release-level thresholds: one YAML file of defaults, overridden by a file and by ``--set``.

The defaults live in ``expectations/thresholds.yml`` (never in code); the GX suites name them
as ``{"$PARAMETER": "<name>"}`` (and ``${name}`` inside a row condition). Every value is a
number; an override naming an unknown threshold or giving a non-number is refused in one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IdcQcError
from .suites import expectations_dir

THRESHOLDS_FILE = "thresholds.yml"


@dataclass
class Thresholds:
    """The thresholds of one run and where each value came from."""

    values: dict[str, float]
    sources: dict[str, str] = field(default_factory=dict)

    def as_manifest(self) -> dict:
        return {"values": dict(self.values), "sources": dict(self.sources)}


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise IdcQcError(f"cannot read thresholds file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise IdcQcError(f"thresholds file {path} is not YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise IdcQcError(f"thresholds file {path}: expected a mapping of name: number, found {type(data).__name__}")
    return data


def _number(name: str, value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise IdcQcError(f"threshold {name} ({where}): expected a number, found {value!r}") from None
        else:
            raise IdcQcError(f"threshold {name} ({where}): expected a number, found {value!r}")
    if not math.isfinite(float(value)) or float(value) < 0:
        raise IdcQcError(f"threshold {name} ({where}): expected a finite number >= 0, found {value!r}")
    return float(value)


def load_thresholds(file: Path | None = None, overrides: dict[str, object] | None = None,
                    *, defaults_file: Path | None = None) -> Thresholds:
    """Defaults from ``expectations/thresholds.yml``, then ``file``, then ``overrides``."""
    defaults_path = defaults_file or expectations_dir() / THRESHOLDS_FILE
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for name, value in _read_yaml(defaults_path).items():
        values[str(name)] = _number(str(name), value, str(defaults_path))
        sources[str(name)] = str(defaults_path)
    layers: list[tuple[str, dict]] = []
    if file is not None:
        layers.append((str(file), _read_yaml(Path(file))))
    if overrides:
        layers.append(("--set", overrides))
    for where, layer in layers:
        for name, value in layer.items():
            if name not in values:
                raise IdcQcError(f"unknown threshold {name!r} ({where}); known: {', '.join(sorted(values))}")
            values[name] = _number(name, value, where)
            sources[name] = where
    for name in values:   # a share (the name says so) is a fraction
        if name.endswith("_share") and values[name] > 1:
            raise IdcQcError(f"threshold {name} ({sources[name]}): a share is at most 1, found {values[name]:g}")
    return Thresholds(values=values, sources=sources)


def parse_set_options(items: list[str] | None) -> dict[str, str]:
    """``["NAME=0.01"]`` -> ``{"NAME": "0.01"}``."""
    parsed: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise IdcQcError(f"--set {item!r}: write it as NAME=VALUE, NAME a threshold of expectations/thresholds.yml")
        parsed[name.strip()] = value.strip()
    return parsed
