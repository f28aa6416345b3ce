//! Every difference between Linux, macOS and Windows, in one place: the rest of the core
//! has no `cfg`. What depends on the target only as data (cargo arguments, partition
//! names, `file://` URLs, path keys) is a method of [`Target`], so that a test on any
//! machine checks it for every platform; what calls the operating system (links,
//! process trees, free space, loaded libraries) is in `unix.rs` or `windows.rs`, behind
//! the same functions.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

pub use sys::{
    available_space, file_id, file_system_of, link_entry, loaded_files, make_private,
    make_readable, os_str_bytes, others_may_write, owner_if_not_me, process_is_alive,
    refuses_locks, remove_dir_unless_loaded, ProcessTree,
};

/// The operating system family a build is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    /// The BSDs and other Unixes: treated as Linux without `/proc`.
    OtherUnix,
}

/// What a build targets: the platform rusthook itself was compiled for. rusthook's own
/// library is loaded into the interpreter, so its architecture is the interpreter's
/// (an x86_64 Python under Rosetta loads the x86_64 half of a universal2 rusthook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub os: Os,
    /// Rust's name of the architecture (`x86_64`, `aarch64`).
    pub arch: &'static str,
}

impl Target {
    pub const HOST: Target = Target {
        os: if cfg!(target_os = "linux") {
            Os::Linux
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::OtherUnix
        },
        arch: std::env::consts::ARCH,
    };

    /// The `--target` cargo is given. On macOS always the interpreter's architecture:
    /// an arm64 toolchain would otherwise build arm64 libraries for an x86_64 Python
    /// running under Rosetta. Elsewhere the toolchain's default host is the
    /// interpreter's platform, and no `--target` keeps cargo's usual layout.
    pub fn cargo_target(&self) -> Option<String> {
        match self.os {
            Os::MacOs => Some(format!("{}-apple-darwin", self.arch)),
            _ => None,
        }
    }

    /// Arguments for rustc when linking an extension module. On macOS the Python
    /// symbols are resolved when the interpreter loads the library (as maturin links
    /// it); without these the linker fails with "Undefined symbols … _Py…".
    pub fn extension_link_args(&self) -> &'static [&'static str] {
        match self.os {
            Os::MacOs => &["-C", "link-arg=-undefined", "-C", "link-arg=dynamic_lookup"],
            _ => &[],
        }
    }

    /// The name of an interpreter's cache partition from its ABI tag (its extension
    /// suffix). macOS tags name no architecture (`cpython-311-darwin`), yet an arm64
    /// and an x86_64 interpreter cannot load each other's libraries: the architecture
    /// is added. Linux and Windows tags name it already.
    pub fn partition_name(&self, abi_tag: &str) -> String {
        match self.os {
            Os::MacOs if !abi_tag.ends_with(self.arch) => format!("{abi_tag}-{}", self.arch),
            _ => abi_tag.to_string(),
        }
    }

    /// Whether a stable-ABI (abi3) build links without an interpreter library, given
    /// the pyo3 version requirement of the crate (`None`: not known, as for a
    /// workspace-inherited or git dependency). On Windows pyo3 links abi3 modules
    /// against `python3.dll` without an interpreter from 0.29.3 on; older (or unknown)
    /// pyo3 needs one, and then builds for this interpreter.
    pub fn stable_abi_without_interpreter(&self, pyo3_version: Option<&str>) -> bool {
        match self.os {
            Os::Windows => pyo3_version.is_some_and(|version| at_least(version, (0, 29, 3))),
            _ => true,
        }
    }

    /// The path of a `file://` URL (a `direct_url.json`'s), percent-decoded:
    /// `file:///home/me/my%20proj` is `/home/me/my proj`; on Windows
    /// `file:///C:/Users/me` is `C:\Users\me` and `file://server/share/x` is
    /// `\\server\share\x`. `None` for other URLs and for remote hosts off Windows.
    pub fn file_url_path(&self, url: &str) -> Option<String> {
        let rest = url
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("file://"))
            .and(url.get(7..))?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = if host.eq_ignore_ascii_case("localhost") {
            ""
        } else {
            host
        };
        let path = percent_decode(path);
        if self.os != Os::Windows {
            return (host.is_empty() && !path.is_empty()).then_some(path);
        }
        let path = path.replace('/', "\\");
        if !host.is_empty() {
            return Some(format!("\\\\{}{path}", percent_decode(host)));
        }
        if let Some(unc) = path.strip_prefix("\\\\") {
            // `file:////server/share`: an empty host and a UNC path.
            return Some(format!("\\\\{unc}"));
        }
        // `\C:\x` (or `\C|\x`, an old spelling) is the drive path `C:\x`.
        let path = path.strip_prefix('\\').unwrap_or(&path);
        let bytes = path.as_bytes();
        if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && matches!(bytes[1], b':' | b'|') {
            let rest = &path[2..];
            let rest = if rest.is_empty() { "\\" } else { rest };
            return Some(format!(
                "{}:{rest}",
                char::from(bytes[0]).to_ascii_uppercase()
            ));
        }
        None
    }

    /// The text a path is keyed by in the cache: the path itself, except on Windows,
    /// whose file systems ignore case and whose paths come spelled many ways (`C:\`,
    /// `c:\`, `C:/`, `\\?\C:\`): one spelling, so an own build is never someone else's.
    pub fn path_key(&self, path: &str) -> String {
        match self.os {
            Os::Windows => {
                let path = path.replace('/', "\\");
                let plain = plain_windows_path(&path).unwrap_or(path);
                plain.to_lowercase()
            }
            _ => path.to_string(),
        }
    }

    /// The longest path of a library the interpreter can load: Windows' `MAX_PATH`
    /// (260 characters with the final NUL) unless long paths are enabled machine-wide,
    /// which rusthook does not assume. `None`: no limit that matters.
    pub fn max_path(&self) -> Option<usize> {
        (self.os == Os::Windows).then_some(259)
    }

    /// Whether a library at `path` is too long a path to load here (see [`max_path`]).
    ///
    /// [`max_path`]: Target::max_path
    pub fn path_too_long(&self, path: &Path) -> bool {
        self.max_path()
            .is_some_and(|max| path.as_os_str().len() > max)
    }
}

/// `0.29.3`, `>=0.29.3`, `^0.30`, `0.30.1`: whether every version the requirement
/// allows is at least `floor` (its lowest version is: requirements here are minimums).
fn at_least(requirement: &str, floor: (u64, u64, u64)) -> bool {
    let version = requirement
        .trim()
        .trim_start_matches(['^', '~', '=', '>', ' '])
        .split([',', ' ', '-', '+'])
        .next()
        .unwrap_or("");
    let mut numbers = version.split('.').map(|n| n.parse::<u64>().ok());
    let mut next = || numbers.next().flatten();
    let (Some(major), minor, patch) = (next(), next(), next()) else {
        return false;
    };
    (major, minor.unwrap_or(0), patch.unwrap_or(0)) >= floor
}

/// `%XX` escapes decoded (bytes that do not make UTF-8 are replaced).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
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

/// A Windows path without the `\\?\` prefix that `canonicalize` adds, where the plain
/// spelling means the same file (as the `dunce` crate decides): `\\?\C:\x` is `C:\x`
/// and `\\?\UNC\server\share` is `\\server\share`. `None` when the prefixed path must
/// stay as it is: too long, a reserved name (`NUL`, `COM1`), a name ending in a dot
/// or a space, or characters a plain path cannot hold.
pub fn plain_windows_path(path: &str) -> Option<String> {
    let (prefix, rest) = if let Some(rest) = path.strip_prefix(r"\\?\UNC\") {
        (r"\\", rest)
    } else if let Some(rest) = path.strip_prefix(r"\\?\") {
        let bytes = rest.as_bytes();
        let is_drive = bytes.len() >= 3
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && bytes[2] == b'\\';
        if !is_drive {
            return None;
        }
        ("", rest)
    } else {
        return Some(path.to_string());
    };
    let plain = format!("{prefix}{rest}");
    let names = rest.split('\\').skip(1).filter(|name| !name.is_empty());
    let fine = plain.len() < 260
        && !rest.contains(['/', '<', '>', '"', '|', '?', '*'])
        && !rest.split('\\').any(|name| name == "." || name == "..")
        && names.clone().all(|name| !name.ends_with(['.', ' ']))
        && names.clone().all(|name| !is_reserved_name(name));
    fine.then_some(plain)
}

/// `CON`, `nul.txt`, `COM1`: names Windows reserves for devices in plain paths.
fn is_reserved_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((upper.starts_with("COM") || upper.starts_with("LPT"))
        && upper.len() == 4
        && upper.as_bytes()[3].is_ascii_digit())
}

/// A path as a person and the tools it is handed to spell it: on Windows without the
/// `\\?\` prefix where that means the same file (build tools that call `cmd.exe`, and
/// Cargo.toml paths, break on it). Elsewhere unchanged.
pub fn plain(path: PathBuf) -> PathBuf {
    if Target::HOST.os != Os::Windows {
        return path;
    }
    match path.to_str().and_then(plain_windows_path) {
        Some(plain) => PathBuf::from(plain),
        None => path,
    }
}

/// `fs::canonicalize`, in the plain spelling (see [`plain`]).
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    fs::canonicalize(path).map(plain)
}

/// The cache key text of a path on this machine (see [`Target::path_key`]).
pub fn path_key(path: &Path) -> String {
    Target::HOST.path_key(&path.to_string_lossy())
}

/// How [`link_entry`] put a user's file or folder into a mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// A symbolic link (or, on Windows, a junction): paths through it are the user's
    /// file, and cargo's dep-info names the user's file once resolved.
    Link,
    /// A hard link or a copy (Windows without the right to make symbolic links): the
    /// user's file must be tracked by its own path, and the copy refreshed when it
    /// changes.
    Copy,
}

/// Whether a Mach-O library (macOS) binds its symbols with chained fixups
/// (`LC_DYLD_CHAINED_FIXUPS`, what the linker writes for a deployment target of macOS
/// 12 or later), which pyo3's introspection reader does not follow. Reads the header
/// and load commands only; `false` for anything else.
pub fn uses_chained_fixups(library: &Path) -> bool {
    use std::io::Read;
    const HEADER: usize = 32;
    let mut head = Vec::new();
    let read = fs::File::open(library).and_then(|file| file.take(64 * 1024).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    mach_o_has_chained_fixups(&head, HEADER)
}

/// [`uses_chained_fixups`] on the first bytes of a thin 64-bit little-endian Mach-O file.
fn mach_o_has_chained_fixups(bytes: &[u8], header: usize) -> bool {
    const MH_MAGIC_64: u32 = 0xfeed_facf;
    const LC_DYLD_CHAINED_FIXUPS: u32 = 0x8000_0034;
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if word(0) != Some(MH_MAGIC_64) {
        return false;
    }
    let commands = word(16).unwrap_or(0);
    let mut at = header;
    for _ in 0..commands {
        let (Some(command), Some(size)) = (word(at), word(at + 4)) else {
            return false;
        };
        if command == LC_DYLD_CHAINED_FIXUPS {
            return true;
        }
        if size < 8 {
            return false;
        }
        at += size as usize;
    }
    false
}

#[cfg(test)]
pub(crate) mod tests;
