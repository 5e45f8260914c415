//! `attribute`'s speed on a prompt, printed as `key=value` for bench/bench.py:
//!   cargo bench --bench attribute -- [CHECKPOINT] [CHARS] [RUNS] [THREADS]
//! (default: the shipped model, 500, 5, libtorch's default threads). The
//! prompt is the first CHARS characters of data/tinyshakespeare.txt's
//! validation split (the last 10%), and F is the log p of the model's
//! likeliest next character after it, as `gatescope attribute` does with
//! no --step and no --target. Each figure is the median of RUNS runs taken
//! in alternation, after one untimed run of each.
//! grad_ms   gradient × input: one pass without gradients (F(e), F(0)), one with
//! ig32_ms   integrated gradients, M = 32: the same first pass, then one batch of 32
//! gap32     |Σ a_s − (f_x − f_baseline)| of the ig run, the midpoint rule's error

use gatescope::analysis::attribution::{attribute, Method, Target};
use gatescope::data::{read_text, split_point};
use gatescope::model::load_model;
use std::path::PathBuf;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
    let (mut grad, mut ig) = (Vec::new(), Vec::new());
    let mut gap = 0.0;
    for run in 0..=runs {
        let t0 = Instant::now();
        attribute(model, &ids, step, Target::Next(None), Method::Grad)?;
        let g = t0.elapsed().as_secs_f64() * 1e3;
        let t0 = Instant::now();
        let r = attribute(model, &ids, step, Target::Next(None), Method::Ig(32))?;
        let i = t0.elapsed().as_secs_f64() * 1e3;
        gap = r.completeness_gap();
        if run > 0 {
            grad.push(g);
            ig.push(i);
        }
    }
    let d = model.dims;
    println!(
        "model={}x{} chars={} threads={} grad_ms={:.0} ig32_ms={:.0} gap32={gap:.2e} grad_runs={:?} ig_runs={:?}",
        d.layers,
        d.hidden,
        ids.len(),
        tch::get_num_threads(),
        median(grad.clone()),
        median(ig.clone()),
        grad.iter().map(|v| v.round()).collect::<Vec<_>>(),
        ig.iter().map(|v| v.round()).collect::<Vec<_>>()
    );
    Ok(())
}
