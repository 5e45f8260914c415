//! `gatescope cells`, `search` and `saturation`: against the reference, their
//! bad arguments, and catalogues saved into checkpoints.

mod errors;
mod reference;
mod save;
