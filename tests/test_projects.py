"""Editable maturin projects (`pip install -e`) are rebuilt on import when stale."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import rusthook
from conftest import EXTENSION_END, Project, kept_cargo_target, venv_python

PYO3 = 'pyo3 = { version = "0.30", features = ["abi3-py39"] }'


class Env:
    """A virtual environment with maturin, cffi and this checkout's rusthook."""

    def __init__(self, root: Path, pip_target: Path) -> None:
        self.root = root
        self.pip_target = pip_target
        # uv makes it (with pip, which installs the projects) and installs its tools, in
        # seconds where pip takes a minute.
        uv = [sys.executable, "-m", "uv"]
        subprocess.run([*uv, "venv", "--quiet", "--seed", str(root)], check=True)
        self.python = venv_python(root)
        # uniffi-bindgen must match the uniffi crate of the uniffi fixture (0.31).
        tools = ["maturin>=1.9.4,<2", "cffi", "uniffi-bindgen==0.31.0"]
        subprocess.run(
            [*uv, "pip", "install", "--quiet", "--python", str(self.python), *tools], check=True
        )
        site_packages = subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        package_parent = Path(rusthook.__file__).resolve().parent.parent
        Path(site_packages, "_rusthook_under_test.pth").write_text(f"{package_parent}\n")

    def pip(self, *args: str) -> None:
        # One target directory for every `pip install -e` build of the session.
        # As with an activated environment (maturin runs uniffi-bindgen from PATH);
        # the imports under test run with the environment not activated.
        env = dict(
            os.environ,
            CARGO_TARGET_DIR=str(self.pip_target),
            PATH=f"{self.python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        subprocess.run([str(self.python), "-m", "pip", *args], check=True, env=env)

    def install_editable(self, path: Path) -> None:
        self.pip("install", "--quiet", "--no-build-isolation", "-e", str(path))


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """The session's environment (one per pytest-xdist process: it takes seconds to make,
    and each test's project has a crate name of its own in the shared target folder)."""
    return Env(tmp_path_factory.mktemp("venv"), kept_cargo_target("pip", tmp_path_factory))


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def cargo_toml(name: str, dependencies: str = PYO3, lib: bool = True) -> str:
    crate_type = '[lib]\ncrate-type = ["cdylib"]\n' if lib else ""
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n{crate_type}[dependencies]\n{dependencies}\n'


def pyproject(name: str, maturin: str = "") -> str:
    return (
        '[build-system]\nrequires = ["maturin>=1.9.4,<2"]\nbuild-backend = "maturin"\n'
        f'[project]\nname = "{name}"\nversion = "0.1.0"\n[tool.maturin]\neditable-profile = "dev"\n{maturin}'
    )


def pyo3_lib(module: str, value: str = "1") -> str:
    return f"""\
        use pyo3::prelude::*;

        #[pymodule]
        mod {module} {{
            use pyo3::prelude::*;

            #[pyfunction]
            fn value() -> i64 {{
                {value} // value
            }}
        }}
        """


def unactivated_offline(project: Project, **extra: str) -> dict[str, str]:
    """The venv's python run as is (no VIRTUAL_ENV, its scripts not on PATH), and cargo
    offline: rebuilds need nothing but cargo's cache."""
    env = project.env(CARGO_NET_OFFLINE="true", **extra)
    env.pop("VIRTUAL_ENV", None)
    return env


class Scenario:
    """Runs `import <name>` with the hook active in the project venv."""

    def __init__(self, env: Env, project: Project, name: str, **extra_env: str) -> None:
        self.env = env
        self.project = project
        self.name = name
        self.extra_env = extra_env

    def value(self) -> tuple[str, bool]:
        code = (
            f"import rusthook; rusthook.install(); import {self.name}; print({self.name}.value())"
        )
        return run_in(self.env, self.project, code, self.name, **self.extra_env)


def edit_cycle(scenario: Scenario, source: Path, unrelated: Path) -> None:
    """First import, fresh import, touch, unrelated file, edit."""
    assert scenario.value()[0] == "1"
    assert scenario.value() == ("1", False), "up to date: no build"
    later = time.time() + 5
    os.utime(source, (later, later))
    assert scenario.value() == ("1", False), "touched but unchanged: no build"
    unrelated.parent.mkdir(parents=True, exist_ok=True)
    unrelated.write_text("not an input\n")
    assert scenario.value() == ("1", False), "a file the build does not read: no build"
    text = source.read_text()
    assert "1 // value" in text
    source.write_text(text.replace("1 // value", "2 // value"))
    assert scenario.value() == ("2", True), "edited: rebuilt, new code loaded"
    assert scenario.value() == ("2", False)


def test_pure_pyo3_project(env: Env, project: Project) -> None:
    root = project.root / "pure_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("pure_proj"),
            "Cargo.toml": cargo_toml("pure_proj"),
            "src/lib.rs": pyo3_lib("pure_proj"),
        },
    )
    env.install_editable(root)
    edit_cycle(Scenario(env, project, "pure_proj"), root / "src/lib.rs", root / "README.md")


def test_activation_at_interpreter_start_rebuilds_the_environments_projects(
    env: Env, project: Project
) -> None:
    # A virtual environment's `.pth` files first run before `site` has pointed its
    # prefixes at the environment: the hook must still index the environment's own
    # site-packages, not the base interpreter's.
    root = project.root / "started_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("started_proj"),
            "Cargo.toml": cargo_toml("started_proj"),
            "src/lib.rs": pyo3_lib("started_proj"),
        },
    )
    env.install_editable(root)
    assert Scenario(env, project, "started_proj").value()[0] == "1"
    site = [str(env.python), "-m", "rusthook", "site"]
    subprocess.run([*site, "install"], check=True, env=unactivated_offline(project))
    try:
        source = root / "src/lib.rs"
        source.write_text(source.read_text().replace("1 // value", "2 // value"))
        code = "import started_proj; print(started_proj.value())"
        assert run_in(env, project, code, "started_proj") == ("2", True)
        assert run_in(env, project, code, "started_proj") == ("2", False)
    finally:
        subprocess.run([*site, "uninstall"], check=True, env=unactivated_offline(project))


def test_mixed_project_with_python_source(env: Env, project: Project) -> None:
    root = project.root / "mixed_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject(
                "mixed_proj", 'python-source = "python"\nmodule-name = "mixed_proj._native"\n'
            ),
            "Cargo.toml": cargo_toml("mixed_proj"),
            "src/lib.rs": pyo3_lib("_native"),
            "python/mixed_proj/__init__.py": "from mixed_proj._native import value\n",
        },
    )
    env.install_editable(root)
    scenario = Scenario(env, project, "mixed_proj")
    edit_cycle(scenario, root / "src/lib.rs", root / "docs/notes.txt")
    # Python files are live in an editable install: editing one needs no build.
    init = root / "python/mixed_proj/__init__.py"
    init.write_text(init.read_text() + "EXTRA = 1\n")
    assert scenario.value() == ("2", False)


def test_mixed_project_with_implicit_package_folder(env: Env, project: Project) -> None:
    root = project.root / "implicit_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("implicit_proj", 'module-name = "implicit_proj._native"\n'),
            "Cargo.toml": cargo_toml("implicit_proj"),
            "src/lib.rs": pyo3_lib("_native"),
            "implicit_proj/__init__.py": "from implicit_proj._native import value\n",
        },
    )
    env.install_editable(root)
    edit_cycle(
        Scenario(env, project, "implicit_proj"), root / "src/lib.rs", root / "target/junk.txt"
    )


def test_rust_crate_in_a_subfolder(env: Env, project: Project) -> None:
    root = project.root / "sub_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject(
                "sub_proj",
                'manifest-path = "rust/Cargo.toml"\npython-source = "python"\nmodule-name = "sub_proj._native"\n',
            ),
            "rust/Cargo.toml": cargo_toml("sub_proj"),
            "rust/src/lib.rs": pyo3_lib("_native"),
            "python/sub_proj/__init__.py": "from sub_proj._native import value\n",
        },
    )
    env.install_editable(root)
    edit_cycle(Scenario(env, project, "sub_proj"), root / "rust/src/lib.rs", root / ".git/HEAD")


def test_workspace_with_path_dependencies_two_levels_deep(env: Env, project: Project) -> None:
    root = project.root / "ws_proj"
    write(
        root,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\nresolver = "2"\n',
            "pyproject.toml": pyproject(
                "ws_proj", 'manifest-path = "crates/binding/Cargo.toml"\nmodule-name = "ws_proj"\n'
            ),
            "crates/binding/Cargo.toml": cargo_toml(
                "ws_proj", PYO3 + '\nws_core = { path = "../core" }'
            ),
            "crates/binding/src/lib.rs": pyo3_lib("ws_proj", "ws_core::value()").replace(
                " // value", ""
            ),
            "crates/core/Cargo.toml": cargo_toml(
                "ws_core", 'ws_leaf = { path = "../leaf" }', lib=False
            ),
            "crates/core/src/lib.rs": "pub fn value() -> i64 {\n    ws_leaf::value()\n}\n",
            "crates/leaf/Cargo.toml": cargo_toml("ws_leaf", "", lib=False),
            "crates/leaf/src/lib.rs": "pub fn value() -> i64 {\n    1 // value\n}\n",
        },
    )
    env.install_editable(root)
    # The edit lands two path dependencies below the binding crate.
    edit_cycle(
        Scenario(env, project, "ws_proj"), root / "crates/leaf/src/lib.rs", root / "notes.md"
    )
    lock = root / "Cargo.lock"
    assert lock.exists()


# The layouts of maturin's own example projects, each in a fixture of its own: where
# maturin finds the crate and the Python package, and where an editable install puts
# the library.

PYO3_VERSION_SPECIFIC = 'pyo3 = { version = "0.30" }'


def test_mixed_project_whose_extension_has_the_packages_name(env: Env, project: Project) -> None:
    # `same_name/same_name.cpython-*.so`: no module-name, the [lib] name is the package's,
    # and the build is version-specific (no abi3).
    root = project.root / "same-name"
    write(
        root,
        {
            "pyproject.toml": pyproject("same-name", 'include = ["same_name/assets/*"]\n')
            + '\n[project.scripts]\nsame-value = "same_name:value"\n',
            "Cargo.toml": cargo_toml("same-name", PYO3_VERSION_SPECIFIC).replace(
                "[lib]\n", '[lib]\nname = "same_name"\n'
            ),
            "src/lib.rs": pyo3_lib("same_name"),
            "same_name/__init__.py": "from .same_name import value\n",
            "same_name/assets/asset.txt": "data\n",
        },
    )
    env.install_editable(root)
    installed = list((root / "same_name").glob("same_name.*"))
    assert [p.name for p in installed] == [f"same_name{sysconfig_ext_suffix(env)}"], installed
    edit_cycle(
        Scenario(env, project, "same_name"), root / "src/lib.rs", root / "same_name/assets/b.txt"
    )


def sysconfig_ext_suffix(env: Env) -> str:
    return subprocess.run(
        [str(env.python), "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_src_layout_with_the_crate_in_rust(env: Env, project: Project) -> None:
    # No manifest-path: maturin finds rust/Cargo.toml because src/<package> exists.
    root = project.root / "src-layout"
    write(
        root,
        {
            "pyproject.toml": pyproject(
                "src-layout", 'python-packages = ["src_layout", "src_layout_extra"]\n'
            ),
            "rust/Cargo.toml": cargo_toml("src-layout").replace(
                "[lib]\n", '[lib]\nname = "src_layout"\n'
            ),
            "rust/src/lib.rs": pyo3_lib("src_layout"),
            "src/src_layout/__init__.py": "from .src_layout import value\n",
            "src/src_layout_extra/__init__.py": "EXTRA = 1\n",
        },
    )
    env.install_editable(root)
    assert list((root / "src/src_layout").glob(f"src_layout.*{EXTENSION_END}")), (
        "installed into src/"
    )
    edit_cycle(
        Scenario(env, project, "src_layout"), root / "rust/src/lib.rs", root / "src/notes.txt"
    )


def test_mixed_project_whose_extension_is_a_workspace_member(env: Env, project: Project) -> None:
    # The extension crate is one member, the Rust logic another (inherited version and
    # dependency), the package in src/, and the module name has a package part.
    root = project.root / "ws-mixed"
    member = '[package]\nname = "{}"\nversion.workspace = true\nedition = "2021"\n'
    write(
        root,
        {
            "pyproject.toml": pyproject(
                "ws-mixed",
                'python-packages = ["ws_mixed"]\n'
                'module-name = "ws_mixed.ws_mixed_py"\n'
                'manifest-path = "rust/python/ws-mixed-py/Cargo.toml"\n',
            ),
            "rust/Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["logic", "python/ws-mixed-py"]\n'
            '[workspace.package]\nversion = "0.1.0"\n'
            '[workspace.dependencies]\nws-mixed-logic = { path = "logic" }\n',
            "rust/logic/Cargo.toml": member.format("ws-mixed-logic"),
            "rust/logic/src/lib.rs": "pub fn value() -> i64 {\n    1 // value\n}\n",
            "rust/python/ws-mixed-py/Cargo.toml": member.format("ws-mixed-py")
            + '[lib]\nname = "ws_mixed_py"\ncrate-type = ["cdylib"]\n'
            + f"[dependencies]\n{PYO3}\nws-mixed-logic.workspace = true\n",
            "rust/python/ws-mixed-py/src/lib.rs": pyo3_lib(
                "ws_mixed_py", "ws_mixed_logic::value()"
            ).replace(" // value", ""),
            "src/ws_mixed/__init__.py": "from .ws_mixed_py import value\n",
        },
    )
    env.install_editable(root)
    edit_cycle(
        Scenario(env, project, "ws_mixed"), root / "rust/logic/src/lib.rs", root / "rust/README.md"
    )


BUILD_SCRIPT = """\
    use std::{env, fs, path::Path};

    fn main() {
        println!("cargo:rerun-if-changed=value.txt");
        let text = fs::read_to_string("value.txt").unwrap();
        let value: i64 = text.split_whitespace().next().unwrap().parse().unwrap();
        let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
        fs::write(out.join("value.rs"), format!("pub const VALUE: i64 = {value} * FACTOR;")).unwrap();
        fs::write(out.join("generated.txt"), format!("{value}")).unwrap();
    }
    """


def test_build_script_inputs_and_include_exclude(env: Env, project: Project) -> None:
    # A build script turns a data file into code: the file and the script are inputs.
    # It also writes a file that the install copies from OUT_DIR into the package.
    root = project.root / "scripted"
    write(
        root,
        {
            "pyproject.toml": pyproject(
                "scripted",
                'include = ["scripted/data/*", '
                '{ path = "generated.txt", from = "out-dir", to = "scripted/" }]\n'
                'exclude = ["scripted/ignored.txt"]\n',
            ),
            "Cargo.toml": cargo_toml("scripted"),
            "build.rs": BUILD_SCRIPT,
            "value.txt": "1 // value\n",
            "src/lib.rs": """\
                const FACTOR: i64 = 1;
                include!(concat!(env!("OUT_DIR"), "/value.rs"));

                #[pyo3::pymodule]
                mod scripted {
                    #[pyfunction]
                    fn value() -> i64 {
                        super::VALUE
                    }
                    use pyo3::prelude::*;
                }
                """,
            "scripted/__init__.py": "from .scripted import value\n",
            "scripted/data/table.txt": "1\n",
            "scripted/ignored.txt": "x\n",
        },
    )
    env.install_editable(root)
    generated = root / "scripted/generated.txt"
    assert generated.read_text() == "1", "copied out of OUT_DIR by the install"
    scenario = Scenario(env, project, "scripted")
    edit_cycle(scenario, root / "value.txt", root / "scripted/data/more.txt")
    assert generated.read_text() == "2", "and again by the rebuild"
    script = root / "build.rs"
    script.write_text(script.read_text().replace("{value} * FACTOR", "{value} * FACTOR * 10"))
    assert scenario.value() == ("20", True), "an edited build script rebuilds"


def test_features_from_pyproject(env: Env, project: Project) -> None:
    # pyo3 itself is an optional dependency, enabled by [tool.maturin] features.
    root = project.root / "featured"
    write(
        root,
        {
            "pyproject.toml": pyproject("featured", 'features = ["pyo3", "exact"]\n'),
            "Cargo.toml": cargo_toml("featured", PYO3.replace(" }", ", optional = true }"))
            + "[features]\nexact = []\n",
            "src/lib.rs": """\
                #[cfg(feature = "exact")]
                const FACTOR: i64 = 1;
                #[cfg(not(feature = "exact"))]
                const FACTOR: i64 = 100;

                #[cfg(feature = "pyo3")]
                #[pyo3::pymodule]
                mod featured {
                    use pyo3::prelude::*;

                    #[pyfunction]
                    fn value() -> i64 {
                        super::FACTOR * {
                            1 // value
                        }
                    }
                }
                """,
        },
    )
    env.install_editable(root)
    edit_cycle(Scenario(env, project, "featured"), root / "src/lib.rs", root / "benches/x.rs")


def test_pure_workspace_root_with_a_path_dependency_outside_the_project(
    env: Env, project: Project
) -> None:
    # The project's crate is also its workspace's root, its [lib] name is not the
    # package's, and its Rust logic lives in a folder beside the project.
    outside = project.root / "outside-dep"
    write(
        outside,
        {
            "Cargo.toml": cargo_toml("outside-dep", "", lib=False),
            "src/lib.rs": "pub fn value() -> i64 {\n    1 // value\n}\n",
        },
    )
    root = project.root / "rooted"
    write(
        root,
        {
            "pyproject.toml": pyproject("rooted-py"),
            "Cargo.toml": cargo_toml(
                "rooted-crate", PYO3 + '\noutside-dep = { path = "../outside-dep" }'
            ).replace("[lib]\n", '[lib]\nname = "rooted"\n')
            + '[workspace]\nmembers = [".", "helper"]\n',
            "src/lib.rs": pyo3_lib("rooted", "outside_dep::value()").replace(" // value", ""),
            "helper/Cargo.toml": cargo_toml("rooted-helper", "", lib=False),
            "helper/src/lib.rs": "pub fn unused() {}\n",
        },
    )
    env.install_editable(root)
    edit_cycle(Scenario(env, project, "rooted"), outside / "src/lib.rs", root / "helper/notes.txt")


FFI_LIB = """\
    use std::ptr;

    use pyo3_ffi::*;

    static mut MODULE_DEF: PyModuleDef = PyModuleDef {
        m_base: PyModuleDef_HEAD_INIT,
        m_name: c"ffi_proj".as_ptr(),
        m_doc: ptr::null(),
        m_size: 0,
        m_methods: (&raw mut METHODS).cast(),
        m_slots: ptr::null_mut(),
        m_traverse: None,
        m_clear: None,
        m_free: None,
    };

    static mut METHODS: [PyMethodDef; 2] = [
        PyMethodDef {
            ml_name: c"value".as_ptr(),
            ml_meth: PyMethodDefPointer { PyCFunction: value },
            ml_flags: METH_NOARGS,
            ml_doc: ptr::null(),
        },
        PyMethodDef::zeroed(),
    ];

    unsafe extern "C" fn value(_module: *mut PyObject, _args: *mut PyObject) -> *mut PyObject {
        PyLong_FromLong(
            1 // value
        )
    }

    #[allow(non_snake_case)]
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn PyInit_ffi_proj() -> *mut PyObject {
        PyModule_Create(&raw mut MODULE_DEF)
    }
    """


def test_project_on_pyo3_ffi_alone(env: Env, project: Project) -> None:
    # pyo3-ffi without pyo3: maturin's pyo3 bindings all the same.
    root = project.root / "ffi_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("ffi_proj"),
            "Cargo.toml": cargo_toml(
                "ffi_proj", 'pyo3-ffi = { version = "0.30", features = ["abi3-py39"] }'
            ),
            "src/lib.rs": FFI_LIB,
        },
    )
    env.install_editable(root)
    edit_cycle(Scenario(env, project, "ffi_proj"), root / "src/lib.rs", root / "README.md")


def test_project_in_a_workspace_whose_root_package_it_depends_on(
    env: Env, project: Project
) -> None:
    # The workspace root is a package of its own (listed after it as "."), which the
    # maturin project in a member folder depends on; the root's pyproject.toml is not
    # maturin's.
    root = project.root / "inverted"
    write(
        root,
        {
            "Cargo.toml": '[workspace]\nmembers = [".", "binding"]\n'
            '[package]\nname = "inverted-core"\nversion = "0.1.0"\nedition = "2021"\n',
            "pyproject.toml": "[tool.other]\nvalue = 1\n",
            "src/lib.rs": "pub fn value() -> i64 {\n    1 // value\n}\n",
            "binding/pyproject.toml": pyproject("inverted_binding"),
            "binding/Cargo.toml": cargo_toml(
                "inverted_binding", PYO3 + '\ninverted-core = { path = ".." }'
            ),
            "binding/src/lib.rs": pyo3_lib("inverted_binding", "inverted_core::value()").replace(
                " // value", ""
            ),
        },
    )
    env.install_editable(root / "binding")
    edit_cycle(Scenario(env, project, "inverted_binding"), root / "src/lib.rs", root / "notes.txt")


def test_a_removed_library_is_built_again_or_named_where_it_belongs(
    env: Env, project: Project
) -> None:
    root = project.root / "gone_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("gone_proj"),
            "Cargo.toml": cargo_toml("gone_proj"),
            "src/lib.rs": pyo3_lib("gone_proj"),
            "gone_proj/__init__.py": "from .gone_proj import value\n",
        },
    )
    env.install_editable(root)
    (library,) = (root / "gone_proj").glob(f"gone_proj.*{EXTENSION_END}")
    # Removed before rusthook ever built it (`git clean -fdx`): nowhere to put a build.
    library.unlink()
    code = "import rusthook; rusthook.install(); import gone_proj"
    completed = subprocess.run(
        [str(env.python), "-c", code],
        cwd=project.root.parent,
        env=unactivated_offline(project),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 1
    assert completed.stderr.splitlines()[-1] == (
        f"rusthook.RusthookError: the editable project `gone_proj` ({root}) has no installed "
        f"library ({root}/gone_proj/gone_proj.*); install it once with `pip install -e {root}` "
        "(or `maturin develop`)"
    ), completed.stderr
    env.install_editable(root)
    scenario = Scenario(env, project, "gone_proj")
    assert scenario.value() == ("1", True)
    # Removed after a build: built again where the last build put it.
    library.unlink()
    assert scenario.value() == ("1", True)
    assert library.is_file()
    assert scenario.value() == ("1", False)


def test_crate_without_pyproject_toml_installed_by_maturin_develop(
    env: Env, project: Project
) -> None:
    # maturin needs no pyproject.toml: `maturin develop` installs a bare crate and
    # records its folder as the editable source.
    root = project.root / "bare_crate"
    write(root, {"Cargo.toml": cargo_toml("bare_crate"), "src/lib.rs": pyo3_lib("bare_crate")})
    shared = {"CARGO_TARGET_DIR": str(env.pip_target)}
    subprocess.run(
        [str(env.python), "-m", "maturin", "develop", "--quiet"],
        cwd=root,
        env=dict(os.environ, VIRTUAL_ENV=str(env.root), **shared),
        check=True,
    )
    # The profile of maturin's last build (debug) is found in the shared target folder.
    scenario = Scenario(env, project, "bare_crate", **shared)
    edit_cycle(scenario, root / "src/lib.rs", root / "notes.md")


# uv installs editable projects as pip does (same .dist-info, direct_url.json and
# maturin editable wheel), in isolated build environments by default.


def uv(*args: str, cwd: Path, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "uv", *args], cwd=cwd, env=env, check=True)


@pytest.fixture(scope="session")
def uv_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The target directory of uv's builds: its isolated build environments give pyo3
    another interpreter than pip's builds, so they get a directory of their own."""
    return kept_cargo_target("uv", tmp_path_factory)


def uv_env(project: Project, uv_target: Path) -> dict[str, str]:
    env = project.env(CARGO_TARGET_DIR=str(uv_target), UV_PYTHON_DOWNLOADS="never")
    env.pop("VIRTUAL_ENV", None)
    return env


def test_project_installed_by_uv_pip(env: Env, project: Project, uv_target: Path) -> None:
    root = project.root / "uv_pip_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("uv_pip_proj", 'python-source = "python"\n'),
            "Cargo.toml": cargo_toml("uv_pip_proj"),
            "src/lib.rs": pyo3_lib("uv_pip_proj"),
            "python/uv_pip_proj/__init__.py": "from .uv_pip_proj import value\n",
        },
    )
    uv(
        "pip",
        "install",
        "--quiet",
        "--python",
        str(env.python),
        "-e",
        str(root),
        cwd=project.root,
        env=uv_env(project, uv_target),
    )
    (dist_info,) = Path(sysconfig_purelib(env)).glob("uv_pip_proj-*.dist-info")
    assert (dist_info / "INSTALLER").read_text().strip() == "uv"
    edit_cycle(Scenario(env, project, "uv_pip_proj"), root / "src/lib.rs", root / "docs/x.md")


def sysconfig_purelib(env: Env) -> str:
    return subprocess.run(
        [str(env.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_uv_workspace_of_maturin_projects_with_uv_sync_and_uv_run(
    project: Project, uv_target: Path
) -> None:
    # A uv workspace whose root is no package, with a pure and a mixed maturin member:
    # `uv sync` installs both editable into the workspace's .venv, and `uv run`
    # imports them with the hook active.
    workspace = project.root / "uv-ws"
    members = {}
    for member, maturin, lib in [
        ("alpha", "", pyo3_lib("uvws_alpha")),
        (
            "beta",
            'python-source = "python"\nmodule-name = "uvws_beta._native"\n',
            pyo3_lib("_native"),
        ),
    ]:
        name = f"uvws_{member}"
        members.update(
            {
                f"packages/{member}/pyproject.toml": pyproject(f"uvws-{member}", maturin),
                f"packages/{member}/Cargo.toml": cargo_toml(f"uvws-{member}").replace(
                    "[lib]\n", f'[lib]\nname = "{name}"\n'
                ),
                f"packages/{member}/src/lib.rs": lib,
            }
        )
    write(
        workspace,
        {
            "pyproject.toml": """\
                [project]
                name = "uvws"
                version = "0.1.0"
                requires-python = ">=3.9"
                dependencies = ["uvws-alpha", "uvws-beta"]

                [tool.uv.sources]
                uvws-alpha = { workspace = true }
                uvws-beta = { workspace = true }

                [tool.uv.workspace]
                members = ["packages/*"]
                """,
            **members,
            "packages/beta/python/uvws_beta/__init__.py": "from ._native import value\n",
        },
    )
    env = uv_env(project, uv_target)
    uv("sync", "--quiet", "--python", sys.executable, cwd=workspace, env=env)
    venv_site = next((workspace / ".venv/lib").glob("python3*/site-packages"))
    package_parent = Path(rusthook.__file__).resolve().parent.parent
    (venv_site / "_rusthook_under_test.pth").write_text(f"{package_parent}\n")

    def values() -> tuple[str, bool, bool]:
        code = (
            "import rusthook; rusthook.install(); import uvws_alpha, uvws_beta; "
            "print(uvws_alpha.value(), uvws_beta.value())"
        )
        completed = subprocess.run(
            [sys.executable, "-m", "uv", "run", "--quiet", "python", "-c", code],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert completed.returncode == 0, completed.stderr
        built = [
            f"rusthook: building {name} " in completed.stderr
            for name in ("uvws_alpha", "uvws_beta")
        ]
        return completed.stdout.strip(), built[0], built[1]

    assert values()[0] == "1 1"
    assert values() == ("1 1", False, False), "up to date: no build"
    for member in ("alpha", "beta"):
        source = workspace / f"packages/{member}/src/lib.rs"
        source.write_text(source.read_text().replace("1 // value", "2 // value"))
    assert values() == ("2 2", True, True), "both edited: both rebuilt"
    assert values() == ("2 2", False, False)


@pytest.mark.slow
def test_metadata_changes_ask_for_a_reinstall(env: Env, project: Project) -> None:
    # The installer wrote version, dependencies and entry points from pyproject.toml;
    # rebuilding the library does not rewrite them, so a change raises until the
    # project is reinstalled, naming the command.
    root = project.root / "meta_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("meta_proj")
            + '\n[project.scripts]\nmeta-value = "meta_proj:value"\n',
            "Cargo.toml": cargo_toml("meta_proj"),
            "src/lib.rs": pyo3_lib("meta_proj"),
        },
    )
    env.install_editable(root)
    scenario = Scenario(env, project, "meta_proj")
    assert scenario.value() == ("1", True)
    pyproject_toml = root / "pyproject.toml"
    source = root / "src/lib.rs"

    def expect_reinstall(changed: str) -> None:
        code = "import rusthook; rusthook.install(); import meta_proj"
        for _ in range(2):  # not once: every import until it is reinstalled
            completed = subprocess.run(
                [str(env.python), "-c", code],
                cwd=project.root.parent,
                env=unactivated_offline(project),
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
            )
            assert completed.returncode == 1
            assert completed.stderr.splitlines()[-2:] == [
                f"rusthook.RusthookError: the editable project `meta_proj` ({root}) changed its "
                f"metadata since it was installed ({changed}); Python would still see the "
                "installed version, dependencies and entry points.",
                f"Reinstall it: `{env.python} -m pip install -e {root}`",
            ], completed.stderr

    # A new dependency (with an edit to the Rust code).
    pyproject_toml.write_text(
        pyproject_toml.read_text().replace(
            'version = "0.1.0"\n', 'version = "0.1.0"\ndependencies = ["cffi"]\n'
        )
    )
    source.write_text(source.read_text().replace("1 // value", "2 // value"))
    expect_reinstall("pyproject.toml [project] dependencies")
    env.install_editable(root)
    assert scenario.value() == ("2", True), "reinstalled: the new metadata is trusted"
    assert scenario.value() == ("2", False)

    # A new version and another entry point.
    pyproject_toml.write_text(
        pyproject_toml.read_text()
        .replace('version = "0.1.0"', 'version = "0.2.0"')
        .replace('meta-value = "meta_proj:value"', 'meta-value-2 = "meta_proj:value"')
    )
    expect_reinstall("pyproject.toml [project] scripts, pyproject.toml [project] version")
    env.install_editable(root)
    assert scenario.value() == ("2", True)
    version = subprocess.run(
        [str(env.python), "-c", "import importlib.metadata as m; print(m.version('meta_proj'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == "0.2.0"


def test_cffi_project_is_rebuilt_through_maturin(env: Env, project: Project) -> None:
    root = project.root / "cffi_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("cffi_proj", 'bindings = "cffi"\n')
            + "\n[project.optional-dependencies]\nx = []\n",
            "Cargo.toml": cargo_toml("cffi_proj", ""),
            "src/lib.rs": """\
                #[no_mangle]
                pub extern "C" fn value() -> i64 {
                    1 // value
                }
                """,
        },
    )
    env.install_editable(root)
    code = "import rusthook; rusthook.install(); import cffi_proj; print(cffi_proj.lib.value())"

    def run() -> tuple[str, bool]:
        return run_in(env, project, code, "cffi_proj")

    assert run()[0] == "1"
    assert run() == ("1", False)
    source = root / "src/lib.rs"
    source.write_text(source.read_text().replace("1 // value", "2 // value"))
    assert run() == ("2", True)

    # Only pyo3 projects get stubs: the stubs command says so and writes nothing.
    stubs = subprocess.run(
        [str(env.python), "-m", "rusthook", "stubs", str(root)],
        cwd=project.root.parent,
        env=unactivated_offline(project),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert stubs.returncode == 1
    assert stubs.stderr == (
        f"rusthook: error: {root} is a maturin project with cffi bindings (maturin generates "
        "what Python sees of it; only pyo3 projects get stubs from rusthook), so rusthook "
        "writes no .pyi stub for it\n"
    )
    assert not list(root.rglob("*.pyi"))


def test_project_importer_can_be_switched_off(env: Env, project: Project) -> None:
    root = project.root / "off_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("off_proj"),
            "Cargo.toml": cargo_toml("off_proj"),
            "src/lib.rs": pyo3_lib("off_proj"),
        },
    )
    env.install_editable(root)
    (root / "src/lib.rs").write_text(pyo3_lib("off_proj", "5"))
    code = "import rusthook; rusthook.install(enable_project_importer=False); import off_proj; print(off_proj.value())"
    assert run_in(env, project, code, "off_proj") == ("1", False), (
        "the stale installed build is imported as is"
    )


def run_in(env: Env, project: Project, code: str, name: str, **extra: str) -> tuple[str, bool]:
    """Runs `code` with the project venv's python, not activated (its scripts folder is
    not on PATH); returns stdout and whether rusthook built `name`."""
    completed = subprocess.run(
        [str(env.python), "-c", code],
        # Outside the folder holding the projects, so only their installs are importable.
        cwd=project.root.parent,
        env=unactivated_offline(project, **extra),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip(), f"rusthook: building {name} " in completed.stderr


def test_uniffi_project_is_rebuilt_through_maturin(env: Env, project: Project) -> None:
    root = project.root / "uni_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("uni_proj", 'bindings = "uniffi"\n'),
            "Cargo.toml": cargo_toml("uni_proj", 'uniffi = "0.31"'),
            "src/lib.rs": """\
                uniffi::setup_scaffolding!();

                #[uniffi::export]
                fn value() -> i64 {
                    1 // value
                }
                """,
        },
    )
    env.install_editable(root)
    code = "import rusthook; rusthook.install(); import uni_proj; print(uni_proj.value())"
    # maturin's own builds share the pip builds' target directory: uniffi compiles once.
    shared = {"CARGO_TARGET_DIR": str(env.pip_target)}
    assert run_in(env, project, code, "uni_proj", **shared)[0] == "1"
    assert run_in(env, project, code, "uni_proj", **shared) == ("1", False)
    source = root / "src/lib.rs"
    source.write_text(source.read_text().replace("1 // value", "2 // value"))
    assert run_in(env, project, code, "uni_proj", **shared) == ("2", True)


def test_bin_project_with_python_package_is_rebuilt_through_maturin(
    env: Env, project: Project
) -> None:
    root = project.root / "bin_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject("bin_proj", 'bindings = "bin"\npython-source = "python"\n'),
            "Cargo.toml": '[package]\nname = "bin_proj"\nversion = "0.1.0"\nedition = "2021"\n',
            "src/main.rs": 'fn main() {\n    println!("1"); // value\n}\n',
            "python/bin_proj/__init__.py": """\
                import os, subprocess, sysconfig

                def value():
                    program = os.path.join(sysconfig.get_path("scripts"), "bin_proj")
                    return subprocess.run([program], capture_output=True, text=True).stdout.strip()
                """,
        },
    )
    env.install_editable(root)
    code = "import rusthook; rusthook.install(); import bin_proj; print(bin_proj.value())"
    shared = {"CARGO_TARGET_DIR": str(env.pip_target)}
    assert run_in(env, project, code, "bin_proj", **shared)[0] == "1"
    assert run_in(env, project, code, "bin_proj", **shared) == ("1", False)
    source = root / "src/main.rs"
    source.write_text(source.read_text().replace('"1"); // value', '"2"); // value'))
    assert run_in(env, project, code, "bin_proj", **shared) == ("2", True)


def test_stubs_of_an_editable_project_go_beside_its_extension(env: Env, project: Project) -> None:
    root = project.root / "stub_proj"
    write(
        root,
        {
            "pyproject.toml": pyproject(
                "stub_proj", 'python-source = "python"\nmodule-name = "stub_proj._native"\n'
            ),
            "Cargo.toml": cargo_toml("stub_proj"),
            "src/lib.rs": """\
                use pyo3::prelude::*;

                #[pymodule]
                mod _native {
                    use pyo3::prelude::*;

                    /// The value.
                    #[pyfunction]
                    #[pyo3(signature = (scale = 1))]
                    fn value(scale: i64) -> i64 {
                        scale // value
                    }
                }
                """,
            "python/stub_proj/__init__.py": "from stub_proj._native import value\n",
        },
    )
    env.install_editable(root)
    stub = root / "python/stub_proj/_native.pyi"
    code = "import sys; from rusthook.cli import main; sys.exit(main(['stubs', sys.argv[1]]))"
    asked = subprocess.run(
        [str(env.python), "-c", code, str(root)],
        cwd=project.root.parent,
        env=unactivated_offline(project),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout == f"{stub}: written\n"
    assert "def value(scale: SupportsIndex = 1) -> int:" in stub.read_text()
    stubtest = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "stub_proj._native"],
        cwd=root,
        env=dict(project.env(), PYTHONPATH=str(root / "python"), MYPYPATH=str(root / "python")),
        capture_output=True,
        text=True,
    )
    assert stubtest.returncode == 0, stubtest.stdout + stubtest.stderr
    (root / "use.py").write_text(
        "from stub_proj._native import value\nreveal_type(value(scale=2))\nvalue('2')\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "use.py"],
        cwd=root,
        env=dict(project.env(), MYPYPATH=str(root / "python")),
        capture_output=True,
        text=True,
    )
    assert checked.stdout.splitlines()[0] == 'use.py:2: note: Revealed type is "int"'
    assert checked.stdout.splitlines()[1].startswith(
        'use.py:3: error: Argument 1 to "value" has incompatible type "str"'
    )
    from test_stubs import pyright

    right = pyright(Project(root, project.build_dir), "use.py", extra_paths=("python",))
    assert 'use.py:2:13 - information: Type of "value(scale=2)" is "int"' in right.stdout
    assert "use.py:3:7 - error: Argument of type" in right.stdout

    # With stubs on, an edit that changes the signature changes the stub in that import.
    source = root / "src/lib.rs"
    source.write_text(source.read_text().replace("(scale = 1)", "(scale = 3)"))
    code = (
        "import rusthook; rusthook.install(stubs=True); import stub_proj; print(stub_proj.value())"
    )
    assert run_in(env, project, code, "stub_proj") == ("3", True)
    assert "def value(scale: SupportsIndex = 3) -> int:" in stub.read_text()
    # Without stubs asked for, builds leave it alone.
    source.write_text(source.read_text().replace("(scale = 3)", "(scale = 4)"))
    code = "import rusthook; rusthook.install(); import stub_proj; print(stub_proj.value())"
    assert run_in(env, project, code, "stub_proj") == ("4", True)
    assert "def value(scale: SupportsIndex = 3) -> int:" in stub.read_text()

    # A stub someone wrote is left; `stubs --diff` on the project shows the difference.
    stub.write_text("def value(scale: int = 4) -> int: ...\n")
    code = (
        "import rusthook; rusthook.install(stubs=True); import stub_proj; print(stub_proj.value())"
    )
    source.write_text(source.read_text().replace("(scale = 4)", "(scale = 5)"))
    completed = subprocess.run(
        [str(env.python), "-c", code],
        cwd=project.root.parent,
        env=unactivated_offline(project),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert completed.stdout == "5\n", completed.stderr
    assert (
        f"rusthook: {stub} was not written by rusthook, so it is left as it is (rusthook "
        "replaces only stubs whose first line starts with `# Generated by rusthook`); "
        f"`python -m rusthook stubs --diff {root}` shows how it differs from the module"
    ) in completed.stderr.splitlines()
    diff = subprocess.run(
        [str(env.python), "-m", "rusthook", "stubs", "--diff", str(root)],
        cwd=project.root.parent,
        env=unactivated_offline(project),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert diff.returncode == 1, diff.stderr
    assert "-def value(scale: int = 4) -> int: ...\n" in diff.stdout
    assert "+def value(scale: SupportsIndex = 5) -> int:\n" in diff.stdout
    assert stub.read_text() == "def value(scale: int = 4) -> int: ...\n"


def test_maturin_options_are_honoured_and_changing_them_rebuilds(
    env: Env, project: Project
) -> None:
    # What `pip install -e` built (no default features, rustc-args) is what a rebuild
    # builds; another option rebuilds; an option rusthook cannot honour leaves it alone.
    root = project.root / "optioned"
    options = 'no-default-features = true\nrustc-args = ["--cfg", "tuned"]\n'
    write(
        root,
        {
            "pyproject.toml": pyproject("optioned", options),
            "Cargo.toml": cargo_toml("optioned") + '[features]\ndefault = ["big"]\nbig = []\n',
            "src/lib.rs": """\
                #[pyo3::pymodule]
                mod optioned {
                    use pyo3::prelude::*;

                    #[pyfunction]
                    fn value() -> i64 {
                        let big = if cfg!(feature = "big") { 100 } else { 0 };
                        let tuned = if cfg!(tuned) { 10 } else { 0 };
                        big + tuned + 1 // value
                    }
                }
                """,
        },
    )
    env.install_editable(root)
    scenario = Scenario(env, project, "optioned")
    assert scenario.value()[0] == "11"
    assert scenario.value() == ("11", False)
    source = root / "src/lib.rs"
    source.write_text(source.read_text().replace("1 // value", "2 // value"))
    assert scenario.value() == ("12", True), "rebuilt with no default features, rustc-args"
    pyproject_toml = root / "pyproject.toml"
    pyproject_toml.write_text(pyproject("optioned", 'rustc-args = ["--cfg", "tuned"]\n'))
    assert scenario.value() == ("112", True), "the default features back: rebuilt"
    library = Path(
        subprocess.run(
            [
                str(env.python),
                "-c",
                "import sys, optioned; print(sys.modules.get('optioned.optioned', optioned).__file__)",
            ],
            cwd=project.root.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    before = library.read_bytes()
    pyproject_toml.write_text(pyproject("optioned", 'target = "riscv64gc-unknown-linux-gnu"\n'))
    completed = subprocess.run(
        [str(env.python), "-c", "import rusthook; rusthook.install(); import optioned"],
        cwd=project.root.parent,
        env=unactivated_offline(project),
        capture_output=True,
        text=True,
    )
    assert completed.returncode != 0
    assert (
        f"cannot rebuild the editable project `optioned` ({root}) as its installer would: "
        '[tool.maturin] target = "riscv64gc-unknown-linux-gnu", and it builds for another '
        "platform than this interpreter's (x86_64-unknown-linux-gnu); its installed library "
        "is left as it is." in completed.stderr
    ), completed.stderr
    assert library.read_bytes() == before
