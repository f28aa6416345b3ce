//! The per-module build lock: an exclusive advisory lock on a file in the module's
//! cache folder. The kernel releases it when the holder exits, even when killed, so a
//! dead build never leaves a stale lock behind.

use std::fs::{File, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A held build lock; released on drop.
#[derive(Debug)]
pub struct BuildLock {
    file: File,
    path: PathBuf,
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        if let Err(error) = self.file.unlock() {
            log::debug!(target: "rusthook.lock", "unlocking {}: {error}", self.path.display());
        }
    }
}

fn open(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(Error::io("cannot open the build lock", path))
}

/// Takes the lock if it is free right now, and notes in it who holds it (read by a
/// waiter that times out, to say which process it waited for).
pub fn try_acquire(path: &Path) -> Result<Option<BuildLock>> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {
            let started = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let note = format!("{} {started}", std::process::id());
            // Best effort: the note only improves a timeout's message.
            let _ = file
                .set_len(0)
                .and_then(|()| file.write_all(note.as_bytes()));
            Ok(Some(BuildLock {
                file,
                path: path.to_path_buf(),
            }))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => Err(Error::io("cannot lock", path)(error)),
    }
}

/// Waits for the lock, up to `timeout`. Returns the lock and whether another process
/// held it first (then that process has probably just built the module).
/// `interrupted` is polled while waiting, so Ctrl-C ends the wait.
pub fn acquire(
    path: &Path,
    timeout: Duration,
    interrupted: &dyn Fn() -> bool,
) -> Result<(BuildLock, bool)> {
    if let Some(lock) = try_acquire(path)? {
        return Ok((lock, false));
    }
    log::info!(target: "rusthook.lock", "waiting for another process to finish building ({})", path.display());
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        std::thread::sleep(pause);
        if let Some(lock) = try_acquire(path)? {
            return Ok((lock, true));
        }
        if interrupted() {
            return Err(Error::Interrupted);
        }
        if start.elapsed() >= timeout {
            let holder = std::fs::read_to_string(path)
                .ok()
                .and_then(|note| describe_holder(&note))
                .unwrap_or_else(|| "another process".to_string());
            return Err(Error::LockTimeout {
                path: path.to_path_buf(),
                seconds: timeout.as_secs_f64(),
                holder,
            });
        }
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// `process 1234, for 2 min 5 s` from the holder's note (`<pid> <unix seconds>`).
fn describe_holder(note: &str) -> Option<String> {
    let mut words = note.split_whitespace();
    let pid: u32 = words.next()?.parse().ok()?;
    let started: u64 = words.next()?.parse().ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(format!(
        "process {pid}, for {}",
        duration_text(now.saturating_sub(started))
    ))
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
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build.lock");
        let first = try_acquire(&path).unwrap().expect("free lock");
        assert!(try_acquire(&path).unwrap().is_none());
        let err = acquire(&path, Duration::from_millis(50), &|| false).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(err.to_string().contains("lock_timeout="), "{err}");
        // The holder's start is kept in whole seconds: a second boundary may pass.
        let holder = |age: u32| format!("held by process {}, for {age} s.", std::process::id());
        let text = err.to_string();
        assert!(
            text.contains(&holder(0)) || text.contains(&holder(1)),
            "{err}"
        );
        drop(first);
        let (_lock, waited) = acquire(&path, Duration::from_secs(1), &|| false).unwrap();
        assert!(!waited);
    }

    #[test]
    fn durations_read_as_a_person_would_say_them() {
        assert_eq!(duration_text(45), "45 s");
        assert_eq!(duration_text(125), "2 min 5 s");
        assert_eq!(duration_text(3 * 3600 + 20 * 60 + 7), "3 h 20 min");
        assert_eq!(describe_holder("not a note"), None);
    }

    #[test]
    fn waiting_stops_when_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build.lock");
        let _held = try_acquire(&path).unwrap().unwrap();
        let err = acquire(&path, Duration::from_secs(60), &|| true).unwrap_err();
        assert!(matches!(err, Error::Interrupted));
    }

    #[test]
    fn waiter_gets_the_lock_when_the_holder_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build.lock");
        let held = try_acquire(&path).unwrap().unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(held);
        });
        let (_lock, waited) = acquire(&path, Duration::from_secs(5), &|| false).unwrap();
        assert!(waited);
        releaser.join().unwrap();
    }
}
