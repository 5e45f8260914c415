//! What each subcommand does, apart from `train` (see train.rs).

use crate::atomic::{check_destination, check_kind, temp_beside};
use crate::cli::{EvalArgs, GenerateArgs, InfoArgs, PlayArgs, SamplingArgs};
use crate::generate::{Generator, Step};
use crate::model::checkpoint::{parse, Checkpoint};
use crate::model::load_checkpoint;
use crate::model::sample::Sampling;
use crate::vocab::quoted_char;
use anyhow::{anyhow, bail, Result};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Where the shipped model lives in the source tree (and is embedded from).
pub const DEFAULT_CHECKPOINT: &str = "assets/default.safetensors";

#[cfg(default_model)]
const EMBEDDED: Option<&[u8]> = Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/default.safetensors")));
#[cfg(not(default_model))]
const EMBEDDED: Option<&[u8]> = None;

/// The checkpoint at `path`, or the model built into the binary.
pub fn load_model(path: Option<&Path>) -> Result<Checkpoint> {
    if let Some(p) = path {
        return load_checkpoint(p);
    }
    let bytes = EMBEDDED.ok_or_else(|| {
        anyhow!("no default model was built in ({DEFAULT_CHECKPOINT} was missing at build time); pass --checkpoint FILE")
    })?;
    let (model, metadata, warnings) = parse(bytes).map_err(|e| anyhow!("built-in {DEFAULT_CHECKPOINT}: {e}"))?;
    Ok(Checkpoint { path: PathBuf::from(DEFAULT_CHECKPOINT), model, metadata, warnings })
}

impl From<&SamplingArgs> for Sampling {
    fn from(a: &SamplingArgs) -> Self {
        Sampling { temperature: a.temperature, top_k: a.top_k, top_p: a.top_p, seed: a.seed }
    }
}

/// The batch-1 step is fastest on one thread: libtorch's pool only adds
/// synchronisation at these sizes (see DESIGN.md's measurement).
pub fn use_one_thread() {
    tch::set_num_threads(1);
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

/// A JSONL file written beside its destination and moved into place when
/// complete, so an interrupted run never leaves half a trace.
pub struct TraceWriter {
    path: PathBuf,
    file: std::io::BufWriter<tempfile::NamedTempFile>,
}

/// A `TraceWriter` fed from another thread, so serialising overlaps generating.
pub struct TraceThread {
    steps: std::sync::mpsc::SyncSender<Step>,
    done: Option<std::thread::JoinHandle<Result<PathBuf>>>,
}

impl TraceThread {
    pub fn start(mut writer: TraceWriter) -> Self {
        let (steps, rx) = std::sync::mpsc::sync_channel::<Step>(256);
        let done = std::thread::spawn(move || {
            for step in rx {
                writer.write(&step.to_json_line())?;
            }
            writer.finish()
        });
        Self { steps, done: Some(done) }
    }

    pub fn send(&mut self, step: Step) -> Result<()> {
        if self.steps.send(step).is_ok() {
            return Ok(());
        }
        // A closed channel means the writer failed: report its error.
        match self.done.take().map(|h| h.join()) {
            Some(Ok(Err(e))) => Err(e),
            _ => Err(anyhow!("the trace writer stopped")),
        }
    }

    pub fn finish(mut self) -> Result<PathBuf> {
        let done = self.done.take().ok_or_else(|| anyhow!("the trace writer stopped"))?;
        drop(self.steps);
        done.join().map_err(|_| anyhow!("the trace writer panicked"))?
    }
}

impl TraceWriter {
    pub fn create(path: &Path) -> Result<Self> {
        // Creating the temporary file tests the folder; no separate probe.
        check_kind(path)?;
        let tmp = temp_beside(path)?;
        Ok(Self { path: path.to_path_buf(), file: std::io::BufWriter::new(tmp) })
    }

    pub fn write(&mut self, line: &str) -> Result<()> {
        writeln!(self.file, "{line}").map_err(|e| anyhow!("{}: write failed ({e})", self.path.display()))
    }

    pub fn finish(self) -> Result<PathBuf> {
        let shown = self.path.display().to_string();
        let tmp = self.file.into_inner().map_err(|e| anyhow!("{shown}: write failed ({})", e.error()))?;
        tmp.as_file().sync_all().map_err(|e| anyhow!("{shown}: write failed ({e})"))?;
        tmp.persist(&self.path).map_err(|e| anyhow!("{shown}: cannot move into place ({})", e.error))?;
        Ok(self.path)
    }
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
    crate::train::run_eval(&a, &ck.model)
}

pub fn play(a: PlayArgs) -> Result<()> {
    crate::tui::run(a.checkpoint)
}
