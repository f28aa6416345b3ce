//! Linux, macOS and the other Unixes: symbolic links, process groups, `statvfs`, file
//! modes, and the libraries running processes have loaded.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use super::Linked;

/// Makes folders `builder` creates readable and writable by the owner only.
pub fn make_private(builder: &mut fs::DirBuilder) {
    builder.mode(0o700);
}

/// Makes a file readable by everyone, as an editor would write it (a temporary file
/// starts private).
pub fn make_readable(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
}

/// Why a folder that exists is not private, and what to do: owned by another user, or
/// writable by others. `None` when it is private.
pub fn others_may_write(metadata: &fs::Metadata, path: &Path) -> Option<(String, String)> {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let elsewhere =
        "set RUSTHOOK_BUILD_DIR (or build_dir=) to a folder of your own; rusthook creates it privately";
    // Root's folder that only root can write to is safe to load from (a container
    // image's cache, used by its unprivileged user); nothing can be built there.
    if metadata.uid() != me && metadata.uid() != 0 {
        Some((
            format!("it belongs to another user (uid {})", metadata.uid()),
            format!("You cannot make it private yourself: {elsewhere}."),
        ))
    } else if metadata.mode() & 0o022 != 0 {
        Some((
            format!(
                "other users can write to it (mode {:o})",
                metadata.mode() & 0o7777
            ),
            format!(
                "Make it private (`chmod 700 {}`), or {elsewhere}.",
                path.display()
            ),
        ))
    } else {
        None
    }
}

/// The owner of `path` when it is not this process's user (root's build folder used by
/// another user); `None` when it is, or cannot be told.
pub fn owner_if_not_me(path: &Path) -> Option<u32> {
    let owner = fs::metadata(path).ok()?.uid();
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    (owner != me).then_some(owner)
}

/// A number that tells this file from one put at the same path later: its inode.
pub fn file_id(metadata: &fs::Metadata) -> u64 {
    metadata.ino()
}

/// Puts the user's `original` into a mirror at `link`: a symbolic link.
pub fn link_entry(original: &Path, link: &Path) -> io::Result<Linked> {
    std::os::unix::fs::symlink(original, link).map(|()| Linked::Link)
}

/// The space left for this user on the disk holding `path` (`None` when unknown).
pub fn available_space(path: &Path) -> Option<u64> {
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs(3) writes into the zeroed struct it is given and reads the
    // NUL-terminated path; neither outlives the call.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // the field types differ between platforms
    let free = u64::from(stats.f_bavail).saturating_mul(u64::from(stats.f_frsize));
    Some(free)
}

/// Removes a module's folder. A Unix process keeps a library it loaded when its file
/// is deleted, so nothing here stops halfway; whether one is loaded is decided before
/// (see [`loaded_files`]).
pub fn remove_dir_unless_loaded(dir: &Path) -> io::Result<bool> {
    fs::remove_dir_all(dir).map(|()| true)
}

/// The files below `root` that running processes have loaded: on Linux from
/// `/proc/*/maps`, on macOS from `lsof` (which lists mapped files as `txt`). `None`
/// when this cannot be known: then every library counts as loaded.
pub fn loaded_files(root: &Path) -> Option<HashSet<PathBuf>> {
    let roots = [root.to_path_buf(), root.canonicalize().unwrap_or_default()];
    let mut loaded = HashSet::new();
    if cfg!(target_os = "linux") {
        for process in fs::read_dir("/proc").ok()?.flatten() {
            let Ok(maps) = fs::read_to_string(process.path().join("maps")) else {
                continue;
            };
            // `address perms offset dev inode path`: the path is the sixth field.
            let paths = maps
                .lines()
                .filter_map(|line| line.split_whitespace().nth(5));
            add_below(&mut loaded, &roots, paths);
        }
        return Some(loaded);
    }
    if cfg!(target_os = "macos") {
        // `-F n`: one `n<path>` line per open or mapped file.
        let output = Command::new("lsof")
            .args(["-n", "-P", "-F", "n"])
            .output()
            .ok()?;
        if output.stdout.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let paths = text.lines().filter_map(|line| line.strip_prefix('n'));
        add_below(&mut loaded, &roots, paths);
        return Some(loaded);
    }
    None
}

/// Adds to `loaded` those of `paths` that lie below one of `roots`.
fn add_below<'a>(
    loaded: &mut HashSet<PathBuf>,
    roots: &[PathBuf],
    paths: impl Iterator<Item = &'a str>,
) {
    let below = |path: &Path| {
        roots
            .iter()
            .any(|r| !r.as_os_str().is_empty() && path.starts_with(r))
    };
    loaded.extend(
        paths
            .map(Path::new)
            .filter(|p| below(p))
            .map(Path::to_path_buf),
    );
}

/// Whether `pid` is a running process of this host (`kill(pid, 0)`).
pub fn process_is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Which file system holds `path`'s folder: its device number (0 when unknown).
pub fn file_system_of(path: &Path) -> u64 {
    path.parent()
        .and_then(|dir| fs::metadata(dir).ok())
        .map(|meta| meta.dev())
        .unwrap_or(0)
}

/// Errors by which a file system says it has no (working) `flock`.
pub fn refuses_locks(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL)
    )
}

/// A variable's value as the bytes it is.
pub fn os_str_bytes(value: &OsStr) -> Vec<u8> {
    value.as_bytes().to_vec()
}

/// A build tool and everything it started (rustc, build scripts, the linker): its own
/// process group, so that an interrupted build stops whole.
pub struct ProcessTree {
    group: Option<libc::pid_t>,
}

impl ProcessTree {
    /// Makes the command start a process group of its own (call before spawning).
    pub fn prepare(command: &mut Command) {
        std::os::unix::process::CommandExt::process_group(command, 0);
    }

    /// The tree of a child spawned from a prepared command.
    pub fn adopt(child: &Child) -> ProcessTree {
        ProcessTree {
            group: libc::pid_t::try_from(child.id()).ok(),
        }
    }

    /// Ends every process of the tree.
    pub fn kill(&self) {
        if let Some(pid) = self.group {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory
            // is shared.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}
