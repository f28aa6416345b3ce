//! `python -m rusthook new NAME`: a crate that imports as `NAME`, ready to edit.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::finder::check_module_name;
use crate::preprocess::PYO3_REQUIREMENT;

/// Creates `parent/name/` with a `.rusthook` marker, Cargo.toml and src/lib.rs.
pub fn new_crate(parent: &Path, name: &str) -> Result<PathBuf> {
    let parent = std::path::absolute(parent).map_err(Error::io("cannot resolve", parent))?;
    let dir = parent.join(name);
    check_module_name(name, &dir)?;
    if dir.exists() {
        return Err(Error::AlreadyExists { path: dir });
    }
    let files = [
        (
            ".rusthook".to_string(),
            "# This file marks the crate as importable by rusthook.\n".to_string(),
        ),
        (
            "Cargo.toml".to_string(),
            format!(
                r#"[package]
name = "{package}"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]

[dependencies]
pyo3 = {{ version = "{PYO3_REQUIREMENT}", features = ["abi3-py39"] }}
"#,
                package = name.replace('_', "-")
            ),
        ),
        (
            "src/lib.rs".to_string(),
            format!(
                r#"use pyo3::prelude::*;

/// Imported from Python as `import {name}`.
#[pymodule]
mod {name} {{
    use pyo3::prelude::*;

    /// Adds two numbers.
    #[pyfunction]
    fn add(a: i64, b: i64) -> i64 {{
        a + b
    }}
}}
"#
            ),
        ),
    ];
    for (relative, text) in files {
        let path = dir.join(relative);
        if let Some(folder) = path.parent() {
            fs::create_dir_all(folder).map_err(Error::io("cannot create", folder))?;
        }
        fs::write(&path, text).map_err(Error::io("cannot write", &path))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finder::is_marked_crate;

    #[test]
    fn creates_a_marked_crate_and_refuses_to_overwrite() {
        let parent = tempfile::tempdir().unwrap();
        let dir = new_crate(parent.path(), "my_ext").unwrap();
        assert!(is_marked_crate(&dir));
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"my-ext\""));
        assert!(fs::read_to_string(dir.join("src/lib.rs"))
            .unwrap()
            .contains("mod my_ext {"));
        let err = new_crate(parent.path(), "my_ext").unwrap_err();
        assert!(err
            .to_string()
            .ends_with("already exists; choose another name or remove it first"));
        assert!(new_crate(parent.path(), "my-ext").is_err());
    }
}
