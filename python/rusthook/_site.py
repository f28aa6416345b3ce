"""Activation at interpreter start: ``python -m rusthook site install`` writes a
``.pth`` file whose one line calls :func:`activate`. Kept tiny: it runs at every
interpreter start of the environment."""

import os
import sys

PTH_NAME = "rusthook_activate.pth"
HEADER = "# Written by `python -m rusthook site install`; remove with `python -m rusthook site uninstall`.\n"


def activate(**settings: object) -> None:
    """Installs the import hook; never lets a problem stop the interpreter from starting."""
    try:
        from rusthook._hook import install

        install(**settings)  # type: ignore[arg-type]
    except Exception as error:
        sys.stderr.write(f"rusthook: the import hook is not active: {error}\n")


def site_dir(user: bool) -> str:
    """The folder whose .pth files this interpreter runs at start-up."""
    if user:
        import site

        if not site.ENABLE_USER_SITE:
            raise ValueError(
                "this interpreter does not read the user site-packages (a virtual "
                "environment?); run `site install` without --user"
            )
        return site.getusersitepackages()
    import sysconfig

    return sysconfig.get_paths()["purelib"]


def pth_path(user: bool) -> str:
    return os.path.join(site_dir(user), PTH_NAME)


def install(user: bool, settings: dict[str, object]) -> str:
    """Writes the .pth file (replacing an earlier one); returns its path."""
    arguments = ", ".join(f"{key}={value!r}" for key, value in sorted(settings.items()))
    path = pth_path(user)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as pth:
        pth.write(HEADER)
        pth.write(f"import rusthook._site; rusthook._site.activate({arguments})\n")
    return path


def installed_line(path: str) -> "str | None":
    """The activation line of a .pth file written by :func:`install`, else None."""
    try:
        with open(path, encoding="utf-8") as pth:
            lines = pth.readlines()
    except OSError:
        return None
    if not lines or lines[0] != HEADER:
        return None
    return "".join(lines[1:]).strip()


def uninstall(user: bool) -> "str | None":
    """Removes the .pth file if :func:`install` wrote it; returns its path, or None."""
    path = pth_path(user)
    if installed_line(path) is None:
        return None
    os.remove(path)
    return path
