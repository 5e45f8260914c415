//! From a `.pt` file to a model: read the tensors, find the modules, join
//! them with the vocabulary the user gives, and check that the two agree.

use super::find::{find, Found, NameMap};
use super::options::{read_vocab_file, LoadOptions};
use super::{read_state_dict, StateDict};
use crate::model::checkpoint::{Checkpoint, FileFormat};
use crate::model::lstm::{CharLstm, LayerWeights};
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::path::Path;
use tch::Tensor;

/// A `.pt` file read and understood, before any vocabulary is joined to it.
pub struct PtFile {
    pub state: StateDict,
    pub found: Found,
}

impl PtFile {
    /// Read `bytes` (the contents of `path`) and find the model in them.
    pub fn parse(path: &Path, bytes: &[u8], map: &NameMap) -> Result<Self> {
        let shown = path.display();
        let state = read_state_dict(bytes).map_err(|e| anyhow!("{shown}: {e}"))?;
        let shapes: Vec<(String, Vec<usize>)> =
            state.tensors.iter().map(|t| (t.name.clone(), t.shape.clone())).collect();
        let found = find(&shapes, map).map_err(|e| anyhow!("{shown}: {e}"))?;
        Ok(Self { state, found })
    }

    /// The element types of the tensors the model uses, e.g. "torch.HalfStorage".
    pub fn kinds(&self) -> String {
        let mut kinds: Vec<String> = Vec::new();
        for t in &self.state.tensors {
            let k = t.kind.name();
            if !self.found.ignored.contains(&t.name) && !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        kinds.join(", ")
    }

    /// What `info` says about the file before a vocabulary is known.
    pub fn describe(&self) -> Vec<(String, String)> {
        let f = &self.found;
        let mut lines = vec![
            (
                "format".into(),
                format!(
                    "PyTorch state_dict ({} format), {} tensors, {}",
                    self.state.format,
                    self.state.tensors.len(),
                    self.kinds()
                ),
            ),
            (
                "lstm".into(),
                format!("{}: {} layers x {} hidden units, input {}", shown(&f.lstm), f.layers, f.hidden, f.input),
            ),
        ];
        lines.push(match &f.embed {
            Some(e) => ("input".into(), format!("embedding '{e}' {} x {}", f.vocab, f.input)),
            None => ("input".into(), format!("one-hot over {} characters", f.vocab)),
        });
        lines.push(("head".into(), format!("'{}' {} x {} + '{}'", f.head_weight, f.vocab, f.hidden, f.head_bias)));
        lines.push(("map".into(), format!("--map {}", f.as_map())));
        if !f.ignored.is_empty() {
            lines.push(("ignored".into(), f.ignored.join(", ")));
        }
        lines
    }

    /// Join the tensors with `vocab` into a model. The head's rows must match.
    pub fn into_checkpoint(self, path: &Path, opts: &LoadOptions) -> Result<Checkpoint> {
        let shown = path.display();
        let f = &self.found;
        let vocab_path = opts.vocab.as_ref().ok_or_else(|| {
            anyhow!(
                "{shown}: a PyTorch state_dict holds no vocabulary; give --vocab CORPUS.txt (the text it was trained \
                 on: its sorted distinct characters) or --vocab VOCAB.json (a JSON array of its {} characters)",
                f.vocab
            )
        })?;
        let vocab = read_vocab_file(vocab_path)?;
        if vocab.len() != f.vocab {
            bail!(
                "{shown}: --vocab {} gives {} characters but head '{}' has {} rows; give the text the model was \
                 trained on, or a JSON array of {} one-character strings",
                vocab_path.display(),
                vocab.len(),
                f.head_weight,
                f.vocab,
                f.vocab
            );
        }
        let get = |name: &str| -> Result<Tensor> {
            let t = self.state.get(name).ok_or_else(|| anyhow!("{shown}: tensor '{name}' is missing"))?;
            let data = t.data.as_ref().ok_or_else(|| {
                anyhow!("{shown}: tensor '{name}' is {}; expected float, half or bfloat16", t.kind.name())
            })?;
            let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
            Tensor::f_from_slice(data)
                .and_then(|x| x.f_reshape(&shape))
                .map_err(|e| anyhow!("{shown}: tensor '{name}' cannot take shape {shape:?} ({e})"))
        };
        let embed = f.embed.as_deref().map(get).transpose()?;
        let mut layers = Vec::with_capacity(f.layers);
        for k in 0..f.layers {
            let [w_ih, w_hh, b_ih, b_hh] = f.layer_names(k);
            // nn.LSTM(bias=False) has no bias tensors: its biases are zero.
            let bias = |n: &str| {
                if f.lstm_bias {
                    get(n)
                } else {
                    Ok(Tensor::zeros([4 * f.hidden as i64], tch::kind::FLOAT_CPU))
                }
            };
            layers.push(LayerWeights { w_ih: get(&w_ih)?, w_hh: get(&w_hh)?, b_ih: bias(&b_ih)?, b_hh: bias(&b_hh)? });
        }
        let model = CharLstm::new(vocab, embed, layers, get(&f.head_weight)?, get(&f.head_bias)?)
            .map_err(|e| anyhow!("{shown}: {e}"))?;
        let mut warnings = Vec::new();
        if !f.ignored.is_empty() {
            let n = f.ignored.len();
            let some: Vec<&str> = f.ignored.iter().take(6).map(String::as_str).collect();
            warnings.push(format!(
                "{n} tensor{} not part of embedding -> LSTM -> head {} left out: {}{}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "is" } else { "are" },
                some.join(", "),
                if n > 6 { ", ..." } else { "" }
            ));
        }
        if !model.all_finite() {
            warnings.push("some weights are NaN or infinite; its output will be meaningless".to_string());
        }
        let metadata = BTreeMap::from([
            (
                "source_format".to_string(),
                format!("PyTorch state_dict ({} format, {})", self.state.format, self.kinds()),
            ),
            ("source_modules".to_string(), f.as_map()),
        ]);
        Ok(Checkpoint { path: path.to_path_buf(), model, metadata, warnings, format: FileFormat::PyTorch })
    }
}

fn shown(prefix: &str) -> String {
    if prefix.is_empty() {
        "(top level)".into()
    } else {
        format!("'{prefix}'")
    }
}
