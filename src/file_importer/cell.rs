//! Notebook cells (`%%rust`): each cell's code becomes a module named after a hash of
//! the code, the build settings, the interpreter and rusthook's version. An extension
//! module initialises once per process, so a changed cell needs a new name to load.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::file_importer::finder::{Source, SourceKind};
use crate::file_importer::template::Dialect;
use crate::fsutil::hex;
use crate::settings::{PythonEnv, Settings};

/// The source of a cell run with these settings: its code saved under its module name
/// in `directory`. A `%%rustimport` cell (`dialect`) gets a name of its own, since it
/// builds with rustimport's pyo3. `salt`: see [`module_name`].
pub fn cell_source(
    code: &str,
    directory: &Path,
    settings: &Settings,
    python: &PythonEnv,
    salt: &str,
    dialect: Dialect,
) -> Result<Source> {
    let fingerprint = settings.fingerprint(settings.cargo_profile(), &settings.features, python);
    let salt = match dialect {
        Dialect::Rustimport => format!("rustimport{salt}"),
        Dialect::Rusthook => salt.to_string(),
    };
    let name = module_name(code, &fingerprint, &python.executable, &salt);
    let path = write_source(directory, &name, code)?;
    Ok(Source {
        name,
        kind: SourceKind::Cell(dialect),
        path,
    })
}

/// The prefix of every cell module's name.
pub const PREFIX: &str = "_rusthook_cell_";

/// The module name of a cell: `_rusthook_cell_<hash>`. `salt` makes a new name for the
/// same code (`--force`: a rebuild must load under a name not yet loaded).
pub fn module_name(
    code: &str,
    settings_fingerprint: &str,
    executable: &Path,
    salt: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        code.as_bytes(),
        settings_fingerprint.as_bytes(),
        executable.as_os_str().as_encoded_bytes(),
        env!("CARGO_PKG_VERSION").as_bytes(),
        salt.as_bytes(),
    ] {
        // Length-prefixed, so that no two different inputs hash the same bytes.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    format!("{PREFIX}{}", &hex(&hasher.finalize())[..20])
}

/// Saves the cell's code as `directory/<name>.rs`, exactly as written (so compiler
/// diagnostics give the cell's own line numbers). Returns the file's path.
pub fn write_source(directory: &Path, name: &str, code: &str) -> Result<PathBuf> {
    fs::create_dir_all(directory).map_err(Error::io("cannot create", directory))?;
    let path = directory.join(format!("{name}.rs"));
    if fs::read_to_string(&path).is_ok_and(|old| old == code) {
        return Ok(path); // unchanged: keep its mtime, so the build stays fresh by stat
    }
    fs::write(&path, code).map_err(Error::io("cannot write", &path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_change_with_code_settings_interpreter_and_salt() {
        let python = Path::new("/usr/bin/python3");
        let name = module_name("fn f() {}", "debug", python, "");
        assert!(name.starts_with(PREFIX));
        assert_eq!(name.len(), PREFIX.len() + 20);
        assert_eq!(name, module_name("fn f() {}", "debug", python, ""));
        assert_ne!(name, module_name("fn g() {}", "debug", python, ""));
        assert_ne!(name, module_name("fn f() {}", "release", python, ""));
        assert_ne!(
            name,
            module_name("fn f() {}", "debug", Path::new("/py"), "")
        );
        assert_ne!(name, module_name("fn f() {}", "debug", python, "1"));
    }

    #[test]
    fn the_source_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("rusthook");
        let path = write_source(&folder, "_rusthook_cell_x", "fn f() {}\n").unwrap();
        assert_eq!(path, folder.join("_rusthook_cell_x.rs"));
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_source(&folder, "_rusthook_cell_x", "fn f() {}\n").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    }
}
