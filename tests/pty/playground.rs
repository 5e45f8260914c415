//! End-to-end: the real binary in a pseudo-terminal, read back through a
//! terminal emulator (vt100). Type a prompt, see ghost text, press Enter, see
//! streamed text and the gate panels, resize (down to "too small" and back),
//! quit, and find the terminal restored (the shell's `stty -a` afterwards
//! shows canonical mode and echo back on). Also: a worker panic restores the
//! terminal and exits non-zero, and `play` without a terminal says what to do.

use gatescope::model::{save_checkpoint, CharLstm};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::worker::{self, WorkerCmd};
use gatescope::vocab::Vocab;
use portable_pty::PtySize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_gatescope");
const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";
const WAIT: Duration = Duration::from_secs(30);

fn checkpoint(dir: &Path) -> PathBuf {
    let m = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 16, 2, 3);
    let p = dir.join("tiny.safetensors");
    save_checkpoint(&m, &Default::default(), &p).unwrap();
    p
}

/// The shell's view after the app: canonical mode and echo are back on.
fn assert_restored(screen: &str) {
    let tokens: Vec<&str> = screen.split_whitespace().collect();
    assert!(tokens.contains(&"icanon") && !tokens.contains(&"-icanon"), "canonical mode restored:\n{screen}");
    assert!(tokens.contains(&"echo") && !tokens.contains(&"-echo"), "echo restored:\n{screen}");
}

/// The playground in a shell that then shows its exit status and the
/// terminal's modes, and exits with the playground's status.
fn script(ck: &Path) -> String {
    format!("'{BIN}' play --checkpoint '{}'; s=$?; echo EXIT=$s; stty -a; exit $s", ck.display())
}

/// Ghost text: dim characters on the prompt line after the typed prompt.
fn has_ghost(s: &vt100::Screen, prompt_row: u16, after_col: u16) -> bool {
    let (_, cols) = s.size();
    (after_col..cols.saturating_sub(1)).any(|c| {
        s.cell(prompt_row, c)
            .is_some_and(|cell| cell.fgcolor() == vt100::Color::Idx(8) && !cell.contents().trim().is_empty())
    })
}

#[test]
fn type_preview_enter_stream_resize_quit() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let mut pty = Pty::spawn(&script(&ck), 30, 100, &[]);
    pty.wait_for("the playground", |s| s.alternate_screen() && s.contents().contains("prompt · live preview on"));
    pty.send("ROMEO:");
    // Prompt line is row 26 of 30 (inside its border); "ROMEO:" takes columns 1..=6.
    pty.wait_for("ghost text", |s| has_ghost(s, 26, 7));
    assert!(pty.row(26).contains("ROMEO:"));
    assert!(pty.contents().contains("output · preview"));
    pty.send("\r");
    pty.wait_for("a full continuation", |s| {
        let c = s.contents();
        !c.contains("output · preview") && c.contains("│ idle │") && c.contains("t=505)")
    });
    let screen = pty.contents();
    // At 100 columns the status has no room for the model's sizes (the
    // gates panel's title gives them); at 120 it has.
    for panel in ["i input", "f forget", "o output", "cell-state norm", "next char after", "tiny.safetensors │ idle"]
    {
        assert!(screen.contains(panel), "{panel} is on screen:\n{screen}");
    }
    assert!(screen.matches('▀').count() > 200, "the heatmaps are drawn");
    let ghost_gone = !has_ghost(pty.parser.lock().unwrap().screen(), 26, 7);
    assert!(ghost_gone, "no ghost after a full run");
    // Resize bigger, then too small, then back.
    pty.resize(40, 120);
    pty.wait_for("the layout at 120x40", |s| s.contents_between(38, 0, 38, 120).contains("T 0.80"));
    assert!(pty.row(38).contains("tiny.safetensors │ 2×16"), "the sizes at 120 columns: {}", pty.row(38));
    pty.resize(20, 60);
    pty.wait_for("the too-small message", |s| s.contents().contains("terminal too small: 60×20"));
    pty.resize(1, 1);
    std::thread::sleep(Duration::from_millis(100));
    pty.resize(30, 100);
    pty.wait_for("the layout back at 100x30", |s| s.contents_between(28, 0, 28, 100).contains("T 0.80"));
    // Ctrl-C quits (q would type into the non-empty prompt).
    pty.send("\x03");
    pty.wait_for("the shell after exit", |s| s.contents().contains("EXIT=0") && s.contents().contains("icanon"));
    let st = pty.wait_exit();
    assert!(st.success());
    let screen = pty.contents();
    assert!(!pty.parser.lock().unwrap().screen().alternate_screen(), "left the alternate screen");
    assert_restored(&screen);
}

#[test]
fn q_quits_on_an_empty_prompt_and_an_edit_storm_ends_on_the_last_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let mut pty = Pty::spawn(&script(&ck), 30, 100, &[]);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    // 1,000 edits: every intermediate prompt starts "ROM"; the last is "RO:".
    let mut storm = String::from("RO");
    for _ in 0..500 {
        storm.push_str("M\x7f");
    }
    storm.push(':');
    pty.send(&storm);
    pty.wait_for("the preview of the last prompt", |s| has_ghost(s, 26, 4));
    pty.wait_for("the preview to finish", |s| s.contents().contains("│ idle │"));
    assert!(pty.row(1).starts_with("│RO:"), "the output is for the last prompt:\n{}", pty.contents());
    // Empty the prompt, then q quits.
    pty.send("\x15");
    pty.wait_for("an empty prompt", |s| {
        s.contents_between(26, 0, 26, 100).trim_matches(|c| c == '│' || c == ' ').is_empty()
    });
    pty.send("q");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=0") && s.contents().contains("icanon"));
    assert_restored(&pty.contents());
}

/// A terminal without bracketed paste (or `tmux send-keys`) delivers a
/// paste as plain keystrokes in one burst. All 3,500 arrive (the preview of
/// the whole prompt ends at t = 3500 + 120 − 1), and Enter after them
/// generates (500 more: t=3999).
#[test]
fn an_unbracketed_paste_arrives_whole_and_enter_generates() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let mut pty = Pty::spawn(&script(&ck), 30, 100, &[]);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    let paste: String = "But soft what light ".chars().cycle().take(3500).collect();
    pty.send(&paste);
    pty.wait_for("the preview of the whole paste", |s| s.contents().contains("(t=3619)"));
    pty.send("\r");
    pty.wait_for("a continuation after the paste", |s| {
        let c = s.contents();
        c.contains("│ idle │") && c.contains("(t=3999)")
    });
    pty.send("\x03");
    assert!(pty.wait_exit().success());
}

#[test]
fn a_worker_panic_restores_the_terminal_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let mut pty = Pty::spawn(&script(&ck), 30, 100, &[("GATESCOPE_FAULT", "worker-panic")]);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    pty.send("ROMEO:\r");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=") && s.contents().contains("icanon"));
    let screen = pty.contents();
    assert!(screen.contains("EXIT=1"), "non-zero exit:\n{screen}");
    assert!(
        screen.contains("the model worker crashed") && screen.contains("GATESCOPE_FAULT"),
        "a useful message:\n{screen}"
    );
    assert!(!pty.parser.lock().unwrap().screen().alternate_screen());
    assert_restored(&screen);
    assert_eq!(pty.wait_exit().exit_code(), 1, "the shell passes the playground's status on");
}

#[test]
fn a_ui_panic_restores_the_terminal_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let mut pty = Pty::spawn(&script(&ck), 30, 100, &[("GATESCOPE_FAULT", "ui-panic")]);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    pty.send("ROMEO:");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=") && s.contents().contains("icanon"));
    let screen = pty.contents();
    // 101 is Rust's panic status; a signal (139) would mean main left while
    // the worker was still inside libtorch.
    assert!(screen.contains("EXIT=101"), "a panic's exit status:\n{screen}");
    assert!(screen.contains("GATESCOPE_FAULT=ui-panic"), "the panic message is shown:\n{screen}");
    assert!(!pty.parser.lock().unwrap().screen().alternate_screen());
    assert_restored(&screen);
    pty.wait_exit();
}

#[test]
fn play_without_a_terminal_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let out = std::process::Command::new(BIN)
        .args(["play", "--checkpoint"])
        .arg(&ck)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `gatescope play` in a terminal") && err.contains("gatescope generate"), "{err}");
    // The same through a real pipe: `gatescope play | cat`, its own exit
    // status passed on (PIPESTATUS is bash's: under sh, dash, it is unset).
    let out = std::process::Command::new("bash")
        .args(["-c", &format!("'{BIN}' play --checkpoint '{}' | cat; exit ${{PIPESTATUS[0]}}", ck.display())])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert_eq!(out.status.code(), Some(1), "gatescope's status through the pipe; stderr: {err}");
}

#[test]
fn a_bad_checkpoint_is_a_plain_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    let mut pty = Pty::spawn(&format!("'{BIN}' play --checkpoint '{}'; echo EXIT=$?", bad.display()), 30, 100, &[]);
    pty.wait_for("exit", |s| s.contents().contains("EXIT="));
    let screen = pty.contents();
    assert!(screen.contains("EXIT=1") && screen.contains("bad.safetensors"), "{screen}");
    pty.wait_exit();
}

fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64 / 1e6
}

/// 1,000,000 characters through the worker into the App: once the ring is
/// full, resident memory stays flat. Takes a minute or so:
/// `cargo test --release --test tui_e2e -- --ignored long_run --nocapture`
#[test]
#[ignore]
fn long_run_keeps_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let (cmd, _h) = worker::spawn(Some(ck), tx).unwrap();
    let Event::Worker(WorkerEvent::Loaded(info)) = rx.recv_timeout(WAIT).unwrap() else { panic!("no model") };
    let mut app = gatescope::tui::app::App::new(info);
    let total = 1_000_000usize;
    let id = 1;
    cmd.send(WorkerCmd::Start { id, prompt: "ROMEO:".into(), length: total, sampling: Default::default() }).unwrap();
    // The App would only take steps of its own active request; drive it as Enter would.
    for c in "ROMEO:".chars() {
        app.update(Event::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Char(c))));
    }
    let start_cmd =
        app.update(Event::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter)));
    let Some(WorkerCmd::Start { id: app_id, .. }) = start_cmd else { panic!() };
    let (mut n, mut mid, t0) = (0usize, 0.0, Instant::now());
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Event::Worker(WorkerEvent::Step { step, .. }) => {
                n += 1;
                app.update(Event::Worker(WorkerEvent::Step { id: app_id, step }));
                if n == 100_000 {
                    mid = rss_mb();
                }
            }
            Event::Worker(WorkerEvent::Done { id: 1 }) => break,
            _ => {}
        }
    }
    let end = rss_mb();
    println!(
        "long run: {n} steps in {:.1} s; RSS {mid:.1} MB at 100k steps, {end:.1} MB at {n}; ring {} steps",
        t0.elapsed().as_secs_f64(),
        app.run.steps.len()
    );
    assert_eq!(n, 6 + total);
    assert_eq!(app.run.steps.len(), app.run.capacity);
    assert!(end - mid < 16.0, "memory grew from {mid:.1} MB to {end:.1} MB");
}

/// `kill` (SIGTERM) restores the terminal too.
#[test]
fn sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let flag = dir.path().join("kill-now");
    let mut pty = Pty::spawn(
        &format!(
            "'{BIN}' play --checkpoint '{}' </dev/tty & p=$!; while [ ! -f '{}' ]; do sleep 0.05; done; kill $p; wait $p; echo EXIT=$?; stty -a",
            ck.display(),
            flag.display()
        ),
        30,
        100,
        &[],
    );
    pty.wait_for("the playground", |s| s.alternate_screen() && s.contents().contains("prompt · live preview on"));
    std::fs::write(&flag, b"").unwrap();
    pty.wait_for("exit", |s| s.contents().contains("EXIT=") && s.contents().contains("icanon"));
    let screen = pty.contents();
    assert!(screen.contains("stopped by SIGTERM") && screen.contains("EXIT=1"), "{screen}");
    assert_restored(&screen);
    pty.wait_exit();
}

/// The step the next-char panel names: "next char after X (t=N)".
fn newest_step(screen: &str) -> Option<usize> {
    let at = screen.find("(t=")? + 3;
    screen[at..].split(')').next()?.parse().ok()
}

#[test]
fn a_resize_storm_while_streaming_leaves_a_correct_layout() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let mut pty = Pty::spawn(&script(&ck), 30, 100, &[]);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    // A long continuation (500 doubled nine times, 256,000 characters) so the
    // storm lands mid-stream and streaming outlasts it even on a busy machine.
    pty.send("\x1b+\x1b+\x1b+\x1b+\x1b+\x1b+\x1b+\x1b+\x1b+");
    pty.send("ROMEO:\r");
    pty.wait_for("streaming", |s| s.contents().contains("generating") && newest_step(&s.contents()).is_some());
    let before_storm = newest_step(&pty.contents()).unwrap();
    // The app sees every size; the parser (vt100, which panics when handed a
    // frame drawn for another size) keeps one grid big enough for all of them.
    pty.parser.lock().unwrap().screen_mut().set_size(60, 200);
    let sizes = [(1, 1), (24, 80), (5, 200), (60, 20), (2, 2), (48, 160), (24, 79), (30, 101)];
    for i in 0..120 {
        let (r, c) = sizes[i % sizes.len()];
        pty.master.resize(PtySize { rows: r, cols: c, pixel_width: 0, pixel_height: 0 }).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    pty.resize(30, 100);
    pty.wait_for("the layout back at 100x30", |s| {
        let c = s.contents();
        c.contains("T 0.80") && c.contains("i input") && c.contains("cell-state norm")
    });
    // Streaming went on through the storm and goes on after it: the step
    // the next-char panel describes keeps advancing.
    let after_storm = newest_step(&pty.contents()).expect("a step on screen");
    assert!(after_storm > before_storm, "no step streamed during the storm ({before_storm} → {after_storm})");
    pty.wait_for("more steps after the storm", |s| {
        newest_step(&s.contents()).is_some_and(|t| t > after_storm) && s.contents().contains("generating")
    });
    pty.send("\x1b");
    pty.send("\x03");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=0") && s.contents().contains("icanon"));
    assert!(pty.wait_exit().success(), "no panic through the storm");
}

/// Ctrl-C while the worker is inside libtorch reading a long prompt: the app
/// waits for the worker's current chunk before leaving main, so the exit is
/// clean (status 0) rather than a SIGSEGV from libtorch's static destructors
/// running under the call. The shipped 2x512 model makes a chunk long
/// enough (about 150 ms) for Ctrl-C to land inside one.
#[test]
fn ctrl_c_while_a_long_prompt_is_read_exits_cleanly() {
    for _ in 0..2 {
        let text: String = include_str!("../../data/tinyshakespeare.txt").chars().take(5000).collect();
        let mut pty = Pty::spawn(&format!("'{BIN}' play; s=$?; echo EXIT=$s; stty -a; exit $s"), 30, 100, &[]);
        pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
        pty.send(&format!("\x1b[200~{text}\x1b[201~\r"));
        std::thread::sleep(Duration::from_millis(300));
        pty.send("\x03");
        pty.wait_for("exit", |s| s.contents().contains("EXIT=") && s.contents().contains("icanon"));
        let screen = pty.contents();
        assert!(screen.contains("EXIT=0"), "a clean exit:\n{screen}");
        assert_restored(&screen);
        pty.wait_exit();
    }
}
