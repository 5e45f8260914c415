//! End-to-end: the real binary in a pseudo-terminal, read back through a
//! terminal emulator (vt100).
//!
//! A binary of its own, apart from tests/it, because these tests time what
//! the user sees (a letter within 300 ms, the cells panel within a second)
//! and one measures its own resident memory: cargo runs test binaries one
//! after another, so here they share the machine only with each other, not
//! with the training and PyTorch-reference tests of tests/it.

mod harness;

mod attribute;
mod branches;
mod cells_panel;
mod explain_panel;
mod intervene;
mod playground;
mod timeline;
