//! Model-side speed, printed as `key=value` for bench/bench.py to set beside
//! the PyTorch reference:
//!   cargo bench --bench model -- CHECKPOINT [LENGTH]
//! gen_chars_per_s        explicit step with every gate captured (what the TUI streams)
//! gen_trace_chars_per_s  the same, also writing the JSONL trace
//! step_bytes             the weights one step reads (`Stepper::bytes_per_step`)
//! read_gb_per_s          B: one thread's streaming read of a buffer of step_bytes
//!                        (libtorch's `sum`, or four streams at once if faster),
//!                        the machine's own limit on a step
//! gen_limit_chars_per_s  B / step_bytes: the steps per second a read of the weights allows
//! gen_of_limit           gen_chars_per_s over that limit (a second line, beside its goal)
//! read2_gb_per_s         B2: the same buffer read by two threads at once, half each,
//!                        handed over as the step hands over half of a product
//!                        (`model::helper`); the limit when both cores read
//! gen_of_limit2          gen_chars_per_s over B2 / step_bytes
//! prompt1000_ms          a 1,000-character prompt through `feed_prompt`, with gates
//! prompt1000_fused_only_ms  the same prompt through libtorch's fused LSTM alone
//! prompt1000_ratio       the two medians' ratio, beside its goal (a second line)
//! prompt1000_products_only_ms  the products alone that `read` does for that prompt
//!                        (each W_hh per step, the deeper W_ih and the head at once):
//!                        the floor of the prompt path with these kernels
//! prompt1000_batched_all_cores_ms  the batched path (libtorch's fused LSTM and its gates)
//!                        on every core, as the playground's worker runs it
//! prompt_path            which path `feed_prompt` takes for this model: `read` (the step
//!                        layer by layer, `Stepper::reads_prompts_faster`) or `batched`
//! prompt_gates           where the prompt path found the gates (workspace or product)

use gatescope::generate::Generator;
use gatescope::model::sample::Sampling;
use gatescope::model::LstmState;
use gatescope::model::{load_model, on_all_cores, step_matrices, use_one_thread, CharLstm};
use gatescope::trace::{TraceThread, TraceWriter};
use std::path::PathBuf;
use std::time::Instant;
use tch::{Kind, Tensor};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds of each of `n` one-thread reads of a `bytes`-byte buffer (after
/// ten untimed), the buffer being the size of the weights a step reads: the
/// time a step cannot beat on this machine while it reads every weight once.
/// Two reads, each timed `n` times: libtorch's `sum` (one stream) and the
/// buffer's four quarters read side by side (as the step's kernels read four
/// rows), whichever is faster by median; some CPUs serve several streams at
/// once faster than one.
fn read_seconds(bytes: usize, n: usize) -> Vec<f64> {
    let buffer = Tensor::ones([(bytes / 4) as i64], (Kind::Float, tch::Device::Cpu));
    let words = vec![1u64; bytes / 8];
    let one_stream = || {
        std::hint::black_box(buffer.sum(Kind::Float).double_value(&[]));
    };
    let four_streams = || {
        std::hint::black_box(xor_four_streams(&words));
    };
    let (a, b) = (timed(n, one_stream), timed(n, four_streams));
    if median(a.clone()) <= median(b.clone()) {
        a
    } else {
        b
    }
}

/// Seconds of each of `n` reads of a `bytes`-byte buffer by this thread and
/// the step's helper thread at once, half each (after ten untimed).
fn two_thread_read_seconds(bytes: usize, n: usize) -> Vec<f64> {
    let Some(helper) = gatescope::model::helper::helper() else {
        return read_seconds(bytes, n);
    };
    let words = vec![1u64; bytes / 8];
    let (first, second) = words.split_at(words.len() / 2);
    let read = || {
        let (mut a, mut b) = (0, 0);
        helper.join(|| a = xor_four_streams(first), || b = xor_four_streams(second));
        std::hint::black_box(a ^ b);
    };
    timed(n, read)
}

/// Seconds of each of `n` runs of `read`, after ten untimed.
fn timed(n: usize, read: impl Fn()) -> Vec<f64> {
    (0..10).for_each(|_| read());
    (0..n)
        .map(|_| {
            let t0 = Instant::now();
            read();
            t0.elapsed().as_secs_f64()
        })
        .collect()
}

/// The xor of every word, read as four streams (one per quarter) at once.
fn xor_four_streams(words: &[u64]) -> u64 {
    let q = words.len() / 4;
    let (a, rest) = words.split_at(q);
    let (b, rest) = rest.split_at(q);
    let (c, d) = rest.split_at(q);
    let mut acc = [[0u64; 8]; 4];
    for (((a, b), c), d) in a.chunks_exact(8).zip(b.chunks_exact(8)).zip(c.chunks_exact(8)).zip(d.chunks_exact(8)) {
        for k in 0..8 {
            acc[0][k] ^= a[k];
            acc[1][k] ^= b[k];
            acc[2][k] ^= c[k];
            acc[3][k] ^= d[k];
        }
    }
    acc.iter().flatten().fold(0, |x, y| x ^ y)
}

/// Milliseconds (median of 9) of the products alone that reading an
/// `n`-character prompt takes (`Stepper::read`): each layer's `W_hh` once per
/// step, a product per step as the recurrence needs, and the deeper layers'
/// `W_ih` and the head over all `n` steps at once, in the bytes the step
/// holds them in. What the read cannot beat with these kernels.
fn read_products_ms(model: &CharLstm, n: usize) -> f64 {
    // The step's matrices, in the order `Stepper` takes them: layer 0's
    // `W_hh` (its `W_ih` is a table by character), each deeper layer's
    // `W_ih` and `W_hh`, the head.
    let (l0, deeper) = model.layers.split_first().expect("a layer");
    let tensors: Vec<&Tensor> = std::iter::once(&l0.w_hh)
        .chain(deeper.iter().flat_map(|l| [&l.w_ih, &l.w_hh]))
        .chain([&model.head_w])
        .collect();
    let matrices = step_matrices(&tensors);
    let (w_hh0, rest) = matrices.split_first().expect("layer 0's W_hh");
    let (head, pairs) = rest.split_last().expect("the head");
    let hidden = model.dims.hidden;
    let h: Vec<f32> = (0..hidden).map(|u| (u as f32 * 0.37).sin() * 0.5).collect();
    let hs: Vec<f32> = h.iter().copied().cycle().take(n * hidden).collect();
    let mut times = Vec::new();
    for _ in 0..9 {
        let t0 = Instant::now();
        let recurrence = |w_hh: &gatescope::model::matvec::Matrix| {
            let mut out = vec![0f32; w_hh.rows()];
            for _ in 0..n {
                w_hh.add_product(&h, &mut out);
            }
        };
        recurrence(w_hh0);
        for pair in pairs.chunks_exact(2) {
            let mut outs = vec![0f32; n * pair[0].rows()];
            pair[0].add_products(&hs, &mut outs);
            recurrence(&pair[1]);
        }
        let mut logits = vec![0f32; n * head.rows()];
        head.add_products(&hs, &mut logits);
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    median(times)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let checkpoint = args.first().map(PathBuf::from);
    let length: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    use_one_thread();
    let ck = load_model(checkpoint.as_deref())?;
    let sampling = Sampling { temperature: 1.0, ..Default::default() };

    let mut gen = Generator::new(&ck.model, sampling);
    gen.feed_prompt("ROMEO:")?;
    for _ in 0..50 {
        gen.generate_step()?; // warm-up
    }
    let stepper = ck.model.stepper();
    let step_bytes = stepper.bytes_per_step();
    let mut reads = read_seconds(step_bytes, 151);
    let t0 = Instant::now();
    let mut kept = 0usize;
    for _ in 0..length {
        kept += gen.generate_step()?.layers.len();
    }
    let gen_cps = length as f64 / t0.elapsed().as_secs_f64();
    reads.extend(read_seconds(step_bytes, 150));
    let read_gb_per_s = step_bytes as f64 / median(reads) / 1e9;
    let limit_cps = read_gb_per_s * 1e9 / step_bytes as f64;
    let read2_gb_per_s = step_bytes as f64 / median(two_thread_read_seconds(step_bytes, 301)) / 1e9;
    let limit2_cps = read2_gb_per_s * 1e9 / step_bytes as f64;

    // As `generate --trace` does it: JSON written on its own thread.
    let dir = tempfile::tempdir()?;
    let mut trace = TraceThread::start(TraceWriter::create(&dir.path().join("trace.jsonl"))?);
    let t0 = Instant::now();
    for _ in 0..length {
        trace.send(gen.generate_step()?)?;
    }
    trace.finish()?;
    let trace_cps = length as f64 / t0.elapsed().as_secs_f64();

    let prompt: String = "ROMEO:\nWhat light through yonder window breaks? ".chars().cycle().take(1000).collect();
    let prompt: String = prompt.chars().filter(|&c| ck.model.vocab.contains(c)).collect();
    // For scale: libtorch's own fused LSTM over the same prompt, no gates kept.
    // Its batch-1 recurrence is the floor any prompt path here stands on.
    // The two alternate, so a busy machine slows both alike.
    let ids = ck.model.vocab.encode(&prompt)?;
    let (mut times, mut fused) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        let mut g = Generator::new(&ck.model, sampling);
        let t0 = Instant::now();
        let steps = g.feed_prompt(&prompt)?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(steps.len(), prompt.chars().count());
        drop(steps);
        let mut state = LstmState::zeros(&ck.model.dims);
        let t0 = Instant::now();
        let _ = ck.model.prime(&ids, &mut state);
        fused.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let mut batched = Vec::new();
    for _ in 0..9 {
        let mut state = LstmState::zeros(&ck.model.dims);
        let t0 = Instant::now();
        let steps = on_all_cores(|| ck.model.prime_with_gates(&ids, &mut state));
        batched.push(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(steps.len(), ids.len());
    }
    let d = ck.model.dims;
    let (prompt_ms, fused_ms) = (median(times), median(fused));
    println!(
        "model={}x{} gen_chars_per_s={gen_cps:.0} gen_trace_chars_per_s={trace_cps:.0} prompt1000_ms={prompt_ms:.1} prompt1000_fused_only_ms={fused_ms:.1} layers_seen={} prompt_gates={}",
        d.layers,
        d.hidden,
        kept / length,
        if ck.model.prompt_gates_from_workspace() { "workspace" } else { "product" },
    );
    println!("prompt1000_ratio={:.2} (goal <= 1.2)", prompt_ms / fused_ms);
    println!("prompt1000_products_only_ms={:.1}", read_products_ms(&ck.model, ids.len()));
    println!(
        "prompt1000_batched_all_cores_ms={:.1} prompt_path={}",
        median(batched),
        if stepper.reads_prompts_faster() { "read" } else { "batched" }
    );
    println!(
        "step_bytes={step_bytes} read_gb_per_s={read_gb_per_s:.1} gen_limit_chars_per_s={limit_cps:.0} gen_of_limit={:.2} (goal >= 0.70) reads_f16={}",
        gen_cps / limit_cps,
        stepper.reads_f16(),
    );
    println!(
        "read2_gb_per_s={read2_gb_per_s:.1} gen_limit2_chars_per_s={limit2_cps:.0} gen_of_limit2={:.2}",
        gen_cps / limit2_cps
    );
    Ok(())
}
