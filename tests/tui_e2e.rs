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
use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gatescope");
const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";
const WAIT: Duration = Duration::from_secs(30);

fn checkpoint(dir: &Path) -> PathBuf {
    let m = CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 16, 2, 3);
    let p = dir.join("tiny.safetensors");
    save_checkpoint(&m, &Default::default(), &p).unwrap();
    p
}

struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

impl Pty {
    /// Run `script` under `sh -c` in a rows x cols pty.
    fn spawn(script: &str, rows: u16, cols: u16, env: &[(&str, &str)]) -> Pty {
        let pair = native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
        let mut cmd = CommandBuilder::new("sh");
        cmd.args(["-c", script]);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("RUST_BACKTRACE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let p = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().unwrap();
        Pty { parser, master: pair.master, writer, child }
    }

    fn send(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn contents(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn row(&self, r: u16) -> String {
        let p = self.parser.lock().unwrap();
        let (_, cols) = p.screen().size();
        p.screen().contents_between(r, 0, r, cols)
    }

    fn wait_for(&self, what: &str, cond: impl Fn(&vt100::Screen) -> bool) {
        let t0 = Instant::now();
        loop {
            if cond(self.parser.lock().unwrap().screen()) {
                return;
            }
            if t0.elapsed() > WAIT {
                panic!("timed out waiting for {what}; screen:\n{}", self.contents());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn resize(&self, rows: u16, cols: u16) {
        self.parser.lock().unwrap().screen_mut().set_size(rows, cols);
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if t0.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!("the process did not exit; screen:\n{}", self.contents());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The shell's view after the app: canonical mode and echo are back on.
fn assert_restored(screen: &str) {
    let tokens: Vec<&str> = screen.split_whitespace().collect();
    assert!(tokens.contains(&"icanon") && !tokens.contains(&"-icanon"), "canonical mode restored:\n{screen}");
    assert!(tokens.contains(&"echo") && !tokens.contains(&"-echo"), "echo restored:\n{screen}");
}

fn script(ck: &Path) -> String {
    format!("'{BIN}' play --checkpoint '{}'; echo EXIT=$?; stty -a", ck.display())
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
    for panel in ["i input", "f forget", "o output", "cell-state norm", "next char after", "tiny.safetensors · 2×16"]
    {
        assert!(screen.contains(panel), "{panel} is on screen:\n{screen}");
    }
    assert!(screen.matches('▀').count() > 200, "the heatmaps are drawn");
    let ghost_gone = !has_ghost(pty.parser.lock().unwrap().screen(), 26, 7);
    assert!(ghost_gone, "no ghost after a full run");
    // Resize bigger, then too small, then back.
    pty.resize(40, 120);
    pty.wait_for("the layout at 120x40", |s| s.contents_between(38, 0, 38, 120).contains("T 0.80"));
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
    assert!(!pty.wait_exit().success() || screen.contains("EXIT=1"));
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
    assert!(!screen.contains("EXIT=0"), "non-zero exit:\n{screen}");
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
    // The same through a real pipe: `gatescope play | cat`.
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("'{BIN}' play --checkpoint '{}' | cat; exit ${{PIPESTATUS:-0}}", ck.display())])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
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

/// The worker itself: a storm of 1,000 requests leaves exactly one
/// generation, for the last one; no step of another request follows its first step.
#[test]
fn worker_storm_runs_only_the_last_request() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let (cmd, _h) = worker::spawn(Some(ck), tx).unwrap();
    match rx.recv_timeout(WAIT).unwrap() {
        Event::Worker(WorkerEvent::Loaded(i)) => assert_eq!(i.hidden, 16),
        other => panic!("{other:?}"),
    }
    let sampling = Default::default();
    for id in 1..=1000u64 {
        let prompt = if id == 1000 { "RO:".to_string() } else { format!("ROM{}", "E".repeat((id % 7) as usize)) };
        cmd.send(WorkerCmd::Start { id, prompt, length: 200, sampling }).unwrap();
    }
    let mut last_steps = 0;
    let mut seen_last = false;
    let t0 = Instant::now();
    loop {
        let ev = rx.recv_timeout(WAIT).expect("the worker keeps talking");
        match ev {
            Event::Worker(WorkerEvent::Step { id, step }) => {
                if id == 1000 {
                    if last_steps < 3 {
                        assert_eq!(step.ch, "RO:".chars().nth(last_steps).unwrap());
                    }
                    seen_last = true;
                    last_steps += 1;
                } else {
                    assert!(!seen_last, "a step of request {id} after the last request began");
                }
            }
            Event::Worker(WorkerEvent::Done { id: 1000 }) => break,
            Event::Worker(WorkerEvent::Done { .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(t0.elapsed() < WAIT);
    }
    assert_eq!(last_steps, 3 + 200, "the last request ran whole");
    // Pause holds, Resume continues, Stop ends with Done.
    cmd.send(WorkerCmd::Start { id: 1001, prompt: "RO".into(), length: 1_000_000, sampling }).unwrap();
    cmd.send(WorkerCmd::Pause).unwrap();
    // Drain until quiet (the worker acts on Pause within one step, however
    // loaded the machine); a worker that never pauses fails here.
    let t0 = Instant::now();
    while rx.recv_timeout(Duration::from_millis(300)).is_ok() {
        assert!(t0.elapsed() < WAIT, "the worker never paused");
    }
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "nothing while paused");
    cmd.send(WorkerCmd::Resume).unwrap();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::Step { id: 1001, .. })));
    cmd.send(WorkerCmd::Stop).unwrap();
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Event::Worker(WorkerEvent::Done { id: 1001 }) => break,
            Event::Worker(WorkerEvent::Step { id: 1001, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    // A bad Load keeps the model: the next Start still runs.
    cmd.send(WorkerCmd::Load(dir.path().join("missing.safetensors"))).unwrap();
    assert!(
        matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::LoadFailed(m)) if m.contains("missing.safetensors"))
    );
    cmd.send(WorkerCmd::Start { id: 1002, prompt: "R".into(), length: 1, sampling }).unwrap();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::Step { id: 1002, .. })));
    cmd.send(WorkerCmd::Shutdown).unwrap();
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
    let mut app = gatescope::tui::app::App::new();
    app.update(rx.recv_timeout(WAIT).unwrap());
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
        app.steps.len()
    );
    assert_eq!(n, 6 + total);
    assert_eq!(app.steps.len(), app.capacity);
    assert!(end - mid < 16.0, "memory grew from {mid:.1} MB to {end:.1} MB");
}

/// A huge pasted prompt is read in chunks: steps stream out in order, and a
/// new request interrupts it between chunks.
#[test]
fn worker_reads_a_long_prompt_in_interruptible_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let (cmd, _h) = worker::spawn(Some(ck), tx).unwrap();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::Loaded(_))));
    let sampling = Default::default();
    let long: String = TEXT.chars().cycle().take(3000).collect();
    cmd.send(WorkerCmd::Start { id: 1, prompt: long.clone(), length: 5, sampling }).unwrap();
    let mut ts = Vec::new();
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Event::Worker(WorkerEvent::Step { id: 1, step }) => {
                if step.is_prompt {
                    assert_eq!(step.ch, long.chars().nth(step.t).unwrap());
                }
                ts.push(step.t)
            }
            Event::Worker(WorkerEvent::Done { id: 1 }) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ts, (0..3005).collect::<Vec<_>>());
    // Interrupt a very long prompt with a new request.
    let huge: String = TEXT.chars().cycle().take(400_000).collect();
    cmd.send(WorkerCmd::Start { id: 2, prompt: huge, length: 5, sampling }).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    cmd.send(WorkerCmd::Start { id: 3, prompt: "RO".into(), length: 5, sampling }).unwrap();
    let t0 = Instant::now();
    let mut n2 = 0;
    let mut n3 = 0;
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Event::Worker(WorkerEvent::Step { id: 2, .. }) => n2 += 1,
            Event::Worker(WorkerEvent::Step { id: 3, .. }) => n3 += 1,
            Event::Worker(WorkerEvent::Done { id: 3 }) => break,
            Event::Worker(WorkerEvent::Done { id: 2 }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(n3, 7);
    assert!(n2 < 400_000, "the long prompt was interrupted ({n2} steps)");
    assert!(t0.elapsed() < Duration::from_secs(20));
    cmd.send(WorkerCmd::Shutdown).unwrap();
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

#[test]
fn a_resize_storm_while_streaming_leaves_a_correct_layout() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let mut pty = Pty::spawn(&script(&ck), 30, 100, &[]);
    pty.wait_for("the playground", |s| s.contents().contains("prompt · live preview on"));
    // A long continuation (500 doubled five times) so the storm lands mid-stream.
    pty.send("\x1b+\x1b+\x1b+\x1b+\x1b+");
    pty.send("ROMEO:\r");
    pty.wait_for("streaming", |s| s.contents().contains("generating"));
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
    pty.send("\x1b");
    pty.send("\x03");
    pty.wait_for("exit", |s| s.contents().contains("EXIT=0") && s.contents().contains("icanon"));
    assert!(pty.wait_exit().success(), "no panic through the storm");
}

/// Typing at the end of the prompt reuses what was read; the steps (and a
/// greedy continuation) equal a fresh read of the whole prompt. A deletion
/// reads afresh and matches too.
#[test]
fn extending_the_prompt_reuses_its_state_and_matches_a_fresh_read() {
    use gatescope::generate::Generator;
    use gatescope::model::sample::Sampling;
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let model = gatescope::model::load_checkpoint(&ck).unwrap().model;
    let (tx, rx) = std::sync::mpsc::channel();
    let (cmd, _h) = worker::spawn(Some(ck), tx).unwrap();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::Loaded(_))));
    let greedy = Sampling { temperature: 0.0, ..Default::default() };
    let run = |id: u64, prompt: &str, length: usize| -> Vec<gatescope::generate::Step> {
        cmd.send(WorkerCmd::Start { id, prompt: prompt.into(), length, sampling: greedy }).unwrap();
        let mut steps = Vec::new();
        loop {
            match rx.recv_timeout(WAIT).unwrap() {
                Event::Worker(WorkerEvent::Step { id: i, step }) if i == id => steps.push(*step),
                Event::Worker(WorkerEvent::Done { id: i }) if i == id => return steps,
                Event::Worker(WorkerEvent::Done { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
    };
    let fresh = |prompt: &str, length: usize| {
        let mut g = Generator::new(&model, greedy);
        let mut steps = g.feed_prompt(prompt).unwrap();
        steps.extend((0..length).map(|_| g.generate_step().unwrap()));
        steps
    };
    let same = |a: &[gatescope::generate::Step], b: &[gatescope::generate::Step]| {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!((x.t, x.ch, x.is_prompt), (y.t, y.ch, y.is_prompt));
            for (lx, ly) in x.layers.iter().zip(&y.layers) {
                let d =
                    lx.i.iter()
                        .chain(&lx.f)
                        .chain(&lx.c)
                        .zip(ly.i.iter().chain(&ly.f).chain(&ly.c))
                        .map(|(p, q)| (p - q).abs())
                        .fold(0.0, f32::max);
                assert!(d < 1e-5, "t={}: {d}", x.t);
            }
        }
    };
    let _ = run(1, "ROME", 10);
    same(&run(2, "ROMEO:", 40), &fresh("ROMEO:", 40));
    same(&run(3, "ROMEO:\nBut", 40), &fresh("ROMEO:\nBut", 40));
    same(&run(4, "ROM", 40), &fresh("ROM", 40));
    cmd.send(WorkerCmd::Shutdown).unwrap();
}
