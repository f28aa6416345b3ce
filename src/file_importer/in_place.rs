//! In-place builds carry their own proof. Beside `fast.<EXT_SUFFIX>`, rusthook writes
//! `fast.<EXT_SUFFIX>.rusthook.json`: the library's size and sha256 (so a library
//! someone else wrote under that name is told apart) and the build record it came from,
//! with paths inside the source's folder kept relative (so the proof holds after the
//! folder is moved, copied or checked out elsewhere). Nothing of it lives in the build
//! cache: a `cache clear`, a prune or another build folder forget nothing.
//!
//! - no stamp: a library rusthook did not build, which Python imports and rusthook
//!   never replaces;
//! - a stamp that vouches for the library: its record decides freshness, as a cache
//!   record does;
//! - a stamp that cannot (truncated, not rusthook's format, from a newer rusthook, or
//!   naming another library's hash): the library is not loaded on its word; the source
//!   is built again.
//!
//! [`in_place_use`] makes that decision for an import that found such a library.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::file_importer::finder::Source;
use crate::fsutil::{hash_file, mtime_ns, write_readable_atomically};
use crate::machinery::freshness::{BuildRecord, Freshness};
use crate::machinery::{check_record, toolchain};

/// Bumped when the stamp's meaning changes; a stamp of a later format is not trusted.
pub const STAMP_FORMAT: u32 = 1;

/// What follows the library's file name in its stamp's.
pub const STAMP_SUFFIX: &str = ".rusthook.json";

#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    format: u32,
    /// The library this stamp vouches for.
    library_size: u64,
    library_mtime_ns: i64,
    library_sha256: String,
    /// The build the library came from; paths inside the folder relative to it.
    record: BuildRecord,
}

/// What the file beside a library says of it.
#[derive(Debug)]
pub enum InPlace {
    /// No stamp: rusthook did not build it.
    Foreign,
    /// Built by rusthook from what this record lists (paths made absolute again).
    Own(Box<BuildRecord>),
    /// A stamp is there but cannot vouch for the library: why.
    Unconfirmed(String),
}

/// The stamp beside `library`.
pub fn stamp_path(library: &Path) -> PathBuf {
    let mut name = library.as_os_str().to_owned();
    name.push(STAMP_SUFFIX);
    PathBuf::from(name)
}

/// Writes the stamp of `library` (just installed in `folder`), built as `record` says.
/// The stamp is readable by all, as the library beside it is (an image built as root
/// serves its programs run as another user).
pub fn write_stamp(library: &Path, folder: &Path, record: &BuildRecord) -> Result<()> {
    let metadata = fs::metadata(library).map_err(Error::io("cannot read", library))?;
    let stamp = Stamp {
        format: STAMP_FORMAT,
        library_size: metadata.len(),
        library_mtime_ns: mtime_ns(&metadata),
        library_sha256: hash_file(library).map_err(Error::io("cannot read", library))?,
        record: rebase(record, |path| {
            path.strip_prefix(folder).map(Path::to_path_buf).ok()
        }),
    };
    let path = stamp_path(library);
    let json = serde_json::to_vec_pretty(&stamp).map_err(|e| Error::Io {
        action: "cannot encode",
        path: path.clone(),
        source: e.into(),
    })?;
    write_readable_atomically(&path, &json).map_err(Error::io("cannot write", &path))
}

/// Reads the stamp beside `library` (an extension module in `folder`).
pub fn read_stamp(library: &Path, folder: &Path) -> InPlace {
    let path = stamp_path(library);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return InPlace::Foreign,
        Err(error) => return unconfirmed(&path, &format!("it cannot be read: {error}")),
    };
    let format = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|value| value.get("format")?.as_u64());
    match format {
        None => return unconfirmed(&path, "it is not a stamp rusthook wrote (truncated?)"),
        Some(format) if format > u64::from(STAMP_FORMAT) => {
            return unconfirmed(
                &path,
                &format!(
                    "a newer rusthook wrote it (format {format}; this one reads {STAMP_FORMAT})"
                ),
            )
        }
        Some(_) => {}
    }
    let stamp = match serde_json::from_slice::<Stamp>(&bytes) {
        Ok(stamp) if stamp.format == STAMP_FORMAT => stamp,
        Ok(stamp) => {
            return unconfirmed(
                &path,
                &format!("an older rusthook wrote it (format {})", stamp.format),
            )
        }
        Err(error) => {
            return unconfirmed(
                &path,
                &format!("it is not a stamp rusthook wrote ({error})"),
            )
        }
    };
    let Ok(metadata) = fs::metadata(library) else {
        return InPlace::Foreign;
    };
    let same_stat =
        metadata.len() == stamp.library_size && mtime_ns(&metadata) == stamp.library_mtime_ns;
    if !same_stat {
        // A copied or checked-out folder gives every file a new mtime: the hash decides.
        let same_content = metadata.len() == stamp.library_size
            && hash_file(library).is_ok_and(|sha256| sha256 == stamp.library_sha256);
        if !same_content {
            return unconfirmed(
                &path,
                &format!("{} is not the library it describes", library.display()),
            );
        }
    }
    InPlace::Own(Box::new(rebase(&stamp.record, |relative| {
        relative.is_relative().then(|| folder.join(relative))
    })))
}

fn unconfirmed(stamp: &Path, why: &str) -> InPlace {
    InPlace::Unconfirmed(format!("{} cannot vouch for it: {why}", stamp.display()))
}

/// `record` with every path `map` gives a new one for replaced.
fn rebase(record: &BuildRecord, map: impl Fn(&Path) -> Option<PathBuf>) -> BuildRecord {
    let mut record = record.clone();
    let apply = |path: &mut PathBuf| {
        if let Some(new) = map(path) {
            *path = new;
        }
    };
    apply(&mut record.source);
    for file in &mut record.files {
        apply(&mut file.path);
    }
    for path in &mut record.absent {
        apply(path);
    }
    record
}

/// What an import does with an extension module Python found beside a source.
#[derive(Debug, PartialEq, Eq)]
pub enum InPlaceUse {
    /// Not rusthook's build: Python imports it, rusthook leaves it alone.
    Foreign,
    /// rusthook's build, and fresh (or stale with no toolchain to rebuild it, said in a
    /// warning): load it.
    Load(PathBuf),
    /// rusthook's build, stale or unconfirmed: build the source and write it again.
    Rebuild,
}

/// Decides what becomes of `extension`, found beside `source`, from the stamp beside it
/// (see `in_place`): nothing of it is read from the build cache.
pub fn in_place_use(source: &Source, extension: &Path) -> Result<InPlaceUse> {
    let folder = extension.parent().unwrap_or(Path::new("/"));
    let record = match read_stamp(extension, folder) {
        InPlace::Foreign => {
            log::debug!(target: "rusthook.finder", "{} was not written by rusthook: it is imported, not {}", extension.display(), source.path.display());
            return Ok(InPlaceUse::Foreign);
        }
        InPlace::Unconfirmed(reason) => {
            if let Err(error) = toolchain::version() {
                return Err(Error::InPlaceUnconfirmed {
                    library: extension.to_path_buf(),
                    reason: format!("{reason}; and it cannot be built again here ({error})"),
                });
            }
            log::warn!(target: "rusthook.builder", "building {} again: {reason}", source.name);
            return Ok(InPlaceUse::Rebuild);
        }
        InPlace::Own(record) => record,
    };
    // The settings of the build that wrote it are the ones that count: an import with
    // other settings loads what is there.
    match check_record(&record, extension, &record.settings) {
        Freshness::Fresh | Freshness::FreshWithNewStats(_) => {
            Ok(InPlaceUse::Load(extension.to_path_buf()))
        }
        Freshness::Stale(reason) => match toolchain::version() {
            Ok(_) => {
                log::debug!(target: "rusthook.freshness", "{} must be rebuilt: {reason}", extension.display());
                Ok(InPlaceUse::Rebuild)
            }
            Err(error) => {
                log::warn!(target: "rusthook.builder", "{} was built from other inputs ({reason}) and cannot be built again here ({error}); loading it as it is", extension.display());
                Ok(InPlaceUse::Load(extension.to_path_buf()))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An absolute path outside the folder, as the platform spells one.
    const OUTSIDE: &str = if cfg!(windows) {
        "C:/elsewhere/.cargo"
    } else {
        "/elsewhere/.cargo"
    };
    use crate::machinery::freshness::RECORD_FORMAT;
    use crate::machinery::inputs::track_all;

    fn built(dir: &Path) -> (PathBuf, BuildRecord) {
        let source = dir.join("fast.rs");
        fs::write(&source, "fn a() {}").unwrap();
        let library = dir.join("fast.abi3.so");
        fs::write(&library, "library").unwrap();
        let record = BuildRecord {
            format: RECORD_FORMAT,
            module: "fast".into(),
            source: source.clone(),
            files: track_all([source]).unwrap(),
            absent: vec![dir.join(".cargo"), PathBuf::from(OUTSIDE)],
            ..BuildRecord::default()
        };
        (library, record)
    }

    #[test]
    fn a_stamp_travels_with_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        fs::create_dir_all(&first).unwrap();
        let (library, record) = built(&first);
        write_stamp(&library, &first, &record).unwrap();
        let text = fs::read_to_string(stamp_path(&library)).unwrap();
        assert!(text.contains("\"fast.rs\""), "{text}");
        assert!(text.contains(OUTSIDE), "{text}");
        match read_stamp(&library, &first) {
            InPlace::Own(read) => assert_eq!(*read, record),
            other => panic!("{other:?}"),
        }
        // Moved: the paths follow the folder.
        let moved = dir.path().join("moved");
        fs::rename(&first, &moved).unwrap();
        let library = moved.join("fast.abi3.so");
        match read_stamp(&library, &moved) {
            InPlace::Own(read) => assert_eq!(read.files[0].path, moved.join("fast.rs")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_stamp_is_foreign_and_a_bad_one_vouches_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (library, record) = built(dir.path());
        assert!(matches!(read_stamp(&library, dir.path()), InPlace::Foreign));
        write_stamp(&library, dir.path(), &record).unwrap();
        let stamp = stamp_path(&library);
        let good = fs::read(&stamp).unwrap();
        let reason = |bytes: &[u8]| {
            fs::write(&stamp, bytes).unwrap();
            match read_stamp(&library, dir.path()) {
                InPlace::Unconfirmed(reason) => reason,
                other => panic!("{other:?}"),
            }
        };
        let prefix = format!("{} cannot vouch for it: ", stamp.display());
        assert_eq!(
            reason(&good[..good.len() / 2]),
            format!("{prefix}it is not a stamp rusthook wrote (truncated?)")
        );
        let future = String::from_utf8(good.clone())
            .unwrap()
            .replace("\"format\": 1,", "\"format\": 99,");
        assert_eq!(
            reason(future.as_bytes()),
            format!("{prefix}a newer rusthook wrote it (format 99; this one reads 1)")
        );
        // Forged: the library is not the one the stamp describes.
        fs::write(&stamp, &good).unwrap();
        fs::write(&library, "another").unwrap();
        assert_eq!(
            reason(&good),
            format!(
                "{prefix}{} is not the library it describes",
                library.display()
            )
        );
    }
}
