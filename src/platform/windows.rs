//! Windows: junctions and copies where symbolic links are not allowed, Job Objects,
//! free space, and libraries that cannot be deleted while a process has them loaded.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, TerminateJobObject,
};
use windows_sys::Win32::System::IO::DeviceIoControl;

use super::Linked;

/// Folders are private by their place (the user's own `%LOCALAPPDATA%`): their access
/// control lists are inherited, not set here.
pub fn make_private(_builder: &mut fs::DirBuilder) {}

/// Files are readable as their folder's access control list says.
pub fn make_readable(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Access control lists are not read: every folder counts as private (a known limit).
pub fn others_may_write(_metadata: &fs::Metadata, _path: &Path) -> Option<(String, String)> {
    None
}

/// Folders' owners are not read (see [`others_may_write`]): never another user's.
pub fn owner_if_not_me(_path: &Path) -> Option<u32> {
    None
}

/// A number that tells this file from one put at the same path later: its creation
/// time (the file index needs a handle).
pub fn file_id(metadata: &fs::Metadata) -> u64 {
    metadata.creation_time()
}

/// Puts the user's `original` into a mirror at `link`: a symbolic link where this user
/// may make one (Developer Mode, or an administrator); else a junction for a folder and
/// a hard link (or, across disks, a copy) for a file. A folder on a file system without
/// junctions (FAT, some network shares; Wine) is an error: left out of the mirror.
pub fn link_entry(original: &Path, link: &Path) -> io::Result<Linked> {
    let is_dir = fs::metadata(original)?.is_dir();
    let symlink = if is_dir {
        std::os::windows::fs::symlink_dir(original, link)
    } else {
        std::os::windows::fs::symlink_file(original, link)
    };
    if symlink.is_ok() {
        // Wine makes symbolic links that do not resolve: only a working one counts.
        if fs::metadata(link).is_ok() {
            return Ok(Linked::Link);
        }
        let _ = if is_dir {
            fs::remove_dir(link)
        } else {
            fs::remove_file(link)
        };
    }
    if is_dir {
        return junction(original, link).map(|()| Linked::Link);
    }
    if fs::hard_link(original, link).is_err() {
        fs::copy(original, link)?;
    }
    Ok(Linked::Copy)
}

/// The reparse tag of a junction (a mount point) and the control code that sets one.
const IO_REPARSE_TAG_MOUNT_POINT: u32 = 0xA000_0003;
const FSCTL_SET_REPARSE_POINT: u32 = 0x0009_00A4;
const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

/// Makes `link` a junction to the folder `target`: an empty folder with a mount-point
/// reparse point, which any user may create (unlike a symbolic link).
pub(super) fn junction(target: &Path, link: &Path) -> io::Result<()> {
    let target = std::path::absolute(target)?;
    let target = super::plain(target);
    let mut substitute: Vec<u16> = r"\??\".encode_utf16().collect();
    substitute.extend(target.as_os_str().encode_wide());
    let print: Vec<u16> = target.as_os_str().encode_wide().collect();
    let (substitute_bytes, print_bytes) = (substitute.len() * 2, print.len() * 2);
    // The mount-point buffer: four u16 offsets and lengths, then both names, each
    // NUL-terminated.
    let data_length = 8 + substitute_bytes + 2 + print_bytes + 2;
    let too_long = || io::Error::new(io::ErrorKind::InvalidInput, "path too long for a junction");
    let data_length_u16 = u16::try_from(data_length).map_err(|_| too_long())?;
    let mut buffer: Vec<u8> = Vec::with_capacity(8 + data_length);
    buffer.extend(IO_REPARSE_TAG_MOUNT_POINT.to_le_bytes());
    buffer.extend(data_length_u16.to_le_bytes());
    buffer.extend(0u16.to_le_bytes());
    let field = |n: usize| u16::try_from(n).map_err(|_| too_long());
    buffer.extend(0u16.to_le_bytes());
    buffer.extend(field(substitute_bytes)?.to_le_bytes());
    buffer.extend(field(substitute_bytes + 2)?.to_le_bytes());
    buffer.extend(field(print_bytes)?.to_le_bytes());
    for unit in substitute.iter().chain(&[0]).chain(&print).chain(&[0]) {
        buffer.extend(unit.to_le_bytes());
    }
    fs::create_dir(link)?;
    let set = fs::OpenOptions::new()
        .write(true)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
        .open(link)
        .and_then(|folder| {
            let mut returned = 0u32;
            let size = u32::try_from(buffer.len()).map_err(|_| too_long())?;
            // SAFETY: the handle is open for the call; the buffer outlives it and its
            // size is passed with it; no output buffer and no overlapped I/O.
            let ok = unsafe {
                DeviceIoControl(
                    folder.as_raw_handle() as HANDLE,
                    FSCTL_SET_REPARSE_POINT,
                    buffer.as_ptr().cast(),
                    size,
                    std::ptr::null_mut(),
                    0,
                    &mut returned,
                    std::ptr::null_mut(),
                )
            };
            if ok == 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    if set.is_err() {
        let _ = fs::remove_dir(link);
    }
    set
}

/// The space left for this user on the disk holding `path` (`None` when unknown).
pub fn available_space(path: &Path) -> Option<u64> {
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
    let mut free = 0u64;
    // SAFETY: the path is NUL-terminated and outlives the call; the one output pointer
    // is to a local, the others may be null.
    let ok = unsafe {
        GetDiskFreeSpaceExW(
            wide.as_ptr(),
            &mut free,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    (ok != 0).then_some(free)
}

/// Removes a module's folder unless a process has a library of it loaded: Windows
/// refuses to delete a loaded library, so its libraries go first, and the first one
/// refused keeps the folder (its record and build lock untouched).
pub fn remove_dir_unless_loaded(dir: &Path) -> io::Result<bool> {
    let mut libraries: Vec<PathBuf> = fs::read_dir(dir)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            ["pyd", "dll"].contains(&extension.to_ascii_lowercase().as_str())
        })
        .collect();
    libraries.sort();
    for library in libraries {
        match fs::remove_file(&library) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => return Ok(false),
            // ERROR_SHARING_VIOLATION: open without leave to delete it.
            Err(error) if error.raw_os_error() == Some(32) => return Ok(false),
            Err(error) => return Err(error),
        }
    }
    fs::remove_dir_all(dir).map(|()| true)
}

/// Windows cannot list other processes' loaded libraries cheaply; none are known, and
/// [`remove_dir_unless_loaded`] finds out per folder instead.
pub fn loaded_files(_root: &Path) -> Option<HashSet<PathBuf>> {
    Some(HashSet::new())
}

/// Whether `pid` is a running process of this machine: one that can be opened and has
/// not exited (`STILL_ACTIVE`).
pub fn process_is_alive(pid: u32) -> bool {
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    const STILL_ACTIVE: u32 = 259;
    // SAFETY: the handle is checked, used once and closed.
    unsafe {
        let process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if process.is_null() {
            // Access denied means it runs, as another user's.
            return std::io::Error::last_os_error().raw_os_error() == Some(5);
        }
        let mut code = 0u32;
        let known = GetExitCodeProcess(process, &mut code) != 0;
        CloseHandle(process);
        !known || code == STILL_ACTIVE
    }
}

/// Which file system holds `path`'s folder: not told apart here, so one for all (a
/// file system whose `flock` fails makes every build lock with lock files).
pub fn file_system_of(_path: &Path) -> u64 {
    0
}

/// Errors by which a file system says it has no (working) file lock.
pub fn refuses_locks(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Unsupported
}

/// A variable's value as bytes: its text, with what is not Unicode replaced.
pub fn os_str_bytes(value: &OsStr) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}

/// `STATUS_CONTROL_C_EXIT`: how a process ended by Ctrl-C exits.
pub const CONTROL_C_EXIT: u32 = 0xC000_013A;

/// A build tool and everything it started (rustc, build scripts, the linker), held in
/// a Job Object: ending the job ends them all (`cargo.exe` alone would leave rustc and
/// the linker running).
pub struct ProcessTree {
    job: HANDLE,
}

impl ProcessTree {
    /// Starts the command in a process group of its own, so that a Ctrl-C in the
    /// console reaches the interpreter, which then ends the tree (as on Unix).
    pub fn prepare(command: &mut Command) {
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }

    /// Puts a spawned child into a new Job Object; the processes it starts join it.
    pub fn adopt(child: &Child) -> ProcessTree {
        // SAFETY: no security attributes and no name; the result is checked below.
        let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if !job.is_null() {
            // SAFETY: both handles are open: the job's just made, the child's owned by
            // `child`, which outlives this call.
            unsafe {
                AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE);
            }
        }
        ProcessTree { job }
    }

    /// Ends every process of the tree, with the exit code of a process ended by Ctrl-C
    /// (`STATUS_CONTROL_C_EXIT`).
    pub fn kill(&self) {
        if !self.job.is_null() {
            // SAFETY: the job handle is open until drop.
            unsafe {
                TerminateJobObject(self.job, CONTROL_C_EXIT);
            }
        }
    }
}

impl Drop for ProcessTree {
    fn drop(&mut self) {
        if !self.job.is_null() {
            // SAFETY: the handle was opened by CreateJobObjectW and is closed once.
            unsafe {
                CloseHandle(self.job);
            }
        }
    }
}
