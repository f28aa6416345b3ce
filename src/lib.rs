//! rusthook's core. Every module but this file is plain Rust with no pyo3 in it;
//! this file is the `#[pymodule]` boundary (`rusthook._core`), compiled with the
//! `python` feature that maturin turns on.

pub mod builder;
pub mod cache;
pub mod cargo;
pub mod cdecl;
pub mod cell;
pub mod error;
pub mod finder;
pub mod freshness;
pub mod lock;
pub mod preprocess;
pub mod project;
#[cfg(test)]
mod properties;
pub mod scaffold;
pub mod settings;
pub mod toolchain;

#[cfg(feature = "python")]
mod python {
    use std::ffi::OsString;
    use std::panic::AssertUnwindSafe;
    use std::path::PathBuf;
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use pyo3::exceptions::{PyImportError, PyKeyboardInterrupt, PyValueError};
    use pyo3::prelude::*;
    use pyo3::types::{PyList, PyString};

    use crate::builder::{self, Built};
    use crate::cargo::BuildObserver;
    use crate::error::Error;
    use crate::finder::{self, Source, SourceKind};
    use crate::project::{Project, ProjectIndex};
    use crate::settings::{PythonEnv, Settings, SettingsRequest};

    pyo3::create_exception!(
        rusthook,
        RusthookError,
        PyImportError,
        "A Rust module could not be found, built or loaded. A subclass of ImportError."
    );
    pyo3::create_exception!(
        rusthook,
        BuildError,
        RusthookError,
        "Building a Rust module failed; the message holds the compiler's diagnostics."
    );

    /// What the core knows about the interpreter, read once when `_core` is imported.
    struct Core {
        python: PythonEnv,
        projects: ProjectIndex,
    }

    static CORE: OnceLock<Core> = OnceLock::new();

    fn core(py: Python<'_>) -> PyResult<&'static Core> {
        if let Some(core) = CORE.get() {
            return Ok(core);
        }
        let sys = py.import("sys")?;
        // importlib.machinery re-exports these; its frozen source is always loaded,
        // while importing the importlib package costs time at interpreter start.
        let machinery = py
            .import("_frozen_importlib_external")
            .or_else(|_| py.import("importlib.machinery"))?;
        let python = PythonEnv {
            executable: sys.getattr("executable")?.extract()?,
            prefix: sys.getattr("prefix")?.extract()?,
            base_prefix: sys.getattr("base_prefix")?.extract()?,
            extension_suffixes: machinery.getattr("EXTENSION_SUFFIXES")?.extract()?,
        };
        Ok(CORE.get_or_init(|| Core {
            python,
            projects: ProjectIndex::default(),
        }))
    }

    /// Where this environment installs distributions (editable ones among them): the
    /// site-packages folders of `site.PREFIXES`, and the user site when enabled. A `.pth`
    /// file of a virtual environment runs (the first time) before `site` has pointed
    /// PREFIXES at the environment, so until then the environment's own prefixes are used.
    fn site_dirs(py: Python<'_>) -> Vec<PathBuf> {
        let (Ok(site), Ok(sys)) = (py.import("site"), py.import("sys")) else {
            return Vec::new();
        };
        let strings = |module: &Bound<'_, PyModule>, name: &str| -> Vec<String> {
            module
                .getattr(name)
                .and_then(|value| value.extract())
                .unwrap_or_default()
        };
        let mut prefixes = strings(&site, "PREFIXES");
        let prefix: Option<String> = sys.getattr("prefix").and_then(|p| p.extract()).ok();
        if prefix.as_ref().is_some_and(|p| !prefixes.contains(p)) {
            prefixes = [
                prefix,
                sys.getattr("exec_prefix").and_then(|p| p.extract()).ok(),
            ]
            .into_iter()
            .flatten()
            .collect();
            prefixes.dedup();
        }
        let mut dirs: Vec<PathBuf> = site
            .call_method1("getsitepackages", (prefixes,))
            .and_then(|d| d.extract())
            .unwrap_or_default();
        // None until `site` has decided; a virtual environment then turns it off.
        let user_site = site
            .getattr("ENABLE_USER_SITE")
            .and_then(|e| e.extract::<bool>())
            .unwrap_or(false);
        if user_site {
            if let Ok(dir) = site
                .call_method0("getusersitepackages")
                .and_then(|d| d.extract())
            {
                dirs.push(dir);
            }
        }
        dirs
    }

    /// Build settings, resolved against the environment when created.
    #[pyclass(frozen, name = "Settings", module = "rusthook._core")]
    pub struct PySettings(Settings);

    #[pymethods]
    impl PySettings {
        #[new]
        #[pyo3(signature = (*, release=None, force_rebuild=None, in_place=None, quiet=None,
                            lock_timeout=None, build_dir=None, features=None, cargo_args=None,
                            enable_file_importer=None, enable_project_importer=None))]
        #[allow(clippy::too_many_arguments)]
        fn new(
            py: Python<'_>,
            release: Option<bool>,
            force_rebuild: Option<bool>,
            in_place: Option<bool>,
            quiet: Option<bool>,
            lock_timeout: Option<f64>,
            build_dir: Option<PathBuf>,
            features: Option<Vec<String>>,
            cargo_args: Option<Vec<String>>,
            enable_file_importer: Option<bool>,
            enable_project_importer: Option<bool>,
        ) -> PyResult<Self> {
            let lock_timeout = lock_timeout
                .map(|seconds| {
                    Duration::try_from_secs_f64(seconds).map_err(|_| {
                        PyValueError::new_err(format!(
                            "lock_timeout must be a non-negative number of seconds, not {seconds}"
                        ))
                    })
                })
                .transpose()?;
            let request = SettingsRequest {
                release,
                force_rebuild,
                in_place,
                quiet,
                lock_timeout,
                build_dir,
                features: features.unwrap_or_default(),
                cargo_args: cargo_args.unwrap_or_default(),
                file_importer: enable_file_importer,
                project_importer: enable_project_importer,
            };
            let python = &core(py)?.python;
            Ok(PySettings(Settings::resolve(request, python, |name| {
                std::env::var(name).ok()
            })))
        }

        #[getter]
        fn release(&self) -> bool {
            self.0.release
        }
        #[getter]
        fn force_rebuild(&self) -> bool {
            self.0.force_rebuild
        }
        #[getter]
        fn in_place(&self) -> bool {
            self.0.in_place
        }
        #[getter]
        fn quiet(&self) -> bool {
            self.0.quiet
        }
        #[getter]
        fn lock_timeout(&self) -> f64 {
            self.0.lock_timeout.as_secs_f64()
        }
        #[getter]
        fn build_dir(&self) -> OsString {
            self.0.build_root.clone().into_os_string()
        }
        #[getter]
        fn features(&self) -> Vec<String> {
            self.0.features.clone()
        }
        #[getter]
        fn cargo_args(&self) -> Vec<String> {
            self.0.cargo_args.clone()
        }
        #[getter]
        fn enable_file_importer(&self) -> bool {
            self.0.file_importer
        }
        #[getter]
        fn enable_project_importer(&self) -> bool {
            self.0.project_importer
        }

        fn __repr__(&self) -> String {
            let s = &self.0;
            format!(
                "Settings(release={}, force_rebuild={}, in_place={}, quiet={}, lock_timeout={}, build_dir={:?}, features={:?}, cargo_args={:?}, enable_file_importer={}, enable_project_importer={})",
                py_bool(s.release),
                py_bool(s.force_rebuild),
                py_bool(s.in_place),
                py_bool(s.quiet),
                s.lock_timeout.as_secs_f64(),
                s.build_root,
                s.features,
                s.cargo_args,
                py_bool(s.file_importer),
                py_bool(s.project_importer),
            )
        }
    }

    fn py_bool(value: bool) -> &'static str {
        if value {
            "True"
        } else {
            "False"
        }
    }

    /// Where Rust `log` records go. Importing Python's `logging` costs milliseconds (ten
    /// on the benchmark machine), so until the application has imported it (and so may
    /// have configured it), INFO and above are written to `sys.stderr` just as the
    /// `rusthook` logger's default handler would write them, and DEBUG is dropped. Once
    /// `logging` is in `sys.modules`, records go through pyo3-log to the `rusthook` logger.
    struct LogBridge {
        python: OnceLock<pyo3_log::Logger>,
    }

    static LOG_BRIDGE: LogBridge = LogBridge {
        python: OnceLock::new(),
    };

    impl log::Log for LogBridge {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            match self.python.get() {
                Some(logger) => logger.enabled(metadata),
                None => metadata.level() <= log::Level::Info,
            }
        }

        fn log(&self, record: &log::Record<'_>) {
            match self.python.get() {
                Some(logger) => logger.log(record),
                None if record.level() <= log::Level::Info => {
                    write_stderr(&format!("rusthook: {}\n", record.args()))
                }
                None => {}
            }
        }

        fn flush(&self) {}
    }

    fn install_log_bridge() {
        if log::set_logger(&LOG_BRIDGE).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
    }

    /// Hands records to Python logging from now on if the application has imported
    /// `logging`; `rusthook._logging` gives the `rusthook` logger its default handler.
    fn connect_logging_if_in_use(py: Python<'_>) {
        if LOG_BRIDGE.python.get().is_some() || !logging_in_use(py) {
            return;
        }
        if let Err(error) = py.import("rusthook._logging") {
            error.write_unraisable(py, None);
            return;
        }
        match pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels) {
            Ok(logger) => {
                if LOG_BRIDGE.python.set(logger).is_ok() {
                    log::set_max_level(log::LevelFilter::Debug);
                }
            }
            Err(error) => error.write_unraisable(py, None),
        }
    }

    fn logging_in_use(py: Python<'_>) -> bool {
        py.import("sys")
            .and_then(|sys| sys.getattr("modules"))
            .and_then(|modules| modules.contains("logging"))
            .unwrap_or(false)
    }

    /// Reports cargo's progress to `sys.stderr` and turns Ctrl-C into an interruption.
    struct PythonObserver {
        pending_signal: Mutex<Option<PyErr>>,
        /// On a terminal the bar is redrawn in place; elsewhere (logs, CI, notebooks)
        /// a `compiling k/n crates` line is printed at most once a second.
        stderr_is_tty: bool,
        bar: Mutex<BarState>,
    }

    #[derive(Default)]
    struct BarState {
        drawn: bool,
        last_line: Option<Instant>,
    }

    impl PythonObserver {
        fn new(py: Python<'_>) -> Self {
            let stderr_is_tty = py
                .import("sys")
                .and_then(|sys| sys.getattr("stderr"))
                .and_then(|stderr| stderr.call_method0("isatty"))
                .and_then(|tty| tty.is_truthy())
                .unwrap_or(false);
            PythonObserver {
                pending_signal: Mutex::new(None),
                stderr_is_tty,
                bar: Mutex::new(BarState::default()),
            }
        }
    }

    fn write_stderr(text: &str) {
        Python::attach(|py| {
            let written = py
                .import("sys")
                .and_then(|sys| sys.getattr("stderr"))
                .and_then(|stderr| {
                    stderr.call_method1("write", (text,))?;
                    stderr.call_method0("flush")
                });
            if let Err(error) = written {
                error.write_unraisable(py, None);
            }
        })
    }

    impl BuildObserver for PythonObserver {
        fn interrupted(&self) -> bool {
            Python::attach(|py| match py.check_signals() {
                Ok(()) => false,
                Err(error) => {
                    *self
                        .pending_signal
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some(error);
                    true
                }
            })
        }

        fn progress(&self, line: &str) {
            let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
            let clear = if std::mem::take(&mut bar.drawn) {
                "\r\x1b[K"
            } else {
                ""
            };
            write_stderr(&format!("{clear}{line}\n"));
        }

        fn progress_bar(&self, done: usize, total: usize, text: &str) {
            let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
            if self.stderr_is_tty {
                bar.drawn = true;
                write_stderr(&format!("\r\x1b[K{text}"));
            } else if bar
                .last_line
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
            {
                bar.last_line = Some(Instant::now());
                write_stderr(&format!("rusthook: compiling {done}/{total} crates\n"));
            }
        }
    }

    /// Runs a build with the GIL released; maps every error (and any panic) to Python.
    fn run_build(py: Python<'_>, source: &Source, settings: &Settings) -> PyResult<Built> {
        let python = &core(py)?.python;
        run_detached(py, &source.name, &source.path, |observer| {
            builder::ensure_built(source, settings, python, observer)
        })
    }

    /// Brings an editable project's installed library up to date.
    fn run_project_build(py: Python<'_>, project: &Project, settings: &Settings) -> PyResult<()> {
        let python = &core(py)?.python;
        run_detached(py, &project.import_name, &project.root, |observer| {
            builder::ensure_project_built(project, settings, python, observer)
        })
    }

    /// Runs `work` with the GIL released, Ctrl-C and progress wired to Python; every
    /// error (and any panic) becomes an ImportError naming `name` and `path`.
    fn run_detached<T: Send>(
        py: Python<'_>,
        name: &str,
        path: &std::path::Path,
        work: impl FnOnce(&dyn BuildObserver) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        connect_logging_if_in_use(py);
        let observer = PythonObserver::new(py);
        let result = py.detach(|| std::panic::catch_unwind(AssertUnwindSafe(|| work(&observer))));
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Error::Interrupted)) => Err(observer
                .pending_signal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_else(|| PyKeyboardInterrupt::new_err(()))),
            Ok(Err(error)) => Err(import_error(py, error, name, path)),
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(RusthookError::new_err(format!(
                    "internal error in rusthook while building {}: {detail}; please report it",
                    path.display()
                )))
            }
        }
    }

    /// The one place core errors become Python exceptions.
    fn to_python_error(error: Error) -> PyErr {
        let message = error.to_string();
        match error {
            Error::Build { .. }
            | Error::BadArtifact { .. }
            | Error::ManifestLine { .. }
            | Error::UnknownTemplate { .. }
            | Error::NotUtf8 { .. }
            | Error::InvalidModuleName { .. }
            | Error::CDeclaration { .. }
            | Error::NoCFunctions { .. }
            | Error::CellPymodule { .. } => BuildError::new_err(message),
            Error::Interrupted => PyKeyboardInterrupt::new_err(()),
            _ => RusthookError::new_err(message),
        }
    }

    /// An import error that also carries ImportError's `name` and `path`.
    fn import_error(py: Python<'_>, error: Error, name: &str, path: &std::path::Path) -> PyErr {
        let exception = to_python_error(error);
        let value = exception.value(py);
        let _ = value.setattr("name", name);
        let _ = value.setattr("path", path.to_string_lossy().as_ref());
        exception
    }

    /// The hot path of the import hook: finds the Rust source of `fullname` on
    /// `search_path` and returns `(library, declarations)` for a fresh build, building it
    /// if needed. `declarations` is `None` for a Python extension module, else the file
    /// of C declarations of a cffi library. `None` when the name is not a Rust module
    /// (two stats per path entry, one with `crate_folders=False`). The caller has asked
    /// importlib's PathFinder first: see `finder`.
    #[pyfunction]
    #[pyo3(signature = (fullname, search_path, settings, crate_folders=true))]
    fn find_and_build(
        py: Python<'_>,
        fullname: &str,
        search_path: &Bound<'_, PyList>,
        settings: &PySettings,
        crate_folders: bool,
    ) -> PyResult<Option<(OsString, Option<OsString>)>> {
        let settings = &settings.0;
        if !settings.file_importer {
            return Ok(None);
        }
        let Some(source) = find(fullname, search_path, crate_folders)? else {
            return Ok(None);
        };
        run_build(py, &source, settings).map(|built| {
            Some((
                built.artifact.into_os_string(),
                built.declarations.map(PathBuf::into_os_string),
            ))
        })
    }

    /// If `name` (a top-level module) is an editable maturin project whose installed
    /// library is stale, rebuilds it; the standard finders then import it. Costs a hash
    /// lookup for any other name.
    #[pyfunction]
    fn refresh_project(py: Python<'_>, name: &str, settings: &PySettings) -> PyResult<()> {
        let settings = &settings.0;
        if !settings.project_importer {
            return Ok(());
        }
        let remember_in = Some(settings.build_root.as_path());
        match core(py)?
            .projects
            .lookup(name, || site_dirs(py), remember_in)
        {
            Some(project) => run_project_build(py, &project, settings),
            None => Ok(()),
        }
    }

    /// The Rust source `fullname` would be imported from, without building it (the
    /// caller has asked importlib's PathFinder first, as for `find_and_build`).
    #[pyfunction]
    fn find_source(fullname: &str, search_path: &Bound<'_, PyList>) -> PyResult<Option<OsString>> {
        Ok(find(fullname, search_path, true)?.map(|source| source.path.into_os_string()))
    }

    fn find(
        fullname: &str,
        search_path: &Bound<'_, PyList>,
        crate_folders: bool,
    ) -> PyResult<Option<Source>> {
        let name = fullname.rsplit('.').next().unwrap_or(fullname);
        // importlib skips entries that are not str; so does rusthook.
        let entries: Vec<PathBuf> = search_path
            .iter()
            .filter_map(|entry| {
                let entry = entry.cast_into::<PyString>().ok()?;
                Some(PathBuf::from(entry.to_cow().ok()?.as_ref()))
            })
            .collect();
        Ok(finder::find(name, &entries, crate_folders))
    }

    /// Builds the `.rs` file or crate directory at `path`. Returns `(module name, library
    /// in the cache, C declarations of a cffi library or None, library beside the source
    /// or None)`.
    #[pyfunction]
    fn build_path(py: Python<'_>, path: PathBuf, settings: &PySettings) -> PyResult<BuiltPaths> {
        let source = finder::source_from_path(&path).map_err(|e| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy())
                .unwrap_or_default();
            import_error(py, e, &name, &path)
        })?;
        let built = run_build(py, &source, &settings.0)?;
        Ok(built_paths(source.name, built))
    }

    /// `(module name, library, declarations or None, in-place library or None)`.
    type BuiltPaths = (String, OsString, Option<OsString>, Option<OsString>);

    fn built_paths(name: String, built: Built) -> BuiltPaths {
        (
            name,
            built.artifact.into_os_string(),
            built.declarations.map(PathBuf::into_os_string),
            built.in_place.map(PathBuf::into_os_string),
        )
    }

    /// Builds the code of a notebook cell as the module `_rusthook_cell_<hash>` (its
    /// source saved in `directory`); returns `(module name, library)`. A non-empty `salt`
    /// gives the same code a new name (a forced rebuild loads under a new name).
    #[pyfunction]
    #[pyo3(signature = (code, directory, settings, salt=""))]
    fn build_cell(
        py: Python<'_>,
        code: &str,
        directory: PathBuf,
        settings: &PySettings,
        salt: &str,
    ) -> PyResult<(String, OsString)> {
        let python = &core(py)?.python;
        let name = crate::cell::module_name(
            code,
            &settings.0.fingerprint(python),
            &python.executable,
            salt,
        );
        let path = crate::cell::write_source(&directory, &name, code)
            .map_err(|e| import_error(py, e, &name, &directory))?;
        let source = Source {
            name,
            kind: SourceKind::Cell,
            path,
        };
        let built = run_build(py, &source, &settings.0)?;
        Ok((source.name, built.artifact.into_os_string()))
    }

    /// Writes a maturin project for the single-file module `source` into `dest`.
    #[pyfunction]
    fn eject(source: PathBuf, dest: PathBuf) -> PyResult<OsString> {
        crate::scaffold::eject_file(&source, &dest)
            .map(PathBuf::into_os_string)
            .map_err(to_python_error)
    }

    /// Writes a maturin project for a notebook cell's code into `dest`; the module is
    /// called `name`, or after `dest`'s folder.
    #[pyfunction]
    #[pyo3(signature = (code, dest, name=None))]
    fn eject_cell(code: &str, dest: PathBuf, name: Option<&str>) -> PyResult<OsString> {
        crate::scaffold::eject_cell(code, name, &dest)
            .map(PathBuf::into_os_string)
            .map_err(to_python_error)
    }

    /// Every importable Rust source below `root`: `[(module name, path)]`.
    #[pyfunction]
    fn find_sources(py: Python<'_>, root: PathBuf) -> PyResult<Vec<(String, OsString)>> {
        let sources = py
            .detach(|| finder::find_all(&root))
            .map_err(to_python_error)?;
        Ok(sources
            .into_iter()
            .map(|s| (s.name, s.path.into_os_string()))
            .collect())
    }

    /// `[(ABI folder, modules, bytes)]` for each ABI folder of the build cache at `root`.
    #[pyfunction]
    fn cache_summary(py: Python<'_>, root: PathBuf) -> Vec<(OsString, usize, u64)> {
        py.detach(|| crate::cache::summarize(&root))
            .into_iter()
            .map(|s| (s.abi_dir.into_os_string(), s.modules, s.bytes))
            .collect()
    }

    /// Deletes every build under `root`; refuses while a build holds a lock. Returns bytes freed.
    #[pyfunction]
    fn cache_clear(py: Python<'_>, root: PathBuf) -> PyResult<u64> {
        py.detach(|| crate::cache::clear(&root))
            .map_err(to_python_error)
    }

    /// `[(tool, version or the error running it)]` for rustc and cargo.
    #[pyfunction]
    fn tool_versions(py: Python<'_>) -> Vec<(String, String)> {
        let programs = [
            std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()),
            crate::cargo::cargo_program(),
        ];
        py.detach(|| {
            programs
                .into_iter()
                .map(|program| {
                    let version =
                        crate::toolchain::tool_version(&program).unwrap_or_else(|e| e.to_string());
                    (program, version)
                })
                .collect()
        })
    }

    /// Creates a new importable crate `parent/name`; returns its path.
    #[pyfunction]
    fn new_crate(parent: PathBuf, name: &str) -> PyResult<OsString> {
        crate::scaffold::new_crate(&parent, name)
            .map(PathBuf::into_os_string)
            .map_err(to_python_error)
    }

    /// Forgets the editable-project map (called by `importlib.invalidate_caches()`).
    #[pyfunction]
    fn invalidate_caches(py: Python<'_>) -> PyResult<()> {
        core(py)?.projects.invalidate();
        Ok(())
    }

    #[pymodule]
    mod _core {
        #[pymodule_export]
        use super::{
            build_cell, build_path, cache_clear, cache_summary, eject, eject_cell, find_and_build,
            find_source, find_sources, invalidate_caches, new_crate, refresh_project,
            tool_versions, PySettings,
        };

        use pyo3::prelude::*;

        #[pymodule_init]
        fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            m.add("RusthookError", py.get_type::<super::RusthookError>())?;
            m.add("BuildError", py.get_type::<super::BuildError>())?;
            m.add("__version__", env!("CARGO_PKG_VERSION"))?;
            m.add("PYO3_REQUIREMENT", crate::preprocess::PYO3_REQUIREMENT)?;
            super::install_log_bridge();
            super::core(py)?;
            Ok(())
        }
    }
}
