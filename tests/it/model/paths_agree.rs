//! The fused libtorch LSTM, the explicit step and the batched prompt path
//! compute the same thing.

use crate::common::assert_close;
use gatescope::model::matvec::SIDE_BY_SIDE;
use gatescope::model::{load_checkpoint, save_checkpoint_as, CharLstm, Dropout, LstmState, Stepper, StoredAs};
use gatescope::vocab::Vocab;
use tch::Tensor;

fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::try_from(t.flatten(0, -1)).unwrap()
}

#[test]
fn fused_and_explicit_paths_agree_on_a_three_layer_model_over_200_characters() {
    let text: String = "The quick brown fox jumps over the lazy dog; 0123456789!\n".chars().cycle().take(200).collect();
    let model = CharLstm::random(Vocab::from_text(&text).unwrap(), 12, 48, 3, 3);
    assert!(!model.stepper().reads_f16(), "random f32 weights keep f32 matrices");
    fused_and_explicit_agree(&model, &text);
}

/// Matrices past `SPLIT_BYTES` are split over two threads in the step: a
/// 2×256 model in f32 (1 MB and 2 MB matrices) and in f16, over 100 characters.
#[test]
fn a_model_whose_products_are_split_over_two_threads_agrees_with_the_fused_pass() {
    use gatescope::model::matvec::SPLIT_BYTES;
    let text: String = "The quick brown fox jumps over the lazy dog; 0123456789!\n".chars().cycle().take(100).collect();
    let model = CharLstm::random(Vocab::from_text(&text).unwrap(), 16, 256, 2, 3);
    // Layer 0's W_hh, the smallest matrix split, in f16.
    const { assert!(4 * 256 * 256 * 2 >= SPLIT_BYTES) };
    fused_and_explicit_agree(&model, &text);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m16.safetensors");
    save_checkpoint_as(&model, &Default::default(), &path, StoredAs::F16).unwrap();
    let half = load_checkpoint(&path).unwrap().model;
    assert!(half.stepper().reads_f16());
    fused_and_explicit_agree(&half, &text);
}

/// A model stored in f16: the step reads its matrices as f16 (`matvec`), and
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

/// What a step reads, the figure `make bench` divides the read bandwidth by:
/// each matrix once (layer 0's W_hh, the deeper layers' W_ih and W_hh, the
/// head), in the bytes it is held in, and the f32 biases and table row.
#[test]
fn a_step_reads_every_matrix_once_in_the_bytes_it_is_held_in() {
    let text = "abcdefghij";
    let (vocab, hidden) = (10, 37);
    let random = CharLstm::random(Vocab::from_text(text).unwrap(), 12, hidden, 3, 3);
    let matrices = 4 * hidden * hidden + 2 * (4 * hidden * 2 * hidden) + vocab * hidden;
    let f32s = 4 * hidden + 2 * 4 * hidden + vocab;
    assert_eq!(random.stepper().bytes_per_step(), 4 * (matrices + f32s));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m16.safetensors");
    save_checkpoint_as(&random, &Default::default(), &path, StoredAs::F16).unwrap();
    let half = load_checkpoint(&path).unwrap().model;
    assert_eq!(half.stepper().bytes_per_step(), 2 * matrices + 4 * f32s);
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
        assert_close(&out.logits, &fused_logits[t * v..(t + 1) * v], 1e-5, &format!("logits at t={t}"));
    }
    for k in 0..model.dims.layers {
        assert_close(&state.h[k], h.get(k as i64), 1e-5, &format!("h of layer {k}"));
        assert_close(&state.c[k], c.get(k as i64), 1e-5, &format!("c of layer {k}"));
    }
    read_gives_the_steps_bits(model, &ids, &state);
}

/// `Stepper::read` (layer by layer, the input products of every step at
/// once) against `step` per character, from `from`: every gate, c, h and
/// logit, and the state each leaves, bit for bit; and read in two pieces
/// as read whole.
fn read_gives_the_steps_bits(model: &CharLstm, ids: &[i64], from: &LstmState) {
    let stepper = model.stepper();
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    let mut stepped = from.clone();
    let want: Vec<_> = ids.iter().map(|&id| stepper.step(id, &mut stepped)).collect();
    let mut read = from.clone();
    let got = stepper.read(ids, &mut read);
    let cut = ids.len() / 3;
    let mut pieces = from.clone();
    let mut in_two = stepper.read(&ids[..cut], &mut pieces);
    in_two.extend(stepper.read(&ids[cut..], &mut pieces));
    assert_eq!((got.len(), in_two.len()), (ids.len(), ids.len()));
    for (t, ((w, g), p)) in want.iter().zip(&got).zip(&in_two).enumerate() {
        for out in [g, p] {
            assert_eq!(bits(&out.logits), bits(&w.logits), "read's logits at t={t}");
            for (k, (a, b)) in w.layers.iter().zip(&out.layers).enumerate() {
                for (name, x, y) in [("i", &a.i, &b.i), ("f", &a.f, &b.f), ("g", &a.g, &b.g)].into_iter().chain([
                    ("o", &a.o, &b.o),
                    ("c", &a.c, &b.c),
                    ("h", &a.h, &b.h),
                ]) {
                    assert_eq!(bits(y), bits(x), "read's {name} of layer {k} at t={t}");
                }
            }
        }
    }
    for k in 0..model.dims.layers {
        for state in [&read, &pieces] {
            assert!(state.h[k] == stepped.h[k] && state.c[k] == stepped.c[k], "the state read leaves, layer {k}");
        }
    }
    for m in [2, SIDE_BY_SIDE + 1] {
        several_read_side_by_side_as_alone(&stepper, ids, from, m);
    }
}

/// `Stepper::read_several`: `m` sequences (the text from `from`, then the
/// text from a zero state with its layer-0 inputs scaled, as attribution's
/// copies are) each get the bits `read_inputs` gives them alone, and leave
/// the same states.
fn several_read_side_by_side_as_alone(stepper: &Stepper, ids: &[i64], from: &LstmState, m: usize) {
    let dims = stepper.dims();
    let hd4 = 4 * dims.hidden;
    let text: Vec<f32> = stepper.read_inputs_of(ids);
    let inputs: Vec<Vec<f32>> =
        (0..m).map(|j| text.iter().map(|v| v * (1.0 - j as f32 / (m as f32 + 1.0))).collect()).collect();
    let starts: Vec<LstmState> = (0..m).map(|j| if j == 0 { from.clone() } else { LstmState::zeros(&dims) }).collect();
    let side_by_side: Vec<f32> =
        (0..ids.len()).flat_map(|t| inputs.iter().flat_map(move |p| &p[t * hd4..(t + 1) * hd4])).copied().collect();
    let mut together = starts.clone();
    let got = stepper.read_several(side_by_side, &mut together);
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    for (j, (input, start)) in inputs.into_iter().zip(starts).enumerate() {
        let mut alone = start;
        let want = stepper.read_inputs(input, &mut alone);
        assert_eq!(got[j].len(), want.len(), "{m} sequences: sequence {j}'s steps");
        for (t, (g, w)) in got[j].iter().zip(&want).enumerate() {
            assert_eq!(bits(&g.logits), bits(&w.logits), "{m} sequences: sequence {j}'s logits at t={t}");
            for (k, (a, b)) in w.layers.iter().zip(&g.layers).enumerate() {
                for (x, y) in a.vectors().into_iter().zip(b.vectors()) {
                    assert_eq!(bits(x), bits(y), "{m} sequences: sequence {j}, layer {k}, t={t}");
                }
            }
        }
        for k in 0..dims.layers {
            let same = together[j].h[k] == alone.h[k] && together[j].c[k] == alone.c[k];
            assert!(same, "{m} sequences: sequence {j}'s state, layer {k}");
        }
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
                    for (name, u, v) in [("i", &x.i, &y.i), ("f", &x.f, &y.f), ("g", &x.g, &y.g), ("o", &x.o, &y.o)]
                        .into_iter()
                        .chain([("c", &x.c, &y.c), ("h", &x.h, &y.h)])
                    {
                        assert_close(v, u, 1e-5, &format!("{hidden} {workspace} t={t} layer {k} {name}"));
                    }
                }
                assert_close(&b.logits, &a.logits, 1e-5, &format!("{hidden} {workspace} t={t} logits"));
            }
            for k in 0..layers {
                assert_close(
                    &state.c[k],
                    &stepped_state.c[k],
                    1e-5,
                    &format!("{hidden} {workspace}: c left in layer {k}"),
                );
                assert_close(
                    &state.h[k],
                    &stepped_state.h[k],
                    1e-5,
                    &format!("{hidden} {workspace}: h left in layer {k}"),
                );
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

/// The step's sigmoid and tanh (rten-vecmath's, vectorised) against the
/// exact functions in f64, over the range a gate's pre-activation takes and
/// beyond, infinities included: what the step's doc comment states.
#[test]
fn the_steps_sigmoid_and_tanh_are_within_three_tenths_of_a_millionth_of_the_exact_functions() {
    use rten_simd::SimdUnaryOp;
    let mut xs: Vec<f32> = (-40_000..=40_000).map(|i| i as f32 / 1000.0).collect();
    xs.extend([1e-30, -1e-30, 1e30, -1e30, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE]);
    let (mut s, mut t) = (xs.clone(), xs.clone());
    rten_vecmath::Sigmoid {}.map_mut(&mut s);
    rten_vecmath::Tanh {}.map_mut(&mut t);
    for ((&x, &s), &t) in xs.iter().zip(&s).zip(&t) {
        let x64 = x as f64;
        let (es, et) = (1.0 / (1.0 + (-x64).exp()), x64.tanh());
        assert!((s as f64 - es).abs() <= 3e-7, "sigmoid({x}) = {s}, exactly {es}");
        assert!((t as f64 - et).abs() <= 3e-7, "tanh({x}) = {t}, exactly {et}");
    }
}

/// A prompt is read by the faster path: `Stepper::read` on two cores, and
/// on one when the step reads f16; libtorch's batched pass otherwise (a
/// one-core machine, f32 weights). On this two-core machine `feed_prompt`
/// gives `read`'s values bit for bit, for an f32 and an f16 model, and the
/// batched pass agrees with them to 1e-5 (above).
#[test]
fn a_prompt_is_read_layer_by_layer_on_two_cores_or_in_f16_and_batched_otherwise() {
    use gatescope::generate::Generator;
    use gatescope::model::sample::Sampling;
    use gatescope::model::Stepper;
    assert!(Stepper::read_is_faster(true, false) && Stepper::read_is_faster(true, true));
    assert!(Stepper::read_is_faster(false, true) && !Stepper::read_is_faster(false, false));
    let text: String = "The quick brown fox jumps over the lazy dog; 0123456789!\n".chars().cycle().take(120).collect();
    let f32_model = CharLstm::random(Vocab::from_text(&text).unwrap(), 12, 40, 2, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m16.safetensors");
    save_checkpoint_as(&f32_model, &Default::default(), &path, StoredAs::F16).unwrap();
    let f16_model = load_checkpoint(&path).unwrap().model;
    for model in [&f32_model, &f16_model] {
        let stepper = model.stepper();
        assert!(stepper.reads_prompts_faster(), "on a machine with two cores");
        let ids = model.vocab.encode(&text).unwrap();
        let mut state = LstmState::zeros(&model.dims);
        let want: Vec<Vec<f32>> =
            stepper.read(&ids, &mut state).into_iter().map(|o| o.layers.last().unwrap().h.clone()).collect();
        let mut generator = Generator::new(model, Sampling::default());
        let steps = generator.feed_prompt(&text).unwrap();
        for (t, (step, h)) in steps.iter().zip(&want).enumerate() {
            let got = &step.layers.last().unwrap().gates.h;
            assert!(got == h, "f16: {}, t={t}: feed_prompt's h is not read's", stepper.reads_f16());
        }
    }
}
