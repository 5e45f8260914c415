//! What each subcommand does: the one module that knows the CLI's types. It
//! turns parsed arguments into the plain configs of the layers below, runs
//! them, and prints.

mod analysis;

use crate::atomic::check_destination;
use crate::cli::{Command, DeviceArg, EvalArgs, GenerateArgs, InfoArgs, PlayArgs, SamplingArgs, TrainArgs};
use crate::generate::Generator;
use crate::model::sample::Sampling;
use crate::model::{load_model, use_one_thread};
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
        Command::Cells(a) => analysis::cells(a),
        Command::Search(a) => analysis::search(a),
        Command::Saturation(a) => analysis::saturation(a),
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
    let mut generator = Generator::new(&ck.model, Sampling::from(&a.sampling));
    let prompt_steps = generator.feed_prompt(&a.prompt)?;
    // The trace is serialised on its own thread: JSON for every gate costs
    // about as much as the step itself, and the two overlap on two cores.
    let mut trace = match &a.trace {
        Some(path) => Some(TraceThread::start(TraceWriter::create(path)?)),
        None => None,
    };
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
        eprintln!("trace: {} lines in {}", n_prompt + a.length, path.display());
    }
    Ok(())
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
