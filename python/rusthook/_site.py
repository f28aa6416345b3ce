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


def activation_line(settings: dict[str, object]) -> str:
    """The .pth line: activates the hook, and does nothing at all once rusthook has been
    uninstalled (a .pth line must start with ``import``; the rest runs as one statement)."""
    arguments = ", ".join(f"{key}={value!r}" for key, value in sorted(settings.items()))
    body = (
        "try:\n import rusthook._site\n"
        "except ModuleNotFoundError as e:\n"
        " if e.name not in ('rusthook', 'rusthook._site'): raise\n"
        f"else:\n rusthook._site.activate({arguments})"
    )
    return f"import sys; exec({body!r})\n"


def install(user: bool, settings: dict[str, object]) -> str:
    """Writes the .pth file (replacing an earlier one of rusthook's, never another's) and
    lists it among rusthook's installed files, so that uninstalling rusthook removes it;
    returns its path."""
    path = pth_path(user)
    if os.path.exists(path) and installed_line(path) is None:
        raise ValueError(
            f"{path} exists and was not written by rusthook; remove it or rename it, "
            "then run `site install` again"
        )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as pth:
        pth.write(HEADER)
        pth.write(activation_line(settings))
    _list_in_record(path)
    return path


def _record_file(pth: str) -> "str | None":
    """rusthook's own RECORD (its list of installed files), if it was installed into the
    folder that holds ``pth``: installers remove what RECORD lists on uninstall."""
    from importlib import metadata

    try:
        files = metadata.distribution("rusthook").files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "RECORD" and file.parent.name.endswith(".dist-info"):
            record = str(file.locate())
            site_dir = os.path.dirname(os.path.dirname(record))
            if os.path.samefile(site_dir, os.path.dirname(pth)):
                return record
    return None


def _list_in_record(pth: str, listed: bool = True) -> None:
    """Adds ``pth`` to rusthook's RECORD (or, with ``listed=False``, removes it)."""
    record = _record_file(pth)
    if record is None:
        return
    line = f"{os.path.basename(pth)},,\n"
    with open(record, encoding="utf-8") as file:
        lines = [other for other in file.readlines() if other != line]
    if listed:
        lines.append(line)
    with open(record, "w", encoding="utf-8") as file:
        file.writelines(lines)


def described(line: str) -> str:
    """The call an activation line makes: ``activate(release=True)``."""
    start = line.find("rusthook._site.activate(")
    return line[start:].split(")", 1)[0] + ")" if start >= 0 else line


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
    _list_in_record(path, listed=False)
    return path
