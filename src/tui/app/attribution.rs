//! The attribution colouring: which earlier characters the prediction at
//! the inspect cursor rests on, as `gatescope attribute` computes it.
//!
//! The prediction is of the character after the cursor: the one the text
//! has there, or the candidate chosen in the next-character panel (↑↓),
//! or the likeliest when the text ends at the cursor. With the explain
//! panel open, the explained unit's c at the cursor is attributed instead.
//! The text is the steps the ring holds, read from a zero state, as for
//! the memory colouring. The first press of the key colours by gradient ×
//! input, which is quick; the second by integrated gradients; the third
//! goes back to the unit's activation.
//!
//! The worker computes it a pass at a time; the app asks from `tick`
//! whenever the cursor, the target, the method or the run changes
//! (`asked.rs`).

use super::asked::Asked;
use super::{App, ColorMode, Panel};
use crate::analysis::attribution::{Attribution, Method, UnitTarget};
use crate::analysis::State;
use crate::tui::keys::Action;
use crate::tui::text::char_label;
use crate::tui::worker::{AttributeTarget, WorkerCmd};

/// Midpoint steps of integrated gradients: `gatescope attribute`'s default,
/// so the colouring's numbers are the command's.
pub const IG_STEPS: usize = crate::analysis::attribution::DEFAULT_IG_STEPS;

/// What an attribution is of: the run (its history and dropped steps),
/// the step (an index into the ring), what is attributed and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributionKey {
    pub history: u64,
    pub dropped: usize,
    pub step: usize,
    pub target: AttributeTarget,
    pub method: Method,
}

/// The request sent last and the newest answer.
pub type AttributionState = Asked<AttributionKey, Attribution>;

impl App {
    /// What the attribution at the cursor would be of, with `method`.
    fn attribution_key(&self, method: Method) -> Option<AttributionKey> {
        let step = self.focus()?;
        let target = if self.view.panel == Panel::Explain {
            AttributeTarget::Unit(UnitTarget { unit: self.view.unit(), state: State::C })
        } else {
            let chosen = self.view.choice.and_then(|k| self.run.steps.get(step)?.top.get(k)).map(|&(c, _)| c);
            AttributeTarget::Next(chosen)
        };
        Some(AttributionKey { history: self.run.history, dropped: self.run.dropped, step, target, method })
    }

    /// The attribution the screen needs now: in inspect mode, with the text
    /// coloured by attribution.
    fn attribution_wanted(&self) -> Option<AttributionKey> {
        let ColorMode::Attribution(method) = self.view.color else { return None };
        self.inspecting().then(|| self.attribution_key(method)).flatten()
    }

    /// The answer for the cursor as it is, if it has come.
    pub fn attribution(&self) -> Option<&Result<Attribution, String>> {
        let key = self.attribution_wanted()?;
        self.attribution.get(key)
    }

    /// Whether the screen needs an attribution not yet asked for.
    pub(super) fn attribution_owed(&self) -> bool {
        self.attribution_wanted().is_some_and(|key| self.attribution.owed(key))
    }

    /// The request for the attribution the screen needs, unless it is
    /// answered or asked for already. The text runs to the step after the
    /// cursor when the ring has it: that character is the default target.
    pub(super) fn attribution_request(&mut self) -> Option<WorkerCmd> {
        if !self.attribution_owed() {
            return None;
        }
        let key = self.attribution_wanted()?;
        let id = self.attribution.ask(key);
        let text: String = self.run.steps.iter().take(key.step + 2).map(|s| s.ch).collect();
        Some(WorkerCmd::Attribute { id, text, step: key.step, target: key.target, method: key.method })
    }

    /// The worker's answer to request `id`; kept if it is the newest asked.
    pub(super) fn attributed(&mut self, id: u64, result: Result<Box<Attribution>, String>) {
        self.attribution.answered(id, result.map(|a| *a));
    }

    /// The worker dropped request `id` unanswered: ask again if it is still wanted.
    pub(super) fn attribution_dropped(&mut self, id: u64) {
        self.attribution.dropped(id);
    }

    /// The colouring key: grad, then integrated gradients, then the unit's
    /// activation again.
    pub(super) fn attribution_action(&mut self, action: Action) -> Option<WorkerCmd> {
        if action != Action::AttributionColour {
            return None;
        }
        let what = if self.view.panel == Panel::Explain {
            format!("{} c at the cursor", self.view.unit())
        } else {
            match self.view.choice.and_then(|k| self.focus().and_then(|i| self.run.steps.get(i)?.top.get(k))) {
                Some(&(c, _)) => format!("the prediction of {} after the cursor", char_label(c)),
                None => "the prediction after the cursor (↑↓ choose another character)".into(),
            }
        };
        self.view.color = match self.view.color {
            ColorMode::Attribution(Method::Grad) => {
                self.info(format!("integrated gradients ({IG_STEPS} steps) of {what}; A again: off"));
                ColorMode::Attribution(Method::Ig(IG_STEPS))
            }
            ColorMode::Attribution(Method::Ig(_)) => ColorMode::Cell,
            _ => {
                self.info(format!("gradient × input of {what}; A again: integrated gradients"));
                ColorMode::Attribution(Method::Grad)
            }
        };
        None
    }
}
