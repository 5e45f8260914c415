//! The cells panel over a file, computed in the worker: it holds the model.

use super::{one_line, Flow, Worker, FILE_CHARS};
use crate::analysis::{encode, read_prefix};
use crate::tui::event::{Event, WorkerEvent};
use std::path::Path;

impl Worker {
    /// The catalogue over a file, with `gatescope cells`'s own code
    /// (`analysis::catalogue`, from a zero state, without interventions). It
    /// runs in one go, on every core, so the live request waits (20,000
    /// characters of the shipped model: about 2.4 s on two idle cores); the
    /// UI, fed progress after every chunk, does not. A bad file is a `CellsFailed`,
    /// and the worker carries on.
    pub fn file_cells(&mut self, id: u64, path: &Path, top: usize) -> Flow {
        let shown = path.display().to_string();
        let model = self.generator.model();
        // One character is read as `gatescope cells --chars 1` reads it: every
        // correlation is then undefined, and the catalogue says so.
        let read = read_prefix(path, FILE_CHARS).and_then(|chars| {
            let ids = encode(&model.vocab, &chars, &shown)?;
            Ok((chars, ids))
        });
        let (chars, ids) = match read {
            Ok(x) => x,
            Err(e) => return self.send(WorkerEvent::CellsFailed { id, message: one_line(&e) }),
        };
        let (events, total) = (self.events.clone(), ids.len());
        let mut progress = |done: usize| {
            let _ = events.send(Event::Worker(WorkerEvent::CellsProgress { id, done, total }));
        };
        let catalogue =
            crate::model::on_all_cores(|| crate::analysis::catalogue(model, &chars, &ids, top, &mut progress));
        self.send(WorkerEvent::Cells { id, path: path.to_path_buf(), catalogue: Box::new(catalogue) })
    }
}
