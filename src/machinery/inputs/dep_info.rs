//! What cargo and rustc write about a build that says what it read: dep-info files
//! (`.d`: the files; rustc's `# env-dep:` lines: the variables) and build scripts'
//! output (`rerun-if-env-changed`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// rustc's own dep-info of each artifact (beside it, or in `deps/` for a library cargo
/// copied up a folder): the one holding `# env-dep:` lines.
pub fn rustc_dep_infos(artifacts: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for artifact in artifacts {
        let (Some(dir), Some(stem)) = (artifact.parent(), artifact.file_stem()) else {
            continue;
        };
        let stem = stem.to_string_lossy();
        let stem = stem.strip_prefix("lib").unwrap_or(&stem);
        let candidates = [
            dir.join(format!("{stem}.d")),
            dir.join("deps").join(format!("{stem}.d")),
        ];
        if let Some(path) = candidates.into_iter().find(|p| p.is_file()) {
            if !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found
}

/// The variables in a rustc dep-info's `# env-dep:NAME[=value]` lines.
pub fn read_env_deps(path: &Path) -> io::Result<Vec<String>> {
    let text = read_text(path)?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("# env-dep:"))
        .map(|rest| {
            rest.split_once('=')
                .map_or(rest, |(name, _)| name)
                .to_string()
        })
        .collect())
}

/// The variables a build script's output names in `rerun-if-env-changed` lines.
pub fn read_rerun_env(path: &Path) -> io::Result<Vec<String>> {
    let bytes = fs::read(path)?;
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| {
            line.strip_prefix("cargo::rerun-if-env-changed=")
                .or_else(|| line.strip_prefix("cargo:rerun-if-env-changed="))
        })
        .map(|name| name.trim().to_string())
        .collect())
}

fn read_text(path: &Path) -> io::Result<String> {
    String::from_utf8(fs::read(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

/// Reads the files a build read from cargo's dep-info (`.d`) file.
pub fn read_dep_info(path: &Path) -> io::Result<Vec<PathBuf>> {
    let text = read_text(path)?;
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
    Ok(files)
}

/// Splits a make rule at its first `: ` (Windows paths hold `C:\`).
fn split_rule(line: &str) -> Option<(&str, &str)> {
    let index = line.find(": ")?;
    Some((&line[..index], &line[index + 2..]))
}
