//! The command line: `gatescope [play]`, `generate`, `train`, `eval`, `info`,
//! and the cell analyses `cells`, `search`, `saturation`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "gatescope",
    version,
    about = "Watch a character-level LSTM think: a terminal playground, generator and trainer"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the playground (the default when no command is given).
    Play(PlayArgs),
    /// Write the prompt and a continuation to stdout.
    Generate(GenerateArgs),
    /// Train a model on a text file.
    Train(TrainArgs),
    /// Print a checkpoint's validation loss on a text file.
    Eval(EvalArgs),
    /// Describe a checkpoint: layers, sizes, parameters, vocabulary, metadata.
    Info(InfoArgs),
    /// Find what cells mean: for each text feature, the units that follow it most closely.
    Cells(CellsArgs),
    /// LSTMVis span search: the units that fire on a span, and where else they fire together.
    Search(SearchArgs),
    /// Gate saturation: how often each unit's i, f and o gates sit near 0 or 1.
    Saturation(SaturationArgs),
}

#[derive(Args, Debug, Default, Clone)]
pub struct PlayArgs {
    /// Checkpoint to open (default: the model shipped in the binary).
    #[arg(long, short)]
    pub checkpoint: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct SamplingArgs {
    /// Softmax temperature; 0 is greedy (argmax).
    #[arg(long, short, default_value_t = 0.8, value_parser = non_negative)]
    pub temperature: f32,
    /// Sample only among the K likeliest characters (0 = all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Sample only among the likeliest characters whose probabilities sum to P.
    #[arg(long, default_value_t = 1.0, value_parser = unit_interval)]
    pub top_p: f32,
    /// Random seed; the same seed gives the same text.
    #[arg(long, short, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Checkpoint to use (default: the model shipped in the binary).
    #[arg(long, short)]
    pub checkpoint: Option<PathBuf>,
    /// Text to start from; every character must be in the model's vocabulary.
    #[arg(long, short)]
    pub prompt: String,
    /// Characters to generate after the prompt.
    #[arg(long, short, default_value_t = 500)]
    pub length: usize,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Also write one JSON object per consumed character (gates, norms, top-5) to FILE.
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceArg {
    Auto,
    Cpu,
    Cuda,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// UTF-8 text to learn from.
    #[arg(long)]
    pub data: PathBuf,
    /// Where the best model (lowest validation loss) is kept. The latest state,
    /// for --resume, is kept beside it as NAME.last.safetensors.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    /// Embedding width; 0 feeds one-hot characters (as char-rnn did).
    #[arg(long, default_value_t = 64)]
    pub embed: usize,
    /// Truncated back-propagation length, in characters.
    #[arg(long, default_value_t = 100)]
    pub seq: usize,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Dropout between layers and before the head.
    #[arg(long, default_value_t = 0.2, value_parser = unit_interval_f64)]
    pub dropout: f64,
    /// DropConnect on the hidden-to-hidden weights (AWD-LSTM's weight drop), one mask per step.
    #[arg(long, default_value_t = 0.0, value_parser = unit_interval_f64)]
    pub weight_drop: f64,
    /// Peak learning rate (Adam/AdamW).
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Linear warm-up steps before cosine decay to --min-lr-frac of --lr.
    #[arg(long, default_value_t = 100)]
    pub warmup: usize,
    #[arg(long, default_value_t = 0.05)]
    pub min_lr_frac: f64,
    /// Decoupled weight decay (AdamW); 0 is plain Adam.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Clip the gradient's global norm to this.
    #[arg(long, default_value_t = 5.0)]
    pub grad_clip: f64,
    /// Passes over the training split (ignored when --steps is given).
    #[arg(long, default_value_t = 10.0)]
    pub epochs: f64,
    /// Total optimizer steps; overrides --epochs.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Fraction of the file, from the end, held out for validation.
    #[arg(long, default_value_t = 0.1, value_parser = val_frac)]
    pub val_frac: f64,
    #[arg(long, default_value_t = 250)]
    pub eval_every: usize,
    /// Write the latest state (NAME.last.safetensors) every N steps.
    #[arg(long, default_value_t = 250)]
    pub checkpoint_every: usize,
    /// Continue from a checkpoint written by `train`: weights, step count, schedule.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// libtorch threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    #[arg(long, short)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, default_value_t = 0.1, value_parser = val_frac)]
    pub val_frac: f64,
    /// Window length of the windowed measure.
    #[arg(long, default_value_t = 256)]
    pub window: usize,
}

#[derive(Args, Debug, Clone)]
pub struct InfoArgs {
    /// Checkpoint to describe (default: the shipped model).
    pub checkpoint: Option<PathBuf>,
}

// The analyses take their numbers as text and check them in `commands`, so a
// bad value (negative, NaN, out of range) is one line naming the option, exit 1.

#[derive(Args, Debug, Clone)]
pub struct AnalysisInput {
    /// Checkpoint to analyse (default: the model shipped in the binary).
    #[arg(long, short)]
    pub checkpoint: Option<PathBuf>,
    /// UTF-8 text; the analysis reads its first --chars characters in one pass from a zero state.
    #[arg(long)]
    pub data: PathBuf,
    /// How many characters to read, from the start of the file.
    #[arg(long, default_value = "20000", allow_hyphen_values = true)]
    pub chars: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CellsArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// Units listed per feature, by |r|.
    #[arg(long, default_value = "3", allow_hyphen_values = true)]
    pub top: String,
    /// Also write the catalogue into the checkpoint's metadata (key `cells`); tensors are untouched.
    #[arg(long)]
    pub save: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// The layer to search, lK as in PyTorch's tensor names (l0 is the first).
    #[arg(long, allow_hyphen_values = true)]
    pub layer: String,
    /// The selected steps S..E (S included, E not), 0-based character offsets.
    #[arg(long, allow_hyphen_values = true)]
    pub span: String,
    /// c (a unit's value is tanh(c_t)) or h (h_t).
    #[arg(long, default_value = "c", allow_hyphen_values = true)]
    pub state: String,
    /// A unit is on at t when its value is at least this; in (-1, 1).
    #[arg(long, default_value = "0.3", allow_hyphen_values = true)]
    pub threshold: String,
    /// Steps before the span where a selected unit must be off.
    #[arg(long, default_value = "1", allow_hyphen_values = true)]
    pub pad_left: String,
    /// Steps after the span where a selected unit must be off.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub pad_right: String,
    /// How many matches to list.
    #[arg(long, default_value = "50", allow_hyphen_values = true)]
    pub top: String,
}

#[derive(Args, Debug, Clone)]
pub struct SaturationArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// A gate is left-saturated below this.
    #[arg(long, default_value = "0.1", allow_hyphen_values = true)]
    pub low: String,
    /// A gate is right-saturated above this.
    #[arg(long, default_value = "0.9", allow_hyphen_values = true)]
    pub high: String,
}

fn parse_f32(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if !v.is_finite() {
        return Err(format!("'{s}' is not finite"));
    }
    Ok(v)
}

fn non_negative(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if v < 0.0 {
        return Err("must be 0 or more".into());
    }
    Ok(v)
}

fn unit_interval(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if !(v > 0.0 && v <= 1.0) {
        return Err("must be in (0, 1]".into());
    }
    Ok(v)
}

fn unit_interval_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if !(0.0..1.0).contains(&v) {
        return Err("must be in [0, 1)".into());
    }
    Ok(v)
}

fn val_frac(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if !(v > 0.0 && v < 1.0) {
        return Err("must be between 0 and 1".into());
    }
    Ok(v)
}
