//! The cell analyses' speed beside `gatescope eval`'s stateful pass over the
//! same characters, printed as `key=value` for bench/bench.py:
//!   cargo bench --bench analysis -- [CHECKPOINT] [DATA] [CHARS] [RUNS]
//! (default: the shipped model, data/tinyshakespeare.txt, 20000, 3). The text
//! is the first CHARS characters of DATA's validation split (the last 10%).
//! Each figure is the median of RUNS runs taken in alternation.
//! eval_stateful_ms  `stateful_loss` (what `gatescope eval` prints), on libtorch's default threads, as eval runs
//! cells_ms          `analysis::catalogue`, on libtorch's default threads, as `gatescope cells` runs
//! cells_pass_ms     the same streamed pass with the catalogue's work left out
//! cells_ratio       cells_ms / eval_stateful_ms

use gatescope::analysis::{self, encode};
use gatescope::data::{read_text, split_point};
use gatescope::model::load_model;
use gatescope::train::eval::stateful_loss;
use std::path::PathBuf;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t0 = Instant::now();
    let out = f();
    (t0.elapsed().as_secs_f64() * 1e3, out)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let checkpoint = args.first().filter(|s| !s.is_empty() && *s != "-").map(PathBuf::from);
    let data = PathBuf::from(args.get(1).map_or("data/tinyshakespeare.txt", |s| s.as_str()));
    let chars: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(20_000);
    let runs: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(3);
    let ck = load_model(checkpoint.as_deref())?;
    let model = &ck.model;
    let text: Vec<char> = read_text(&data)?.chars().collect();
    let from = split_point(text.len(), 0.1);
    let text = &text[from..(from + chars).min(text.len())];
    let ids = encode(&model.vocab, text, "data")?;
    let default_threads = tch::get_num_threads();

    let (mut eval, mut cells, mut pass) = (Vec::new(), Vec::new(), Vec::new());
    let mut top_r = 0.0;
    for _ in 0..runs {
        // stateful_loss predicts x_1..x_(n-1) from x_0..x_(n-2): pass n + 1
        // ids so it reads the same n characters the analysis reads.
        let (ms, _) = timed(|| stateful_loss(model, &ids, tch::Device::Cpu));
        eval.push(ms);
        let (ms, cat) = timed(|| analysis::catalogue(model, text, &ids, 3, &mut |_| {}));
        cells.push(ms);
        top_r = cat.features[0].units.first().map_or(0.0, |c| c.r);
        let (ms, _) = timed(|| analysis::stream(model, &ids, &mut |_| {}, |_, _| {}));
        pass.push(ms);
    }
    let (e, c, p) = (median(eval), median(cells), median(pass));
    let d = model.dims;
    println!(
        "model={}x{} chars={} eval_stateful_ms={e:.0} cells_ms={c:.0} cells_pass_ms={p:.0} cells_ratio={:.2} \
         threads={default_threads} line_position_top_r={top_r:.3}",
        d.layers,
        d.hidden,
        text.len(),
        c / e
    );
    Ok(())
}
