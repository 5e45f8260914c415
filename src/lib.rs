//! gatescope: a terminal playground for character-level LSTM language models.
//! The binary is a thin layer over this library, so tests reach every part.
//!
//! Layers import one way: vocab, atomic, data → model → generate, trace →
//! analysis (what cells mean), export (pages and heatmaps of traces) → train, tui →
//! replay (a run's snapshots measured over time) → commands (the only module
//! that knows the CLI) → main. Inside a layer the imports between files form
//! no cycle. `tools/module_cycles.py` checks both.

pub mod analysis;
pub mod atomic;
pub mod cli;
pub mod commands;
pub mod data;
pub mod export;
pub mod generate;
pub mod model;
pub mod replay;
pub mod trace;
pub mod train;
pub mod tui;
pub mod vocab;
