//! The compiler cache builds run under (sccache, named by `RUSTC_WRAPPER`): what it
//! served the last build, counted from its statistics before and after, and kept in the
//! build folder for `cache info`; what keeps its keys the same on every machine
//! (`CARGO_NET_OFFLINE` as cargo's option); the wrapper's own failures told from the
//! compiler's, and its storage failing while a build runs ([`Watch`]); a failure
//! remembered for a while ([`Outage`]), so that the builds after it do not each wait for
//! a server that is gone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsutil::write_atomically;

/// What the compiler cache served one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastBuild {
    /// `RUSTC_WRAPPER` as the build saw it.
    pub wrapper: String,
    pub module: String,
    pub hits: u64,
    pub misses: u64,
    /// Failed reads and writes of the cache (its server gone, a corrupt entry).
    pub errors: u64,
}

/// sccache's running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    hits: u64,
    misses: u64,
    errors: u64,
    /// Writes to the storage that failed or timed out: its server is gone (a corrupt
    /// entry is a read error and costs only its own compile).
    failed_writes: u64,
}

/// The sccache program builds run under, if `RUSTC_WRAPPER` names one.
fn sccache() -> Option<PathBuf> {
    let wrapper = PathBuf::from(std::env::var_os("RUSTC_WRAPPER").filter(|w| !w.is_empty())?);
    let stem = wrapper.file_stem()?.to_string_lossy().into_owned();
    (stem == "sccache").then_some(wrapper)
}

/// The sccache program builds in the build folder at `root` run under now: none while
/// the compiler cache is down (see [`recent_outage`]).
fn serving(root: &Path) -> Option<PathBuf> {
    sccache().filter(|_| recent_outage(root).is_none())
}

/// sccache's totals (`--show-stats --stats-format json`); `None` when it cannot say.
fn counts(program: &Path) -> Option<Counts> {
    let output = Command::new(program)
        .args(["--show-stats", "--stats-format", "json"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    Some(counts_of(json.get("stats")?))
}

fn counts_of(stats: &serde_json::Value) -> Counts {
    // `{"counts": {"Rust": 12}}` per language, or a plain number.
    let total = |key: &str| -> u64 {
        match stats.get(key) {
            Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(value) => value
                .get("counts")
                .and_then(|c| c.as_object())
                .map_or(0, |c| c.values().filter_map(|v| v.as_u64()).sum()),
            None => 0,
        }
    };
    Counts {
        hits: total("cache_hits"),
        misses: total("cache_misses"),
        errors: total("cache_errors") + total("cache_read_errors") + total("cache_write_errors"),
        failed_writes: total("cache_write_errors") + total("cache_timeouts"),
    }
}

/// The counts between two snapshots, as the build of `module` saw them.
fn between(wrapper: &Path, module: &str, before: Counts, after: Counts) -> LastBuild {
    LastBuild {
        wrapper: wrapper.display().to_string(),
        module: module.to_string(),
        hits: after.hits.saturating_sub(before.hits),
        misses: after.misses.saturating_sub(before.misses),
        errors: after.errors.saturating_sub(before.errors),
    }
}

fn file(root: &Path) -> PathBuf {
    root.join("compiler-cache.json")
}

/// Keeps what the compiler cache served the last build (best effort).
fn remember(root: &Path, last: &LastBuild) {
    if let Ok(json) = serde_json::to_vec(last) {
        let _ = write_atomically(&file(root), &json);
    }
}

/// What the compiler cache served the last build in the build folder at `root`.
pub fn last_build(root: &Path) -> Option<LastBuild> {
    serde_json::from_slice(&std::fs::read(file(root)).ok()?).ok()
}

/// How long builds go without the compiler cache after it failed: sccache's server
/// idles out after 10 minutes (`SCCACHE_IDLE_TIMEOUT`'s default), and until it does, a
/// server whose storage is gone makes every compile wait 30 s to read and 30 s to write.
pub const OUTAGE_LASTS: Duration = Duration::from_secs(600);

/// The compiler cache failed: builds in the same build folder, under the same wrapper
/// and sccache settings, go without it until [`OUTAGE_LASTS`] has passed, then try it
/// again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    /// What failed, as the build that met it said (`sccache could not write …`).
    pub failure: String,
    /// Seconds since the Unix epoch.
    pub at: u64,
    /// Which wrapper and storage failed: the sha256 of `RUSTC_WRAPPER` and the `SCCACHE_*`
    /// variables (they may hold passwords, so not the values); another set-up tries its
    /// own cache.
    setup: String,
}

impl Outage {
    /// Seconds since it failed.
    pub fn age(&self) -> u64 {
        now().saturating_sub(self.at)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// The wrapper and the compiler cache's settings this process builds with.
fn setup() -> String {
    let mut variables: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            (name == "RUSTC_WRAPPER" || name.starts_with("SCCACHE_"))
                .then(|| (name, value.to_string_lossy().into_owned()))
        })
        .collect();
    variables.sort();
    let mut hasher = Sha256::new();
    for (name, value) in variables {
        hasher.update(format!("{name}={value}\0").as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

fn outage_file(root: &Path) -> PathBuf {
    root.join("compiler-cache-outage.json")
}

/// Keeps that the compiler cache failed (best effort: a read-only build folder keeps
/// nothing, and its builds each find out again).
pub fn remember_outage(root: &Path, failure: &str) {
    let outage = Outage {
        failure: failure.to_string(),
        at: now(),
        setup: setup(),
    };
    if let Ok(json) = serde_json::to_vec(&outage) {
        let _ = write_atomically(&outage_file(root), &json);
    }
}

/// The compiler cache's failure that builds in the build folder at `root` still go
/// around: less than [`OUTAGE_LASTS`] ago, under this process's wrapper and settings.
pub fn recent_outage(root: &Path) -> Option<Outage> {
    let outage: Outage = serde_json::from_slice(&std::fs::read(outage_file(root)).ok()?).ok()?;
    (outage.setup == setup() && outage.age() < OUTAGE_LASTS.as_secs()).then_some(outage)
}

/// The compiler cache worked again: the next builds use it without a second thought.
pub fn forget_outage(root: &Path) {
    let _ = std::fs::remove_file(outage_file(root));
}

/// Watches sccache's statistics while a build runs: what it served the build (kept for
/// `cache info` when the build ends), and writes to its storage that fail.
///
/// sccache whose server is gone mid-build (a Redis server stopped) still compiles each
/// crate, but only after waiting 30 s to read it and 30 s more to store it: a build of
/// pyo3 takes minutes. The first failed write says the storage is gone; the build then
/// stops and runs again without the wrapper (see `cargo::run`).
pub struct Watch {
    program: PathBuf,
    /// The build folder and the module built, for [`remember`].
    root: PathBuf,
    module: String,
    /// sccache's totals when the watch started.
    before: Counts,
    failed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Watch {
    /// Watches the sccache of `RUSTC_WRAPPER` while `module` builds in the build folder
    /// at `root`; `None` without one, during an outage (see [`serving`]), or when its
    /// server does not answer: then the wrapper fails by itself (see
    /// [`wrapper_failure`]).
    pub fn start(root: &Path, module: &str) -> Option<Watch> {
        let program = serving(root)?;
        let before = counts(&program)?;
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped, polled) = (failed.clone(), stop.clone(), program.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                if let Some(now) = counts(&polled) {
                    let new = now.failed_writes.saturating_sub(before.failed_writes);
                    if new > 0 {
                        seen.store(new, Ordering::Relaxed);
                        return;
                    }
                }
            }
        });
        Some(Watch {
            program,
            root: root.to_path_buf(),
            module: module.to_string(),
            before,
            failed,
            stop,
        })
    }

    /// How many writes to the storage failed since the watch started, as the poller
    /// last saw (0: none yet).
    pub fn failed_writes(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Ends the watch when the build ends: keeps what sccache served it (best effort)
    /// and returns how many writes to its storage failed, looked at now (the end of a
    /// build may come before the poller's next look).
    pub fn finish(self) -> u64 {
        let Some(after) = counts(&self.program) else {
            return self.failed_writes();
        };
        remember(
            &self.root,
            &between(&self.program, &self.module, self.before, after),
        );
        after
            .failed_writes
            .saturating_sub(self.before.failed_writes)
            .max(self.failed_writes())
    }
}

impl Drop for Watch {
    /// Stops the poller without waiting for it (a look it is taking may take a while).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `CARGO_NET_OFFLINE` as cargo's own option (`--config net.offline=…`) instead of a
/// variable the compiler inherits: sccache keys every compile on the `CARGO_*`
/// variables rustc sees, so a machine that builds offline would miss every entry of a
/// team's compiler cache filled by one that does not.
pub fn offline_as_an_option(command: &mut Command) {
    let value = std::env::var("CARGO_NET_OFFLINE").unwrap_or_default();
    if let Some(offline) = crate::settings::switch(&value) {
        command
            .env_remove("CARGO_NET_OFFLINE")
            .args(["--config", &format!("net.offline={offline}")]);
    }
}

/// The compiler wrapper's own error in a failed build's output (`sccache: error: …`),
/// as opposed to the compiler's: the wrapper named by `RUSTC_WRAPPER`.
pub fn wrapper_failure(diagnostics: &str) -> Option<String> {
    let wrapper = std::env::var_os("RUSTC_WRAPPER").filter(|w| !w.is_empty())?;
    let name = Path::new(&wrapper)
        .file_stem()?
        .to_string_lossy()
        .into_owned();
    let prefix = format!("{name}: error");
    let lines: Vec<&str> = diagnostics
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with(&prefix))
        .collect();
    let last = lines.last()?;
    Some(last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sccache_statistics_are_summed_over_languages() {
        let stats = serde_json::json!({
            "cache_hits": {"counts": {"Rust": 12, "C/C++": 1}},
            "cache_misses": {"counts": {"Rust": 2}},
            "cache_errors": {"counts": {}},
            "cache_read_errors": 1,
            "cache_write_errors": 2,
            "cache_timeouts": 1,
        });
        let after = counts_of(&stats);
        let before = Counts {
            hits: 3,
            ..Counts::default()
        };
        let last = between(Path::new("/bin/sccache"), "fast", before, after);
        assert_eq!((last.hits, last.misses, last.errors), (10, 2, 3));
        assert_eq!(after.failed_writes, 3);
        let root = tempfile::tempdir().unwrap();
        remember(root.path(), &last);
        assert_eq!(last_build(root.path()), Some(last));
    }

    #[test]
    fn an_outage_is_gone_around_for_a_while_then_forgotten() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(recent_outage(root.path()), None);
        remember_outage(
            root.path(),
            "sccache could not write 1 entry to its storage",
        );
        let outage = recent_outage(root.path()).expect("just remembered");
        assert_eq!(
            outage.failure,
            "sccache could not write 1 entry to its storage"
        );
        assert!(outage.age() <= 1);

        // Older than it lasts: the cache is tried again.
        let old = Outage {
            at: outage.at - OUTAGE_LASTS.as_secs(),
            ..outage.clone()
        };
        std::fs::write(outage_file(root.path()), serde_json::to_vec(&old).unwrap()).unwrap();
        assert_eq!(recent_outage(root.path()), None);

        // Another wrapper or storage: its own cache is tried.
        let elsewhere = Outage {
            setup: "another".to_string(),
            ..outage
        };
        std::fs::write(
            outage_file(root.path()),
            serde_json::to_vec(&elsewhere).unwrap(),
        )
        .unwrap();
        assert_eq!(recent_outage(root.path()), None);

        remember_outage(root.path(), "sccache: error: Timed out");
        forget_outage(root.path());
        assert_eq!(recent_outage(root.path()), None);
    }
}
