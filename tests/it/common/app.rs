//! Helpers for the playground's in-process tests: a tiny model, key events,
//! and an app driven through a real Generator, as the worker would drive it.

use gatescope::generate::Generator;
use gatescope::model::CharLstm;
use gatescope::tui::app::App;
use gatescope::tui::event::{Event, ModelInfo, WorkerEvent};
use gatescope::tui::ui;
use gatescope::tui::worker::WorkerCmd;
use gatescope::vocab::Vocab;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use std::time::Instant;

pub const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";

/// A random 2x16 model over TEXT's characters (embedding 8, seed 7).
pub fn model() -> CharLstm {
    CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 16, 2, 7)
}

pub fn info(m: &CharLstm) -> ModelInfo {
    ModelInfo::new("tiny.safetensors", m, vec![])
}

pub fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn alt(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT))
}

pub fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Type `s` key by key, all at one instant (a burst, whatever the machine's
/// load: the preview's debounce reads the clock); the command the last key
/// asked of the worker, if any.
pub fn type_str(app: &mut App, s: &str) -> Option<WorkerCmd> {
    type_at(app, s, Instant::now())
}

/// `type_str` at the instant `at`.
pub fn type_at(app: &mut App, s: &str, at: Instant) -> Option<WorkerCmd> {
    s.chars().map(|c| app.update_at(key(KeyCode::Char(c)), at)).last().flatten()
}

/// `app` after `prompt`, Enter, and the worker's answer (computed here by a
/// real Generator over `m`) delivered.
pub fn run(app: App, m: &CharLstm, prompt: &str, generated: usize) -> App {
    run_at(app, m, prompt, generated, Instant::now())
}

/// `run` with the prompt typed at the instant `at`.
pub fn run_at(mut app: App, m: &CharLstm, prompt: &str, generated: usize, at: Instant) -> App {
    type_at(&mut app, prompt, at);
    let Some(WorkerCmd::Start { id, prompt: p, sampling, .. }) = app.update(key(KeyCode::Enter)) else {
        panic!("Enter starts a run")
    };
    let mut g = Generator::new(m, sampling);
    for s in g.feed_prompt(&p).unwrap() {
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
    }
    for _ in 0..generated {
        let s = g.generate_step().unwrap();
        app.update(Event::Worker(WorkerEvent::Step { id, step: s.into() }));
    }
    app.update(Event::Worker(WorkerEvent::Done { id }));
    app
}

/// An app with a loaded tiny model after `run`.
pub fn app_with_run(prompt: &str, generated: usize) -> App {
    let m = model();
    run(App::new(info(&m)), &m, prompt, generated)
}

/// The whole screen drawn at `w` x `h`.
pub fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    t
}
