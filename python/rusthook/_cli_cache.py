"""``python -m rusthook cache``: what the build cache holds, clearing and pruning it."""

from __future__ import annotations

import argparse
import os
import time

from rusthook import _core


def _build_root(args: argparse.Namespace) -> str:
    settings = {"build_dir": args.build_dir} if args.build_dir else {}
    return _core.Settings(**settings).build_dir


def cache_info(args: argparse.Namespace) -> None:
    root = _build_root(args)
    partitions = _core.cache_summary(root)
    total = sum(size for _, size, _ in partitions)
    modules = sum(len(entries) for _, _, entries in partitions)
    print(f"build cache: {root}")
    print(f"size: {_megabytes(total)}, modules: {modules}")
    wrapper = os.environ.get("RUSTC_WRAPPER")
    print(
        f"compiler cache: {f'RUSTC_WRAPPER={wrapper}' if wrapper else 'none (RUSTC_WRAPPER is not set)'}"
    )
    last = _core.compiler_cache_last(root)
    if last is not None:
        used, module, hits, misses, errors = last
        print(
            f"  last build ({module}, under {used}): {hits} hits, {misses} misses, {errors} errors"
        )
    outage = _core.compiler_cache_outage(root)
    if outage is not None:
        failure, ago, lasts = outage
        print(f"  failed {ago} s ago ({failure}): builds go without it for {lasts - ago} s more")
    now = time.time()
    for abi_dir, size, entries in partitions:
        # The stable-ABI partition holds only what every CPython's abi3 builds compiled.
        what = f"{len(entries)} modules" if entries else "compiled dependencies only"
        print(f"  {os.path.basename(abi_dir)}: {what}, {_megabytes(size)}")
        for name, source, exists, module_size, last_used, state in entries:
            days = max(0, int((now - last_used) // 86_400))
            if state != "built":
                gone = f" ({state})"
            else:
                gone = "" if exists else " (source gone)"
            print(
                f"    {name or '?'}: {_megabytes(module_size)}, used {days} days ago, "
                f"from {source or '?'}{gone}"
            )


def cache_clear(args: argparse.Namespace) -> None:
    root = _build_root(args)
    freed = _core.cache_clear(root)
    print(f"cleared {root} ({_megabytes(freed)} freed)")


def cache_prune(args: argparse.Namespace) -> None:
    root = _build_root(args)
    removed = _core.cache_prune(root, args.older_than, args.max_size)
    for path, size, reason in removed:
        print(f"removed {path} ({_megabytes(size)}): {reason}")
    freed = sum(size for _, size, _ in removed)
    print(f"pruned {root}: {len(removed)} removed, {_megabytes(freed)} freed")


def size(text: str) -> int:
    """``500M``, ``2G``, ``1.5G``, ``4096`` (bytes) as a number of bytes."""
    units = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    number = text.strip().upper().removesuffix("B")
    factor = units.get(number[-1:], 1)
    try:
        return int(float(number.rstrip("KMGT")) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 500M, 2G)") from None


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
