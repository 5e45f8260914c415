//! The commands the app sends the worker: plain data, one at a time, in
//! order.

use super::Reread;
use crate::model::sample::Sampling;
use crate::model::{Intervention, LoadOptions};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum WorkerCmd {
    /// Forget the current run; read `prompt` from a zero state, then generate
    /// `length` characters. Every step is tagged with `id`.
    Start {
        id: u64,
        prompt: String,
        length: usize,
        sampling: Sampling,
    },
    /// A branch: read `prompt` as `Start` does, then consume `forced` as
    /// generated characters without sampling them (the text up to the
    /// branch point after the prompt, and the chosen character), then
    /// generate `length` more.
    Branch {
        id: u64,
        prompt: String,
        forced: String,
        length: usize,
        sampling: Sampling,
    },
    /// `Start` with a beam search of `width` beams instead of sampling: the
    /// prompt is read, the search runs a step per unit of work, then the
    /// first beam's characters are read as generated (`beam`).
    Beam {
        id: u64,
        prompt: String,
        length: usize,
        width: usize,
    },
    /// Stop the current run (its `Done` follows).
    Stop,
    /// The playground has drawn the live request's first generated
    /// character: the rest of the request may go on (it waits a little for
    /// this, so as not to slow that frame).
    FirstShown,
    /// Hold the current run where it is (inspect mode).
    Pause,
    Resume,
    /// New sampling parameters; they apply to the next character.
    SetSampling(Sampling),
    /// Load another checkpoint (with the vocabulary and module names a
    /// PyTorch .pt file needs); on failure keep the current one.
    Load(PathBuf, LoadOptions),
    /// The interventions for the next requests (the live one keeps the list
    /// it started with, so what a run records is what it ran with).
    SetInterventions(Vec<Intervention>),
    /// `SetInterventions`, then `Start`: an intervention applied from the
    /// playground reruns the run it was set on, with the same seed.
    Rerun {
        id: u64,
        prompt: String,
        length: usize,
        sampling: Sampling,
        interventions: Vec<Intervention>,
    },
    /// The cell catalogue (top `top` units per feature) of the model over
    /// the first `FILE_CHARS` characters of `path` (fewer if it is
    /// shorter); the result comes back as `Cells` or `CellsFailed`.
    FileCells {
        id: u64,
        path: PathBuf,
        top: usize,
    },
    /// Copy the snapshot at `path` (the timeline's `index`) into the loaded
    /// model's tensors and, with `reread`, read that text again through it;
    /// answered by `SnapshotLoaded`, or `LoadFailed` (the weights as they were).
    Snapshot {
        index: usize,
        path: PathBuf,
        reread: Option<Reread>,
    },
    /// Explain `unit` at `step` of the model reading `text` from a zero
    /// state, listing `top` terms per input (`analysis::explain`); the
    /// answer is `Explained`. A newer request replaces one not yet answered.
    Explain {
        id: u64,
        text: String,
        step: usize,
        unit: crate::model::Unit,
        top: usize,
    },
    /// Attribute the prediction after `step` (or a unit's state at it) to
    /// the characters of `text` before it, the model reading `text` from a
    /// zero state (`analysis::attribution`); the answer is `Attributed`. A
    /// newer request replaces one not yet answered; a new run drops it
    /// (`AttributionDropped`).
    Attribute {
        id: u64,
        text: String,
        step: usize,
        target: super::AttributeTarget,
        method: crate::analysis::attribution::Method,
    },
    Shutdown,
}
