//! The current run: which request is live, its steps (a bounded ring), its
//! state and its speed. Steps of any other request are stale and dropped.

use super::branches::Tree;
use crate::generate::Step;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// The step ring's memory budget. A step holds i, f, g, o, c and h for
/// every layer (`Step::heap_bytes`): ~24 KB for a 2x512 model, so 256 MB
/// keeps ~10,800 steps of it; small models are capped at `MAX_STEPS` (a long
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
    Idle,
    Generating,
    Paused,
}

/// Generated characters per second, measured over half-second windows.
#[derive(Debug, Clone, Default)]
struct Rate {
    per_sec: f32,
    since: Option<Instant>,
    count: usize,
}

impl Rate {
    fn count(&mut self, now: Instant) {
        let t0 = *self.since.get_or_insert(now);
        self.count += 1;
        let dt = now.saturating_duration_since(t0).as_secs_f32();
        if dt >= 0.5 {
            self.per_sec = self.count as f32 / dt;
            self.since = Some(now);
            self.count = 0;
        } else if self.per_sec == 0.0 && dt > 0.05 {
            // A first figure before the first full window.
            self.per_sec = self.count as f32 / dt;
        }
    }
}

pub struct Run {
    /// The run's steps, oldest first, at most `capacity`; shared with the
    /// worker's prompt cache.
    pub steps: VecDeque<Arc<Step>>,
    pub capacity: usize,
    /// Steps of this run dropped from the front of the ring.
    pub dropped: usize,
    last_id: u64,
    /// The request whose steps are accepted; any other id is stale.
    pub active: Option<u64>,
    pub kind: RunKind,
    /// The prompt this run started from.
    pub prompt: String,
    pub state: RunState,
    /// The state to go back to when inspect ends.
    pub resume_to: Option<RunState>,
    rate: Rate,
    /// Whether a full run's steps have been written by a save since it began.
    pub saved: bool,
    /// Which history the steps are: it changes whenever they are cleared.
    pub history: u64,
    /// The branch tree the steps are a branch of (its `shown`), if the run
    /// has branches; any other new run clears it with the steps.
    pub tree: Option<Tree>,
}

impl Default for Run {
    fn default() -> Self {
        Self {
            steps: VecDeque::new(),
            capacity: MAX_STEPS,
            dropped: 0,
            last_id: 0,
            active: None,
            kind: RunKind::Full,
            prompt: String::new(),
            state: RunState::Idle,
            resume_to: None,
            rate: Rate::default(),
            saved: true,
            history: 0,
            tree: None,
        }
    }
}

impl Run {
    /// Generated characters per second (0 until measured).
    pub fn rate(&self) -> f32 {
        self.rate.per_sec
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, RunState::Generating | RunState::Paused)
    }

    /// Whether the live request is still reading its prompt: generating,
    /// with no character generated yet.
    pub fn reading_prompt(&self) -> bool {
        self.state == RunState::Generating && self.continuation().is_none()
    }

    /// `history` once the run has generated a character (steps are the
    /// prompt's, then the continuation's), else None: the main loop draws
    /// the first character of each continuation without waiting for a frame.
    pub fn continuation(&self) -> Option<u64> {
        self.steps.back().is_some_and(|s| !s.is_prompt).then_some(self.history)
    }

    /// A full continuation that no save has written yet.
    pub fn unsaved(&self) -> bool {
        self.kind == RunKind::Full && !self.steps.is_empty() && !self.saved
    }

    /// Forget the run's steps (the request ids keep counting).
    pub fn clear(&mut self) {
        *self = Run { last_id: self.last_id, history: self.history + 1, capacity: MAX_STEPS, ..Run::default() };
    }

    /// Begin a new request for `prompt`; returns its id.
    pub fn begin(&mut self, kind: RunKind, prompt: String) -> u64 {
        self.clear();
        self.last_id += 1;
        self.active = Some(self.last_id);
        self.kind = kind;
        self.prompt = prompt;
        self.state = RunState::Generating;
        self.saved = kind == RunKind::Preview;
        self.last_id
    }

    /// Take a step of request `id`. Returns how many old steps were dropped
    /// from the front (0 or 1), so that indices into `steps` can follow.
    pub fn accept(&mut self, id: u64, step: Arc<Step>, now: Instant) -> Option<usize> {
        if self.active != Some(id) {
            return None;
        }
        if self.steps.is_empty() && self.dropped == 0 {
            self.capacity = ring_capacity(step.heap_bytes());
        }
        if !step.is_prompt {
            self.rate.count(now);
        }
        let mut shifted = 0;
        if self.steps.len() >= self.capacity {
            self.steps.pop_front();
            self.dropped += 1;
            shifted = 1;
        }
        self.steps.push_back(step);
        Some(shifted)
    }

    /// Request `id` has ended.
    pub fn done(&mut self, id: u64) {
        if self.active == Some(id) {
            if self.state == RunState::Paused {
                self.resume_to = Some(RunState::Idle);
            } else {
                self.state = RunState::Idle;
            }
        }
    }

    /// Stop the live request: from here on its steps are stale. Returns
    /// whether anything was running.
    pub fn stop(&mut self) -> bool {
        self.resume_to = None;
        if !self.is_running() {
            return false;
        }
        self.state = RunState::Idle;
        self.active = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn step(t: usize, is_prompt: bool) -> Arc<Step> {
        Arc::new(Step { t, ch: 'a', is_prompt, prob: None, layers: Vec::new(), top: Vec::new() })
    }

    /// What the main loop draws at once: each run's first generated
    /// character, told apart from the last run's.
    #[test]
    fn a_continuation_is_named_by_its_run() {
        let (mut run, now) = (Run::default(), Instant::now());
        let id = run.begin(RunKind::Preview, "ab".into());
        run.accept(id, step(0, true), now);
        run.accept(id, step(1, true), now);
        assert_eq!(run.continuation(), None, "the prompt alone");
        run.accept(id, step(2, false), now);
        let first = run.continuation().expect("a generated character");
        run.accept(id, step(3, false), now);
        assert_eq!(run.continuation(), Some(first), "the same continuation");
        let id = run.begin(RunKind::Preview, "ab".into());
        assert_eq!(run.continuation(), None);
        run.accept(id, step(0, true), now);
        run.accept(id, step(1, false), now);
        assert!(run.continuation().is_some_and(|c| c != first), "a new run's continuation is another");
    }

    #[test]
    fn the_rate_reads_the_given_clock() {
        let t0 = Instant::now();
        let mut r = Rate::default();
        for k in 0..=100 {
            r.count(t0 + Duration::from_millis(10 * k));
        }
        // 50 steps per 0.5 s window: 100 per second, whatever the wall clock did.
        assert!((r.per_sec - 100.0).abs() < 1.0, "{}", r.per_sec);
    }
}
