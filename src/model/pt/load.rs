//! A `.pt` file read and understood: its tensors, and where the LSTM, the
//! embedding and the head are among them. `Checkpoint::from_pt` joins them
//! with the vocabulary the user gives into a model.

use super::find::{find, Found, NameMap};
use super::{read_state_dict, StateDict};
use anyhow::{anyhow, Result};
use std::path::Path;

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
}

fn shown(prefix: &str) -> String {
    if prefix.is_empty() {
        "(top level)".into()
    } else {
        format!("'{prefix}'")
    }
}
