//! Matrix-vector products for the single step, in f32 or with the matrix
//! held as f16, without libtorch.
//!
//! A generation step reads every recurrent weight once and does little else
//! with it, so its speed is the speed of reading the weights: the kernels
//! here stream four rows at a time, each piece of x loaded once for the
//! four, and are as fast as a plain read of the same bytes (`make bench`
//! prints both). Calling libtorch for a 2,048×1,024 product costs a few
//! microseconds of dispatch besides, and a step makes dozens of calls.
//!
//! Weights stored in f16 are exactly f16 values, so keeping them as f16
//! halves what a step reads and changes no value. Every product is the f32
//! sum of the same f32 terms as libtorch's, in another order.

use half::f16;

/// A row-major matrix for `addmv`: f32, or f16 values widened as read.
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Data,
}

enum Data {
    F32(Vec<f32>),
    F16(Vec<u16>),
}

impl Matrix {
    /// `values` (row-major, `rows × cols`) as they are.
    pub fn f32(values: Vec<f32>, rows: usize, cols: usize) -> Self {
        assert_eq!(values.len(), rows * cols, "a {rows}x{cols} matrix");
        Self { rows, cols, data: Data::F32(values) }
    }

    /// `values` held as f16 if every value is an f16 exactly; None otherwise.
    pub fn f16_exact(values: &[f32], rows: usize, cols: usize) -> Option<Self> {
        assert_eq!(values.len(), rows * cols, "a {rows}x{cols} matrix");
        let data = values
            .iter()
            .map(|&v| {
                let h = f16::from_f32(v);
                (h.to_f32().to_bits() == v.to_bits()).then_some(h.to_bits())
            })
            .collect::<Option<Vec<u16>>>()?;
        Some(Self { rows, cols, data: Data::F16(data) })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn is_f16(&self) -> bool {
        matches!(self.data, Data::F16(_))
    }

    /// The bytes one product reads from the matrix.
    pub fn bytes(&self) -> usize {
        self.rows * self.cols * if self.is_f16() { 2 } else { 4 }
    }

    /// `bias + self · x`.
    pub fn addmv(&self, bias: &[f32], x: &[f32]) -> Vec<f32> {
        assert_eq!(bias.len(), self.rows, "bias of the matrix's rows");
        let mut out = bias.to_vec();
        self.add_product(x, &mut out);
        out
    }

    /// `out += self · x`, on the CPU's fastest path.
    pub fn add_product(&self, x: &[f32], out: &mut [f32]) {
        assert_eq!(x.len(), self.cols, "x of the matrix's columns");
        assert_eq!(out.len(), self.rows, "out of the matrix's rows");
        #[cfg(target_arch = "x86_64")]
        if simd_path() {
            // SAFETY: the features the kernels are compiled for were just
            // detected; the lengths were checked above.
            match &self.data {
                Data::F32(w) => unsafe { avx2::add_product(w, self.cols, x, out) },
                Data::F16(w) => unsafe { avx2::add_product(w, self.cols, x, out) },
            }
            return;
        }
        self.add_product_portable(x, out);
    }

    /// The same product without SIMD: for other CPUs, and the tests' check
    /// of the SIMD one.
    pub fn add_product_portable(&self, x: &[f32], out: &mut [f32]) {
        assert_eq!(x.len(), self.cols, "x of the matrix's columns");
        assert_eq!(out.len(), self.rows, "out of the matrix's rows");
        match &self.data {
            Data::F32(w) => portable(w, self.cols, x, out, |&v| v),
            Data::F16(w) => portable(w, self.cols, x, out, |&h| f16::from_bits(h).to_f32()),
        }
    }
}

/// Whether `add_product` takes the AVX2 kernels on this CPU.
pub fn simd_path() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `out += W · x` in eight running sums per row, as the SIMD kernel keeps them.
fn portable<T>(w: &[T], cols: usize, x: &[f32], out: &mut [f32], widen: impl Fn(&T) -> f32) {
    for (row, o) in w.chunks_exact(cols).zip(out.iter_mut()) {
        let mut acc = [0f32; 8];
        let mut chunks = row.chunks_exact(8);
        let mut xs = x.chunks_exact(8);
        for (w, v) in (&mut chunks).zip(&mut xs) {
            for k in 0..8 {
                acc[k] += widen(&w[k]) * v[k];
            }
        }
        let tail: f32 = chunks.remainder().iter().zip(xs.remainder()).map(|(w, &v)| widen(w) * v).sum();
        *o += acc.iter().sum::<f32>() + tail;
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

    /// An element type of a matrix: how to read eight as f32, and one.
    pub trait Element: Copy {
        /// Eight elements at `p`, as f32.
        ///
        /// # Safety
        /// Eight elements must be readable at `p`, and the caller must be
        /// compiled for AVX2 and F16C (it is inlined into the kernel).
        unsafe fn load8(p: *const Self) -> __m256;
        fn widen(self) -> f32;
    }

    impl Element for f32 {
        #[inline(always)]
        unsafe fn load8(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        fn widen(self) -> f32 {
            self
        }
    }

    impl Element for u16 {
        #[inline(always)]
        unsafe fn load8(p: *const u16) -> __m256 {
            _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
        }
        fn widen(self) -> f32 {
            f16::from_bits(self).to_f32()
        }
    }

    /// `out += W · x` for `W` of `cols` columns in `w`, read eight at a time
    /// by `T::load8`: four rows per pass, so each piece of x is loaded once for
    /// four rows, and four streams keep the hardware prefetcher busy.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C; `w.len()` must be
    /// `out.len() * cols` and `x.len()` must be `cols` (`Matrix::add_product`
    /// checks both).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn add_product<T: Element>(w: &[T], cols: usize, x: &[f32], out: &mut [f32]) {
        debug_assert_eq!(w.len(), out.len() * cols);
        debug_assert_eq!(x.len(), cols);
        let body = cols - cols % 8;
        let tail = |row: &[T]| -> f32 { row[body..].iter().zip(&x[body..]).map(|(&h, &v)| h.widen() * v).sum() };
        let mut quads = out.chunks_exact_mut(4);
        let mut r = 0;
        for o in &mut quads {
            let rows = [&w[r * cols..], &w[(r + 1) * cols..], &w[(r + 2) * cols..], &w[(r + 3) * cols..]];
            let mut acc = [_mm256_setzero_ps(); 4];
            for j in (0..body).step_by(8) {
                let v = _mm256_loadu_ps(x.as_ptr().add(j));
                for k in 0..4 {
                    acc[k] = _mm256_fmadd_ps(T::load8(rows[k].as_ptr().add(j)), v, acc[k]);
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
                acc = _mm256_fmadd_ps(T::load8(row.as_ptr().add(j)), _mm256_loadu_ps(x.as_ptr().add(j)), acc);
            }
            *o += sum(acc) + tail(row);
            r += 1;
        }
    }
}
