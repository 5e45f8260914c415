//! Branches in the playground: choosing a candidate in the next-character
//! panel, branching with it, and moving between branches. The tree itself
//! is plain data (`branches.rs`) and lives in the run (`Run::tree`), so a
//! run that is not one of its branches clears it with the steps.

use super::branches::Tree;
use super::{ring_capacity, App, Mode, RunKind};
use crate::generate::Step;
use crate::tui::keys::Action;
use crate::tui::text::char_label;
use crate::tui::worker::WorkerCmd;
use std::sync::Arc;

impl App {
    pub(super) fn branch_action(&mut self, action: Action) -> Option<WorkerCmd> {
        match action {
            Action::Choose(by) => {
                self.choose(by);
                None
            }
            Action::Sibling(by) => self.sibling(by as i32),
            Action::ParentBranch => self.parent_branch(),
            _ => None,
        }
    }

    /// The step index (t) of the focused step.
    fn focus_t(&self) -> usize {
        self.focus().and_then(|i| self.run.steps.get(i)).map_or(0, |s| s.t)
    }

    /// Move the choice in the next-character panel: ↓ from none is the
    /// likeliest, ↑ from the likeliest is none again.
    fn choose(&mut self, by: i8) {
        let Some(step) = self.focus().and_then(|i| self.run.steps.get(i)).cloned() else { return };
        let n = step.top.len();
        if n == 0 {
            self.info("no candidates at this step");
            return;
        }
        self.view.choice = match (self.view.choice, by > 0) {
            (None, true) => Some(0),
            (None, false) | (Some(0), false) => None,
            (Some(k), true) => Some((k + 1).min(n - 1)),
            (Some(k), false) => Some(k.min(n) - 1),
        };
        match self.view.choice.and_then(|k| step.top.get(k)) {
            Some(&(c, p)) => self.info(format!(
                "Enter: {} ({:.1}%) after t={} as a new branch, then generate on",
                char_label(c),
                p * 100.0,
                step.t
            )),
            None => self.info("no candidate chosen: Enter generates from the prompt"),
        }
    }

    /// Enter in inspect mode with a candidate chosen: it becomes the next
    /// character after the cursor's step, and the model generates on from
    /// there with the current sampling. The worker reads the prompt (up to
    /// the cursor, when the cursor is in it), then consumes the text up to
    /// the cursor and the chosen character as forced characters.
    pub(super) fn branch_with_choice(&mut self, rank: usize) -> Option<WorkerCmd> {
        let i = self.focus()?;
        let step = self.run.steps.get(i)?.clone();
        let &(c, _) = step.top.get(rank)?;
        if self.run.dropped > 0 {
            self.error(format!(
                "the history has dropped this run's first {} steps; a branch needs the whole text",
                self.run.dropped
            ));
            return None;
        }
        let text: Vec<char> = self.run.steps.iter().take(i + 1).map(|s| s.ch).collect();
        let prompt_len = self.run.steps.iter().take_while(|s| s.is_prompt).count();
        let cut = prompt_len.min(i + 1);
        let prompt: String = text[..cut].iter().collect();
        let mut forced: String = text[cut..].iter().collect();
        forced.push(c);
        self.commit_branch();
        let mut tree = self.run.tree.take()?;
        let branch = tree.add(step.t);
        let id = self.run.begin(RunKind::Full, prompt.clone());
        self.run.tree = Some(tree);
        self.run_started();
        self.analyses.search.clear();
        self.view.scroll = 0;
        self.view.cursor = 0;
        self.view.choice = None;
        self.mode = Mode::Typing;
        self.info(format!("branch {branch}: {} after t={}, generating on", char_label(c), step.t));
        Some(WorkerCmd::Branch { id, prompt, forced, length: self.length, sampling: self.sampling })
    }

    /// Write the run's steps into the branch on screen (making the tree,
    /// with the run as its root, when there is none), then keep the tree
    /// within its bounds.
    pub(super) fn commit_branch(&mut self) {
        let steps: Vec<Arc<Step>> = self.run.steps.iter().cloned().collect();
        let capacity = self.run.capacity;
        match self.run.tree.as_mut() {
            Some(t) => {
                let shown = t.shown;
                t.set_steps(shown, steps);
                t.trim(capacity);
            }
            None => self.run.tree = Some(Tree::new(self.run.prompt.clone(), steps)),
        }
    }

    /// Put branch `id` on screen: the run becomes its steps (a run still
    /// generating is stopped first, and keeps what it had).
    pub(super) fn show_branch(&mut self, id: usize) -> Option<WorkerCmd> {
        let stopped = self.run.stop();
        self.commit_branch();
        self.load_branch(id);
        stopped.then_some(WorkerCmd::Stop)
    }

    /// The run becomes branch `id`'s steps, as they are in the tree.
    pub(super) fn load_branch(&mut self, id: usize) {
        let Some(mut tree) = self.run.tree.take() else { return };
        tree.shown = id;
        let steps = tree.steps(id).to_vec();
        let (saved, cursor) = (self.run.saved, self.view.cursor);
        self.run.clear();
        self.run.kind = RunKind::Full;
        self.run.saved = saved;
        self.run.prompt = steps.iter().filter(|s| s.is_prompt).map(|s| s.ch).collect();
        if let Some(first) = steps.first() {
            self.run.dropped = first.t;
            self.run.capacity = ring_capacity(first.heap_bytes());
        }
        let len = steps.len();
        self.run.steps = steps.into();
        self.run.tree = Some(tree);
        self.interventions.compare = None;
        self.interventions.compare_shown = false;
        self.analyses.search.clear();
        self.view.cursor = cursor.min(len.saturating_sub(1));
        self.view.scroll = 0;
        self.view.choice = None;
    }

    fn sibling(&mut self, by: i32) -> Option<WorkerCmd> {
        let Some(tree) = self.run.tree.as_ref() else {
            self.info("no branches: in inspect mode (Tab) ↑↓ choose a next character and Enter branches");
            return None;
        };
        let Some((id, _)) = tree.sibling(self.focus_t(), by) else {
            self.info("no branch point on this text");
            return None;
        };
        let cmd = self.show_branch(id);
        if let Some(s) = self.branch_status() {
            self.info(s);
        }
        cmd
    }

    fn parent_branch(&mut self) -> Option<WorkerCmd> {
        let parent = self.run.tree.as_ref().and_then(|t| t.get(t.shown)).map(|b| b.parent);
        match parent {
            None => {
                self.info("no branches: in inspect mode (Tab) ↑↓ choose a next character and Enter branches");
                None
            }
            Some(None) => {
                self.info("the first branch has no parent");
                None
            }
            Some(Some(p)) => {
                let cmd = self.show_branch(p);
                self.info(format!("the parent branch ({})", self.branch_status().unwrap_or_default()));
                cmd
            }
        }
    }

    /// `branch 2/3 at t=57`: the branch point nearest the focused step,
    /// how many branches it has and which of them is on screen.
    pub fn branch_status(&self) -> Option<String> {
        let p = self.run.tree.as_ref()?.point_near(self.focus_t())?;
        Some(format!("branch {}/{} at t={}", p.on + 1, p.members.len(), p.at))
    }

    /// The steps after which the text on screen has alternatives.
    pub fn branch_points(&self) -> Vec<usize> {
        self.run.tree.as_ref().map(|t| t.points().iter().map(|p| p.at).collect()).unwrap_or_default()
    }
}
