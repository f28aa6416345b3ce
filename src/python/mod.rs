//! The `#[pymodule]` boundary, `rusthook._core` (compiled with the `python` feature that
//! maturin turns on). Only conversions between Python and the core live here: every
//! decision is the core's.
//!
//! The functions Python calls, by who calls them: `hook` (the import hook, on every
//! import), `api` (builds of a path, a cell, a folder; `warm`), `stubs` (the `stubs`
//! command), `explain` (the `explain` command), `scaffold` (`new`, `eject`), `cache` (the `cache` commands, tool versions).
//! Beneath them: `settings` (the `Settings` class), `errors` (core errors to Python
//! exceptions), `detach` (core work without the GIL), `interpreter` (what the core reads
//! from Python), `log_bridge` (Rust `log` records to Python).

mod api;
mod cache;
mod detach;
mod errors;
mod explain;
mod hook;
mod interpreter;
mod log_bridge;
mod scaffold;
mod settings;
mod stubs;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::api::{build_cell, build_path, find_sources, source_name, warm};
    #[pymodule_export]
    use super::cache::{
        cache_clear, cache_prune, cache_summary, compiler_cache_last, compiler_cache_outage,
        tool_versions,
    };
    #[pymodule_export]
    use super::explain::explain;
    #[pymodule_export]
    use super::hook::{
        find_and_build, find_source, hook_enabled, invalidate_caches, refresh_project,
    };
    #[pymodule_export]
    use super::scaffold::{eject, eject_cell, new_crate};
    #[pymodule_export]
    use super::settings::PySettings;
    #[pymodule_export]
    use super::stubs::{stub_text, write_stub};

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = m.py();
        m.add(
            "RusthookError",
            py.get_type::<super::errors::RusthookError>(),
        )?;
        let build_error = py.get_type::<super::errors::BuildError>();
        // The compiler's diagnostics of a failed build (set on each instance).
        build_error.setattr("diagnostics", "")?;
        m.add("BuildError", build_error)?;
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add(
            "PYO3_REQUIREMENT",
            crate::file_importer::template::PYO3_REQUIREMENT,
        )?;
        super::log_bridge::install();
        super::interpreter::core(py)?;
        Ok(())
    }
}
