//! The model worker: through its thread (a storm of requests, pause and
//! resume, a long prompt read in interruptible chunks), and directly through
//! its methods, with no thread: start, step, read the prompt in chunks,
//! cancel, and the prompt cache that lets an extended prompt read only its
//! new characters.

use gatescope::generate::{Generator, Step};
use gatescope::model::sample::Sampling;
use gatescope::model::{save_checkpoint, CharLstm};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::worker::{self, Flow, Worker, WorkerCmd, PROMPT_CHUNK};
use gatescope::vocab::Vocab;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";
const WAIT: Duration = Duration::from_secs(30);

fn model() -> CharLstm {
    CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 16, 2, 3)
}

fn checkpoint(dir: &Path) -> PathBuf {
    let p = dir.join("tiny.safetensors");
    save_checkpoint(&model(), &Default::default(), &p).unwrap();
    p
}

/// Everything the worker has sent so far.
fn drain(rx: &Receiver<Event>) -> Vec<WorkerEvent> {
    rx.try_iter()
        .map(|e| match e {
            Event::Worker(w) => w,
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Run `worker` until its request ends; return the steps and whether it
/// ended with `Done`.
fn run_to_end(worker: &mut Worker, rx: &Receiver<Event>, id: u64) -> Vec<Step> {
    let mut steps = Vec::new();
    for _ in 0..100_000 {
        for e in drain(rx) {
            match e {
                WorkerEvent::Step { id: i, step } if i == id => steps.push(std::sync::Arc::unwrap_or_clone(step)),
                WorkerEvent::Done { id: i } if i == id => return steps,
                WorkerEvent::Done { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(worker.step(), Flow::Continue);
    }
    panic!("request {id} never ended");
}

#[test]
fn start_step_and_cancel_directly() {
    let (tx, rx) = channel();
    let mut w = Worker::new(&model(), tx);
    assert!(!w.busy());
    assert_eq!(w.start(1, "ROMEO", 3), Flow::Continue);
    assert!(w.busy() && drain(&rx).is_empty(), "start reads nothing yet");
    // The first step reads the whole (short) prompt in one chunk, and the
    // first generated character comes right behind it.
    w.step();
    let ev = drain(&rx);
    assert_eq!(ev.len(), 6);
    assert!(ev[..5].iter().all(|e| matches!(e, WorkerEvent::Step { id: 1, step } if step.is_prompt)));
    assert!(matches!(&ev[5], WorkerEvent::Step { id: 1, step } if !step.is_prompt && step.t == 5));
    assert_eq!(w.prompt_chars_read, 5);
    // Then one generated character per step.
    w.step();
    assert!(matches!(&drain(&rx)[..], [WorkerEvent::Step { id: 1, step }] if !step.is_prompt && step.t == 6));
    // A new start cancels the old request: its Done comes first, once.
    w.start(2, "RO", 3);
    assert!(matches!(&drain(&rx)[..], [WorkerEvent::Done { id: 1 }]));
    w.cancel();
    assert!(matches!(&drain(&rx)[..], [WorkerEvent::Done { id: 2 }]));
    w.cancel();
    assert!(drain(&rx).is_empty(), "nothing to cancel: no second Done");
    assert!(!w.busy());
    // A request that runs its length out ends with Done too.
    w.start(3, "RO", 2);
    let steps = run_to_end(&mut w, &rx, 3);
    assert_eq!(steps.len(), 2 + 2);
    assert!(!w.busy());
}

/// After a request's first generated character the rest waits (the
/// worker's thread does no step while `held_for` is Some) until the
/// playground says that character is shown, or the wait runs out; a new
/// request or a stop ends the wait, and later characters start none.
#[test]
fn the_first_generated_character_holds_the_rest_until_it_is_shown() {
    let (tx, rx) = channel();
    let mut w = Worker::new(&model(), tx);
    w.start(1, "ROMEO", 5);
    assert_eq!(w.held_for(), None, "reading the prompt holds nothing");
    w.step();
    assert!(drain(&rx).iter().any(|e| matches!(e, WorkerEvent::Step { step, .. } if !step.is_prompt)));
    let left = w.held_for().expect("held after the first generated character");
    assert!(left > Duration::ZERO && left <= Duration::from_millis(25), "{left:?}");
    w.handle(WorkerCmd::FirstShown);
    assert_eq!(w.held_for(), None, "shown: the rest goes on");
    w.step();
    assert_eq!(w.held_for(), None, "only the first character holds");
    // The wait runs out by itself.
    w.start(2, "RO", 3);
    w.step();
    assert!(w.held_for().is_some());
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(w.held_for(), None, "the wait is over after 25 ms");
    // A stop, or a new request, ends it.
    w.start(3, "RO", 3);
    w.step();
    assert!(w.held_for().is_some());
    w.handle(WorkerCmd::Stop);
    assert_eq!(w.held_for(), None);
    // A request whose prompt the cache serves whole generates its first
    // character in a step of its own, and holds after it too.
    w.start(4, "RO", 3);
    w.step();
    let read = w.prompt_chars_read;
    w.start(5, "RO", 3);
    w.step();
    assert_eq!(w.prompt_chars_read, read, "the cache served the prompt");
    assert!(drain(&rx).iter().any(|e| matches!(e, WorkerEvent::Step { id: 5, step } if !step.is_prompt)));
    assert!(w.held_for().is_some());
}

#[test]
fn commands_pause_resume_and_fail_directly() {
    let (tx, rx) = channel();
    let mut w = Worker::new(&model(), tx);
    let sampling = Sampling::default();
    w.handle(WorkerCmd::Start { id: 1, prompt: "RO".into(), length: 10, sampling });
    w.handle(WorkerCmd::Pause);
    assert!(!w.busy(), "paused: no work without a command");
    w.handle(WorkerCmd::Resume);
    assert!(w.busy());
    w.handle(WorkerCmd::Stop);
    assert!(matches!(&drain(&rx)[..], [WorkerEvent::Done { id: 1 }]));
    // A prompt the model cannot read fails with a message that names it, once.
    w.handle(WorkerCmd::Start { id: 2, prompt: "RQ".into(), length: 10, sampling });
    w.step();
    assert!(matches!(&drain(&rx)[..], [WorkerEvent::Failed { id: 2, message }] if message.contains("'Q'")));
    assert!(!w.busy());
    assert_eq!(w.handle(WorkerCmd::Shutdown), Flow::Exit);
}

#[test]
fn a_long_prompt_is_read_a_chunk_per_step() {
    let (tx, rx) = channel();
    let mut w = Worker::new(&model(), tx);
    let long: String = TEXT.chars().cycle().take(2 * PROMPT_CHUNK + 10).collect();
    w.start(1, &long, 0);
    w.read_prompt_chunk();
    assert_eq!(drain(&rx).len(), PROMPT_CHUNK, "one chunk per call");
    w.read_prompt_chunk();
    w.read_prompt_chunk();
    assert_eq!(drain(&rx).len(), PROMPT_CHUNK + 10);
    assert_eq!(w.prompt_chars_read, long.chars().count());
    w.step();
    assert!(matches!(&drain(&rx)[..], [WorkerEvent::Done { id: 1 }]), "length 0: done after the prompt");
}

/// Typing at the end of the prompt reads only the new characters (counted
/// by the worker); the steps, and a greedy continuation, equal a fresh read
/// of the whole prompt. A deletion reads afresh and matches too.
#[test]
fn extending_the_prompt_reads_only_the_new_characters_and_matches_a_fresh_read() {
    let model = model();
    let (tx, rx) = channel();
    let mut w = Worker::new(&model, tx);
    let greedy = Sampling { temperature: 0.0, ..Default::default() };
    w.handle(WorkerCmd::SetSampling(greedy));
    let mut run = |id: u64, prompt: &str, length: usize| -> (Vec<Step>, usize) {
        let before = w.prompt_chars_read;
        w.handle(WorkerCmd::Start { id, prompt: prompt.into(), length, sampling: greedy });
        let steps = run_to_end(&mut w, &rx, id);
        (steps, w.prompt_chars_read - before)
    };
    let fresh = |prompt: &str, length: usize| {
        let mut g = Generator::new(&model, greedy);
        let mut steps = g.feed_prompt(prompt).unwrap();
        steps.extend((0..length).map(|_| g.generate_step().unwrap()));
        steps
    };
    let same = |a: &[Step], b: &[Step]| {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!((x.t, x.ch, x.is_prompt), (y.t, y.ch, y.is_prompt));
            for (lx, ly) in x.layers.iter().zip(&y.layers) {
                let d = lx
                    .gates
                    .i
                    .iter()
                    .chain(&lx.gates.f)
                    .chain(&lx.gates.c)
                    .zip(ly.gates.i.iter().chain(&ly.gates.f).chain(&ly.gates.c))
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f32::max);
                assert!(d < 1e-5, "t={}: {d}", x.t);
            }
        }
    };
    assert_eq!(run(1, "ROME", 10).1, 4);
    let (steps, read) = run(2, "ROMEO:", 40);
    assert_eq!(read, 2, "only \"O:\" is read; \"ROME\" comes from the cache");
    same(&steps, &fresh("ROMEO:", 40));
    let (steps, read) = run(3, "ROMEO:\nBut", 40);
    assert_eq!(read, 4);
    same(&steps, &fresh("ROMEO:\nBut", 40));
    let (steps, read) = run(4, "ROM", 40);
    assert_eq!(read, 3, "a shorter prompt is read afresh");
    same(&steps, &fresh("ROM", 40));
}

/// The worker itself: a storm of 1,000 requests leaves exactly one
/// generation, for the last one; no step of another request follows its first step.
#[test]
fn worker_storm_runs_only_the_last_request() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let (cmd, _h) = worker::spawn(Some(ck), tx).unwrap();
    match rx.recv_timeout(WAIT).unwrap() {
        Event::Worker(WorkerEvent::Loaded(i)) => assert_eq!(i.hidden, 16),
        other => panic!("{other:?}"),
    }
    let sampling = Default::default();
    for id in 1..=1000u64 {
        let prompt = if id == 1000 { "RO:".to_string() } else { format!("ROM{}", "E".repeat((id % 7) as usize)) };
        cmd.send(WorkerCmd::Start { id, prompt, length: 200, sampling }).unwrap();
    }
    let mut last_steps = 0;
    let mut seen_last = false;
    let t0 = Instant::now();
    loop {
        let ev = rx.recv_timeout(WAIT).expect("the worker keeps talking");
        match ev {
            Event::Worker(WorkerEvent::Step { id, step }) => {
                if id == 1000 {
                    if last_steps < 3 {
                        assert_eq!(step.ch, "RO:".chars().nth(last_steps).unwrap());
                    }
                    seen_last = true;
                    last_steps += 1;
                } else {
                    assert!(!seen_last, "a step of request {id} after the last request began");
                }
            }
            Event::Worker(WorkerEvent::Done { id: 1000 }) => break,
            Event::Worker(WorkerEvent::Done { .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(t0.elapsed() < WAIT);
    }
    assert_eq!(last_steps, 3 + 200, "the last request ran whole");
    // Pause holds, Resume continues, Stop ends with Done.
    cmd.send(WorkerCmd::Start { id: 1001, prompt: "RO".into(), length: 1_000_000, sampling }).unwrap();
    cmd.send(WorkerCmd::Pause).unwrap();
    // Drain until quiet (the worker acts on Pause within one step, however
    // loaded the machine); a worker that never pauses fails here.
    let t0 = Instant::now();
    while rx.recv_timeout(Duration::from_millis(300)).is_ok() {
        assert!(t0.elapsed() < WAIT, "the worker never paused");
    }
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "nothing while paused");
    cmd.send(WorkerCmd::Resume).unwrap();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::Step { id: 1001, .. })));
    cmd.send(WorkerCmd::Stop).unwrap();
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Event::Worker(WorkerEvent::Done { id: 1001 }) => break,
            Event::Worker(WorkerEvent::Step { id: 1001, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    // A bad Load keeps the model: the next Start still runs.
    cmd.send(WorkerCmd::Load(dir.path().join("missing.safetensors"), Default::default())).unwrap();
    assert!(
        matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::LoadFailed(m)) if m.contains("missing.safetensors"))
    );
    cmd.send(WorkerCmd::Start { id: 1002, prompt: "R".into(), length: 1, sampling }).unwrap();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::Step { id: 1002, .. })));
    cmd.send(WorkerCmd::Shutdown).unwrap();
}

/// A huge pasted prompt is read in chunks: steps stream out in order, and a
/// new request interrupts it between chunks.
#[test]
fn worker_reads_a_long_prompt_in_interruptible_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let ck = checkpoint(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let (cmd, _h) = worker::spawn(Some(ck), tx).unwrap();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Event::Worker(WorkerEvent::Loaded(_))));
    let sampling = Default::default();
    let long: String = TEXT.chars().cycle().take(3000).collect();
    cmd.send(WorkerCmd::Start { id: 1, prompt: long.clone(), length: 5, sampling }).unwrap();
    let mut ts = Vec::new();
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Event::Worker(WorkerEvent::Step { id: 1, step }) => {
                if step.is_prompt {
                    assert_eq!(step.ch, long.chars().nth(step.t).unwrap());
                }
                ts.push(step.t)
            }
            Event::Worker(WorkerEvent::Done { id: 1 }) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ts, (0..3005).collect::<Vec<_>>());
    // Interrupt a very long prompt with a new request.
    let huge: String = TEXT.chars().cycle().take(400_000).collect();
    cmd.send(WorkerCmd::Start { id: 2, prompt: huge, length: 5, sampling }).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    cmd.send(WorkerCmd::Start { id: 3, prompt: "RO".into(), length: 5, sampling }).unwrap();
    let t0 = Instant::now();
    let mut n2 = 0;
    let mut n3 = 0;
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Event::Worker(WorkerEvent::Step { id: 2, .. }) => n2 += 1,
            Event::Worker(WorkerEvent::Step { id: 3, .. }) => n3 += 1,
            Event::Worker(WorkerEvent::Done { id: 3 }) => break,
            Event::Worker(WorkerEvent::Done { id: 2 }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(n3, 7);
    assert!(n2 < 400_000, "the long prompt was interrupted ({n2} steps)");
    assert!(t0.elapsed() < Duration::from_secs(20));
    cmd.send(WorkerCmd::Shutdown).unwrap();
}

/// Applying an intervention in the playground sends `Rerun`: the worker
/// reruns the same prompt, length and seed with the interventions. Its steps
/// are exactly a fresh `Generator`'s with those interventions, whether the
/// rerun starts from the cached prompt (a span after the prompt), re-reads
/// the prompt (a span inside it), or follows a rerun whose prompt steps were
/// changed (the cache must not serve those). Before the first covered step
/// the rerun is the baseline.
#[test]
fn an_intervened_rerun_equals_a_fresh_generator_with_the_same_interventions() {
    use gatescope::model::Intervention;
    let m = model();
    let (tx, rx) = channel();
    let mut w = Worker::new(&m, tx);
    let sampling = Sampling { seed: 11, ..Sampling::default() };
    let (prompt, length) = ("ROMEO:\nBut", 60);
    assert_eq!(w.handle(WorkerCmd::Start { id: 1, prompt: prompt.into(), length, sampling }), Flow::Continue);
    let baseline = run_to_end(&mut w, &rx, 1);
    assert_eq!(baseline.len(), 10 + length);
    let cases: [(u64, &[&str], usize); 4] = [
        (2, &["l1:3:h=4@25.."], 25),
        (3, &["l0:1:f=0@2..8", "l1:3:h*=-3"], 2),
        (4, &["l1:0:c=3"], 10),
        (5, &["l0:5:g=1@12..40", "l0:5:g*=-1@12..40"], 12),
    ];
    for (id, specs, from) in cases {
        let ivs: Vec<Intervention> = specs.iter().map(|s| s.parse().unwrap()).collect();
        let cmd = WorkerCmd::Rerun { id, prompt: prompt.into(), length, sampling, interventions: ivs.clone() };
        assert_eq!(w.handle(cmd), Flow::Continue);
        let got = run_to_end(&mut w, &rx, id);
        let mut g = Generator::new(&m, sampling);
        g.set_interventions(ivs).unwrap();
        let mut want = g.feed_prompt(prompt).unwrap();
        for _ in 0..length {
            want.push(g.generate_step().unwrap());
        }
        assert_eq!(got.len(), want.len(), "{specs:?}");
        for (a, b) in got.iter().zip(&want) {
            assert_eq!(a, b, "{specs:?}: step {} differs from a fresh generator's", a.t);
        }
        // Before the span the rerun is the baseline (to rounding: the batched
        // path reads a prompt cut at the span's start, a matrix of another shape).
        for (a, b) in got[..from].iter().zip(&baseline[..from]) {
            assert_eq!(a.ch, b.ch);
            for (x, y) in a.layers.iter().zip(&b.layers) {
                for (u, v) in x.gates.vectors().into_iter().zip(y.gates.vectors()) {
                    assert!(u.iter().zip(v).all(|(p, q)| (p - q).abs() < 1e-5), "{specs:?}: step {} changed", a.t);
                }
            }
        }
        assert_ne!(got[from], baseline[from], "{specs:?}: the intervention changes step {from}");
    }
    // Without interventions the next request is the baseline again, exactly.
    w.handle(WorkerCmd::SetInterventions(Vec::new()));
    w.handle(WorkerCmd::Start { id: 9, prompt: prompt.into(), length, sampling });
    assert_eq!(run_to_end(&mut w, &rx, 9), baseline);
}

/// The catalogue over a file, straight through the worker (no thread): the
/// first `FILE_CHARS` characters of a longer file, or all of a shorter one,
/// give exactly `analysis::catalogue` over the same characters; progress
/// comes first. Bad files are one line each, and the worker carries on.
#[test]
fn a_file_catalogue_is_the_cli_catalogue_of_its_first_characters() {
    use gatescope::analysis;
    use gatescope::tui::worker::FILE_CHARS;
    let m = model();
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = channel();
    let mut w = Worker::new(&m, tx);
    let long: String = TEXT.chars().cycle().take(FILE_CHARS + 500).collect();
    let short: String = TEXT.chars().cycle().take(700).collect();
    for (id, name, text, n) in [(1, "long.txt", &long, FILE_CHARS), (2, "short.txt", &short, 700)] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        assert_eq!(w.handle(WorkerCmd::FileCells { id, path: path.clone(), top: 3 }), Flow::Continue);
        let ev = drain(&rx);
        let (last, progress) = ev.split_last().expect("events");
        assert!(progress
            .iter()
            .all(|e| matches!(e, WorkerEvent::CellsProgress { id: i, total, .. } if *i == id && *total == n)));
        assert!(matches!(progress.last(), Some(WorkerEvent::CellsProgress { done, .. }) if *done == n));
        // A report a chunk of 1,024 characters, from the first: the status's
        // N% moves from the start (about every 0.1 s on the shipped model).
        assert_eq!(progress.len(), n.div_ceil(1024), "{name}: a progress report per chunk");
        assert!(matches!(progress.first(), Some(WorkerEvent::CellsProgress { done, .. }) if *done == n.min(1024)));
        let WorkerEvent::Cells { id: got_id, path: got_path, catalogue } = last else { panic!("{last:?}") };
        assert_eq!((*got_id, got_path), (id, &path));
        let chars: Vec<char> = text.chars().take(n).collect();
        let ids = analysis::encode(&m.vocab, &chars, name).unwrap();
        let want = analysis::catalogue(&m, &chars, &ids, 3, &mut |_| {});
        assert_eq!(catalogue.chars, n);
        assert_eq!(**catalogue, want, "{name}: the same units, states and r");
    }
    let bad = |name: &str, bytes: Option<&[u8]>| {
        let p = dir.path().join(name);
        if let Some(b) = bytes {
            std::fs::write(&p, b).unwrap();
        }
        p
    };
    let cases = [
        (bad("missing.txt", None), "cannot read"),
        (dir.path().to_path_buf(), "not a regular file"),
        (bad("latin1.txt", Some(b"ROMEO\xe9:")), "not UTF-8 text (invalid byte 0xE9 at byte offset 5)"),
        (
            bad("unknown.txt", Some("ROMEO:\nBuQ".as_bytes())),
            "character 'Q' (U+0051) at offset 9 is not in the model's vocabulary",
        ),
        (bad("empty.txt", Some(b"")), "file is empty"),
    ];
    for (k, (path, needle)) in cases.into_iter().enumerate() {
        let id = 10 + k as u64;
        assert_eq!(w.handle(WorkerCmd::FileCells { id, path, top: 3 }), Flow::Continue);
        match &drain(&rx)[..] {
            [WorkerEvent::CellsFailed { id: i, message }] => {
                assert_eq!(*i, id);
                assert!(message.contains(needle) && !message.contains('\n'), "{needle}: {message}");
            }
            other => panic!("{needle}: {other:?}"),
        }
    }
    // One character is read as `gatescope cells --chars 1` reads it: a
    // catalogue in which every feature is constant.
    let one = bad("one.txt", Some(b"R"));
    assert_eq!(w.handle(WorkerCmd::FileCells { id: 20, path: one, top: 3 }), Flow::Continue);
    match drain(&rx).last() {
        Some(WorkerEvent::Cells { id: 20, catalogue, .. }) => {
            assert_eq!(catalogue.chars, 1);
            assert!(catalogue.features.iter().all(|f| f.constant && f.units.is_empty()));
        }
        other => panic!("one character: {other:?}"),
    }
    w.start(30, "RO", 2);
    assert_eq!(run_to_end(&mut w, &rx, 30).len(), 4, "the worker carries on");
}
