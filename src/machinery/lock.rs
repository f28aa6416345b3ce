//! The per-module build lock: an exclusive advisory lock (`flock`) on a file in the
//! module's cache folder. The kernel releases it when the holder exits, even when
//! killed, so a dead build never leaves a stale lock behind.
//!
//! Some file systems refuse `flock` (NFS without its lock manager, some FUSE file
//! systems) or let it hang (an unresponsive lock server). The first lock taken on a file
//! system is tried in a thread with a deadline; where it fails or hangs, builds there
//! lock with a file created exclusively (`build.held`) instead, holding the holder's
//! process id and host: a waiter removes it when that process is gone from this host.

use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::platform;

/// How long the first `flock` on a file system may take before it counts as hanging: a
/// lock that is free or held answers at once, even on NFS.
const FLOCK_PROBE: Duration = Duration::from_secs(5);

/// A wait this long is logged with who holds the lock.
const SAY_WHO_AFTER: Duration = Duration::from_secs(3);

/// A held build lock; released on drop.
#[derive(Debug)]
pub struct BuildLock {
    held: Held,
}

#[derive(Debug)]
enum Held {
    Flock {
        file: File,
        path: PathBuf,
    },
    /// The lock file created exclusively, and the note written into it (removed on
    /// drop only if it is still ours).
    Exclusive {
        path: PathBuf,
        note: String,
    },
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        match &self.held {
            Held::Flock { file, path } => {
                if let Err(error) = file.unlock() {
                    log::debug!(target: "rusthook.lock", "unlocking {}: {error}", path.display());
                }
            }
            Held::Exclusive { path, note } => {
                if std::fs::read_to_string(path).ok().as_deref() == Some(note.as_str()) {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

/// How builds lock on one file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Flock,
    ExclusiveFile,
}

/// The method of each file system this process has locked on, by device.
static METHODS: Mutex<Option<HashMap<u64, Method>>> = Mutex::new(None);

fn open(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(Error::io("cannot open the build lock", path))
}

/// Takes the lock if it is free right now, and notes in it who holds it (read by a
/// waiter, to say which process it waits for).
pub fn try_acquire(path: &Path) -> Result<Option<BuildLock>> {
    try_acquire_for(path, "")
}

/// [`try_acquire`] noting `module` as what the holder builds.
fn try_acquire_for(path: &Path, module: &str) -> Result<Option<BuildLock>> {
    match method(path)? {
        Method::Flock => try_flock(path, module),
        Method::ExclusiveFile => try_exclusive(&exclusive_path(path), module),
    }
}

/// `<pid> <unix seconds> <host> <module>`: who holds a lock, since when.
fn holder_note(module: &str) -> String {
    format!(
        "{} {} {} {module}",
        std::process::id(),
        unix_now(),
        host_name()
    )
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn try_flock(path: &Path, module: &str) -> Result<Option<BuildLock>> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {
            // Best effort: the note only improves what a waiter says.
            let note = holder_note(module);
            let _ = file
                .set_len(0)
                .and_then(|()| file.write_all(note.as_bytes()));
            Ok(Some(BuildLock {
                held: Held::Flock {
                    file,
                    path: path.to_path_buf(),
                },
            }))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => Err(Error::io("cannot lock", path)(error)),
    }
}

/// Where the exclusive lock file of a `build.lock` is: `build.held` beside it.
fn exclusive_path(path: &Path) -> PathBuf {
    path.with_extension("held")
}

fn try_exclusive(path: &Path, module: &str) -> Result<Option<BuildLock>> {
    let note = holder_note(module);
    for _ in 0..2 {
        match File::options().write(true).create_new(true).open(path) {
            Ok(mut file) => {
                file.write_all(note.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(Error::io("cannot write the build lock", path))?;
                return Ok(Some(BuildLock {
                    held: Held::Exclusive {
                        path: path.to_path_buf(),
                        note,
                    },
                }));
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                if !remove_if_abandoned(path) {
                    return Ok(None);
                }
            }
            Err(error) => return Err(Error::io("cannot create the build lock", path)(error)),
        }
    }
    Ok(None)
}

/// Removes a lock file whose holder is gone (a process of this host that no longer
/// runs); true if it did. The file is first renamed to a name of this process's own, so
/// that of two waiters removing the same dead holder's file, neither removes a live one
/// the other just created.
fn remove_if_abandoned(path: &Path) -> bool {
    let Ok(note) = std::fs::read_to_string(path) else {
        return true; // gone meanwhile: try again
    };
    let Some(holder) = Holder::parse(&note) else {
        // Being written right now (created, not yet filled): its holder is alive.
        return false;
    };
    if holder.host != host_name() || platform::process_is_alive(holder.pid) {
        return false;
    }
    let aside = path.with_extension(format!("abandoned-{}", std::process::id()));
    if std::fs::rename(path, &aside).is_err() {
        return true;
    }
    if std::fs::read_to_string(&aside).ok().as_deref() == Some(note.as_str()) {
        log::info!(target: "rusthook.lock", "process {} died holding the build lock {}; taking it over", holder.pid, path.display());
        let _ = std::fs::remove_file(&aside);
    } else {
        // Another waiter's fresh lock: put it back (unless someone took the lock since).
        let _ = std::fs::hard_link(&aside, path);
        let _ = std::fs::remove_file(&aside);
    }
    true
}

/// This machine's name: two hosts sharing a cache over a network file system (or two
/// containers sharing a volume) cannot see each other's processes.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().replace(char::is_whitespace, "_"))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// How builds lock on the file system of `path`: `flock` unless the first try there
/// failed or hung (said once per file system).
fn method(path: &Path) -> Result<Method> {
    let device = platform::file_system_of(path);
    if let Some(known) = METHODS
        .lock()
        .ok()
        .and_then(|methods| methods.as_ref()?.get(&device).copied())
    {
        return Ok(known);
    }
    let found = probe_flock(path)?;
    if let Ok(mut methods) = METHODS.lock() {
        methods
            .get_or_insert_with(HashMap::new)
            .insert(device, found);
    }
    Ok(found)
}

/// Tries `flock` on `path` in a thread, waiting at most [`FLOCK_PROBE`]: a lock call
/// that hangs is left behind in its thread rather than hang the import.
fn probe_flock(path: &Path) -> Result<Method> {
    let file = open(path)?;
    let (sender, receiver) = mpsc::channel();
    let probe = std::thread::Builder::new()
        .name("rusthook-lock-probe".into())
        .spawn(move || {
            let outcome = match file.try_lock() {
                Ok(()) => {
                    let _ = file.unlock();
                    Ok(())
                }
                Err(TryLockError::WouldBlock) => Ok(()),
                Err(TryLockError::Error(error)) => Err(error),
            };
            let _ = sender.send(outcome);
        });
    if probe.is_err() {
        return Ok(Method::Flock); // no thread to spare: lock as usual
    }
    let folder = path.parent().unwrap_or(path).display().to_string();
    match receiver.recv_timeout(FLOCK_PROBE) {
        Ok(Ok(())) => Ok(Method::Flock),
        Ok(Err(error)) if platform::refuses_locks(&error) => {
            log::warn!(target: "rusthook.lock", "file locks are refused on the file system of {folder} ({error}); builds there lock with lock files instead (set RUSTHOOK_BUILD_DIR to a local folder to avoid this)");
            Ok(Method::ExclusiveFile)
        }
        Ok(Err(error)) => Err(Error::io("cannot lock", path)(error)),
        Err(_) => {
            log::warn!(target: "rusthook.lock", "a file lock on the file system of {folder} did not answer within {} s; builds there lock with lock files instead (set RUSTHOOK_BUILD_DIR to a local folder to avoid this)", FLOCK_PROBE.as_secs());
            Ok(Method::ExclusiveFile)
        }
    }
}

/// Waits for the lock of `module`, up to `timeout`. Returns the lock and whether
/// another process held it first (then that process has probably just built the
/// module). `interrupted` is polled while waiting, so Ctrl-C ends the wait. A wait of
/// more than a few seconds is logged with who holds the lock.
pub fn acquire(
    path: &Path,
    module: &str,
    timeout: Duration,
    interrupted: &dyn Fn() -> bool,
) -> Result<(BuildLock, bool)> {
    if let Some(lock) = try_acquire_for(path, module)? {
        return Ok((lock, false));
    }
    let method = method(path)?;
    let note_path = match method {
        Method::Flock => path.to_path_buf(),
        Method::ExclusiveFile => exclusive_path(path),
    };
    let holder = || {
        std::fs::read_to_string(&note_path)
            .ok()
            .and_then(|note| Holder::parse(&note))
    };
    log::info!(target: "rusthook.lock", "waiting for another process to finish building {module} ({})", note_path.display());
    let start = Instant::now();
    let mut said_who = false;
    let mut pause = Duration::from_millis(5);
    loop {
        std::thread::sleep(pause);
        if let Some(lock) = try_acquire_for(path, module)? {
            return Ok((lock, true));
        }
        if interrupted() {
            return Err(Error::Interrupted);
        }
        if !said_who && start.elapsed() >= SAY_WHO_AFTER {
            said_who = true;
            if let Some(holder) = holder() {
                log::info!(target: "rusthook.lock", "still waiting for the build lock {}: held by {}", note_path.display(), holder.describe());
            }
        }
        if start.elapsed() >= timeout {
            let holder = holder()
                .map(|holder| holder.describe())
                .unwrap_or_else(|| "another process".to_string());
            let holder = match method {
                Method::Flock => holder,
                Method::ExclusiveFile => format!(
                    "{holder} (this file system has no working file locks, so rusthook cannot tell whether a process on another host still runs: if none does, delete that file)"
                ),
            };
            return Err(Error::LockTimeout {
                path: note_path,
                seconds: timeout.as_secs_f64(),
                holder,
            });
        }
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Who holds a lock, read from its note.
#[derive(Debug, PartialEq)]
struct Holder {
    pid: u32,
    started: u64,
    host: String,
    module: String,
}

impl Holder {
    /// `<pid> <unix seconds> [<host> [<module>]]`.
    fn parse(note: &str) -> Option<Holder> {
        let mut words = note.split_whitespace();
        Some(Holder {
            pid: words.next()?.parse().ok()?,
            started: words.next()?.parse().ok()?,
            host: words.next().unwrap_or_default().to_string(),
            module: words.next().unwrap_or_default().to_string(),
        })
    }

    /// `process 1234 (building fast), for 2 min 5 s`, naming the host when not this one.
    fn describe(&self) -> String {
        let mut text = format!("process {}", self.pid);
        if !self.host.is_empty() && self.host != host_name() {
            text.push_str(&format!(" on {}", self.host));
        }
        if !self.module.is_empty() {
            text.push_str(&format!(" (building {})", self.module));
        }
        text.push_str(&format!(
            ", for {}",
            duration_text(unix_now().saturating_sub(self.started))
        ));
        text
    }
}

/// `45 s`, `2 min 5 s`, `3 h 20 min`.
fn duration_text(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests;
