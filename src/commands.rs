//! What each subcommand does: the one module that knows the CLI's types. It
//! turns parsed arguments into the plain configs of the layers below, runs
//! them, and prints.

use crate::atomic::check_destination;
use crate::cli::{Command, DeviceArg, EvalArgs, GenerateArgs, InfoArgs, PlayArgs, SamplingArgs, TrainArgs};
use crate::generate::{trace_header, Generator};
use crate::model::sample::Sampling;
use crate::model::{intervene, load_model, use_one_thread, CharLstm, Intervention};
use crate::trace::{TraceThread, TraceWriter};
use crate::train::{DeviceChoice, TrainConfig};
use crate::vocab::quoted_char;
use anyhow::{anyhow, bail, Result};
use std::io::{IsTerminal, Write};

/// Run one parsed command (`play` when none was given).
pub fn run(command: Option<Command>) -> Result<()> {
    match command.unwrap_or(Command::Play(Default::default())) {
        Command::Play(a) => play(a),
        Command::Generate(a) => generate(a),
        Command::Train(a) => train(a),
        Command::Eval(a) => eval(a),
        Command::Info(a) => info(a),
    }
}

impl From<&SamplingArgs> for Sampling {
    fn from(a: &SamplingArgs) -> Self {
        Sampling { temperature: a.temperature, top_k: a.top_k, top_p: a.top_p, seed: a.seed }
    }
}

pub fn generate(a: GenerateArgs) -> Result<()> {
    use_one_thread();
    if let Some(t) = &a.trace {
        check_destination(t)?;
    }
    let ck = load_model(a.checkpoint.as_deref())?;
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {}: {w}", ck.path.display());
    }
    if a.prompt.is_empty() {
        bail!("--prompt is empty; give the model at least one character to start from");
    }
    let interventions = intervene::parse_all(&a.intervene, &ck.model.dims)?;
    for (iv, spec) in interventions.iter().zip(&a.intervene) {
        iv.check_run(a.prompt.chars().count(), a.length).map_err(|e| anyhow!("--intervene '{spec}': {e}"))?;
    }
    if a.compare && interventions.is_empty() {
        bail!("--compare needs at least one --intervene (it sets the run with them beside the run without)");
    }
    let mut generator = Generator::new(&ck.model, Sampling::from(&a.sampling));
    generator.set_interventions(interventions.clone())?;
    let prompt_steps = generator.feed_prompt(&a.prompt)?;
    // The trace is serialised on its own thread: JSON for every gate costs
    // about as much as the step itself, and the two overlap on two cores.
    let mut trace = match &a.trace {
        Some(path) => {
            let mut writer = TraceWriter::create(path)?;
            if !interventions.is_empty() {
                writer.write(&trace_header(&interventions))?;
            }
            Some(TraceThread::start(writer))
        }
        None => None,
    };
    if a.compare {
        if let Some(tr) = trace.as_mut() {
            for s in prompt_steps {
                tr.send(s)?;
            }
        }
        compare(&a, &ck.model, &interventions, generator, trace.as_mut())?;
        if let Some(tr) = trace {
            let path = tr.finish()?;
            eprintln!("trace: 1 + {} lines in {}", a.prompt.chars().count() + a.length, path.display());
        }
        return Ok(());
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let broken_pipe = |e: std::io::Error| anyhow!("stdout: {e}");
    out.write_all(a.prompt.as_bytes()).map_err(broken_pipe)?;
    out.flush().map_err(broken_pipe)?;
    let n_prompt = prompt_steps.len();
    if let Some(tr) = trace.as_mut() {
        for s in prompt_steps {
            tr.send(s)?;
        }
    }
    let mut buf = [0u8; 4];
    for _ in 0..a.length {
        let step = generator.generate_step()?;
        out.write_all(step.ch.encode_utf8(&mut buf).as_bytes()).map_err(broken_pipe)?;
        if step.ch == '\n' {
            out.flush().map_err(broken_pipe)?;
        }
        if let Some(tr) = trace.as_mut() {
            tr.send(step)?;
        }
    }
    // Only a terminal gets a closing newline: piped output is exactly prompt + continuation.
    if std::io::stdout().is_terminal() {
        writeln!(out).map_err(broken_pipe)?;
    }
    out.flush().map_err(broken_pipe)?;
    if let Some(tr) = trace {
        let path = tr.finish()?;
        let header = if interventions.is_empty() { "" } else { "1 + " };
        eprintln!("trace: {header}{} lines in {}", n_prompt + a.length, path.display());
    }
    Ok(())
}

/// `generate --compare`: the baseline (same prompt, seed and sampling, no
/// interventions), then the intervened run (`generator`, prompt already
/// read), each after a label line and followed by a newline, then a summary:
/// the first differing position in the continuation, how many of its
/// characters differ, and the mean over the generated steps of
/// ln p_intervened(x_t) − ln p_baseline(x_t) for the baseline's characters
/// x_t, the intervened model reading the baseline's text (teacher-forced).
fn compare(
    a: &GenerateArgs,
    model: &CharLstm,
    interventions: &[Intervention],
    mut generator: Generator,
    mut trace: Option<&mut TraceThread>,
) -> Result<()> {
    let sampling = Sampling::from(&a.sampling);
    let mut baseline_gen = Generator::new(model, sampling);
    baseline_gen.feed_prompt(&a.prompt)?;
    let baseline: String = (0..a.length).map(|_| baseline_gen.generate_step().map(|s| s.ch)).collect::<Result<_>>()?;
    let mut intervened = String::new();
    for _ in 0..a.length {
        let step = generator.generate_step()?;
        intervened.push(step.ch);
        if let Some(tr) = trace.as_mut() {
            tr.send(step)?;
        }
    }
    let score = |ivs: &[Intervention]| -> Result<Vec<f64>> {
        let mut g = Generator::new(model, sampling);
        g.set_interventions(ivs.to_vec())?;
        g.feed_prompt(&a.prompt)?;
        g.score_continuation(&baseline)
    };
    let (lp_base, lp_int) = (score(&[])?, score(interventions)?);
    let mean_delta = if a.length == 0 {
        0.0
    } else {
        lp_int.iter().zip(&lp_base).map(|(i, b)| i - b).sum::<f64>() / a.length as f64
    };
    let pairs = || baseline.chars().zip(intervened.chars());
    let first = pairs().position(|(x, y)| x != y);
    let differing = pairs().filter(|(x, y)| x != y).count();
    let specs: Vec<String> = interventions.iter().map(|iv| iv.to_string()).collect();
    let first = first.map_or("none".to_string(), |p| format!("{p} at_t={}", a.prompt.chars().count() + p));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let p = &a.prompt;
    write!(
        out,
        "--- baseline ---\n{p}{baseline}\n--- intervened: {} ---\n{p}{intervened}\nsummary: first_difference={first} \
         differing={differing}/{} mean_delta_logp={mean_delta:.4}\n",
        specs.join(" "),
        a.length
    )
    .and_then(|_| out.flush())
    .map_err(|e| anyhow!("stdout: {e}"))
}

pub fn info(a: InfoArgs) -> Result<()> {
    let ck = load_model(a.checkpoint.as_deref())?;
    let d = ck.model.dims;
    println!("checkpoint  {}", ck.path.display());
    println!("layers      {} LSTM layers x {} hidden units", d.layers, d.hidden);
    if d.embed == 0 {
        println!("input       one-hot over {} characters", d.vocab);
    } else {
        println!("input       embedding {} x {}", d.vocab, d.embed);
    }
    println!("parameters  {}", d.parameter_count());
    let shown: Vec<String> = ck.model.vocab.chars().iter().map(|&c| quoted_char(c)).collect();
    println!("vocabulary  {} characters: {}", d.vocab, shown.join(" "));
    for (k, v) in &ck.metadata {
        println!("meta        {k} = {v}");
    }
    for w in &ck.warnings {
        println!("warning     {w}");
    }
    Ok(())
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let ck = load_model(a.checkpoint.as_deref())?;
    let (n, v) = crate::train::eval::evaluate_file(&ck.model, &a.data, a.val_frac, a.window)?;
    let bpc = |nats: f64| nats / std::f64::consts::LN_2;
    println!(
        "val_chars={n} windowed{}_loss={:.4} stateful_loss={:.4} windowed_bpc={:.4} stateful_bpc={:.4}",
        a.window,
        v.windowed,
        v.stateful,
        bpc(v.windowed),
        bpc(v.stateful)
    );
    Ok(())
}

pub fn play(a: PlayArgs) -> Result<()> {
    crate::tui::run(a.checkpoint)
}

pub fn train(a: TrainArgs) -> Result<()> {
    crate::train::run(TrainConfig::from(a))
}

impl From<TrainArgs> for TrainConfig {
    fn from(a: TrainArgs) -> Self {
        TrainConfig {
            data: a.data,
            out: a.out,
            layers: a.layers,
            hidden: a.hidden,
            embed: a.embed,
            seq: a.seq,
            batch: a.batch,
            dropout: a.dropout,
            weight_drop: a.weight_drop,
            lr: a.lr,
            warmup: a.warmup,
            min_lr_frac: a.min_lr_frac,
            weight_decay: a.weight_decay,
            grad_clip: a.grad_clip,
            epochs: a.epochs,
            steps: a.steps,
            val_frac: a.val_frac,
            eval_every: a.eval_every,
            checkpoint_every: a.checkpoint_every,
            resume: a.resume,
            device: match a.device {
                DeviceArg::Auto => DeviceChoice::Auto,
                DeviceArg::Cpu => DeviceChoice::Cpu,
                DeviceArg::Cuda => DeviceChoice::Cuda,
            },
            seed: a.seed,
            threads: a.threads,
        }
    }
}
