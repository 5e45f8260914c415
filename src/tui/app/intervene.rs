//! Interventions from the playground: the editor box that writes
//! one (`lK:U:TARGET OP VALUE[@SPAN]`, validated as it is typed), the list of
//! active ones (they persist across generations until removed), and the
//! compare view's data: the run before an intervention was applied, kept
//! beside the rerun it is compared with.

use super::{App, Mode, RunKind};
use crate::generate::Step;
use crate::model::sample::Sampling;
use crate::model::{Dims, Intervention, Op};
use crate::tui::keys::Action;
use crate::tui::text::sanitize_line;
use crate::tui::worker::WorkerCmd;
use std::collections::VecDeque;
use std::sync::Arc;

/// A baseline run and what the rerun beside it changed.
#[derive(Debug, Clone)]
pub struct Compare {
    /// The run as it was before the intervention was applied, oldest step first.
    pub baseline: Vec<Arc<Step>>,
    /// The interventions the baseline itself ran with (usually none).
    pub baseline_with: Vec<Intervention>,
    /// The intervention whose application started the rerun.
    pub added: Intervention,
    /// The first step the intervention covers: nothing before it can differ.
    pub from: usize,
    /// Row pairs scrolled on from where the view opens (negative: back).
    pub scroll: isize,
}

/// How the two continuations differ, position by position (generated steps
/// present in both runs, matched by t).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diff {
    pub compared: usize,
    pub differing: usize,
    /// The step index t of the first differing character.
    pub first: Option<usize>,
}

/// Compare the generated characters of `baseline` with those of `run` at the same t.
pub fn diff(baseline: &[Arc<Step>], run: &VecDeque<Arc<Step>>) -> Diff {
    let mut d = Diff { compared: 0, differing: 0, first: None };
    let Some(t0) = run.front().map(|s| s.t) else { return d };
    for b in baseline.iter().filter(|s| !s.is_prompt) {
        let Some(r) = b.t.checked_sub(t0).and_then(|i| run.get(i)) else { continue };
        d.compared += 1;
        if r.ch != b.ch {
            d.differing += 1;
            d.first.get_or_insert(b.t);
        }
    }
    d
}

/// The playground's interventions.
#[derive(Debug, Clone)]
pub struct Interventions {
    /// Applied to every new generation, in this order.
    pub active: Vec<Intervention>,
    /// What the run on screen was started with: a save records these.
    pub ran_with: Vec<Intervention>,
    /// The sampling the run on screen was started with: a rerun repeats it.
    pub ran_sampling: Sampling,
    /// The list box's selected row.
    pub selected: usize,
    pub compare: Option<Compare>,
    /// Whether the compare view replaces the output panel.
    pub compare_shown: bool,
    /// The mode the editor or the list returns to (inspect, or typing).
    pub back_to: Mode,
}

impl Default for Interventions {
    fn default() -> Self {
        Self {
            active: Vec::new(),
            ran_with: Vec::new(),
            ran_sampling: Sampling::default(),
            selected: 0,
            compare: None,
            compare_shown: false,
            back_to: Mode::Typing,
        }
    }
}

impl Interventions {
    /// The comparison to draw, if the view is on.
    pub fn shown(&self) -> Option<&Compare> {
        self.compare.as_ref().filter(|_| self.compare_shown)
    }
}

/// One line saying what `iv` does, in words.
pub fn describe(iv: &Intervention) -> String {
    let what = format!("{} of {}", iv.target.letter(), iv.unit);
    let act = match iv.op {
        Op::Set => format!("set {what} to {}", iv.value),
        Op::Add => format!("add {} to {what}", iv.value),
        Op::Scale => format!("scale {what} by {}", iv.value),
    };
    let when = match iv.span {
        None => "at every generated step".to_string(),
        Some(s) => match s.end {
            None => format!("at every step t ≥ {}", s.start),
            Some(e) => format!("at steps {} ≤ t < {e}", s.start),
        },
    };
    format!("{act} {when}")
}

impl App {
    pub(super) fn dims(&self) -> Dims {
        Dims { vocab: self.model.vocab.len(), embed: 0, hidden: self.model.hidden, layers: self.model.layers }
    }

    /// Whether the panels follow the inspect cursor: in inspect mode, and in
    /// the editor opened from it (it names the inspected step).
    pub fn inspecting(&self) -> bool {
        self.mode == Mode::Inspect
            || (self.mode == Mode::Intervene && self.interventions.back_to == Mode::Inspect)
            || (self.mode == Mode::Panel && self.analyses.back_to == Some(Mode::Inspect))
    }

    /// Prompt characters and generated characters of the run on screen.
    fn run_lengths(&self) -> (usize, usize) {
        let prompt = self.run.prompt.chars().count();
        let total = self.run.dropped + self.run.steps.len();
        (prompt, total.saturating_sub(prompt))
    }

    /// The editor's text as an intervention for this model and the run it
    /// would rerun, or why not: what the status line shows as it is typed.
    pub fn intervention_typed(&self) -> Result<Intervention, String> {
        let typed = self.box_editor.text();
        let iv: Intervention = typed.parse().map_err(|e: anyhow::Error| e.to_string())?;
        iv.check(&self.dims()).map_err(|e| e.to_string())?;
        if !self.run.steps.is_empty() {
            let (prompt, generated) = self.run_lengths();
            iv.check_run(prompt, generated).map_err(|e| e.to_string())?;
        }
        Ok(iv)
    }

    /// The actions of this file's keys.
    pub(super) fn intervene_action(&mut self, action: Action) -> Option<WorkerCmd> {
        match action {
            Action::Intervene => self.open_editor(),
            Action::InterventionList if self.interventions.active.is_empty() => {
                self.info("no interventions yet: Alt-i (i in inspect) writes one");
            }
            Action::InterventionList => {
                self.interventions.back_to = if self.mode == Mode::Inspect { Mode::Inspect } else { Mode::Typing };
                self.interventions.selected = self.interventions.selected.min(self.interventions.active.len() - 1);
                self.mode = Mode::Interventions;
            }
            Action::ListMove(by) => {
                let last = self.interventions.active.len().saturating_sub(1);
                self.interventions.selected = self.interventions.selected.saturating_add_signed(by as isize).min(last);
            }
            Action::ListRemove => return self.remove_selected(),
            Action::ClearInterventions if self.interventions.active.is_empty() => {
                self.info("no interventions to clear")
            }
            Action::ClearInterventions => {
                let n = self.interventions.active.len();
                self.interventions.active.clear();
                if self.mode == Mode::Interventions {
                    self.mode = self.interventions.back_to;
                }
                self.info(format!("cleared {n} intervention{}: new generations run without", plural(n)));
                return Some(WorkerCmd::SetInterventions(Vec::new()));
            }
            Action::ToggleCompare if self.interventions.compare.is_none() => {
                self.info("nothing to compare yet: apply an intervention (Alt-i, or i in inspect)");
            }
            Action::ToggleCompare => self.interventions.compare_shown = !self.interventions.compare_shown,
            Action::ScrollBack | Action::ScrollForward => {
                if let Some(c) = self.interventions.compare.as_mut() {
                    c.scroll += if action == Action::ScrollBack { -2 } else { 2 };
                }
            }
            _ => {}
        }
        None
    }

    /// Open the editor on the colouring cell, from the inspected step on (or,
    /// outside inspect mode, over the generated steps).
    fn open_editor(&mut self) {
        let unit = self.view.unit();
        let at = if self.mode == Mode::Inspect { self.focus().and_then(|f| self.run.steps.get(f)) } else { None };
        let text = match at {
            Some(s) => format!("{unit}:c=0@{}..", s.t),
            None => format!("{unit}:c=0"),
        };
        self.interventions.back_to = if self.mode == Mode::Inspect { Mode::Inspect } else { Mode::Typing };
        self.mode = Mode::Intervene;
        self.box_editor.set(&text);
        self.view.help = false;
    }

    /// Enter in the editor: add the intervention and rerun the run on screen
    /// with it (same prompt, length and seed), keeping the run as the
    /// baseline. A refused spec keeps the box open; the status says why.
    pub(super) fn apply_intervention(&mut self) -> Option<WorkerCmd> {
        let iv = match self.intervention_typed() {
            Ok(iv) => iv,
            Err(e) => {
                self.error(format!("not applied: {}", sanitize_line(&e)));
                return None;
            }
        };
        self.interventions.active.push(iv);
        self.mode = Mode::Typing;
        if self.run.steps.is_empty() {
            self.info(format!("added {iv}: new generations use it"));
            return Some(WorkerCmd::SetInterventions(self.interventions.active.clone()));
        }
        let (prompt_len, length) = self.run_lengths();
        let prompt = self.run.prompt.clone();
        let baseline: Vec<Arc<Step>> = std::mem::take(&mut self.run.steps).into();
        let from = iv.span.map_or(prompt_len, |s| s.start);
        self.interventions.compare = Some(Compare {
            baseline,
            baseline_with: std::mem::take(&mut self.interventions.ran_with),
            added: iv,
            from,
            scroll: 0,
        });
        self.interventions.compare_shown = true;
        self.interventions.ran_with = self.interventions.active.clone();
        self.run.stop();
        let id = self.run.begin(RunKind::Full, prompt.clone());
        self.view.cursor = 0;
        self.view.scroll = 0;
        self.prompt.edit_at = None;
        let sampling = self.interventions.ran_sampling;
        self.info(format!("rerunning with {iv} from t={from}, seed {}", sampling.seed));
        Some(WorkerCmd::Rerun { id, prompt, length, sampling, interventions: self.interventions.active.clone() })
    }

    fn remove_selected(&mut self) -> Option<WorkerCmd> {
        if self.interventions.selected >= self.interventions.active.len() {
            return None;
        }
        let gone = self.interventions.active.remove(self.interventions.selected);
        let left = self.interventions.active.len();
        self.interventions.selected = self.interventions.selected.min(left.saturating_sub(1));
        if left == 0 {
            self.mode = self.interventions.back_to;
        }
        self.info(format!("removed {gone}: {left} left for new generations"));
        Some(WorkerCmd::SetInterventions(self.interventions.active.clone()))
    }

    /// Close the editor or the list without a change.
    pub(super) fn close_intervention_box(&mut self) {
        if self.mode == Mode::Intervene {
            self.info("intervention cancelled");
        }
        self.mode = self.interventions.back_to;
    }

    /// A new request begins: it runs with the active list, and the old
    /// comparison no longer describes what is on screen.
    pub(super) fn run_started(&mut self) {
        self.interventions.ran_with = self.interventions.active.clone();
        self.interventions.ran_sampling = self.sampling;
        self.interventions.compare = None;
        self.interventions.compare_shown = false;
    }

    /// Another model: keep the interventions it has units for. Returns the
    /// list for the worker when some were dropped.
    pub(super) fn interventions_for_new_model(&mut self) -> Option<WorkerCmd> {
        let dims = self.dims();
        self.interventions.compare = None;
        self.interventions.compare_shown = false;
        self.interventions.ran_with.clear();
        let before = self.interventions.active.len();
        self.interventions.active.retain(|iv| iv.check(&dims).is_ok());
        let dropped = before - self.interventions.active.len();
        self.interventions.selected = 0;
        if dropped == 0 {
            return None;
        }
        self.error(format!("dropped {dropped} intervention{} on units this model does not have", plural(dropped)));
        Some(WorkerCmd::SetInterventions(self.interventions.active.clone()))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl App {
    /// How a saved page colours the text: by surprise in that mode, else by
    /// the colouring cell's c (the page's default state).
    pub fn page_colouring(&self) -> crate::export::Colouring {
        match self.view.color {
            super::ColorMode::Surprise => crate::export::Colouring::Surprise,
            _ => crate::export::Colouring::Cell { unit: self.view.unit(), state: crate::analysis::State::C },
        }
    }
}
