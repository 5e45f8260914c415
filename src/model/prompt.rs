//! The batched prompt path: a whole sequence through libtorch's fused LSTM,
//! with every step's gates recorded.
//!
//! On CPU libtorch runs the fused LSTM with oneDNN, whose training mode keeps
//! every step's gates (after their nonlinearity) in a workspace for the
//! backward pass: the values the kernel itself computed, at no extra product.
//! The workspace's layout belongs to oneDNN, so it is checked on every call
//! against what the kernel also returns (each h_t and the final c); if the
//! check fails, or oneDNN is not there, the gates come from one matrix
//! product over the fused pass's h instead (the same values up to rounding,
//! about 1.5x the time).

use super::layout::Gate;
use super::lstm::{activate, to_vec, CharLstm, LayerGates, LayerWeights, LstmState, StepOutput};
use tch::{Kind, Tensor};

/// libtorch's code for an LSTM in `mkldnn_rnn_layer` (cuDNN's numbering).
const MODE_LSTM: i64 = 2;

/// What one layer computed over the sequence, flat.
struct LayerRun {
    /// Step t's gates are `gates[t * ld..t * ld + 4 * hidden]`, i, f, g, o.
    gates: Gates,
    ld: usize,
    /// `[T * hidden]`: c_t and h_t after every step.
    c: Vec<f32>,
    h: Vec<f32>,
    /// `[T, hidden]`, the next layer's input.
    out: Tensor,
    h_n: Tensor,
    c_n: Tensor,
}

/// Where the gates live: oneDNN's workspace (kept alive, read in place) or
/// a vector computed here.
enum Gates {
    Workspace(Tensor),
    Computed(Vec<f32>),
}

impl Gates {
    fn as_slice(&self) -> &[f32] {
        match self {
            Gates::Computed(v) => v,
            // SAFETY: `ws` is a contiguous CPU byte tensor that this value
            // owns and nothing else writes to; `workspace_layer` checked that
            // its data is 4-byte aligned, and the length is in whole floats.
            Gates::Workspace(ws) => unsafe { std::slice::from_raw_parts(ws.data_ptr() as *const f32, ws.numel() / 4) },
        }
    }
}

impl CharLstm {
    /// Run a prompt (or any known sequence) from `state`, returning every step's
    /// gates and logits, and leaving `state` after the last character. Equal to
    /// calling `Stepper::step` per character, but each layer runs in one fused
    /// pass over the whole sequence.
    pub fn prime_with_gates(&self, ids: &[i64], state: &mut LstmState) -> Vec<StepOutput> {
        self.prime_with_gates_via(ids, state, true)
    }

    /// Whether the gates come from oneDNN's workspace (else from the slower
    /// product): checked on a two-character run from a zero state.
    pub fn prompt_gates_from_workspace(&self) -> bool {
        let _guard = tch::no_grad_guard();
        let input = self.input_layer(&Tensor::from_slice(&[0i64, 0]));
        let state = LstmState::zeros(&self.dims);
        let (h0, c0) = (Tensor::from_slice(&state.h[0]), Tensor::from_slice(&state.c[0]));
        workspace_layer(&self.layers[0], &input, &h0, &c0, self.dims.hidden).is_some()
    }

    /// `prime_with_gates`, with oneDNN's workspace used (`workspace`) or not:
    /// tests hold both ways to the explicit step.
    pub fn prime_with_gates_via(&self, ids: &[i64], state: &mut LstmState, workspace: bool) -> Vec<StepOutput> {
        let _guard = tch::no_grad_guard();
        let t = ids.len();
        if t == 0 {
            return Vec::new();
        }
        let (hd, dims) = (self.dims.hidden, self.dims);
        let mut input = self.input_layer(&Tensor::from_slice(ids)); // [T, in]
        let mut outputs: Vec<StepOutput> =
            (0..t).map(|_| StepOutput { layers: Vec::with_capacity(dims.layers), logits: Vec::new() }).collect();
        for (k, l) in self.layers.iter().enumerate() {
            let (h0, c0) = (Tensor::from_slice(&state.h[k]), Tensor::from_slice(&state.c[k]));
            let run = workspace
                .then(|| workspace_layer(l, &input, &h0, &c0, hd))
                .flatten()
                .unwrap_or_else(|| product_layer(l, &input, &h0, &c0, hd));
            let gates = run.gates.as_slice();
            for (step, o) in outputs.iter_mut().enumerate() {
                let g4 = &gates[step * run.ld..step * run.ld + 4 * hd];
                let at = step * hd..(step + 1) * hd;
                o.layers.push(LayerGates {
                    i: Gate::I.slice(g4, hd).to_vec(),
                    f: Gate::F.slice(g4, hd).to_vec(),
                    g: Gate::G.slice(g4, hd).to_vec(),
                    o: Gate::O.slice(g4, hd).to_vec(),
                    c: run.c[at.clone()].to_vec(),
                    h: run.h[at].to_vec(),
                });
            }
            state.h[k] = to_vec(&run.h_n);
            state.c[k] = to_vec(&run.c_n);
            input = run.out;
        }
        let logits = to_vec(&input.linear(&self.head_w, Some(&self.head_b)));
        for (o, row) in outputs.iter_mut().zip(logits.chunks_exact(dims.vocab)) {
            o.logits = row.to_vec();
        }
        outputs
    }
}

/// One layer through oneDNN's LSTM in training mode, its gates read from the
/// workspace. None when the op is missing, returns no workspace, or the
/// workspace does not hold the gates where they are looked for.
fn workspace_layer(l: &LayerWeights, input: &Tensor, h0: &Tensor, c0: &Tensor, hd: usize) -> Option<LayerRun> {
    let t = input.size()[0] as usize;
    let x = input.unsqueeze(1); // [T, batch 1, in]
    let (h0, c0) = (h0.view([1, -1]), c0.view([1, -1]));
    // The workspace is only written with grad mode on; the weights are
    // detached so that no graph is recorded for a model being trained.
    let w = l.tensors().map(|w| w.detach());
    let (out, h_n, c_n, ws) = tch::with_grad(|| {
        x.f_mkldnn_rnn_layer(
            &w[0], &w[1], &w[2], &w[3], &h0, &c0, false, [0i64; 0], MODE_LSTM, hd as i64, 1, true, false, false, true,
        )
    })
    .ok()?;
    if !ws.defined() || ws.kind() != Kind::Uint8 || !ws.is_contiguous() || !(ws.data_ptr() as usize).is_multiple_of(4) {
        return None;
    }
    let out = out.view([t as i64, hd as i64]);
    let h = to_vec(&out);
    let floats = ws.numel() / 4;
    let gates = Gates::Workspace(ws);
    let c_start = to_vec(&c0);
    // oneDNN pads each step's row of gates to a "good" leading dimension
    // (64-byte aligned, and not a multiple of 1 KB against 4K aliasing; 32
    // bytes on machines without AVX-512): try each, first on steps 0 and 1.
    let ld = good_lds(4 * hd).into_iter().find(|&ld| {
        (t - 1) * ld + 4 * hd <= floats && {
            let steps = t.min(2);
            let mut c = vec![0f32; steps * hd];
            scan(&gates.as_slice()[..(steps - 1) * ld + 4 * hd], ld, &c_start, &mut c, hd);
            (0..steps).all(|s| h_agrees(&gates.as_slice()[s * ld..], &c[s * hd..], &h[s * hd..], hd))
        }
    })?;
    let mut c = vec![0f32; t * hd];
    scan(gates.as_slice(), ld, &c_start, &mut c, hd);
    // The last c checks every step in between: a wrong row anywhere changes it.
    let last = &c[(t - 1) * hd..];
    if !close(last, &to_vec(&c_n)) || !h_agrees(&gates.as_slice()[(t - 1) * ld..], last, &h[(t - 1) * hd..], hd) {
        return None;
    }
    Some(LayerRun { gates, ld, c, h, out, h_n: h_n.view([-1]), c_n: c_n.view([-1]) })
}

/// The leading dimensions oneDNN may give rows of `n` floats, likeliest first.
fn good_lds(n: usize) -> Vec<usize> {
    let mut lds: Vec<usize> = [16, 8]
        .into_iter()
        .map(|align| {
            let ld = n.div_ceil(align) * align;
            if ld % 256 == 0 {
                ld + align
            } else {
                ld
            }
        })
        .collect();
    lds.push(n);
    lds.dedup();
    lds
}

/// One layer through the fused LSTM for every h_t, then all its gates from
/// one matrix product over [x_t ; h_(t-1)].
fn product_layer(l: &LayerWeights, input: &Tensor, h0: &Tensor, c0: &Tensor, hd: usize) -> LayerRun {
    let t = input.size()[0];
    let (h0v, c0v) = (h0.view([1, 1, -1]), c0.view([1, 1, -1]));
    let (out, h_n, c_n) = input.unsqueeze(0).lstm(&[&h0v, &c0v], &l.tensors(), true, 1, 0.0, false, false, true);
    let out = out.squeeze_dim(0); // [T, H]: h_t for every t
    let h_prev = Tensor::cat(&[h0.view([1, -1]), out.narrow(0, 0, t - 1)], 0);
    let pre = input.linear(&l.w_ih, Some(&l.b_ih)) + h_prev.linear(&l.w_hh, Some(&l.b_hh));
    let gates = to_vec(&activate(&pre)); // [T, 4H]
    let mut c = vec![0f32; t as usize * hd];
    scan(&gates, 4 * hd, &to_vec(c0), &mut c, hd);
    LayerRun {
        gates: Gates::Computed(gates),
        ld: 4 * hd,
        c,
        h: to_vec(&out),
        out,
        h_n: h_n.view([-1]),
        c_n: c_n.view([-1]),
    }
}

/// c_t = i·g + (f·c_(t-1)), the sum fused as oneDNN's kernel does it (one
/// rounding), so c_t here is the kernel's own c_t to the bit. `c` holds as
/// many steps as fit.
fn scan(gates: &[f32], ld: usize, c0: &[f32], c: &mut [f32], hd: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has FMA (checked just above).
        return unsafe { scan_fma(gates, ld, c0, c, hd) };
    }
    scan_portable(gates, ld, c0, c, hd)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn scan_fma(gates: &[f32], ld: usize, c0: &[f32], c: &mut [f32], hd: usize) {
    scan_portable(gates, ld, c0, c, hd)
}

/// `mul_add` is one fused operation on every target (an instruction where
/// the CPU has one, a correctly rounded library call where it does not), so
/// both versions give the same bits.
#[inline(always)]
fn scan_portable(gates: &[f32], ld: usize, c0: &[f32], c: &mut [f32], hd: usize) {
    let mut prev: &[f32] = c0;
    for (t, now) in c.chunks_exact_mut(hd).enumerate() {
        let g4 = &gates[t * ld..t * ld + 4 * hd];
        let (i, f, g) = (Gate::I.slice(g4, hd), Gate::F.slice(g4, hd), Gate::G.slice(g4, hd));
        for u in 0..hd {
            now[u] = i[u].mul_add(g[u], f[u] * prev[u]);
        }
        prev = now;
    }
}

/// Whether h = o·tanh(c) for this step's o (the kernel's tanh is its own
/// approximation, so not to the bit).
fn h_agrees(g4: &[f32], c: &[f32], h: &[f32], hd: usize) -> bool {
    let o = Gate::O.slice(g4, hd);
    (0..hd).all(|u| (o[u] * c[u].tanh() - h[u]).abs() <= 1e-5)
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + y.abs()))
}
