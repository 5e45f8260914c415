//! `train`'s optimizer (`train::adamw::AdamW`, written out so its moments can
//! be saved) takes the same steps as libtorch's own AdamW and Adam, the C++
//! implementations of PyTorch's, gradient clipping included.

use crate::common::close::{assert_close, max_diff};
use gatescope::train::adamw::AdamW;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Two parameters, the same in both stores (made without libtorch's global
/// generator, which tests on other threads draw from), and a loss whose
/// gradients are large enough for the clipping to act in some steps and not
/// others.
fn store() -> (nn::VarStore, Vec<(String, Tensor)>) {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let a = root.var_copy("a", &Tensor::arange(40, (Kind::Float, Device::Cpu)).sin().view([8, 5]));
    let b = root.var_copy("b", &Tensor::arange(5, (Kind::Float, Device::Cpu)).cos());
    (vs, vec![("a".into(), a), ("b".into(), b)])
}

fn loss(params: &[(String, Tensor)], k: i64) -> Tensor {
    let x = Tensor::arange(40, (Kind::Float, Device::Cpu)).view([5, 8]).sin() * (1.0 + k as f64);
    let y = x.matmul(&params[0].1) + &params[1].1;
    (y.tanh() - 0.3).pow_tensor_scalar(2).sum(Kind::Float) * (if k % 3 == 0 { 20.0 } else { 0.5 })
}

fn compare(weight_decay: f64) {
    let (vs_ref, p_ref) = store();
    let (_vs, p_ours) = store();
    let mut reference = if weight_decay > 0.0 {
        nn::AdamW { wd: weight_decay, ..Default::default() }.build(&vs_ref, 1e-2).unwrap()
    } else {
        nn::Adam::default().build(&vs_ref, 1e-2).unwrap()
    };
    let mut ours = AdamW::new(p_ours.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(), weight_decay);
    for k in 0..30 {
        let lr = 1e-2 * (1.0 + (k as f64 * 0.3).cos()) / 2.0 + 1e-4;
        reference.set_lr(lr);
        reference.backward_step_clip_norm(&loss(&p_ref, k), 1.0);
        ours.backward_step_clip_norm(&loss(&p_ours, k), 1.0, lr);
    }
    assert_eq!(ours.updates(), 30);
    for ((name, r), (_, o)) in p_ref.iter().zip(&p_ours) {
        let moved = max_diff(r, &store().1.iter().find(|(n, _)| n == name).unwrap().1, name);
        assert!(moved > 1e-2, "{name} moved ({moved})");
        assert_close(o, r, 1e-5, &format!("wd {weight_decay}: {name} against libtorch's"));
    }
}

#[test]
fn adamw_takes_libtorchs_steps() {
    compare(0.1);
}

#[test]
fn without_weight_decay_it_is_libtorchs_adam() {
    compare(0.0);
}
