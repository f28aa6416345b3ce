use super::*;

#[test]
fn second_holder_waits_and_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.lock");
    let first = try_acquire_for(&path, "fast").unwrap().expect("free lock");
    assert!(try_acquire(&path).unwrap().is_none());
    let err = acquire(&path, "fast", Duration::from_millis(50), &|| false).unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(err.to_string().contains("lock_timeout="), "{err}");
    assert!(err.to_string().contains("RUSTHOOK_LOCK_TIMEOUT"), "{err}");
    // The holder's start is kept in whole seconds: a second boundary may pass.
    let holder = |age: u32| {
        format!(
            "held by process {} (building fast), for {age} s.",
            std::process::id()
        )
    };
    let text = err.to_string();
    assert!(
        text.contains(&holder(0)) || text.contains(&holder(1)),
        "{err}"
    );
    drop(first);
    let (_lock, waited) = acquire(&path, "fast", Duration::from_secs(1), &|| false).unwrap();
    assert!(!waited);
}

#[test]
fn durations_read_as_a_person_would_say_them() {
    assert_eq!(duration_text(45), "45 s");
    assert_eq!(duration_text(125), "2 min 5 s");
    assert_eq!(duration_text(3 * 3600 + 20 * 60 + 7), "3 h 20 min");
    assert_eq!(Holder::parse("not a note"), None);
    let old = Holder::parse("12 34").unwrap();
    assert_eq!((old.pid, old.host.as_str()), (12, ""));
}

#[test]
fn waiting_stops_when_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.lock");
    let _held = try_acquire(&path).unwrap().unwrap();
    let err = acquire(&path, "fast", Duration::from_secs(60), &|| true).unwrap_err();
    assert!(matches!(err, Error::Interrupted));
}

#[test]
fn waiter_gets_the_lock_when_the_holder_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.lock");
    let held = try_acquire(&path).unwrap().unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
    });
    let (_lock, waited) = acquire(&path, "fast", Duration::from_secs(5), &|| false).unwrap();
    assert!(waited);
    releaser.join().unwrap();
}

#[test]
fn an_exclusive_lock_file_is_held_released_and_taken_from_the_dead() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.held");
    let held = try_exclusive(&path, "fast").unwrap().expect("free lock");
    assert!(try_exclusive(&path, "fast").unwrap().is_none(), "we live");
    drop(held);
    assert!(!path.exists());

    // A process of this host that no longer runs (a child that has exited).
    let mut child = if cfg!(windows) {
        std::process::Command::new("cmd")
            .args(["/c", "exit"])
            .spawn()
    } else {
        std::process::Command::new("true").spawn()
    }
    .unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(&path, format!("{dead} 1 {} fast", host_name())).unwrap();
    let taken = try_exclusive(&path, "fast").unwrap().expect("dead holder");
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with(&format!("{} ", std::process::id())));
    drop(taken);

    // A process on another host is never presumed dead.
    std::fs::write(&path, format!("{dead} 1 elsewhere fast")).unwrap();
    assert!(try_exclusive(&path, "fast").unwrap().is_none());
    let holder = Holder::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        holder.describe().starts_with(&format!(
            "process {dead} on elsewhere (building fast), for "
        )),
        "{}",
        holder.describe()
    );
}
