//! Choosing the next character from logits: temperature, top-k, top-p, and a
//! seeded RNG so the same seed gives the same text. Pure Rust over `&[f32]`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// 0 means greedy (argmax).
    pub temperature: f32,
    /// 0 means no limit.
    pub top_k: usize,
    /// 1.0 means no nucleus cut.
    pub top_p: f32,
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self { temperature: 0.8, top_k: 0, top_p: 1.0, seed: 0 }
    }
}

/// Softmax that survives non-finite logits: NaN counts as impossible, and if
/// nothing is left the distribution is uniform rather than NaN.
pub fn softmax(logits: &[f32], temperature: f32) -> Vec<f32> {
    let t = if temperature > 0.0 { temperature } else { 1.0 };
    let max = logits.iter().copied().filter(|x| x.is_finite()).fold(f32::NEG_INFINITY, f32::max);
    let mut p: Vec<f32> = logits
        .iter()
        .map(|&x| {
            if x.is_finite() {
                ((x - max) / t).exp()
            } else if x == f32::INFINITY {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let sum: f32 = p.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        p.iter_mut().for_each(|x| *x /= sum);
    } else {
        let u = 1.0 / p.len().max(1) as f32;
        p.iter_mut().for_each(|x| *x = u);
    }
    p
}

/// The `k` likeliest entries as (index, probability), likeliest first.
pub fn top_k(probs: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx.into_iter().map(|i| (i, probs[i])).collect()
}

pub struct Sampler {
    pub params: Sampling,
    rng: ChaCha8Rng,
}

impl Sampler {
    pub fn new(params: Sampling) -> Self {
        Self { params, rng: ChaCha8Rng::seed_from_u64(params.seed) }
    }

    /// Change the parameters; a new seed restarts the random stream.
    pub fn set(&mut self, params: Sampling) {
        if params.seed != self.params.seed {
            self.rng = ChaCha8Rng::seed_from_u64(params.seed);
        }
        self.params = params;
    }

    pub fn sample(&mut self, logits: &[f32]) -> usize {
        let p = self.params;
        if p.temperature <= 0.0 {
            return top_k(&softmax(logits, 1.0), 1).first().map(|x| x.0).unwrap_or(0);
        }
        let probs = softmax(logits, p.temperature);
        let mut ranked = top_k(&probs, if p.top_k == 0 { probs.len() } else { p.top_k });
        if p.top_p < 1.0 {
            let mut acc = 0.0;
            let keep = ranked
                .iter()
                .position(|&(_, q)| {
                    acc += q;
                    acc >= p.top_p
                })
                .map_or(ranked.len(), |i| i + 1);
            ranked.truncate(keep.max(1));
        }
        let total: f32 = ranked.iter().map(|x| x.1).sum();
        let mut r = self.rng.random::<f32>() * total;
        for &(i, q) in &ranked {
            if r < q {
                return i;
            }
            r -= q;
        }
        ranked.last().map(|x| x.0).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_argmax() {
        let mut s = Sampler::new(Sampling { temperature: 0.0, ..Default::default() });
        assert_eq!(s.sample(&[0.1, 3.0, -1.0]), 1);
    }

    #[test]
    fn same_seed_same_choices_and_top_k_limits() {
        let logits = [1.0, 1.0, 1.0, 1.0, 1.0];
        let p = Sampling { temperature: 1.0, top_k: 2, top_p: 1.0, seed: 7 };
        let a: Vec<usize> = {
            let mut s = Sampler::new(p);
            (0..50).map(|_| s.sample(&logits)).collect()
        };
        let b: Vec<usize> = {
            let mut s = Sampler::new(p);
            (0..50).map(|_| s.sample(&logits)).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().all(|&i| i < 2), "top-k 2 keeps the two first of equal logits");
    }

    #[test]
    fn top_p_keeps_the_nucleus() {
        let mut s = Sampler::new(Sampling { temperature: 1.0, top_k: 0, top_p: 0.5, seed: 1 });
        let logits = [5.0, 0.0, 0.0, 0.0];
        assert!((0..100).all(|_| s.sample(&logits) == 0));
    }

    #[test]
    fn softmax_survives_nan() {
        let p = softmax(&[f32::NAN, 1.0, 2.0], 1.0);
        assert_eq!(p[0], 0.0);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let u = softmax(&[f32::NAN, f32::NAN], 1.0);
        assert_eq!(u, vec![0.5, 0.5]);
    }
}
