"""The report of bench.py: the results as a table (plain or Markdown), the footnote on
what each baseline is, rusthook's figures against their targets, every series in
detail, and the machine they were measured on. Standard library only.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path

from fixtures import Tool
from harness import REPO, Row, check, fmt_time


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    ratio = a / b
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


# rusthook's figures against their targets ("met" / "MISSED"), one line each.
def target_time(targets: list[str], label: str, mine: float | None, limit: float) -> None:
    if mine is None:
        targets.append(f"{label}: no figure (a series failed)")
        return
    verdict = "met" if mine <= limit else "MISSED"
    targets.append(f"{label}: {fmt_time(mine)} (target <= {fmt_time(limit)}): {verdict}")


def target_ratio(
    targets: list[str], label: str, mine: float | None, base: float | None, limit: float
) -> None:
    ratio = None if mine is None or not base else mine / base
    if ratio is None:
        targets.append(f"{label}: no figure (a series failed)")
        return
    verdict = "met" if ratio <= limit else "MISSED"
    targets.append(f"{label}: {ratio:.3f}x (target <= {limit:.2f}x): {verdict}")


def table(rows: list[Row], tools: list[str], markdown: bool) -> str:
    peers = [t for t in tools if t != "rusthook"]
    header = ["scenario", "runs", *tools, "baseline"]
    if "rusthook" in tools:
        header += [f"rusthook/{p}" for p in peers] + ["rusthook/baseline"]
    lines = []
    for row in rows:
        counts = ("-" if row.series[t].skipped else str(len(row.series[t].times)) for t in tools)
        cells = [row.title, "/".join(counts)]
        for tool in tools:
            s = row.series[tool]
            cell = "failed" if s.error else fmt_time(s.median)
            flag = row.flag(tool)
            cells.append(f"{cell} ({flag})" if flag else cell)
        base = row.baseline.median if row.baseline else None
        cells.append(fmt_time(base))
        if "rusthook" in tools:
            mine = row.series["rusthook"].median
            cells += [fmt_ratio(mine, row.series[p].median) for p in peers]
            cells.append(fmt_ratio(mine, base))
        lines.append(cells)
    if markdown:
        out = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        ]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def footnote(rows: list[Row]) -> str:
    """What each row's numbers and baseline are."""
    baselines: dict[str, str] = {}
    for row in rows:
        if row.baseline is not None:
            baselines.setdefault(row.title.split(".")[0], row.baseline_name)
    text = (
        "Medians of fresh-process runs, each timed from start to exit; rows marked "
        "in-process show the median of times measured inside each process instead. "
        '"runs" counts the runs (processes) per tool; "-" means the tool has no such feature.'
    )
    if baselines:
        text += " Baselines: " + "; ".join(f"{k}. {v}" for k, v in baselines.items()) + "."
    return text


def details(rows: list[Row], tools: list[str]) -> list[str]:
    """Min / median / max of every series, baselines, and every failure."""
    out = []
    for row in rows:
        named = [(t, row.series[t]) for t in tools]
        if row.baseline is not None:
            named.append((f"baseline: {row.baseline_name}", row.baseline))
        for name, s in named:
            if s.skipped:
                out.append(f"{row.title} / {name}: not applicable, {s.skipped}")
            elif s.error:
                out.append(f"{row.title} / {name}: FAILED, {s.error}")
            elif s.times:
                out.append(
                    f"{row.title} / {name}: n={len(s.times)}, median {fmt_time(s.median)}, "
                    f"min {fmt_time(min(s.times))}, max {fmt_time(max(s.times))}"
                    f", builds {sum(s.builds)}/{len(s.builds)}"
                )
    return out


def machine(tools: dict[str, Tool]) -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rustc = check(["rustc", "-V"]).strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    versions = []
    dists = {
        "rusthook": "rusthook",
        "rustimport": "rustimport",
        "maturin_import_hook": "maturin-import-hook",
    }
    for name, tool in tools.items():
        code = f"import importlib.metadata as m; print(m.version({dists[name]!r}))"
        versions.append(f"{name} {tool.venv.ask(code)}")
        if name == "maturin_import_hook":
            versions.append(f"maturin {tool.venv.ask(code.replace(dists[name], 'maturin'))}")
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine: {cores} cores (nproc), {cpu}, {platform.system()} {platform.release()}, "
        f"load average at start {load}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"rust: {rustc}",
        f"tools: {', '.join(versions)}; rusthook at commit {commit or '?'}",
    ]


def print_report(
    tools: dict[str, Tool], rows: list[Row], targets: list[str], notes: list[str], markdown: bool
) -> None:
    """The results on stdout: machine, table, footnote, targets, then every series."""
    names = list(tools)
    if markdown:
        print("\n".join(f"- {line}" for line in machine(tools)))
        print()
        print(table(rows, names, markdown=True))
        print()
        print(footnote(rows))
        print()
        if targets:
            print("Targets:\n")
            print("\n".join(f"- {line}" for line in targets))
            print()
        print("<details><summary>all series</summary>\n")
        for line in details(rows, names) + notes:
            print(f"- {line}".replace("\n", "\n  "))
        print("\n</details>")
    else:
        print("\n".join(machine(tools)))
        print()
        print(table(rows, names, markdown=False))
        print()
        print(footnote(rows))
        print()
        if targets:
            print("Targets:")
            print("\n".join(f"  {line}" for line in targets))
            print()
        for line in details(rows, names) + notes:
            print(line)
