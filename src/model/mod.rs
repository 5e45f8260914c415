//! The model: a character LSTM with PyTorch's names and gate order, its
//! checkpoint format, the models built into the binary, and sampling over
//! its logits.

mod backward;
pub mod builtin;
pub mod checkpoint;
mod dropout;
pub mod helper;
pub mod intervene;
pub mod layout;
pub mod lstm;
pub mod matvec;
pub mod prompt;
pub mod pt;
pub mod sample;
pub mod snapshot;
mod step;

pub use backward::{Backward, Seed};
pub use builtin::{builtin_named, builtin_names, load_model, load_model_with, Builtin, BUILTINS};
pub use checkpoint::{
    describe_pt, load_checkpoint, load_checkpoint_with, refuse_checkpoint, save_checkpoint, save_checkpoint_as,
    stored_lstm_dtype, Checkpoint, FileFormat, StoredAs,
};
pub use dropout::Dropout;
pub use intervene::{Intervention, Op, Span, Target};
pub use layout::{Dims, Gate, Unit};
pub use lstm::{CharLstm, LayerWeights, LstmState, StepOutput};
pub use pt::{parse_load_request, LoadOptions, NameMap};
pub use step::{step_matrices, Stepper};

/// libtorch on one thread, for the commands that step. The step makes no
/// libtorch call (its large products take the second core through
/// `helper`), and the batch-1 libtorch calls around it are too small for
/// libtorch's pool to pay for its synchronisation.
/// Generation and the playground's worker call this; training and the
/// command-line analyses, whose passes are batched, do not.
pub fn use_one_thread() {
    tch::set_num_threads(1);
}

/// Run `work`, a batched pass, on every core, then go back to the thread
/// count before it: the playground's worker reads a prompt (when it is not
/// read by step), a file's catalogue and an attribution's passes this way
/// (docs/performance.md has how much faster each is on two cores).
pub fn on_all_cores<T>(work: impl FnOnce() -> T) -> T {
    let before = tch::get_num_threads();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tch::set_num_threads(cores as i32);
    let out = work();
    tch::set_num_threads(before);
    out
}
