//! rusthook's core: Python imports Rust the way it imports Python.
//!
//! - [`machinery`]: the build machinery both importers share (cache, locks, freshness,
//!   toolchain, cargo, progress, verified install).
//! - [`file_importer`]: `import fast` from a marked `fast.rs` or crate folder (finder,
//!   preprocessor, generated manifests, templates, C declarations, notebook cells, `new`
//!   and `eject`).
//! - [`project_importer`]: editable maturin projects rebuilt on import.
//! - [`explain`]: why a module would be rebuilt (`python -m rusthook explain`).
//! - [`stubs`]: `.pyi` stubs of built modules; [`stub_subject`]: which importer makes
//!   the stub of a path (a source, else an editable project).
//! - `python`: the `#[pymodule]` boundary, `rusthook._core` (the `python` feature);
//!   every other module is plain Rust, tested without an interpreter.
//! - [`error`], [`settings`], [`fsutil`]: the error enum, build settings, file helpers,
//!   used by every part; [`platform`]: every difference between Linux, macOS and
//!   Windows (the only `cfg` outside tests).
//!
//! Calls go one way: `python` -> `explain`, `stub_subject` -> `file_importer`,
//! `project_importer` -> `stubs`, `machinery` -> `fsutil`, `settings`, `error`, `platform`.

pub mod error;
pub mod explain;
pub mod file_importer;
pub mod fsutil;
pub mod machinery;
pub mod platform;
pub mod project_importer;
pub mod settings;
pub mod stub_subject;
pub mod stubs;

#[cfg(feature = "python")]
mod python;
