//! The mirror of a user's folder: a folder in the build cache that shows the user's
//! entries as links, so that a generated crate root or a merged manifest placed in it
//! finds the user's files by the relative paths the user wrote (`mod` files,
//! `include_str!("data/x.txt")`, `src/`, `build.rs`). The user's folder is never written
//! to.
//!
//! The links are the platform's (`platform::link_entry`): symlinks; on Windows without
//! the right to make them, junctions for folders and hard links (or copies) for files.
//! A path through a link is the user's file once resolved, so cargo's dep-info tracks
//! it; a hard link or a copy is not, so its original is returned for the build to track
//! and it is made again at every build (an editor that saves by replacing the file
//! breaks a hard link). Best effort: an entry that cannot be linked is left out, and only
//! relative paths to it fail to compile.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::platform::{self, Linked};

/// Shows each entry of `folder` in `mirror`, except the names in `except` (entries the
/// mirror holds its own version of), and drops links in `mirror` whose target is gone.
/// Links already in `mirror` are left as they are. Returns the user's files the mirror
/// holds as copies: the build must track them itself.
#[must_use]
pub fn mirror_folder(folder: &Path, mirror: &Path, except: &[&OsStr]) -> Vec<PathBuf> {
    for entry in fs::read_dir(mirror).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let Ok(metadata) = fs::symlink_metadata(&path) else {
            continue;
        };
        let dangling = metadata.file_type().is_symlink() && !path.exists();
        // A copy of a user's file (not a link, named as one of the user's entries):
        // made again below from the file as it is now.
        let copy = metadata.is_file()
            && !except.contains(&name.as_os_str())
            && folder.join(&name).is_file();
        if dangling || copy {
            // A folder's symlink or junction goes with remove_dir on Windows.
            let _ = fs::remove_file(&path).or_else(|_| fs::remove_dir(&path));
        }
    }
    let mut copies = Vec::new();
    let Ok(entries) = fs::read_dir(folder) else {
        return copies;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if except.contains(&name.as_os_str()) {
            continue;
        }
        let link = mirror.join(&name);
        if fs::symlink_metadata(&link).is_err()
            && platform::link_entry(&entry.path(), &link).ok() == Some(Linked::Copy)
        {
            copies.push(entry.path());
        }
    }
    copies
}

/// The mirror of the folder a source file sits in, without the file itself (the mirror
/// holds the generated copy or wrapper that stands for it). Returns what
/// [`mirror_folder`] does.
#[must_use]
pub fn mirror_siblings(source: &Path, mirror: &Path) -> Vec<PathBuf> {
    match (source.parent(), source.file_name()) {
        (Some(folder), Some(own_name)) => mirror_folder(folder, mirror, &[own_name]),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirrored_file_shows_the_users_text_even_after_an_editor_replaced_it() {
        let user = tempfile::tempdir().unwrap();
        let mirror = tempfile::tempdir().unwrap();
        let build = user.path().join("build.rs");
        fs::write(&build, "fn main() {}").unwrap();
        let copies = mirror_folder(user.path(), mirror.path(), &[]);
        let seen = mirror.path().join("build.rs");
        assert_eq!(fs::read_to_string(&seen).unwrap(), "fn main() {}");
        // Saved as editors save: a new file renamed over the old one.
        let saved = user.path().join(".build.rs.swp");
        fs::write(&saved, "fn main() { }").unwrap();
        fs::rename(&saved, &build).unwrap();
        assert_eq!(mirror_folder(user.path(), mirror.path(), &[]), copies);
        assert_eq!(fs::read_to_string(&seen).unwrap(), "fn main() { }");
        // Symlinks resolve to the user's file; a hard link or copy (Windows without
        // symlinks) is tracked by its original.
        if !copies.is_empty() {
            assert_eq!(copies, [build]);
        }
    }

    #[cfg(unix)]
    #[test]
    fn entries_are_linked_except_the_named_ones_and_dangling_links_go() {
        let user = tempfile::tempdir().unwrap();
        let mirror = tempfile::tempdir().unwrap();
        fs::write(user.path().join("lib.rs"), "").unwrap();
        fs::write(user.path().join("data.txt"), "x").unwrap();
        fs::create_dir(user.path().join("src")).unwrap();
        fs::write(mirror.path().join("own.rs"), "mine").unwrap();
        std::os::unix::fs::symlink(user.path().join("gone"), mirror.path().join("gone")).unwrap();

        let copies = mirror_siblings(&user.path().join("lib.rs"), mirror.path());
        assert!(copies.is_empty(), "symlinks: nothing to track by hand");

        let mut names: Vec<_> = fs::read_dir(mirror.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["data.txt", "own.rs", "src"]);
        assert_eq!(
            fs::read_link(mirror.path().join("src")).unwrap(),
            user.path().join("src")
        );
        assert_eq!(
            fs::read_to_string(mirror.path().join("own.rs")).unwrap(),
            "mine"
        );
    }
}
