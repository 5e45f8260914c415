//! The worker's prompt cache under random edits: after every insert, delete,
//! paste in the middle or recall of an earlier prompt, with or without
//! interventions over the prompt, the steps it sends (every gate, c, h,
//! probabilities, and the continuation) equal a fresh worker's read from zero
//! bit for bit, and it reads only from the last mark before the first change.
//!
//! Equal to 1e-5 (relative above 1), not bit for bit: a read from a mark
//! starts libtorch's fused LSTM on fewer characters than a read from zero,
//! and its product over the inputs (like the head's over the steps) rounds
//! differently with the number of rows; the state a mark holds is the
//! kernel's own (c_t recomputed with its fused multiply-add, h_t as
//! returned), so nothing else differs.

use crate::common::close::diff;
use crate::common::kept_failures;
use gatescope::generate::Step;
use gatescope::model::sample::Sampling;
use gatescope::model::{CharLstm, Intervention};
use gatescope::tui::event::{Event, WorkerEvent};
use gatescope::tui::worker::{Flow, Worker, WorkerCmd};
use gatescope::vocab::Vocab;
use proptest::prelude::*;
use std::sync::mpsc::{channel, Receiver};

const TEXT: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\n";
/// A short interval, so that prompts of tens of characters hold several marks.
const EVERY: usize = 8;

fn model() -> CharLstm {
    CharLstm::random(Vocab::from_text(TEXT).unwrap(), 8, 16, 2, 5)
}

fn worker(model: &CharLstm) -> (Worker, Receiver<Event>) {
    let (tx, rx) = channel();
    let mut w = Worker::new(model, tx);
    w.snapshot_every = EVERY;
    (w, rx)
}

/// Start a request and run it to its end; its steps, and how many prompt
/// characters the model read for it.
fn run(w: &mut Worker, rx: &Receiver<Event>, id: u64, prompt: &str) -> (Vec<Step>, usize) {
    let before = w.prompt_chars_read;
    let sampling = Sampling { seed: 3, ..Sampling::default() };
    assert_eq!(w.handle(WorkerCmd::Start { id, prompt: prompt.into(), length: 4, sampling }), Flow::Continue);
    let mut steps = Vec::new();
    loop {
        for e in rx.try_iter() {
            match e {
                Event::Worker(WorkerEvent::Step { id: i, step }) if i == id => {
                    steps.push(std::sync::Arc::unwrap_or_clone(step))
                }
                Event::Worker(WorkerEvent::Done { id: i }) if i == id => return (steps, w.prompt_chars_read - before),
                Event::Worker(WorkerEvent::Done { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(w.step(), Flow::Continue);
    }
}

fn close(a: f32, b: f32) -> bool {
    diff(a as f64, b as f64) <= 1e-5
}

fn all_close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(*x, *y))
}

/// Equal to rounding (see the top): every gate, c, h, norm and probability;
/// the same top characters unless two of them are as likely to rounding.
fn same_step(a: &Step, b: &Step) -> bool {
    let layers = a.layers.len() == b.layers.len()
        && a.layers.iter().zip(&b.layers).all(|(x, y)| {
            x.gates.vectors().iter().zip(y.gates.vectors()).all(|(u, v)| all_close(u, v))
                && close(x.c_norm, y.c_norm)
                && close(x.h_norm, y.h_norm)
        });
    let top = a.top.len() == b.top.len()
        && a.top.iter().zip(&b.top).all(|((c, p), (d, q))| close(*p, *q) && (c == d || (p - q).abs() < 1e-5));
    let prob = match (a.prob, b.prob) {
        (Some(p), Some(q)) => close(p, q),
        (p, q) => p == q,
    };
    (a.t, a.ch, a.is_prompt) == (b.t, b.ch, b.is_prompt) && layers && top && prob
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Paste(usize, String),
    /// The n-th prompt before this one, as ↑ brings it back.
    Recall(usize),
    /// Interventions for the requests from here on (an index into `ivs()`).
    Intervene(usize),
}

fn ivs() -> Vec<Vec<Intervention>> {
    let parse = |specs: &[&str]| specs.iter().map(|s| s.parse().unwrap()).collect();
    vec![vec![], parse(&["l0:3:f=0@20..30"]), parse(&["l1:2:c*=-2@5..", "l0:1:g=1@12..14"]), parse(&["l1:4:h=1"])]
}

fn text_char() -> impl Strategy<Value = char> {
    let chars: Vec<char> = TEXT.chars().collect();
    proptest::sample::select(chars)
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), text_char()).prop_map(|(at, c)| Edit::Insert(at, c)),
        3 => any::<usize>().prop_map(Edit::Delete),
        2 => (any::<usize>(), proptest::collection::vec(text_char(), 1..24))
            .prop_map(|(at, s)| Edit::Paste(at, s.into_iter().collect())),
        2 => (1..4usize).prop_map(Edit::Recall),
        1 => (0..4usize).prop_map(Edit::Intervene),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: kept_failures(), ..ProptestConfig::default() })]

    #[test]
    fn cached_reads_equal_fresh_reads_after_random_edits(
        start in proptest::collection::vec(text_char(), 20..90),
        edits in proptest::collection::vec(edit(), 1..10),
    ) {
        let m = model();
        let (mut cached, rx) = worker(&m);
        let mut prompt = start;
        let mut history: Vec<Vec<char>> = Vec::new();
        let mut list: Vec<Intervention> = Vec::new();
        // What the cache holds: the last prompt the worker read any of, and
        // the interventions it ran under. A request served whole reads
        // nothing and leaves the cache as it was.
        let (mut cached_chars, mut cached_list): (Vec<char>, Vec<Intervention>) = (Vec::new(), Vec::new());
        let mut id: u64 = 0;
        for e in std::iter::once(None).chain(edits.into_iter().map(Some)) {
            match e {
                None => {}
                Some(Edit::Insert(at, c)) => prompt.insert(at % (prompt.len() + 1), c),
                Some(Edit::Delete(at)) if prompt.len() > 1 => {
                    prompt.remove(at % prompt.len());
                }
                Some(Edit::Delete(_)) => {}
                Some(Edit::Paste(at, s)) => {
                    let at = at % (prompt.len() + 1);
                    prompt.splice(at..at, s.chars());
                }
                Some(Edit::Recall(n)) => {
                    if let Some(p) = history.len().checked_sub(n).map(|i| history[i].clone()) {
                        prompt = p;
                    }
                }
                Some(Edit::Intervene(k)) => {
                    list = ivs()[k].clone();
                    cached.handle(WorkerCmd::SetInterventions(list.clone()));
                }
            }
            id += 1;
            let text: String = prompt.iter().collect();
            let (got, read) = run(&mut cached, &rx, id, &text);
            let (mut fresh, fresh_rx) = worker(&m);
            fresh.handle(WorkerCmd::SetInterventions(list.clone()));
            let (want, _) = run(&mut fresh, &fresh_rx, 1, &text);
            prop_assert_eq!(got.len(), want.len());
            for (a, b) in got.iter().zip(&want) {
                prop_assert!(same_step(a, b), "step {} of {:?} differs from a fresh read:\n{:?}\n{:?}", a.t, text, a, b);
            }
            // What the cache serves: the cached prompt whole when this one
            // extends it, else up to the last mark before the first change;
            // and only as far as the same interventions covered the prompt.
            let same = cached_chars.iter().zip(&prompt).take_while(|(a, b)| a == b).count();
            let covering = |l: &[Intervention], n: usize| -> Vec<Intervention> {
                l.iter().filter(|iv| iv.span.is_some_and(|s| s.start < n)).copied().collect()
            };
            let unchanged = |n: usize| covering(&list, n) == covering(&cached_list, n);
            let served = if same == cached_chars.len() && same > 0 && unchanged(same) {
                same
            } else {
                (1..=same / EVERY).rev().map(|j| j * EVERY).find(|&n| unchanged(n)).unwrap_or(0)
            };
            prop_assert_eq!(read, prompt.len() - served, "{:?} with {:?} cached", text, cached_chars);
            history.push(prompt.clone());
            if read > 0 {
                cached_chars = prompt.clone();
                cached_list = list.clone();
            }
        }
    }
}
