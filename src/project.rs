//! The project importer's knowledge of editable maturin projects: which import names
//! belong to an editable install (`pip install -e` / `maturin develop`), where each
//! project's sources are, and where its installed library lives.
//!
//! The map is built once from the environment's site-packages (each distribution's
//! `direct_url.json` says whether it is an editable install, and of which folder) and
//! rebuilt only when a site-packages folder changes, so an import costs a hash lookup.
//! Which distributions are editable is also remembered on disk (see [`EditableScan`]):
//! a new process then need not open the `direct_url.json` of every distribution.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::{Table, Value};

use crate::cache::{check_private, create_private_dir, editable_scan_path};
use crate::freshness::{hex, mtime_ns};

/// How the project talks to Python (maturin's `bindings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bindings {
    Pyo3,
    Cffi,
    Uniffi,
    Bin,
}

impl Bindings {
    pub fn name(self) -> &'static str {
        match self {
            Bindings::Pyo3 => "pyo3",
            Bindings::Cffi => "cffi",
            Bindings::Uniffi => "uniffi",
            Bindings::Bin => "bin",
        }
    }
}

/// An editable maturin project, as its pyproject.toml and Cargo.toml describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The top-level import name.
    pub import_name: String,
    /// The folder holding pyproject.toml.
    pub root: PathBuf,
    /// The Cargo.toml maturin builds (`[tool.maturin] manifest-path`, else `root/Cargo.toml`).
    pub manifest_path: PathBuf,
    /// The extension's dotted module name (`[tool.maturin] module-name`).
    pub module_name: String,
    pub bindings: Bindings,
    /// `[tool.maturin] features`.
    pub features: Vec<String>,
    /// `[tool.maturin] editable-profile`, else `profile`.
    pub profile: Option<String>,
    /// The distribution's `.dist-info` folder (its RECORD lists installed files).
    pub dist_info: PathBuf,
}

impl Project {
    /// The extension module's own name: the last component of `module_name`.
    pub fn extension_name(&self) -> &str {
        self.module_name
            .rsplit('.')
            .next()
            .unwrap_or(&self.module_name)
    }

    /// Where the installed extension library is now: in the Python source folder of a
    /// mixed project, else in site-packages (as the distribution's RECORD lists it).
    pub fn installed_library(&self, extension_suffixes: &[String]) -> Option<PathBuf> {
        let parts: Vec<&str> = self.module_name.split('.').collect();
        let (last, packages) = parts.split_last()?;
        let mut candidates: Vec<PathBuf> = Vec::new();
        for source_root in self.python_source_roots() {
            let folder = packages
                .iter()
                .fold(source_root, |dir, part| dir.join(part));
            candidates.extend(
                extension_suffixes
                    .iter()
                    .map(|s| folder.join(format!("{last}{s}"))),
            );
        }
        if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
            return Some(found);
        }
        // Otherwise the library maturin copied into site-packages, as RECORD lists it.
        let site_packages = self.dist_info.parent()?;
        let record = fs::read_to_string(self.dist_info.join("RECORD")).ok()?;
        record
            .lines()
            .filter_map(|line| line.split(',').next())
            .filter(|path| {
                extension_suffixes.iter().any(|suffix| {
                    path.strip_suffix(suffix.as_str())
                        .is_some_and(|stem| stem.rsplit('/').next() == Some(*last))
                })
            })
            .map(|path| site_packages.join(path))
            .find(|p| p.is_file())
    }

    /// Folders a mixed project's Python package may live in: `python-source`, or the
    /// project root when a folder named like the package sits there.
    fn python_source_roots(&self) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        if let Some(source) = read_toml(&self.root.join("pyproject.toml"))
            .as_ref()
            .and_then(|t| tool_maturin(t))
            .and_then(|m| m.get("python-source"))
            .and_then(Value::as_str)
        {
            roots.push(self.root.join(source));
        }
        roots.push(self.root.clone());
        roots
    }

    /// The cargo `[lib] name` of the project's crate.
    pub fn lib_name(&self) -> Option<String> {
        let manifest = read_toml(&self.manifest_path)?;
        let lib_name = manifest
            .get("lib")
            .and_then(|l| l.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        lib_name.or_else(|| {
            manifest
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(|n| n.replace('-', "_"))
        })
    }
}

#[derive(Deserialize)]
struct DirectUrl {
    url: String,
    #[serde(default)]
    dir_info: DirInfo,
}

#[derive(Deserialize, Default)]
struct DirInfo {
    #[serde(default)]
    editable: bool,
}

/// Reads one project from its folder; `None` if it is not a maturin project.
pub fn read_project(root: &Path, dist_info: &Path) -> Option<Project> {
    let pyproject = read_toml(&root.join("pyproject.toml"))?;
    let backend = pyproject
        .get("build-system")
        .and_then(|b| b.get("build-backend"))
        .and_then(Value::as_str);
    let maturin = tool_maturin(&pyproject);
    if backend != Some("maturin") && maturin.is_none() {
        return None;
    }
    let empty = Table::new();
    let maturin = maturin.unwrap_or(&empty);
    let manifest_path = root.join(
        maturin
            .get("manifest-path")
            .and_then(Value::as_str)
            .unwrap_or("Cargo.toml"),
    );
    let cargo = read_toml(&manifest_path)?;
    let project_name = pyproject
        .get("project")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    let lib_name = cargo
        .get("lib")
        .and_then(|l| l.get("name"))
        .and_then(Value::as_str);
    let package_name = cargo
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    let module_name = maturin
        .get("module-name")
        .and_then(Value::as_str)
        .or(lib_name)
        .or(project_name)
        .or(package_name)?
        .replace('-', "_");
    let import_name = module_name.split('.').next()?.to_string();
    let bindings = match maturin.get("bindings").and_then(Value::as_str) {
        Some("cffi") => Bindings::Cffi,
        Some("uniffi") => Bindings::Uniffi,
        Some("bin") => Bindings::Bin,
        Some(_) => Bindings::Pyo3,
        None => infer_bindings(&cargo),
    };
    let features = maturin
        .get("features")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let profile = maturin
        .get("editable-profile")
        .or_else(|| maturin.get("profile"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Project {
        import_name,
        root: root.to_path_buf(),
        manifest_path,
        module_name,
        bindings,
        features,
        profile,
        dist_info: dist_info.to_path_buf(),
    })
}

/// maturin's own inference: pyo3 (or pyo3-ffi) as a dependency, else uniffi, else a
/// binary-only crate, else cffi.
fn infer_bindings(cargo: &Table) -> Bindings {
    let dependencies = cargo.get("dependencies").and_then(Value::as_table);
    let depends_on = |name: &str| dependencies.is_some_and(|d| d.contains_key(name));
    if depends_on("pyo3") || depends_on("pyo3-ffi") {
        Bindings::Pyo3
    } else if depends_on("uniffi") {
        Bindings::Uniffi
    } else if cargo.get("lib").is_none() && cargo.get("bin").is_some() {
        Bindings::Bin
    } else {
        Bindings::Cffi
    }
}

fn tool_maturin(pyproject: &Table) -> Option<&Table> {
    pyproject.get("tool")?.get("maturin")?.as_table()
}

fn read_toml(path: &Path) -> Option<Table> {
    fs::read_to_string(path).ok()?.parse().ok()
}

/// Every editable maturin project installed in `site_dirs`, by import name.
/// The editable maturin projects installed in `site_dirs`, by import name. `remember_in`
/// is a private folder (the build cache) for the [`EditableScan`] of these folders.
pub fn discover(site_dirs: &[PathBuf], remember_in: Option<&Path>) -> HashMap<String, Project> {
    let mut projects = HashMap::new();
    for (dist_info, root) in EditableScan::of(site_dirs, remember_in).editable {
        if let Some(project) = read_project(&root, &dist_info) {
            log::debug!(target: "rusthook.project", "editable maturin project {} at {}", project.import_name, root.display());
            projects
                .entry(project.import_name.clone())
                .or_insert(project);
        }
    }
    projects
}

/// The editable installs in some site-packages folders: `(dist-info folder, source
/// folder)` pairs, in folder order. Finding them opens every distribution's
/// `direct_url.json` (hundreds in a large environment, at every interpreter start when
/// rusthook is site-installed), so the result is remembered in a file and trusted while
/// each folder's mtime is unchanged: installing or removing a distribution changes it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct EditableScan {
    /// Each site-packages folder and its mtime (ns) when the scan began.
    site_dirs: Vec<(PathBuf, i64)>,
    editable: Vec<(PathBuf, PathBuf)>,
}

impl EditableScan {
    fn of(site_dirs: &[PathBuf], remember_in: Option<&Path>) -> EditableScan {
        // Stamped before scanning: a change during the scan makes the next process rescan.
        let stamped: Vec<(PathBuf, i64)> = site_dirs
            .iter()
            .map(|dir| (dir.clone(), fs::metadata(dir).map_or(0, |m| mtime_ns(&m))))
            .collect();
        let file = remember_in.map(|folder| {
            let key = Sha256::digest(format!("{site_dirs:?}").as_bytes());
            (folder, editable_scan_path(folder, &hex(&key)[..16]))
        });
        if let Some((folder, file)) = &file {
            // Only a private cache folder is trusted to say which folders to build.
            let remembered = check_private(folder)
                .ok()
                .and_then(|()| fs::read(file).ok())
                .and_then(|bytes| serde_json::from_slice::<EditableScan>(&bytes).ok())
                .filter(|scan| scan.site_dirs == stamped);
            if let Some(scan) = remembered {
                return scan;
            }
        }
        let scan = EditableScan {
            editable: site_dirs.iter().flat_map(|dir| scan_folder(dir)).collect(),
            site_dirs: stamped,
        };
        if let Some((folder, file)) = &file {
            if scan.settled() {
                scan.remember(folder, file);
            }
        }
        scan
    }

    /// True when no folder changed in the last seconds. A file system's mtime ticks are
    /// coarse (milliseconds): a distribution installed in the same tick as the scan
    /// began would leave the mtime as stamped, so such a scan is not remembered.
    fn settled(&self) -> bool {
        let now = mtime_ns_now();
        self.site_dirs
            .iter()
            .all(|(_, mtime)| now.saturating_sub(*mtime) > SETTLED_AFTER_NS)
    }

    /// Best effort: without the file, the next process scans again.
    fn remember(&self, folder: &Path, file: &Path) {
        let written = create_private_dir(folder)
            .ok()
            .and_then(|()| serde_json::to_vec(self).ok())
            .and_then(|json| {
                let mut temp = tempfile::NamedTempFile::new_in(folder).ok()?;
                std::io::Write::write_all(&mut temp, &json).ok()?;
                temp.persist(file).ok()
            });
        if written.is_none() {
            log::debug!(target: "rusthook.project", "could not remember the editable installs in {}", file.display());
        }
    }
}

const SETTLED_AFTER_NS: i64 = 2_000_000_000;

fn mtime_ns_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
        })
}

fn scan_folder(site_dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let Ok(entries) = fs::read_dir(site_dir) else {
        return Vec::new();
    };
    let mut editable: Vec<(PathBuf, PathBuf)> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "dist-info"))
        .filter_map(|dist_info| {
            let root = editable_root(&dist_info)?;
            Some((dist_info, root))
        })
        .collect();
    editable.sort();
    editable
}

/// The source folder of an editable install, from its `direct_url.json`.
fn editable_root(dist_info: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(dist_info.join("direct_url.json")).ok()?;
    let direct: DirectUrl = serde_json::from_str(&text).ok()?;
    if !direct.dir_info.editable {
        return None;
    }
    let path = direct.url.strip_prefix("file://")?;
    Some(PathBuf::from(percent_decode(path)))
}

/// `file://` URLs escape spaces and other bytes as `%XX`.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(text.get(i + 1..i + 3).unwrap_or(""), 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The import-name map, rebuilt when the site-packages folders, or their mtimes, move.
#[derive(Default)]
pub struct ProjectIndex {
    state: Mutex<Option<IndexState>>,
}

struct IndexState {
    site_dirs: Vec<PathBuf>,
    mtimes: Vec<Option<SystemTime>>,
    checked: Instant,
    projects: HashMap<String, Project>,
}

/// How long the map is trusted before site-packages is stat'ed again. Lookups run on
/// every top-level import; a project installed into a running process is seen at most
/// this much later (or at once after `importlib.invalidate_caches()`).
const RECHECK_AFTER: Duration = Duration::from_secs(1);

impl ProjectIndex {
    /// The editable project that provides the top-level module `name`, if any.
    /// `site_dirs` gives the folders distributions are installed in; it is asked only
    /// when the map is re-validated, since they can change while the interpreter starts.
    /// `remember_in`: see [`discover`].
    pub fn lookup(
        &self,
        name: &str,
        site_dirs: impl FnOnce() -> Vec<PathBuf>,
        remember_in: Option<&Path>,
    ) -> Option<Project> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let recent = state
            .as_ref()
            .is_some_and(|s| s.checked.elapsed() < RECHECK_AFTER);
        if !recent {
            let site_dirs = site_dirs();
            let mtimes: Vec<Option<SystemTime>> = site_dirs
                .iter()
                .map(|d| fs::metadata(d).and_then(|m| m.modified()).ok())
                .collect();
            match state.as_mut() {
                Some(known) if known.site_dirs == site_dirs && known.mtimes == mtimes => {
                    known.checked = Instant::now()
                }
                _ => {
                    *state = Some(IndexState {
                        projects: discover(&site_dirs, remember_in),
                        checked: Instant::now(),
                        site_dirs,
                        mtimes,
                    })
                }
            }
        }
        state.as_ref()?.projects.get(name).cloned()
    }

    pub fn invalidate(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn editable(site: &Path, dist: &str, root: &Path) {
        write(
            &site.join(format!("{dist}.dist-info/direct_url.json")),
            &format!(
                r#"{{"dir_info": {{"editable": true}}, "url": "file://{}"}}"#,
                root.display()
            ),
        );
    }

    const CARGO: &str = "[package]\nname = \"my-proj\"\nversion = \"0.1.0\"\n[lib]\ncrate-type = [\"cdylib\"]\n[dependencies]\npyo3 = \"0.30\"\n";

    #[test]
    fn finds_editable_maturin_projects_only() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site-packages");
        let pure = dir.path().join("pure");
        write(
            &pure.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"maturin\"\n[project]\nname = \"my-proj\"\n",
        );
        write(&pure.join("Cargo.toml"), CARGO);
        editable(&site, "my_proj-0.1.0", &pure);
        let setuptools = dir.path().join("other");
        write(
            &setuptools.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"setuptools.build_meta\"\n",
        );
        editable(&site, "other-1.0", &setuptools);
        write(
            &site.join("regular-1.0.dist-info/direct_url.json"),
            r#"{"url": "file:///x", "dir_info": {}}"#,
        );

        let projects = discover(&[site], None);
        assert_eq!(projects.len(), 1);
        let project = &projects["my_proj"];
        assert_eq!(project.module_name, "my_proj");
        assert_eq!(project.bindings, Bindings::Pyo3);
        assert_eq!(project.manifest_path, pure.join("Cargo.toml"));
    }

    #[test]
    fn reads_tool_maturin_settings() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mixed proj");
        write(
            &root.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"maturin\"\n[tool.maturin]\nmodule-name = \"mixed._native\"\npython-source = \"python\"\nmanifest-path = \"rust/Cargo.toml\"\nfeatures = [\"fast\"]\nprofile = \"release\"\neditable-profile = \"dev\"\n",
        );
        write(&root.join("rust/Cargo.toml"), CARGO);
        write(&root.join("python/mixed/_native.abi3.so"), "");
        let site = dir.path().join("site");
        editable(
            &site,
            "mixed-0.1.0",
            Path::new(&root.to_string_lossy().replace(' ', "%20")),
        );
        let index = ProjectIndex::default();
        let project = index
            .lookup("mixed", || vec![site.clone()], None)
            .expect("found through the percent-encoded URL");
        assert_eq!(project.module_name, "mixed._native");
        assert_eq!(project.extension_name(), "_native");
        assert_eq!(project.features, ["fast"]);
        assert_eq!(project.profile.as_deref(), Some("dev"));
        assert_eq!(project.manifest_path, root.join("rust/Cargo.toml"));
        assert_eq!(
            project.installed_library(&[".abi3.so".to_string()]),
            Some(root.join("python/mixed/_native.abi3.so"))
        );
        assert_eq!(index.lookup("missing", || vec![site.clone()], None), None);
        // After invalidation the folders are asked for again (here: none).
        index.invalidate();
        assert_eq!(index.lookup("mixed", Vec::new, None), None);
    }

    /// Moves a folder's mtime into the past, as if nothing had changed in it lately.
    fn settle(dir: &Path, seconds_ago: u64) {
        let then = SystemTime::now() - Duration::from_secs(seconds_ago);
        fs::File::open(dir).unwrap().set_modified(then).unwrap();
    }

    #[test]
    fn editable_installs_are_remembered_until_site_packages_changes() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        let cache = dir.path().join("cache");
        editable(&site, "one-0.1.0", &dir.path().join("one"));
        write(&site.join("plain-1.0.dist-info/RECORD"), "");
        let sites = [site.clone()];
        // Just changed: scanned, not remembered.
        let first = EditableScan::of(&sites, Some(&cache));
        assert_eq!(
            first.editable,
            [(site.join("one-0.1.0.dist-info"), dir.path().join("one"))]
        );
        assert!(!cache.exists());
        settle(&site, 10);
        let second = EditableScan::of(&sites, Some(&cache));
        assert_eq!(second.editable, first.editable);
        assert_eq!(fs::read_dir(&cache).unwrap().count(), 1, "remembered");
        // Trusted while site-packages is unchanged: direct_url.json is not read again.
        fs::remove_file(site.join("one-0.1.0.dist-info/direct_url.json")).unwrap();
        assert_eq!(
            EditableScan::of(&sites, Some(&cache)).editable,
            first.editable
        );
        // Installing another distribution changes the folder: scanned again.
        editable(&site, "two-0.1.0", &dir.path().join("two"));
        settle(&site, 5);
        let rescanned = EditableScan::of(&sites, Some(&cache));
        assert_eq!(
            rescanned.editable,
            [(site.join("two-0.1.0.dist-info"), dir.path().join("two"))]
        );
        assert_eq!(
            fs::read_dir(&cache).unwrap().count(),
            1,
            "one file per set of folders"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_remembered_scan_in_a_folder_others_can_write_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        let cache = dir.path().join("cache");
        editable(&site, "one-0.1.0", &dir.path().join("one"));
        settle(&site, 10);
        let sites = [site.clone()];
        EditableScan::of(&sites, Some(&cache));
        let remembered = fs::read_dir(&cache)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let forged = EditableScan {
            site_dirs: vec![(site.clone(), mtime_ns(&fs::metadata(&site).unwrap()))],
            editable: vec![(site.join("evil.dist-info"), dir.path().join("evil"))],
        };
        fs::write(&remembered, serde_json::to_vec(&forged).unwrap()).unwrap();
        fs::set_permissions(&cache, fs::Permissions::from_mode(0o777)).unwrap();
        let scan = EditableScan::of(&sites, Some(&cache));
        assert_eq!(
            scan.editable,
            [(site.join("one-0.1.0.dist-info"), dir.path().join("one"))]
        );
        fs::set_permissions(&cache, fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn pure_layout_library_comes_from_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pure");
        write(
            &root.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"maturin\"\n",
        );
        write(&root.join("Cargo.toml"), &CARGO.replace("my-proj", "pure"));
        let site = dir.path().join("site");
        editable(&site, "pure-0.1.0", &root);
        write(
            &site.join("pure-0.1.0.dist-info/RECORD"),
            "pure/__init__.py,sha256=x,1\npure/pure.abi3.so,sha256=y,2\n",
        );
        write(&site.join("pure/pure.abi3.so"), "");
        let project = discover(std::slice::from_ref(&site), None)
            .remove("pure")
            .unwrap();
        assert_eq!(
            project.installed_library(&[".abi3.so".to_string()]),
            Some(site.join("pure/pure.abi3.so"))
        );
    }

    #[test]
    fn bindings_are_inferred_like_maturin_does() {
        let parse = |s: &str| infer_bindings(&s.parse().unwrap());
        assert_eq!(parse("[dependencies]\npyo3 = \"0.30\""), Bindings::Pyo3);
        assert_eq!(
            parse("[dependencies]\nuniffi = \"0.28\"\n[lib]\n"),
            Bindings::Uniffi
        );
        assert_eq!(parse("[[bin]]\nname = \"x\"\n"), Bindings::Bin);
        assert_eq!(parse("[lib]\ncrate-type = [\"cdylib\"]\n"), Bindings::Cffi);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/a%20b/c"), "/a b/c");
        assert_eq!(percent_decode("/plain"), "/plain");
        assert_eq!(percent_decode("/bad%zz"), "/bad%zz");
        assert_eq!(percent_decode("/end%2"), "/end%2");
    }
}
