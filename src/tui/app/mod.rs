//! The playground's state. `update` turns one event into a state change and,
//! at most, one command for the model worker; keys become `Action`s through
//! the table in `keys/table.rs` and are applied in `actions.rs`. Nothing here
//! draws, nothing waits on the model, and time comes only from the clock
//! handed to `update_at` and `tick`.

mod actions;
pub mod analyses;
pub mod asked;
pub mod attribution;
pub mod branches;
mod branching;
mod controls;
pub mod explain;
pub mod intervene;
pub mod prompt;
pub mod run;
pub mod samples;
pub mod save;
pub mod timeline;
pub mod view;
mod worker_events;

pub use analyses::Analyses;
pub use intervene::{Compare, Interventions};
pub use prompt::{Prompt, PREVIEW_DELAY};
pub use run::{ring_capacity, Run, RunKind, RunState, MAX_STEPS};
pub use timeline::{SnapshotInfo, Timeline};
pub use view::{short_r, CellLabel, ColorMode, Panel, View};

use super::editor::Editor;
use super::event::{Event, ModelInfo};
use super::keys::{self, Action, Context};
use super::text::sanitize_line;
use super::worker::WorkerCmd;
use crate::model::sample::Sampling;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Length of the ghost-text preview.
pub const PREVIEW_LEN: usize = 120;
pub const DEFAULT_LEN: usize = 500;
pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1_000_000;
/// How long a message stays (an error a little longer), unless the next
/// action clears it first.
pub const INFO_TTL: Duration = Duration::from_secs(4);
pub const ERROR_TTL: Duration = Duration::from_secs(8);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Keys edit the prompt.
    Typing,
    /// Generation is paused and a cursor moves over the steps.
    Inspect,
    /// A path box for loading a checkpoint.
    Load,
    /// A box for the unit that colours the text.
    Cell,
    /// A path box for saving the transcript and trace.
    Save,
    /// The intervention editor (a text box).
    Intervene,
    /// The list of active interventions.
    Interventions,
    /// A box that pins or unpins a unit.
    Pin,
    /// The cells panel or saturation view has the keys.
    Panel,
    /// A path box for the text file the cells panel analyses.
    CellsFile,
    /// Samples side by side: three continuations to choose from.
    Samples,
}

impl Mode {
    pub fn is_box(self) -> bool {
        matches!(self, Mode::Load | Mode::Cell | Mode::Save | Mode::Intervene | Mode::Pin | Mode::CellsFile)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub kind: MsgKind,
    /// When it stops showing.
    pub until: Instant,
}

pub struct App {
    pub model: ModelInfo,
    pub prompt: Prompt,
    pub run: Run,
    pub view: View,
    pub mode: Mode,
    /// The text of the open box (load path, cell number, save path).
    pub box_editor: Editor,
    pub sampling: Sampling,
    /// Beam search's width when Enter (and the preview) search instead of
    /// sampling; None samples.
    pub beam: Option<usize>,
    pub length: usize,
    pub preview: bool,
    pub message: Option<Message>,
    /// `q` was pressed with an unsaved transcript: the next `q` quits.
    quit_armed: bool,
    /// The time of the event being handled.
    now: Instant,
    pub quit: bool,
    /// Set when the worker died; the app exits with this message.
    pub fatal: Option<String>,
    /// Where the save box's default name points.
    pub save_dir: PathBuf,
    /// Active interventions and the compare view.
    pub interventions: Interventions,
    /// The cells panel, the saturation view and the span search.
    pub analyses: Analyses,
    /// A training run's snapshots (`play --replay DIR`), if open.
    pub timeline: Option<Timeline>,
    /// The explain panel's and the memory colouring's request and answer.
    pub explain: explain::ExplainState,
    /// The attribution colouring's request and answer.
    pub attribution: attribution::AttributionState,
    /// Samples side by side, while they are shown.
    pub samples: Option<samples::Samples>,
}

impl App {
    /// The app for a loaded model.
    pub fn new(model: ModelInfo) -> Self {
        let mut app = Self {
            prompt: Prompt::new(&model.vocab),
            view: View::new(model.layers, model.hidden),
            model,
            run: Run::default(),
            mode: Mode::Typing,
            box_editor: Editor::new(),
            sampling: Sampling::default(),
            beam: None,
            length: DEFAULT_LEN,
            preview: true,
            message: None,
            quit_armed: false,
            now: Instant::now(),
            quit: false,
            fatal: None,
            save_dir: PathBuf::from("."),
            interventions: Interventions::default(),
            analyses: Analyses::default(),
            timeline: None,
            explain: explain::ExplainState::default(),
            attribution: attribution::AttributionState::default(),
            samples: None,
        };
        app.name_cells();
        if let Some(w) = app.model.warnings.first().cloned() {
            app.error(format!("warning: {}", sanitize_line(&w)));
        }
        app
    }

    /// Index of the step the panels describe: the inspect cursor, or the newest.
    pub fn focus(&self) -> Option<usize> {
        let last = self.run.steps.len().checked_sub(1)?;
        Some(if self.inspecting() { self.view.cursor.min(last) } else { last })
    }

    /// Whether the preview's ghost text belongs to the prompt as it is now.
    pub fn ghost_visible(&self) -> bool {
        self.run.kind == RunKind::Preview && self.mode == Mode::Typing && self.run.prompt == self.prompt.text()
    }

    /// The message to show at `now`, if it has not expired.
    pub fn message_at(&self, now: Instant) -> Option<&Message> {
        self.message.as_ref().filter(|m| now < m.until)
    }

    fn info(&mut self, s: impl Into<String>) {
        self.message = Some(Message { text: s.into(), kind: MsgKind::Info, until: self.now + INFO_TTL });
    }

    fn error(&mut self, s: impl Into<String>) {
        self.message = Some(Message { text: s.into(), kind: MsgKind::Error, until: self.now + ERROR_TTL });
    }

    /// When the main loop should wake up even without events: a pending
    /// preview, a message to take down, or at once for an analysis under way.
    pub fn deadline(&self) -> Option<Instant> {
        if self.analyses.busy() || self.explain_owed() || self.attribution_owed() {
            return Some(self.now);
        }
        let expiry = self.message.as_ref().map(|m| m.until);
        match (self.prompt.deadline(), expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passes: messages expire, an analysis takes its next slice, and
    /// the preview starts once typing has paused.
    pub fn tick(&mut self, now: Instant) -> Option<WorkerCmd> {
        self.now = now;
        self.advance_analyses();
        if self.message.as_ref().is_some_and(|m| now >= m.until) {
            self.message = None;
        }
        match self.prompt.deadline() {
            Some(d) if now >= d => {
                self.prompt.edit_at = None;
                if self.preview && self.mode == Mode::Typing {
                    self.start(RunKind::Preview)
                } else {
                    None
                }
            }
            // The explanation and the attribution at the inspect cursor
            // (never while typing), one request per tick.
            _ => self.explain_request().or_else(|| self.attribution_request()),
        }
    }

    pub fn update(&mut self, event: Event) -> Option<WorkerCmd> {
        self.update_at(event, Instant::now())
    }

    /// `update` with the clock given: tests drive time by hand.
    pub fn update_at(&mut self, event: Event, now: Instant) -> Option<WorkerCmd> {
        self.now = now;
        match event {
            Event::Key(k) => self.on_key(k),
            Event::Paste(s) => self.on_paste(&s),
            Event::Resize => None,
            Event::Worker(w) => self.on_worker(w),
            Event::Signal(sig) => {
                let name = match sig {
                    1 => "SIGHUP",
                    2 => "SIGINT",
                    15 => "SIGTERM",
                    _ => "a signal",
                };
                self.fatal = Some(format!("stopped by {name}"));
                self.quit = true;
                None
            }
            Event::InputClosed(e) => {
                self.fatal = Some(format!("cannot read the terminal any more ({e})"));
                self.quit = true;
                None
            }
        }
    }

    // ---- requests ----

    fn start(&mut self, kind: RunKind) -> Option<WorkerCmd> {
        let prompt = self.prompt.text().to_string();
        if prompt.is_empty() {
            if kind == RunKind::Full {
                self.error("type a prompt first");
            }
            return None;
        }
        if !self.prompt.unknown_chars().is_empty() {
            return None;
        }
        self.view.cursor = 0;
        self.view.scroll = 0;
        self.analyses.search.clear();
        let id = self.run.begin(kind, prompt.clone());
        self.run_started();
        self.prompt.edit_at = None;
        let length = if kind == RunKind::Preview { PREVIEW_LEN } else { self.length };
        Some(match self.beam {
            Some(width) => WorkerCmd::Beam { id, prompt, length, width },
            None => WorkerCmd::Start { id, prompt, length, sampling: self.sampling },
        })
    }

    /// The prompt changed: cancel what runs, and preview the new prompt.
    /// Debounced on both edges: the first edit after a quiet spell starts the
    /// preview at once (a single keystroke gets its ghost text without
    /// waiting), while a burst of edits starts one preview `PREVIEW_DELAY`
    /// after its last edit. Either way a new request cancels the old one.
    fn edited(&mut self) -> Option<WorkerCmd> {
        let quiet = self.prompt.note_edit(self.now);
        if self.preview && !self.prompt.editor.is_empty() && self.mode == Mode::Typing {
            if quiet && self.prompt.unknown_chars().is_empty() {
                return self.start(RunKind::Preview);
            }
            self.prompt.edit_at = Some(self.now);
        }
        self.stop()
    }

    fn stop(&mut self) -> Option<WorkerCmd> {
        if self.mode == Mode::Inspect {
            self.mode = Mode::Typing;
        }
        self.run.stop().then_some(WorkerCmd::Stop)
    }

    // ---- keys ----

    /// Where keys go now.
    pub fn context(&self) -> Context {
        match self.mode {
            _ if self.view.help => Context::Help,
            Mode::Typing => Context::Typing,
            Mode::Inspect => Context::Inspect,
            Mode::Load | Mode::Cell | Mode::Save | Mode::Intervene | Mode::Pin | Mode::CellsFile => Context::TextBox,
            Mode::Interventions => Context::List,
            Mode::Panel => Context::Panel,
            Mode::Samples => Context::Samples,
        }
    }

    fn on_paste(&mut self, s: &str) -> Option<WorkerCmd> {
        self.view.help = false;
        self.message = None;
        self.quit_armed = false;
        if matches!(self.mode, Mode::Interventions | Mode::Samples) {
            return None;
        }
        if self.mode.is_box() {
            self.box_editor.insert_str(&s.replace(['\n', '\r'], ""));
            return None;
        }
        let stop = self.stop();
        self.prompt.editor.insert_str(s);
        // A new preview (Start) cancels by itself; else the Stop stands.
        self.edited().or(stop)
    }

    pub fn on_key(&mut self, k: KeyEvent) -> Option<WorkerCmd> {
        let context = self.context();
        let action = keys::lookup(context, &k, self.prompt.editor.is_empty());
        if context == Context::Help {
            match action {
                Some(Action::HelpScroll(by)) => {
                    // Clamped here, not only where drawn: ↓ held past the end
                    // must not leave ↑ with presses to undo before it moves.
                    let max = self.view.help_max_scroll.unwrap_or(usize::MAX);
                    self.view.help_scroll = self.view.help_scroll.saturating_add_signed(by as isize).min(max);
                }
                Some(Action::ForceQuit) => return self.apply(Action::ForceQuit),
                _ => self.view.help = false,
            }
            return None;
        }
        // Any key takes the last message down; the action may put up a new one.
        self.message = None;
        let armed = std::mem::take(&mut self.quit_armed);
        if let Some(a) = action {
            if a == Action::Quit && armed {
                self.quit = true;
                return Some(WorkerCmd::Shutdown);
            }
            return self.apply(a);
        }
        let typed = match k.code {
            KeyCode::Char(c) if !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => c,
            _ => return None,
        };
        match self.mode {
            Mode::Typing => {
                self.prompt.editor.insert_char(typed);
                self.edited()
            }
            Mode::Inspect => {
                self.info("in inspect mode letters are controls (? lists them); Tab returns to the prompt");
                None
            }
            Mode::Interventions | Mode::Samples => None,
            Mode::Panel => {
                // Typing is never blocked: a letter gives the keys back and goes into the prompt.
                self.leave_panel();
                if self.mode == Mode::Inspect {
                    // `edited` stops the paused run, as typing in inspect mode's place does.
                    self.mode = Mode::Typing;
                }
                self.prompt.editor.insert_char(typed);
                self.edited()
            }
            _ => {
                self.box_editor.insert_char(typed);
                None
            }
        }
    }
}
