//! gatescope's logits and gates equal PyTorch's on models PyTorch built.

use crate::common::assert_close;
use gatescope::generate::Generator;
use gatescope::model::sample::Sampling;
use gatescope::model::{load_checkpoint, CharLstm, LstmState, StepOutput};
use gatescope::vocab::Vocab;
use safetensors::SafeTensors;

const TOL: f64 = 1e-5;

struct Expected {
    text: String,
    tensors: std::collections::HashMap<String, (Vec<usize>, Vec<f32>)>,
}

fn reference(kind: &str, layers: usize, hidden: usize, text: &str) -> (tempfile::TempDir, Expected) {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/parity_reference.py");
    let out = crate::common::python()
        .args([script, "--out", dir.path().to_str().unwrap(), "--kind", kind, "--text", text])
        .args(["--layers", &layers.to_string(), "--hidden", &hidden.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "reference script failed: {}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(dir.path().join("expected.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st
        .tensors()
        .into_iter()
        .map(|(name, v)| {
            let data = v.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            (name, (v.shape().to_vec(), data))
        })
        .collect();
    (dir, Expected { text: text.to_string(), tensors })
}

fn row<'a>(e: &'a Expected, name: &str, t: usize) -> &'a [f32] {
    let (shape, data) = &e.tensors[name];
    let w = shape[1];
    &data[t * w..(t + 1) * w]
}

/// Every step's gates, c, h and logits against PyTorch's.
fn check_steps(e: &Expected, model: &CharLstm, steps: &[StepOutput], path: &str) {
    let hd = model.dims.hidden;
    assert_eq!(steps.len(), e.text.chars().count());
    for (t, s) in steps.iter().enumerate() {
        assert_close(&s.logits, row(e, "logits", t), TOL, &format!("{path} logits t={t}"));
        for (k, l) in s.layers.iter().enumerate() {
            let g = row(e, &format!("gates_l{k}"), t);
            for (n, (name, got)) in [("i", &l.i), ("f", &l.f), ("g", &l.g), ("o", &l.o)].into_iter().enumerate() {
                assert_close(got, &g[n * hd..(n + 1) * hd], TOL, &format!("{path} gate {name} layer {k} t={t}"));
            }
            assert_close(&l.c, row(e, &format!("c_l{k}"), t), TOL, &format!("{path} c layer {k} t={t}"));
            assert_close(&l.h, row(e, &format!("h_l{k}"), t), TOL, &format!("{path} h layer {k} t={t}"));
        }
    }
}

fn check_model(kind: &str, text: &str) {
    let (dir, e) = reference(kind, 2, 32, text);
    let ck = load_checkpoint(&dir.path().join("model.safetensors")).unwrap();
    let model = &ck.model;
    assert_eq!(model.vocab, Vocab::from_text(text).unwrap(), "vocab order is Python's sorted(set(text))");
    assert_eq!(model.dims.embed == 0, kind == "onehot");
    let ids = model.vocab.encode(text).unwrap();

    // The explicit step, one character at a time.
    let stepper = model.stepper();
    let mut state = LstmState::zeros(&model.dims);
    let stepped: Vec<StepOutput> = ids.iter().map(|&id| stepper.step(id, &mut state)).collect();
    check_steps(&e, model, &stepped, "step");

    // The batched prompt path.
    let mut state = LstmState::zeros(&model.dims);
    let primed = model.prime_with_gates(&ids, &mut state);
    check_steps(&e, model, &primed, "prime");

    // The fused path's logits.
    let fused = model.forward(&tch::Tensor::from_slice(&ids).unsqueeze(0), None, 0.0, false).0;
    let fused: Vec<f32> = Vec::try_from(fused.flatten(0, -1)).unwrap();
    assert_close(&fused, &e.tensors["logits"].1, TOL, "fused logits");

    // And the Generator's steps carry the same gates (as the trace and the TUI see them).
    let mut generator = Generator::new(model, Sampling::default());
    let steps = generator.feed_prompt(text).unwrap();
    assert_close(&steps[3].layers[1].gates.i, &row(&e, "gates_l1", 3)[..32], TOL, "generator gate i");
}

#[test]
fn embedding_model_with_unicode_vocabulary_matches_pytorch() {
    check_model("embed", "Hé said — “hi” 🙂 and left.\nThen é—é 🙂🙂 came back, twice.");
}

#[test]
fn one_hot_model_matches_pytorch() {
    check_model("onehot", "to be, or not to be: that is the question.\n");
}
