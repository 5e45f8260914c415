//! The one long-lived thread that owns the model. libtorch tensors are not
//! `Sync` and no-grad mode is per thread, so everything model-shaped lives
//! here; only plain data (`Step`s, messages) leaves. Between every unit of
//! work (a generated character, or a chunk of a long prompt, read on every
//! core; the last chunk brings the first generated character) the worker
//! looks at its command channel, so a new request cancels the old one within
//! one step. Every failure becomes an event; a panic is caught and reported
//! as `WorkerEvent::Panicked`.

mod attribute;
mod beam;
mod command;
mod explain;
mod file_cells;
mod prompt_cache;
mod timeline;

pub use attribute::{AttributeTarget, COPIES_PER_PASS};
pub use command::WorkerCmd;
pub use timeline::Reread;

pub use prompt_cache::SNAPSHOT_EVERY;

use super::event::{Event, ModelInfo, WorkerEvent};
use crate::generate::{Generator, Mark, Step};
use crate::model::sample::Sampling;
use crate::model::{Intervention, LoadOptions};
use prompt_cache::{covering_prompt, PromptCache, PROMPT_CACHE_MAX};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of a file the playground's catalogue reads: what `gatescope
/// cells` reads by default, so the two agree on the same file.
pub const FILE_CHARS: usize = crate::analysis::CATALOGUE_CHARS;

/// Start the worker. It loads `checkpoint` (or the built-in model) first and
/// reports `Loaded` or `LoadFailed`.
pub fn spawn(
    checkpoint: Option<PathBuf>,
    events: Sender<Event>,
) -> std::io::Result<(Sender<WorkerCmd>, std::thread::JoinHandle<()>)> {
    spawn_with(checkpoint, LoadOptions::default(), events)
}

/// `spawn`, reading the checkpoint with `opts` (`--vocab`, `--map` for .pt files).
pub fn spawn_with(
    checkpoint: Option<PathBuf>,
    opts: LoadOptions,
    events: Sender<Event>,
) -> std::io::Result<(Sender<WorkerCmd>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new().name("gatescope-worker".into()).spawn(move || {
        let ev = events.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(checkpoint, opts, rx, ev)));
        if let Err(payload) = result {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            let _ = events.send(Event::Worker(WorkerEvent::Panicked(msg)));
        }
    })?;
    Ok((tx, handle))
}

/// Prompt characters read per batched pass: memory stays bounded for a huge
/// paste, and a new command can interrupt between chunks.
pub const PROMPT_CHUNK: usize = 1024;

/// The live request.
struct Job {
    id: u64,
    /// The whole prompt, and how much of it has been read.
    prompt: Vec<char>,
    read: usize,
    /// The prompt's steps so far, and its marks (one per `SNAPSHOT_EVERY`
    /// characters), kept for the cache (short prompts only).
    prompt_steps: Vec<Arc<Step>>,
    marks: Vec<Mark>,
    /// Characters still to generate.
    remaining: usize,
    /// Characters to consume instead of sampling (a reread continuation,
    /// or a branch's text up to its branch point and its chosen character).
    forced: std::collections::VecDeque<char>,
    /// The beam search to run once the prompt is read, if the request is
    /// one; its first beam becomes `forced`.
    beam: Option<beam::Beam>,
    /// Whether its first generated character has gone out.
    first_sent: bool,
}

/// How long the rest of a request waits, after its first generated
/// character, for the playground to say that character is on screen
/// (`WorkerCmd::FirstShown`): generating on both cores meanwhile would slow
/// the frame that shows it, the latency a user feels after an edit.
const FIRST_SHOWN_WAIT: Duration = Duration::from_millis(25);

/// The model and the state of its one request at a time.
pub struct Worker {
    generator: Generator,
    sampling: Sampling,
    job: Option<Job>,
    cache: Option<PromptCache>,
    /// What the next request runs with.
    interventions: Vec<Intervention>,
    paused: bool,
    events: Sender<Event>,
    /// Prompt characters run through the model so far (cache hits excluded).
    pub prompt_chars_read: usize,
    /// The cache's mark interval, `SNAPSHOT_EVERY` unless set before the
    /// first request (tests use short prompts and a short interval).
    pub snapshot_every: usize,
    fault: bool,
    /// The explain request waiting, and the gates of the text explained last.
    explain: explain::ExplainWork,
    /// The attribution under way.
    attribution: attribute::AttributeWork,
    /// Until when the live request waits for `FirstShown`.
    held: Option<Instant>,
}

/// What the thread does after a command or a unit of work.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Shutdown, or nobody listens any more.
    Exit,
}

impl Worker {
    pub fn new(model: &crate::model::CharLstm, events: Sender<Event>) -> Self {
        let sampling = Sampling::default();
        Self {
            generator: Generator::new(model, sampling),
            sampling,
            job: None,
            cache: None,
            interventions: Vec::new(),
            paused: false,
            events,
            prompt_chars_read: 0,
            snapshot_every: SNAPSHOT_EVERY,
            fault: std::env::var("GATESCOPE_FAULT").is_ok_and(|v| v == "worker-panic"),
            explain: explain::ExplainWork::default(),
            attribution: attribute::AttributeWork::default(),
            held: None,
        }
    }

    fn send(&self, e: WorkerEvent) -> Flow {
        if self.events.send(Event::Worker(e)).is_ok() {
            Flow::Continue
        } else {
            Flow::Exit
        }
    }

    /// Whether there is work to do without a new command.
    pub fn busy(&self) -> bool {
        self.explain.pending() || self.attribution.pending() || (self.job.is_some() && !self.paused)
    }

    /// How much longer the live request waits for `FirstShown`, if it does.
    pub fn held_for(&mut self) -> Option<Duration> {
        let left = self.held?.checked_duration_since(Instant::now());
        if left.is_none() {
            self.held = None;
        }
        left
    }

    /// How long the thread waits for `FirstShown` before its next step:
    /// what is left of the hold, unless an explanation or an attribution is
    /// waiting, which `step` takes first and which hold no frame back.
    fn waiting(&mut self) -> Option<Duration> {
        match self.explain.pending() || self.attribution.pending() {
            true => None,
            false => self.held_for(),
        }
    }

    pub fn handle(&mut self, cmd: WorkerCmd) -> Flow {
        match cmd {
            WorkerCmd::Start { id, prompt, length, sampling } => {
                self.sampling = sampling;
                return self.start(id, &prompt, length);
            }
            WorkerCmd::Branch { id, prompt, forced, length, sampling } => {
                self.sampling = sampling;
                let forced: std::collections::VecDeque<char> = forced.chars().collect();
                let flow = self.start(id, &prompt, forced.len() + length);
                if let Some(job) = self.job.as_mut() {
                    job.forced = forced;
                }
                return flow;
            }
            WorkerCmd::Beam { id, prompt, length, width } => return self.start_beam(id, &prompt, length, width),
            WorkerCmd::Rerun { id, prompt, length, sampling, interventions } => {
                self.sampling = sampling;
                self.interventions = interventions;
                return self.start(id, &prompt, length);
            }
            WorkerCmd::SetInterventions(list) => self.interventions = list,
            WorkerCmd::Stop => self.cancel(),
            WorkerCmd::FirstShown => self.held = None,
            WorkerCmd::Pause => self.paused = true,
            WorkerCmd::Resume => self.paused = false,
            WorkerCmd::SetSampling(s) => {
                self.sampling = s;
                self.generator.set_sampling(s);
            }
            WorkerCmd::Load(path, _) if path.is_dir() => return self.load_run(&path),
            WorkerCmd::Load(path, opts) => {
                let reply = match self.load(&path, &opts) {
                    Ok(info) => WorkerEvent::Loaded(info),
                    Err(e) => WorkerEvent::LoadFailed(one_line(&e)),
                };
                return self.send(reply);
            }
            WorkerCmd::FileCells { id, path, top } => return self.file_cells(id, &path, top),
            WorkerCmd::Snapshot { index, path, reread } => return self.snapshot(index, &path, reread),
            WorkerCmd::Explain { id, text, step, unit, top } => self.explain.ask(id, text, step, unit, top),
            WorkerCmd::Attribute { id, text, step, target, method } => {
                self.ask_attribution(id, &text, step, target, method)
            }
            WorkerCmd::Shutdown => return Flow::Exit,
        }
        Flow::Continue
    }

    /// Put the checkpoint at `path` in place of the model; the old one stays
    /// when it cannot be read.
    fn load(&mut self, path: &std::path::Path, opts: &crate::model::LoadOptions) -> anyhow::Result<ModelInfo> {
        let ck = crate::model::load_model_with(Some(path), opts)?;
        self.cancel();
        self.drop_attribution();
        self.generator = Generator::new(&ck.model, self.sampling);
        self.cache = None;
        self.explain = explain::ExplainWork::default();
        Ok(ModelInfo::of(&ck))
    }

    /// End the live request, if any, and say so with its `Done`: the one
    /// place a request ends, whether stopped, replaced or finished.
    pub fn cancel(&mut self) {
        self.paused = false;
        self.held = None;
        if let Some(job) = self.job.take() {
            let _ = self.send(WorkerEvent::Done { id: job.id });
        }
    }

    /// Replace the live request with a new one. When the cache serves a
    /// first part of this prompt (`PromptCache::serves`), its steps are sent
    /// again and the generator goes back to where it stood after them; the
    /// rest is read by `step`.
    pub fn start(&mut self, id: u64, prompt: &str, length: usize) -> Flow {
        self.cancel();
        self.drop_attribution();
        if let Err(e) = self.generator.set_interventions(self.interventions.clone()) {
            return self.send(WorkerEvent::Failed { id, message: one_line(&e) });
        }
        let chars: Vec<char> = prompt.chars().collect();
        let mut job = Job {
            id,
            prompt: chars,
            read: 0,
            prompt_steps: Vec::new(),
            marks: Vec::new(),
            remaining: length,
            forced: Default::default(),
            beam: None,
            first_sent: false,
        };
        let keep = job.prompt.len() <= PROMPT_CACHE_MAX;
        match self.cache.as_ref().and_then(|c| Some((c, c.serves(&job.prompt, &self.interventions)?))) {
            Some((c, (len, mark))) => {
                self.generator.rewind(mark);
                for step in &c.steps[..len] {
                    if self.events.send(Event::Worker(WorkerEvent::Step { id, step: step.clone() })).is_err() {
                        return Flow::Exit;
                    }
                }
                if keep {
                    job.prompt_steps = c.steps[..len].to_vec();
                    job.marks = c.marks[..len / c.every].to_vec();
                }
                job.read = len;
            }
            None => self.generator.reset(),
        }
        self.generator.set_sampling(self.sampling);
        self.job = Some(job);
        Flow::Continue
    }

    /// One unit of work: the next chunk of the prompt, or one generated
    /// character, or the end of the request.
    pub fn step(&mut self) -> Flow {
        // An explanation is asked for at the inspect cursor: it goes first.
        if self.explain.pending() {
            return self.explain_step();
        }
        if self.attribution.pending() {
            return self.attribution_step();
        }
        let Some(job) = self.job.as_ref() else { return Flow::Continue };
        if job.read < job.prompt.len() {
            return self.read_prompt_chunk();
        }
        if job.remaining == 0 {
            self.cancel();
            return Flow::Continue;
        }
        if job.beam.is_some() {
            return self.beam_step();
        }
        let id = job.id;
        match self.next_character() {
            Ok(step) => self.send_generated(id, step),
            Err(e) => self.fail(&e),
        }
    }

    /// Send a generated step; after a request's first, the rest waits for
    /// the playground to show it (`FIRST_SHOWN_WAIT`).
    fn send_generated(&mut self, id: u64, step: Arc<Step>) -> Flow {
        if let Some(job) = self.job.as_mut().filter(|j| !j.first_sent) {
            job.first_sent = true;
            self.held = Some(Instant::now() + FIRST_SHOWN_WAIT);
        }
        self.send(WorkerEvent::Step { id, step })
    }

    /// Generate the live request's next character.
    fn next_character(&mut self) -> anyhow::Result<Arc<Step>> {
        if self.fault {
            panic!("injected fault: GATESCOPE_FAULT=worker-panic");
        }
        let forced = self.job.as_mut().and_then(|j| j.forced.pop_front());
        let step = match forced {
            Some(ch) => self.generator.force_step(ch)?,
            None => self.generator.generate_step()?,
        };
        if let Some(j) = self.job.as_mut() {
            j.remaining -= 1;
        }
        Ok(Arc::new(step))
    }

    /// Read the next `PROMPT_CHUNK` characters of the prompt; once it is all
    /// read, remember it for the next request.
    pub fn read_prompt_chunk(&mut self) -> Flow {
        let Some(job) = self.job.as_mut() else { return Flow::Continue };
        let end = (job.read + PROMPT_CHUNK).min(job.prompt.len());
        let text: String = job.prompt[job.read..end].iter().collect();
        let every = self.snapshot_every.max(1);
        let generator = &mut self.generator;
        let (steps, marks) = match crate::model::on_all_cores(|| generator.feed_prompt_marked(&text, every)) {
            Ok(x) => x,
            Err(e) => return self.fail(&e),
        };
        self.prompt_chars_read += end - job.read;
        job.read = end;
        let (id, keep, complete) = (job.id, job.prompt.len() <= PROMPT_CACHE_MAX, job.read == job.prompt.len());
        let steps: Vec<Arc<Step>> = steps.into_iter().map(Arc::new).collect();
        if keep {
            job.marks.extend(marks);
            job.prompt_steps.extend(steps.iter().cloned());
        }
        if keep && complete {
            self.cache = Some(PromptCache {
                covering: covering_prompt(self.generator.interventions(), job.prompt.len()),
                chars: job.prompt.clone(),
                steps: std::mem::take(&mut job.prompt_steps),
                marks: std::mem::take(&mut job.marks),
                every: self.snapshot_every.max(1),
                after: self.generator.mark(),
            });
        }
        // The chunk that ends the prompt goes out with the first generated
        // character right behind it: the UI, taking them in one go, draws
        // that character at once, instead of first a frame of the prompt
        // alone that the character would wait behind.
        let first = (complete && job.remaining > 0 && job.beam.is_none()).then(|| self.next_character());
        for step in steps {
            if self.events.send(Event::Worker(WorkerEvent::Step { id, step })).is_err() {
                return Flow::Exit;
            }
        }
        match first {
            Some(Ok(step)) => self.send_generated(id, step),
            Some(Err(e)) => self.fail(&e),
            None => Flow::Continue,
        }
    }

    /// The request cannot go on: say why; the request is over.
    fn fail(&mut self, e: &anyhow::Error) -> Flow {
        let Some(job) = self.job.take() else { return Flow::Continue };
        self.paused = false;
        self.send(WorkerEvent::Failed { id: job.id, message: one_line(e) })
    }
}

/// The thread: load, then take commands (waiting only when idle) and do one
/// unit of work between them.
fn run(checkpoint: Option<PathBuf>, opts: LoadOptions, rx: Receiver<WorkerCmd>, tx: Sender<Event>) {
    crate::model::use_one_thread();
    let _guard = tch::no_grad_guard();
    let mut worker = match crate::model::load_model_with(checkpoint.as_deref(), &opts) {
        Ok(ck) => {
            let _ = tx.send(Event::Worker(WorkerEvent::Loaded(ModelInfo::of(&ck))));
            Worker::new(&ck.model, tx)
        }
        Err(e) => {
            let _ = tx.send(Event::Worker(WorkerEvent::LoadFailed(one_line(&e))));
            return;
        }
    };
    loop {
        let first = match (worker.busy(), worker.waiting()) {
            (true, Some(left)) => match rx.recv_timeout(left) {
                Err(RecvTimeoutError::Disconnected) => return,
                next => next.ok(),
            },
            (true, None) => match rx.try_recv() {
                Err(TryRecvError::Disconnected) => return,
                next => next.ok(),
            },
            (false, _) => Some(rx.recv().unwrap_or(WorkerCmd::Shutdown)),
        };
        for cmd in first.into_iter().chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            if worker.handle(cmd) == Flow::Exit {
                return;
            }
        }
        if worker.busy() && worker.waiting().is_none() && worker.step() == Flow::Exit {
            return;
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    let parts: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    parts.join(": ").replace(['\n', '\r'], " ")
}
