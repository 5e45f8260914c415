//! The one description of the LSTM's layout: the tensor names of PyTorch's
//! `nn.LSTM` inside embed / lstm / head, the i, f, g, o order of the gate
//! rows, how a single unit is named (`lK:U`), and the sizes a model's
//! tensors have (`Dims`).

use anyhow::{anyhow, bail, Result};
use std::fmt;
use std::str::FromStr;

pub const EMBED_WEIGHT: &str = "embed.weight";
pub const HEAD_WEIGHT: &str = "head.weight";
pub const HEAD_BIAS: &str = "head.bias";

/// The four tensors of layer `k`, in the order PyTorch's fused LSTM takes
/// them: `lstm.weight_ih_lK`, `lstm.weight_hh_lK`, `lstm.bias_ih_lK`, `lstm.bias_hh_lK`.
pub fn layer_tensor_names(k: usize) -> [String; 4] {
    ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map(|part| format!("lstm.{part}_l{k}"))
}

/// Sizes of a model, all read off tensor shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub vocab: usize,
    /// Embedding width; 0 means one-hot input (weight_ih_l0 has `vocab` columns).
    pub embed: usize,
    pub hidden: usize,
    pub layers: usize,
}

impl Dims {
    pub fn input_width(&self) -> usize {
        if self.embed == 0 {
            self.vocab
        } else {
            self.embed
        }
    }

    pub fn parameter_count(&self) -> usize {
        let (v, h) = (self.vocab, self.hidden);
        let embed = v * self.embed;
        let lstm: usize = (0..self.layers)
            .map(|k| {
                let input = if k == 0 { self.input_width() } else { h };
                4 * h * (input + h) + 8 * h
            })
            .sum();
        embed + lstm + h * v + v
    }
}

/// A gate of the cell. The rows of `weight_ih` / `weight_hh` (and every
/// `[.., 4·hidden]` vector of gates here) are four blocks of `hidden`, in
/// PyTorch's order i, f, g, o.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gate {
    I,
    F,
    G,
    O,
}

impl Gate {
    /// PyTorch's row order.
    pub const ALL: [Gate; 4] = [Gate::I, Gate::F, Gate::G, Gate::O];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn letter(self) -> char {
        ['i', 'f', 'g', 'o'][self.index()]
    }

    pub fn name(self) -> &'static str {
        ["input", "forget", "candidate", "output"][self.index()]
    }

    /// g goes through tanh (range −1..1); i, f and o through sigmoid (0..1).
    pub fn is_tanh(self) -> bool {
        self == Gate::G
    }

    /// This gate's block of a row of four blocks of `hidden`.
    pub fn slice<T>(self, row: &[T], hidden: usize) -> &[T] {
        &row[self.index() * hidden..(self.index() + 1) * hidden]
    }

    pub fn slice_mut<T>(self, row: &mut [T], hidden: usize) -> &mut [T] {
        &mut row[self.index() * hidden..(self.index() + 1) * hidden]
    }

    pub fn from_letter(c: char) -> Option<Gate> {
        Gate::ALL.into_iter().find(|g| g.letter() == c)
    }
}

/// One hidden unit, named `lK:U` everywhere (playground, CLI, JSON): K is the
/// layer as in PyTorch's tensor names (`l0` first), U the index in the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unit {
    pub layer: usize,
    pub index: usize,
}

impl Unit {
    pub fn new(layer: usize, index: usize) -> Self {
        Self { layer, index }
    }

    /// An error that names the unit if the model has no such layer or unit.
    pub fn check(self, dims: &Dims) -> Result<Self> {
        if self.layer >= dims.layers {
            bail!("unit {self}: the model has {} layers (l0..l{})", dims.layers, dims.layers - 1);
        }
        if self.index >= dims.hidden {
            bail!("unit {self}: layer l{} has {} units (0..{})", self.layer, dims.hidden, dims.hidden - 1);
        }
        Ok(self)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "l{}:{}", self.layer, self.index)
    }
}

impl FromStr for Unit {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || anyhow!("'{s}' is not a unit; expected lK:U (layer K, unit U), e.g. l1:134");
        let (layer, index) = s.trim().split_once(':').ok_or_else(bad)?;
        let layer = parse_layer(layer).map_err(|_| bad())?;
        let index = index.parse::<usize>().map_err(|_| bad())?;
        Ok(Unit { layer, index })
    }
}

/// `lK` (as in PyTorch's tensor names) to K.
pub fn parse_layer(s: &str) -> Result<usize> {
    s.trim()
        .strip_prefix('l')
        .and_then(|k| k.parse::<usize>().ok())
        .ok_or_else(|| anyhow!("'{s}' is not a layer; expected lK, e.g. l0 for the first layer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_trip_and_bad_names_are_refused() {
        let u: Unit = "l1:134".parse().unwrap();
        assert_eq!(u, Unit::new(1, 134));
        assert_eq!(u.to_string(), "l1:134");
        for bad in ["", "1:134", "l1", "l1:", "lx:3", "l1:-3", "L1:3", "l1:3:4"] {
            assert!(bad.parse::<Unit>().is_err(), "{bad}");
        }
        let dims = Dims { vocab: 5, embed: 0, hidden: 8, layers: 2 };
        assert!(Unit::new(1, 7).check(&dims).is_ok());
        assert!(Unit::new(2, 0).check(&dims).unwrap_err().to_string().contains("2 layers"));
        assert!(Unit::new(0, 8).check(&dims).unwrap_err().to_string().contains("8 units"));
    }

    #[test]
    fn gates_in_pytorch_order() {
        let row: Vec<usize> = (0..8).collect();
        assert_eq!(Gate::G.slice(&row, 2), &[4, 5]);
        assert_eq!(Gate::ALL.map(Gate::letter), ['i', 'f', 'g', 'o']);
        assert_eq!(layer_tensor_names(3)[1], "lstm.weight_hh_l3");
    }
}
