"""IDC's own queries over ``dicom_all`` -- the SQL files idc-index-data ships, one per index IDC
publishes (ct_index.sql, mr_index.sql, volume_geometry_index.sql, ...) -- run as a user runs
them, by ``idc-qc query --dialect bigquery`` (:func:`idc_qc.query.run.run_query`) on a build:
which run, with how many rows, and for each that does not, the one-line reason idc-qc gives.
Used by tests/cli/test_ingest.py and printed by benchmarks/idc_queries.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Outcome:
    query: str        # the SQL file's name
    ran: bool
    rows: int | None
    reason: str       # the one-line error when it did not run; "" when it ran
    crashed: bool     # an exception idc-qc did not turn into its own error (a bug)


def dicom_all_queries() -> list[Path]:
    """idc-index-data's SQL files that read dicom_all, sorted by name."""
    import idc_index_data

    folder = Path(idc_index_data.__file__).resolve().parent
    return [p for p in sorted(folder.glob("*.sql")) if "dicom_all" in p.read_text()]


def run_all(db: Path) -> list[Outcome]:
    from idc_qc.errors import IdcQcError
    from idc_qc.query.run import run_query

    outcomes = []
    for path in dicom_all_queries():
        try:
            result = run_query(Path(db), path.read_text(), dialect="bigquery")
        except IdcQcError as exc:
            outcomes.append(Outcome(path.name, False, None, str(exc).strip().splitlines()[0], False))
        except Exception as exc:  # noqa: BLE001 - recorded, and a test fails on it
            outcomes.append(Outcome(path.name, False, None, f"{type(exc).__name__}: {exc}".splitlines()[0], True))
        else:
            outcomes.append(Outcome(path.name, True, result.rows, "", False))
    return outcomes


def markdown(outcomes: list[Outcome]) -> str:
    lines = ["| IDC query (idc-index-data) | runs | rows | why not |", "|---|---|---:|---|"]
    for o in outcomes:
        lines.append(f"| {o.query} | {'yes' if o.ran else 'no'} | {'' if o.rows is None else o.rows} | "
                     f"{o.reason.replace('|', '/')} |")
    return "\n".join(lines)
