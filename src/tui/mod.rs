//! The playground: a ratatui app that streams text as you type and shows the
//! gates at work. One input thread and one model worker feed one event
//! channel; `App::update` handles each event; `ui::draw` is a pure function
//! of the state. The loop blocks when nothing happens, drains what is
//! waiting, and draws at most ~60 times a second.

pub mod app;
pub mod editor;
pub mod event;
pub mod keys;
pub mod text;
pub mod ui;
pub mod worker;

use anyhow::{anyhow, bail, Result};
use app::App;
use event::{Event, WorkerEvent};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::layout::Rect;
use ratatui::Terminal;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use worker::WorkerCmd;

/// At most one frame per this long while text streams.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(16);

/// At most one frame per this long while the worker reads a prompt and
/// nothing was typed since the last frame: the read has both cores, and a
/// frame of a wide terminal costs several milliseconds of one, so frames of
/// a half-read prompt would delay the first character the user waits for.
/// What the user types is still drawn at once.
pub const READING_FRAME_INTERVAL: Duration = Duration::from_millis(100);

/// Set by the panic hook: no more drawing into a restored terminal.
static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: std::sync::Once = std::sync::Once::new();

/// Whether the terminal is in raw mode / the alternate screen.
static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);

/// Leave raw mode and the alternate screen, show the cursor. Only the first
/// call after `init_terminal` acts: leaving the alternate screen twice would
/// move the cursor back over whatever was printed in between (a panic message).
pub fn restore_terminal() {
    if !TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), DisableBracketedPaste, LeaveAlternateScreen, ratatui::crossterm::cursor::Show);
}

/// Any panic, on any thread, restores the terminal before the message prints.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            restore_terminal();
            previous(info);
            // The worker's panics are reported by the main loop, with context.
            if std::thread::current().name() != Some("gatescope-worker") {
                eprintln!("gatescope: internal error (a bug; please report the message above); the terminal has been restored");
            }
        }));
    });
}

pub fn run(checkpoint: Option<PathBuf>, opts: crate::model::LoadOptions) -> Result<()> {
    run_with(checkpoint, opts, None)
}

/// `run`, with a training run's timeline when `checkpoint` is one of its
/// snapshots (`play --replay DIR`).
pub fn run_with(
    checkpoint: Option<PathBuf>,
    opts: crate::model::LoadOptions,
    timeline: Option<app::Timeline>,
) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the playground needs a terminal, and {} is not one; run `gatescope play` in a terminal, \
             or use `gatescope generate --prompt TEXT` for plain text output",
            if std::io::stdout().is_terminal() { "stdin" } else { "stdout" }
        );
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let (cmd_tx, worker) = worker::spawn_with(checkpoint, opts, tx.clone())?;
    // Wait for the model before touching the terminal: a bad --checkpoint is
    // then a plain one-line error, and the app exists only with a model.
    let mut app = loop {
        match rx.recv() {
            Ok(Event::Worker(WorkerEvent::LoadFailed(e))) => bail!("{e}"),
            Ok(Event::Worker(WorkerEvent::Panicked(m))) => bail!("the model worker crashed: {m}"),
            Ok(Event::Worker(WorkerEvent::Loaded(info))) => break App::new(info),
            Ok(_) => {}
            Err(_) => bail!("the model worker ended before loading a model"),
        }
    };
    if let Some(t) = timeline {
        app.set_timeline(t);
    }
    install_panic_hook();
    let mut terminal = match init_terminal() {
        Ok(t) => t,
        Err(e) => {
            restore_terminal();
            bail!("cannot set up the terminal: {e}");
        }
    };
    event::spawn_input_thread(tx.clone()).map_err(|e| {
        restore_terminal();
        anyhow!("cannot start the input thread: {e}")
    })?;
    event::spawn_signal_thread(tx.clone()).map_err(|e| {
        restore_terminal();
        anyhow!("cannot watch for signals: {e}")
    })?;
    drop(tx);
    // A panic on this thread must also wait for the worker (see
    // wait_for_worker) before it carries on out of main.
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| main_loop(&mut terminal, &mut app, &rx, &cmd_tx)));
    restore_terminal();
    let _ = cmd_tx.send(WorkerCmd::Shutdown);
    wait_for_worker(worker);
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    if let Some(f) = app.fatal.take() {
        bail!("{f}");
    }
    Ok(())
}

/// Quitting can find the worker inside a libtorch call (a chunk of a long
/// prompt, a file's catalogue). Leaving main then runs libtorch's static
/// destructors under that call, and the process dies of SIGSEGV instead of
/// exiting 0. The worker stops at its next command check, a fraction of a
/// second for a prompt chunk; the wait is bounded so a stuck call cannot hang
/// the exit.
fn wait_for_worker(worker: std::thread::JoinHandle<()>) {
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while !worker.is_finished() && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    if worker.is_finished() {
        let _ = worker.join();
    }
}

fn init_terminal() -> Result<Term> {
    TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    execute!(std::io::stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
    // A frame goes out in a few large writes, flushed when drawn: through
    // stdout's own line buffer it would be hundreds of 1 KB writes, each
    // taking the stdout lock (a third of a wide frame's time).
    let out = std::io::BufWriter::with_capacity(FRAME_BUFFER, Screen);
    Ok(Terminal::new(CrosstermBackend::new(out))?)
}

/// Stdout while the playground has the terminal set up. Once it is
/// restored, writes are dropped: a frame cut short by a panic or a failed
/// write, still in the buffer, must not land on the user's screen when the
/// buffer is flushed on the way out.
struct Screen;

impl std::io::Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match TERMINAL_ACTIVE.load(Ordering::SeqCst) {
            true => std::io::stdout().write(buf),
            false => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// Bytes buffered before a frame's output is written.
const FRAME_BUFFER: usize = 1 << 16;

type Term = Terminal<CrosstermBackend<std::io::BufWriter<Screen>>>;

/// The event loop: draw when something changed (at most once a frame, but
/// at once for the first character of a continuation: that is the latency
/// a user feels after an edit), then wait for events or the app's next
/// deadline.
fn main_loop(terminal: &mut Term, app: &mut App, rx: &Receiver<Event>, cmd_tx: &Sender<WorkerCmd>) -> Result<()> {
    let mut dirty = true;
    // Whether a key, a paste or a resize came since the last frame.
    let mut input = false;
    let mut last_draw: Option<Instant> = None;
    // Which continuation the last frame showed (`Run::continuation`).
    let mut drawn_continuation: Option<u64> = None;
    let first_character = |app: &App, drawn: Option<u64>| {
        let current = app.run.continuation();
        current.is_some() && current != drawn
    };
    // Test-only fault injection: GATESCOPE_FAULT=ui-panic panics on the UI
    // thread after the first frame (worker-panic: see worker/mod.rs).
    let ui_fault = std::env::var("GATESCOPE_FAULT").is_ok_and(|v| v == "ui-panic");
    let send = |cmd: Option<WorkerCmd>| {
        if let Some(c) = cmd {
            // If the worker is gone its Panicked event explains why.
            let _ = cmd_tx.send(c);
        }
    };
    loop {
        if PANICKED.load(Ordering::SeqCst) {
            // Most likely the worker: its own report names the cause.
            let t0 = Instant::now();
            while let Some(left) = Duration::from_millis(500).checked_sub(t0.elapsed()) {
                match rx.recv_timeout(left) {
                    Ok(Event::Worker(WorkerEvent::Panicked(m))) => bail!("the model worker crashed: {m}"),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            bail!("an internal error (a panic, reported above) stopped the playground");
        }
        let now = Instant::now();
        let interval = if app.run.reading_prompt() && !input { READING_FRAME_INTERVAL } else { FRAME_INTERVAL };
        // A continuation's first character is drawn at once, between frames too.
        let shows_first = first_character(app, drawn_continuation);
        if dirty
            && !PANICKED.load(Ordering::SeqCst)
            && (last_draw.is_none_or(|t| now.duration_since(t) >= interval) || shows_first)
        {
            let size = terminal.size()?;
            app.view.help_max_scroll = Some(ui::help::max_scroll(Rect::new(0, 0, size.width, size.height)));
            terminal.draw(|f| ui::draw(f, app))?;
            last_draw = Some(Instant::now());
            drawn_continuation = app.run.continuation();
            if shows_first {
                // Written out: the worker may go on generating.
                send(Some(WorkerCmd::FirstShown));
            }
            (dirty, input) = (false, false);
            if ui_fault && !app.run.steps.is_empty() {
                panic!("injected fault: GATESCOPE_FAULT=ui-panic");
            }
        }
        let mut deadline = app.deadline();
        if dirty {
            let next = last_draw.map(|t| t + interval).unwrap_or(now);
            deadline = Some(deadline.map_or(next, |d| d.min(next)));
        }
        let first = match deadline {
            Some(d) => match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => bail!("every event source has ended"),
            },
            None => Some(rx.recv().map_err(|_| anyhow!("every event source has ended"))?),
        };
        let mut take = |ev: Event, app: &mut App| {
            input |= matches!(ev, Event::Key(_) | Event::Paste(_) | Event::Resize);
            send(app.update(ev));
        };
        if let Some(ev) = first {
            take(ev, app);
            dirty = true;
            // Coalesce: take whatever else is waiting, for at most a frame's time.
            let t0 = Instant::now();
            while t0.elapsed() < FRAME_INTERVAL {
                match rx.try_recv() {
                    Ok(ev) => take(ev, app),
                    Err(_) => break,
                }
                if app.quit || first_character(app, drawn_continuation) {
                    break;
                }
            }
        }
        // An analysis under way changes the state at every slice it takes.
        let analysing = app.analyses.busy();
        if let Some(cmd) = app.tick(Instant::now()) {
            send(Some(cmd));
            dirty = true;
        }
        dirty |= analysing;
        if app.quit {
            return Ok(());
        }
    }
}
