//! What a build read: the files its record tracks. Stamped before cargo runs where they
//! are known then (an edit made while cargo runs must make the build stale, not be
//! recorded as built), completed afterwards from cargo's dep-info, the manifests of the
//! local packages it compiled and the lock file.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::machinery::cache::BuildCache;
use crate::machinery::freshness::{track_all, BuildRecord, TrackedFile};
use crate::platform;

/// Stamps of the inputs known before a build.
pub struct InputStamps(HashMap<PathBuf, TrackedFile>);

impl InputStamps {
    /// Stamps `primary` and every file the previous build read.
    pub fn before_build(
        primary: &[PathBuf],
        previous: Option<&BuildRecord>,
    ) -> Result<InputStamps> {
        let known = primary.iter().cloned().chain(
            previous
                .iter()
                .flat_map(|r| r.files.iter().map(|f| f.path.clone())),
        );
        Ok(InputStamps(
            track_all(known)?
                .into_iter()
                .map(|file| (file.path.clone(), file))
                .collect(),
        ))
    }

    /// What the build read: the primary inputs, everything in cargo's dep-info, the
    /// manifests of local packages and the lock file; stamped before the build where
    /// they were known then. Files inside the build cache are rusthook's own.
    pub fn files_read(
        &self,
        primary: Vec<PathBuf>,
        dep_info: &Path,
        local_manifests: &[PathBuf],
        manifest_path: &Path,
        cache: &BuildCache,
    ) -> Result<Vec<TrackedFile>> {
        let mut read = primary;
        read.extend(read_dep_info(dep_info));
        read.extend(local_manifests.iter().cloned());
        read.extend(find_lockfile(manifest_path));
        // A path through a symlink in the cache (a single file's view of its folder) is
        // the user's file.
        let real_abi_dir = platform::canonicalize(&cache.abi_dir).unwrap_or(cache.abi_dir.clone());
        let target_dirs = cache.target_dirs();
        let in_cache = |p: &Path| {
            p.starts_with(&cache.abi_dir)
                || p.starts_with(&real_abi_dir)
                || target_dirs.iter().any(|dir| p.starts_with(dir))
        };
        let read = read.into_iter().map(|p| {
            if p.starts_with(&cache.abi_dir) {
                platform::canonicalize(&p).unwrap_or(p)
            } else {
                p
            }
        });
        let mut seen = HashSet::new();
        let mut files = Vec::new();
        let mut not_stamped = Vec::new();
        for path in read {
            if in_cache(&path) || !seen.insert(path.clone()) {
                continue;
            }
            match self.0.get(&path) {
                Some(file) => files.push(file.clone()),
                None => not_stamped.push(path),
            }
        }
        files.extend(track_all(not_stamped)?);
        Ok(files)
    }
}

/// The Cargo.lock a build of `manifest` uses: beside it or in a workspace root above.
pub fn find_lockfile(manifest: &Path) -> Option<PathBuf> {
    manifest
        .ancestors()
        .skip(1)
        .take(8)
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.is_file())
}

/// Reads the source files a build compiled from cargo's dep-info (`.d`) file.
pub fn read_dep_info(path: &Path) -> Vec<PathBuf> {
    let Ok(text) = fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for line in text.lines() {
        // `target: dep dep ...`; spaces inside paths are escaped as `\ `.
        let Some((_, deps)) = split_rule(line) else {
            continue;
        };
        let mut current = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        files.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            files.push(PathBuf::from(current));
        }
    }
    files
}

/// Splits a make rule at its first `: ` (Windows paths hold `C:\`).
fn split_rule(line: &str) -> Option<(&str, &str)> {
    let index = line.find(": ")?;
    Some((&line[..index], &line[index + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_paths_with_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.d");
        fs::write(
            &path,
            "/t/libfast.so: /src/fast.rs /src/my\\ dir/data.txt\n",
        )
        .unwrap();
        assert_eq!(
            read_dep_info(&path),
            [
                PathBuf::from("/src/fast.rs"),
                PathBuf::from("/src/my dir/data.txt")
            ]
        );
    }

    #[test]
    fn files_in_the_cache_are_not_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::for_tests(&dir.path().join("cache"));
        let user = dir.path().join("fast.rs");
        fs::write(&user, "fn a() {}").unwrap();
        let generated = cache.abi_dir.join("modules/fast-1/crate/wrapper.rs");
        fs::create_dir_all(generated.parent().unwrap()).unwrap();
        fs::write(&generated, "include!()").unwrap();
        let stamps = InputStamps::before_build(std::slice::from_ref(&user), None).unwrap();
        let files = stamps
            .files_read(
                vec![user.clone(), generated],
                &dir.path().join("missing.d"),
                &[],
                &dir.path().join("Cargo.toml"),
                &cache,
            )
            .unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(paths, [user]);
    }
}
