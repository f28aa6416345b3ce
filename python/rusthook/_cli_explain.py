"""``python -m rusthook explain``: the core's explanation of a module, printed for people
or as JSON for tools."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from rusthook import _core
from rusthook._cli_settings import core_settings


def explain(args: argparse.Namespace) -> int:
    """Prints why `args.target` (a path or an import name) is up to date or not; the
    exit status is 0 when an import now would build nothing, else 1."""
    settings = core_settings(args)
    search_path = [os.getcwd(), *sys.path[1:]]
    text = _core.explain(args.target, search_path, settings)
    facts = json.loads(text)
    if args.json:
        print(text)
    else:
        print(_described(facts))
    return 0 if facts["fresh"] else 1


def _described(facts: dict[str, object]) -> str:
    verdict = "up to date" if facts["fresh"] else f"must be rebuilt: {facts['reason']}"
    lines = [f"{facts['module']} ({facts['kind']} {facts['source']}): {verdict}"]
    lines.append(f"  library: {facts['library'] or 'none yet'}")
    lines.append(f"  partition: {facts['partition']} (record {facts['record']})")
    built_at = facts["built_at"]
    if isinstance(built_at, int):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(built_at))
        lines.append(f"  built: {when}, in {facts['build_seconds']:.1f} s")
    variables = facts["variables"]
    assert isinstance(variables, list)
    lines.append(
        f"  inputs: {facts['files']} files, {len(variables)} environment variables "
        f"({', '.join(variables)}), {facts['watched_absent']} places where a "
        "configuration file would count"
    )
    in_place = facts["in_place"]
    if isinstance(in_place, dict):
        state = "up to date" if in_place["fresh"] else in_place["reason"]
        lines.append(f"  beside the source: {in_place['library']} ({in_place['owner']}: {state})")
    return "\n".join(lines)
