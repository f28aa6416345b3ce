//! A build tool (cargo, `maturin develop`) run as a process tree of its own: its stderr
//! shown as progress (cargo's bar as progress events), its diagnostics kept, the whole
//! tree stopped when the user interrupts or the caller abandons the build.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::machinery::progress::Progress;
use crate::platform::ProcessTree;

/// Runs another build tool (`maturin develop`) as cargo is run: its stderr shown as
/// progress, Ctrl-C honoured. Returns its exit status and its diagnostics.
pub fn run_tool(
    mut command: Command,
    program: &str,
    progress: &Progress,
) -> Result<(ExitStatus, String)> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = spawn(command, program)?;
    supervise(child, program, progress, &[], &|| false)
}

/// Starts a build tool as a process tree of its own (a process group, a Job Object on
/// Windows), so that an interrupted build can be stopped whole: the tool and every
/// rustc, build script and linker it started.
pub(super) fn spawn(mut command: Command, program: &str) -> Result<(Child, ProcessTree)> {
    ProcessTree::prepare(&mut command);
    log::debug!(target: "rusthook.cargo", "running {command:?}");
    let child = command
        .spawn()
        .map_err(|error| Error::tool_missing(program, error))?;
    let tree = ProcessTree::adopt(&child);
    Ok((child, tree))
}

/// Shows a running tool's stderr as progress (cargo's bar as progress events), keeps
/// its diagnostics (status lines left out), and kills it when the user interrupts.
/// `aliases` rename generated copies to the user's files in every line. When `abandon`
/// says so, the tool is stopped (its exit status then says it failed).
pub(super) fn supervise(
    (mut child, tree): (Child, ProcessTree),
    program: &str,
    progress: &Progress,
    aliases: &[(String, String)],
    abandon: &dyn Fn() -> bool,
) -> Result<(ExitStatus, String)> {
    let (line_sender, lines) = mpsc::channel::<StderrLine>();
    let stderr = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || {
        if let Some(stderr) = stderr {
            let mut reader = BufReader::new(stderr);
            let mut chunk = Vec::new();
            // A redrawn status (cargo's bars) ends in `\r`, other lines in `\n`.
            while let Ok(read) = reader.read_until(b'\r', &mut chunk) {
                if read == 0 {
                    return;
                }
                let mut redrawn = chunk.last() == Some(&b'\r');
                // `\r\n` (a Windows line end) ends a line, not a redrawn status.
                if redrawn
                    && reader
                        .fill_buf()
                        .is_ok_and(|next| next.first() == Some(&b'\n'))
                {
                    reader.consume(1);
                    chunk.pop();
                    chunk.push(b'\n');
                    redrawn = false;
                }
                for line in split_stderr_chunk(&String::from_utf8_lossy(&chunk), redrawn) {
                    if line_sender.send(line).is_err() {
                        return;
                    }
                }
                chunk.clear();
            }
        }
    });
    let mut diagnostics = String::new();
    loop {
        match lines.recv_timeout(Duration::from_millis(50)) {
            Ok(StderrLine { mut text, redrawn }) => {
                for (copy, original) in aliases {
                    if text.contains(copy.as_str()) {
                        text = text.replace(copy.as_str(), original);
                    }
                }
                if let Some((done, total)) = parse_progress_bar(&text) {
                    progress.bar(done, total, text.trim_end());
                    continue;
                }
                if redrawn {
                    // Another redrawn status: cargo's `Downloading 3 crates, remaining
                    // bytes: …` counter. Each finished download is a line of its own.
                    progress.redrawn(text.trim_end());
                    continue;
                }
                let is_status = is_status_line(&text);
                progress.line(text.trim_end(), is_status);
                if !is_status {
                    diagnostics.push_str(text.trim_end());
                    diagnostics.push('\n');
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if progress.interrupted() {
            tree.kill();
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Interrupted);
        }
        if abandon() {
            tree.kill();
            let _ = child.kill();
            let status = child
                .wait()
                .map_err(|error| Error::tool_missing(program, error))?;
            return Ok((status, diagnostics));
        }
    }
    let _ = stderr_reader.join();
    let status = child
        .wait()
        .map_err(|error| Error::tool_missing(program, error))?;
    Ok((status, diagnostics.trim_end().to_string()))
}

/// One line of a tool's stderr; `redrawn` when it ended in `\r` (a status drawn over
/// in place), not `\n`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct StderrLine {
    pub(super) text: String,
    pub(super) redrawn: bool,
}

/// The lines of one `\r`-terminated (`redrawn`) or final chunk of stderr: every line
/// but the last ended in `\n`; blank ones (cargo clearing its bar) are dropped.
pub(super) fn split_stderr_chunk(chunk: &str, redrawn: bool) -> Vec<StderrLine> {
    let chunk = chunk.strip_suffix('\r').unwrap_or(chunk);
    let ends_in_newline = chunk.ends_with('\n');
    let parts: Vec<&str> = chunk.split('\n').collect();
    let last = parts.len() - 1;
    parts
        .into_iter()
        .enumerate()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(i, text)| StderrLine {
            text: text.to_string(),
            redrawn: redrawn && i == last && !ends_in_newline,
        })
        .collect()
}

/// `    Building [=====>    ] 12/28: pyo3, libc` -> `(12, 28)`.
pub fn parse_progress_bar(line: &str) -> Option<(usize, usize)> {
    let rest = line.trim_start().strip_prefix("Building [")?;
    let (_, counts) = rest.split_once("] ")?;
    let counts = counts.split(':').next()?;
    let (done, total) = counts.split_once('/')?;
    Some((done.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// Cargo's own status lines (`   Compiling pyo3 v0.30.1`): progress, not diagnostics.
pub fn is_status_line(line: &str) -> bool {
    const STATUSES: [&str; 16] = [
        "Compiling",
        "Checking",
        "Finished",
        "Updating",
        "Locking",
        "Downloading",
        "Downloaded",
        "Blocking",
        "Adding",
        "Fresh",
        "Running",
        "Updated",
        "Removing",
        "Unpacking",
        "Building",
        "Dirty",
    ];
    line.starts_with(' ')
        && line
            .split_whitespace()
            .next()
            .is_some_and(|word| STATUSES.contains(&word))
}
