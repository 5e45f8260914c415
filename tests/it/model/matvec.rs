//! The single step's matrix-vector products (`model::matvec`), for a matrix
//! held in f32 and one held as f16: every kernel the CPU runs, the portable
//! one always (a loud line names any it cannot), each `bias + W · x` within
//! f32 rounding of the exact sum, for every shape the kernel splits
//! differently (rows in fours and a remainder, columns in eights or
//! sixteens and a tail).

use gatescope::model::helper::helper;
use gatescope::model::matvec::{Kernel, Matrix, SPLIT_BYTES};
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

/// Values that are not f16: each f16 value above nudged by a third of an ulp
/// or so, so only the f32 matrix holds them.
fn f32_values(n: usize, seed: u32) -> Vec<f32> {
    values(n, seed).into_iter().map(|v| v * (1.0 + 1.0 / 3000.0) + 1e-5).collect()
}

/// The two ways a matrix is held, as `(name, its values, the matrix)`.
fn both(rows: usize, cols: usize) -> [(&'static str, Vec<f32>, Matrix); 2] {
    let half = values(rows * cols, 1);
    let full = f32_values(rows * cols, 1);
    let h = Matrix::f16_exact(&half, rows, cols).expect("f16 values");
    assert!(h.is_f16());
    let f = Matrix::f32(full.clone(), rows, cols);
    assert!(!f.is_f16());
    [("f16", half, h), ("f32", full, f)]
}

/// `product(matrix, bias, x)` against the exact sum, for every split; the
/// error is relative to the sum of the terms' magnitudes (plus one).
fn matches_the_exact_sum_for_every_split(path: &str, product: impl Fn(&Matrix, &[f32], &[f32]) -> Vec<f32>) {
    for rows in [1, 3, 4, 5, 8, 11] {
        for cols in [1, 7, 8, 9, 15, 16, 17, 37, 64, 100] {
            for (held, w, m) in both(rows, cols) {
                let (x, bias) = (values(cols, 2), values(rows, 3));
                let got = product(&m, &bias, &x);
                assert_eq!(got.len(), rows, "{path}: a value per row");
                for r in 0..rows {
                    let terms = (0..cols).map(|j| w[r * cols + j] as f64 * x[j] as f64);
                    let exact: f64 = bias[r] as f64 + terms.clone().sum::<f64>();
                    let scale: f64 = 1.0 + terms.map(f64::abs).sum::<f64>();
                    let err = (got[r] as f64 - exact).abs() / scale;
                    assert!(
                        err < 1e-6,
                        "{held} {rows}x{cols} row {r}, {path}: {} against {exact} (error {err:e})",
                        got[r]
                    );
                }
            }
        }
    }
}

/// Every kernel this CPU runs, the portable one always. A SIMD kernel the
/// CPU lacks is named on stderr, loudly, rather than claimed as checked.
#[test]
fn every_kernel_this_cpu_runs_matches_the_exact_sum_for_every_split() {
    for kernel in Kernel::ALL {
        if !kernel.runs_here() {
            eprintln!("matvec: WARNING: THE {kernel:?} KERNEL WAS NOT TESTED: this CPU lacks its features");
            continue;
        }
        matches_the_exact_sum_for_every_split(&format!("{kernel:?}"), |m, bias, x| {
            let mut out = bias.to_vec();
            m.add_product_on(kernel, x, &mut out);
            out
        });
    }
}

/// Every kernel sums in one order, so each gives the portable kernel's bits:
/// a step's products do not depend on the vector width of the CPU.
#[test]
fn every_kernel_this_cpu_runs_gives_the_portable_kernels_bits() {
    for rows in [1, 3, 4, 5, 8, 11] {
        for cols in [1, 7, 8, 9, 15, 16, 17, 37, 64, 100, 512] {
            for (held, _, m) in both(rows, cols) {
                let (x, bias) = (values(cols, 2), values(rows, 3));
                let on = |kernel: Kernel| {
                    let mut out = bias.clone();
                    m.add_product_on(kernel, &x, &mut out);
                    out.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
                };
                let portable = on(Kernel::Portable);
                for kernel in Kernel::here() {
                    assert_eq!(on(kernel), portable, "{held} {rows}x{cols}: {kernel:?} against the portable kernel");
                }
            }
        }
    }
}

/// `addmv` takes the fastest kernel here, and names it.
#[test]
fn the_product_takes_the_fastest_kernel_this_cpu_runs() {
    let fastest = Kernel::fastest();
    eprintln!("matvec: Matrix::addmv takes the {fastest:?} kernel on this CPU (it runs {:?})", Kernel::here());
    assert_eq!(Some(&fastest), Kernel::here().last());
    assert!(Kernel::here().contains(&Kernel::Portable));
    matches_the_exact_sum_for_every_split(&format!("addmv ({fastest:?})"), |m, bias, x| m.addmv(bias, x));
}

#[test]
fn a_value_that_is_not_an_f16_keeps_the_f32_path() {
    let mut w = values(12, 4);
    assert!(Matrix::f16_exact(&w, 3, 4).is_some());
    w[7] += 1e-4;
    assert!(Matrix::f16_exact(&w, 3, 4).is_none());
}

#[test]
fn a_matrix_reads_two_or_four_bytes_a_value() {
    let [(_, _, h), (_, _, f)] = both(5, 7);
    assert_eq!((h.bytes(), f.bytes()), (5 * 7 * 2, 5 * 7 * 4));
}

/// A product split over this thread and the helper's gives the one-thread
/// product's bits, on every kernel and wherever the split falls (each row
/// is summed by one thread, in the one order).
#[test]
fn a_product_split_over_two_threads_gives_the_same_bits() {
    let helper = helper().expect("the tests run on a machine with two cores");
    for rows in [1, 2, 5, 8, 11, 64, 67] {
        for cols in [7, 16, 100] {
            for (held, _, m) in both(rows, cols) {
                let (x, bias) = (values(cols, 2), values(rows, 3));
                for kernel in Kernel::here() {
                    let (mut one, mut two) = (bias.clone(), bias.clone());
                    m.add_product_on(kernel, &x, &mut one);
                    m.add_product_split(helper, kernel, &x, &mut two);
                    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
                    assert_eq!(bits(&two), bits(&one), "{held} {rows}x{cols} on {kernel:?}");
                }
            }
        }
    }
    // A matrix of SPLIT_BYTES and more takes the split in `add_product`.
    let (rows, cols) = (SPLIT_BYTES / 4 / 256 + 3, 256);
    let [_, (_, _, m)] = both(rows, cols);
    assert!(m.bytes() >= SPLIT_BYTES);
    let (x, bias) = (values(cols, 2), values(rows, 3));
    let mut one = bias.clone();
    m.add_product_on(Kernel::fastest(), &x, &mut one);
    assert!(m.addmv(&bias, &x) == one);
}

/// Several vectors at once (`add_products`, as a prompt's input products
/// are taken) give each vector the bits `add_product` gives it alone: on
/// every kernel, one thread or split over two, for every shape the kernels
/// block differently (rows and vectors in their blocks and a remainder,
/// columns in sixteens and a tail).
#[test]
fn products_of_many_vectors_give_each_vector_its_own_products_bits() {
    let helper = helper().expect("the tests run on a machine with two cores");
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    for rows in [1, 3, 4, 5, 8, 11] {
        for cols in [1, 9, 16, 17, 64, 100] {
            for n in [1, 2, 3, 4, 5, 9] {
                for (held, _, m) in both(rows, cols) {
                    let xs = values(n * cols, 2);
                    let start = values(n * rows, 3);
                    for kernel in Kernel::here() {
                        let mut alone = start.clone();
                        for (x, out) in xs.chunks_exact(cols).zip(alone.chunks_exact_mut(rows)) {
                            m.add_product_on(kernel, x, out);
                        }
                        let (mut one, mut two) = (start.clone(), start.clone());
                        m.add_products_on(kernel, &xs, &mut one);
                        m.add_products_split(helper, kernel, &xs, &mut two);
                        let at = format!("{held} {rows}x{cols}, {n} vectors, on {kernel:?}");
                        assert_eq!(bits(&one), bits(&alone), "{at}");
                        assert_eq!(bits(&two), bits(&alone), "{at}, split");
                    }
                }
            }
        }
    }
    // And through `add_products`, which splits a matrix of SPLIT_BYTES.
    let (rows, cols, n) = (SPLIT_BYTES / 4 / 256 + 3, 256, 7);
    let [_, (_, _, m)] = both(rows, cols);
    let xs = values(n * cols, 2);
    let mut alone = vec![0.5; n * rows];
    for (x, out) in xs.chunks_exact(cols).zip(alone.chunks_exact_mut(rows)) {
        m.add_product(x, out);
    }
    let mut many = vec![0.5; n * rows];
    m.add_products(&xs, &mut many);
    assert_eq!(bits(&many), bits(&alone));
}

/// A deeper layer's two products in one hand-over give the bits of the two
/// products one after the other, split or not.
#[test]
fn two_products_in_one_hand_over_give_the_bits_of_each_in_turn() {
    for (rows, cols) in [(5, 17), (SPLIT_BYTES / 4 / 256 + 3, 256)] {
        let ([_, (_, _, a)], [(_, _, b), _]) = (both(rows, cols), both(rows, cols + 3));
        let (x, y, bias) = (values(cols, 2), values(cols + 3, 4), values(rows, 3));
        let mut want = bias.clone();
        a.add_product(&x, &mut want);
        b.add_product(&y, &mut want);
        let mut got = bias.clone();
        Matrix::add_two_products(&a, &x, &b, &y, &mut got);
        assert!(got == want, "{rows}x{cols}");
    }
}

/// The transpose (the backward pass's matrices) holds the same values, in
/// the same storage: its product with x is the sum of x times each column,
/// and transposing twice gives the matrix back, for shapes on either side
/// of its tiles.
#[test]
fn a_transposed_matrix_multiplies_by_the_columns() {
    for (rows, cols) in [(1, 1), (3, 70), (33, 5), (64, 64), (100, 37)] {
        for (held, v, m) in both(rows, cols) {
            let t = m.transposed();
            assert_eq!((t.rows(), t.is_f16()), (cols, m.is_f16()), "{held} {rows}x{cols}");
            let x = values(rows, 5);
            let got = t.addmv(&vec![0.0; cols], &x);
            for (c, g) in got.iter().enumerate() {
                let want: f64 = (0..rows).map(|r| v[r * cols + c] as f64 * x[r] as f64).sum();
                let scale: f64 = (0..rows).map(|r| (v[r * cols + c] as f64 * x[r] as f64).abs()).sum::<f64>() + 1.0;
                assert!((*g as f64 - want).abs() <= 1e-6 * scale, "{held} {rows}x{cols}, column {c}: {g} vs {want}");
            }
            let y = values(cols, 6);
            let back = t.transposed();
            assert!(back.addmv(&vec![0.0; rows], &y) == m.addmv(&vec![0.0; rows], &y), "{held} {rows}x{cols} twice");
        }
    }
}
