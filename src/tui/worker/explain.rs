//! The playground's explain panel, computed in the worker: it needs the
//! weights. The model reads the request's text from a zero state, without
//! interventions, as `gatescope explain` does, and the answer is
//! `analysis::explain_run` over the gates of that reading.
//!
//! The gates of the text read last are kept, with the state after it, so a
//! cursor moved back, or on by a few characters, or another unit at the
//! same cursor costs no new reading (or only the new characters). A text
//! that leaves the kept one before the step is read again from where they
//! part: each kept step holds every layer's h and c, which is the state
//! to go on from. Reading goes `PROMPT_CHUNK` characters per unit of work,
//! so a new command (a keystroke's preview, or the next cursor position)
//! waits at most one chunk.

use super::{one_line, Flow, Worker, PROMPT_CHUNK};
use crate::analysis::{encode, explain::explain_run};
use crate::model::lstm::LayerGates;
use crate::model::{LstmState, Unit};
use crate::tui::event::WorkerEvent;

/// One request waiting for its answer.
struct Request {
    id: u64,
    text: Vec<char>,
    step: usize,
    unit: Unit,
    top: usize,
}

/// The request waiting (the newest replaces an older one) and the reading
/// kept for the next.
#[derive(Default)]
pub(super) struct ExplainWork {
    request: Option<Request>,
    /// The characters read from a zero state, their ids, every layer's
    /// gates after each, and the state after the last.
    chars: Vec<char>,
    ids: Vec<i64>,
    layers: Vec<Vec<LayerGates>>,
    state: Option<LstmState>,
}

impl ExplainWork {
    pub(super) fn pending(&self) -> bool {
        self.request.is_some()
    }

    pub(super) fn ask(&mut self, id: u64, text: String, step: usize, unit: Unit, top: usize) {
        self.request = Some(Request { id, text: text.chars().collect(), step, unit, top });
    }

    /// Other weights: nothing read so far holds; a waiting request stays,
    /// to be read afresh.
    pub(super) fn forget_reading(&mut self) {
        let request = self.request.take();
        *self = Self { request, ..Self::default() };
    }

    /// Keep the first `n` characters read; the state after them is the
    /// kept step's h and c (a zero state for none).
    fn keep(&mut self, n: usize) {
        self.chars.truncate(n);
        self.ids.truncate(n);
        self.layers.truncate(n);
        self.state = self.layers.last().map(|l| LstmState::after(l));
    }
}

impl Worker {
    /// One unit of the waiting request: a chunk of its text read, or its answer.
    pub(super) fn explain_step(&mut self) -> Flow {
        let Some(req) = self.explain.request.take() else { return Flow::Continue };
        let model = self.generator.model();
        let w = &mut self.explain;
        let (id, need) = (req.id, req.step + 1);
        if req.step >= req.text.len() {
            let message = format!("step {} is outside the text of {} characters", req.step, req.text.len());
            return self.explain_answer(id, Err(message));
        }
        let common = w.chars.iter().zip(&req.text).take_while(|(a, b)| a == b).count();
        if common < w.chars.len() && common < need {
            w.keep(common);
        }
        if w.chars.len() >= need {
            let layers: Vec<&[LayerGates]> = w.layers.iter().map(|l| &l[..]).collect();
            let result = explain_run(model, &w.ids, &layers, req.step, req.unit, req.top)
                .map(Box::new)
                .map_err(|e| one_line(&e));
            return self.explain_answer(id, result);
        }
        let (from, to) = (w.chars.len(), (w.chars.len() + PROMPT_CHUNK).min(need));
        let ids = match encode(&model.vocab, &req.text[from..to], "the text to explain") {
            Ok(ids) => ids,
            Err(e) => return self.explain_answer(id, Err(one_line(&e))),
        };
        let state = w.state.get_or_insert_with(|| LstmState::zeros(&model.dims));
        let stepper = self.generator.stepper();
        let outs = crate::model::on_all_cores(|| stepper.read_faster(model, &ids, state));
        w.layers.extend(outs.into_iter().map(|o| o.layers));
        w.chars.extend_from_slice(&req.text[from..to]);
        w.ids.extend(ids);
        w.request = Some(req);
        Flow::Continue
    }

    fn explain_answer(&mut self, id: u64, result: Result<Box<crate::analysis::explain::Explanation>, String>) -> Flow {
        self.send(WorkerEvent::Explained { id, result })
    }
}
