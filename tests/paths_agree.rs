//! The fused libtorch LSTM, the explicit step and the batched prompt path
//! compute the same thing.

use gatescope::model::{load_checkpoint, save_checkpoint_as, CharLstm, Dropout, LstmState, StoredAs};
use gatescope::vocab::Vocab;
use tch::Tensor;

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::try_from(t.flatten(0, -1)).unwrap()
}

#[test]
fn fused_and_explicit_paths_agree_on_a_three_layer_model_over_200_characters() {
    let text: String = "The quick brown fox jumps over the lazy dog; 0123456789!\n".chars().cycle().take(200).collect();
    let model = CharLstm::random(Vocab::from_text(&text).unwrap(), 12, 48, 3, 3);
    assert!(!model.stepper().reads_f16(), "random f32 weights take libtorch's product");
    fused_and_explicit_agree(&model, &text);
}

/// A model stored in f16: the step reads its matrices as f16 (`f16mv`), and
/// still computes what libtorch's fused LSTM computes from the same values.
/// 37 columns in layer 0 and 2 × 37 beyond exercise the kernel's tails.
#[test]
fn a_model_stored_in_f16_steps_on_f16_matrices_and_agrees_with_the_fused_pass() {
    let text: String = "The quick brown fox jumps over the lazy dog; 0123456789!\n".chars().cycle().take(200).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m16.safetensors");
    let random = CharLstm::random(Vocab::from_text(&text).unwrap(), 12, 37, 3, 3);
    save_checkpoint_as(&random, &Default::default(), &path, StoredAs::F16).unwrap();
    let model = load_checkpoint(&path).unwrap().model;
    assert!(model.stepper().reads_f16());
    fused_and_explicit_agree(&model, &text);
}

fn fused_and_explicit_agree(model: &CharLstm, text: &str) {
    let ids = model.vocab.encode(text).unwrap();

    let (logits, (h, c)) = model.forward(&Tensor::from_slice(&ids).unsqueeze(0), None, 0.0, false);
    let fused_logits = to_vec(&logits);

    let stepper = model.stepper();
    let mut state = LstmState::zeros(&model.dims);
    let v = model.dims.vocab;
    for (t, &id) in ids.iter().enumerate() {
        let out = stepper.step(id, &mut state);
        let d = max_diff(&out.logits, &fused_logits[t * v..(t + 1) * v]);
        assert!(d < 1e-5, "logits differ by {d} at t={t}");
    }
    for k in 0..model.dims.layers {
        let dh = max_diff(&to_vec(&state.h[k]), &to_vec(&h.get(k as i64)));
        let dc = max_diff(&to_vec(&state.c[k]), &to_vec(&c.get(k as i64)));
        assert!(dh < 1e-5 && dc < 1e-5, "layer {k}: h differs by {dh}, c by {dc}");
    }
}

/// The batched prompt path, both ways it can get the gates (oneDNN's
/// workspace, or a product over the fused pass's h), against the explicit
/// step: every gate, c, h and logit, and the state it leaves, from a state
/// that is not zero. The sizes cover oneDNN's padded rows (4 x 64 floats is
/// padded, 4 x 48 is not), one-hot input, and a single layer.
#[test]
fn the_batched_prompt_path_agrees_with_the_explicit_step_both_ways() {
    let text: String = "The quick brown fox jumps over the lazy dog; 0123456789!\n".chars().cycle().take(200).collect();
    for (embed, hidden, layers) in [(12, 48, 3), (0, 64, 2), (5, 5, 1)] {
        let model = CharLstm::random(Vocab::from_text(&text).unwrap(), embed, hidden, layers, 3);
        assert!(model.prompt_gates_from_workspace(), "libtorch's oneDNN LSTM keeps the gates where they are read");
        let ids = model.vocab.encode(&text).unwrap();
        let (head, rest) = ids.split_at(37);
        let stepper = model.stepper();
        let mut stepped_state = LstmState::zeros(&model.dims);
        let stepped: Vec<_> = ids.iter().map(|&id| stepper.step(id, &mut stepped_state)).collect();
        for workspace in [true, false] {
            let mut state = LstmState::zeros(&model.dims);
            let mut primed = model.prime_with_gates_via(head, &mut state, workspace);
            primed.extend(model.prime_with_gates_via(rest, &mut state, workspace));
            assert_eq!(primed.len(), stepped.len());
            for (t, (a, b)) in stepped.iter().zip(&primed).enumerate() {
                for k in 0..layers {
                    let (x, y) = (&a.layers[k], &b.layers[k]);
                    let d = [
                        max_diff(&x.i, &y.i),
                        max_diff(&x.f, &y.f),
                        max_diff(&x.g, &y.g),
                        max_diff(&x.o, &y.o),
                        max_diff(&x.c, &y.c),
                        max_diff(&x.h, &y.h),
                    ];
                    assert!(d.iter().all(|&e| e < 1e-5), "{hidden} {workspace} t={t} layer {k}: {d:?}");
                }
                let d = max_diff(&a.logits, &b.logits);
                assert!(d < 1e-5, "{hidden} {workspace} t={t}: logits differ by {d}");
            }
            for k in 0..layers {
                assert!(max_diff(&to_vec(&state.c[k]), &to_vec(&stepped_state.c[k])) < 1e-5);
                assert!(max_diff(&to_vec(&state.h[k]), &to_vec(&stepped_state.h[k])) < 1e-5);
            }
        }
    }
}

#[test]
fn gates_stay_in_their_ranges() {
    let model = CharLstm::random(Vocab::from_text("abc").unwrap(), 0, 8, 2, 1);
    let stepper = model.stepper();
    let mut state = LstmState::zeros(&model.dims);
    for id in [0, 1, 2, 1, 0] {
        let out = stepper.step(id, &mut state);
        for l in &out.layers {
            assert!(l.i.iter().chain(&l.f).chain(&l.o).all(|&x| (0.0..=1.0).contains(&x)));
            assert!(l.g.iter().all(|&x| (-1.0..=1.0).contains(&x)));
        }
    }
}

/// Weight drop is DropConnect on weight_hh: the gradient reaches the raw
/// weights only through the kept entries, so about p of them get exactly
/// zero gradient, while without it almost none do.
#[test]
fn weight_drop_masks_the_recurrent_weights_and_trains_through_the_rest() {
    let model = CharLstm::random(Vocab::from_text("abcdefgh").unwrap(), 4, 32, 2, 3);
    for l in &model.layers {
        let _ = l.w_hh.shallow_clone().set_requires_grad(true);
    }
    let ids = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]).view([2, 6]);
    let zero_grad_fraction = |p: f64| -> f64 {
        for l in &model.layers {
            let mut g = l.w_hh.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        model.forward_train(&ids, &Dropout { weight: p, ..Dropout::default() }).sum(tch::Kind::Float).backward();
        let g = to_vec(&model.layers[1].w_hh.grad());
        g.iter().filter(|&&x| x == 0.0).count() as f64 / g.len() as f64
    };
    let dropped = zero_grad_fraction(0.5);
    assert!((0.4..0.6).contains(&dropped), "p = 0.5 zeroes about half the gradient: {dropped}");
    assert!(zero_grad_fraction(0.0) < 0.01, "no weight drop, no zeroed gradient");
}
