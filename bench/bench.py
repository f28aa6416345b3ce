#!/usr/bin/env python3
"""Benchmark rusthook against rustimport and maturin_import_hook.

    python bench/bench.py              # full run, plain table on stdout
    python bench/bench.py --markdown   # the same as Markdown, with date and machine

Every timing is the median of repeated runs of a fresh Python process. The script
makes its own virtual environments under bench/.work/ (rusthook from this repository,
the peers from PyPI) and keeps every build cache there too. See bench/README.md for
what each scenario means. Standard library only; runs on any Python >= 3.9.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Callable

# The modules beside this script: bench/ is sys.path[0] when it runs as a script, unless
# Python runs with -P (PYTHONSAFEPATH), which leaves the script's folder out.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import cleanup_leftovers, make_tools, prefetch
from harness import RUNS, SLOW_RUN, WORK, BenchError, Row, log, setup_venvs
from report import print_report
from scenarios import Bench

TOOLS = ("rusthook", "rustimport", "maturin_import_hook")
SCENARIOS = tuple(range(1, 17))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat",
        type=int,
        default=7,
        metavar="N",
        help="runs per cheap scenario (3, 7 and 10 do 2N+1, 8 and 9 do 4N+1); default 7",
    )
    parser.add_argument(
        "--build-repeat",
        type=int,
        default=3,
        metavar="N",
        help=f"runs of a scenario that builds from scratch, or whose runs take over "
        f"{SLOW_RUN:.0f} s; default 3",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown, with date and machine"
    )
    parser.add_argument(
        "--parent-cargo-config",
        action="store_true",
        help="put a .cargo/config.toml in a folder above every scenario's sources (what "
        "rusthook then tracks costs its up-to-date check a few stats)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(map(str, SCENARIOS)),
        help=f"which scenarios, e.g. 3,4 (default: all, 1 to {SCENARIOS[-1]})",
    )
    parser.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help=f"which tools, rusthook first (default {','.join(TOOLS)})",
    )
    parser.add_argument(
        "--no-reinstall",
        action="store_true",
        help="keep the rusthook already installed in bench/.work/ "
        "(default: reinstall it from the repository)",
    )
    args = parser.parse_args()
    if args.repeat < 1 or args.build_repeat < 1:
        parser.error("repeats must be at least 1")
    tool_names = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(tool_names) - set(TOOLS)
    if unknown or not tool_names:
        parser.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")
    scenarios = sorted({int(s) for s in args.scenarios.split(",") if s.strip()})
    if not set(scenarios) <= set(SCENARIOS):
        parser.error(f"scenarios are {SCENARIOS[0]} to {SCENARIOS[-1]}")
    for program in ("cargo", "rustc"):
        if shutil.which(program) is None:
            sys.exit(f"bench: `{program}` is not on PATH")

    WORK.mkdir(exist_ok=True)
    if RUNS.exists():
        shutil.rmtree(RUNS)
    RUNS.mkdir()
    parent_config = WORK / ".cargo" / "config.toml"
    if args.parent_cargo_config:
        parent_config.parent.mkdir(exist_ok=True)
        parent_config.write_text(
            "# bench: a configuration file above the sources\n[term]\nquiet = false\n"
        )
    elif parent_config.exists():
        parent_config.unlink()
    venvs = setup_venvs(tool_names, reinstall=not args.no_reinstall)
    cleanup_leftovers(venvs)
    some_venv = next(iter(venvs.values()))
    pyo3 = "0.30"
    if "rusthook" in venvs:
        pyo3 = venvs["rusthook"].ask("import rusthook._core as c; print(c.PYO3_REQUIREMENT)")
    log(f"fetching pyo3 {pyo3} into cargo's registry (untimed)")
    prefetch(some_venv, pyo3)

    tools = make_tools(venvs, pyo3)
    bench = Bench(tools, pyo3, args.repeat, args.build_repeat)
    steps: dict[int, Callable[[], Row | list[Row]]] = {
        1: bench.first_import,
        2: bench.second_module,
        3: bench.up_to_date,
        4: bench.touch,
        5: bench.edit,
        6: bench.project_edit,
        7: bench.project_up_to_date,
        8: bench.stdlib_imports,
        9: bench.site_startup,
        10: bench.crate_check,
        11: bench.new_environment,
        12: bench.after_warm,
        13: bench.other_python,
        14: bench.sccache,
        15: bench.stubs,
        16: bench.xdist,
    }
    rows: list[Row] = []
    try:
        for number in scenarios:
            log(f"scenario {number}: {' '.join((steps[number].__doc__ or '').split())}")
            try:
                result = steps[number]()
            except BenchError as error:
                log(f"scenario {number} could not run: {error}")
                bench.notes.append(f"scenario {number} could not run: {error}")
                continue
            rows.extend(result if isinstance(result, list) else [result])
    finally:
        bench.drop_editables()  # the venvs are left as setup_venvs made them
    log("done")

    print_report(tools, rows, bench.targets, bench.notes, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
