"""One sandbox for every user-supplied SQL: every option that takes SQL text x every hostile case.

Options: ``--where`` of upset, bias, cohort create and export; ``--by`` of bias; the query of
``idc-qc query`` and of ``cohort create``. Each hostile case (file reads through read_csv,
read_text, read_parquet, read_json, read_blob, glob, sniff_csv, a file or URL as a table,
COPY, ATTACH, INSTALL/LOAD, SET, PRAGMA, a second statement, parenthesis break-outs and
comments that hide or open one, a parameter; and two harmless subqueries on information_schema
and duckdb_settings) must be

- ``refused``: by the check (DuckDB's parser: one condition / expression / read statement), before anything runs;
- ``denied``: by the contained connection (read-only, external access off, configuration locked);
- ``ran``: run, reading only the warehouse (for the harmless cases, and for a statement option,
  where a "break-out" is simply SQL: there is no query around it to break out of);

and afterwards every file under the warehouse's folder (the database, its input parquet, the
index, the secrets) hashes the same, no file was written beside them, and the secret's text is
in no message and no output. A real DuckDB file made without dbt: the module runs in seconds.
tests/cli/test_sql_sandbox_cli.py takes a few representative cases through the console script.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from support.sandbox import SECRET_TEXT, hostile_cases, make_selection_warehouse

from idc_qc.errors import IdcQcError

CONDITION_OPTIONS = ["upset --where", "bias --where", "bias --by", "cohort create --where", "export --where"]
STATEMENT_OPTIONS = ["query", "cohort create SQL"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> dict:
    return make_selection_warehouse(tmp_path_factory.mktemp("sandbox"))


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _run(option: str, text: str, wh: dict, out: Path) -> str:
    """Run ``text`` through ``option``'s importable function; a short description of what came out."""
    db = wh["db"]
    if option == "upset --where":
        from idc_qc.reports.upset import Selection, render_upset

        result = render_upset(db, out, selection=Selection(where=text))
        return f"{result.selected_series} series"
    if option in ("bias --where", "bias --by"):
        from idc_qc.bias import Selection, compute_bias

        selection = Selection(where=text) if option == "bias --where" else Selection(by=text, modality=["ct", "mr"])
        result = compute_bias(db, selection, attributes=["sex", "manufacturer"])
        return f"groups {sorted(set(result.distributions['group_value']))}"
    if option == "cohort create --where":
        from idc_qc.query.cohort import create_cohort
        from idc_qc.query.selection import Selection

        cohort = create_cohort(db, out / "c.json", filters=Selection(collection=["NLST", "tcga_brca"], where=text))
        return f"{cohort.series_count} series"
    if option == "cohort create SQL":
        from idc_qc.query.cohort import create_cohort

        cohort = create_cohort(db, out / "c.json", sql=f"select SeriesInstanceUID from series where {text}")
        return f"{cohort.series_count} series"
    if option == "export --where":
        from idc_qc.export import export_model
        from idc_qc.query.selection import Selection

        result = export_model(db, "series", out / "e.csv", selection=Selection(where=text))
        return f"{result.rows} rows"
    if option == "query":
        from idc_qc.query.run import run_query

        result = run_query(db, f"select SeriesInstanceUID from series where {text}")
        return f"{result.rows} rows"
    raise AssertionError(option)


def _outcome(option: str, text: str, wh: dict, out: Path) -> tuple[str, str]:
    from idc_qc.bias.core import EmptySelection
    from idc_qc.query.safety import NotACondition
    from idc_qc.query.transpile import NotReadOnly, QuerySyntaxError

    try:
        return "ran", _run(option, text, wh, out)
    except (NotACondition, NotReadOnly, QuerySyntaxError) as exc:
        return "refused", str(exc)
    except EmptySelection as exc:
        return "ran", str(exc)
    except IdcQcError as exc:
        message = str(exc)
        if "no series matches" in message:
            return "ran", message
        if "Permission Error" in message or "refused by the contained connection" in message:
            return "denied", message
        return "error", message


def _table(wh: dict, tmp_path: Path) -> list[tuple[str, str, str, str]]:
    rows = []
    cases = hostile_cases(wh["root"], wh["secret"], wh["secret_json"], wh["secret_parquet"])
    for option in CONDITION_OPTIONS + STATEMENT_OPTIONS:
        for number, (case, text, *_expected) in enumerate(cases):
            out = tmp_path / f"{option.replace(' ', '_')}_{number}"
            out.mkdir()
            got, message = _outcome(option, text, wh, out)
            written = "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()
                              and p.suffix in {".csv", ".json", ".s5cmd", ".svg"})
            rows.append((option, case, got, message, written))
    return rows


def test_every_option_refuses_or_contains_every_hostile_case(warehouse, tmp_path):
    root = warehouse["root"]
    before = _digests(root)
    cases = hostile_cases(root, warehouse["secret"], warehouse["secret_json"], warehouse["secret_parquet"])
    expected = {case: (condition, statement) for case, _text, condition, statement in cases}
    rows = _table(warehouse, tmp_path)
    options = CONDITION_OPTIONS + STATEMENT_OPTIONS
    got_of = {(option, case): got for option, case, got, _m, _w in rows}
    print("\nhostile case x option (refused: by the check; denied: by the connection; ran: contained)")
    print(f"  {'case':<28}" + "".join(f"{o:<22}" for o in options))
    for case in expected:
        print(f"  {case:<28}" + "".join(f"{got_of[(o, case)]:<22}" for o in options))
    print("\noption x hostile case -> outcome")
    width = max(len(r[1]) for r in rows)
    for option in CONDITION_OPTIONS + STATEMENT_OPTIONS:
        print(f"  {option}")
        for opt, case, got, message, _written in rows:
            if opt == option:
                print(f"    {case:<{width}}  {got:<8} {message.replace(str(root), '<tmp>')[:110]}")
    wrong = []
    for option, case, got, message, written in rows:
        condition, statement = expected[case]
        ok = got == condition if option in CONDITION_OPTIONS else got in statement
        if not ok:
            wrong.append((option, case, got, message))
        assert SECRET_TEXT not in message and SECRET_TEXT not in written, (option, case)
        assert "\n" not in message, (option, case, message)
    assert wrong == []
    assert _digests(root) == before  # database, inputs, index and secrets unchanged; nothing written beside them


def test_a_breakout_never_widens_the_selection_or_lies_in_the_title(warehouse, tmp_path):
    """`upset --collection nlst --where "Modality='CT') or (1=1"` is refused; a balanced `or`
    stays inside the collection filter (the --where is applied outside the other filters)."""
    from idc_qc.query.safety import NotACondition
    from idc_qc.reports.upset import Selection, render_upset

    with pytest.raises(NotACondition, match="parentheses do not balance"):
        render_upset(warehouse["db"], tmp_path, selection=Selection(collection=["nlst"], where="Modality='CT') or (1=1"))
    result = render_upset(warehouse["db"], tmp_path, selection=Selection(collection=["nlst"], where="Modality='CT' or 1=1"))
    assert result.selected_series == 2  # the two nlst series, not all four
    assert "collection nlst" in result.title


@pytest.mark.parametrize("values", [["NLST"], ["Nlst", "no-such-collection"]])
def test_collection_ignores_case_in_every_command(warehouse, tmp_path, values):
    from idc_qc.bias import Selection as BiasSelection
    from idc_qc.bias import compute_bias
    from idc_qc.export import export_model
    from idc_qc.query.cohort import create_cohort
    from idc_qc.query.selection import Selection
    from idc_qc.reports.upset import render_upset

    db = warehouse["db"]
    assert render_upset(db, tmp_path, selection=Selection(collection=values)).selected_series == 2
    assert create_cohort(db, tmp_path / "c.json", filters=Selection(collection=values)).series_count == 2
    assert export_model(db, "series", tmp_path / "e.parquet", selection=Selection(collection=values)).rows == 2
    bias = compute_bias(db, BiasSelection(collection=values, by=None), attributes=["manufacturer"])
    assert int(bias.distributions["group_total"].max()) == 2


def test_a_misspelt_column_is_named_with_similar_ones(warehouse):
    from idc_qc.bias import Selection, compute_bias

    with pytest.raises(IdcQcError, match=r"no column 'Modalty' \(similar: Modality"):
        compute_bias(warehouse["db"], Selection(where="Modalty = 'CT'"))


def test_bias_on_an_empty_selection_exits_1(warehouse):
    from idc_qc.bias import Selection, compute_bias
    from idc_qc.bias.core import EmptySelection

    with pytest.raises(EmptySelection, match="no series matches") as empty:
        compute_bias(warehouse["db"], Selection(where="Modality = 'XA'"))
    assert empty.value.exit_code == 1


def test_values_are_parameters_not_text(warehouse, tmp_path):
    """A value with quotes and a question mark is one value, in the query and in a stored cohort query."""
    from idc_qc.query.cohort import create_cohort, filters_sql
    from idc_qc.query.selection import Selection
    from idc_qc.reports.upset import UpsetError, render_upset

    odd = "x') or ('1'='1 ?"
    with pytest.raises(UpsetError, match="no series matches"):
        render_upset(warehouse["db"], tmp_path, selection=Selection(collection=[odd]))
    assert "'x'') or (''1''=''1 ?'" in filters_sql(Selection(collection=[odd], modality=["ct"]))
    assert create_cohort(warehouse["db"], tmp_path / "c.json", filters=Selection(collection=[odd])).series_count == 0


@pytest.mark.parametrize("name", ["scan[1].parquet", "scan*.parquet", "scan?.parquet"])
def test_an_input_named_with_glob_characters_opens_no_folder(tmp_path, name):
    """allowed_paths holds exactly the input (as a pattern and the files it names), never its folder:
    the file beside it stays unreadable, the folder unlisted, and the input itself still reads."""
    import shutil

    import duckdb
    from support.query import make_warehouse

    from idc_qc.query.run import contained, run_query

    db = make_warehouse(tmp_path)
    folder = tmp_path / "input"
    shutil.move(folder / "instances.parquet", folder / name)
    (folder / "beside.csv").write_text(f"secret\n{SECRET_TEXT}\n")
    with duckdb.connect(str(db)) as con:
        con.execute("create or replace view stg_dicom__instances as select * from read_parquet([?], union_by_name = true)"
                    .replace("?", "'" + str(folder / name) + "'"))
    with contained(db) as (_con, catalog, _warnings):
        assert str(folder) not in catalog.files and str(folder) + "/" not in catalog.files
        assert all(Path(f).name in (name, "idc_index.parquet") for f in catalog.files), catalog.files
    assert run_query(db, "select count(*) as n from dicom_all").table.to_pylist() == [{"n": 2}]
    for hostile in (f"select * from read_csv('{folder / 'beside.csv'}')", f"select * from glob('{folder}/*')"):
        with pytest.raises(IdcQcError, match="refused by the contained connection") as denied:
            run_query(db, hostile)
        assert SECRET_TEXT not in str(denied.value)


def test_where_may_name_the_table_it_filters(warehouse, tmp_path):
    """--where is applied to the filtered rows under the source's own name: `series.Modality` works."""
    from idc_qc.export import export_model
    from idc_qc.query.cohort import create_cohort
    from idc_qc.query.selection import Selection

    db = warehouse["db"]
    assert export_model(db, "series", tmp_path / "e.csv", selection=Selection(where="series.Modality = 'MR'")).rows == 1
    cohort = create_cohort(db, tmp_path / "c.json", filters=Selection(where="idc_index.Modality = 'MR'"))
    assert cohort.series_count == 1
