"""Register a clinical table (CSV or parquet) into the local store, in IDC's shape.

Every input row is accounted for: it is written to a collection's table, or to
``rejected_rows.parquet`` with a reason (missing patient ID, unknown collection, patient not
in the index, a line with the wrong number of fields); blank lines are counted and skipped.
``rows_read == rows_written + rows_rejected`` is asserted before anything is written.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import IdcQcError
from .dictionary import infer_dictionary, read_dictionary
from .store import COLUMN_METADATA, KEY_COLUMNS, REJECTED_ROWS, TABLE_METADATA, table_path


class ClinicalInputError(IdcQcError):
    """A clinical file that cannot be registered (named column, expected shape, what was found)."""


@dataclass
class RegistrationResult:
    store: Path
    source: Path
    encoding: str
    rows_read: int
    rows_written: int
    rows_rejected: int
    blank_lines: int
    tables: dict[str, int]                     # table_name -> rows written
    rejected_reasons: dict[str, int]           # reason -> rows
    duplicate_patient_rows: int                # rows whose (collection, patient) appears more than once
    replaced_tables: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    concepts: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> concept -> column


def normalize_column_name(name: str) -> str:
    """IDC-style column names: lower case, runs of other characters as one underscore."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", str(name).strip()).strip("_").lower()
    if not text:
        text = "column"
    if text[0].isdigit():
        text = f"_{text}"
    return text


#: Byte order marks, longest first (UTF-32 LE starts with UTF-16 LE's).
BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
#: How long `clinical add` waits for another registration into the same store (seconds).
STORE_LOCK_WAIT = 120.0


def _decode(raw: bytes, encoding: str | None) -> tuple[str, str, list[str]]:
    """The file's text, the encoding used (as printed) and notices.

    A byte order mark says the encoding (UTF-8, UTF-16, UTF-32); without one, NUL bytes at
    every other position say UTF-16 (what Excel's "Unicode text" writes without a BOM); then
    UTF-8, else Latin-1 with a notice. ``encoding`` overrides all of it.
    """
    notices: list[str] = []
    if encoding:
        try:
            return raw.decode(encoding).lstrip("\ufeff"), encoding, notices
        except (UnicodeDecodeError, LookupError) as exc:
            raise ClinicalInputError(f"cannot decode the file as --encoding {encoding}: {exc}") from None
    for bom, name in BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(name), f"{name}, byte order mark", notices
            except UnicodeDecodeError as exc:
                raise ClinicalInputError(f"the file starts with a {name} byte order mark but is not {name} "
                                         f"(offset {exc.start + len(bom)}); pass --encoding") from None
    head = raw[:65536]
    if b"\x00" in head:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        guess = "utf-16-le" if odd > 3 * even else "utf-16-be" if even > 3 * odd else None
        if guess:
            try:
                decoded = raw.decode(guess)
            except UnicodeDecodeError:
                decoded = ""
            if decoded and all(c.isprintable() or c in "\t\r\n" for c in decoded[:4096]):
                return decoded, f"{guess}, no byte order mark", notices
        raise ClinicalInputError("the file holds NUL bytes and is not UTF-16 text: not a CSV (a spreadsheet? "
                                 "save it as CSV, or give a parquet file)")
    try:
        return raw.decode("utf-8"), "utf-8", notices
    except UnicodeDecodeError as exc:
        # Latin-1 decodes every byte; say so, since a wrong guess changes accented letters.
        notices.append(f"not UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start}); read as latin-1 "
                       "(pass --encoding to choose another)")
        return raw.decode("latin-1"), "latin-1", notices


def _broken_quote(span: list[str], fields: list[str], header: list[str], dialect) -> str | None:
    """Why a record read over several physical lines is a quote gone wrong, or None when it is
    a real multi-line field: the quote never closes, the field count is wrong, or a swallowed
    line reads on its own as a row of the header's width."""
    quote = getattr(dialect, "quotechar", '"') or '"'
    if "".join(span).count(quote) % 2:
        return "never closed"
    if len(fields) != len(header):
        return f"closed on line {{last}}, leaving {len(fields)} fields where the header has {len(header)}"
    if len(header) > 1:
        for line in span[1:]:
            alone = next(csv.reader([line], dialect), [])
            if len(alone) == len(header):
                return "closed on line {last}; the lines inside read as rows of their own"
    return None


def _read_csv(path: Path, encoding: str | None):
    """(header, records as (line number, fields), blank line count, encoding, notices, bad rows).

    Bad rows are (line, reason, detail, fields). Every physical line is accounted for: a
    quote that swallows the lines after it (never closed, or closed by a stray quote further
    down) rejects each line it swallowed, one by one, with its line number.
    """
    raw = path.read_bytes()
    text, used, notices = _decode(raw, encoding)
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(iter(lines), dialect)
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    blank = 0
    bad: list[tuple[int, str, str, list[str]]] = []
    last = 0
    try:
        for fields in reader:
            first, last = last + 1, reader.line_num
            if not fields or all(f.strip() == "" for f in fields):
                blank += 1
                continue
            if header is None:
                header = fields
                continue
            if last > first:
                why = _broken_quote(lines[first - 1:last], fields, header, dialect)
                if why:
                    detail = f"inside a quote opened on line {first} and {why.format(last=last)}"
                    for number in range(first, last + 1):
                        physical = lines[number - 1].rstrip("\r\n")
                        if physical.strip():
                            bad.append((number, "broken_quote", detail, [physical]))
                        else:
                            blank += 1
                    continue
            if len(fields) != len(header):
                bad.append((first, "field_count", f"{len(fields)} fields, header has {len(header)}", fields))
                continue
            records.append((first, fields))
    except csv.Error as exc:
        raise ClinicalInputError(f"{path}: not a readable CSV at line {reader.line_num}: {exc}") from None
    if header is None:
        raise ClinicalInputError(f"{path} holds no header line (only {blank} blank line(s)); nothing to register")
    return header, records, blank, used, notices, bad


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input
        raise ClinicalInputError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0]})") from None
    frame = table.to_pandas()
    header = [str(c) for c in frame.columns]
    records = []
    for i, values in enumerate(frame.itertuples(index=False), start=1):
        records.append((i, ["" if _is_null(v) else str(v) for v in values]))
    return header, records, 0, "parquet", [], []


def _is_null(value: Any) -> bool:
    try:
        import pandas as pd

        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _index_patients(index_dir: Path | None, patient_ids: list[str] | None):
    """The set of IDC's collection ids, and (when ``patient_ids`` are given) PatientID -> its
    sorted collection ids for those patients only, from IDC's index."""
    import duckdb

    from ..paths import idc_index_dir

    folder = Path(index_dir) if index_dir else idc_index_dir()
    path = str(folder / "idc_index.parquet").replace("'", "''")
    with duckdb.connect() as con:
        collections = {r[0] for r in con.execute(f"select distinct collection_id from read_parquet('{path}')").fetchall()}
        pairs = []
        if patient_ids:
            import pyarrow as pa

            con.register("wanted", pa.table({"PatientID": sorted(set(patient_ids))}))
            pairs = con.execute(f"select PatientID, list(distinct collection_id order by collection_id) "
                                f"from read_parquet('{path}') where PatientID in (select PatientID from wanted) "
                                f"group by PatientID").fetchall()
    return {p: list(c) for p, c in pairs}, collections


def _close(word: str, options: set[str]) -> str:
    import difflib

    near = difflib.get_close_matches(word, sorted(options), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def register(
    source: Path,
    store: Path,
    *,
    patient_id_column: str,
    collection: str | None = None,
    collection_column: str | None = None,
    collection_prefix: str = "",
    collection_from_index: bool = False,
    dictionary: Path | None = None,
    table_suffix: str = "clinical",
    encoding: str | None = None,
    index_dir: Path | None = None,
    allow_unknown_collection: bool = False,
) -> RegistrationResult:
    """Register ``source`` into ``store``; returns what was written and what was rejected, and why.

    Exactly one of ``collection`` (every row), ``collection_column`` (a column naming each
    row's collection; ``collection_prefix`` is put before its lower-cased value, e.g.
    ``tcga_`` + ``BRCA``) or ``collection_from_index`` (each patient ID looked up in IDC's
    index) says where rows go. A table registered again is replaced.
    """
    import pandas as pd

    source = Path(source)
    store = Path(store)
    modes = sum(bool(x) for x in (collection, collection_column or collection_from_index))
    if modes != 1:
        raise ClinicalInputError("say where the rows go with one of --collection ID, --collection-column COL "
                                 "or --collection-from-index (the last two may be combined: the index places "
                                 "the rows whose collection column is empty or unknown)")
    if not source.exists():
        raise ClinicalInputError(f"no such file: {source}")
    if source.is_dir():
        raise ClinicalInputError(f"{source} is a folder; give a CSV or parquet file")
    if source.stat().st_size == 0:
        raise ClinicalInputError(f"{source} is empty (0 bytes): nothing to register")
    if store.exists() and not store.is_dir():
        raise ClinicalInputError(f"--store {store} is a file, not a folder")

    is_parquet = source.suffix.lower() in {".parquet", ".pq"}
    if is_parquet:
        header, records, blank, used_encoding, notices, bad = _read_parquet(source)
    else:
        header, records, blank, used_encoding, notices, bad = _read_csv(source, encoding)
    header = [h.strip() for h in header]
    spans: dict[str, list[int]] = {}
    for line, reason, why, _ in bad:
        if reason == "broken_quote":
            spans.setdefault(why, []).append(line)
    for why, lines in spans.items():
        notices.append(f"a quote gone wrong: {why}; lines {lines[0]}-{lines[-1]} rejected one by one "
                       f"(broken_quote); fix the quote and register the file again")

    def column_index(name: str, option: str) -> int:
        if name in header:
            return header.index(name)
        folded = [h.lower() for h in header]
        if name.lower() in folded:
            return folded.index(name.lower())
        raise ClinicalInputError(f"{option} {name!r} is not a column of {source.name}{_close(name, set(header))}; "
                                 f"its columns are: {', '.join(header[:20])}{' ...' if len(header) > 20 else ''}")

    id_at = column_index(patient_id_column, "--patient-id-column")
    collection_at = column_index(collection_column, "--collection-column") if collection_column else None

    wanted = [fields[id_at].strip() for _, fields in records] if collection_from_index else None
    patients_index, known_collections = _index_patients(index_dir, wanted)
    if collection and collection not in known_collections and not allow_unknown_collection:
        raise ClinicalInputError(f"--collection {collection!r} is not a collection of IDC's index{_close(collection, known_collections)}"
                                 " (pass --allow-unknown-collection for a collection of your own)")

    rejected: list[dict[str, Any]] = [
        {"source_row": line, "reason": reason, "detail": why, "dicom_patient_id": None, "collection_id": None,
         "raw": json.dumps(fields, ensure_ascii=False)}
        for line, reason, why, fields in bad
    ]
    placed: list[tuple[str, int, list[str]]] = []  # (collection, line, fields)
    for line, fields in records:
        pid = fields[id_at].strip()
        raw = json.dumps(dict(zip(header, fields)), ensure_ascii=False)
        if not pid:
            rejected.append({"source_row": line, "reason": "missing_patient_id",
                             "detail": f"{header[id_at]} is empty", "dicom_patient_id": None,
                             "collection_id": None, "raw": raw})
            continue
        if collection:
            placed.append((collection, line, fields))
            continue
        if collection_at is not None:
            value = fields[collection_at].strip()
            target = f"{collection_prefix}{value.lower()}" if value else ""
            if target and (target in known_collections or allow_unknown_collection):
                placed.append((target, line, fields))
                continue
            if not collection_from_index:
                rejected.append({"source_row": line, "reason": "unknown_collection",
                                 "detail": f"{header[collection_at]}={value!r} -> {target!r} is not in IDC's index",
                                 "dicom_patient_id": pid, "collection_id": target or None, "raw": raw})
                continue
        if collection_from_index:
            found = patients_index.get(pid, [])
            if len(found) != 1:
                reason = "patient_not_in_index" if not found else "patient_in_several_collections"
                rejected.append({"source_row": line, "reason": reason,
                                 "detail": ", ".join(found) or f"no series with PatientID {pid!r}",
                                 "dicom_patient_id": pid, "collection_id": None, "raw": raw})
                continue
            placed.append((found[0], line, fields))

    rows_read = len(records) + len(bad)
    if len(placed) + len(rejected) != rows_read:  # pragma: no cover - an accounting bug
        raise AssertionError(f"rows read {rows_read} != placed {len(placed)} + rejected {len(rejected)}")

    # Column names as IDC writes them; the patient ID column becomes dicom_patient_id.
    names: list[str] = []
    for i, h in enumerate(header):
        if i == id_at:
            names.append("dicom_patient_id")
            continue
        base = normalize_column_name(h)
        name, k = base, 2
        while name in names or name in KEY_COLUMNS:
            name, k = f"{base}_{k}", k + 1
        names.append(name)

    frame = pd.DataFrame([f for _, _, f in placed], columns=names, dtype="object") if placed else \
        pd.DataFrame(columns=names, dtype="object")
    frame = frame.apply(lambda s: s.map(lambda v: v.strip() if isinstance(v, str) else v))
    frame = frame.replace({"": None})
    frame["dicom_patient_id"] = [f[id_at].strip() for _, _, f in placed]
    frame.insert(0, "_collection", [c for c, _, _ in placed])
    frame["source_batch"] = 0
    frame["source_row"] = [line for _, line, _ in placed]

    given = read_dictionary(dictionary, header) if dictionary else {}
    value_columns = [n for i, n in enumerate(names) if i != id_at]
    originals = {n: header[i] for i, n in enumerate(names)}
    typed, column_rows, concepts = infer_dictionary(frame, value_columns, originals, given)
    for name, series in typed.items():
        frame[name] = series

    dup_mask = frame.duplicated(["_collection", "dicom_patient_id"], keep=False) if len(frame) else pd.Series([], dtype=bool)
    duplicate_rows = int(dup_mask.sum())
    if duplicate_rows:
        notices.append(f"{duplicate_rows} rows share a patient ID with another row of the same collection: "
                       "kept, and flagged in rpt_clinical_coverage (has_duplicate_clinical_rows)")

    with store_lock(store):
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        md5 = hashlib.md5(source.read_bytes()).hexdigest()
        tables_meta = _read(store, TABLE_METADATA)
        columns_meta = _read(store, COLUMN_METADATA)
        sources_before = _sources(tables_meta)
        from ..workspace import pause_for_tests

        pause_for_tests("clinical_store_locked")  # test hook: hold the lock between reading and writing
        written: dict[str, int] = {}
        replaced: list[str] = []
        table_rows, new_column_rows = [], []
        ordered = ["dicom_patient_id", "source_batch", "source_row", *value_columns]
        for target, part in frame.groupby("_collection", sort=True):
            table_name = f"{target}_{table_suffix}"
            out = part[ordered].reset_index(drop=True)
            path = table_path(store, table_name)
            if path.exists():
                replaced.append(table_name)
            _write_parquet(out, path)
            written[table_name] = len(out)
            table_rows.append({
                "collection_id": target, "table_name": table_name,
                "table_description": f"Clinical data of {target} registered by idc-qc from {source.name}",
                "idc_version_table_added": None, "table_added_datetime": now,
                "post_process_src": str(source.resolve()), "post_process_src_added_md5": md5,
                "number_batches": 1, "patient_id_column": header[id_at], "source_encoding": used_encoding,
                "rows": len(out),
            })
            for row in column_rows:
                new_column_rows.append({"collection_id": target, "table_name": table_name, "files": source.name, **row})
            new_column_rows.append({
                "collection_id": target, "table_name": table_name, "files": source.name, "case_col": True,
                "column": "dicom_patient_id", "column_label": header[id_at], "data_type": "STRING",
                "original_column_headers": header[id_at], "values": [], "concept": None,
            })
        if written:
            names_written = set(written)
            if not tables_meta.empty:
                tables_meta = tables_meta[~tables_meta["table_name"].isin(names_written)]
            if not columns_meta.empty:
                columns_meta = columns_meta[~columns_meta["table_name"].isin(names_written)]
            tables_meta = pd.concat([tables_meta, pd.DataFrame(table_rows)], ignore_index=True)
            columns_meta = pd.concat([columns_meta, pd.DataFrame(new_column_rows)], ignore_index=True)
            _write_parquet(tables_meta, table_path(store, TABLE_METADATA))
            _write_metadata_columns(columns_meta, table_path(store, COLUMN_METADATA))

        # Rejected rows are replaced with what they belong to, never mixed: those of an earlier
        # registration of the same file, and those of a file whose tables this one replaced all of.
        gone = {str(source.resolve())} | (sources_before - _sources(tables_meta))
        old_rejected = _read(store, REJECTED_ROWS)
        if not old_rejected.empty:
            old_rejected = old_rejected[~old_rejected["source_file"].isin(gone)]
        new_rejected = pd.DataFrame(rejected, columns=["source_row", "reason", "detail", "dicom_patient_id",
                                                       "collection_id", "raw"])
        new_rejected.insert(0, "source_file", str(source.resolve()))
        new_rejected["registered_at"] = now
        all_rejected = pd.concat([old_rejected, new_rejected], ignore_index=True) if not old_rejected.empty else new_rejected
        _write_parquet(all_rejected.astype({"source_row": "int64"}), table_path(store, REJECTED_ROWS))
        if not table_path(store, TABLE_METADATA).exists():
            _write_parquet(pd.DataFrame(columns=["collection_id", "table_name"], dtype="object"),
                           table_path(store, TABLE_METADATA))

    reasons: dict[str, int] = {}
    for r in rejected:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    return RegistrationResult(
        store=store, source=source, encoding=used_encoding, rows_read=rows_read, rows_written=len(placed),
        rows_rejected=len(rejected), blank_lines=blank, tables=written, rejected_reasons=reasons,
        duplicate_patient_rows=duplicate_rows, replaced_tables=replaced, notices=notices,
        concepts={t: concepts for t in written},
    )


@contextlib.contextmanager
def store_lock(store: Path, wait: float | None = None):
    """Hold the store's lock while reading and rewriting its metadata: the builds' lock
    (idc_qc.workspace.BuildLock, an flock on ``<store>.lock``), waited for up to ``wait``
    seconds (STORE_LOCK_WAIT) since a registration takes seconds, not minutes."""
    import time

    from ..errors import BuildLocked
    from ..workspace import BuildLock, read_lock

    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (STORE_LOCK_WAIT if wait is None else wait)
    while True:
        try:
            lock = BuildLock(store, command="clinical add").acquire()
            break
        except BuildLocked:
            if time.monotonic() >= deadline:
                holder = read_lock(store)
                who = holder.describe() if holder else "another process"
                raise ClinicalInputError(f"another registration ({who}) is still writing the clinical store {store}; "
                                         "wait for it to finish and run the command again") from None
            time.sleep(0.1)
    try:
        from ..workspace import pause_for_tests

        pause_for_tests("clinical_store_locked")
        yield lock
    finally:
        lock.release()


def _sources(tables_meta) -> set[str]:
    """The registered files that still have a table in the store."""
    if tables_meta.empty or "post_process_src" not in tables_meta.columns:
        return set()
    return set(tables_meta["post_process_src"].dropna().astype(str))


def _read(store: Path, name: str):
    import pandas as pd

    path = table_path(store, name)
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def _write_parquet(frame, path: Path) -> None:
    """Write through a temporary file and rename, so a reader never sees half a table."""
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def _write_metadata_columns(frame, path: Path) -> None:
    """column_metadata with IDC's types: values is a list of (option_code, option_description)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    values_type = pa.list_(pa.struct([("option_code", pa.string()), ("option_description", pa.string())]))
    schema = pa.schema([
        ("collection_id", pa.string()), ("case_col", pa.bool_()), ("table_name", pa.string()),
        ("column", pa.string()), ("column_label", pa.string()), ("data_type", pa.string()),
        ("original_column_headers", pa.string()), ("values", values_type), ("files", pa.string()),
        ("concept", pa.string()),
    ])
    records = frame.to_dict("records")
    for r in records:
        vals = r.get("values")
        r["values"] = [dict(v) for v in vals] if vals is not None and len(vals) else []
        r["case_col"] = bool(r.get("case_col"))
        r["concept"] = None if _is_null(r.get("concept")) else r.get("concept")
    table = pa.Table.from_pylist(records, schema=schema)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
