//! Small file-system helpers shared by the whole core: private folders, atomic writes
//! and copies (the one temporary-file-then-rename in rusthook), the replacement of a
//! file a process may have loaded, hashing and mtimes.
//! What differs between platforms is asked of `platform`.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::platform::{self, Os, Target};

/// Creates a folder (and its parents) readable and writable by the owner only.
pub fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    platform::make_private(&mut builder);
    builder.create(path).map_err(|source| {
        let unwritable = matches!(
            source.kind(),
            io::ErrorKind::PermissionDenied
                | io::ErrorKind::ReadOnlyFilesystem
                | io::ErrorKind::NotADirectory
        );
        Error::Io {
            action: if unwritable {
                "cannot create the build folder (set RUSTHOOK_BUILD_DIR or build_dir= to a writable folder)"
            } else {
                "cannot create the build folder"
            },
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Refuses a folder that another user owns or that others may write to: a library in
/// it could have been swapped for someone else's code. A missing folder is fine (it
/// will be created privately). A folder of root's that only root can write to is safe
/// too (a cache built into a container image as root, used by its unprivileged user):
/// what it holds loads, and nothing can be built there (`platform::owner_if_not_me`).
pub fn check_private(path: &Path) -> Result<()> {
    let Ok(metadata) = fs::metadata(path) else {
        return Ok(());
    };
    match platform::others_may_write(&metadata, path) {
        Some((reason, fix)) => Err(Error::InsecureCache {
            path: path.to_path_buf(),
            reason,
            fix,
        }),
        None => Ok(()),
    }
}

/// [`check_private`] for `dir` and every folder above it up to `root` (excluded): a
/// module's folder, its bucket and its partition.
pub fn check_private_below(root: &Path, dir: &Path) -> Result<()> {
    for folder in dir.ancestors().take_while(|folder| *folder != root) {
        if !folder.starts_with(root) {
            break;
        }
        check_private(folder)?;
    }
    Ok(())
}

/// Puts a file at `path` through a temporary file in the same folder and a rename:
/// readers see the old file or the new one, never half of either. `fill` writes the
/// temporary file (given by path).
fn replace_atomically(path: &Path, fill: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".rusthook-")
        .suffix(".tmp")
        .tempfile_in(folder)?;
    fill(temp.path())?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_atomically(path, |temp| fs::write(temp, bytes))
}

/// Writes `bytes` to `path` atomically as a file for people to read (a stub beside a
/// user's source, which a deployment ships): readable by all, as an editor would write
/// it, where a temporary file starts private.
pub fn write_readable_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_atomically(path, |temp| {
        fs::write(temp, bytes)?;
        platform::make_readable(temp)
    })
}

/// Copies `from` to `to` atomically, keeping the mode and mtime of `from`.
pub fn copy_atomically(from: &Path, to: &Path) -> io::Result<()> {
    replace_atomically(to, |temp| {
        // fs::copy lets the kernel copy (copy_file_range, reflinks) and keeps the mode.
        fs::copy(from, temp)?;
        let modified = fs::metadata(from)?.modified()?;
        fs::File::options()
            .write(true)
            .open(temp)?
            .set_modified(modified)
    })
}

/// Puts the file `from` at `to` (a new name). On Linux a hard link does it without
/// copying megabytes: linkers (lld, bfd, gold, mold) write each output as a new file,
/// and cargo replaces its own links to it, so the file linked here never changes
/// afterwards. Elsewhere, or if linking fails (another file system), an atomic copy.
pub fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    if Target::HOST.os == Os::Linux && fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    copy_atomically(from, to)
}

/// Suffix of a file set aside by [`replace_loaded_file`].
const SET_ASIDE: &str = ".rusthook-old";

/// Copies `from` over `to`, which a running process may have loaded. Where a loaded
/// library cannot be overwritten or deleted but can be renamed (Windows), the old file
/// is renamed aside first (`<name>.<n>.rusthook-old`, which no importer loads) and
/// removed by a later replacement once no process has it loaded. Elsewhere the one
/// atomic copy does it.
pub fn replace_loaded_file(from: &Path, to: &Path) -> io::Result<()> {
    remove_set_aside(to);
    match copy_atomically(from, to) {
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied && to.exists() => {
            set_aside(to)?;
            copy_atomically(from, to)
        }
        done => done,
    }
}

/// Renames `path` to a free `<name>.<n>.rusthook-old` beside it.
fn set_aside(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    for n in 0..1000 {
        let aside = path.with_file_name(format!("{name}.{n}{SET_ASIDE}"));
        if fs::symlink_metadata(&aside).is_err() {
            fs::rename(path, &aside)?;
            return Ok(aside);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "a thousand old copies of {} are still loaded",
            path.display()
        ),
    ))
}

/// Removes the files [`replace_loaded_file`] set aside for `path` that nothing has
/// loaded any more (the rest stay until a later call).
pub fn remove_set_aside(path: &Path) {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    for entry in fs::read_dir(folder).into_iter().flatten().flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if file_name.starts_with(&prefix) && file_name.ends_with(SET_ASIDE) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Rewrites a generated file only when its text changed, so cargo sees no change.
pub fn write_if_changed(path: &Path, text: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    fs::write(path, text).map_err(Error::io("cannot write", path))
}

/// Reads a source file that must be UTF-8; the error names the first bad line.
pub fn read_utf8(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(Error::io("cannot read", path))?;
    String::from_utf8(bytes).map_err(|error| Error::NotUtf8 {
        path: path.to_path_buf(),
        line: 1 + error.as_bytes()[..error.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })
}

/// A TOML file (a Cargo.toml or pyproject.toml) as a table; `None` when it is missing or
/// not valid TOML (the caller decides what that means).
pub fn read_toml(path: &Path) -> Option<toml::Table> {
    fs::read_to_string(path).ok()?.parse().ok()
}

/// The sha256 of a file's contents, in hex.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

/// The first `len` hex digits of the sha256 of `text`: a short, stable key.
pub fn short_hash(text: &[u8], len: usize) -> String {
    let mut digest = hex(&Sha256::digest(text));
    digest.truncate(len);
    digest
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's mtime in nanoseconds since the Unix epoch (0 when unknown).
pub fn mtime_ns(metadata: &fs::Metadata) -> i64 {
    metadata.modified().map_or(0, system_time_ns)
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    system_time_ns(SystemTime::now())
}

fn system_time_ns(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_folders_are_created_private_and_others_writable_ones_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b");
        assert!(check_private(&path).is_ok(), "a missing folder is fine");
        create_private_dir(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(check_private(&path).is_ok());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_private(&path).unwrap_err().to_string();
        assert!(
            err.contains("other users can write to it (mode 777)"),
            "{err}"
        );
        assert!(err.contains("chmod 700"), "{err}");
    }

    #[test]
    fn atomic_writes_and_copies_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let copy = dir.path().join("copy.json");
        copy_atomically(&path, &copy).unwrap();
        assert_eq!(fs::read(&copy).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&copy).unwrap().modified().unwrap(),
            fs::metadata(&path).unwrap().modified().unwrap()
        );
        let linked = dir.path().join("linked.json");
        link_or_copy(&path, &linked).unwrap();
        assert_eq!(fs::read(&linked).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".rusthook-"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn replacing_a_file_leaves_no_old_copies_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (new, installed) = (dir.path().join("new.pyd"), dir.path().join("fast.pyd"));
        fs::write(&new, b"two").unwrap();
        fs::write(&installed, b"one").unwrap();
        let aside = set_aside(&installed).unwrap();
        assert_eq!(aside, dir.path().join("fast.pyd.0.rusthook-old"));
        fs::write(&installed, b"one").unwrap();
        replace_loaded_file(&new, &installed).unwrap();
        assert_eq!(fs::read(&installed).unwrap(), b"two");
        assert!(!aside.exists(), "a set-aside copy nothing loads is removed");
    }

    /// Windows' own behaviour, run under Wine by `scripts/cross-check`.
    #[cfg(windows)]
    #[test]
    fn a_loaded_library_is_renamed_aside_then_removed_once_unloaded() {
        use crate::platform::tests::windows_only::{load, FreeLibrary};
        let dir = tempfile::tempdir().unwrap();
        let installed = dir.path().join("fast.pyd");
        fs::copy(std::env::current_exe().unwrap(), &installed).unwrap();
        let new = dir.path().join("new.pyd");
        fs::write(&new, b"the new build").unwrap();
        let module = load(&installed);
        assert!(
            fs::remove_file(&installed).is_err(),
            "Windows keeps a loaded library"
        );
        replace_loaded_file(&new, &installed).unwrap();
        assert_eq!(fs::read(&installed).unwrap(), b"the new build");
        let aside = dir.path().join("fast.pyd.0.rusthook-old");
        assert!(aside.exists(), "still loaded: kept aside");
        // SAFETY: the module was loaded above and is not used.
        unsafe { FreeLibrary(module) };
        replace_loaded_file(&new, &installed).unwrap();
        assert!(!aside.exists(), "unloaded: removed by the next replacement");
    }

    #[test]
    fn non_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fast.rs");
        fs::write(&path, b"ok\nok\n\xff\n").unwrap();
        let err = read_utf8(&path).unwrap_err().to_string();
        assert!(err.ends_with("fast.rs:3: the file is not valid UTF-8; save it as UTF-8"));
    }
}
