"""Follow `--db` through `idc-qc demo` and `idc-qc report`: which modules of idc_qc handle the database or a file beside it.

    python benchmarks/follow_db.py                       # this checkout
    python benchmarks/follow_db.py --tree /tmp/old       # another checkout (a git worktree), same venv

Runs ``idc-qc demo --series N --out DIR`` and then ``idc-qc report --db DIR/idc_qc.duckdb`` in
this process (the console script's entry point) with a profile hook on every thread. A call into
a function of ``idc_qc`` counts when one of its arguments names the output folder: a path or
text inside it, or an object one of whose attributes is one (a database handle). For each
command it prints the modules in the order the database reached them, with calls; the packages
entered (a call from another package), and the calls made from a lower layer of
docs/architecture.md into a higher one (a progress callback the command passed down). Work done in child processes (dbt is run in this process)
is not seen; the tool says how many it started.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path, PurePath

ROOT = Path(__file__).resolve().parents[1]


def follow(args: list[str], out: Path, package_dir: Path) -> tuple[list[tuple[str, str, str]], int]:
    """(caller module, callee module, function) of every call into idc_qc carrying the output
    folder, and the number of child processes started, while ``idc-qc *args`` runs."""
    from click.testing import CliRunner

    from idc_qc.cli import main

    prefix, marker = str(package_dir), str(out)
    seen: list[tuple[str, str, str]] = []
    spawned = [0]

    def names_out(value: object) -> bool:
        if isinstance(value, (str, PurePath)):
            return marker in str(value)
        attrs = getattr(value, "__dict__", None)
        return isinstance(attrs, dict) and any(isinstance(v, (str, PurePath)) and marker in str(v)
                                               for v in attrs.values())

    def hook(frame, event, _arg):
        if event != "call" or not frame.f_code.co_filename.startswith(prefix):
            return
        if any(names_out(v) for v in list(frame.f_locals.values())):
            caller = frame.f_back.f_globals.get("__name__", "?") if frame.f_back else "?"
            seen.append((caller, frame.f_globals.get("__name__", "?"), frame.f_code.co_name))

    real_popen_init = subprocess.Popen.__init__

    def counting_init(self, *a, **k):
        spawned[0] += 1
        return real_popen_init(self, *a, **k)

    subprocess.Popen.__init__ = counting_init
    argv = sys.argv
    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        with CliRunner().isolation() as (stdout, stderr, _):
            sys.argv = ["idc-qc", *args]
            try:
                main()
            except SystemExit as exit_:
                if exit_.code not in (0, None):
                    raise RuntimeError(f"idc-qc {' '.join(args)} exited {exit_.code}:\n"
                                       f"{stdout.getvalue().decode()}{stderr.getvalue().decode()}") from None
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
        sys.argv = argv
        subprocess.Popen.__init__ = real_popen_init
    return seen, spawned[0]


def package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def show(title: str, seen: list[tuple[str, str, str]], spawned: int, layer_of) -> None:
    print(f"## {title}")
    calls = Counter(callee for _, callee, _ in seen)
    order = list(dict.fromkeys(callee for _, callee, _ in seen))
    print(f"  {len(order)} modules, {len(calls)} distinct, {sum(calls.values()):,} calls carrying the folder; "
          f"{spawned} child processes")
    print("  modules, in the order the database reached them (calls): " + ", ".join(
        f"{m.removeprefix('idc_qc.')} ({calls[m]})" for m in order))
    entered = Counter(package(callee) for caller, callee, _ in seen
                      if caller.startswith("idc_qc") and package(caller) != package(callee))
    print("  packages entered from another package: " + ", ".join(
        f"{p.removeprefix('idc_qc.')} {n}" for p, n in entered.most_common()))
    names = ["cli", "jobs", "capabilities", "foundations"]
    rank = {name: len(names) - i for i, name in enumerate(names)}
    climbs = Counter((caller, callee) for caller, callee, _ in seen
                     if caller.startswith("idc_qc") and layer_of(caller) and layer_of(callee)
                     and rank[layer_of(callee)] > rank[layer_of(caller)])
    print(f"  calls from a lower layer into a higher one (callbacks a command passed down, not imports): "
          f"{sum(climbs.values())}"
          + "".join(f"\n    {a} -> {b} ({n})" for (a, b), n in climbs.most_common()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, help="the checkout whose idc_qc runs (default: this one)")
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--out", type=Path, help="the demo's folder (default: a new temporary one)")
    args = parser.parse_args()
    tree = (args.tree or ROOT).resolve()
    if os.environ.get("_FOLLOW_DB_TREE") != str(tree):
        # import idc_qc from that checkout: its folder first on the path, in a process of its own
        env = {**os.environ, "PYTHONPATH": str(tree), "_FOLLOW_DB_TREE": str(tree), "DO_NOT_TRACK": "1"}
        return subprocess.call([sys.executable, __file__, *sys.argv[1:]], env=env, cwd=tree)

    import idc_qc

    package_dir = Path(idc_qc.__file__).resolve().parent
    assert package_dir == tree / "idc_qc", f"idc_qc imported from {package_dir}, not {tree}"
    sys.path.insert(0, str(ROOT / "tests"))
    from support.imports import ImportGraph

    layer_of = ImportGraph(package_dir, ROOT / "docs" / "architecture.md").layer_of
    out = (args.out or Path(tempfile.mkdtemp(prefix="follow_db_")) / "demo").resolve()
    print(f"idc_qc from {package_dir}; demo into {out}")
    seen, spawned = follow(["demo", "--series", str(args.series), "--out", str(out)], out, package_dir)
    show(f"idc-qc demo --series {args.series} --out {out.name}", seen, spawned, layer_of)
    seen, spawned = follow(["report", "--db", str(out / "idc_qc.duckdb")], out, package_dir)
    show(f"idc-qc report --db {out.name}/idc_qc.duckdb", seen, spawned, layer_of)
    return 0


if __name__ == "__main__":
    sys.exit(main())
