//! The model: PyTorch parity, its three paths agreeing, the f16 product, and
//! interventions against the reference.

mod f16mv;
mod intervene;
mod parity;
mod paths_agree;
