//! Dropout masks for training on the CPU, drawn here rather than by libtorch.
//!
//! libtorch's CPU `bernoulli_`, which its `dropout` calls, draws one element
//! at a time from its global generator on one thread: 12 ms for a
//! [64, 100, 256] mask on this machine, two of them per 2×256 training step,
//! while the other core waits. SplitMix64 here gives the same mask in about
//! a millisecond: each pair of elements is a pure function of the mask's seed
//! and its position, so the mask does not depend on how it is computed.

use tch::{Device, Kind, Tensor};

/// The training pass's dropouts, each a rate in [0, 1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dropout {
    /// On the first layer's input, the embedding's output (or the one-hot
    /// characters): AWD-LSTM's input dropout ("dropouti").
    pub input: f64,
    /// On every layer's output: between layers, as nn.LSTM's `dropout`, and
    /// after the last, before the head.
    pub output: f64,
    /// DropConnect on every weight_hh, one mask per pass shared by every time
    /// step (AWD-LSTM's weight drop).
    pub weight: f64,
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function (Steele, Lea and Flood 2014).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The masks of one training pass, each from its own seed.
pub struct Masks {
    state: u64,
}

impl Masks {
    /// Seeded from libtorch's global generator, so that `tch::manual_seed`
    /// fixes the masks of a run as it fixed libtorch's own dropout.
    pub fn from_torch_generator() -> Self {
        let seed = Tensor::randint(i64::MAX, [1], (Kind::Int64, tch::Device::Cpu)).int64_value(&[0]);
        Self::new(seed as u64)
    }

    pub fn new(seed: u64) -> Self {
        Self { state: mix(seed) }
    }

    /// A float mask of `shape`: each element 0 with probability `p`, else
    /// 1/(1 − p), so that `x * mask` keeps x's expectation (as `dropout` does).
    pub fn draw(&mut self, shape: &[i64], p: f64) -> Tensor {
        self.state = self.state.wrapping_add(GAMMA);
        let mask = Tensor::empty(shape, (Kind::Float, Device::Cpu));
        let n = mask.numel();
        if n > 0 {
            // SAFETY: `mask` was just allocated, contiguous, with n f32
            // elements, and nothing else refers to its memory yet.
            let out = unsafe { std::slice::from_raw_parts_mut(mask.data_ptr() as *mut f32, n) };
            fill_parallel(mix(self.state), out, p, tch::get_num_threads().max(1) as usize);
        }
        mask
    }
}

/// Below this many elements a mask is drawn on the calling thread alone.
const PER_THREAD: usize = 1 << 18;

/// `fill` split over up to `threads` threads (libtorch's count, as its own
/// kernels use); the result does not depend on the split, since each
/// element's value depends only on its index.
fn fill_parallel(seed: u64, out: &mut [f32], p: f64, threads: usize) {
    let threads = threads.min(out.len() / PER_THREAD).max(1);
    // An even chunk length keeps each pair of elements in one chunk.
    let chunk = out.len().div_ceil(threads).next_multiple_of(2);
    std::thread::scope(|s| {
        let mut chunks = out.chunks_mut(chunk).enumerate();
        let (first_index, first) = chunks.next().expect("a mask has at least one element");
        for (i, c) in chunks {
            s.spawn(move || fill(seed, c, i * chunk / 2, p));
        }
        fill(seed, first, first_index, p);
    });
}

/// Elements 2j and 2j + 1 come from the low and high halves of
/// mix(seed + (j + 1)·γ), for j counted from `first_pair`; an element is
/// dropped when its half is below p·2³², so the drop probability is p to
/// within 2⁻³³.
fn fill(seed: u64, out: &mut [f32], first_pair: usize, p: f64) {
    let threshold = (p * 4_294_967_296.0).round() as u64;
    let keep = (1.0 / (1.0 - p)) as f32;
    // Without a branch: which elements drop is random, so a branch would be
    // mispredicted about min(p, 1 − p) of the time.
    let value = |bits: u64| ((bits & 0xFFFF_FFFF) >= threshold) as u32 as f32 * keep;
    let mut counter = seed.wrapping_add((first_pair as u64).wrapping_mul(GAMMA));
    let mut pairs = out.chunks_exact_mut(2);
    for pair in &mut pairs {
        counter = counter.wrapping_add(GAMMA);
        let r = mix(counter);
        pair[0] = value(r);
        pair[1] = value(r >> 32);
    }
    if let [last] = pairs.into_remainder() {
        *last = value(mix(counter.wrapping_add(GAMMA)));
    }
}

/// A whole mask as a vector, drawn on one thread.
#[cfg(test)]
fn mask_values(seed: u64, n: usize, p: f64) -> Vec<f32> {
    let mut out = vec![0f32; n];
    fill(seed, &mut out, 0, p);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_about_p_and_scales_the_rest() {
        for p in [0.1, 0.2, 0.5, 0.9] {
            let n = 200_001;
            let v = mask_values(7, n, p);
            let dropped = v.iter().filter(|&&x| x == 0.0).count() as f64 / n as f64;
            // Four standard deviations of a binomial proportion.
            let sd = (p * (1.0 - p) / n as f64).sqrt();
            assert!((dropped - p).abs() < 4.0 * sd, "p {p}: dropped {dropped}");
            let keep = (1.0 / (1.0 - p)) as f32;
            assert!(v.iter().all(|&x| x == 0.0 || x == keep), "p {p}: only 0 and 1/(1-p)");
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
            assert!((mean - 1.0).abs() < 4.0 * sd / (1.0 - p), "p {p}: mean {mean}");
        }
    }

    #[test]
    fn the_split_over_threads_does_not_change_the_mask() {
        let n = 5 * PER_THREAD + 3;
        let one = mask_values(21, n, 0.4);
        for threads in [2, 3, 7] {
            let mut split = vec![-1f32; n];
            fill_parallel(21, &mut split, 0.4, threads);
            assert!(split == one, "{threads} threads");
        }
    }

    #[test]
    fn neighbours_and_halves_are_independent() {
        // Both halves of one draw, and consecutive draws, must not be
        // correlated: adjacent elements are both dropped p² of the time.
        let (n, p) = (400_000, 0.5);
        let v = mask_values(11, n, p);
        for lag in [1, 2, 3] {
            let both = (0..n - lag).filter(|&i| v[i] == 0.0 && v[i + lag] == 0.0).count() as f64 / (n - lag) as f64;
            assert!((both - 0.25).abs() < 0.005, "lag {lag}: both dropped {both}");
        }
    }

    #[test]
    fn a_seed_gives_one_mask_and_each_draw_another() {
        assert_eq!(mask_values(3, 1001, 0.3), mask_values(3, 1001, 0.3));
        assert_ne!(mask_values(3, 1001, 0.3), mask_values(4, 1001, 0.3));
        let (mut a, mut b) = (Masks::new(5), Masks::new(5));
        let (a1, a2) = (a.draw(&[4, 250], 0.5), a.draw(&[4, 250], 0.5));
        assert!(a1.equal(&b.draw(&[4, 250], 0.5)), "same seed, same first mask");
        assert!(!a1.equal(&a2), "the second mask is another");
        assert_eq!(a1.size(), [4, 250]);
        // An odd count fills its last element too.
        assert!(mask_values(9, 3, 0.0).iter().all(|&x| x == 1.0));
        assert!(mask_values(9, 3, 0.999_999_999_9).iter().all(|&x| x == 0.0));
    }
}
