//! Samples side by side: three continuations of the prompt with seeds s,
//! s+1 and s+2, generated one after another by the model worker (it runs
//! one request at a time) and shown in three columns. Choosing one makes
//! it the continuation; the others become its siblings in the branch tree,
//! all three branching after the prompt's last character.

use super::branches::Tree;
use super::{App, Mode, RunKind};
use crate::generate::Step;
use crate::tui::keys::Action;
use crate::tui::worker::WorkerCmd;
use std::sync::Arc;

/// How many continuations side by side.
pub const COLUMNS: usize = 3;

#[derive(Debug, Clone)]
pub struct Samples {
    pub prompt: String,
    /// The first column's seed; column k has seed + k (wrapping past 2^64 − 1).
    pub seed: u64,
    /// The columns generated so far (the one generating is the run's steps).
    pub done: Vec<Vec<Arc<Step>>>,
    /// The column the run is generating, if any.
    pub live: Option<usize>,
    /// The column Enter would choose.
    pub selected: usize,
}

impl Samples {
    pub fn seed_of(&self, column: usize) -> u64 {
        self.seed.wrapping_add(column as u64)
    }
}

impl App {
    pub(super) fn samples_action(&mut self, action: Action) -> Option<WorkerCmd> {
        match action {
            Action::Samples => self.start_samples(),
            Action::Column(by) => {
                if let Some(s) = self.samples.as_mut() {
                    s.selected = s.selected.saturating_add_signed(by as isize).min(COLUMNS - 1);
                }
                None
            }
            Action::Submit => self.choose_sample(),
            Action::Cancel => match self.samples.as_ref().is_some_and(|s| s.live.is_some()) {
                true => self.stop_samples(),
                false => self.choose_sample(),
            },
            _ => None,
        }
    }

    /// The key: three continuations of the prompt in the box.
    fn start_samples(&mut self) -> Option<WorkerCmd> {
        let prompt = self.prompt.text().to_string();
        if prompt.is_empty() {
            self.error("type a prompt first");
            return None;
        }
        if !self.prompt.unknown_chars().is_empty() {
            self.error("the prompt has characters the model does not know");
            return None;
        }
        self.prompt.remember();
        self.view.choice = None;
        self.samples = Some(Samples { prompt, seed: self.sampling.seed, done: Vec::new(), live: None, selected: 0 });
        self.mode = Mode::Samples;
        self.next_sample()
    }

    /// Begin the next column's run, if a column is left.
    fn next_sample(&mut self) -> Option<WorkerCmd> {
        let s = self.samples.as_mut()?;
        let k = s.done.len();
        if k >= COLUMNS {
            s.live = None;
            return None;
        }
        s.live = Some(k);
        let (prompt, seed) = (s.prompt.clone(), s.seed_of(k));
        let sampling = crate::model::sample::Sampling { seed, ..self.sampling };
        self.view.cursor = 0;
        self.view.scroll = 0;
        self.analyses.search.clear();
        let id = self.run.begin(RunKind::Full, prompt.clone());
        self.run_started();
        self.interventions.ran_sampling = sampling;
        Some(WorkerCmd::Start { id, prompt, length: self.length, sampling })
    }

    /// The run `id` ended: a column generating is done, and the next begins.
    pub(super) fn sample_done(&mut self, id: u64) -> Option<WorkerCmd> {
        let live = self.samples.as_ref().is_some_and(|s| s.live.is_some());
        if !live || self.run.active != Some(id) {
            return None;
        }
        let steps: Vec<Arc<Step>> = self.run.steps.iter().cloned().collect();
        if let Some(s) = self.samples.as_mut() {
            s.done.push(steps);
        }
        self.next_sample()
    }

    /// A column's run failed: the columns stop where they are.
    pub(super) fn sample_failed(&mut self) {
        if let Some(s) = self.samples.as_mut() {
            s.live = None;
        }
    }

    /// Esc while generating: keep the columns done and the one under way.
    fn stop_samples(&mut self) -> Option<WorkerCmd> {
        let steps: Vec<Arc<Step>> = self.run.steps.iter().cloned().collect();
        if let Some(s) = self.samples.as_mut() {
            if s.live.take().is_some() && !steps.is_empty() {
                s.done.push(steps);
            }
        }
        self.info("samples stopped: ← → pick one, Enter keeps it");
        self.run.stop().then_some(WorkerCmd::Stop)
    }

    /// Enter: the chosen column becomes the continuation on screen, the
    /// others its siblings after the prompt (column k is branch k).
    fn choose_sample(&mut self) -> Option<WorkerCmd> {
        let stop = match self.samples.as_ref().is_some_and(|s| s.live.is_some()) {
            true => self.stop_samples(),
            false => None,
        };
        let s = self.samples.take()?;
        self.mode = Mode::Typing;
        let seed = s.seed;
        let mut columns = s.done.into_iter().filter(|c| !c.is_empty());
        let Some(first) = columns.next() else {
            self.info("no sample to keep");
            return stop;
        };
        let at = s.prompt.chars().count().saturating_sub(1);
        let mut tree = Tree::new(s.prompt.clone(), first);
        for steps in columns {
            tree.shown = 0;
            let id = tree.add(at);
            tree.set_steps(id, steps);
        }
        let chosen = s.selected.min(tree.len() - 1);
        self.run.tree = Some(tree);
        self.load_branch(chosen);
        self.run.saved = false;
        self.info(format!("kept the sample of seed {} (branch {})", seed.wrapping_add(chosen as u64), chosen));
        stop
    }
}
