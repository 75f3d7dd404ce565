"""Names in IDC's series index, matched the forgiving way users type them."""

from __future__ import annotations

import difflib
import re

from .errors import IdcQcError


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def collection_ids() -> list[str]:
    """Every collection_id in the installed IDC index."""
    import duckdb

    from .paths import idc_index_dir

    path = str(idc_index_dir() / "idc_index.parquet")
    with duckdb.connect() as con:
        return [r[0] for r in con.execute("select distinct collection_id from read_parquet(?) order by 1", [path]).fetchall()]


def resolve_collections(names: list[str], known: list[str] | None = None) -> tuple[str, ...]:
    """Map user-typed collection names to IDC collection_ids.

    An exact id passes; a name that differs only in case, dashes or spaces
    (``LIDC-IDRI`` for ``lidc_idri``) is accepted as that id; anything else is an error
    that suggests the closest ids.
    """
    known = collection_ids() if known is None else known
    by_key = {_key(c): c for c in known}
    resolved = []
    for name in names:
        if name in known:
            resolved.append(name)
        elif _key(name) in by_key:
            resolved.append(by_key[_key(name)])
        else:
            close = difflib.get_close_matches(name.lower().replace("-", "_"), known, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see collection_id in IDC's index"
            raise IdcQcError(f"unknown collection {name!r}{hint}")
    return tuple(resolved)
