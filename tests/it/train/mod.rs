//! Training: the optimizer, the training pass, the command, and its
//! robustness.

mod adamw;
mod cli;
mod pass;
mod replay;
mod robustness;
