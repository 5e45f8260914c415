//! The f16-matrix product of the single step (`model::f16mv`): the portable
//! path always, and the AVX2 path where the CPU has it (else a loud line
//! says it went untested), each `bias + W · x` within f32 rounding of the
//! exact sum, for every shape the kernel splits differently (rows in fours
//! and a remainder, columns in eights and a tail).

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

/// `product(matrix, bias, x)` against the exact sum, for every split; the
/// error is relative to the sum of the terms' magnitudes (plus one).
fn matches_the_exact_sum_for_every_split(path: &str, product: impl Fn(&HalfMatrix, &[f32], &[f32]) -> Vec<f32>) {
    for rows in [1, 3, 4, 5, 8, 11] {
        for cols in [1, 7, 8, 9, 16, 37, 64, 100] {
            let w = values(rows * cols, 1);
            let (x, bias) = (values(cols, 2), values(rows, 3));
            let m = HalfMatrix::exact(&w, rows, cols).expect("f16 values");
            let got = product(&m, &bias, &x);
            assert_eq!(got.len(), rows, "{path}: a value per row");
            for r in 0..rows {
                let exact: f64 = bias[r] as f64 + (0..cols).map(|j| w[r * cols + j] as f64 * x[j] as f64).sum::<f64>();
                let scale: f64 = 1.0 + (0..cols).map(|j| (w[r * cols + j] as f64 * x[j] as f64).abs()).sum::<f64>();
                let err = (got[r] as f64 - exact).abs() / scale;
                assert!(err < 1e-6, "{rows}x{cols} row {r}, {path}: {} against {exact} (error {err:e})", got[r]);
            }
        }
    }
}

/// Whether `HalfMatrix::addmv` takes the AVX2 path here: the same test of
/// the CPU's features as it makes.
fn simd_path_runs() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[test]
fn the_portable_product_matches_the_exact_sum_for_every_split() {
    matches_the_exact_sum_for_every_split("portable", |m, bias, x| {
        let mut out = bias.to_vec();
        m.addmv_portable(x, &mut out);
        out
    });
}

/// `addmv` itself, on the path this CPU takes. Without AVX2, FMA and F16C
/// that is the portable path again, and the test says so on stderr rather
/// than claim the SIMD kernel was checked.
#[test]
fn the_product_on_this_cpus_path_matches_the_exact_sum_for_every_split() {
    let path = if simd_path_runs() { "AVX2+FMA+F16C" } else { "portable (no AVX2/FMA/F16C)" };
    eprintln!("f16mv: HalfMatrix::addmv takes the {path} path on this CPU");
    if !simd_path_runs() {
        eprintln!("f16mv: WARNING: THE SIMD PATH WAS NOT TESTED: this CPU lacks AVX2, FMA or F16C");
    }
    matches_the_exact_sum_for_every_split(path, |m, bias, x| m.addmv(bias, x));
}

#[test]
fn a_value_that_is_not_an_f16_keeps_the_f32_path() {
    let mut w = values(12, 4);
    assert!(HalfMatrix::exact(&w, 3, 4).is_some());
    w[7] += 1e-4;
    assert!(HalfMatrix::exact(&w, 3, 4).is_none());
}
