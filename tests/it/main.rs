//! The integration tests, one crate (one binary to link): a module per area,
//! the helpers they share in `common`. The pseudo-terminal tests are the
//! other binary, tests/pty.
//!
//! Every test that checks numbers checks them against something computed
//! another way: the PyTorch reference (reference/*.py, tests/py/*.py, run
//! with the project's .venv), libtorch's own kernels, or a second path
//! through gatescope.

mod common;

mod analysis;
mod checkpoint;
mod cli;
mod docs_links;
mod export;
mod file_sizes;
mod model;
mod pt;
mod shipped_model;
mod train;
mod tui;
