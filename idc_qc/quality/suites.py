"""The GX project under ``expectations/``: suites (the source), validation definitions, checkpoint.

``expectations/gx/`` is a Great Expectations 1.x file project:

* ``expectations/<suite>.json``: one suite per table, each with ``meta.idc_qc``:
  ``table`` (the built table it validates), ``where`` (an optional SQL filter pushed into the
  query that loads it) and ``key_columns`` (what identifies a failing row: a series, a check);
  optionally ``requires_instances`` (true: the suite checks what only instance metadata gives,
  so on an index-only build it is *skipped* with a note, not passed over empty tables) and
  ``skip_when_empty`` (a note: when the filtered table has no rows, or was not built, the
  suite is *skipped* with that note, e.g. the clinical suite of a build with no clinical data registered);
* ``validation_definitions/<suite>.json``: the suite on the pandas data source ``idc_qc``,
  asset ``<suite>``, the whole DataFrame as batch;
* ``checkpoints/idc_qc.json``: every validation definition;
* ``great_expectations.yml``: the data source and its assets.

The suites are the source: ``python -m idc_qc.quality.suites`` (re)writes the rest from them,
and ``idc-qc check`` adds what is missing at run time (in a temporary copy), so a suite for a
new mart is one JSON file and nothing else.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IdcQcError

DATASOURCE = "idc_qc"
CHECKPOINT = "idc_qc"
BATCH_DEFINITION = "whole table"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def expectations_dir() -> Path:
    """``expectations/`` of the dbt project in use (checkout, $IDC_QC_PROJECT_DIR or the wheel's copy)."""
    from ..paths import find_project_dir

    return find_project_dir() / "expectations"


def gx_dir() -> Path:
    return expectations_dir() / "gx"


@dataclass
class Suite:
    """One suite file and what it validates."""

    name: str
    path: Path
    table: str
    where: str | None
    key_columns: list[str]
    description: str
    data: dict = field(repr=False, default_factory=dict)
    requires_instances: bool = False
    skip_when_empty: str | None = None

    @property
    def expectations(self) -> list[dict]:
        return self.data.get("expectations", [])

    def columns(self) -> list[str]:
        """Every column the suite's expectations and keys name (what is loaded, nothing else)."""
        wanted: list[str] = []
        for exp in self.expectations:
            kwargs = exp.get("kwargs", {})
            for key in ("column", "column_A", "column_B"):
                if isinstance(kwargs.get(key), str):
                    wanted.append(kwargs[key])
            wanted += [c for c in kwargs.get("column_list", []) if isinstance(c, str)]
            condition = kwargs.get("row_condition")
            if isinstance(condition, str):
                wanted += re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?=\s*(?:==|!=|>=|<=|>|<))", condition)
        wanted += self.key_columns
        return list(dict.fromkeys(wanted))


def load_suites(directory: Path | None = None) -> list[Suite]:
    """Every suite under ``expectations/gx/expectations``, sorted by name; refuses malformed files."""
    directory = Path(directory) if directory else gx_dir() / "expectations"
    suites = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise IdcQcError(f"suite {path} is not readable JSON: {exc}") from None
        meta = (data.get("meta") or {}).get("idc_qc") or {}
        table = meta.get("table")
        if not isinstance(table, str) or not _IDENTIFIER.match(table):
            raise IdcQcError(f"suite {path}: meta.idc_qc.table must name a built table, found {table!r}")
        name = data.get("name")
        if name != path.stem:
            raise IdcQcError(f"suite {path}: its name {name!r} must equal the file name {path.stem!r}")
        keys = meta.get("key_columns") or []
        if not all(isinstance(k, str) and _IDENTIFIER.match(k) for k in keys):
            raise IdcQcError(f"suite {path}: meta.idc_qc.key_columns must be column names, found {keys!r}")
        requires = meta.get("requires_instances", False)
        if not isinstance(requires, bool):
            raise IdcQcError(f"suite {path}: meta.idc_qc.requires_instances must be true or false, found {requires!r}")
        when_empty = meta.get("skip_when_empty")
        if when_empty is not None and not (isinstance(when_empty, str) and when_empty.strip()):
            raise IdcQcError(f"suite {path}: meta.idc_qc.skip_when_empty must be a note (text), found {when_empty!r}")
        suites.append(Suite(name=name, path=path, table=table, where=meta.get("where"), key_columns=list(keys),
                            description=meta.get("description") or "", data=data, requires_instances=requires,
                            skip_when_empty=when_empty))
    if not suites:
        raise IdcQcError(f"no GX suites in {directory}")
    return suites


def open_context(project_copy: Path, suites: list[Suite], parameters: dict[str, float] | None = None):
    """A GX file context over a copy of ``expectations/gx`` (nothing is written to the project),
    with a pandas asset, a validation definition and the checkpoint for every suite.

    Row conditions cannot take GX suite parameters, so ``${name}`` in a suite's text is
    replaced by the threshold's value in the copy (values stay ``{"$PARAMETER": name}``)."""
    import great_expectations as gx

    shutil.copytree(gx_dir(), project_copy / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    for path in (project_copy / "gx" / "expectations").glob("*.json"):
        text = path.read_text()
        if "${" in text:
            def value(match: re.Match) -> str:
                if match.group(1) not in (parameters or {}):
                    raise IdcQcError(f"suite {path.name} names an unknown threshold {match.group(1)!r}")
                return repr(parameters[match.group(1)])

            path.write_text(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value, text))
    context = gx.get_context(mode="file", project_root_dir=str(project_copy))
    _ensure_definitions(context, suites)
    return context


def _ensure_definitions(context, suites: list[Suite]) -> None:
    import great_expectations as gx

    try:
        source = context.data_sources.get(DATASOURCE)
    except Exception:  # noqa: BLE001 - GX raises several kinds for "not there"
        source = context.data_sources.add_pandas(DATASOURCE)
    existing = {vd.name for vd in context.validation_definitions.all()}
    definitions = []
    for suite in suites:
        if suite.name in existing:
            definitions.append(context.validation_definitions.get(suite.name))
            continue
        try:
            asset = source.get_asset(suite.name)
        except LookupError:
            asset = source.add_dataframe_asset(suite.name)
        try:
            batch = asset.get_batch_definition(BATCH_DEFINITION)
        except (KeyError, LookupError):
            batch = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
        gx_suite = context.suites.get(suite.name)
        definitions.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)))
    try:
        context.checkpoints.delete(CHECKPOINT)
    except Exception:  # noqa: BLE001 - GX raises several kinds when there is no checkpoint to delete
        pass
    context.checkpoints.add(gx.Checkpoint(name=CHECKPOINT, validation_definitions=definitions))


def sync_project() -> list[str]:
    """Write the validation definitions, checkpoint and data source of every suite into
    ``expectations/gx`` (run after adding a suite, for people who use GX directly). Returns the files written."""
    import tempfile

    import great_expectations as gx

    suites = load_suites()
    target = gx_dir()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(target, tmp / "gx", ignore=shutil.ignore_patterns("uncommitted"))
        context = gx.get_context(mode="file", project_root_dir=str(tmp))
        for vd in list(context.validation_definitions.all()):
            context.validation_definitions.delete(vd.name)
        _ensure_definitions(context, suites)
        written = []
        for sub in ("great_expectations.yml", "validation_definitions", "checkpoints", ".gitignore"):
            src = tmp / "gx" / sub
            dst = target / sub
            if src.is_dir():
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst)
                written += [str(p.relative_to(target)) for p in dst.rglob("*.json")]
            elif src.exists():
                shutil.copy2(src, dst)
                written.append(sub)
        return written


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    for name in sync_project():
        print(name)
