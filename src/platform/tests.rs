use super::*;

const LINUX: Target = Target {
    os: Os::Linux,
    arch: "x86_64",
};
const MAC_ARM: Target = Target {
    os: Os::MacOs,
    arch: "aarch64",
};
const MAC_INTEL: Target = Target {
    os: Os::MacOs,
    arch: "x86_64",
};
const WINDOWS: Target = Target {
    os: Os::Windows,
    arch: "x86_64",
};

#[test]
fn macos_builds_name_the_interpreters_architecture_and_link_python_lazily() {
    assert_eq!(
        MAC_ARM.cargo_target().as_deref(),
        Some("aarch64-apple-darwin")
    );
    assert_eq!(
        MAC_INTEL.cargo_target().as_deref(),
        Some("x86_64-apple-darwin")
    );
    assert_eq!(
        MAC_ARM.extension_link_args(),
        ["-C", "link-arg=-undefined", "-C", "link-arg=dynamic_lookup"]
    );
    assert_eq!(LINUX.cargo_target(), None);
    assert!(LINUX.extension_link_args().is_empty());
    assert!(WINDOWS.extension_link_args().is_empty());
}

#[test]
fn macos_partitions_are_per_architecture() {
    assert_eq!(
        MAC_ARM.partition_name("cpython-311-darwin"),
        "cpython-311-darwin-aarch64"
    );
    assert_eq!(
        MAC_INTEL.partition_name("cpython-311-darwin"),
        "cpython-311-darwin-x86_64"
    );
    assert_ne!(
        MAC_ARM.partition_name("cpython-abi3-darwin"),
        MAC_INTEL.partition_name("cpython-abi3-darwin")
    );
    assert_eq!(
        LINUX.partition_name("cpython-311-x86_64-linux-gnu"),
        "cpython-311-x86_64-linux-gnu"
    );
    assert_eq!(WINDOWS.partition_name("cp311-win_amd64"), "cp311-win_amd64");
}

#[test]
fn windows_stable_abi_needs_no_interpreter_from_pyo3_0_29_3() {
    assert!(!WINDOWS.stable_abi_without_interpreter(None));
    assert!(LINUX.stable_abi_without_interpreter(None));
    assert!(WINDOWS.stable_abi_without_interpreter(Some("0.30")));
    assert!(WINDOWS.stable_abi_without_interpreter(Some(">=0.29.3")));
    assert!(WINDOWS.stable_abi_without_interpreter(Some("^1")));
    assert!(!WINDOWS.stable_abi_without_interpreter(Some("0.29.2")));
    assert!(!WINDOWS.stable_abi_without_interpreter(Some("0.29")));
    assert!(!WINDOWS.stable_abi_without_interpreter(Some("0.23.4")));
    assert!(!WINDOWS.stable_abi_without_interpreter(Some("*")));
    assert!(LINUX.stable_abi_without_interpreter(Some("0.23.4")));
}

#[test]
fn file_urls_are_decoded_as_each_platform_spells_paths() {
    assert_eq!(
        LINUX.file_url_path("file:///home/me/my%20proj").as_deref(),
        Some("/home/me/my proj")
    );
    assert_eq!(
        LINUX.file_url_path("file://localhost/srv/x").as_deref(),
        Some("/srv/x")
    );
    assert_eq!(LINUX.file_url_path("file://server/share/x"), None);
    assert_eq!(LINUX.file_url_path("https://example/x"), None);
    assert_eq!(
        LINUX.file_url_path("file:///bad%zz/end%2").as_deref(),
        Some("/bad%zz/end%2")
    );
    assert_eq!(
        LINUX.file_url_path("file:///caf%C3%A9").as_deref(),
        Some("/café")
    );
    assert_eq!(
        WINDOWS.file_url_path("file:///C:/Users/me/proj").as_deref(),
        Some(r"C:\Users\me\proj")
    );
    assert_eq!(
        WINDOWS
            .file_url_path("file:///c:/Users/J%C3%B6rg/my%20proj")
            .as_deref(),
        Some(r"C:\Users\Jörg\my proj")
    );
    assert_eq!(
        WINDOWS.file_url_path("FILE:///D|/x").as_deref(),
        Some(r"D:\x")
    );
    assert_eq!(WINDOWS.file_url_path("file:///C:").as_deref(), Some(r"C:\"));
    assert_eq!(
        WINDOWS.file_url_path("file://server/share/proj").as_deref(),
        Some(r"\\server\share\proj")
    );
    assert_eq!(
        WINDOWS
            .file_url_path("file:////server/share/proj")
            .as_deref(),
        Some(r"\\server\share\proj")
    );
    assert_eq!(
        WINDOWS.file_url_path("file://localhost/C:/x").as_deref(),
        Some(r"C:\x")
    );
    assert_eq!(WINDOWS.file_url_path("file:///relative"), None);
}

#[test]
fn windows_path_keys_ignore_case_and_spelling() {
    let key = WINDOWS.path_key(r"C:\Users\Me\fast.rs");
    assert_eq!(WINDOWS.path_key(r"c:\users\me\FAST.rs"), key);
    assert_eq!(WINDOWS.path_key("C:/Users/Me/fast.rs"), key);
    assert_eq!(WINDOWS.path_key(r"\\?\C:\Users\Me\fast.rs"), key);
    assert_ne!(WINDOWS.path_key(r"C:\Users\Me\slow.rs"), key);
    assert_ne!(
        LINUX.path_key("/home/Me/fast.rs"),
        LINUX.path_key("/home/me/fast.rs")
    );
}

#[test]
fn verbatim_prefixes_are_dropped_where_the_plain_path_is_the_same_file() {
    let plain = |p: &str| plain_windows_path(p);
    assert_eq!(plain(r"\\?\C:\Users\me").as_deref(), Some(r"C:\Users\me"));
    assert_eq!(
        plain(r"\\?\UNC\server\share\x").as_deref(),
        Some(r"\\server\share\x")
    );
    assert_eq!(plain(r"C:\already").as_deref(), Some(r"C:\already"));
    assert_eq!(plain(r"\\?\C:\dir\nul"), None);
    assert_eq!(plain(r"\\?\C:\dir\COM1.txt"), None);
    assert_eq!(plain(r"\\?\C:\dir\trailing."), None);
    assert_eq!(plain(r"\\?\C:\dir\a?b"), None);
    assert_eq!(plain(r"\\?\Volume{1234}\x"), None);
    let long = format!(r"\\?\C:\{}", "a".repeat(300));
    assert_eq!(plain(&long), None);
    assert!(is_reserved_name("lpt9"));
    assert!(!is_reserved_name("console"));
}

#[test]
fn only_windows_checks_the_path_length() {
    assert_eq!(WINDOWS.max_path(), Some(259));
    assert_eq!(LINUX.max_path(), None);
    assert_eq!(MAC_ARM.max_path(), None);
    let long = Path::new("C:\\").join("x".repeat(260));
    assert!(WINDOWS.path_too_long(&long));
    assert!(!LINUX.path_too_long(&long));
    // The deepest library path of a module with a 30-character name, in the default
    // build folder of a user with a 20-character name, leaves room to spare.
    let name = "a".repeat(30);
    let deepest = format!(
        "C:\\Users\\{}\\AppData\\Local\\rusthook\\cp313-win_amd64\\modules\\{name}-0123456789abcdef\\{name}.0123456789ab.cp313-win_amd64.pyd",
        "u".repeat(20)
    );
    assert!(deepest.len() < 200, "{}", deepest.len());
    assert!(!WINDOWS.path_too_long(Path::new(&deepest)));
}

#[test]
fn chained_fixups_are_found_among_the_load_commands() {
    let mach_o = |commands: &[(u32, u32)]| {
        let mut bytes = Vec::new();
        for word in [
            0xfeed_facf_u32,
            0x0100_000c,
            0,
            6,
            commands.len() as u32,
            0,
            0,
            0,
        ] {
            bytes.extend(word.to_le_bytes());
        }
        for &(command, size) in commands {
            bytes.extend(command.to_le_bytes());
            bytes.extend(size.to_le_bytes());
            bytes.extend(vec![0; (size as usize).saturating_sub(8)]);
        }
        bytes
    };
    let segment = (0x19, 72);
    assert!(mach_o_has_chained_fixups(
        &mach_o(&[segment, (0x8000_0034, 16)]),
        32
    ));
    assert!(!mach_o_has_chained_fixups(
        &mach_o(&[segment, (0x8000_0022, 48)]),
        32
    ));
    assert!(!mach_o_has_chained_fixups(b"\x7fELF\x02\x01\x01", 32));
    assert!(!mach_o_has_chained_fixups(&mach_o(&[(0x19, 0)]), 32));
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("fast.so");
    fs::write(&library, mach_o(&[(0x8000_0034, 16)])).unwrap();
    assert!(uses_chained_fixups(&library));
    assert!(!uses_chained_fixups(&dir.path().join("missing.so")));
}

#[test]
fn ending_a_process_tree_ends_the_tool() {
    use std::process::Command;
    use std::time::{Duration, Instant};
    // A tool that starts a process of its own and waits for it, as cargo does rustc.
    let mut command = if cfg!(windows) {
        let mut command = Command::new("cmd");
        command.args(["/c", "ping -n 60 127.0.0.1 > nul"]);
        command
    } else {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 60 & wait"]);
        command
    };
    ProcessTree::prepare(&mut command);
    let mut child = command.spawn().unwrap();
    let tree = ProcessTree::adopt(&child);
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    tree.kill();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    #[cfg(windows)]
    assert_eq!(
        status.code().map(|code| code as u32),
        Some(sys::CONTROL_C_EXIT),
        "ended by the Job Object"
    );
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "ended by SIGKILL to its process group"
    );
}

#[test]
fn the_host_is_what_rusthook_was_compiled_for() {
    assert_eq!(Target::HOST.arch, std::env::consts::ARCH);
    assert_eq!(Target::HOST.os == Os::Windows, cfg!(windows));
    assert_eq!(Target::HOST.os == Os::MacOs, cfg!(target_os = "macos"));
}

/// Windows' own behaviour, run under Wine by `scripts/cross-check`.
#[cfg(windows)]
pub(crate) mod windows_only {
    use super::*;
    use std::os::windows::ffi::OsStrExt;

    #[link(name = "kernel32")]
    extern "system" {
        fn LoadLibraryW(name: *const u16) -> *mut std::ffi::c_void;
        pub(crate) fn FreeLibrary(module: *mut std::ffi::c_void) -> i32;
    }

    /// A library loaded as a process loads an extension module: a copy of this test
    /// program (a PE image like any `.pyd`).
    pub(crate) fn load(path: &Path) -> *mut std::ffi::c_void {
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
        // SAFETY: a NUL-terminated path; the image's entry point is not run for an
        // executable loaded as a library.
        let module = unsafe { LoadLibraryW(wide.as_ptr()) };
        assert!(!module.is_null(), "{}", io::Error::last_os_error());
        module
    }

    #[test]
    fn a_folder_holding_a_loaded_library_is_not_removed() {
        let dir = tempfile::tempdir().unwrap();
        let module_dir = dir.path().join("fast-0123");
        fs::create_dir(&module_dir).unwrap();
        let library = module_dir.join("fast.pyd");
        fs::copy(std::env::current_exe().unwrap(), &library).unwrap();
        fs::write(module_dir.join("record.json"), b"{}").unwrap();
        let module = load(&library);
        assert!(!remove_dir_unless_loaded(&module_dir).unwrap());
        assert!(module_dir.join("record.json").exists(), "nothing removed");
        // SAFETY: loaded above, not used.
        unsafe { FreeLibrary(module) };
        assert!(remove_dir_unless_loaded(&module_dir).unwrap());
        assert!(!module_dir.exists());
    }

    /// Wine runs these tests here; it has no junctions (Windows has them on NTFS).
    fn under_wine() -> bool {
        #[link(name = "kernel32")]
        extern "system" {
            fn GetModuleHandleW(name: *const u16) -> *mut std::ffi::c_void;
            fn GetProcAddress(
                module: *mut std::ffi::c_void,
                name: *const std::ffi::c_char,
            ) -> *mut std::ffi::c_void;
        }
        let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain([0]).collect();
        // SAFETY: NUL-terminated names; ntdll is loaded in every process.
        unsafe {
            let module = GetModuleHandleW(ntdll.as_ptr());
            !module.is_null() && !GetProcAddress(module, c"wine_get_version".as_ptr()).is_null()
        }
    }

    #[test]
    fn mirrored_folders_are_junctions_and_files_links_or_tracked_copies() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user");
        fs::create_dir_all(user.join("src")).unwrap();
        fs::write(user.join("src/lib.rs"), "// lib").unwrap();
        fs::write(user.join("build.rs"), "fn main() {}").unwrap();
        let mirror = dir.path().join("mirror");
        fs::create_dir(&mirror).unwrap();
        match link_entry(&user.join("src"), &mirror.join("src")) {
            Ok(linked) => {
                assert_eq!(linked, Linked::Link);
                assert_eq!(
                    fs::read_to_string(mirror.join("src/lib.rs")).unwrap(),
                    "// lib"
                );
                fs::write(user.join("src/new.rs"), "// new").unwrap();
                assert!(mirror.join("src/new.rs").exists(), "a link, not a copy");
                let canonical = canonicalize(&mirror.join("src/lib.rs")).unwrap();
                assert_eq!(canonical, canonicalize(&user.join("src/lib.rs")).unwrap());
                assert!(!canonical.to_string_lossy().starts_with(r"\\?\"));
            }
            Err(error) => {
                assert!(under_wine(), "junctions work on Windows: {error}");
                // ERROR_NOT_SUPPORTED: Wine 8 sets no reparse points.
                assert_eq!(error.raw_os_error(), Some(50), "{error}");
                assert!(!mirror.join("src").exists(), "left out, nothing half made");
            }
        }
        let linked = link_entry(&user.join("build.rs"), &mirror.join("build.rs")).unwrap();
        assert_eq!(
            fs::read_to_string(mirror.join("build.rs")).unwrap(),
            "fn main() {}"
        );
        if linked == Linked::Copy {
            // A hard link: an edit in place shows; an editor's replacement is why
            // the original is tracked and the copy made again.
            fs::write(user.join("build.rs"), "fn main() { }").unwrap();
            assert_eq!(
                fs::read_to_string(mirror.join("build.rs")).unwrap(),
                "fn main() { }"
            );
        }
    }

    #[test]
    fn paths_of_one_file_share_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Fast.rs");
        fs::write(&file, "").unwrap();
        let spelled = file.to_string_lossy().to_uppercase();
        assert_eq!(path_key(Path::new(&spelled)), path_key(&file));
        assert_eq!(path_key(&fs::canonicalize(&file).unwrap()), path_key(&file));
    }

    #[test]
    fn free_space_is_known() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available_space(dir.path()).is_some_and(|free| free > 0));
    }
}
