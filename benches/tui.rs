//! Playground speed, one line per figure (median of several runs):
//!   frame_ms_median=          full frame at 200x60, 2,000 steps of history, 2x512 model
//!   frame_ms_median_all_panels= the same with g, |h| and cell colouring on
//!   keystroke_to_ghost_ms_median= real binary in a pty: keystroke -> first ghost character
//!   prompt1000_extended_by_one_ms_median=, prompt1000_edited_in_the_middle_ms_median=,
//!   prompt1000_read_afresh_ms_median= the worker alone: a cached 1,000-character prompt
//!                             extended, edited at character 500, changed at its start
//!   edit_middle_to_ghost_ms_median= real binary in a pty: a Backspace or a paste in the middle
//!                             of a 1,000-character prompt -> its first ghost character
//!   edit_start_to_ghost_ms_median= the same at the prompt's start (all of it read again)
//!   idle_cpu_s=               CPU seconds the process uses over 10 s idle (/proc/PID/stat)
//! The latency uses GATESCOPE_BENCH_CHECKPOINT, or a random 2x512 model saved to a temp file,
//! and GATESCOPE_BENCH_BIN, or this build's binary.
//! Run: cargo bench --bench tui

use gatescope::generate::Generator;
use gatescope::model::{save_checkpoint, CharLstm};
use gatescope::tui::app::App;
use gatescope::tui::event::{Event, ModelInfo, WorkerEvent};
use gatescope::tui::ui;
use gatescope::tui::worker::WorkerCmd;
use gatescope::vocab::Vocab;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The binary the pty figures run: this build's, or GATESCOPE_BENCH_BIN
/// (another build, to set two side by side on the same machine).
fn bin() -> String {
    std::env::var("GATESCOPE_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_gatescope").to_string())
}

fn charset() -> String {
    let mut s: String = (' '..='~').collect();
    s.push('\n');
    s
}

fn model() -> CharLstm {
    CharLstm::random(Vocab::from_text(&charset()).unwrap(), 64, 512, 2, 1)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn key(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn frame_bench(m: &CharLstm) -> (f64, f64) {
    let info = ModelInfo::new("random-2x512.safetensors", m, vec![]);
    let mut app = App::new(info);
    for c in "ROMEO:\n".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    let Some(WorkerCmd::Start { id, prompt, sampling, .. }) = app.update(key(KeyCode::Enter)) else {
        panic!("Enter starts")
    };
    let mut g = Generator::new(m, sampling);
    let mut n = 0;
    for s in g.feed_prompt(&prompt).unwrap() {
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
        n += 1;
    }
    while n < 2000 {
        let s = g.generate_step().unwrap();
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
        n += 1;
    }
    app.update(Event::Worker(WorkerEvent::Done { id }));
    assert_eq!(app.run.steps.len(), 2000);
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let mut time = |app: &App| {
        for _ in 0..5 {
            term.draw(|f| ui::draw(f, app)).unwrap();
        }
        let runs: Vec<f64> = (0..60)
            .map(|_| {
                let t = Instant::now();
                term.draw(|f| ui::draw(f, app)).unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median(runs)
    };
    let plain = time(&app);
    for c in ['g', 'h', 'm'] {
        app.update(Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)));
    }
    let all = time(&app);
    (plain, all)
}

// The end-to-end tests' harness; the bench uses only part of it.
#[allow(dead_code)]
#[path = "../tests/pty/harness.rs"]
mod pty;
use pty::Pty;

/// The playground on `ck` in a 30x100 pty, watched closely (latency is measured).
fn start(ck: &std::path::Path) -> Pty {
    let mut s = Pty::spawn(&format!("exec '{}' play --checkpoint '{}'", bin(), ck.display()), 30, 100, &[]);
    s.timeout = Duration::from_secs(60);
    s.poll = Duration::from_micros(200);
    s.wait_for("the playground", |sc| sc.contents().contains("prompt · live preview on"));
    s
}

/// The prompt line is row 26 of 30; column 1 is the first prompt character.
fn ghost_after(s: &vt100::Screen, typed: char, col: u16) -> bool {
    ghost_after_on(s, 26, typed, col)
}

fn ghost_after_on(s: &vt100::Screen, row: u16, typed: char, col: u16) -> bool {
    let me = s.cell(row, col);
    let next = s.cell(row, col + 1);
    matches!((me, next), (Some(a), Some(b)) if a.contents() == typed.to_string() && a.fgcolor() != vt100::Color::Idx(8) && b.fgcolor() == vt100::Color::Idx(8))
}

fn latency_and_idle(ck: &std::path::Path) -> (f64, f64) {
    let mut s = start(ck);
    let mut lat = Vec::new();
    for (i, c) in "abcdefghijklmnop".chars().enumerate() {
        std::thread::sleep(Duration::from_millis(400)); // quiet: each keystroke stands alone
        let t0 = Instant::now();
        s.send(&c.to_string());
        s.wait_for("ghost text", |sc| ghost_after(sc, c, 1 + i as u16));
        lat.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    // Idle: let the preview finish, then measure CPU time over 10 s, three times.
    s.wait_for("idle", |sc| sc.contents().contains(" idle │"));
    let pid = s.child.process_id().expect("a pid");
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = || -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // After the command name: state is field 3; utime and stime are fields 14 and 15.
        (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / ticks
    };
    std::thread::sleep(Duration::from_secs(1));
    let mut idle = Vec::new();
    for _ in 0..3 {
        let a = cpu();
        std::thread::sleep(Duration::from_secs(10));
        idle.push(cpu() - a);
    }
    s.send("\x03");
    let t0 = Instant::now();
    while s.child.try_wait().unwrap().is_none() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    (median(lat), median(idle))
}

/// Through the model worker, to the first generated step: a 1,000-character
/// prompt extended by one character (read from the state after the old
/// prompt), edited at character 500 (read from the mark before it), and
/// changed at its start (read afresh).
fn worker_prompt_ms(ck: &std::path::Path) -> (f64, f64, f64) {
    use gatescope::tui::worker;
    let (tx, rx) = std::sync::mpsc::channel();
    let (cmd, _h) = worker::spawn(Some(ck.to_path_buf()), tx).unwrap();
    let vocab = match rx.recv().unwrap() {
        Event::Worker(WorkerEvent::Loaded(info)) => info.vocab,
        other => panic!("{other:?}"),
    };
    let text: String =
        "ROMEO:\nBut soft, what light through yonder window breaks? ".chars().filter(|c| vocab.contains(c)).collect();
    let base: String = text.chars().cycle().take(1000).collect();
    let mut id = 0;
    let mut first_generated = |prompt: String| -> f64 {
        id += 1;
        let t0 = Instant::now();
        cmd.send(WorkerCmd::Start { id, prompt, length: 1, sampling: Default::default() }).unwrap();
        let mut at = None;
        loop {
            match rx.recv().unwrap() {
                Event::Worker(WorkerEvent::Step { id: i, step }) if i == id && !step.is_prompt => {
                    at = Some(t0.elapsed())
                }
                Event::Worker(WorkerEvent::Done { id: i }) if i == id => break,
                _ => {}
            }
        }
        at.expect("a generated step").as_secs_f64() * 1e3
    };
    first_generated(base.clone());
    let (mut extend, mut middle, mut reread) = (Vec::new(), Vec::new(), Vec::new());
    let mut prompt = base.clone();
    for k in 0..7 {
        prompt.push(text.chars().nth(k).unwrap());
        extend.push(first_generated(prompt.clone()));
        let mut edited: Vec<char> = prompt.chars().collect();
        edited.remove(500 + 7 * k);
        middle.push(first_generated(edited.into_iter().collect()));
        first_generated(prompt.clone()); // the cache holds `prompt` again
        let changed: String = std::iter::once(text.chars().nth(k + 1).unwrap()).chain(prompt.chars().skip(1)).collect();
        reread.push(first_generated(changed));
        first_generated(prompt.clone());
    }
    cmd.send(WorkerCmd::Shutdown).unwrap();
    (median(extend), median(middle), median(reread))
}

/// The playground on `ck` in a pty wide enough for the prompt line to show
/// a 1,000-character prompt and its ghost whole (1,100 columns): the time
/// from an edit at character `at` (a Backspace, or a bracketed paste of a
/// word) to the first ghost character after the edited prompt. At 1 the
/// edits change the prompt's first characters: the worst case, as the whole
/// prompt is read again.
fn edit_latency(ck: &std::path::Path, at: usize) -> f64 {
    let mut s = Pty::spawn(&format!("exec '{}' play --checkpoint '{}'", bin(), ck.display()), 30, 1100, &[]);
    s.timeout = Duration::from_secs(60);
    s.poll = Duration::from_micros(200);
    s.wait_for("the playground", |sc| sc.contents().contains("prompt · live preview on"));
    let row = (0..30).find(|&r| s.row(r).contains("prompt · live preview on")).expect("the prompt box") + 1;
    let ghost_after = |sc: &vt100::Screen, typed: char, col: u16| ghost_after_on(sc, row, typed, col);
    let text = "But soft, what light through yonder window breaks? It is the east, and Juliet is the sun. ";
    // Ending in a letter: the check reads the last prompt character's cell.
    let mut prompt: Vec<char> = text.chars().cycle().take(999).chain(['s']).collect();
    s.send(&prompt.iter().collect::<String>());
    let last = |p: &[char]| *p.last().expect("a prompt");
    let len = prompt.len() as u16;
    s.wait_for("the first ghost", |sc| ghost_after(sc, last(&prompt), len));
    // The cursor goes to character `at`; Backspaces and pastes alternate there.
    s.send("\x1b[D".repeat(prompt.len() - at).as_str());
    let mut cursor = at;
    let mut lat = Vec::new();
    for k in 0..12 {
        std::thread::sleep(Duration::from_millis(400)); // quiet: each edit stands alone
        let t0 = Instant::now();
        if k % 2 == 0 {
            s.send("\x7f");
            cursor -= 1;
            prompt.remove(cursor);
        } else {
            s.send("\x1b[200~thee \x1b[201~");
            for c in "thee ".chars() {
                prompt.insert(cursor, c);
                cursor += 1;
            }
        }
        let len = prompt.len() as u16;
        s.wait_for("ghost text after the edit", |sc| ghost_after(sc, last(&prompt), len));
        lat.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    s.send("\x03");
    let t0 = Instant::now();
    while s.child.try_wait().unwrap().is_none() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    median(lat)
}

fn main() {
    // `cargo bench` passes --bench; nothing to filter here.
    gatescope::model::use_one_thread();
    let m = model();
    let (plain, all) = frame_bench(&m);
    println!("frame_ms_median={plain:.3}");
    println!("frame_ms_median_all_panels={all:.3}");
    let dir = tempfile::tempdir().unwrap();
    let ck = match std::env::var_os("GATESCOPE_BENCH_CHECKPOINT") {
        Some(p) => PathBuf::from(p),
        None => {
            let p = dir.path().join("random-2x512.safetensors");
            save_checkpoint(&m, &Default::default(), &p).unwrap();
            p
        }
    };
    let (extend, middle, reread) = worker_prompt_ms(&ck);
    println!("prompt1000_extended_by_one_ms_median={extend:.1}");
    println!("prompt1000_edited_in_the_middle_ms_median={middle:.1}");
    println!("prompt1000_read_afresh_ms_median={reread:.1}");
    println!("edit_middle_to_ghost_ms_median={:.1}", edit_latency(&ck, 500));
    println!("edit_start_to_ghost_ms_median={:.1}", edit_latency(&ck, 1));
    let (lat, idle) = latency_and_idle(&ck);
    println!("keystroke_to_ghost_ms_median={lat:.1}");
    println!("idle_cpu_s={idle:.3}");
}
