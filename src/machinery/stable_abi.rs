//! How pyo3 is told which Python a build is for, and so which partition of the cache
//! compiles it.
//!
//! A version-specific build asks an interpreter (`PYO3_PYTHON`, the base interpreter of
//! the environment). A stable-ABI build (pyo3's `abi3` features) needs no interpreter on
//! Unix (`PYO3_NO_PYTHON`), so its compiled dependencies are the same for every CPython
//! from its floor on: they live in one partition shared by all of them, and a 3.13
//! environment reuses the pyo3 a 3.9 one compiled. Nothing else in the environment reaches
//! pyo3's configuration then (it reads `VIRTUAL_ENV` or `PATH` only to find an
//! interpreter), so environments never make each other recompile it.
//!
//! What a manifest's own pyo3 dependency asks for (its version, its stable-ABI floor) is
//! read here too, for both importers.

use std::path::PathBuf;
use std::process::Command;

use toml::{Table, Value};

use crate::platform::Target;
use crate::settings::PythonEnv;

/// What pyo3's build scripts are told about Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pyo3Config {
    /// Configure for this interpreter (`PYO3_PYTHON`).
    Interpreter(PathBuf),
    /// The stable ABI, without an interpreter (`PYO3_NO_PYTHON`).
    StableAbi,
}

impl Pyo3Config {
    /// Sets the variables pyo3-build-config reads on `command`.
    pub fn apply(&self, command: &mut Command) {
        match self {
            Pyo3Config::Interpreter(python) => {
                command
                    .env("PYO3_PYTHON", python)
                    .env_remove("PYO3_NO_PYTHON");
            }
            Pyo3Config::StableAbi => {
                command.env("PYO3_NO_PYTHON", "1").env_remove("PYO3_PYTHON");
            }
        }
    }
}

/// What a stable-ABI build for this interpreter looks like, if it can load one: the
/// partition it compiles in (`cpython-abi3-x86_64-linux-gnu`) and the interpreter's
/// minor version. On Unix only an interpreter listing `.abi3.so` among its extension
/// suffixes loads one; on Windows every CPython's `.pyd` may be abi3 (its tag is
/// `cp311-win_amd64`). A free-threaded or debug CPython and PyPy build for the
/// interpreter.
pub fn support(python: &PythonEnv) -> Option<StableAbiSupport> {
    let tag = python.abi_tag();
    if python.ext_suffix().ends_with(".pyd") {
        let (version, platform) = tag.strip_prefix("cp")?.split_once('-')?;
        let minor = version.strip_prefix('3')?.parse().ok()?;
        return Some(StableAbiSupport {
            partition: format!("cpython-abi3-{platform}"),
            minor,
        });
    }
    if !python.extension_suffixes.iter().any(|s| s == ".abi3.so") {
        return None;
    }
    let mut parts = tag.splitn(3, '-');
    let (implementation, version, platform) = (parts.next()?, parts.next()?, parts.next()?);
    let minor = version.strip_prefix('3')?.parse().ok()?;
    (implementation == "cpython").then(|| StableAbiSupport {
        partition: format!("cpython-abi3-{platform}"),
        minor,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StableAbiSupport {
    /// The partition's folder name: the ABI tag with `abi3` for the version.
    pub partition: String,
    /// The interpreter's CPython 3 minor version: a floor above it is not met.
    pub minor: u32,
}

/// The version requirement of a manifest's own pyo3 dependency.
pub fn pyo3_version(manifest: &Table) -> Option<String> {
    match manifest.get("dependencies")?.get("pyo3")? {
        Value::String(version) => Some(version.clone()),
        Value::Table(table) => table.get("version")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// The lowest CPython 3 minor version the manifest's own pyo3 dependency targets with
/// the stable ABI (`abi3-py39` -> 9), `None` when it does not ask for the stable ABI
/// with a version, or (on Windows, before pyo3 0.29.3) cannot build it without an
/// interpreter. pyo3 builds for the lowest `abi3-py3N` enabled. A bare `abi3` means
/// "the interpreter's version": pyo3 0.29 and later refuse to configure it without an
/// interpreter ("Neither abi3 or abi3t features are enabled"), so it builds as a
/// version-specific module, configured by its interpreter.
pub fn stable_abi_floor(manifest: &Table) -> Option<u32> {
    let pyo3 = manifest.get("dependencies")?.get("pyo3")?.as_table()?;
    if pyo3.get("optional").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    if !Target::HOST.stable_abi_without_interpreter(pyo3_version(manifest).as_deref()) {
        return None;
    }
    pyo3.get("features")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|feature| feature.strip_prefix("abi3-py3")?.parse().ok())
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Table {
        text.parse().unwrap()
    }

    fn python(suffixes: &[&str]) -> PythonEnv {
        PythonEnv {
            executable: PathBuf::from("/venv/bin/python"),
            base_executable: PathBuf::from("/usr/bin/python3.11"),
            prefix: PathBuf::from("/venv"),
            base_prefix: PathBuf::from("/usr"),
            extension_suffixes: suffixes.iter().map(|s| s.to_string()).collect(),
        }
    }

    const CPYTHON_311: [&str; 3] = [".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so"];

    #[test]
    fn the_floor_is_the_lowest_abi3_feature() {
        let floor = |text: &str| stable_abi_floor(&manifest(text));
        assert_eq!(
            floor("[dependencies]\npyo3 = { version = \"0.30\", features = [\"abi3-py39\"] }"),
            Some(9)
        );
        assert_eq!(
            floor("[dependencies.pyo3]\nversion = \"0.30\"\nfeatures = [\"macros\", \"abi3-py312\", \"abi3-py310\"]"),
            Some(10)
        );
        // A bare `abi3` needs the interpreter to say its version; beside a versioned
        // one, pyo3 takes the version.
        assert_eq!(
            floor("[dependencies]\npyo3 = { version = \"0.30\", features = [\"abi3\"] }"),
            None
        );
        assert_eq!(
            floor("[dependencies]\npyo3 = { version = \"0.30\", features = [\"abi3\", \"abi3-py311\"] }"),
            Some(11)
        );
        // The free-threaded stable ABI (`abi3t-py315`) is not one every CPython loads.
        assert_eq!(
            floor("[dependencies]\npyo3 = { version = \"0.29\", features = [\"abi3t-py315\"] }"),
            None
        );
        assert_eq!(floor("[dependencies]\npyo3 = \"0.30\""), None);
        assert_eq!(
            floor(
                "[dependencies]\npyo3 = { version = \"0.23\", features = [\"extension-module\"] }"
            ),
            None
        );
        assert_eq!(
            floor("[dependencies]\npyo3 = { version = \"0.30\", features = [\"abi3-py39\"], optional = true }"),
            None
        );
        assert_eq!(floor("[dependencies]\nitoa = \"1\""), None);
    }

    #[test]
    fn stable_abi_only_where_the_interpreter_loads_it() {
        assert_eq!(
            support(&python(&CPYTHON_311)),
            Some(StableAbiSupport {
                partition: "cpython-abi3-x86_64-linux-gnu".into(),
                minor: 11
            })
        );
        // Free-threaded CPython has no stable ABI.
        assert_eq!(
            support(&python(&[".cpython-313t-x86_64-linux-gnu.so", ".so"])),
            None
        );
        // Windows CPython loads abi3 `.pyd`s without saying so in its suffixes.
        assert_eq!(
            support(&python(&[".cp311-win_amd64.pyd", ".pyd"])),
            Some(StableAbiSupport {
                partition: "cpython-abi3-win_amd64".into(),
                minor: 11
            })
        );
        assert_eq!(support(&python(&[".cp313t-win_amd64.pyd", ".pyd"])), None);
        assert_eq!(
            support(&python(&["_d.cp311-win_amd64.pyd", "_d.pyd"])),
            None
        );
        assert_eq!(
            support(&python(&[".pypy310-pp73-x86_64-linux-gnu.so", ".so"])),
            None
        );
    }
}
