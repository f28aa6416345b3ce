//! Which import names belong to an editable install (`pip install -e` / `maturin
//! develop`) of a maturin project.
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

use crate::fsutil::{
    check_private, create_private_dir, mtime_ns, now_ns, short_hash, write_atomically,
};
use crate::machinery::cache::editable_scan_path;
use crate::platform::Target;
use crate::project_importer::project::{read_project, Project};

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
            let key = short_hash(format!("{site_dirs:?}").as_bytes(), 16);
            (folder, editable_scan_path(folder, &key))
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
        let now = now_ns();
        self.site_dirs
            .iter()
            .all(|(_, mtime)| now.saturating_sub(*mtime) > SETTLED_AFTER_NS)
    }

    /// Best effort: without the file, the next process scans again.
    fn remember(&self, folder: &Path, file: &Path) {
        let written = create_private_dir(folder)
            .ok()
            .and_then(|()| serde_json::to_vec(self).ok())
            .and_then(|json| write_atomically(file, &json).ok());
        if written.is_none() {
            log::debug!(target: "rusthook.project", "could not remember the editable installs in {}", file.display());
        }
    }
}

const SETTLED_AFTER_NS: i64 = 2_000_000_000;

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
    Target::HOST.file_url_path(&direct.url).map(PathBuf::from)
}

/// The prefixes whose site-packages folders hold this environment's distributions:
/// `site.PREFIXES`, except while `site` has not yet pointed them at the running
/// environment. A virtual environment's `.pth` files first run inside `site.venv()`,
/// before that: then `sys.prefix` and `sys.exec_prefix` are the environment's own.
pub fn site_prefixes(
    site_prefixes: Vec<String>,
    prefix: Option<String>,
    exec_prefix: Option<String>,
) -> Vec<String> {
    if prefix.as_ref().is_none_or(|p| site_prefixes.contains(p)) {
        return site_prefixes;
    }
    let mut prefixes: Vec<String> = [prefix, exec_prefix].into_iter().flatten().collect();
    prefixes.dedup();
    prefixes
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
    use crate::project_importer::project::Bindings;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn editable(site: &Path, dist: &str, root: &Path) {
        write(
            &site.join(format!("{dist}.dist-info/direct_url.json")),
            &format!(
                r#"{{"dir_info": {{"editable": true}}, "url": "{}"}}"#,
                file_url(root)
            ),
        );
    }

    /// A folder's `file://` URL as installers write it: `file:///C:/x` on Windows.
    fn file_url(path: &Path) -> String {
        let path = path.display().to_string().replace('\\', "/");
        match path.starts_with('/') {
            true => format!("file://{path}"),
            false => format!("file:///{path}"),
        }
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
        #[cfg(windows)]
        let folder = {
            // A folder's times are written through a handle with backup semantics.
            use std::os::windows::fs::OpenOptionsExt;
            fs::OpenOptions::new()
                .write(true)
                .custom_flags(0x0200_0000)
                .open(dir)
        };
        #[cfg(not(windows))]
        let folder = fs::File::open(dir);
        folder.unwrap().set_modified(then).unwrap();
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
    fn site_prefixes_are_the_environments_own_until_site_has_set_them() {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let venv = Some("/venv".to_string());
        assert_eq!(
            site_prefixes(strings(&["/venv"]), venv.clone(), venv.clone()),
            ["/venv"]
        );
        assert_eq!(
            site_prefixes(strings(&["/usr"]), venv.clone(), venv.clone()),
            ["/venv"],
            "inside site.venv(): PREFIXES still names the base interpreter"
        );
        assert_eq!(
            site_prefixes(strings(&["/usr"]), venv, Some("/venv-exec".into())),
            ["/venv", "/venv-exec"]
        );
        assert_eq!(site_prefixes(strings(&["/usr"]), None, None), ["/usr"]);
    }
}
