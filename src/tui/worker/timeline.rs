//! The playground's timeline, in the worker: a folder of training snapshots
//! opens as a timeline, a snapshot's weights go into the model already
//! loaded (its tensors, in place), and the text on screen is read again
//! through them.

use super::{one_line, Flow, Worker};
use crate::generate::Generator;
use crate::model::snapshot::{list_snapshots, load_into};
use crate::tui::event::WorkerEvent;
use std::path::Path;

/// The text on screen, to read again under request `id`: the prompt as a
/// prompt, then the continuation character by character as if generated
/// (teacher forcing), so the steps line up with the ones they replace.
#[derive(Debug, Clone, PartialEq)]
pub struct Reread {
    pub id: u64,
    pub prompt: String,
    pub continuation: String,
}

impl Worker {
    /// Put the snapshot at `path` in place and read `reread` through it. The
    /// model is not made again: `load_into` writes into its tensors (and the
    /// clone the generator holds shares them); only what is derived from the
    /// weights is rebuilt: the stepper's copy of them (with the generator), the
    /// prompt cache and the explain panel's reading. A snapshot that cannot be read is a `LoadFailed`,
    /// and the text is read again all the same, so the panels are never left
    /// empty.
    pub fn snapshot(&mut self, index: usize, path: &Path, reread: Option<Reread>) -> Flow {
        self.cancel();
        let model = self.generator.model().clone();
        let loaded = load_into(&model, path);
        self.generator = Generator::new(&model, self.sampling);
        self.cache = None;
        // The explain panel's kept reading and an attribution under way are
        // of the old weights.
        self.explain.forget_reading();
        self.drop_attribution();
        let reply = match loaded {
            Ok(_) => WorkerEvent::SnapshotLoaded { index },
            Err(e) => WorkerEvent::LoadFailed(one_line(&e)),
        };
        if self.send(reply) == Flow::Exit {
            return Flow::Exit;
        }
        let Some(r) = reread else { return Flow::Continue };
        let forced: std::collections::VecDeque<char> = r.continuation.chars().collect();
        let flow = self.start(r.id, &r.prompt, forced.len());
        if let Some(job) = self.job.as_mut() {
            job.forced = forced;
        }
        flow
    }

    /// `Load` of a folder: a training run's snapshots (as `play --replay`).
    /// The whole folder is checked first; the newest snapshot is loaded as
    /// any checkpoint, then the app is told the run's snapshots.
    pub fn load_run(&mut self, dir: &Path) -> Flow {
        let loaded = list_snapshots(dir).and_then(|s| {
            let newest = &s[s.len() - 1].path;
            Ok((self.load(newest, &Default::default())?, s))
        });
        match loaded {
            Ok((info, snapshots)) => match self.send(WorkerEvent::Loaded(info)) {
                Flow::Continue => self.send(WorkerEvent::RunOpened(snapshots)),
                Flow::Exit => Flow::Exit,
            },
            Err(e) => self.send(WorkerEvent::LoadFailed(one_line(&e))),
        }
    }
}
