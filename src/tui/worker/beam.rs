//! Beam search in the playground, in the worker: the prompt is read as for
//! any request, then the search takes one step per unit of work (so a new
//! command, Esc or an edit, is taken between steps), and the first beam's
//! characters are read on as generated, with teacher forcing, so each has
//! its real gates.

use super::{Flow, Worker};
use crate::generate::beam::BeamSearch;

/// A request's beam search: its width until the prompt is read, then the
/// search under way.
pub(super) enum Beam {
    Width(usize),
    Search(BeamSearch),
}

impl Worker {
    /// Replace the live request with a beam search of `width` beams for
    /// `length` characters after `prompt`.
    pub fn start_beam(&mut self, id: u64, prompt: &str, length: usize, width: usize) -> Flow {
        let flow = self.start(id, prompt, length);
        if let Some(job) = self.job.as_mut() {
            job.beam = Some(Beam::Width(width));
        }
        flow
    }

    /// One step of the search (begun from where the prompt left the
    /// generator); after the last, its first beam is what the job reads on.
    pub(super) fn beam_step(&mut self) -> Flow {
        let Some(job) = self.job.as_mut() else { return Flow::Continue };
        if let Some(Beam::Width(width)) = job.beam {
            match BeamSearch::new(&self.generator, width, job.remaining) {
                Ok(s) => job.beam = Some(Beam::Search(s)),
                Err(e) => return self.fail(&e),
            }
        }
        let Some(Beam::Search(search)) = job.beam.as_mut() else { return Flow::Continue };
        if let Err(e) = search.step(self.generator.model()) {
            return self.fail(&e);
        }
        if search.done() {
            let vocab = &self.generator.model().vocab;
            job.forced = search.best().into_iter().map(|id| vocab.char(id)).collect();
            job.beam = None;
        }
        Flow::Continue
    }
}
