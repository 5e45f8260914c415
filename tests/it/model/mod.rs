//! The model: PyTorch parity, its three paths agreeing, the f16 product, and
//! interventions against the reference.

mod intervene;
mod matvec;
mod parity;
mod paths_agree;
