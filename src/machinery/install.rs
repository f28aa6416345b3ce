//! Verified, atomic install of a built library: check that Python can import it, put it
//! in the module's cache folder under a name of its own (so `importlib.reload` loads new
//! code), optionally beside the source, and remove builds that are no longer needed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fsutil::{hex, link_or_copy, mtime_ns, replace_loaded_file, write_atomically};
use crate::machinery::cache::ModuleCache;
use crate::platform::{self, Target};

/// Refuses a library that Python could not import as `module` (`name` and `origin` say
/// which source it came from).
pub fn check_module_export(library: &Path, module: &str, name: &str, origin: &Path) -> Result<()> {
    let symbol = format!("PyInit_{module}\0");
    let found = file_contains(library, symbol.as_bytes(), EXPORT_SEARCH_CHUNK)
        .map_err(Error::io("cannot read the built library", library))?;
    if found {
        return Ok(());
    }
    let symbol = symbol.trim_end_matches('\0');
    Err(Error::BadArtifact {
        module: name.to_string(),
        source_path: origin.to_path_buf(),
        reason: format!(
            "the library exports no `{symbol}`, so Python cannot import it as `{module}`.\n\
             Name its #[pymodule] `{module}` (or add #[pyo3(name = \"{module}\")]), \
             or rename the source to match the module."
        ),
    })
}

/// Read size of [`file_contains`]: an ELF library's symbol names sit in its first pages,
/// while a debug build is megabytes that need not be read.
const EXPORT_SEARCH_CHUNK: usize = 256 * 1024;

/// True when `needle` occurs in the file; reads `chunk` bytes at a time and stops at the
/// first match.
fn file_contains(path: &Path, needle: &[u8], chunk: usize) -> io::Result<bool> {
    let finder = memchr::memmem::Finder::new(needle);
    let overlap = needle.len().saturating_sub(1);
    let mut file = fs::File::open(path)?;
    let mut buffer = vec![0u8; chunk.max(needle.len()) + overlap];
    let mut kept = 0;
    loop {
        let read = io::Read::read(&mut file, &mut buffer[kept..])?;
        if read == 0 {
            return Ok(false);
        }
        let filled = kept + read;
        if finder.find(&buffer[..filled]).is_some() {
            return Ok(true);
        }
        // Keep the tail: a match may straddle two reads.
        kept = overlap.min(filled);
        buffer.copy_within(filled - kept..filled, 0);
    }
}

/// The file names, in the module's cache folder, of an installed build.
pub struct Installed {
    pub library: String,
    pub declarations: Option<String>,
}

/// Puts the library into the module's cache folder under a name of its own. The name
/// comes from the library's size, mtime and inode (unique per link, and free to compute)
/// and the C declarations of a cffi library. An extension module is named
/// `<name>.<build id><ext_suffix>`; a cffi library keeps its platform suffix (`.so`: it
/// is no extension module) and gets its declarations beside it.
pub fn install_library(
    module: &ModuleCache,
    name: &str,
    library: &Path,
    ext_suffix: &str,
    declarations: Option<&str>,
) -> Result<Installed> {
    let metadata =
        fs::metadata(library).map_err(Error::io("cannot read the built library", library))?;
    let inode = platform::file_id(&metadata);
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "{}:{}:{inode}",
        metadata.len(),
        mtime_ns(&metadata)
    ));
    if let Some(text) = declarations {
        hasher.update(text.as_bytes());
    }
    let build_id = &hex(&hasher.finalize())[..12];
    let file_name = match declarations {
        None => format!("{name}.{build_id}{ext_suffix}"),
        Some(_) => {
            let extension = library.extension().and_then(|e| e.to_str()).unwrap_or("so");
            format!("{name}.{build_id}.{extension}")
        }
    };
    let destination = module.artifact_path(&file_name);
    if Target::HOST.path_too_long(&destination) {
        return Err(Error::Io {
            action: "cannot install the built library where Windows can load it (set RUSTHOOK_BUILD_DIR to a shorter folder, such as C:\\rh):",
            path: destination,
            source: io::Error::new(
                io::ErrorKind::InvalidFilename,
                "the path is longer than 259 characters",
            ),
        });
    }
    if !destination.is_file() {
        link_or_copy(library, &destination).map_err(Error::io(
            "cannot install the built library as",
            &destination,
        ))?;
    }
    let declarations = match declarations {
        None => None,
        Some(text) => {
            let file_name = format!("{name}.{build_id}.h");
            let path = module.artifact_path(&file_name);
            write_atomically(&path, text.as_bytes()).map_err(Error::io("cannot write", &path))?;
            Some(file_name)
        }
    };
    Ok(Installed {
        library: file_name,
        declarations,
    })
}

/// Copies `library` over `destination` atomically (an editable project's installed
/// library, or a build beside its source), which a process may have loaded (see
/// `fsutil::replace_loaded_file`).
pub fn replace_library(library: &Path, destination: &Path) -> Result<()> {
    replace_loaded_file(library, destination).map_err(Error::io(
        "cannot install the built library as",
        destination,
    ))
}

/// Writes `name.<ext_suffix>` into `folder` (beside the source), for imports without
/// rusthook; unchanged when it already holds this build. `quiet` logs at DEBUG only.
pub fn install_in_place(
    artifact: &Path,
    folder: &Path,
    name: &str,
    ext_suffix: &str,
    quiet: bool,
) -> Result<PathBuf> {
    let destination = folder.join(format!("{name}{ext_suffix}"));
    let same = |a: &Path, b: &Path| -> Option<bool> {
        let (a, b) = (fs::metadata(a).ok()?, fs::metadata(b).ok()?);
        Some(a.len() == b.len() && a.modified().ok()? == b.modified().ok()?)
    };
    if same(artifact, &destination) != Some(true) {
        replace_library(artifact, &destination)?;
        let level = if quiet {
            log::Level::Debug
        } else {
            log::Level::Info
        };
        log::log!(target: "rusthook.builder", level, "wrote {}", destination.display());
    }
    Ok(destination)
}

/// Keeps the stub made from a build in the module's cache folder as `file_name`, beside
/// the library: imports that find the build fresh place it from there and never make it
/// again. Returns the name, for the build record.
pub fn keep_stub(module: &ModuleCache, file_name: String, text: &str) -> Result<String> {
    let path = module.artifact_path(&file_name);
    write_atomically(&path, text.as_bytes()).map_err(Error::io("cannot write the stub", &path))?;
    Ok(file_name)
}

/// Removes the libraries (and declarations) of earlier builds from the module's cache
/// folder, except those named in `keep`.
pub fn remove_old_artifacts(module: &ModuleCache, keep: &[&str]) {
    let Ok(entries) = fs::read_dir(&module.dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_library = entry.file_type().is_ok_and(|t| t.is_file())
            && name != "record.json"
            && name != "build.lock"
            && name != "build.held"
            && !name.starts_with("build.abandoned-")
            && !name.starts_with(".rusthook-");
        if is_library && !keep.contains(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_contains_finds_a_needle_across_read_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.so");
        let needle = b"PyInit_fast\0";
        for at in [0, 1, 5, 6, 7, 30, 59] {
            let mut bytes = vec![b'x'; 60];
            bytes.splice(at..at, needle.iter().copied());
            fs::write(&path, &bytes).unwrap();
            for chunk in [1, 2, 7, 12, 13, 64, 1000] {
                assert!(
                    file_contains(&path, needle, chunk).unwrap(),
                    "at {at}, chunk {chunk}"
                );
            }
        }
        fs::write(&path, b"PyInit_fas\0 PyInit_fastx PyInit_fast").unwrap();
        for chunk in [1, 3, 16, 1000] {
            assert!(
                !file_contains(&path, needle, chunk).unwrap(),
                "chunk {chunk}"
            );
        }
    }
}
