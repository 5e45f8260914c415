//! Matrix-vector products for the single step, in f32 or with the matrix
//! held as f16, without libtorch.
//!
//! A generation step reads every recurrent weight once and does little else
//! with it, so its speed is the speed of reading the weights: the kernels
//! here stream four rows at a time, each piece of x loaded once for the
//! four, close to a plain read of the same bytes (`make bench` prints the
//! step beside that read). A libtorch call costs a few microseconds of
//! dispatch besides, and a step would make dozens.
//!
//! Weights stored in f16 are exactly f16 values, so keeping them as f16
//! halves what a step reads and changes no value.
//!
//! Every kernel sums in one order, so a product is the same bits whichever
//! kernel the CPU runs, and a snapshot test's picture does not depend on
//! the test machine's vector width: a row's products go into sixteen
//! running sums (column j into sum j mod 16, each a fused multiply-add),
//! the sums are added as a tree (i + 8, then + 4, + 2, + 1), the last
//! `cols mod 16` products are added one by one after, and the row's total
//! is added to `out`. The order differs from libtorch's, so the values
//! differ from its product by rounding only.
//!
//! A large product is split by rows between the calling thread and the
//! helper thread (`add_product`, `helper`): one core reads a step's weights
//! at about half the rate two do. Each row is still summed by one thread in
//! the one order, so the split changes no bit.

use super::helper::{helper, Helper};
use half::f16;
use std::ops::Range;
use std::sync::OnceLock;

/// Products that read at least this many bytes are split over two cores;
/// below it the handing over costs more than the second core saves.
pub const SPLIT_BYTES: usize = 512 * 1024;

/// From this many vectors on, `add_products` takes one pass over the
/// matrix for all of them; fewer take one product each: on a two-core
/// Xeon a 2048×512 f16 product costs 10 µs a vector for four or more at
/// once, 21 µs for two at once or one alone.
pub const SIDE_BY_SIDE: usize = 4;

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

    /// The transpose (`cols × rows`), stored as this one is: exact.
    pub fn transposed(&self) -> Matrix {
        // In tiles, so both sides of the copy stay in cache.
        fn t<T: Copy + Default>(v: &[T], rows: usize, cols: usize) -> Vec<T> {
            const TILE: usize = 32;
            let mut out = vec![T::default(); v.len()];
            for r0 in (0..rows).step_by(TILE) {
                for c0 in (0..cols).step_by(TILE) {
                    for r in r0..(r0 + TILE).min(rows) {
                        for c in c0..(c0 + TILE).min(cols) {
                            out[c * rows + r] = v[r * cols + c];
                        }
                    }
                }
            }
            out
        }
        let data = match &self.data {
            Data::F32(v) => Data::F32(t(v, self.rows, self.cols)),
            Data::F16(v) => Data::F16(t(v, self.rows, self.cols)),
        };
        Self { rows: self.cols, cols: self.rows, data }
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

    /// `out += self · x`, on the CPU's fastest kernel, split over two cores
    /// when the matrix reads at least `SPLIT_BYTES` and the machine has two.
    pub fn add_product(&self, x: &[f32], out: &mut [f32]) {
        match helper() {
            Some(helper) if self.bytes() >= SPLIT_BYTES => self.add_product_split(helper, Kernel::fastest(), x, out),
            _ => self.add_product_on(Kernel::fastest(), x, out),
        }
    }

    /// `out += self · x` on `kernel`, which must be one this CPU runs
    /// (`Kernel::here`), on this thread: the tests hold each to the exact sum.
    pub fn add_product_on(&self, kernel: Kernel, x: &[f32], out: &mut [f32]) {
        assert_eq!(out.len(), self.rows, "out of the matrix's rows");
        self.add_rows_on(kernel, 0..self.rows, x, out)
    }

    /// `add_product_on` with the rows split at a multiple of four near the
    /// middle: the first part on this thread, the rest on `helper`'s.
    pub fn add_product_split(&self, helper: &Helper, kernel: Kernel, x: &[f32], out: &mut [f32]) {
        assert_eq!(out.len(), self.rows, "out of the matrix's rows");
        let mid = (self.rows / 2).next_multiple_of(4).min(self.rows);
        let (first, rest) = out.split_at_mut(mid);
        helper
            .join(|| self.add_rows_on(kernel, 0..mid, x, first), || self.add_rows_on(kernel, mid..self.rows, x, rest));
    }

    /// `out += a · x`, then `out += b · y`: a deeper layer's input and
    /// recurrent products in one hand-over when split (`add_product`'s rule,
    /// on the two matrices' bytes together). Each row gets the bits of the
    /// two `add_product` calls.
    pub fn add_two_products(a: &Matrix, x: &[f32], b: &Matrix, y: &[f32], out: &mut [f32]) {
        assert!(a.rows == b.rows && out.len() == a.rows, "out of both matrices' rows");
        let kernel = Kernel::fastest();
        match helper() {
            Some(helper) if a.bytes() + b.bytes() >= SPLIT_BYTES => {
                let mid = (a.rows / 2).next_multiple_of(4).min(a.rows);
                let (first, rest) = out.split_at_mut(mid);
                let both = |rows: Range<usize>, out: &mut [f32]| {
                    a.add_rows_on(kernel, rows.clone(), x, out);
                    b.add_rows_on(kernel, rows, y, out);
                };
                helper.join(|| both(0..mid, first), || both(mid..a.rows, rest));
            }
            _ => {
                a.add_product_on(kernel, x, out);
                b.add_product_on(kernel, y, out);
            }
        }
    }

    /// `outs[v] += self · xs[v]` for each of the vectors laid end to end in
    /// `xs` (`n × cols`), into `outs` (`n × rows`). Each piece of a row is
    /// read once for several vectors, so a prompt's input products cost
    /// arithmetic rather than reads. Every sum is `add_product`'s, in its
    /// order: each vector gets the bits it would get alone. Split by rows
    /// over two cores as `add_product` is.
    pub fn add_products(&self, xs: &[f32], outs: &mut [f32]) {
        let n = self.vectors(xs, outs);
        // Too few vectors to share a pass over the matrix: one product each.
        if n < SIDE_BY_SIDE {
            for (x, out) in xs.chunks_exact(self.cols).zip(outs.chunks_exact_mut(self.rows)) {
                self.add_product(x, out);
            }
            return;
        }
        match helper() {
            Some(helper) if n >= 2 && self.bytes() >= SPLIT_BYTES => {
                self.add_products_split(helper, Kernel::fastest(), xs, outs)
            }
            _ => self.add_products_on(Kernel::fastest(), xs, outs),
        }
    }

    /// `add_products` on `kernel`, on this thread.
    pub fn add_products_on(&self, kernel: Kernel, xs: &[f32], outs: &mut [f32]) {
        self.vectors(xs, outs);
        let mut parts: Vec<&mut [f32]> = outs.chunks_exact_mut(self.rows).collect();
        self.add_rows_products_on(kernel, 0..self.rows, xs, &mut parts)
    }

    /// `add_products_on` with the rows split as `add_product_split` splits
    /// them: each thread keeps its half of the matrix in its own cache
    /// while the vectors pass.
    pub fn add_products_split(&self, helper: &Helper, kernel: Kernel, xs: &[f32], outs: &mut [f32]) {
        self.vectors(xs, outs);
        let mid = (self.rows / 2).next_multiple_of(4).min(self.rows);
        let (mut first, mut rest): (Vec<&mut [f32]>, Vec<&mut [f32]>) =
            outs.chunks_exact_mut(self.rows).map(|out| out.split_at_mut(mid)).unzip();
        helper.join(
            || self.add_rows_products_on(kernel, 0..mid, xs, &mut first),
            || self.add_rows_products_on(kernel, mid..self.rows, xs, &mut rest),
        );
    }

    /// How many vectors `xs` and `outs` hold; panics when they do not fit
    /// the matrix or each other.
    fn vectors(&self, xs: &[f32], outs: &[f32]) -> usize {
        assert!(self.cols > 0 && xs.len().is_multiple_of(self.cols), "xs of whole vectors of the matrix's columns");
        let n = xs.len() / self.cols;
        assert_eq!(outs.len(), n * self.rows, "outs of {n} vectors of the matrix's rows");
        n
    }

    /// `outs[v] += rows · xs[v]` for the rows `rows` of the matrix, each
    /// `outs[v]` holding just those rows.
    fn add_rows_products_on(&self, kernel: Kernel, rows: Range<usize>, xs: &[f32], outs: &mut [&mut [f32]]) {
        assert!(rows.end <= self.rows, "rows {rows:?} of the matrix's");
        assert_eq!(xs.len(), outs.len() * self.cols, "a vector of the matrix's columns for each out");
        assert!(outs.iter().all(|o| o.len() == rows.len()), "outs of the rows {rows:?}");
        assert!(kernel.runs_here(), "the {kernel:?} kernel needs CPU features this CPU lacks");
        let (span, cols) = (rows.start * self.cols..rows.end * self.cols, self.cols);
        // SAFETY (each SIMD arm): the kernel's CPU features were just
        // checked, and the lengths above.
        match (kernel, &self.data) {
            (Kernel::Portable, _) => {
                for (x, out) in xs.chunks_exact(cols).zip(outs.iter_mut()) {
                    self.add_rows_on(kernel, rows.clone(), x, out)
                }
            }
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Data::F32(w)) => unsafe { simd::add_products_avx2(&w[span], cols, xs, outs) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Data::F16(w)) => unsafe { simd::add_products_avx2(&w[span], cols, xs, outs) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512, Data::F32(w)) => unsafe { simd::add_products_avx512(&w[span], cols, xs, outs) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512, Data::F16(w)) => unsafe { simd::add_products_avx512(&w[span], cols, xs, outs) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("only the portable kernel runs off x86-64"),
        }
    }

    /// `out += rows · x` for the rows `rows` of the matrix.
    fn add_rows_on(&self, kernel: Kernel, rows: Range<usize>, x: &[f32], out: &mut [f32]) {
        assert_eq!(x.len(), self.cols, "x of the matrix's columns");
        assert!(rows.end <= self.rows && out.len() == rows.len(), "out of the rows {rows:?}");
        assert!(kernel.runs_here(), "the {kernel:?} kernel needs CPU features this CPU lacks");
        let span = rows.start * self.cols..rows.end * self.cols;
        // SAFETY (each SIMD arm): the kernel's CPU features were just
        // checked, and the lengths above.
        match (kernel, &self.data) {
            (Kernel::Portable, Data::F32(w)) => portable(&w[span], self.cols, x, out, |v| v),
            (Kernel::Portable, Data::F16(w)) => portable(&w[span], self.cols, x, out, |h| f16::from_bits(h).to_f32()),
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Data::F32(w)) => unsafe { simd::add_product_avx2(&w[span], self.cols, x, out) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Data::F16(w)) => unsafe { simd::add_product_avx2(&w[span], self.cols, x, out) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512, Data::F32(w)) => unsafe { simd::add_product_avx512(&w[span], self.cols, x, out) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512, Data::F16(w)) => unsafe { simd::add_product_avx512(&w[span], self.cols, x, out) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("only the portable kernel runs off x86-64"),
        }
    }
}

/// The product's kernels, slowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust: any CPU.
    Portable,
    /// Eight lanes: AVX2, FMA and F16C.
    Avx2,
    /// Sixteen lanes: AVX-512F, which implies the rest. On CPUs whose L2
    /// cannot hold the weights it reads about a tenth faster than AVX2, as
    /// fewer instructions wait on the same loads.
    Avx512,
}

impl Kernel {
    pub const ALL: [Kernel; 3] = [Kernel::Portable, Kernel::Avx2, Kernel::Avx512];

    pub fn runs_here(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let avx2 = has!("avx2") && has!("fma") && has!("f16c");
            match self {
                Kernel::Portable => true,
                Kernel::Avx2 => avx2,
                Kernel::Avx512 => avx2 && has!("avx512f"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Kernel::Portable
        }
    }

    /// The kernels this CPU runs, slowest first.
    pub fn here() -> Vec<Kernel> {
        Self::ALL.into_iter().filter(|k| k.runs_here()).collect()
    }

    /// The one `add_product` takes.
    pub fn fastest() -> Kernel {
        static FASTEST: OnceLock<Kernel> = OnceLock::new();
        *FASTEST.get_or_init(|| *Self::here().last().expect("the portable kernel runs anywhere"))
    }
}

/// The running sums per row (`LANES`) and the tree that adds them.
const LANES: usize = 16;

fn tree_sum(mut s: [f32; LANES]) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            s[i] += s[i + width];
        }
        width /= 2;
    }
    s[0]
}

/// The products of the columns past the last full sixteen, added in order.
fn tail_sum<T: Copy>(row: &[T], x: &[f32], widen: impl Fn(T) -> f32) -> f32 {
    let body = row.len() - row.len() % LANES;
    row[body..].iter().zip(&x[body..]).map(|(&w, &v)| widen(w) * v).sum()
}

/// `out += W · x` in plain Rust, in the order every kernel keeps.
fn portable<T: Copy>(w: &[T], cols: usize, x: &[f32], out: &mut [f32], widen: impl Fn(T) -> f32 + Copy) {
    for (row, o) in w.chunks_exact(cols).zip(out.iter_mut()) {
        let mut acc = [0f32; LANES];
        for (ws, xs) in row.chunks_exact(LANES).zip(x.chunks_exact(LANES)) {
            for k in 0..LANES {
                acc[k] = widen(ws[k]).mul_add(xs[k], acc[k]);
            }
        }
        *o += tree_sum(acc) + tail_sum(row, x, widen);
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use super::{tail_sum, LANES};
    use half::f16;
    use std::arch::x86_64::*;

    /// An element type of a matrix: how to read eight or sixteen as f32,
    /// and one.
    pub trait Element: Copy {
        /// Eight elements at `p`, as f32.
        ///
        /// # Safety
        /// Eight elements must be readable at `p`, and the caller must be
        /// compiled for AVX2 and F16C (it is inlined into the kernel).
        unsafe fn load8(p: *const Self) -> __m256;
        /// Sixteen elements at `p`, as f32.
        ///
        /// # Safety
        /// Sixteen elements must be readable at `p`, and the caller must be
        /// compiled for AVX-512F (it is inlined into the kernel).
        unsafe fn load16(p: *const Self) -> __m512;
        fn widen(self) -> f32;
    }

    impl Element for f32 {
        #[inline(always)]
        unsafe fn load8(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn load16(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
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
        #[inline(always)]
        unsafe fn load16(p: *const u16) -> __m512 {
            _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i))
        }
        fn widen(self) -> f32 {
            f16::from_bits(self).to_f32()
        }
    }

    /// One row's sixteen running sums, as a kernel holds them in registers.
    pub trait Sums: Copy {
        /// Sixteen elements of a row, loaded and widened to f32.
        type Row: Copy;
        /// # Safety
        /// The caller must be compiled for the kernel's CPU features.
        unsafe fn zero() -> Self;
        /// The sixteen elements at `w`.
        ///
        /// # Safety
        /// As `zero`, and sixteen elements must be readable at `w`.
        unsafe fn load<T: Element>(w: *const T) -> Self::Row;
        /// The sums with the products of `w` and the sixteen elements at `x`.
        ///
        /// # Safety
        /// As `zero`, and sixteen elements must be readable at `x`.
        unsafe fn fma(self, w: Self::Row, x: *const f32) -> Self;
        /// The sums with the products of the sixteen elements at `w` and `x`.
        ///
        /// # Safety
        /// As `load` and `fma`.
        #[inline(always)]
        unsafe fn add<T: Element>(self, w: *const T, x: *const f32) -> Self {
            self.fma(Self::load(w), x)
        }
        /// The sums added as `tree_sum` adds them.
        ///
        /// # Safety
        /// As `zero`.
        unsafe fn total(self) -> f32;
    }

    /// Sixteen sums as two AVX2 vectors: columns j mod 16 in 0..8, and 8..16.
    #[derive(Clone, Copy)]
    pub struct Avx2(__m256, __m256);

    impl Sums for Avx2 {
        type Row = (__m256, __m256);
        #[inline(always)]
        unsafe fn zero() -> Self {
            Avx2(_mm256_setzero_ps(), _mm256_setzero_ps())
        }
        #[inline(always)]
        unsafe fn load<T: Element>(w: *const T) -> Self::Row {
            (T::load8(w), T::load8(w.add(8)))
        }
        #[inline(always)]
        unsafe fn fma(self, w: Self::Row, x: *const f32) -> Self {
            Avx2(
                _mm256_fmadd_ps(w.0, _mm256_loadu_ps(x), self.0),
                _mm256_fmadd_ps(w.1, _mm256_loadu_ps(x.add(8)), self.1),
            )
        }
        #[inline(always)]
        unsafe fn total(self) -> f32 {
            let s = _mm256_add_ps(self.0, self.1);
            let s = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
            _mm_cvtss_f32(s)
        }
    }

    /// Sixteen sums as one AVX-512 vector.
    #[derive(Clone, Copy)]
    pub struct Avx512(__m512);

    impl Sums for Avx512 {
        type Row = __m512;
        #[inline(always)]
        unsafe fn zero() -> Self {
            Avx512(_mm512_setzero_ps())
        }
        #[inline(always)]
        unsafe fn load<T: Element>(w: *const T) -> Self::Row {
            T::load16(w)
        }
        #[inline(always)]
        unsafe fn fma(self, w: Self::Row, x: *const f32) -> Self {
            Avx512(_mm512_fmadd_ps(w, _mm512_loadu_ps(x), self.0))
        }
        #[inline(always)]
        unsafe fn total(self) -> f32 {
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(self.0), 1));
            Avx2(_mm512_castps512_ps256(self.0), hi).total()
        }
    }

    /// `out += W · x` for `W` of `cols` columns in `w`, with sums `S`: four
    /// rows per pass, so each piece of x is loaded once for four rows, and
    /// four streams keep the hardware prefetcher busy.
    ///
    /// # Safety
    /// The caller must be compiled for `S`'s CPU features (this is inlined
    /// into it); `w.len()` must be `out.len() * cols` and `x.len()` must be
    /// `cols` (`Matrix::add_product_on` checks both).
    #[inline(always)]
    unsafe fn add_product<S: Sums, T: Element>(w: &[T], cols: usize, x: &[f32], out: &mut [f32]) {
        debug_assert_eq!(w.len(), out.len() * cols);
        debug_assert_eq!(x.len(), cols);
        let body = cols - cols % LANES;
        let mut quads = out.chunks_exact_mut(4);
        let mut r = 0;
        for o in &mut quads {
            let rows = [&w[r * cols..], &w[(r + 1) * cols..], &w[(r + 2) * cols..], &w[(r + 3) * cols..]];
            let mut sums = [S::zero(); 4];
            for j in (0..body).step_by(LANES) {
                for k in 0..4 {
                    sums[k] = sums[k].add(rows[k].as_ptr().add(j), x.as_ptr().add(j));
                }
            }
            for k in 0..4 {
                o[k] += sums[k].total() + tail_sum(&rows[k][..cols], x, T::widen);
            }
            r += 4;
        }
        for o in quads.into_remainder() {
            let row = &w[r * cols..(r + 1) * cols];
            let mut sums = S::zero();
            for j in (0..body).step_by(LANES) {
                sums = sums.add(row.as_ptr().add(j), x.as_ptr().add(j));
            }
            *o += sums.total() + tail_sum(row, x, T::widen);
            r += 1;
        }
    }

    /// `outs[v] += W · xs[v]` for every vector of `xs` (`cols` long each),
    /// with sums `S`: `R` rows by `V` vectors per pass, so each piece of a
    /// row is loaded (and widened) once for `V` vectors, and each piece of a
    /// vector once for `R` rows. The vectors are the outer loop: `V` of them
    /// stay in the L1 cache while the rows stream past from L2. Every sum is
    /// `add_product`'s, in its order; the rows and vectors left over go
    /// through `add_product` itself.
    ///
    /// # Safety
    /// As `add_product`, with `xs.len()` `outs.len()` vectors of `cols`, and
    /// each of `outs` `w.len() / cols` long (`Matrix::add_products_on`
    /// checks both).
    #[inline(always)]
    unsafe fn add_products<S: Sums, T: Element, const R: usize, const V: usize>(
        w: &[T],
        cols: usize,
        xs: &[f32],
        outs: &mut [&mut [f32]],
    ) {
        let (rows, n) = (w.len() / cols, outs.len());
        debug_assert_eq!(xs.len(), n * cols);
        let body = cols - cols % LANES;
        let (block_rows, block_vectors) = (rows - rows % R, n - n % V);
        for v0 in (0..block_vectors).step_by(V) {
            let x = |v: usize| &xs[(v0 + v) * cols..(v0 + v + 1) * cols];
            for r in (0..block_rows).step_by(R) {
                let row = |k: usize| &w[(r + k) * cols..(r + k + 1) * cols];
                // sums[v][k]: vector v0 + v by row r + k.
                let mut sums = [[S::zero(); R]; V];
                for j in (0..body).step_by(LANES) {
                    let pieces: [S::Row; R] = std::array::from_fn(|k| S::load(row(k).as_ptr().add(j)));
                    for (v, by_row) in sums.iter_mut().enumerate() {
                        let xp = x(v).as_ptr().add(j);
                        for (sum, &piece) in by_row.iter_mut().zip(&pieces) {
                            *sum = sum.fma(piece, xp);
                        }
                    }
                }
                for (v, by_row) in sums.iter().enumerate() {
                    for (k, sum) in by_row.iter().enumerate() {
                        outs[v0 + v][r + k] += sum.total() + tail_sum(row(k), x(v), T::widen);
                    }
                }
            }
        }
        let rest_w = &w[block_rows * cols..];
        for (v, (x, out)) in xs.chunks_exact(cols).zip(outs.iter_mut()).enumerate() {
            match v < block_vectors {
                true => add_product::<S, T>(rest_w, cols, x, &mut out[block_rows..]),
                false => add_product::<S, T>(w, cols, x, out),
            }
        }
    }

    /// The many-vector kernel on AVX2, FMA and F16C: two rows by two
    /// vectors, which with the pieces loaded fits AVX2's sixteen registers.
    ///
    /// # Safety
    /// The CPU must have them; the lengths as `add_products`'.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn add_products_avx2<T: Element>(w: &[T], cols: usize, xs: &[f32], outs: &mut [&mut [f32]]) {
        add_products::<Avx2, T, 2, 2>(w, cols, xs, outs)
    }

    /// The many-vector kernel on AVX-512F: four rows by four vectors, sixteen
    /// of the thirty-two registers for the sums.
    ///
    /// # Safety
    /// The CPU must have them; the lengths as `add_products`'.
    #[target_feature(enable = "avx512f,avx2,fma,f16c")]
    pub unsafe fn add_products_avx512<T: Element>(w: &[T], cols: usize, xs: &[f32], outs: &mut [&mut [f32]]) {
        add_products::<Avx512, T, 4, 4>(w, cols, xs, outs)
    }

    /// The kernel on AVX2, FMA and F16C.
    ///
    /// # Safety
    /// The CPU must have them; the lengths as `add_product`'s.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn add_product_avx2<T: Element>(w: &[T], cols: usize, x: &[f32], out: &mut [f32]) {
        add_product::<Avx2, T>(w, cols, x, out)
    }

    /// The kernel on AVX-512F (and AVX2, FMA and F16C).
    ///
    /// # Safety
    /// The CPU must have them; the lengths as `add_product`'s.
    #[target_feature(enable = "avx512f,avx2,fma,f16c")]
    pub unsafe fn add_product_avx512<T: Element>(w: &[T], cols: usize, x: &[f32], out: &mut [f32]) {
        add_product::<Avx512, T>(w, cols, x, out)
    }
}
