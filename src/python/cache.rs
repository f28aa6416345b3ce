//! The `cache` commands (`info`, `clear`, `prune`) and the tool versions `info` shows.

use std::ffi::OsString;
use std::path::PathBuf;

use pyo3::prelude::*;

use super::errors::to_python_error;
use crate::machinery::{cache_usage, compiler_cache};

/// One module of the cache: `(name, source, source exists, bytes, last used as Unix
/// seconds)`.
type ModuleRow = (
    Option<String>,
    Option<OsString>,
    bool,
    u64,
    f64,
    &'static str,
);

/// `[(ABI folder, bytes, [module])]` for each partition of the build cache at `root`.
#[pyfunction]
pub(super) fn cache_summary(py: Python<'_>, root: PathBuf) -> Vec<(OsString, u64, Vec<ModuleRow>)> {
    let unix = |time: std::time::SystemTime| {
        time.duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    py.detach(|| cache_usage::summarize(&root))
        .into_iter()
        .map(|partition| {
            let modules = partition
                .modules
                .into_iter()
                .map(|m| {
                    let source = m.source.map(PathBuf::into_os_string);
                    let state = m.state.describe();
                    (
                        m.name,
                        source,
                        m.source_exists,
                        m.bytes,
                        unix(m.last_used),
                        state,
                    )
                })
                .collect();
            (partition.abi_dir.into_os_string(), partition.bytes, modules)
        })
        .collect()
}

/// What the compiler cache (sccache) served the last build in the build folder at
/// `root`: `(RUSTC_WRAPPER, module, hits, misses, errors)`.
#[pyfunction]
pub(super) fn compiler_cache_last(root: PathBuf) -> Option<(String, String, u64, u64, u64)> {
    compiler_cache::last_build(&root).map(|last| {
        (
            last.wrapper,
            last.module,
            last.hits,
            last.misses,
            last.errors,
        )
    })
}

/// The compiler cache's failure that builds under `root` go around now: `(what failed,
/// seconds ago, seconds it lasts)`.
#[pyfunction]
pub(super) fn compiler_cache_outage(root: PathBuf) -> Option<(String, u64, u64)> {
    compiler_cache::recent_outage(&root).map(|outage| {
        let age = outage.age();
        (outage.failure, age, compiler_cache::OUTAGE_LASTS.as_secs())
    })
}

/// Deletes every build under `root`; refuses while a build holds a lock. Returns bytes freed.
#[pyfunction]
pub(super) fn cache_clear(py: Python<'_>, root: PathBuf) -> PyResult<u64> {
    py.detach(|| cache_usage::clear(&root))
        .map_err(to_python_error)
}

/// Prunes the build cache at `root` (see `cache_usage::prune`); returns `[(path, bytes,
/// reason)]` of what was removed.
#[pyfunction]
#[pyo3(signature = (root, older_than_days=None, max_bytes=None))]
pub(super) fn cache_prune(
    py: Python<'_>,
    root: PathBuf,
    older_than_days: Option<f64>,
    max_bytes: Option<u64>,
) -> PyResult<Vec<(OsString, u64, &'static str)>> {
    let older_than = older_than_days
        .map(|days| {
            std::time::Duration::try_from_secs_f64(days * 86_400.0).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "--older-than takes a number of days, not {days}"
                ))
            })
        })
        .transpose()?;
    let request = cache_usage::PruneRequest {
        older_than,
        max_bytes,
    };
    let removed = py
        .detach(|| cache_usage::prune(&root, &request))
        .map_err(to_python_error)?;
    Ok(removed
        .into_iter()
        .map(|r| (r.path.into_os_string(), r.bytes, r.reason))
        .collect())
}

/// `[(tool, version or the error running it)]` for rustc and cargo.
#[pyfunction]
pub(super) fn tool_versions(py: Python<'_>) -> Vec<(String, String)> {
    py.detach(crate::machinery::toolchain::tool_versions)
}
