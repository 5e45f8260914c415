//! Where a cell's memory came from and how long it keeps it, from one unit's
//! gates over a text read from a zero state (step t consumes x_t).
//!
//! The cell is additive: c_t = f_t·c_(t−1) + i_t·g_t with c_(−1) = 0, so
//! c_T = Σ_s w_s with the memory writes w_s = i_s·g_s·∏_(r=s+1..T) f_r.
//! The retention R(m) = ∏_(r=T−m+1..T) f_r is the share of what the cell
//! held m steps before T that is still in it; the half-life is the smallest
//! m in 1..T with R(m) < 0.5. Products and sums are taken in f64 over the
//! model's f32 gates.

/// The memory writes w_0..w_T of one unit at step `t`: `i`, `g`, `f` are
/// the unit's gates at steps 0..=t (at least t + 1 of each).
pub fn writes(i: &[f32], g: &[f32], f: &[f32], t: usize) -> Vec<f64> {
    let mut w = vec![0.0; t + 1];
    // The product of the forget gates after s, built from the end.
    let mut since = 1.0f64;
    for s in (0..=t).rev() {
        w[s] = f64::from(i[s]) * f64::from(g[s]) * since;
        since *= f64::from(f[s]);
    }
    w
}

/// R(1)..R(t) of one unit at step `t`, from its forget gates at steps 0..=t.
pub fn retention(f: &[f32], t: usize) -> Vec<f64> {
    let mut r = Vec::with_capacity(t);
    let mut kept = 1.0f64;
    for m in 1..=t {
        kept *= f64::from(f[t - m + 1]);
        r.push(kept);
    }
    r
}

/// The half-life at step `t`: the smallest m in 1..=t with R(m) < 0.5, or
/// None. A forget gate that is not a number makes every R past it NaN,
/// which is never below 0.5.
pub fn half_life(f: &[f32], t: usize) -> Option<usize> {
    let mut kept = 1.0f64;
    for m in 1..=t {
        kept *= f64::from(f[t - m + 1]);
        if kept < 0.5 {
            return Some(m);
        }
    }
    None
}

/// One unit's half-life at every step of a stream, in amortised constant
/// time per step, and their median.
///
/// The window holds the forget gates f_s..f_t from the largest start s
/// with ∏_(r=s..t) f_r < 0.5 found so far. While every f ≤ 1 (as a sigmoid
/// is) that start never moves back: a product over a longer stretch is no
/// larger, so a valid start stays valid as t grows, and only the oldest
/// gate ever leaves. The window's products come from two stacks (a queue
/// that keeps running products), so no division is needed. A forget gate
/// above 1 exists only under an intervention; the half-lives after it are
/// then those of this procedure, not necessarily the smallest m.
#[derive(Debug, Clone, Default)]
pub struct HalfLives {
    steps: usize,
    /// The older part of the window, oldest on top: (f, product of it and
    /// every entry below it).
    front: Vec<(f64, f64)>,
    /// The newer part, oldest first, and its product.
    back: Vec<f64>,
    back_product: f64,
    /// `counts[m]`: how many steps had half-life m.
    counts: Vec<u32>,
    measured: usize,
}

impl HalfLives {
    pub fn new() -> Self {
        Self { back_product: 1.0, ..Self::default() }
    }

    fn len(&self) -> usize {
        self.front.len() + self.back.len()
    }

    fn clear(&mut self) {
        self.front.clear();
        self.back.clear();
        self.back_product = 1.0;
    }

    /// Move the newer part under the older one when the older is empty.
    fn refill(&mut self) {
        if self.front.is_empty() {
            let mut product = 1.0;
            while let Some(f) = self.back.pop() {
                product *= f;
                self.front.push((f, product));
            }
            self.back_product = 1.0;
        }
    }

    fn product(&self) -> f64 {
        self.front.last().map_or(1.0, |e| e.1) * self.back_product
    }

    /// The window's product without its oldest gate (needs 2 or more).
    fn product_after_oldest(&mut self) -> f64 {
        self.refill();
        let n = self.front.len();
        let below = if n >= 2 { self.front[n - 2].1 } else { 1.0 };
        below * self.back_product
    }

    /// Another text from a zero state: its first gate is f_0 again, and no
    /// window reaches back into the text before. The half-lives counted so
    /// far stay, so the median pools the texts.
    pub fn restart(&mut self) {
        self.steps = 0;
        self.clear();
    }

    /// The next step's forget gate; returns that step's half-life.
    pub fn push(&mut self, f: f32) -> Option<usize> {
        let t = self.steps;
        self.steps += 1;
        // f_0 never counts: R(m) reaches back to c_0 at most, and a NaN
        // gate ends every window that would hold it.
        if t == 0 || f.is_nan() {
            self.clear();
            return None;
        }
        let f = f64::from(f);
        self.back.push(f);
        self.back_product *= f;
        while self.len() >= 2 && self.product_after_oldest() < 0.5 {
            self.refill();
            self.front.pop();
        }
        let m = (self.product() < 0.5).then(|| self.len())?;
        if self.counts.len() <= m {
            self.counts.resize(m + 1, 0);
        }
        self.counts[m] += 1;
        self.measured += 1;
        Some(m)
    }

    /// The median of the half-lives pushed so far, steps without one left
    /// out (the mean of the two middle ones for an even count); None when
    /// no step had one.
    pub fn median(&self) -> Option<f64> {
        let n = self.measured;
        if n == 0 {
            return None;
        }
        let nth = |k: usize| {
            let mut seen = 0;
            for (m, &c) in self.counts.iter().enumerate() {
                seen += c as usize;
                if seen > k {
                    return m as f64;
                }
            }
            unreachable!("k < the number of half-lives counted")
        };
        Some((nth((n - 1) / 2) + nth(n / 2)) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, step by step.
    fn median_of(f: &[f32]) -> Option<f64> {
        let mut v: Vec<usize> = (0..f.len()).filter_map(|t| half_life(f, t)).collect();
        v.sort();
        let n = v.len();
        (n > 0).then(|| (v[(n - 1) / 2] + v[n / 2]) as f64 / 2.0)
    }

    #[test]
    fn streamed_half_lives_equal_the_definition() {
        // A pseudo-random mix of forgetting, keeping, a saturated 1.0, a 0 and a NaN.
        let mut x = 12345u64;
        let mut f: Vec<f32> = (0..600)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let u = (x >> 40) as f32 / (1u64 << 24) as f32;
                if u < 0.3 {
                    0.5 + 0.5 * u
                } else {
                    0.97 + 0.03 * u
                }
            })
            .collect();
        f[100..160].iter_mut().for_each(|v| *v = 1.0);
        f[300] = 0.0;
        f[400] = f32::NAN;
        let mut hl = HalfLives::new();
        for t in 0..f.len() {
            assert_eq!(hl.push(f[t]), half_life(&f, t), "t={t}");
        }
        assert_eq!(hl.median(), median_of(&f));
        assert!(hl.median().is_some());
    }

    #[test]
    fn writes_add_up_to_the_cell_and_retention_halves() {
        let (i, g, f) = ([0.5f32, 0.9, 0.2], [1.0f32, -0.5, 0.8], [0.3f32, 0.6, 0.7]);
        let mut c = 0.0f64;
        for s in 0..3 {
            c = f64::from(f[s]) * c + f64::from(i[s]) * f64::from(g[s]);
        }
        let w = writes(&i, &g, &f, 2);
        assert!((w.iter().sum::<f64>() - c).abs() < 1e-12);
        assert!((w[0] - 0.5 * 0.6f32 as f64 * 0.7f32 as f64).abs() < 1e-9);
        let r = retention(&f, 2);
        assert_eq!(r.len(), 2);
        assert!((r[1] - f64::from(0.7f32) * f64::from(0.6f32)).abs() < 1e-12);
        assert_eq!(half_life(&f, 2), Some(2));
        assert_eq!(half_life(&f, 0), None);
        assert_eq!(half_life(&[0.1, 1.0, 1.0], 2), None, "f_0 never counts");
        let mut hl = HalfLives::new();
        assert_eq!(hl.median(), None);
        [0.1f32, 0.4, 0.3, 0.45, 0.2].iter().for_each(|&v| {
            hl.push(v);
        });
        assert_eq!(hl.median(), Some(1.0));
    }
}
