//! The playground's attribution colouring, computed in the worker: it
//! needs the weights and their gradients. The model reads the request's
//! text from a zero state, without interventions, as `gatescope attribute`
//! does, and the answer is `analysis::attribution` of the prediction (or
//! the unit's c) at the request's step.
//!
//! One pass of the computation (a forward and a backward over a few scaled
//! copies of the input) is one unit of work, so the worker looks at its
//! commands between passes: a newer request replaces the one under way, and
//! a new run (typing, Enter, a branch, a load) drops it, since its answer
//! would be of a text no longer on screen.

use super::{one_line, Flow, Worker};
use crate::analysis::attribution::{Attribution, Attributor, Method, Target, UnitTarget};
use crate::analysis::encode;
use crate::tui::event::WorkerEvent;

/// Scaled copies per pass for integrated gradients: M = 32 and the two
/// rows for f_x and f_baseline in two passes, of 18 and 16 copies, so each
/// pass's backward takes 16 (whole blocks of the product kernel's four
/// vectors). The worker looks at its commands between passes, so a request
/// is dropped within one pass (about 0.7 s for a 500-character text on the
/// shipped model, on two cores); smaller passes would answer a new command
/// sooner but read the matrices more often: passes of 10 took 1.51 s in
/// all where passes of 18 took 1.35 s (docs/performance.md).
pub const COPIES_PER_PASS: usize = 18;

/// What is attributed, as the app names it: the prediction of the character
/// after the step (None: the text's next character when it has one, else
/// the model's likeliest), or one unit's state at the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeTarget {
    Next(Option<char>),
    Unit(UnitTarget),
}

/// The request under way: its id and its passes.
struct Request {
    id: u64,
    work: Attributor,
}

#[derive(Default)]
pub(super) struct AttributeWork {
    request: Option<Request>,
}

impl AttributeWork {
    pub(super) fn pending(&self) -> bool {
        self.request.is_some()
    }
}

impl Worker {
    /// Plan request `id`; a bad one is answered at once.
    pub(super) fn ask_attribution(
        &mut self,
        id: u64,
        text: &str,
        step: usize,
        target: AttributeTarget,
        method: Method,
    ) {
        let model = self.generator.model();
        let planned = (|| {
            let chars: Vec<char> = text.chars().collect();
            let ids = encode(&model.vocab, &chars, "the text to attribute")?;
            let target = match target {
                AttributeTarget::Next(None) => Target::Next(None),
                AttributeTarget::Next(Some(c)) => Target::Next(Some(
                    model.vocab.id(c).ok_or_else(|| anyhow::anyhow!("{c:?} is not in the model's vocabulary"))?,
                )),
                AttributeTarget::Unit(u) => Target::Unit(u),
            };
            Attributor::new(model, &ids, step, target, method, COPIES_PER_PASS)
        })();
        match planned {
            Ok(work) => self.attribution.request = Some(Request { id, work }),
            Err(e) => {
                self.attribution.request = None;
                let _ = self.send(WorkerEvent::Attributed { id, result: Err(one_line(&e)) });
            }
        }
    }

    /// A new run makes the request's text stale: drop it, and say so, so
    /// that the app asks again if it still wants it.
    pub(super) fn drop_attribution(&mut self) {
        if let Some(req) = self.attribution.request.take() {
            let _ = self.send(WorkerEvent::AttributionDropped { id: req.id });
        }
    }

    /// One pass of the request under way, or its answer after the last.
    pub(super) fn attribution_step(&mut self) -> Flow {
        let Some(mut req) = self.attribution.request.take() else { return Flow::Continue };
        let (model, stepper) = (self.generator.model(), self.generator.stepper());
        // On every core, as a prompt chunk is read: a pass's products are
        // big enough to share (2.4 times as fast on two cores, docs/performance.md).
        let result: Result<Box<Attribution>, String> =
            match crate::model::on_all_cores(|| req.work.pass(model, stepper)) {
                Ok(false) => {
                    self.attribution.request = Some(req);
                    return Flow::Continue;
                }
                Ok(true) => req.work.finish().map(Box::new).map_err(|e| one_line(&e)),
                Err(e) => Err(one_line(&e)),
            };
        self.send(WorkerEvent::Attributed { id: req.id, result })
    }
}
