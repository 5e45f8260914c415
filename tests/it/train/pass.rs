//! The training pass (`CharLstm::forward_train`): the same model as the
//! fused forward, with dropout where PyTorch's nn.LSTM and the head put it
//! (and on the first layer's input when asked), at the rate asked, unbiased,
//! and fixed by `tch::manual_seed`.

use gatescope::model::{CharLstm, Dropout};
use gatescope::vocab::Vocab;
use std::sync::Mutex;
use tch::{Kind, Tensor};

/// The masks are seeded from libtorch's global generator: tests that draw
/// them or seed it take turns, or one's draws would shift another's.
static TORCH_RNG: Mutex<()> = Mutex::new(());

fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::try_from(t.flatten(0, -1)).unwrap()
}

/// Dropout `output` on every layer's output and weight drop `weight`.
fn drop(output: f64, weight: f64) -> Dropout {
    Dropout { input: 0.0, output, weight }
}

fn model(layers: usize, hidden: usize) -> CharLstm {
    CharLstm::random(Vocab::from_text("abcdefgh").unwrap(), 4, hidden, layers, 5)
}

#[test]
fn without_dropout_it_is_the_fused_forward() {
    let _lock = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let m = model(3, 24);
    let ids = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5, 6, 7, 0, 3, 6, 1, 4, 7, 2, 5]).view([2, 8]);
    let train = to_vec(&m.forward_train(&ids, &drop(0.0, 0.0)));
    let fused = to_vec(&m.forward(&ids, None, 0.0, false).0);
    let d = train.iter().zip(&fused).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(d < 1e-5, "logits differ by {d}");
}

/// The fraction of columns of `grad` ([rows, units]) that are all zero: with
/// one batch element and one step, column j of a weight that multiplies a
/// dropped unit j gets no gradient at all.
fn zero_columns(grad: &Tensor) -> f64 {
    let zero = grad.abs().sum_dim_intlist(0, false, Kind::Float).eq(0.0);
    zero.to_kind(Kind::Float).mean(Kind::Float).double_value(&[])
}

#[test]
fn every_layer_output_is_dropped_at_the_rate_asked() {
    let _lock = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let m = model(2, 800);
    for t in [&m.layers[1].w_ih, &m.head_w] {
        let _ = t.shallow_clone().set_requires_grad(true);
    }
    let ids = Tensor::from_slice(&[3i64]).view([1, 1]);
    let fractions = |p: f64| -> (f64, f64) {
        for t in [&m.layers[1].w_ih, &m.head_w] {
            let mut g = t.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        m.forward_train(&ids, &drop(p, 0.0)).sum(Kind::Float).backward();
        (zero_columns(&m.layers[1].w_ih.grad()), zero_columns(&m.head_w.grad()))
    };
    let (between, head) = fractions(0.3);
    // 800 units: 0.3 ± 4 standard deviations is 0.23..0.37.
    assert!((0.23..0.37).contains(&between), "between the layers: {between}");
    assert!((0.23..0.37).contains(&head), "before the head: {head}");
    assert_eq!(fractions(0.0), (0.0, 0.0), "no dropout, every unit reaches the next layer and the head");
}

#[test]
fn the_first_layers_input_is_dropped_at_the_rate_asked() {
    let _lock = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    // An embedding 800 wide: column j of layer 0's w_ih gets no gradient when
    // input j was dropped (one batch element, one step).
    let m = CharLstm::random(Vocab::from_text("abcdefgh").unwrap(), 800, 8, 1, 5);
    let _ = m.layers[0].w_ih.shallow_clone().set_requires_grad(true);
    let ids = Tensor::from_slice(&[3i64]).view([1, 1]);
    let fraction = |input: f64| -> f64 {
        let mut g = m.layers[0].w_ih.grad();
        if g.defined() {
            let _ = g.zero_();
        }
        m.forward_train(&ids, &Dropout { input, ..drop(0.0, 0.0) }).sum(Kind::Float).backward();
        zero_columns(&m.layers[0].w_ih.grad())
    };
    let dropped = fraction(0.3);
    // 800 inputs: 0.3 ± 4 standard deviations is 0.23..0.37.
    assert!((0.23..0.37).contains(&dropped), "the first layer's input: {dropped}");
    assert_eq!(fraction(0.0), 0.0, "no input dropout, every input reaches the first layer");
}

#[test]
fn dropout_keeps_the_expected_output() {
    let _lock = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    // One layer: only the head's input is dropped, and the head is linear,
    // so the mean over masks is the logits without dropout.
    let m = model(1, 16);
    let ids = Tensor::from_slice(&[1i64, 2, 3, 4]).view([1, 4]);
    let _guard = tch::no_grad_guard();
    let plain = m.forward(&ids, None, 0.0, false).0;
    let n = 4000;
    let one = m.forward_train(&ids, &drop(0.5, 0.0));
    assert!(!one.allclose(&plain, 1e-4, 1e-4, false), "a single pass is dropped");
    let mut sum = plain.zeros_like();
    for _ in 0..n {
        sum += m.forward_train(&ids, &drop(0.5, 0.0));
    }
    let mean = to_vec(&(sum / n as f64));
    let plain = to_vec(&plain);
    let d = mean.iter().zip(&plain).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    let scale = plain.iter().map(|x| x.abs()).fold(0.0, f32::max);
    assert!(d < 0.05 * scale.max(0.1), "mean over {n} masks is off by {d} (logits up to {scale})");
}

#[test]
fn a_seed_fixes_the_masks() {
    let _lock = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let m = model(2, 32);
    let ids = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5]).view([1, 6]);
    let _guard = tch::no_grad_guard();
    let run = |seed: i64| {
        tch::manual_seed(seed);
        to_vec(&m.forward_train(&ids, &Dropout { input: 0.1, ..drop(0.2, 0.4) }))
    };
    let first = run(7);
    assert_eq!(first, run(7), "same seed, same masks");
    assert_ne!(first, run(8), "another seed, other masks");
    tch::manual_seed(7);
    let _ = m.forward_train(&ids, &drop(0.2, 0.4));
    assert_ne!(first, to_vec(&m.forward_train(&ids, &drop(0.2, 0.4))), "each pass draws new masks");
}
