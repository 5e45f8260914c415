//! safetensors checkpoints: the built-in models, bad files, and the reader
//! on hostile bytes.

mod builtin;
mod errors;
mod fuzz;
