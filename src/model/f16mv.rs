//! Matrix-vector products with the matrix held as f16 and the arithmetic in
//! f32, for the single step of models stored in f16.
//!
//! A generation step reads every recurrent weight once and does little else
//! with it, so its speed is the speed of reading the weights. A 2×512 model
//! (12.6 MB in f32) stays in this machine's 32 MB shared L3 cache; a 3×512
//! (21 MB) does not, and its step is 4.3 times slower for 1.6 times the
//! arithmetic (libtorch's `addmv` on one thread: 281 against 1,213 µs).
//! Weights that were stored in f16 are exactly f16 values, so keeping them
//! as f16 halves what a step reads and changes no value: each product is
//! the f32 sum of the same f32 terms, in another order than libtorch's.
//! libtorch has no product of an f16 matrix with an f32 vector, hence this.

use half::f16;

/// A row-major matrix of f16 values.
pub struct HalfMatrix {
    rows: usize,
    cols: usize,
    data: Vec<u16>,
}

impl HalfMatrix {
    /// The matrix `values` (row-major, `rows × cols`) if every value is an
    /// f16 exactly; None otherwise, for the f32 path.
    pub fn exact(values: &[f32], rows: usize, cols: usize) -> Option<Self> {
        assert_eq!(values.len(), rows * cols, "a {rows}x{cols} matrix");
        let data = values
            .iter()
            .map(|&v| {
                let h = f16::from_f32(v);
                (h.to_f32().to_bits() == v.to_bits()).then_some(h.to_bits())
            })
            .collect::<Option<Vec<u16>>>()?;
        Some(Self { rows, cols, data })
    }

    /// `bias + self · x`.
    pub fn addmv(&self, bias: &[f32], x: &[f32]) -> Vec<f32> {
        assert_eq!(bias.len(), self.rows, "bias of the matrix's rows");
        assert_eq!(x.len(), self.cols, "x of the matrix's columns");
        let mut out = bias.to_vec();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
        {
            // SAFETY: the features the function is compiled for were just detected.
            unsafe { avx2::addmv(&self.data, self.cols, x, &mut out) };
            return out;
        }
        self.addmv_portable(x, &mut out);
        out
    }

    /// The same product without SIMD: for other CPUs, and the tests' check
    /// of the SIMD one.
    pub fn addmv_portable(&self, x: &[f32], out: &mut [f32]) {
        for (row, o) in self.data.chunks_exact(self.cols).zip(out.iter_mut()) {
            let mut acc = [0f32; 8];
            let mut chunks = row.chunks_exact(8);
            let mut xs = x.chunks_exact(8);
            for (w, v) in (&mut chunks).zip(&mut xs) {
                for k in 0..8 {
                    acc[k] += f16::from_bits(w[k]).to_f32() * v[k];
                }
            }
            let tail: f32 =
                chunks.remainder().iter().zip(xs.remainder()).map(|(&w, &v)| f16::from_bits(w).to_f32() * v).sum();
            *o += acc.iter().sum::<f32>() + tail;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use half::f16;
    use std::arch::x86_64::*;

    /// Horizontal sum of 8 lanes.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn sum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// Eight f16 at `p` as f32.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8(p: *const u16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
    }

    /// `out += W · x` for `W` of `cols` columns in `w`: four rows at a time,
    /// so each piece of x is loaded once for four rows.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C; `w.len()` must be
    /// `out.len() * cols` and `x.len()` must be `cols` (`HalfMatrix::addmv`
    /// checks both).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn addmv(w: &[u16], cols: usize, x: &[f32], out: &mut [f32]) {
        debug_assert_eq!(w.len(), out.len() * cols);
        debug_assert_eq!(x.len(), cols);
        let body = cols - cols % 8;
        let tail = |row: &[u16]| -> f32 {
            row[body..].iter().zip(&x[body..]).map(|(&h, &v)| f16::from_bits(h).to_f32() * v).sum()
        };
        let mut quads = out.chunks_exact_mut(4);
        let mut r = 0;
        for o in &mut quads {
            let rows = [&w[r * cols..], &w[(r + 1) * cols..], &w[(r + 2) * cols..], &w[(r + 3) * cols..]];
            let mut acc = [_mm256_setzero_ps(); 4];
            for j in (0..body).step_by(8) {
                let v = _mm256_loadu_ps(x.as_ptr().add(j));
                for k in 0..4 {
                    acc[k] = _mm256_fmadd_ps(load8(rows[k].as_ptr().add(j)), v, acc[k]);
                }
            }
            for k in 0..4 {
                o[k] += sum(acc[k]) + tail(&rows[k][..cols]);
            }
            r += 4;
        }
        for o in quads.into_remainder() {
            let row = &w[r * cols..(r + 1) * cols];
            let mut acc = _mm256_setzero_ps();
            for j in (0..body).step_by(8) {
                acc = _mm256_fmadd_ps(load8(row.as_ptr().add(j)), _mm256_loadu_ps(x.as_ptr().add(j)), acc);
            }
            *o += sum(acc) + tail(row);
            r += 1;
        }
    }
}
