//! What a running build shows, and how it is cancelled. The caller (the Python binding)
//! provides an [`BuildObserver`]: a way to write to the user's stderr and to ask
//! whether the user pressed Ctrl-C. What is written, and how often, is decided here.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a running build reaches the user, and is cancelled by them.
pub trait BuildObserver: Sync {
    /// True when the user asked to stop (Ctrl-C); the build is then killed.
    fn interrupted(&self) -> bool;
    /// Writes `text` to the user's stderr as it is.
    fn write(&self, text: &str);
    /// Whether that stderr is a terminal, where a progress bar can be redrawn in place.
    fn is_terminal(&self) -> bool;
}

/// An observer that shows nothing and never interrupts (tests, background builds).
pub struct Silent;

impl BuildObserver for Silent {
    fn interrupted(&self) -> bool {
        false
    }
    fn write(&self, _text: &str) {}
    fn is_terminal(&self) -> bool {
        false
    }
}

/// How often a line of progress is logged where no bar can be redrawn.
const LINE_INTERVAL: Duration = Duration::from_secs(1);

/// A build tool's stderr as the user sees it. `quiet` shows nothing.
pub struct Progress<'a> {
    observer: &'a dyn BuildObserver,
    quiet: bool,
    bar: Mutex<BarState>,
}

#[derive(Default)]
struct BarState {
    /// A bar is on screen (a terminal): the next line must clear it first.
    drawn: bool,
    last_line: Option<Instant>,
}

impl<'a> Progress<'a> {
    pub fn new(observer: &'a dyn BuildObserver, quiet: bool) -> Self {
        Progress {
            observer,
            quiet,
            bar: Mutex::new(BarState::default()),
        }
    }

    pub fn interrupted(&self) -> bool {
        self.observer.interrupted()
    }

    /// One line of the tool's output: a status line (`Compiling pyo3 v0.30.1`) or part
    /// of the compiler's diagnostics. Diagnostics are shown as they come only on a
    /// terminal; elsewhere (logs, CI, notebooks) they are shown once, at the end: in
    /// the error of a failed build, or after a build that succeeded with warnings.
    pub fn line(&self, line: &str, is_status: bool) {
        if self.quiet || !(is_status || self.observer.is_terminal()) {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        let clear = if std::mem::take(&mut bar.drawn) {
            "\r\x1b[K"
        } else {
            ""
        };
        self.observer.write(&format!("{clear}{line}\n"));
    }

    /// True when the diagnostics have been shown as they came (see [`Progress::line`]).
    pub fn diagnostics_shown(&self) -> bool {
        !self.quiet && self.observer.is_terminal()
    }

    /// A build succeeded: its warnings, if they were not shown as they came, now.
    pub fn succeeded(&self, diagnostics: &str) {
        if !self.quiet && !self.diagnostics_shown() && !diagnostics.is_empty() {
            self.observer.write(&format!("{diagnostics}\n"));
        }
    }

    /// A status the tool redraws in place that is not the build bar: cargo's
    /// `Downloading 3 crates, remaining bytes: …` counter. On a terminal it is redrawn
    /// like the bar; elsewhere it is left out, since each finished download is a line
    /// of its own (`Downloaded itoa v1.0.15`): one line per event, not one per tick.
    pub fn redrawn(&self, text: &str) {
        if self.quiet || !self.observer.is_terminal() {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        bar.drawn = true;
        self.observer.write(&format!("\r\x1b[K{text}"));
    }

    /// Cargo's progress bar moved: `done` of `total` units built; `text` is the bar.
    /// On a terminal the bar is redrawn in place; elsewhere (logs, CI, notebooks) a
    /// `compiling k/n crates` record is logged at most once a second.
    pub fn bar(&self, done: usize, total: usize, text: &str) {
        if self.quiet {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if self.observer.is_terminal() {
            bar.drawn = true;
            self.observer.write(&format!("\r\x1b[K{text}"));
        } else if bar.last_line.is_none_or(|t| t.elapsed() >= LINE_INTERVAL) {
            bar.last_line = Some(Instant::now());
            // rusthook's own line (cargo's bar is not): it goes through the log.
            log::info!(target: "rusthook.progress", "compiling {done}/{total} crates");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recorder {
        terminal: bool,
        written: Mutex<String>,
    }

    impl BuildObserver for Recorder {
        fn interrupted(&self) -> bool {
            false
        }
        fn write(&self, text: &str) {
            self.written.lock().unwrap().push_str(text);
        }
        fn is_terminal(&self) -> bool {
            self.terminal
        }
    }

    fn recorder(terminal: bool) -> Recorder {
        Recorder {
            terminal,
            written: Mutex::new(String::new()),
        }
    }

    #[test]
    fn without_a_terminal_diagnostics_wait_for_the_end_and_status_lines_do_not() {
        let observer = recorder(false);
        let progress = Progress::new(&observer, false);
        progress.line("   Compiling pyo3", true);
        progress.line("warning: unused variable", false);
        assert_eq!(*observer.written.lock().unwrap(), "   Compiling pyo3\n");
        assert!(!progress.diagnostics_shown());
        progress.succeeded("warning: unused variable");
        assert_eq!(
            *observer.written.lock().unwrap(),
            "   Compiling pyo3\nwarning: unused variable\n"
        );
    }

    #[test]
    fn on_a_terminal_the_bar_is_redrawn_and_cleared_before_a_line() {
        let observer = recorder(true);
        let progress = Progress::new(&observer, false);
        progress.bar(1, 10, "[=>  ] 1/10");
        progress.line("warning: x", false);
        assert_eq!(
            *observer.written.lock().unwrap(),
            "\r\x1b[K[=>  ] 1/10\r\x1b[Kwarning: x\n"
        );
        assert!(progress.diagnostics_shown());
        progress.succeeded("warning: x");
        assert!(observer
            .written
            .lock()
            .unwrap()
            .ends_with("\r\x1b[Kwarning: x\n"));
    }

    #[test]
    fn download_counter_is_redrawn_on_a_terminal_and_left_out_elsewhere() {
        let observer = recorder(false);
        let progress = Progress::new(&observer, false);
        progress.redrawn("  Downloading 1 crate");
        progress.line("   Downloaded itoa v1.0.15", true);
        progress.redrawn("  Downloading 2 crates");
        assert_eq!(
            *observer.written.lock().unwrap(),
            "   Downloaded itoa v1.0.15\n"
        );
        let observer = recorder(true);
        let progress = Progress::new(&observer, false);
        progress.redrawn("  Downloading 1 crate");
        progress.line("   Downloaded itoa v1.0.15", true);
        assert_eq!(
            *observer.written.lock().unwrap(),
            "\r\x1b[K  Downloading 1 crate\r\x1b[K   Downloaded itoa v1.0.15\n"
        );
    }

    #[test]
    fn quiet_shows_nothing() {
        let observer = recorder(true);
        let progress = Progress::new(&observer, true);
        progress.bar(1, 10, "[=>  ] 1/10");
        progress.line("warning: x", false);
        progress.succeeded("warning: x");
        assert!(observer.written.lock().unwrap().is_empty());
        assert!(!progress.diagnostics_shown());
    }
}
