//! From a prompt to a stream of `Step`s: the plain-data record of one consumed
//! character that the CLI's trace, the TUI and the tests all share.

use crate::model::lstm::{l2_norm, LayerGates, StepOutput};
use crate::model::sample::{softmax, top_k, Sampler, Sampling};
use crate::model::{CharLstm, LstmState, Stepper};
use anyhow::{bail, Result};
use serde::Serialize;

/// How many next-character candidates a step records.
pub const TOP_K: usize = 5;

/// One layer at one step. Gates are after their nonlinearity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerStep {
    pub i: Vec<f32>,
    pub f: Vec<f32>,
    pub g: Vec<f32>,
    pub o: Vec<f32>,
    /// The states after the step: c_t (drawn when the text is coloured by
    /// one cell) and h_t = o · tanh(c_t).
    pub c: Vec<f32>,
    pub h: Vec<f32>,
    pub c_norm: f32,
    pub h_norm: f32,
}

impl From<LayerGates> for LayerStep {
    fn from(g: LayerGates) -> Self {
        let (c_norm, h_norm) = (l2_norm(&g.c), l2_norm(&g.h));
        Self { i: g.i, f: g.f, g: g.g, o: g.o, c: g.c, h: g.h, c_norm, h_norm }
    }
}

/// One consumed character: what it was, what every layer did with it, and
/// what the model expects next.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub t: usize,
    pub ch: char,
    pub is_prompt: bool,
    /// The probability the model gave this character before reading it
    /// (None for the very first character, which nothing predicted).
    pub prob: Option<f32>,
    pub layers: Vec<LayerStep>,
    /// The likeliest next characters with their probabilities (temperature 1).
    pub top: Vec<(char, f32)>,
}

impl Step {
    /// One line of the `--trace` JSONL format.
    pub fn to_json_line(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            t: usize,
            char: String,
            prompt: bool,
            layers: &'a [LayerStep],
            top: Vec<(String, f32)>,
        }
        let line = Line {
            t: self.t,
            char: self.ch.to_string(),
            prompt: self.is_prompt,
            layers: &self.layers,
            top: self.top.iter().map(|(c, p)| (c.to_string(), *p)).collect(),
        };
        serde_json::to_string(&line).expect("a step serializes")
    }

    /// Approximate heap size, for bounding how many steps we keep.
    pub fn heap_bytes(&self) -> usize {
        self.layers.iter().map(|l| 6 * l.i.len() * 4 + 64).sum::<usize>() + self.top.len() * 8 + 128
    }
}

/// Where a `Generator` stood after reading some text; `rewind` goes back to it.
#[derive(Clone)]
pub struct Mark {
    state: LstmState,
    logits: Option<Vec<f32>>,
    t: usize,
}

/// The next-character distribution (temperature 1) as the panels and the
/// trace show it. A NaN logit makes every probability NaN, as PyTorch's
/// softmax does: a model with NaN weights shows NaN, not a made-up uniform
/// distribution. (The sampler still picks among the finite logits.)
fn probabilities(logits: &[f32]) -> Vec<f32> {
    if logits.iter().any(|x| x.is_nan()) {
        return vec![f32::NAN; logits.len()];
    }
    softmax(logits, 1.0)
}

/// Runs a model over a prompt and on into generated text, one `Step` at a time.
pub struct Generator {
    model: CharLstm,
    stepper: Stepper,
    state: LstmState,
    sampler: Sampler,
    /// Logits for the character after the last one consumed.
    logits: Option<Vec<f32>>,
    t: usize,
}

impl Generator {
    pub fn new(model: &CharLstm, sampling: Sampling) -> Self {
        Self {
            stepper: model.stepper(),
            state: LstmState::zeros(&model.dims),
            model: model.clone(),
            sampler: Sampler::new(sampling),
            logits: None,
            t: 0,
        }
    }

    pub fn model(&self) -> &CharLstm {
        &self.model
    }

    pub fn set_sampling(&mut self, sampling: Sampling) {
        self.sampler.set(sampling);
    }

    /// Forget everything: zero state, step 0, and the sampler's stream restarted.
    pub fn reset(&mut self) {
        self.state = LstmState::zeros(&self.model.dims);
        self.logits = None;
        self.t = 0;
        self.sampler = Sampler::new(self.sampler.params);
    }

    pub fn mark(&self) -> Mark {
        Mark { state: self.state.clone(), logits: self.logits.clone(), t: self.t }
    }

    /// Go back to `mark` (taken from this generator and model), with the
    /// sampler's stream restarted as `reset` does.
    pub fn rewind(&mut self, mark: &Mark) {
        self.state = mark.state.clone();
        self.logits = mark.logits.clone();
        self.t = mark.t;
        self.sampler = Sampler::new(self.sampler.params);
    }

    /// Read a prompt (from the current state), returning a step per character.
    /// Fails, naming them, if the prompt has characters the model cannot read.
    pub fn feed_prompt(&mut self, prompt: &str) -> Result<Vec<Step>> {
        let ids = self.model.vocab.encode(prompt).map_err(|e| anyhow::anyhow!("the prompt has {e}"))?;
        let outputs = self.model.prime_with_gates(&ids, &mut self.state);
        Ok(ids.iter().zip(outputs).map(|(&id, out)| self.record(id as usize, true, out)).collect())
    }

    /// Sample the next character, feed it back, and return its step.
    pub fn generate_step(&mut self) -> Result<Step> {
        let Some(logits) = &self.logits else { bail!("nothing to continue from: the prompt is empty") };
        let id = self.sampler.sample(logits);
        let out = self.stepper.step(id as i64, &mut self.state);
        Ok(self.record(id, false, out))
    }

    fn record(&mut self, id: usize, is_prompt: bool, out: StepOutput) -> Step {
        let prob = self.logits.as_ref().map(|l| probabilities(l)[id]);
        let probs = probabilities(&out.logits);
        let vocab = &self.model.vocab;
        let top = top_k(&probs, TOP_K).into_iter().map(|(i, p)| (vocab.char(i), p)).collect();
        let step = Step {
            t: self.t,
            ch: vocab.char(id),
            is_prompt,
            prob,
            layers: out.layers.into_iter().map(LayerStep::from).collect(),
            top,
        };
        self.logits = Some(out.logits);
        self.t += 1;
        step
    }
}
