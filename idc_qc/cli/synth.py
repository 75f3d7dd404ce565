"""`idc-qc synth`: instance-level metadata from IDC's real series index, with injected faults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..errors import IdcQcError
from .app import console


def _parse_rates(rate: list[str] | None):
    from ..synth import FaultRates

    values: dict[str, float] = {}
    for item in rate or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise IdcQcError(f"--rate {item!r}: write it as FAULT=RATE, e.g. missing_slices=0.05")
        if name not in FaultRates.__dataclass_fields__:
            raise IdcQcError(f"--rate: unknown fault {name!r}; known: {', '.join(FaultRates.__dataclass_fields__)}")
        try:
            values[name] = float(value)
        except ValueError:
            raise IdcQcError(f"--rate {item!r}: {value!r} is not a number") from None
    try:
        return FaultRates(**values)
    except (TypeError, ValueError) as exc:
        raise IdcQcError(f"--rate: {exc}") from None


def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (instances/part-*.parquet, truth.parquet).")] = Path("build/synth"),
    series: Annotated[Optional[int], typer.Option("--series", "-n", help="Number of series to sample; all ~402k single-frame CT/MR/PT series when omitted.")] = None,
    fraction: Annotated[Optional[float], typer.Option(help="Sample this fraction of series instead of a count.")] = None,
    modality: Annotated[Optional[list[str]], typer.Option("--modality", "-m", help="CT, MR and/or PT (repeatable).")] = None,
    collection: Annotated[Optional[list[str]], typer.Option("--collection", "-c", help="Restrict to IDC collection_id (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same data.")] = 0,
    rate: Annotated[Optional[list[str]], typer.Option("--rate", help="Fault rate override FAULT=RATE (repeatable), e.g. missing_slices=0.05.", rich_help_panel="Faults")] = None,
    order: Annotated[str, typer.Option("--order", help="series: a series' instances next to each other (as synth always wrote them); shuffled: the same rows in arbitrary order across files, as exports and parallel ingest write them (benchmarks/bench_geometry.py runs both).")] = "series",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier synth run in --out: removes only the files its synth_manifest.json lists.")] = False,
) -> None:
    """Generate instance-level metadata from IDC's real series index, with injected geometry faults.

    Series keep their real UIDs, collections, patients, makers and instance counts; positions,
    orientations and spacings are synthetic, and each series' injected fault (or none) is
    written to truth.parquet beside the instances.

    Example: idc-qc synth --series 2000 --out build/synth --rate missing_slices=0.05
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..index_lookup import resolve_collections
    from ..synth import synthesize

    rates = _parse_rates(rate)
    if series is not None and series < 1:
        raise IdcQcError(f"--series {series}: give a positive number of series")
    collections = resolve_collections(collection) if collection else None
    with Progress(TextColumn("synthesizing series"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("synth", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = synthesize(
                out, series_limit=series, sample_fraction=fraction,
                modalities=tuple(m.upper() for m in modality) if modality else ("CT", "MR", "PT"),
                collections=collections, seed=seed, rates=rates,
                progress=on_progress, overwrite=overwrite, order=order,
            )
        except ValueError as exc:
            raise IdcQcError(str(exc)) from None
    console.print(
        f"Wrote {result.instances:,} instances of {result.series:,} series "
        f"({result.bytes_written / 1e6:,.1f} MB) in {result.seconds:.1f}s to [bold]{escape(str(result.out_dir))}[/]"
    )


