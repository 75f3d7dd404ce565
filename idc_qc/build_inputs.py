"""What a build reads: which IDC release's index, which files.

idc_qc.build calls :meth:`BuildInputs.resolve` before dbt runs; the run manifest
(idc_qc.database.manifest.write_build_manifest) records them once the new database is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass
class BuildInputs:
    """The index a build reads and the files behind it."""

    release: int
    index_version: str  # the idc-index-data version
    index_dir: Path
    index_source: str  # installed | cache | downloaded | wheel | parquet
    dbt_vars: dict[str, Any]
    tables_absent: dict[str, str] = field(default_factory=dict)
    columns_absent: tuple[str, ...] = ()
    instance_files: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @classmethod
    def resolve(cls, release: int | str | None, *, instances: list[str] | None = None,
                on_progress: Callable[[Any], None] | None = None) -> "BuildInputs":
        from .dbt_runner import Progress
        from .paths import idc_index_dir, idc_index_version
        from .releases.cache import fetch_release, index_shape, index_vars

        def stage(text: str) -> None:
            if on_progress is not None:
                on_progress(Progress("stage", text=f"release index: {text}"))

        if release is None:
            folder, version, source = idc_index_dir(), idc_index_version(), "installed"
            number = int(version.split(".")[0])
            notices: list[str] = []
        else:
            cached = fetch_release(release, on_stage=stage)
            folder, version, source, number = cached.folder, cached.version, cached.source, cached.release
            notices = list(cached.notices)
        shape = index_shape(folder)
        return cls(release=number, index_version=version, index_dir=Path(folder), index_source=source,
                   dbt_vars=index_vars(folder, number), tables_absent=dict(shape.tables_absent),
                   columns_absent=shape.columns_absent, instance_files=list(instances or []), notices=notices)

    def index_files(self) -> list[Path]:
        from .releases.cache import AUX_TABLES, INDEX_FILE

        names = [INDEX_FILE, *(f"{t}.parquet" for t in AUX_TABLES if t not in self.tables_absent)]
        return [self.index_dir / n for n in names if (self.index_dir / n).is_file()]
