//! The mirror of a user's folder: a folder in the build cache that shows the user's
//! entries as symlinks, so that a generated crate root or a merged manifest placed in it
//! finds the user's files by the relative paths the user wrote (`mod` files,
//! `include_str!("data/x.txt")`, `src/`, `build.rs`). The user's folder is never written
//! to.
//!
//! Best effort: an entry that cannot be linked is left out, and only relative paths to
//! it fail to compile. Unix only for now; elsewhere the mirror is empty and only files
//! named by absolute path are found.

use std::ffi::OsStr;
use std::path::Path;

/// Shows each entry of `folder` in `mirror` as a symlink to it, except the names in
/// `except` (entries the mirror holds its own version of), and drops links in `mirror`
/// whose target is gone. Entries already in `mirror` are left as they are.
pub fn mirror_folder(folder: &Path, mirror: &Path, except: &[&OsStr]) {
    #[cfg(unix)]
    {
        use std::fs;
        if let Ok(entries) = fs::read_dir(mirror) {
            for entry in entries.flatten() {
                let link = entry.path();
                let is_link = fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink());
                if is_link && !link.exists() {
                    let _ = fs::remove_file(&link);
                }
            }
        }
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if except.contains(&name.as_os_str()) {
                continue;
            }
            let link = mirror.join(&name);
            if fs::symlink_metadata(&link).is_err() {
                let _ = std::os::unix::fs::symlink(entry.path(), &link);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (folder, mirror, except);
}

/// The mirror of the folder a source file sits in, without the file itself (the mirror
/// holds the generated copy or wrapper that stands for it).
pub fn mirror_siblings(source: &Path, mirror: &Path) {
    if let (Some(folder), Some(own_name)) = (source.parent(), source.file_name()) {
        mirror_folder(folder, mirror, &[own_name]);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn entries_are_linked_except_the_named_ones_and_dangling_links_go() {
        let user = tempfile::tempdir().unwrap();
        let mirror = tempfile::tempdir().unwrap();
        fs::write(user.path().join("lib.rs"), "").unwrap();
        fs::write(user.path().join("data.txt"), "x").unwrap();
        fs::create_dir(user.path().join("src")).unwrap();
        fs::write(mirror.path().join("own.rs"), "mine").unwrap();
        std::os::unix::fs::symlink(user.path().join("gone"), mirror.path().join("gone")).unwrap();

        mirror_siblings(&user.path().join("lib.rs"), mirror.path());

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
