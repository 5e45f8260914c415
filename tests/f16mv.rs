//! The f16-matrix product of the single step (`model::f16mv`): on this CPU's
//! SIMD path and on the portable one, `bias + W · x` within f32 rounding of
//! the exact sum, for every shape the kernel splits differently (rows in
//! fours and a remainder, columns in eights and a tail).

use gatescope::model::f16mv::HalfMatrix;
use half::f16;

/// Deterministic values spread over several binades, all exactly f16.
fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let v = ((i as f32 * 0.7548 + seed as f32 * 0.5698).sin() * 3.0).powi(3) / 9.0;
            f16::from_f32(v).to_f32()
        })
        .collect()
}

#[test]
fn simd_and_portable_products_match_the_exact_sum_for_every_split() {
    for rows in [1, 3, 4, 5, 8, 11] {
        for cols in [1, 7, 8, 9, 16, 37, 64, 100] {
            let w = values(rows * cols, 1);
            let (x, bias) = (values(cols, 2), values(rows, 3));
            let m = HalfMatrix::exact(&w, rows, cols).expect("f16 values");
            let simd = m.addmv(&bias, &x);
            let mut portable = bias.clone();
            m.addmv_portable(&x, &mut portable);
            for r in 0..rows {
                let exact: f64 = bias[r] as f64 + (0..cols).map(|j| w[r * cols + j] as f64 * x[j] as f64).sum::<f64>();
                let scale: f64 = 1.0 + (0..cols).map(|j| (w[r * cols + j] as f64 * x[j] as f64).abs()).sum::<f64>();
                for (how, got) in [("simd", simd[r]), ("portable", portable[r])] {
                    let err = (got as f64 - exact).abs() / scale;
                    assert!(err < 1e-6, "{rows}x{cols} row {r}, {how}: {got} against {exact} (error {err:e})");
                }
            }
        }
    }
}

#[test]
fn a_value_that_is_not_an_f16_keeps_the_f32_path() {
    let mut w = values(12, 4);
    assert!(HalfMatrix::exact(&w, 3, 4).is_some());
    w[7] += 1e-4;
    assert!(HalfMatrix::exact(&w, 3, 4).is_none());
}
