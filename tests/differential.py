"""A differential model of freshness: random sequences of what users do to a module (edit
its source or a file it includes, set, change or unset a variable it reads, set or unset
RUSTFLAGS, add, edit or remove a `.cargo/config.toml` above it, touch a file, clear the
cache, build it in place, move its folder), each followed by an import in a fresh
interpreter. The value the module returns must be what the current inputs give, and a
step that changed nothing must build nothing.

The module is a bare `// rusthook` file: a CPython extension written against the C API
without pyo3, so that a change of RUSTFLAGS recompiles one small crate, not pyo3, and it
can be built in place. Used by `test_differential.py` (a short seeded run) and
`bench/differential_long.py` (a long one).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SOURCE = """\
// rusthook
//: [package]
//: name = "diff"
//: version = "0.1.0"
//: edition = "2021"
//: [lib]
//: crate-type = ["cdylib"]
#![allow(unexpected_cfgs, non_snake_case, static_mut_refs)]
use std::ffi::{{c_char, c_long, c_void, CString}};
use std::ptr::{{null, null_mut}};

const BASE: &str = "{base}";

#[repr(C)]
pub struct ModuleDef {{
    ob_refcnt: isize,
    ob_type: *mut c_void,
    m_init: *mut c_void,
    m_index: isize,
    m_copy: *mut c_void,
    m_name: *const c_char,
    m_doc: *const c_char,
    m_size: isize,
    m_methods: *mut c_void,
    m_slots: *mut c_void,
    m_traverse: *mut c_void,
    m_clear: *mut c_void,
    m_free: *mut c_void,
}}

extern "C" {{
    fn PyModule_Create2(def: *mut ModuleDef, api: i32) -> *mut c_void;
    fn PyModule_AddStringConstant(m: *mut c_void, name: *const c_char, value: *const c_char) -> i32;
    fn PyModule_AddIntConstant(m: *mut c_void, name: *const c_char, value: c_long) -> i32;
}}

static mut DEF: ModuleDef = ModuleDef {{
    ob_refcnt: 1,
    ob_type: null_mut(),
    m_init: null_mut(),
    m_index: 0,
    m_copy: null_mut(),
    m_name: c"diff".as_ptr(),
    m_doc: null(),
    m_size: -1,
    m_methods: null_mut(),
    m_slots: null_mut(),
    m_traverse: null_mut(),
    m_clear: null_mut(),
    m_free: null_mut(),
}};

fn value() -> String {{
    let mut cfgs = String::new();
    if cfg!(diff_x) {{ cfgs.push('x'); }}
    if cfg!(diff_y) {{ cfgs.push('y'); }}
    format!(
        "{{}}|{{}}|{{}}|{{}}",
        BASE,
        include_str!("diff_data.txt").trim(),
        option_env!("DIFF_NAME").unwrap_or("<unset>"),
        cfgs,
    )
}}

/// # Safety
/// Called once by the interpreter, with the GIL held.
#[no_mangle]
pub unsafe extern "C" fn PyInit_diff() -> *mut c_void {{
    let module = PyModule_Create2(&raw mut DEF, 1013);
    if module.is_null() {{
        return module;
    }}
    let text = CString::new(value()).unwrap_or_default();
    PyModule_AddStringConstant(module, c"value".as_ptr(), text.as_ptr());
    PyModule_AddIntConstant(module, c"pid".as_ptr(), std::process::id() as c_long);
    module
}}
"""

IMPORT = "import rusthook; rusthook.install(); import diff; print(diff.value)"


@dataclass
class State:
    """The inputs as the user has set them, and so the value a fresh build must give."""

    base: int = 0
    data: int = 0
    name: str | None = None  # DIFF_NAME in the importing process
    rustflags: bool = False  # RUSTFLAGS="--cfg diff_x"
    config: str | None = None  # the parent's .cargo/config.toml: "flags", "env", "both"
    config_edits: int = 0
    in_place: bool = False

    def expected(self) -> str:
        # RUSTFLAGS replaces build.rustflags from a config file; a variable the process
        # sets wins over the config's [env] (without `force`).
        cfgs = "x" if self.rustflags else ("y" if self.config in ("flags", "both") else "")
        name = self.name
        if name is None and self.config in ("env", "both"):
            name = f"cfg{self.config_edits}"
        return f"b{self.base}|d{self.data}|{name if name is not None else '<unset>'}|{cfgs}"


@dataclass
class Outcome:
    action: str
    value: str
    expected: str
    built: bool
    must_not_build: bool
    seconds: float


@dataclass
class Run:
    """One differential run in `folder` (its own build cache inside)."""

    folder: Path
    seed: int
    python: str = sys.executable
    state: State = field(default_factory=State)
    log: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.cache = self.folder / "cache"
        self.home = self.folder / "home"
        self.project = self.home / "work"
        self.project.mkdir(parents=True)
        self.write_source()
        self.write_data()

    @property
    def source(self) -> Path:
        return self.project / "diff.rs"

    def write_source(self) -> None:
        self.source.write_text(SOURCE.format(base=f"b{self.state.base}"))

    def write_data(self) -> None:
        (self.project / "diff_data.txt").write_text(f"d{self.state.data}\n")

    def write_config(self) -> None:
        config = self.home / ".cargo" / "config.toml"
        kind = self.state.config
        if kind is None:
            shutil.rmtree(config.parent, ignore_errors=True)
            return
        config.parent.mkdir(exist_ok=True)
        text = f"# edit {self.state.config_edits}\n"
        if kind in ("flags", "both"):
            text += '[build]\nrustflags = ["--cfg", "diff_y"]\n'
        if kind in ("env", "both"):
            text += f'[env]\nDIFF_NAME = "cfg{self.state.config_edits}"\n'
        config.write_text(text)

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RUSTHOOK_", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "DIFF_"))
        }
        env["RUSTHOOK_BUILD_DIR"] = str(self.cache)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        if self.state.name is not None:
            env["DIFF_NAME"] = self.state.name
        if self.state.rustflags:
            env["RUSTFLAGS"] = "--cfg diff_x"
        return env

    def python_in_project(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "-c", code],
            cwd=self.project,
            env=self.env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )

    # Each action changes the inputs (and the model with them) and says whether the
    # next import may build.
    def edit_source(self) -> bool:
        self.state.base += 1
        self.write_source()
        return True

    def edit_included(self) -> bool:
        self.state.data += 1
        self.write_data()
        return True

    def set_variable(self) -> bool:
        self.state.name = self.random.choice(["", "ann", "bob", f"n{self.random.randint(0, 9)}"])
        return True

    def unset_variable(self) -> bool:
        self.state.name = None
        return True

    def toggle_rustflags(self) -> bool:
        self.state.rustflags = not self.state.rustflags
        return True

    def change_config(self) -> bool:
        self.state.config = self.random.choice([None, "flags", "env", "both"])
        self.state.config_edits += 1
        self.write_config()
        return True

    def comment_config(self) -> bool:
        """A comment added to the config file: the same data, nothing to build."""
        config = self.home / ".cargo" / "config.toml"
        if not config.is_file():
            return False
        config.write_text(f"# a comment {self.random.random()}\n" + config.read_text())
        return False

    def touch(self) -> bool:
        later = time.time() + self.random.randint(1, 100)
        for path in (self.source, self.project / "diff_data.txt"):
            os.utime(path, (later, later))
        return False

    def nothing(self) -> bool:
        return False

    def clear_cache(self) -> bool:
        shutil.rmtree(self.cache, ignore_errors=True)
        return True

    def build_in_place(self) -> bool:
        done = self.python_in_project(
            "import rusthook; rusthook.build_filepath('diff.rs', in_place=True)"
        )
        assert done.returncode == 0, done.stderr
        self.state.in_place = True
        return True

    def move_folder(self) -> bool:
        moved = self.home / f"work{self.random.randint(0, 10**6)}"
        self.project.rename(moved)
        self.project = moved
        return True

    ACTIONS = (
        "edit_source",
        "edit_included",
        "set_variable",
        "unset_variable",
        "toggle_rustflags",
        "change_config",
        "comment_config",
        "touch",
        "nothing",
        "clear_cache",
        "build_in_place",
        "move_folder",
    )

    def step(self, action: str | None = None) -> Outcome:
        """Applies `action` (a random one when none is given), then imports."""
        action = action or self.random.choice(self.ACTIONS)
        may_build = getattr(self, action)()
        started = time.perf_counter()
        done = self.python_in_project(IMPORT)
        seconds = time.perf_counter() - started
        outcome = Outcome(
            action=action,
            value=done.stdout.strip() if done.returncode == 0 else f"<failed: {done.stderr}>",
            expected=self.state.expected(),
            built="rusthook: building " in done.stderr,
            must_not_build=not may_build,
            seconds=seconds,
        )
        self.log.append(outcome)
        return outcome

    def check(self, outcome: Outcome) -> str | None:
        """What is wrong with an outcome, said with the steps that led to it."""
        wrong = None
        if outcome.value != outcome.expected:
            wrong = f"imported {outcome.value!r}, the inputs give {outcome.expected!r}"
        elif outcome.must_not_build and outcome.built:
            wrong = "built although nothing changed"
        if wrong is None:
            return None
        steps = ", ".join(o.action for o in self.log)
        return f"seed {self.seed}, step {len(self.log)} ({outcome.action}): {wrong}; steps: {steps}"
