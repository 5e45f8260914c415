//! The playground's state and its key map. `update` turns one event into a
//! state change and, at most, one command for the model worker. Nothing here
//! draws, and nothing here waits on the model.

use super::editor::Editor;
use super::event::{Event, ModelInfo, WorkerEvent};
use super::worker::WorkerCmd;
use crate::generate::Step;
use crate::model::sample::Sampling;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Quiet time after the last edit before the live preview starts.
pub const PREVIEW_DELAY: Duration = Duration::from_millis(100);
/// Length of the ghost-text preview.
pub const PREVIEW_LEN: usize = 120;
pub const DEFAULT_LEN: usize = 500;
pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1_000_000;

/// The step ring's memory budget. A step holds i, f, g, o and c for every
/// layer (`Step::heap_bytes`): ~20 KB for a 2x512 model, so 256 MB keeps
/// ~12,900 steps of it; small models are capped at `MAX_STEPS` (a long
/// session never needs more to draw or inspect). Past the capacity the oldest
/// steps are dropped, so memory stays flat however long the run.
pub const MEMORY_BUDGET: usize = 256 << 20;
pub const MAX_STEPS: usize = 20_000;
pub const MIN_STEPS: usize = 1_000;

pub fn ring_capacity(step_bytes: usize) -> usize {
    (MEMORY_BUDGET / step_bytes.max(1)).clamp(MIN_STEPS, MAX_STEPS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// Ghost text while typing.
    Preview,
    /// A committed continuation (Enter).
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Loading,
    Idle,
    Generating,
    Paused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    Plain,
    /// By the probability the model gave each character.
    Surprise,
    /// By one cell's activation, tanh(c).
    Cell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Keys edit the prompt.
    Typing,
    /// Generation is paused and a cursor moves over the steps.
    Inspect,
    /// A path prompt for loading a checkpoint.
    Load,
    /// A number prompt for the cell that colours the text.
    Cell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    Info,
    Error,
}

/// Every key, as the help overlay lists it. `Alt-x` is the same as `x` in
/// inspect mode.
pub const KEYS: &[(&str, &str)] = &[
    ("type / paste", "edit the prompt"),
    ("Enter", "generate a full continuation"),
    ("Alt-Enter", "insert a line break"),
    ("Esc", "stop generating / leave a mode"),
    ("← → Home End", "move by character (grapheme)"),
    ("Bksp Del", "delete a character"),
    ("Ctrl-W Ctrl-U", "delete word / to start"),
    ("↑ ↓", "prompt history"),
    ("PgUp PgDn", "scroll the output"),
    ("Tab", "inspect: pause, step cursor"),
    ("  ← → PgUp PgDn", "  move the cursor (1 / 10)"),
    ("  Home End", "  first / last step"),
    ("  Tab Esc", "  leave inspect (resume)"),
    ("Alt-t / Alt-T", "temperature − / +"),
    ("Alt-k / Alt-K", "top-k − / +  (0 = all)"),
    ("Alt-p / Alt-P", "top-p − / +"),
    ("Alt-s / Alt-S", "seed − / +"),
    ("Alt-- / Alt-+", "continuation length ÷2 / ×2"),
    ("Alt-l / Alt-L", "next / previous layer"),
    ("Alt-g", "show the g gate"),
    ("Alt-h", "show |h| in the norm chart"),
    ("Alt-c", "colour: plain/surprise/cell"),
    ("Alt-n / Alt-N", "colouring cell + / − 1"),
    ("Alt-. / Alt-,", "colouring cell + / − 10"),
    ("Alt-m", "cell = most active at cursor"),
    ("Alt-#", "colouring cell by number"),
    ("Alt-v  Ctrl-P", "live preview on / off"),
    ("Alt-w  Ctrl-S", "save transcript + trace"),
    ("Alt-o  Ctrl-O", "load a checkpoint"),
    ("?  F1", "this help (? on empty prompt)"),
    ("q", "quit (on an empty prompt)"),
    ("Ctrl-C", "quit"),
];

pub struct App {
    pub model: Option<ModelInfo>,
    vocab: HashSet<char>,
    pub editor: Editor,
    pub history: Vec<String>,
    hist_pos: Option<usize>,
    draft: String,
    pub load_editor: Editor,

    /// The current run's steps, oldest first, at most `capacity`.
    pub steps: VecDeque<Step>,
    pub capacity: usize,
    /// Steps of the current run dropped from the front of the ring.
    pub dropped: usize,
    last_id: u64,
    /// The request whose steps are accepted; any other id is stale.
    pub active: Option<u64>,
    pub run_kind: RunKind,
    /// The prompt the current run started from.
    pub run_prompt: String,
    pub state: RunState,
    /// The state to go back to when inspect ends.
    resume_to: Option<RunState>,

    pub sampling: Sampling,
    pub length: usize,
    pub preview: bool,
    pub layer: usize,
    pub show_g: bool,
    pub show_h: bool,
    pub color: ColorMode,
    pub cell: usize,
    pub mode: Mode,
    pub help: bool,
    /// Inspect cursor: an index into `steps`.
    pub cursor: usize,
    /// Output lines scrolled back from the newest.
    pub scroll: usize,
    pub message: Option<(String, MsgKind)>,
    /// When the last edit happened, while a preview is pending.
    pub edit_at: Option<Instant>,
    /// When the prompt was last edited (for the leading-edge preview).
    last_edit: Option<Instant>,
    /// The time of the event being handled (see `update_at`).
    now: Instant,
    /// Generated characters per second.
    pub rate: f32,
    rate_t0: Option<Instant>,
    rate_n: usize,
    pub quit: bool,
    /// Set when the worker died; the app exits with this message.
    pub fatal: Option<String>,
    pub save_dir: PathBuf,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    pub fn new() -> Self {
        Self {
            model: None,
            vocab: HashSet::new(),
            editor: Editor::new(),
            history: Vec::new(),
            hist_pos: None,
            draft: String::new(),
            load_editor: Editor::new(),
            steps: VecDeque::new(),
            capacity: MAX_STEPS,
            dropped: 0,
            last_id: 0,
            active: None,
            run_kind: RunKind::Full,
            run_prompt: String::new(),
            state: RunState::Loading,
            resume_to: None,
            sampling: Sampling::default(),
            length: DEFAULT_LEN,
            preview: true,
            layer: 0,
            show_g: false,
            show_h: false,
            color: ColorMode::Plain,
            cell: 0,
            mode: Mode::Typing,
            help: false,
            cursor: 0,
            scroll: 0,
            message: None,
            edit_at: None,
            last_edit: None,
            now: Instant::now(),
            rate: 0.0,
            rate_t0: None,
            rate_n: 0,
            quit: false,
            fatal: None,
            save_dir: PathBuf::from("."),
        }
    }

    /// Index of the step the panels describe: the inspect cursor, or the newest.
    pub fn focus(&self) -> Option<usize> {
        if self.steps.is_empty() {
            None
        } else if self.mode == Mode::Inspect {
            Some(self.cursor.min(self.steps.len() - 1))
        } else {
            Some(self.steps.len() - 1)
        }
    }

    /// Whether the preview's ghost text belongs to the prompt as it is now.
    pub fn ghost_visible(&self) -> bool {
        self.run_kind == RunKind::Preview && self.mode == Mode::Typing && self.run_prompt == self.editor.text()
    }

    pub fn layers(&self) -> usize {
        self.model.as_ref().map(|m| m.layers).unwrap_or(0)
    }

    /// Characters of the prompt the model cannot read.
    pub fn unknown_chars(&self) -> Vec<char> {
        if self.model.is_none() {
            return Vec::new();
        }
        let mut out: Vec<char> = Vec::new();
        for c in self.editor.text().chars() {
            if !self.vocab.contains(&c) && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    pub fn is_unknown(&self, c: char) -> bool {
        self.model.is_some() && !self.vocab.contains(&c)
    }

    fn info(&mut self, s: impl Into<String>) {
        self.message = Some((s.into(), MsgKind::Info));
    }

    fn error(&mut self, s: impl Into<String>) {
        self.message = Some((s.into(), MsgKind::Error));
    }

    /// When the main loop should wake up even without events (the preview).
    pub fn deadline(&self) -> Option<Instant> {
        self.edit_at.map(|t| t + PREVIEW_DELAY)
    }

    /// Time passes: start the preview once typing has paused.
    pub fn tick(&mut self, now: Instant) -> Option<WorkerCmd> {
        match self.deadline() {
            Some(d) if now >= d => {
                self.edit_at = None;
                if self.preview && self.mode == Mode::Typing {
                    self.start(RunKind::Preview)
                } else {
                    None
                }
            }
            _ => None,
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
            Event::Resize(..) => None,
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

    // ---- worker events ----

    fn on_worker(&mut self, ev: WorkerEvent) -> Option<WorkerCmd> {
        match ev {
            WorkerEvent::Loaded(info) => {
                let first = self.model.is_none();
                self.vocab = info.vocab.iter().copied().collect();
                self.layer = self.layer.min(info.layers.saturating_sub(1));
                self.cell = self.cell.min(info.hidden.saturating_sub(1));
                if first {
                    self.message = None;
                } else {
                    self.info(format!("loaded {}", super::text::sanitize_line(&info.name)));
                }
                if let Some(w) = info.warnings.first() {
                    self.error(format!("warning: {}", super::text::sanitize_line(w)));
                }
                self.model = Some(info);
                self.capacity = MAX_STEPS;
                self.clear_run();
                self.state = RunState::Idle;
                self.mode = if self.mode == Mode::Load { Mode::Typing } else { self.mode };
                if self.mode == Mode::Inspect {
                    self.mode = Mode::Typing;
                }
                self.check_vocab();
                if !self.editor.is_empty() && self.preview {
                    self.edit_at = Some(self.now);
                }
                None
            }
            WorkerEvent::LoadFailed(e) => {
                if self.model.is_none() {
                    self.fatal = Some(e);
                    self.quit = true;
                } else {
                    self.error(format!("load failed, keeping the current model: {}", super::text::sanitize_line(&e)));
                }
                None
            }
            WorkerEvent::Step { id, step } => {
                if self.active != Some(id) {
                    return None;
                }
                if self.steps.is_empty() && self.dropped == 0 {
                    self.capacity = ring_capacity(step.heap_bytes());
                }
                if !step.is_prompt {
                    self.count_rate();
                }
                if self.steps.len() >= self.capacity {
                    self.steps.pop_front();
                    self.dropped += 1;
                    self.cursor = self.cursor.saturating_sub(1);
                }
                self.steps.push_back(*step);
                None
            }
            WorkerEvent::Done { id } => {
                if self.active == Some(id) {
                    if self.state == RunState::Paused {
                        self.resume_to = Some(RunState::Idle);
                    } else {
                        self.state = RunState::Idle;
                    }
                }
                None
            }
            WorkerEvent::Failed { id, message } => {
                if self.active == Some(id) {
                    self.state = RunState::Idle;
                    self.error(super::text::sanitize_line(&message));
                }
                None
            }
            WorkerEvent::Panicked(msg) => {
                self.fatal = Some(format!("the model worker crashed: {msg}"));
                self.quit = true;
                None
            }
        }
    }

    fn count_rate(&mut self) {
        let now = Instant::now();
        let t0 = *self.rate_t0.get_or_insert(now);
        self.rate_n += 1;
        let dt = now.duration_since(t0).as_secs_f32();
        if dt >= 0.5 {
            self.rate = self.rate_n as f32 / dt;
            self.rate_t0 = Some(now);
            self.rate_n = 0;
        } else if self.rate == 0.0 && dt > 0.05 {
            self.rate = self.rate_n as f32 / dt;
        }
    }

    fn clear_run(&mut self) {
        self.steps.clear();
        self.dropped = 0;
        self.active = None;
        self.cursor = 0;
        self.scroll = 0;
        self.rate = 0.0;
        self.rate_t0 = None;
        self.rate_n = 0;
        self.resume_to = None;
    }

    // ---- requests ----

    fn start(&mut self, kind: RunKind) -> Option<WorkerCmd> {
        if self.model.is_none() {
            self.error("no model loaded yet");
            return None;
        }
        let prompt = self.editor.text().to_string();
        if prompt.is_empty() {
            if kind == RunKind::Full {
                self.error("type a prompt first");
            }
            return None;
        }
        if !self.unknown_chars().is_empty() {
            self.check_vocab();
            return None;
        }
        self.clear_run();
        self.last_id += 1;
        let id = self.last_id;
        self.active = Some(id);
        self.run_kind = kind;
        self.run_prompt = prompt.clone();
        self.state = RunState::Generating;
        self.edit_at = None;
        let length = if kind == RunKind::Preview { PREVIEW_LEN } else { self.length };
        Some(WorkerCmd::Start { id, prompt, length, sampling: self.sampling })
    }

    /// The prompt changed: cancel what runs, and preview the new prompt.
    /// Debounced on both edges: the first edit after a quiet spell starts the
    /// preview at once (a single keystroke gets its ghost text without
    /// waiting), while a burst of edits starts one preview `PREVIEW_DELAY`
    /// after its last edit. Either way a new request cancels the old one.
    fn edited(&mut self) -> Option<WorkerCmd> {
        self.hist_pos = None;
        self.check_vocab();
        let quiet = self.last_edit.is_none_or(|t| self.now.saturating_duration_since(t) >= PREVIEW_DELAY);
        self.last_edit = Some(self.now);
        self.edit_at = None;
        if self.preview && !self.editor.is_empty() && self.mode == Mode::Typing {
            if quiet && self.unknown_chars().is_empty() {
                return self.start(RunKind::Preview);
            }
            self.edit_at = Some(self.now);
        }
        self.stop()
    }

    fn stop(&mut self) -> Option<WorkerCmd> {
        let running = matches!(self.state, RunState::Generating | RunState::Paused);
        if self.mode == Mode::Inspect {
            self.mode = Mode::Typing;
        }
        self.resume_to = None;
        if running {
            self.state = RunState::Idle;
            // From here on, steps of that request are stale.
            self.active = None;
            Some(WorkerCmd::Stop)
        } else {
            None
        }
    }

    fn check_vocab(&mut self) {
        let unknown = self.unknown_chars();
        if unknown.is_empty() {
            if matches!(&self.message, Some((m, _)) if m.contains("not in the model's vocabulary")) {
                self.message = None;
            }
            return;
        }
        let names: Vec<String> = unknown.iter().map(|&c| crate::vocab::escape_char(c)).collect();
        let names = super::text::sanitize_line(&names.join(", "));
        self.error(format!(
            "{} not in the model's vocabulary (marked): {names}; edit them out to generate",
            if unknown.len() == 1 { "a character is" } else { "characters are" }
        ));
    }

    // ---- keys ----

    fn on_paste(&mut self, s: &str) -> Option<WorkerCmd> {
        if self.help {
            self.help = false;
        }
        match self.mode {
            Mode::Load | Mode::Cell => {
                self.load_editor.insert_str(&s.replace(['\n', '\r'], ""));
                None
            }
            Mode::Inspect | Mode::Typing => {
                let stop = self.stop();
                self.editor.insert_str(s);
                // A new preview (Start) cancels by itself; else the Stop stands.
                self.edited().or(stop)
            }
        }
    }

    pub fn on_key(&mut self, k: KeyEvent) -> Option<WorkerCmd> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let alt = k.modifiers.contains(KeyModifiers::ALT);
        if ctrl && matches!(k.code, KeyCode::Char('c') | KeyCode::Char('C')) {
            self.quit = true;
            return Some(WorkerCmd::Shutdown);
        }
        if self.help {
            self.help = false;
            return None;
        }
        if k.code == KeyCode::F(1) {
            self.help = true;
            return None;
        }
        if matches!(self.mode, Mode::Load | Mode::Cell) {
            return self.load_key(k, ctrl);
        }
        if alt {
            return match k.code {
                KeyCode::Enter if self.mode == Mode::Typing => {
                    self.editor.insert_char('\n');
                    self.edited()
                }
                KeyCode::Char(c) => self.control(c),
                _ => None,
            };
        }
        if ctrl {
            return match k.code {
                KeyCode::Char('s') => self.control('w'),
                KeyCode::Char('o') => self.control('o'),
                KeyCode::Char('p') => self.control('v'),
                KeyCode::Char('w') if self.mode == Mode::Typing => {
                    if self.editor.delete_word_back() {
                        self.edited()
                    } else {
                        None
                    }
                }
                KeyCode::Char('u') if self.mode == Mode::Typing => {
                    if self.editor.delete_to_start() {
                        self.edited()
                    } else {
                        None
                    }
                }
                KeyCode::Char('a') if self.mode == Mode::Typing => {
                    self.editor.home();
                    None
                }
                KeyCode::Char('e') if self.mode == Mode::Typing => {
                    self.editor.end();
                    None
                }
                _ => None,
            };
        }
        match self.mode {
            Mode::Inspect => self.inspect_key(k),
            _ => self.typing_key(k),
        }
    }

    fn typing_key(&mut self, k: KeyEvent) -> Option<WorkerCmd> {
        match k.code {
            KeyCode::Enter => {
                let text = self.editor.text().to_string();
                if !text.is_empty() && self.history.last() != Some(&text) {
                    self.history.push(text);
                }
                self.hist_pos = None;
                self.start(RunKind::Full)
            }
            KeyCode::Esc => {
                self.edit_at = None;
                let cmd = self.stop();
                if cmd.is_none() {
                    self.message = None;
                }
                cmd
            }
            KeyCode::Tab => self.enter_inspect(),
            KeyCode::Left => {
                self.editor.left();
                None
            }
            KeyCode::Right => {
                self.editor.right();
                None
            }
            KeyCode::Home => {
                self.editor.home();
                None
            }
            KeyCode::End => {
                self.editor.end();
                None
            }
            KeyCode::Backspace => {
                if self.editor.backspace() {
                    self.edited()
                } else {
                    None
                }
            }
            KeyCode::Delete => {
                if self.editor.delete() {
                    self.edited()
                } else {
                    None
                }
            }
            KeyCode::Up => self.history_step(-1),
            KeyCode::Down => self.history_step(1),
            KeyCode::PageUp => {
                self.scroll = self.scroll.saturating_add(5);
                None
            }
            KeyCode::PageDown => {
                self.scroll = self.scroll.saturating_sub(5);
                None
            }
            KeyCode::Char('q') if self.editor.is_empty() => {
                self.quit = true;
                Some(WorkerCmd::Shutdown)
            }
            KeyCode::Char('?') if self.editor.is_empty() => {
                self.help = true;
                None
            }
            KeyCode::Char(c) => {
                self.editor.insert_char(c);
                self.edited()
            }
            _ => None,
        }
    }

    fn history_step(&mut self, dir: i32) -> Option<WorkerCmd> {
        if self.history.is_empty() {
            return None;
        }
        let n = self.history.len();
        let next = match (self.hist_pos, dir) {
            (None, -1) => {
                self.draft = self.editor.text().to_string();
                Some(n - 1)
            }
            (None, _) => return None,
            (Some(0), -1) => Some(0),
            (Some(i), -1) => Some(i - 1),
            (Some(i), _) if i + 1 < n => Some(i + 1),
            (Some(_), _) => None,
        };
        let text = match next {
            Some(i) => self.history[i].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.editor.set(&text);
        let cmd = self.edited();
        self.hist_pos = next;
        cmd
    }

    fn enter_inspect(&mut self) -> Option<WorkerCmd> {
        if self.steps.is_empty() {
            self.info("nothing to inspect yet: type a prompt");
            return None;
        }
        self.mode = Mode::Inspect;
        self.edit_at = None;
        self.cursor = self.steps.len() - 1;
        if self.state == RunState::Generating {
            self.resume_to = Some(RunState::Generating);
            self.state = RunState::Paused;
            return Some(WorkerCmd::Pause);
        }
        self.resume_to = None;
        None
    }

    fn leave_inspect(&mut self) -> Option<WorkerCmd> {
        self.mode = Mode::Typing;
        match self.resume_to.take() {
            Some(RunState::Generating) => {
                self.state = RunState::Generating;
                Some(WorkerCmd::Resume)
            }
            Some(s) => {
                self.state = s;
                None
            }
            None => None,
        }
    }

    fn inspect_key(&mut self, k: KeyEvent) -> Option<WorkerCmd> {
        let last = self.steps.len().saturating_sub(1);
        match k.code {
            KeyCode::Tab | KeyCode::Esc => return self.leave_inspect(),
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(last),
            KeyCode::PageUp | KeyCode::Up => self.cursor = self.cursor.saturating_sub(10),
            KeyCode::PageDown | KeyCode::Down => self.cursor = (self.cursor + 10).min(last),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = last,
            KeyCode::Enter => {
                self.mode = Mode::Typing;
                return self.typing_key(k);
            }
            KeyCode::Char(c) => return self.control(c),
            _ => {}
        }
        None
    }

    fn load_key(&mut self, k: KeyEvent, ctrl: bool) -> Option<WorkerCmd> {
        let e = &mut self.load_editor;
        match k.code {
            KeyCode::Esc => {
                let what = if self.mode == Mode::Cell { "cell choice cancelled" } else { "load cancelled" };
                self.mode = Mode::Typing;
                self.info(what);
            }
            KeyCode::Enter if self.mode == Mode::Cell => {
                let typed = e.text().trim().to_string();
                self.mode = Mode::Typing;
                self.choose_cell(&typed);
            }
            KeyCode::Enter => {
                let path = e.text().trim().to_string();
                self.mode = Mode::Typing;
                if path.is_empty() {
                    self.info("load cancelled");
                    return None;
                }
                let expanded = match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
                    (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
                    _ => PathBuf::from(&path),
                };
                self.info(format!("loading {}…", super::text::sanitize_line(&path)));
                return Some(WorkerCmd::Load(expanded));
            }
            KeyCode::Char('u') if ctrl => {
                e.delete_to_start();
            }
            KeyCode::Char('w') if ctrl => {
                e.delete_word_back();
            }
            KeyCode::Char(c) if !ctrl => e.insert_char(c),
            KeyCode::Left => e.left(),
            KeyCode::Right => e.right(),
            KeyCode::Home => e.home(),
            KeyCode::End => e.end(),
            KeyCode::Backspace => {
                e.backspace();
            }
            KeyCode::Delete => {
                e.delete();
            }
            _ => {}
        }
        None
    }

    /// Colour the text by the unit number `typed` of the selected layer.
    fn choose_cell(&mut self, typed: &str) {
        let units = self.model.as_ref().map(|m| m.hidden).unwrap_or(0);
        match typed.parse::<usize>() {
            Ok(u) if u < units => {
                self.cell = u;
                self.color = ColorMode::Cell;
                self.info(format!("colouring by cell {u} of layer {}", self.layer + 1));
            }
            _ => self.error(format!("no cell {:?}: type a unit number from 0 to {}", typed, units.saturating_sub(1))),
        }
    }

    /// The single-letter controls (Alt-letter while typing, the bare letter
    /// in inspect mode).
    fn control(&mut self, c: char) -> Option<WorkerCmd> {
        let s = &mut self.sampling;
        let sampling_before = *s;
        match c {
            't' => s.temperature = round2((s.temperature - 0.1).max(0.0)),
            'T' => s.temperature = round2((s.temperature + 0.1).min(5.0)),
            'k' => s.top_k = step_top_k(s.top_k, false),
            'K' => s.top_k = step_top_k(s.top_k, true),
            'p' => s.top_p = round2((s.top_p - 0.05).max(0.05)),
            'P' => s.top_p = round2((s.top_p + 0.05).min(1.0)),
            's' => s.seed = s.seed.wrapping_sub(1),
            'S' => s.seed = s.seed.wrapping_add(1),
            '-' | '_' => self.length = (self.length / 2).max(MIN_LEN),
            '+' | '=' => self.length = (self.length * 2).min(MAX_LEN),
            'l' | 'L' => {
                let n = self.layers().max(1);
                self.layer = if c == 'l' { (self.layer + 1) % n } else { (self.layer + n - 1) % n };
            }
            'g' => self.show_g = !self.show_g,
            'h' => self.show_h = !self.show_h,
            'c' => {
                self.color = match self.color {
                    ColorMode::Plain => ColorMode::Surprise,
                    ColorMode::Surprise => ColorMode::Cell,
                    ColorMode::Cell => ColorMode::Plain,
                }
            }
            'n' | 'N' => {
                let n = self.model.as_ref().map(|m| m.hidden).unwrap_or(1).max(1);
                self.cell = if c == 'n' { (self.cell + 1) % n } else { (self.cell + n - 1) % n };
                self.color = ColorMode::Cell;
            }
            ',' | '.' => {
                let n = self.model.as_ref().map(|m| m.hidden).unwrap_or(1).max(1);
                self.cell = if c == '.' { (self.cell + 10) % n } else { (self.cell + n - 10 % n) % n };
                self.color = ColorMode::Cell;
            }
            'm' => match self.most_active_cell() {
                Some(u) => {
                    self.cell = u;
                    self.color = ColorMode::Cell;
                    self.info(format!(
                        "colouring by cell {u} of layer {}, the most active at the cursor",
                        self.layer + 1
                    ));
                }
                None => self.info("no step to pick a cell from yet"),
            },
            'v' => {
                self.preview = !self.preview;
                self.info(if self.preview { "live preview on" } else { "live preview off" });
                if !self.preview {
                    self.edit_at = None;
                }
            }
            'w' => self.save(),
            'o' => {
                self.mode = Mode::Load;
                self.load_editor.clear();
                self.help = false;
            }
            '#' => {
                self.mode = Mode::Cell;
                self.load_editor.clear();
                self.help = false;
            }
            '?' => self.help = true,
            'q' => {
                if self.editor.is_empty() {
                    self.quit = true;
                    return Some(WorkerCmd::Shutdown);
                }
                self.info("q quits on an empty prompt; Ctrl-C always quits");
            }
            _ if self.mode == Mode::Inspect => {
                self.info("in inspect mode letters are controls (? lists them); Tab returns to the prompt")
            }
            _ => {}
        }
        if self.sampling != sampling_before {
            return Some(WorkerCmd::SetSampling(self.sampling));
        }
        None
    }

    /// The unit with the largest |c| at the focused step, in the selected layer.
    pub fn most_active_cell(&self) -> Option<usize> {
        let step = self.steps.get(self.focus()?)?;
        let layer = step.layers.get(self.layer)?;
        layer
            .c
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
    }

    // ---- save ----

    fn save(&mut self) {
        match self.save_files() {
            Ok((txt, jsonl)) => self.info(format!("saved {} and {}", txt.display(), jsonl.display())),
            Err(e) => {
                let parts: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                self.error(format!("save failed: {}", super::text::sanitize_line(&parts.join(": "))));
            }
        }
    }

    /// Write the transcript and its trace, named by the local time, in `save_dir`.
    pub fn save_files(&self) -> anyhow::Result<(PathBuf, PathBuf)> {
        if self.steps.is_empty() {
            anyhow::bail!("nothing to save yet");
        }
        let dir = if self.save_dir.as_os_str().is_empty() { PathBuf::from(".") } else { self.save_dir.clone() };
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let stamp = timestamp();
        let mut n = 1;
        let (txt, jsonl) = loop {
            let base = if n == 1 { format!("gatescope-{stamp}") } else { format!("gatescope-{stamp}-{n}") };
            let (t, j) = (dir.join(format!("{base}.txt")), dir.join(format!("{base}.jsonl")));
            if !t.exists() && !j.exists() {
                break (t, j);
            }
            n += 1;
        };
        crate::atomic::check_destination(&txt)?;
        crate::atomic::check_destination(&jsonl)?;
        let mut trace = crate::trace::TraceWriter::create(&jsonl)?;
        for s in &self.steps {
            trace.write(&s.to_json_line())?;
        }
        let text: String = self.steps.iter().map(|s| s.ch).collect();
        crate::atomic::write_atomic(&txt, text.as_bytes())?;
        trace.finish()?;
        Ok((txt, jsonl))
    }
}

fn round2(x: f32) -> f32 {
    (x * 100.0).round() / 100.0
}

const TOP_KS: [usize; 10] = [0, 1, 2, 3, 5, 10, 20, 40, 80, 160];

fn step_top_k(k: usize, up: bool) -> usize {
    // 0 (all) sits above every limit: K from "all" stays, k from "all" goes to 160.
    let pos = TOP_KS.iter().position(|&x| x >= k && x != 0).unwrap_or(TOP_KS.len() - 1);
    if k == 0 {
        return if up { 0 } else { TOP_KS[TOP_KS.len() - 1] };
    }
    if up {
        if pos + 1 >= TOP_KS.len() {
            0
        } else {
            TOP_KS[pos + 1]
        }
    } else if pos <= 1 {
        1
    } else {
        TOP_KS[pos - 1]
    }
}

/// Local time as YYYYMMDD-HHMMSS.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let t = secs as libc::time_t;
    // SAFETY: localtime_r writes into the tm we own and reads only `t`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return format!("{secs}");
    }
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}
