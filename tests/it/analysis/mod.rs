//! `gatescope cells`, `search` and `saturation`: against the reference, their
//! bad arguments, and catalogues saved into checkpoints.

mod attribute;
mod code_features;
mod errors;
mod explain;
mod reference;
mod save;
