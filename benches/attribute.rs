//! `attribute`'s speed on a prompt, printed as `key=value` for bench/bench.py:
//!   cargo bench --bench attribute -- [CHECKPOINT] [CHARS] [RUNS] [THREADS]
//! (default: the shipped model, 500, 5, libtorch's default threads). The
//! prompt is the first CHARS characters of data/tinyshakespeare.txt's
//! validation split (the last 10%), and F is the log p of the model's
//! likeliest next character after it, as `gatescope attribute` does with
//! no --step and no --target. Each figure is the median of RUNS runs taken
//! in alternation, after one untimed run of each.
//! grad_ms   gradient × input (`attribute`): the text read at e and at the zero
//!           input layer by layer, one hand-written backward; it builds the model's
//!           stepper first
//! grad_worker_ms  the same as the playground's worker runs it, with the stepper
//!           it already holds
//! ig32_ms   integrated gradients, M = 32: the same first pass, then one batch of 32
//! ig32_worker_ms  the same, in passes of `COPIES_PER_PASS` copies, as the
//!           playground's worker runs it (between passes it looks at its
//!           commands; it runs each pass on every core)
//! gap32     |Σ a_s − (f_x − f_baseline)| of the ig run, the midpoint rule's error
//! grad_cpu_ms, ig32_cpu_ms  the same runs' process CPU time: on one thread, close to
//!           the time on an idle machine when other work holds the cores

use gatescope::analysis::attribution::{attribute, Attributor, Method, Target};
use gatescope::data::{read_text, split_point};
use gatescope::model::load_model;
use gatescope::tui::worker::COPIES_PER_PASS;
use std::path::PathBuf;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The process's CPU time so far, in ms.
fn cpu_ms() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes only into the struct it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let checkpoint = args.first().filter(|s| !s.is_empty() && *s != "-").map(PathBuf::from);
    let chars: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(500);
    let runs: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(5);
    if let Some(t) = args.get(3) {
        tch::set_num_threads(t.parse()?);
    }
    let ck = load_model(checkpoint.as_deref())?;
    let model = &ck.model;
    let text: Vec<char> = read_text(std::path::Path::new("data/tinyshakespeare.txt"))?.chars().collect();
    let from = split_point(text.len(), 0.1);
    let prompt: String = text[from..(from + chars).min(text.len())].iter().collect();
    let ids = model.vocab.encode(&prompt)?;
    let step = ids.len() - 1;
    let (mut grad, mut ig, mut grad_cpu, mut ig_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut worker, mut grad_worker) = (Vec::new(), Vec::new());
    let stepper = model.stepper();
    let mut gap = 0.0;
    for run in 0..=runs {
        let (t0, c0) = (Instant::now(), cpu_ms());
        attribute(model, &ids, step, Target::Next(None), Method::Grad)?;
        let (g, gc) = (t0.elapsed().as_secs_f64() * 1e3, cpu_ms() - c0);
        let (t0, c0) = (Instant::now(), cpu_ms());
        let r = attribute(model, &ids, step, Target::Next(None), Method::Ig(32))?;
        let (i, ic) = (t0.elapsed().as_secs_f64() * 1e3, cpu_ms() - c0);
        gap = r.completeness_gap();
        let t0 = Instant::now();
        let mut one = Attributor::new(model, &ids, step, Target::Next(None), Method::Grad, COPIES_PER_PASS)?;
        while !one.pass(model, &stepper)? {}
        one.finish()?;
        let gw = t0.elapsed().as_secs_f64() * 1e3;
        let t0 = Instant::now();
        let mut passes = Attributor::new(model, &ids, step, Target::Next(None), Method::Ig(32), COPIES_PER_PASS)?;
        while !passes.pass(model, &stepper)? {}
        passes.finish()?;
        let w = t0.elapsed().as_secs_f64() * 1e3;
        if run > 0 {
            worker.push(w);
            grad_worker.push(gw);
            grad.push(g);
            ig.push(i);
            grad_cpu.push(gc);
            ig_cpu.push(ic);
        }
    }
    let d = model.dims;
    println!(
        "model={}x{} chars={} threads={} grad_ms={:.0} ig32_ms={:.0} grad_cpu_ms={:.0} ig32_cpu_ms={:.0} ig32_worker_ms={:.0} grad_worker_ms={:.0} \
         gap32={gap:.2e} grad_runs={:?} ig_runs={:?}",
        d.layers,
        d.hidden,
        ids.len(),
        tch::get_num_threads(),
        median(grad.clone()),
        median(ig.clone()),
        median(grad_cpu),
        median(ig_cpu),
        median(worker),
        median(grad_worker),
        grad.iter().map(|v| v.round()).collect::<Vec<_>>(),
        ig.iter().map(|v| v.round()).collect::<Vec<_>>()
    );
    Ok(())
}
