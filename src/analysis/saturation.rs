//! Gate saturation (Karpathy, Johnson and Fei-Fei 2015, their figure of the
//! fraction of time each gate is left- or right-saturated): per layer, per
//! gate i, f, o and per unit, the fraction of steps with the gate below `low`
//! (left) and above `high` (right). Counted a step at a time.

use crate::model::Gate;

/// The gates saturation looks at: the sigmoid ones (g is a tanh candidate).
pub const GATES: [Gate; 3] = [Gate::I, Gate::F, Gate::O];

/// One gate's fractions, one entry per unit.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSaturation {
    pub gate: Gate,
    pub left: Vec<f64>,
    pub right: Vec<f64>,
}

impl GateSaturation {
    /// Units left-saturated (below `low`) more than half the time.
    pub fn mostly_left(&self) -> usize {
        self.left.iter().filter(|&&x| x > 0.5).count()
    }

    /// Units right-saturated (above `high`) more than half the time.
    pub fn mostly_right(&self) -> usize {
        self.right.iter().filter(|&&x| x > 0.5).count()
    }

    pub fn mean_left(&self) -> f64 {
        mean(&self.left)
    }

    pub fn mean_right(&self) -> f64 {
        mean(&self.right)
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Saturation {
    pub chars: usize,
    /// Per layer, the gates in `GATES`' order.
    pub layers: Vec<Vec<GateSaturation>>,
}

/// Counts of left and right steps per (layer, gate, unit).
pub struct SaturationCounter {
    hidden: usize,
    low: f64,
    high: f64,
    n: usize,
    /// `[layer][gate][unit]`, flattened.
    left: Vec<u32>,
    right: Vec<u32>,
}

impl SaturationCounter {
    pub fn new(layers: usize, hidden: usize, low: f64, high: f64) -> Self {
        let cells = layers * GATES.len() * hidden;
        Self { hidden, low, high, n: 0, left: vec![0; cells], right: vec![0; cells] }
    }

    /// One step: per layer in order, its gates i, f, o (after the sigmoid).
    /// The f32 gate is compared in f64 with the f64 bounds.
    pub fn push<'a>(&mut self, layers: impl IntoIterator<Item = [&'a [f32]; 3]>) {
        let hd = self.hidden;
        for (k, gates) in layers.into_iter().enumerate() {
            for (g, values) in gates.into_iter().enumerate() {
                assert_eq!(values.len(), hd, "one value per unit");
                let base = (k * GATES.len() + g) * hd;
                for (u, &x) in values.iter().enumerate() {
                    let x = f64::from(x);
                    self.left[base + u] += u32::from(x < self.low);
                    self.right[base + u] += u32::from(x > self.high);
                }
            }
        }
        self.n += 1;
    }

    pub fn finish(&self) -> Saturation {
        let hd = self.hidden;
        let n = self.n.max(1) as f64;
        let frac = |v: &[u32]| v.iter().map(|&c| f64::from(c) / n).collect();
        let layers = self
            .left
            .chunks(GATES.len() * hd)
            .zip(self.right.chunks(GATES.len() * hd))
            .map(|(l, r)| {
                GATES
                    .iter()
                    .enumerate()
                    .map(|(g, &gate)| GateSaturation {
                        gate,
                        left: frac(&l[g * hd..(g + 1) * hd]),
                        right: frac(&r[g * hd..(g + 1) * hd]),
                    })
                    .collect()
            })
            .collect();
        Saturation { chars: self.n, layers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_count_strictly_outside_the_bounds() {
        let mut s = SaturationCounter::new(1, 2, 0.1, 0.9);
        // Unit 0 of i: 0.05, 0.1 (not below), 0.95, 0.9 (not above).
        for x in [0.05f32, 0.1, 0.95, 0.9] {
            let i = [x, 0.5];
            let f = [0.99, 0.01];
            let o = [0.5, 0.5];
            s.push([[&i[..], &f[..], &o[..]]]);
        }
        let sat = s.finish();
        assert_eq!(sat.chars, 4);
        let [i, f, o] = &sat.layers[0][..] else { panic!("three gates") };
        assert_eq!((i.gate, f.gate, o.gate), (Gate::I, Gate::F, Gate::O));
        // In f64, 0.1f32 is a hair above 0.1 and 0.9f32 a hair below 0.9.
        assert_eq!(i.left, [0.25, 0.0]);
        assert_eq!(i.right, [0.25, 0.0]);
        assert_eq!((f.left.clone(), f.right.clone()), (vec![0.0, 1.0], vec![1.0, 0.0]));
        assert_eq!((f.mostly_left(), f.mostly_right()), (1, 1));
        assert_eq!((o.mean_left(), o.mean_right()), (0.0, 0.0));
        assert_eq!(i.mean_right(), 0.125);
    }
}
