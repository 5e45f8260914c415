//! The model: a character LSTM with PyTorch's names and gate order, its
//! checkpoint format, and sampling over its logits.

pub mod checkpoint;
pub mod lstm;
pub mod sample;

pub use checkpoint::{load_checkpoint, save_checkpoint, Checkpoint};
pub use lstm::{CharLstm, Dims, LayerWeights, LstmState, StepOutput, Stepper};
