//! What each subcommand does: the one module that knows the CLI's types. It
//! turns parsed arguments into the plain configs of the layers below, runs
//! them, and prints.

mod analysis;
mod attribute;
mod explain;
mod replay;
mod score;

use crate::atomic::{check_destination, refuse_same_file, refuse_stdout, StopSignals};
use crate::cli::{
    Command, ConvertArgs, DeviceArg, DtypeArg, EvalArgs, ExportArgs, GenerateArgs, InfoArgs, ModelArgs, PlayArgs,
    SamplingArgs, SnapshotDtype, SourceArgs, TrainArgs,
};
use crate::generate::{trace_header, Generator};
use crate::model::layout::layer_tensor_names;
use crate::model::sample::Sampling;
use crate::model::{
    builtin_named, describe_pt, intervene, load_model_with, refuse_checkpoint, save_checkpoint_as, stored_lstm_dtype,
    use_one_thread, Builtin, CharLstm, Checkpoint, Dropout, Intervention, LoadOptions, StoredAs, BUILTINS,
};
use crate::trace::{TraceThread, TraceWriter};
use crate::train::{DeviceChoice, TrainConfig};
use crate::tui::app::{SnapshotInfo, Timeline};
use crate::vocab::quoted_char;
use anyhow::{anyhow, bail, Result};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Run one parsed command.
pub fn run(command: Command) -> Result<()> {
    // Every command but the playground (which turns signals into events of
    // its own) leaves no temporary file behind on SIGINT, SIGTERM or SIGHUP.
    if !matches!(command, Command::Play(_)) {
        crate::atomic::guard_signals()?;
    }
    match command {
        Command::Play(a) => play(a),
        Command::Generate(a) => generate(a),
        Command::Train(a) => train(a),
        Command::Eval(a) => eval(a),
        Command::Info(a) => info(a),
        Command::Export(a) => export(a),
        Command::Convert(a) => convert(a),
        Command::Cells(a) => analysis::cells(a),
        Command::Search(a) => analysis::search(a),
        Command::Saturation(a) => analysis::saturation(a),
        Command::Explain(a) => explain::explain(a),
        Command::Replay(a) => replay::replay(a),
        Command::Attribute(a) => attribute::attribute(a),
        Command::Score(a) => score::score_command(a),
    }
}

impl SourceArgs {
    fn options(&self) -> Result<LoadOptions> {
        Ok(LoadOptions { vocab: self.vocab.clone(), map: self.map.as_deref().unwrap_or("").parse()? })
    }
}

impl ModelArgs {
    /// The model these options name (the default when none is given).
    pub(crate) fn load(&self) -> Result<Checkpoint> {
        load_model_with(self.checkpoint.as_deref(), &self.source.options()?)
    }
}

impl From<&SamplingArgs> for Sampling {
    fn from(a: &SamplingArgs) -> Self {
        Sampling {
            temperature: a.temperature.unwrap_or(0.8),
            top_k: a.top_k.unwrap_or(0),
            top_p: a.top_p.unwrap_or(1.0),
            seed: a.seed.unwrap_or(0),
        }
    }
}

pub fn generate(a: GenerateArgs) -> Result<()> {
    use_one_thread();
    if let Some(w) = a.beam {
        // Beam search is deterministic and reads every character's probability
        // at temperature 1: the sampling options would mean nothing.
        if let Some(name) = a.sampling.given().first() {
            bail!("--beam {w} takes no {name}: beam search does not sample (it reads log p at temperature 1)");
        }
        if !a.intervene.is_empty() || a.compare {
            let name = if a.compare { "--compare" } else { "--intervene" };
            bail!(
                "--beam {w} takes no {name}: the beams are read through the fused LSTM, which takes no interventions"
            );
        }
    }
    // With a trace, SIGINT, SIGTERM and SIGHUP end the run after the current
    // step, so that the trace's temporary file can be removed. Without one
    // nothing needs cleaning up, and the signal's default action is the right one.
    let signals = if a.trace.is_some() { Some(StopSignals::watch()?) } else { None };
    if let Some(t) = &a.trace {
        if let Some(c) = &a.model.checkpoint {
            refuse_same_file(("--trace", t), &[("--checkpoint", c)])?;
        }
        if let Some(f) = &a.prompt_file {
            refuse_same_file(("--trace", t), &[("--prompt-file", f)])?;
        }
        refuse_stdout("--trace", t)?;
        refuse_checkpoint("--trace", t)?;
        check_destination(t)?;
    }
    let ck = a.model.load()?;
    let source = source_name(a.model.checkpoint.as_deref());
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {source}: {w}");
    }
    let vocab = ck.model.dims.vocab;
    if let Some(k) = a.sampling.top_k.filter(|&k| k > vocab) {
        bail!("--top-k must be from 0 to {vocab}, the model's vocabulary size (got '{k}')");
    }
    let prompt = match (&a.prompt, &a.prompt_file) {
        (Some(p), _) => Prompt::Text(p),
        (None, Some(f)) => Prompt::File(f),
        (None, None) => bail!("give --prompt TEXT or --prompt-file FILE"),
    };
    let prompt_chars = prompt.check(&ck.model.vocab)?;
    let interventions = intervene::parse_all(&a.intervene, &ck.model.dims)?;
    for (iv, spec) in interventions.iter().zip(&a.intervene) {
        iv.check_run(prompt_chars, a.length).map_err(|e| anyhow!("--intervene '{spec}': {e}"))?;
    }
    if a.compare && interventions.is_empty() {
        bail!("--compare needs at least one --intervene (it sets the run with them beside the run without)");
    }
    let mut generator = Generator::new(&ck.model, Sampling::from(&a.sampling));
    generator.set_interventions(interventions.clone())?;
    let stopped = |done: usize| -> Result<()> {
        match signals.as_ref().and_then(StopSignals::received) {
            Some(sig) => Err(anyhow::Error::new(sig).context(format!(
                "stopped after {done} of {} characters; the trace {} was not written",
                a.length,
                a.trace.as_deref().unwrap_or(Path::new("")).display()
            ))),
            None => Ok(()),
        }
    };
    stopped(0)?;
    // The trace is serialised on its own thread: JSON for every gate costs
    // about as much as the step itself, and the two overlap on two cores.
    // Dropped on any early return, it removes its temporary file.
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
        // The comparison prints the prompt twice and reads it three times: it is kept whole.
        let text = prompt.whole()?;
        for s in generator.feed_prompt(&text)? {
            if let Some(tr) = trace.as_mut() {
                tr.send(s)?;
            }
        }
        compare(&a, &text, &ck.model, &interventions, generator, trace.as_mut())?;
        if let Some(tr) = trace {
            let path = tr.finish()?;
            eprintln!("trace: 1 + {} lines in {}", prompt_chars + a.length, path.display());
        }
        return Ok(());
    }
    // The prompt is read, echoed and traced a chunk at a time; its steps are
    // not kept, so a long prompt costs no more memory than a short one.
    let mut out = Stdout::new();
    prompt.for_each(|chunk| {
        stopped(0)?;
        out.write(chunk.as_bytes())?;
        for s in generator.feed_prompt(chunk)? {
            if let Some(tr) = trace.as_mut() {
                tr.send(s)?;
            }
        }
        Ok(())
    })?;
    out.flush()?;
    let n_prompt = prompt_chars;
    // A beam's characters are known before any is written; with a trace they
    // are read again one step at a time (teacher forcing) for their gates.
    let beam: Option<Vec<char>> = match a.beam {
        Some(w) => {
            let ids = generator.beam_search(w, a.length, &mut |done| stopped(done))?;
            Some(ids.into_iter().map(|id| ck.model.vocab.char(id)).collect())
        }
        None => None,
    };
    let mut buf = [0u8; 4];
    for done in 0..a.length {
        stopped(done)?;
        if out.closed {
            // A reader that has gone (`| head`) ends the run quietly, as in coreutils.
            if let Some(t) = &a.trace {
                drop(trace);
                eprintln!(
                    "gatescope: stdout was closed after {done} characters; stopped, and {} was not written",
                    t.display()
                );
            }
            return Ok(());
        }
        let (ch, step) = match &beam {
            None => {
                let s = generator.generate_step()?;
                (s.ch, Some(s))
            }
            Some(chars) if trace.is_some() => {
                let s = generator.force_step(chars[done])?;
                (s.ch, Some(s))
            }
            Some(chars) => (chars[done], None),
        };
        out.write(ch.encode_utf8(&mut buf).as_bytes())?;
        if ch == '\n' {
            out.flush()?;
        }
        if let (Some(tr), Some(step)) = (trace.as_mut(), step) {
            tr.send(step)?;
        }
    }
    // Only a terminal gets a closing newline: piped output is exactly prompt + continuation.
    if std::io::stdout().is_terminal() {
        out.write(b"\n")?;
    }
    out.flush()?;
    if let Some(tr) = trace {
        let path = tr.finish()?;
        let header = if interventions.is_empty() { "" } else { "1 + " };
        eprintln!("trace: {header}{} lines in {}", n_prompt + a.length, path.display());
    }
    Ok(())
}

/// `export`: which of the two outputs, with every option checked before any
/// file is touched; options that belong to the other output are refused.
pub fn export(a: ExportArgs) -> Result<()> {
    use crate::export::{self as ex, HtmlJob, SvgJob, UnitPick};
    match (&a.html, &a.svg) {
        (Some(_), Some(_)) => bail!("give one of --html and --svg, not both (run export twice for both)"),
        (None, None) => {
            bail!("nothing to write: give --html OUT.html (with --unit) or --svg OUT.svg (with --layer and --gate)")
        }
        (Some(out), None) => {
            for (given, name) in [
                (a.layer.is_some(), "--layer"),
                (a.gate.is_some(), "--gate"),
                (a.units.is_some(), "--units"),
                (a.most_variable.is_some(), "--most-variable"),
            ] {
                if given {
                    bail!("{name} belongs to --svg; the HTML page is coloured by one --unit");
                }
            }
            let unit = a.unit.ok_or_else(|| anyhow!("--html needs --unit lK:U, the unit that colours the text"))?;
            let state = a.state.unwrap_or(crate::analysis::State::C);
            let job = HtmlJob { trace: a.trace, out: out.clone(), unit, state, top: a.top, label: a.label };
            let n = ex::write_html(&job)?;
            eprintln!("html: {n} steps coloured by {} ({}) in {}", job.unit, job.state.letter(), job.out.display());
        }
        (None, Some(out)) => {
            for (given, name) in [(a.unit.is_some(), "--unit"), (a.state.is_some(), "--state"), (a.top, "--top")] {
                if given {
                    bail!("{name} belongs to --html; the SVG heatmap shows --gate in --layer");
                }
            }
            let layer = a.layer.ok_or_else(|| anyhow!("--svg needs --layer lK"))?;
            let gate = a.gate.ok_or_else(|| anyhow!("--svg needs --gate i, f, g or o"))?;
            let units = match (&a.units, a.most_variable) {
                (Some(_), Some(_)) => bail!("give one of --units and --most-variable, not both"),
                (Some(list), None) => UnitPick::List(ex::units_in_layer(&list.0, layer)?),
                (None, Some(n)) => UnitPick::MostVariable(n),
                (None, None) => UnitPick::All,
            };
            let job = SvgJob { trace: a.trace, out: out.clone(), layer, gate, units, label: a.label };
            let (steps, units) = ex::write_svg(&job)?;
            eprintln!(
                "svg: {steps} steps x {units} units of gate {} in l{} in {}",
                gate.letter(),
                layer,
                job.out.display()
            );
        }
    }
    Ok(())
}

/// Where the prompt comes from: the command line, or a file read in bounded chunks.
enum Prompt<'a> {
    Text(&'a str),
    File(&'a Path),
}

/// Characters handed to the model at a time: the analyses' chunk, so that a
/// chunk's steps (every gate of every layer) stay a few MB.
const PROMPT_CHUNK: usize = crate::analysis::CHUNK;

impl Prompt<'_> {
    /// Call `f` on the prompt's text in order, `PROMPT_CHUNK` characters at a time.
    fn for_each(&self, mut f: impl FnMut(&str) -> Result<()>) -> Result<()> {
        match self {
            Prompt::Text(text) => {
                let mut rest = *text;
                while !rest.is_empty() {
                    let cut = rest.char_indices().nth(PROMPT_CHUNK).map_or(rest.len(), |(i, _)| i);
                    f(&rest[..cut])?;
                    rest = &rest[cut..];
                }
                Ok(())
            }
            Prompt::File(path) => {
                crate::data::for_each_chunk(path, PROMPT_CHUNK, f).map_err(|e| anyhow!("--prompt-file: {e}"))
            }
        }
    }

    /// Its length in characters, once every character is known to the model.
    fn check(&self, vocab: &crate::vocab::Vocab) -> Result<usize> {
        let (mut n, mut unknown) = (0usize, String::new());
        self.for_each(|s| {
            n += s.chars().count();
            for c in vocab.unknown_chars(s) {
                if !unknown.contains(c) {
                    unknown.push(c);
                }
            }
            Ok(())
        })?;
        if n == 0 {
            bail!("--prompt is empty; give the model at least one character to start from");
        }
        if let Err(e) = vocab.encode(&unknown) {
            bail!("the prompt has {e}");
        }
        Ok(n)
    }

    fn whole(&self) -> Result<String> {
        let mut text = String::new();
        self.for_each(|s| {
            text.push_str(s);
            Ok(())
        })?;
        Ok(text)
    }
}

/// stdout, where a closed pipe (`gatescope generate | head`) is an ordinary
/// end rather than an error: later writes are dropped and `closed` is set.
struct Stdout {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    closed: bool,
}

impl Stdout {
    fn new() -> Self {
        Self { out: std::io::BufWriter::new(std::io::stdout().lock()), closed: false }
    }

    fn check(&mut self, r: std::io::Result<()>) -> Result<()> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r.map_err(|e| anyhow!("stdout: {e}")),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.out.write_all(bytes);
        self.check(r)
    }

    fn flush(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.out.flush();
        self.check(r)
    }
}

/// How messages name the checkpoint in use.
fn source_name(path: Option<&Path>) -> String {
    match path.map(|p| (p, builtin_named(p))) {
        None => "built-in model (default)".into(),
        Some((_, Some(b))) => format!("built-in model ({})", b.name),
        Some((p, None)) => p.display().to_string(),
    }
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
    prompt: &str,
    model: &CharLstm,
    interventions: &[Intervention],
    mut generator: Generator,
    mut trace: Option<&mut TraceThread>,
) -> Result<()> {
    let sampling = Sampling::from(&a.sampling);
    let mut baseline_gen = Generator::new(model, sampling);
    baseline_gen.feed_prompt(prompt)?;
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
        g.feed_prompt(prompt)?;
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
    let first = first.map_or("none".to_string(), |p| format!("{p} at_t={}", prompt.chars().count() + p));
    let p = prompt;
    let text = format!(
        "--- baseline ---\n{p}{baseline}\n--- intervened: {} ---\n{p}{intervened}\nsummary: first_difference={first} \
         differing={differing}/{} mean_delta_logp={mean_delta:.4}\n",
        specs.join(" "),
        a.length
    );
    let mut out = Stdout::new();
    out.write(text.as_bytes())?;
    out.flush()
}

/// One built-in model for `info`'s list: what it is, its layers and size,
/// read from the embedded header alone.
fn builtin_summary(b: &Builtin) -> String {
    let bytes = match b.bytes() {
        Ok(bytes) => bytes,
        Err(_) => return format!("{} (not built in: {} was missing at build time)", b.about, b.file),
    };
    let shape = safetensors::SafeTensors::read_metadata(bytes).ok().map(|(_, m)| {
        let tensors = m.tensors();
        let layers = (0..).take_while(|&k| tensors.contains_key(&layer_tensor_names(k)[1])).count();
        let hidden = tensors.get(&layer_tensor_names(0)[1]).and_then(|t| t.shape.get(1).copied()).unwrap_or(0);
        let dtype = tensors.get(&layer_tensor_names(0)[1]).map(|t| format!("{:?}", t.dtype)).unwrap_or_default();
        format!("{layers}x{hidden}, {dtype}, ")
    });
    format!("{}: {}{:.1} MB", b.about, shape.unwrap_or_default(), bytes.len() as f64 / 1e6)
}

pub fn info(a: InfoArgs) -> Result<()> {
    let opts = a.source.options()?;
    // A .pt file is described from its tensors alone until a vocabulary is given.
    let file = a.checkpoint.as_deref().filter(|p| builtin_named(p).is_none());
    if let (Some(path), None) = (file, &opts.vocab) {
        if let Some(lines) = describe_pt(path, &opts.map)? {
            println!("checkpoint  {}", path.display());
            for (k, v) in lines {
                println!("{k:<11} {v}");
            }
            println!(
                "vocabulary  not in the file; give --vocab FILE (the training text, or a JSON array of its characters)"
            );
            return Ok(());
        }
    }
    let ck = load_model_with(a.checkpoint.as_deref(), &opts)?;
    let d = ck.model.dims;
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!("checkpoint  {}", source_name(a.checkpoint.as_deref())));
    line(format!("layers      {} LSTM layers x {} hidden units", d.layers, d.hidden));
    if d.embed == 0 {
        line(format!("input       one-hot over {} characters", d.vocab));
    } else {
        line(format!("input       embedding {} x {}", d.vocab, d.embed));
    }
    line(format!("parameters  {}", d.parameter_count()));
    let shown: Vec<String> = ck.model.vocab.chars().iter().map(|&c| quoted_char(c)).collect();
    line(format!("vocabulary  {} characters: {}", d.vocab, shown.join(" ")));
    for (k, v) in &ck.metadata {
        line(format!("meta        {k} = {v}"));
    }
    for w in &ck.warnings {
        line(format!("warning     {w}"));
    }
    for b in &BUILTINS {
        line(format!("built-in    {:<8} {}", b.name, builtin_summary(b)));
    }
    let mut out = Stdout::new();
    out.write(s.as_bytes())?;
    out.flush()
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let ck = a.model.load()?;
    let source = source_name(a.model.checkpoint.as_deref());
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {source}: {w}");
    }
    let (n, v) = crate::train::eval::evaluate_file(&ck.model, &a.data, a.val_frac, a.window)?;
    let bpc = |nats: f64| nats / std::f64::consts::LN_2;
    let line = format!(
        "val_chars={n} windowed{}_loss={:.4} stateful_loss={:.4} windowed_bpc={:.4} stateful_bpc={:.4}\n",
        a.window,
        v.windowed,
        v.stateful,
        bpc(v.windowed),
        bpc(v.stateful)
    );
    let mut out = Stdout::new();
    out.write(line.as_bytes())?;
    out.flush()
}

pub fn play(a: PlayArgs) -> Result<()> {
    let opts = a.model.source.options()?;
    let Some(dir) = a.replay else { return crate::tui::run(a.model.checkpoint, opts) };
    // The whole folder is checked before the terminal is touched.
    let snapshots = crate::model::snapshot::list_snapshots(&dir)?;
    let infos: Vec<SnapshotInfo> = snapshots.iter().map(SnapshotInfo::new).collect();
    let last = infos.len() - 1;
    let first = infos[last].path.clone();
    crate::tui::run_with(Some(first), opts, Some(Timeline::new(infos, last)))
}

pub fn train(a: TrainArgs) -> Result<()> {
    if a.snapshot_dtype.is_some() && a.snapshot_every.is_none() {
        bail!("--snapshot-dtype needs --snapshot-every N: it says how the snapshots are stored");
    }
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
            dropout: Dropout { input: a.input_dropout, output: a.dropout, weight: a.weight_drop },
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
            snapshot_every: a.snapshot_every,
            snapshot_dtype: match a.snapshot_dtype {
                None | Some(SnapshotDtype::F32) => StoredAs::F32,
                Some(SnapshotDtype::F16) => StoredAs::F16,
            },
            stop_at: a.stop_at,
            resume: a.resume,
            device: match a.device {
                DeviceArg::Auto => DeviceChoice::Auto,
                DeviceArg::Cpu => DeviceChoice::Cpu,
                DeviceArg::Cuda => DeviceChoice::Cuda,
            },
            seed: a.seed,
            threads: a.threads,
            given: a.given.into_iter().collect(),
        }
    }
}

/// Write a PyTorch state_dict as a gatescope checkpoint, with the vocabulary
/// in its metadata and the source file's name in `converted_from`.
pub fn convert(a: ConvertArgs) -> Result<()> {
    let opts = a.source.options()?;
    let mut inputs = vec![("the input", a.input.as_path())];
    if let Some(v) = &opts.vocab {
        inputs.push(("--vocab", v.as_path()));
    }
    refuse_same_file(("--out", &a.out), &inputs)?;
    check_destination(&a.out)?;
    let dtype = match a.dtype {
        DtypeArg::F32 => StoredAs::F32,
        DtypeArg::F16 => StoredAs::F16,
        DtypeArg::Bf16 => StoredAs::BF16,
    };
    // A safetensors file rewritten in f32 would gain nothing; the usual
    // mistake is giving an already-converted file.
    if dtype == StoredAs::F32
        && builtin_named(&a.input).is_none()
        && stored_lstm_dtype(&a.input).as_deref() == Some("F32")
    {
        bail!(
            "{}: already a safetensors checkpoint in f32; nothing to convert (--dtype f16 or bf16 halves it)",
            a.input.display()
        );
    }
    let ck = load_model_with(Some(&a.input), &opts)?;
    for w in &ck.warnings {
        eprintln!("gatescope: warning: {}: {w}", ck.path.display());
    }
    let mut metadata = ck.metadata.clone();
    metadata.insert("converted_from".into(), ck.name());
    if let Some(v) = opts.vocab.as_ref().and_then(|v| v.file_name()) {
        metadata.insert("vocab_from".into(), v.to_string_lossy().into_owned());
    }
    save_checkpoint_as(&ck.model, &metadata, &a.out, dtype)?;
    let d = ck.model.dims;
    eprintln!(
        "wrote {}: {} layers x {} hidden, vocabulary {}, {}, weights in {:?}{}",
        a.out.display(),
        d.layers,
        d.hidden,
        d.vocab,
        if d.embed == 0 { "one-hot input".to_string() } else { format!("embedding {}", d.embed) },
        dtype,
        metadata.get("source_modules").map(|m| format!(" (modules {m})")).unwrap_or_default()
    );
    Ok(())
}
