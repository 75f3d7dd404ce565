"""One selection of series: collection, modality, manufacturer, body part, release and ``--where``.

The one type behind ``upset``, ``bias``, ``cohort create`` and ``export`` (ARCHITECTURE.md:
"a selection ... and the sandbox user SQL runs in"). Whatever the command, the same rules:

- ``--collection``, ``--modality``, ``--manufacturer``, ``--body-part`` match **without regard to
  case** (``nlst`` = ``NLST``, ``ct`` = ``CT``), several values of one filter are OR-ed, the
  filters are AND-ed; their values are **bound parameters** (or, in a cohort manifest whose
  query must be stored as text, quoted literals made by :func:`sql_literal`), never spliced text;
- ``--release N``: series present in IDC release N (``first_idc_release <= N <= last_idc_release``);
- ``--where``: one SQL condition, checked by :func:`idc_qc.query.safety.check_condition`
  (DuckDB's parser: one condition, balanced parentheses, no table function that reads files)
  and applied one level *outside* the other filters (``select * from (<filtered>) where (...)``),
  so it can narrow what they selected and never widen it: the title names what was selected.

Each source names its columns differently (``rpt_geometry_upset_series.body_part_examined``,
``idc_index.BodyPartExamined``, ``series.manufacturer_harmonized``); :meth:`Selection.relation`
finds each filter's column among the source's own columns, case-insensitively, and refuses in
one line a filter the source has no column for. The SQL runs on the contained connection
(:func:`idc_qc.query.run.contained`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import IdcQcError
from .safety import check_condition

#: For each list filter: the option, and the column names it may have in a source (first found wins).
LIST_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "collection": ("--collection", ("collection_id",)),
    "modality": ("--modality", ("Modality",)),
    "manufacturer": ("--manufacturer", ("manufacturer", "manufacturer_harmonized", "Manufacturer")),
    "body_part": ("--body-part", ("body_part_examined", "BodyPartExamined")),
}
RELEASE_COLUMNS = ("first_idc_release", "last_idc_release")


class SelectionError(IdcQcError):
    """A filter the source cannot apply (no such column), or a --where that is not one condition."""


def sql_literal(value: str) -> str:
    """``value`` as a DuckDB string literal (quotes doubled): for SQL that must be stored as text."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass
class Selection:
    """Which series: every given filter must hold (AND); the values of one filter are OR-ed."""

    collection: list[str] = field(default_factory=list)
    modality: list[str] = field(default_factory=list)
    manufacturer: list[str] = field(default_factory=list)
    body_part: list[str] = field(default_factory=list)
    release: int | None = None
    where: str | None = None

    def empty(self) -> bool:
        return not (self.collection or self.modality or self.manufacturer or self.body_part
                    or self.release is not None or self.where)

    def as_dict(self) -> dict:
        return {"collections": self.collection, "modalities": self.modality, "manufacturers": self.manufacturer,
                "body_parts": self.body_part, "release": self.release, "where": self.where}

    def describe(self) -> str:
        parts = [f"{label} {', '.join(values)}" for label, values in (
            ("collection", self.collection), ("modality", self.modality), ("manufacturer", self.manufacturer),
            ("body part", self.body_part)) if values]
        if self.release is not None:
            parts.append(f"in IDC release {self.release}")
        if self.where:
            parts.append(f"where {self.where}")
        return "; ".join(parts) or "all series"

    def check(self, *, columns_of: str, example: str) -> None:
        """Refuse a --where that is not one condition (before anything opens)."""
        if self.where is not None:
            check_condition(self.where, columns_of=columns_of, example=example)
        if self.release is not None and self.release < 1:
            raise SelectionError(f"--release {self.release}: give an IDC release number, e.g. 21")

    def _columns(self, source: str, columns: list[str]) -> dict[str, str]:
        have = {c.lower(): c for c in columns}
        found: dict[str, str] = {}
        for key, (option, names) in LIST_FILTERS.items():
            if not getattr(self, key):
                continue
            column = next((have[n.lower()] for n in names if n.lower() in have), None)
            if column is None:
                raise SelectionError(f"{option}: {source} has no {' or '.join(names)} column to filter on; "
                                     f"use --where on its columns instead")
            found[key] = column
        if self.release is not None:
            missing = [c for c in RELEASE_COLUMNS if c not in have]
            if missing:
                raise SelectionError(f"--release: {source} has no {', '.join(missing)} column to filter on")
        return found

    def filters(self, source: str, columns: list[str], *, literal: bool = False) -> tuple[str, list]:
        """The list and release filters as one condition with ``?`` parameters (no ``--where``);
        ``literal``: the values written as quoted literals instead (and no parameters)."""
        clauses, params = [], []

        def put(value) -> str:
            if literal:
                return sql_literal(value) if isinstance(value, str) else str(int(value))
            params.append(value)
            return "?"

        for key, column in self._columns(source, columns).items():
            values = getattr(self, key)
            clauses.append(f'lower("{column}") in ({", ".join(put(str(v).lower()) for v in values)})')
        if self.release is not None:
            clauses.append(f"first_idc_release <= {put(self.release)} and last_idc_release >= {put(self.release)}")
        return (" and ".join(clauses) or "true"), params

    def relation(self, source: str, columns: list[str], *, base: str | None = None) -> tuple[str, list]:
        """A parenthesized subquery of the selected rows of ``source`` and its parameters.

        ``base``: SQL of the rows to select from (default: ``source`` itself). The checked
        ``--where`` is applied outside the bound filters, so it can only narrow them.
        """
        where, params = self.filters(source, columns)
        sql = f"(select * from {base or source} where {where})"
        if self.where:
            sql = f"(select * from {sql} as {_alias(source)} where ({self.where}\n))"
        return sql, params

    def literal_query(self, source: str, columns: list[str], select: str, order_by: str) -> str:
        """The selection as one stored query text (a cohort manifest's), values as quoted literals."""
        where, _none = self.filters(source, columns, literal=True)
        inner = f"select * from {source}" + (f"\nwhere {where}" if where != "true" else "")
        if self.where:
            return f"select {select}\nfrom ({inner}) as {_alias(source)}\nwhere ({self.where}\n)\norder by {order_by}"
        return f"select {select}\nfrom ({inner}) as {_alias(source)}\norder by {order_by}"


def _alias(source: str) -> str:
    """The name the filtered rows go by: the source's own (``series.Modality`` still works in
    --where) when it is a plain name, else ``filtered``."""
    import re

    return source if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", source) else "filtered"
