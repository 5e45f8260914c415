//! The playground in process: the real `App` driven by key events and real
//! steps, drawn into ratatui's TestBackend; the model worker and its prompt
//! cache. Snapshots of the screen are in tests/it/snapshots.

mod analyses;
mod attribution;
mod beam;
mod branches;
mod cells_file;
mod editing;
mod explain_panel;
mod intervene;
mod keys;
mod prompt_cache;
mod prompt_score;
mod render;
mod timeline;
mod worker;
