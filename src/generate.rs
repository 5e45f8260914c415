//! From a prompt to a stream of `Step`s: the plain-data record of one consumed
//! character that the CLI's trace, the TUI and the tests all share.

pub mod beam;

use crate::model::lstm::{l2_norm, LayerGates, StepOutput};
use crate::model::sample::{softmax, top_k, Sampler, Sampling};
use crate::model::{CharLstm, Intervention, LstmState, Stepper};
use anyhow::{anyhow, bail, Result};
use serde::Serialize;

/// How many next-character candidates a step records.
pub const TOP_K: usize = 5;

/// One layer at one step: what the model computed (gates after their
/// nonlinearity, then c_t and h_t) and the states' norms. The norms are their
/// own fields because a trace may hold them without the states.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerStep {
    #[serde(flatten)]
    pub gates: LayerGates,
    pub c_norm: f32,
    pub h_norm: f32,
}

impl From<LayerGates> for LayerStep {
    fn from(gates: LayerGates) -> Self {
        let (c_norm, h_norm) = (l2_norm(&gates.c), l2_norm(&gates.h));
        Self { gates, c_norm, h_norm }
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

    /// Approximate heap size, for bounding how many steps the playground keeps.
    pub fn heap_bytes(&self) -> usize {
        self.layers.iter().map(|l| 6 * l.gates.i.len() * 4 + 64).sum::<usize>() + self.top.len() * 8 + 128
    }
}

/// Where a `Generator` stood after reading some text; `rewind` goes back to it.
#[derive(Clone)]
pub struct Mark {
    state: LstmState,
    logits: Option<Vec<f32>>,
    t: usize,
}

impl Mark {
    /// The state after a batched step, from the values it recorded: its c_t
    /// and h_t are the fused kernel's own (see `model::prompt`), so reading
    /// on from here differs from reading on inside the batched pass only by
    /// the rounding of products over fewer rows (1e-5 at most in the tests).
    fn after_output(out: &StepOutput, t: usize) -> Self {
        Self { state: LstmState::after(&out.layers), logits: Some(out.logits.clone()), t }
    }

    /// Heap bytes held: h and c of every layer, and the logits.
    pub fn heap_bytes(&self) -> usize {
        let floats: usize = self.state.h.iter().chain(&self.state.c).map(Vec::len).sum();
        (floats + self.logits.as_ref().map_or(0, Vec::len)) * 4
    }
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
    /// Applied at every step they cover, in this order; kept across `reset`
    /// and `rewind` (they are settings, not state).
    interventions: Vec<Intervention>,
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
            interventions: Vec::new(),
        }
    }

    /// Apply these from the next step on (an empty list turns them off).
    /// Fails, naming it, on a unit the model does not have. Steps already read
    /// are not recomputed: `rewind` to a mark before the first covered step
    /// (or `reset`) and read again to see the change from there.
    pub fn set_interventions(&mut self, interventions: Vec<Intervention>) -> Result<()> {
        for iv in &interventions {
            iv.check(&self.model.dims).map_err(|e| anyhow!("intervention {iv}: {e}"))?;
        }
        self.interventions = interventions;
        Ok(())
    }

    pub fn interventions(&self) -> &[Intervention] {
        &self.interventions
    }

    /// The step index of the next character to be consumed.
    pub fn t(&self) -> usize {
        self.t
    }

    pub fn model(&self) -> &CharLstm {
        &self.model
    }

    /// The step this generator takes, laid out for its model.
    pub fn stepper(&self) -> &Stepper {
        &self.stepper
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
        Ok(self.feed_prompt_marked(prompt, 0)?.0)
    }

    /// `feed_prompt`, also returning a `Mark` wherever the number of
    /// characters consumed since `reset` becomes a multiple of `every` (none
    /// when it is 0): going back to one and reading on gives the steps that
    /// reading on from there gave the first time, to rounding.
    pub fn feed_prompt_marked(&mut self, prompt: &str, every: usize) -> Result<(Vec<Step>, Vec<Mark>)> {
        let ids = self.model.vocab.encode(prompt).map_err(|e| anyhow::anyhow!("the prompt has {e}"))?;
        let marked = |t: usize| every > 0 && (t + 1).is_multiple_of(every);
        // The sequence readers cannot change a value mid-sequence, so they
        // read only up to the first step an intervention covers; the explicit
        // step reads the rest. Without interventions the whole prompt goes
        // to whichever reader is the faster for this model.
        let first = (0..ids.len()).find(|&j| self.active(self.t + j, false).next().is_some()).unwrap_or(ids.len());
        let outputs = self.stepper.read_faster(&self.model, &ids[..first], &mut self.state);
        let (mut steps, mut marks) = (Vec::with_capacity(ids.len()), Vec::new());
        for (&id, out) in ids.iter().zip(outputs) {
            if marked(self.t) {
                marks.push(Mark::after_output(&out, self.t + 1));
            }
            steps.push(self.record(id as usize, true, out));
        }
        for &id in &ids[first..] {
            steps.push(self.explicit_step(id as usize, true));
            if marked(self.t - 1) {
                marks.push(self.mark());
            }
        }
        Ok((steps, marks))
    }

    /// Sample the next character, feed it back, and return its step.
    pub fn generate_step(&mut self) -> Result<Step> {
        let Some(logits) = &self.logits else { bail!("nothing to continue from: the prompt is empty") };
        let id = self.sampler.sample(logits);
        Ok(self.explicit_step(id, false))
    }

    /// Consume `ch` as a generated character without sampling it (teacher
    /// forcing): the step a continuation that happened to pick `ch` would
    /// have, so a known continuation can be read again through other weights.
    pub fn force_step(&mut self, ch: char) -> Result<Step> {
        if self.logits.is_none() {
            bail!("nothing to continue from: the prompt is empty");
        }
        let id = self.model.vocab.encode(&ch.to_string()).map_err(|e| anyhow!("the continuation has {e}"))?[0];
        Ok(self.explicit_step(id as usize, false))
    }

    /// Read `text` as the continuation (teacher forcing): each character is
    /// consumed as if it had been generated (so interventions without a span
    /// apply), and its natural log-probability (temperature 1, computed in f64
    /// from the f32 logits) given everything before it is returned. The
    /// sampler is not used.
    pub fn score_continuation(&mut self, text: &str) -> Result<Vec<f64>> {
        let ids = self.model.vocab.encode(text).map_err(|e| anyhow!("the continuation has {e}"))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(logits) = &self.logits else { bail!("nothing to continue from: the prompt is empty") };
            out.push(log_softmax_at(logits, id as usize));
            self.explicit_step(id as usize, false);
        }
        Ok(out)
    }

    fn active(&self, t: usize, generated: bool) -> impl Iterator<Item = &Intervention> {
        self.interventions.iter().filter(move |iv| iv.covers(t, generated))
    }

    fn explicit_step(&mut self, id: usize, is_prompt: bool) -> Step {
        let out = if self.interventions.is_empty() {
            self.stepper.step(id as i64, &mut self.state)
        } else {
            let active: Vec<Intervention> = self.active(self.t, !is_prompt).copied().collect();
            self.stepper.step_with(id as i64, &mut self.state, &active)
        };
        self.record(id, is_prompt, out)
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

/// ln softmax(logits)[id] in f64.
fn log_softmax_at(logits: &[f32], id: usize) -> f64 {
    let max = logits.iter().map(|&x| f64::from(x)).fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = logits.iter().map(|&x| (f64::from(x) - max).exp()).sum();
    f64::from(logits[id]) - max - sum.ln()
}

/// The first line of a trace of a run with interventions, naming them in the
/// order given: `{"interventions": ["l1:134:c=0", ...]}`. Step lines all have
/// a `"t"`; this line has none, so a reader tells the two apart.
pub fn trace_header(interventions: &[Intervention]) -> String {
    let specs: Vec<String> = interventions.iter().map(|iv| iv.to_string()).collect();
    serde_json::json!({ "interventions": specs }).to_string()
}
