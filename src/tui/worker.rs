//! The one long-lived thread that owns the model. libtorch tensors are not
//! `Sync` and no-grad mode is per thread, so everything model-shaped lives
//! here; only plain data (`Step`s, messages) leaves. Between every generated
//! character the worker looks at its command channel, so a new request
//! cancels the old one within one step. Every failure becomes an event; a
//! panic is caught and reported as `WorkerEvent::Panicked`.

use super::event::{Event, ModelInfo, WorkerEvent};
use crate::generate::{Generator, Mark, Step};
use crate::model::checkpoint::Checkpoint;
use crate::model::sample::Sampling;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

#[derive(Debug, Clone, PartialEq)]
pub enum WorkerCmd {
    /// Forget the current run; read `prompt` from a zero state, then generate
    /// `length` characters. Every step is tagged with `id`.
    Start {
        id: u64,
        prompt: String,
        length: usize,
        sampling: Sampling,
    },
    /// Stop the current run (its `Done` follows).
    Stop,
    /// Hold the current run where it is (inspect mode).
    Pause,
    Resume,
    /// New sampling parameters; they apply to the next character.
    SetSampling(Sampling),
    /// Load another checkpoint; on failure keep the current one.
    Load(PathBuf),
    Shutdown,
}

/// Start the worker. It loads `checkpoint` (or the built-in model) first and
/// reports `Loaded` or `LoadFailed`.
pub fn spawn(
    checkpoint: Option<PathBuf>,
    events: Sender<Event>,
) -> std::io::Result<(Sender<WorkerCmd>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new().name("gatescope-worker".into()).spawn(move || {
        let ev = events.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker_loop(checkpoint, rx, ev)));
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

pub fn model_info(ck: &Checkpoint) -> ModelInfo {
    ModelInfo::new(ck.name(), &ck.model, ck.warnings.clone())
}

fn fault_injected() -> bool {
    std::env::var("GATESCOPE_FAULT").map(|v| v == "worker-panic").unwrap_or(false)
}

/// Prompt characters read per batched pass (see `worker_loop`).
const PROMPT_CHUNK: usize = 1024;

struct Job {
    id: u64,
    remaining: usize,
}

/// The last prompt read in full, its steps, and where the generator stood
/// after it. Typing at the end of the prompt is the common edit: the next
/// request then reads only the new characters instead of the whole prompt.
struct PromptCache {
    chars: Vec<char>,
    steps: Vec<Step>,
    after: Mark,
}

/// Prompts longer than this are not cached (2,048 steps of a 2x512 model
/// hold about 40 MB).
const PROMPT_CACHE_MAX: usize = 2048;

fn worker_loop(checkpoint: Option<PathBuf>, rx: Receiver<WorkerCmd>, tx: Sender<Event>) {
    crate::model::use_one_thread();
    let _guard = tch::no_grad_guard();
    let fault = fault_injected();
    let send = |e: WorkerEvent| tx.send(Event::Worker(e)).is_ok();
    let mut sampling = Sampling::default();
    let mut generator: Option<Generator> = match crate::model::load_model(checkpoint.as_deref()) {
        Ok(ck) => {
            send(WorkerEvent::Loaded(model_info(&ck)));
            Some(Generator::new(&ck.model, sampling))
        }
        Err(e) => {
            send(WorkerEvent::LoadFailed(one_line(&e)));
            None
        }
    };
    let mut job: Option<Job> = None;
    let mut cache: Option<PromptCache> = None;
    let mut paused = false;
    let mut pending: Vec<WorkerCmd> = Vec::new();
    loop {
        // Block only when there is nothing to do; otherwise peek.
        // Commands that interrupted a long prompt come first.
        let mut cmds: Vec<WorkerCmd> = std::mem::take(&mut pending);
        if !cmds.is_empty() {
            // Already have work to look at.
        } else if job.is_some() && !paused {
            match rx.try_recv() {
                Ok(c) => cmds.push(c),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => return,
            }
        } else {
            match rx.recv() {
                Ok(c) => cmds.push(c),
                Err(_) => return,
            }
        }
        while let Ok(c) = rx.try_recv() {
            cmds.push(c);
        }
        // A storm of commands collapses: only the last Start survives.
        let mut start: Option<(u64, String, usize)> = None;
        for c in cmds {
            match c {
                WorkerCmd::Start { id, prompt, length, sampling: s } => {
                    if let Some(j) = job.take() {
                        send(WorkerEvent::Done { id: j.id });
                    }
                    if let Some((old, _, _)) = start.take() {
                        send(WorkerEvent::Done { id: old });
                    }
                    sampling = s;
                    start = Some((id, prompt, length));
                    paused = false;
                }
                WorkerCmd::Stop => {
                    if let Some(j) = job.take() {
                        send(WorkerEvent::Done { id: j.id });
                    }
                    if let Some((old, _, _)) = start.take() {
                        send(WorkerEvent::Done { id: old });
                    }
                    paused = false;
                }
                WorkerCmd::Pause => paused = true,
                WorkerCmd::Resume => paused = false,
                WorkerCmd::SetSampling(s) => {
                    sampling = s;
                    if let Some(g) = generator.as_mut() {
                        g.set_sampling(s);
                    }
                }
                WorkerCmd::Load(path) => match crate::model::load_checkpoint(&path) {
                    Ok(ck) => {
                        if let Some(j) = job.take() {
                            send(WorkerEvent::Done { id: j.id });
                        }
                        generator = Some(Generator::new(&ck.model, sampling));
                        cache = None;
                        send(WorkerEvent::Loaded(model_info(&ck)));
                    }
                    Err(e) => {
                        send(WorkerEvent::LoadFailed(one_line(&e)));
                    }
                },
                WorkerCmd::Shutdown => return,
            }
        }
        if let Some((id, prompt, length)) = start {
            let Some(g) = generator.as_mut() else {
                send(WorkerEvent::Failed { id, message: "no model is loaded".into() });
                continue;
            };
            let chars: Vec<char> = prompt.chars().collect();
            let keep = chars.len() <= PROMPT_CACHE_MAX;
            let mut prompt_steps: Vec<Step> = Vec::new();
            let old_cache = cache.take();
            let mut from = 0;
            match &old_cache {
                Some(c) if !c.chars.is_empty() && chars.starts_with(&c.chars) => {
                    g.rewind(&c.after);
                    for step in &c.steps {
                        if keep {
                            prompt_steps.push(step.clone());
                        }
                        if !send(WorkerEvent::Step { id, step: Box::new(step.clone()) }) {
                            return;
                        }
                    }
                    from = c.chars.len();
                }
                _ => g.reset(),
            }
            g.set_sampling(sampling);
            // Read the prompt in chunks: memory stays bounded for a huge
            // paste, and a new command can interrupt between chunks.
            let mut ok = true;
            for (k, chunk) in chars[from..].chunks(PROMPT_CHUNK).enumerate() {
                if k > 0 {
                    if let Ok(c) = rx.try_recv() {
                        pending.push(c);
                        while let Ok(c) = rx.try_recv() {
                            pending.push(c);
                        }
                        send(WorkerEvent::Done { id });
                        ok = false;
                        break;
                    }
                }
                let text: String = chunk.iter().collect();
                match g.feed_prompt(&text) {
                    Ok(steps) => {
                        for step in steps {
                            if keep {
                                prompt_steps.push(step.clone());
                            }
                            if !send(WorkerEvent::Step { id, step: Box::new(step) }) {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        send(WorkerEvent::Failed { id, message: one_line(&e) });
                        ok = false;
                        break;
                    }
                }
            }
            cache =
                if ok && keep { Some(PromptCache { chars, steps: prompt_steps, after: g.mark() }) } else { old_cache };
            if ok {
                job = Some(Job { id, remaining: length });
            }
            continue;
        }
        if paused {
            continue;
        }
        if let (Some(j), Some(g)) = (job.as_mut(), generator.as_mut()) {
            if j.remaining == 0 {
                send(WorkerEvent::Done { id: j.id });
                job = None;
                continue;
            }
            if fault {
                panic!("injected fault: GATESCOPE_FAULT=worker-panic");
            }
            match g.generate_step() {
                Ok(step) => {
                    j.remaining -= 1;
                    if !send(WorkerEvent::Step { id: j.id, step: Box::new(step) }) {
                        return;
                    }
                }
                Err(e) => {
                    send(WorkerEvent::Failed { id: j.id, message: one_line(&e) });
                    job = None;
                }
            }
        } else {
            job = None;
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    let parts: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    parts.join(": ").replace(['\n', '\r'], " ")
}
