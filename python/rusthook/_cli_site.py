"""``python -m rusthook site``: the activation at every interpreter start."""

from __future__ import annotations

import argparse
import sys

from rusthook import _core, _site
from rusthook._cli_settings import core_settings, settings_of


def site_install(args: argparse.Namespace) -> None:
    core_settings(args)  # bad values are refused now, not at every start-up
    path = _site.install(args.user, settings_of(args))
    print(f"rusthook is now active at every start of {sys.executable} ({path})")


def site_uninstall(args: argparse.Namespace) -> None:
    path = _site.uninstall(args.user)
    if path is None:
        print(f"rusthook was not site-installed here ({_site.pth_path(args.user)})")
    else:
        print(f"removed {path}")


def site_info(args: argparse.Namespace) -> None:
    print(f"interpreter: {sys.executable}")
    for user in (False, True):
        where = "user site-packages" if user else "site-packages"
        try:
            path = _site.pth_path(user)
        except ValueError:
            print(f"{where}: not read by this interpreter")
            continue
        line = _site.installed_line(path)
        state = f"active ({_site.described(line)})" if line else "not installed"
        print(f"{where}: {state}\n  {path}")
    if not _core.hook_enabled():
        print("RUSTHOOK_ENABLED=0 is set: the hook stays off in this shell")
