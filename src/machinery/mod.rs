//! The build machinery both importers share: the cache layout, the per-module lock, the
//! freshness record and its inputs, the toolchain, running cargo, progress, and the
//! verified install of a library. [`fresh_or_build`] is the one skeleton of a build.
//!
//! Order of work: check freshness without a lock (the fast path); otherwise take the
//! module's lock, check again (another process may have just built it), build, then
//! write the build record. A failed build leaves the last good library and its record
//! untouched.

pub mod cache;
pub mod cache_usage;
pub mod cargo;
pub mod compiler_cache;
pub mod freshness;
pub mod inputs;
pub mod install;
pub mod lock;
pub mod placement;
pub mod progress;
pub mod stable_abi;
pub mod toolchain;

use std::path::Path;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::fsutil::create_private_dir;
use crate::settings::{PythonEnv, Settings};
use cache::{BuildCache, ModuleCache};
use freshness::{
    process_env, process_env_names, BuildRecord, Expected, Freshness, ToolchainId, RECORD_FORMAT,
};
use inputs::BuildInputs;
use progress::Progress;

/// Everything one build of one module needs, worked out once per import and passed on.
pub struct BuildContext<'a> {
    /// The module's name (a project's import name), for messages.
    pub name: &'a str,
    /// The source file, crate folder or project root.
    pub origin: &'a Path,
    pub settings: &'a Settings,
    pub python: &'a PythonEnv,
    pub cache: BuildCache,
    /// The module's folder in the cache: record, lock, library.
    pub module: ModuleCache,
    /// The cargo profile of this build (`dev`, `release` or a custom one).
    pub profile: String,
    pub features: Vec<String>,
    /// [`Settings::fingerprint`] of this build: compared with the last record, and
    /// written into the new one. Computed once, so the two can never drift apart.
    pub fingerprint: String,
    pub progress: Progress<'a>,
}

/// What a build produced, before [`fresh_or_build`] completes its record.
pub struct Outcome {
    /// The library's file name in the module's cache folder (an editable project's
    /// installed library: its absolute path; empty when maturin installed it).
    pub artifact: String,
    /// A cffi library's declarations file, beside it.
    pub declarations: Option<String>,
    /// The library's `.pyi` stub, beside it.
    pub stub: Option<String>,
    /// Everything the build read.
    pub inputs: BuildInputs,
    /// Absolute `//d:` globs: a new file matching one makes the build stale.
    pub globs: Vec<String>,
    /// The stable-ABI floor the library was built for, if it was (see [`BuildRecord`]).
    pub stable_abi_floor: Option<u32>,
}

/// Returns the record of a fresh build: the last one if it is still fresh, else a new
/// one made by `build` (given the record of the build before, if any). `last` is the
/// record as the caller read it. `describe` names the build in the log
/// (`fast (debug)`). Only one process builds a module at a time; the others wait for
/// the lock and use what it built.
pub fn fresh_or_build(
    ctx: &BuildContext,
    last: Option<BuildRecord>,
    describe: &str,
    build: impl FnOnce(Option<&BuildRecord>) -> Result<Outcome>,
) -> Result<BuildRecord> {
    let force = ctx.settings.force_rebuild;
    let why = match check(ctx, last.as_ref(), true) {
        Ok(()) if !force => {
            if let Some(record) = last {
                return Ok(record);
            }
            None
        }
        Ok(()) => Some("a rebuild was forced".to_string()),
        Err(reason) => reason,
    };
    create_private_dir(&ctx.module.dir).map_err(|error| on_read_only(ctx, error))?;
    let (_lock, waited) = lock::acquire(
        &ctx.module.lock_path(),
        ctx.name,
        ctx.settings.lock_timeout,
        &|| ctx.progress.interrupted(),
    )
    .map_err(|error| on_read_only(ctx, error))?;
    // Read again under the lock: whoever held it may have just built the module (then
    // even a forced rebuild need not build again).
    let previous = ctx.module.read_record();
    if (!force || waited) && check(ctx, previous.as_ref(), false).is_ok() {
        if let Some(record) = previous {
            return Ok(record);
        }
    }

    let started = Instant::now();
    let level = if ctx.settings.quiet {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    // One line per build, saying why when a build was there before.
    match &why {
        Some(reason) => {
            log::log!(target: "rusthook.builder", level, "building {describe} from {}: {reason}", ctx.origin.display())
        }
        None => {
            log::log!(target: "rusthook.builder", level, "building {describe} from {}", ctx.origin.display())
        }
    }
    let toolchain = ToolchainId {
        fingerprint: toolchain::fingerprint().to_string(),
        version: toolchain::cached_version(&ctx.cache.toolchain_file())?,
    };
    let outcome = build(previous.as_ref())?;
    let record = BuildRecord {
        format: RECORD_FORMAT,
        module: ctx.name.to_string(),
        source: ctx.origin.to_path_buf(),
        settings: ctx.fingerprint.clone(),
        toolchain,
        profile: ctx.profile.clone(),
        artifact: outcome.artifact,
        declarations: outcome.declarations,
        stub: outcome.stub,
        files: outcome.inputs.files,
        globs: outcome.globs,
        stable_abi_floor: outcome.stable_abi_floor,
        absent: outcome.inputs.absent,
        variables: outcome.inputs.variables,
        unconfirmed: outcome.inputs.unconfirmed,
        built_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
        build_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    record.write(&ctx.module.record_path())?;
    log::log!(
        target: "rusthook.builder",
        level,
        "built {} in {:.1} s",
        ctx.name,
        record.build_ms as f64 / 1000.0
    );
    Ok(record)
}

/// A build folder on a read-only file system is said so, once, for the whole folder: the
/// fresh check before needed no writes, so whatever it holds still loads. So is root's
/// build folder used by another user (see `fsutil::check_private`).
fn on_read_only(ctx: &BuildContext, error: Error) -> Error {
    match &error {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
            Error::ReadOnlyBuildFolder {
                module: ctx.name.to_string(),
                path: ctx.settings.build_root.clone(),
            }
        }
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
            match crate::platform::owner_if_not_me(&ctx.settings.build_root) {
                Some(owner) => Error::BuildFolderNotOurs {
                    module: ctx.name.to_string(),
                    source_path: ctx.origin.to_path_buf(),
                    path: ctx.settings.build_root.clone(),
                    owner,
                    looked: ctx.module.record_path(),
                },
                None => error,
            }
        }
        _ => error,
    }
}

/// True when `record` (read from `ctx`'s module folder) describes a build that is still
/// fresh: one another kind of build may serve (see `compile`).
pub fn is_up_to_date(ctx: &BuildContext, record: &BuildRecord) -> bool {
    check(ctx, Some(record), false).is_ok()
}

/// `Ok` when `record` describes a build that is still fresh; else why not (`None`: no
/// record at all). `explain` logs why not (the check under the lock repeats the first
/// one: said once).
fn check(
    ctx: &BuildContext,
    record: Option<&BuildRecord>,
    explain: bool,
) -> std::result::Result<(), Option<String>> {
    let name = ctx.name;
    let Some(record) = record else {
        if explain {
            log::debug!(target: "rusthook.freshness", "{name} must be built: no build record at {}", ctx.module.record_path().display());
        }
        return Err(None);
    };
    if let Some(reason) = placement::why_unloadable(record, &ctx.fingerprint, ctx.python) {
        if explain {
            log::debug!(target: "rusthook.freshness", "{name} must be built for this interpreter: {reason}");
        }
        return Err(Some(reason));
    }
    match check_record(
        record,
        &ctx.module.artifact_path(&record.artifact),
        &ctx.fingerprint,
    ) {
        Freshness::Fresh => {
            log::debug!(target: "rusthook.freshness", "{name} is fresh");
            Ok(())
        }
        Freshness::FreshWithNewStats(updated) => {
            log::debug!(target: "rusthook.freshness", "{name} is fresh (touched files hash the same)");
            // Record the new stats so the next check stays stat-only, but only if no
            // one is building right now and the record is still the one we checked.
            if let Ok(Some(_lock)) = lock::try_acquire(&ctx.module.lock_path()) {
                if ctx.module.read_record().as_ref() == Some(record) {
                    let _ = updated.write(&ctx.module.record_path());
                }
            }
            Ok(())
        }
        Freshness::Stale(reason) => {
            if explain {
                log::debug!(target: "rusthook.freshness", "{name} must be rebuilt: {reason}");
            }
            Err(Some(reason))
        }
    }
}

/// Checks `record` (its library at `artifact`) against this process: its environment,
/// its toolchain and the settings fingerprint `settings`.
pub fn check_record(record: &BuildRecord, artifact: &Path, settings: &str) -> Freshness {
    let version = || toolchain::version().ok();
    let expected = Expected {
        settings,
        toolchain_fingerprint: toolchain::fingerprint(),
        toolchain_version: &version,
        env: &process_env,
        env_names: &process_env_names,
    };
    record.check(artifact, &expected)
}
