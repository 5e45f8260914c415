//! The explain panel and the memory colouring: which explanation the
//! screen needs, the request for it, and the worker's answer.
//!
//! Both show `analysis::explain` of the colouring unit at the inspect
//! cursor: the model reading the run's text from a zero state up to the
//! cursor, without interventions, as `gatescope explain` does. The text is
//! the steps the ring holds; when it has dropped the run's first steps, the
//! reading starts at the first kept one (the panel says so). The worker
//! computes it (the UI holds no weights): the app sends a request whenever
//! the cursor, the unit or the run changes, from `tick`, so a key held down
//! sends one request per frame, the newest replacing any the worker has not
//! answered, and typing never waits for it.

use super::asked::Asked;
use super::{App, ColorMode, Mode, Panel};
use crate::analysis::explain::Explanation;
use crate::model::Unit;
use crate::tui::keys::Action;
use crate::tui::worker::WorkerCmd;

/// Terms listed per input of each gate: `gatescope explain`'s default
/// `--top`, so the panel's numbers are the command's.
pub const PANEL_TOP: usize = 5;

/// What an explanation is of: the run (its history and how many of its
/// first steps the ring dropped), the step (an index into the ring, which
/// is the step of the text read) and the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainKey {
    pub history: u64,
    pub dropped: usize,
    pub step: usize,
    pub unit: Unit,
}

#[derive(Debug, Default)]
pub struct ExplainState {
    /// The request sent last and the newest answer.
    pub asked: Asked<ExplainKey, Explanation>,
    /// The unit box (#) was opened from inspect mode with the panel or the
    /// memory colouring on: closing it goes back to the cursor.
    pub cell_box_from_inspect: bool,
}

impl App {
    /// What the explanation at the cursor would be of, whether or not it is
    /// shown.
    pub fn explain_key(&self) -> Option<ExplainKey> {
        let step = self.focus()?;
        Some(ExplainKey { history: self.run.history, dropped: self.run.dropped, step, unit: self.view.unit() })
    }

    /// The explanation the screen needs now: in inspect mode, with the
    /// panel open or the text coloured by memory.
    fn explain_wanted(&self) -> Option<ExplainKey> {
        let shown = self.view.panel == Panel::Explain || self.view.color == ColorMode::Memory;
        (shown && self.inspecting()).then(|| self.explain_key()).flatten()
    }

    /// The answer for the cursor as it is, if it has come.
    pub fn explanation(&self) -> Option<&Result<Explanation, String>> {
        let key = self.explain_key()?;
        self.explain.asked.get(key)
    }

    /// Whether the screen needs an explanation not yet asked for.
    pub(super) fn explain_owed(&self) -> bool {
        self.explain_wanted().is_some_and(|key| self.explain.asked.owed(key))
    }

    /// The request for the explanation the screen needs, unless it is
    /// answered or asked for already.
    pub(super) fn explain_request(&mut self) -> Option<WorkerCmd> {
        if !self.explain_owed() {
            return None;
        }
        let key = self.explain_wanted()?;
        let id = self.explain.asked.ask(key);
        let text: String = self.run.steps.iter().take(key.step + 1).map(|s| s.ch).collect();
        Some(WorkerCmd::Explain { id, text, step: key.step, unit: key.unit, top: PANEL_TOP })
    }

    /// The worker's answer to request `id`; kept if it is the newest asked.
    pub(super) fn explained(&mut self, id: u64, result: Result<Box<Explanation>, String>) {
        self.explain.asked.answered(id, result.map(|e| *e));
    }

    pub(super) fn explain_action(&mut self, action: Action) -> Option<WorkerCmd> {
        match action {
            Action::ExplainPanel if self.view.panel == Panel::Explain => self.view.panel = Panel::Gates,
            Action::ExplainPanel => {
                self.view.panel = Panel::Explain;
                self.info(format!("explaining {} at the cursor (y: next pinned unit, #: any lK:U)", self.view.unit()));
            }
            Action::MemoryColour if self.view.color == ColorMode::Memory => self.view.color = ColorMode::Cell,
            Action::MemoryColour => self.view.color = ColorMode::Memory,
            Action::NextPinned => self.next_pinned(),
            _ => {}
        }
        None
    }

    /// The colouring unit becomes the pinned unit after it (the first when
    /// it is not pinned); the memory colouring stays on.
    fn next_pinned(&mut self) {
        let pins = &self.view.pins;
        if pins.is_empty() {
            self.info("no pinned units: u pins one, # chooses any lK:U");
            return;
        }
        let count = pins.len();
        let k = pins.iter().position(|&p| p == self.view.unit()).map_or(0, |i| (i + 1) % count);
        let next = pins[k];
        let memory = self.view.color == ColorMode::Memory;
        self.view.colour_by(next);
        if memory {
            self.view.color = ColorMode::Memory;
        }
        self.info(format!("{} (pin {} of {count})", self.view.name(next), k + 1));
    }

    /// Where the unit box (#) goes back to when it closes.
    pub(super) fn after_cell_box(&mut self) -> Mode {
        let shown = self.view.panel == Panel::Explain || self.view.color == ColorMode::Memory;
        if std::mem::take(&mut self.explain.cell_box_from_inspect) && shown && !self.run.steps.is_empty() {
            Mode::Inspect
        } else {
            Mode::Typing
        }
    }
}
