//! The command line: `gatescope [play]`, `generate`, `train`, `eval`, `info`, `export`,
//! `convert`, the cell analyses `cells`, `search`, `saturation`, `explain`,
//! and `replay`.

use crate::analysis::{Feature, State};
use crate::model::layout::parse_layer;
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ops::Range;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "gatescope",
    version,
    about = "Watch a character-level LSTM think: a terminal playground, generator and trainer",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command, `gatescope --checkpoint FILE` is `gatescope play --checkpoint FILE`.
    #[command(flatten)]
    pub play: PlayArgs,
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
    /// Share a trace: an HTML page of the text coloured by one cell (--unit ... --html),
    /// or an SVG heatmap of one gate (--layer ... --gate ... --svg).
    Export(ExportArgs),
    /// Convert a PyTorch .pt/.pth state_dict into a gatescope .safetensors checkpoint.
    Convert(ConvertArgs),
    /// Find what cells mean: for each text feature, the units that follow it most closely.
    Cells(CellsArgs),
    /// LSTMVis span search: the units that fire on a span, and where else they fire together.
    Search(SearchArgs),
    /// Gate saturation: how often each unit's i, f and o gates sit near 0 or 1.
    Saturation(SaturationArgs),
    /// Why one unit's gates have their values at one step, and where its cell's memory came from.
    Explain(ExplainArgs),
    /// Watch cells form: loss and each feature's best unit over a run's snapshots (train --snapshot-every).
    Replay(ReplayArgs),
    /// Which earlier characters a prediction (or a unit's c or h) depends on: gradient × input
    /// or integrated gradients over the prompt.
    Attribute(AttributeArgs),
    /// Score a text: the model's bits and nats per character over it, read from a zero state
    /// with the state carried, and its most surprising characters.
    Score(ScoreArgs),
}

/// `score`: a text read by the model in one stateful pass.
#[derive(Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["data", "text"]))]
pub struct ScoreArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// A UTF-8 text file to score (read in bounded chunks); every character must be in the
    /// model's vocabulary.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The text to score, given on the command line (it may start with '-').
    #[arg(long, allow_hyphen_values = true)]
    pub text: Option<String>,
    /// Print JSON (every character's log p) instead of the text.
    #[arg(long)]
    pub json: bool,
}

impl Command {
    /// Whether the command runs the model on libtorch's OpenMP threads
    /// (how long they spin matters); `info`, `convert` and `export` only read
    /// and write files.
    pub fn runs_threads(&self) -> bool {
        !matches!(self, Command::Info(_) | Command::Convert(_) | Command::Export(_))
    }
}

/// `attribute`: gradients of one quantity at step T with respect to every earlier input.
#[derive(Args, Debug, Clone)]
pub struct AttributeArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The text the model reads from a zero state; every character must be in its vocabulary.
    #[arg(long, short, allow_hyphen_values = true)]
    pub prompt: String,
    /// The step T whose prediction (or unit) is attributed, a 0-based character offset in the
    /// prompt [default: the last character]. Range: 0 to the prompt's length - 1.
    #[arg(long, allow_negative_numbers = true, value_parser = int(0, MAX_STEPS))]
    pub step: Option<usize>,
    /// The predicted character whose log p is attributed (\n, \t, \r and \\ for those characters)
    /// [default: the prompt's character T+1, or the model's likeliest at the end of the prompt].
    #[arg(long, value_name = "CHAR", allow_hyphen_values = true, value_parser = target_char, conflicts_with = "unit")]
    pub target: Option<char>,
    /// Attribute a unit's state at T instead of a prediction: lK:U[:c|:h], c (the default) or h.
    #[arg(long, value_name = "lK:U[:c|:h]", value_parser = unit_target)]
    pub unit: Option<crate::analysis::attribution::UnitTarget>,
    /// grad: gradient × input; ig: integrated gradients from a zero baseline.
    #[arg(long, value_enum, default_value_t = AttributeMethod::Ig)]
    pub method: AttributeMethod,
    /// Midpoint steps of integrated gradients [default: 32]. Range: 1 to 1024.
    #[arg(long, value_name = "M", allow_negative_numbers = true,
          value_parser = int(1, crate::analysis::attribution::MAX_IG_STEPS as u64))]
    pub ig_steps: Option<usize>,
    /// Print JSON instead of the text.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page of the prompt coloured by each character's attribution.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeMethod {
    Grad,
    Ig,
}

/// One character, or an escape for a character a shell makes awkward.
fn target_char(s: &str) -> Result<char, String> {
    let mut it = s.chars();
    match (it.next(), it.next(), it.next()) {
        (Some(c), None, _) => Ok(c),
        (Some('\\'), Some(e), None) => match e {
            'n' => Ok('\n'),
            't' => Ok('\t'),
            'r' => Ok('\r'),
            '\\' => Ok('\\'),
            _ => Err(format!("must be one character or one of \\n \\t \\r \\\\ (\\{e} is not an escape)")),
        },
        _ => Err("must be one character (or \\n, \\t, \\r, \\\\)".to_string()),
    }
}

/// `lK:U[:c|:h]`, as clap's value parser.
fn unit_target(s: &str) -> Result<crate::analysis::attribution::UnitTarget, String> {
    s.parse().map_err(|_| "must be lK:U, lK:U:c or lK:U:h (layer K from l0, unit U), e.g. l1:271:h".to_string())
}

/// How to read a checkpoint PyTorch wrote (`torch.save(model.state_dict())`).
#[derive(Args, Debug, Default, Clone)]
pub struct SourceArgs {
    /// The vocabulary of a .pt checkpoint: the training text (its sorted distinct
    /// characters), or a JSON array of one-character strings in index order.
    #[arg(long, value_name = "FILE")]
    pub vocab: Option<PathBuf>,
    /// Module names in a .pt checkpoint when they are ambiguous, e.g.
    /// lstm=rnn,embed=encoder,head=decoder (embed=none: one-hot input).
    #[arg(long, value_name = "lstm=NAME,embed=NAME,head=NAME")]
    pub map: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ConvertArgs {
    /// The checkpoint to convert: a PyTorch .pt or .pth (written by torch.save), or a .safetensors checkpoint or built-in model's name (to change --dtype).
    pub input: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The .safetensors file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// How the written file stores the weights: f16 or bf16 halve it (the model still computes in f32).
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: DtypeArg,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtypeArg {
    F32,
    F16,
    Bf16,
}

/// Which model to use: `--checkpoint` and, for a PyTorch file, how to read it.
/// Every command that runs a model takes these.
#[derive(Args, Debug, Default, Clone)]
pub struct ModelArgs {
    /// A checkpoint file (.safetensors, or .pt with --vocab), or the name of a built-in model: default, python (./NAME for a file of that name). Default: default.
    #[arg(long, short)]
    pub checkpoint: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Args, Debug, Clone)]
pub struct PlayArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// A folder of training snapshots (train --snapshot-every writes NAME.snapshots/): the playground opens on the last, with a timeline bar to step through them (Alt-< Alt->).
    #[arg(long, value_name = "DIR", conflicts_with = "checkpoint")]
    pub replay: Option<PathBuf>,
}

/// Sampling options. Each is an `Option` so that `generate --beam` can tell
/// an option given on the command line (which it refuses) from its default.
#[derive(Args, Debug, Clone)]
pub struct SamplingArgs {
    /// Softmax temperature; 0 is greedy (argmax) [default: 0.8]. Range: 0 to 100.
    #[arg(long, short, allow_negative_numbers = true, value_parser = float(0.0, Incl, 100.0).f32())]
    pub temperature: Option<f32>,
    /// Sample only among the K likeliest characters (0 = all) [default: 0]. Range: 0 to the model's vocabulary size.
    #[arg(long, allow_negative_numbers = true, value_parser = top_k)]
    pub top_k: Option<usize>,
    /// Sample only among the likeliest characters whose probabilities sum to P [default: 1]. Range: (0, 1].
    #[arg(long, allow_negative_numbers = true, value_parser = float(0.0, Excl, 1.0).f32())]
    pub top_p: Option<f32>,
    /// Random seed; the same seed gives the same text [default: 0]. Range: 0 to 2^64 - 1.
    #[arg(long, short, allow_negative_numbers = true, value_parser = seed)]
    pub seed: Option<u64>,
}

impl SamplingArgs {
    /// The options given on the command line, by name.
    pub fn given(&self) -> Vec<&'static str> {
        [
            (self.temperature.is_some(), "--temperature"),
            (self.top_k.is_some(), "--top-k"),
            (self.top_p.is_some(), "--top-p"),
            (self.seed.is_some(), "--seed"),
        ]
        .into_iter()
        .filter_map(|(given, name)| given.then_some(name))
        .collect()
    }
}

#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Text to start from; every character must be in the model's vocabulary (it may start with '-').
    #[arg(
        long,
        short,
        allow_hyphen_values = true,
        required_unless_present = "prompt_file",
        conflicts_with = "prompt_file"
    )]
    pub prompt: Option<String>,
    /// Read the prompt from this UTF-8 file instead (a command-line argument holds at most
    /// 128 KB); it is read in bounded chunks, so its length costs no memory.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// Characters to generate after the prompt. Range: 0 to 1000000000.
    #[arg(long, short, default_value_t = 500, allow_negative_numbers = true, value_parser = int(0, 1_000_000_000))]
    pub length: usize,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Also write one JSON object per consumed character (gates, norms, top-5) to FILE.
    /// It is moved into place when complete; SIGINT/SIGTERM/SIGHUP remove it and exit 130/143/129.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Change one unit while the model runs: lK:U:TARGET OP VALUE[@A..B | @A..], TARGET one of
    /// i f g o c h, OP one of = += *=; no span = every generated step. Repeatable, applied in order.
    #[arg(long, value_name = "SPEC")]
    pub intervene: Vec<String>,
    /// With --intervene: print the baseline continuation, then the intervened one, then a summary line.
    #[arg(long)]
    pub compare: bool,
    /// Beam search of width W instead of sampling: the continuation of --length characters with
    /// the highest total log-probability among those the beam keeps (1 is greedy). Range: 1 to 64.
    #[arg(long, value_name = "W", allow_negative_numbers = true, value_parser = int(1, crate::generate::beam::MAX_WIDTH as u64))]
    pub beam: Option<usize>,
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
    /// LSTM layers [default: 2; with --resume, the checkpoint's]. Range: 1 to 64.
    #[arg(long, allow_negative_numbers = true, value_parser = int(1, 64))]
    pub layers: Option<usize>,
    /// Hidden units per layer [default: 512; with --resume, the checkpoint's]. Range: 1 to 65536.
    #[arg(long, allow_negative_numbers = true, value_parser = int(1, 65_536))]
    pub hidden: Option<usize>,
    /// Embedding width; 0 feeds one-hot characters (as char-rnn did)
    /// [default: 64; with --resume, the checkpoint's]. Range: 0 to 65536.
    #[arg(long, allow_negative_numbers = true, value_parser = int(0, 65_536))]
    pub embed: Option<usize>,
    /// Truncated back-propagation length, in characters. Range: 1 to 100000.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true, value_parser = int(1, 100_000))]
    pub seq: usize,
    /// Sequences per step. Range: 1 to 1000000.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true, value_parser = int(1, 1_000_000))]
    pub batch: usize,
    /// Dropout between layers and before the head. Range: [0, 1).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true, value_parser = float(0.0, Incl, 1.0).below_max().f64())]
    pub dropout: f64,
    /// DropConnect on the hidden-to-hidden weights (AWD-LSTM's weight drop), one mask per step. Range: [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = float(0.0, Incl, 1.0).below_max().f64())]
    pub weight_drop: f64,
    /// Dropout on the first layer's input, the embedding's output (AWD-LSTM's input dropout). Range: [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = float(0.0, Incl, 1.0).below_max().f64())]
    pub input_dropout: f64,
    /// Peak learning rate (Adam/AdamW). Range: (0, 1000].
    #[arg(long, default_value_t = 3e-3, allow_negative_numbers = true, value_parser = float(0.0, Excl, 1000.0).f64())]
    pub lr: f64,
    /// Linear warm-up steps before cosine decay to --min-lr-frac of --lr. Range: 0 to 10^12.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true, value_parser = int(0, MAX_STEPS))]
    pub warmup: usize,
    /// The learning rate decays to this fraction of --lr. Range: [0, 1].
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true, value_parser = float(0.0, Incl, 1.0).f64())]
    pub min_lr_frac: f64,
    /// Decoupled weight decay (AdamW); 0 is plain Adam. Range: 0 to 1000.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = float(0.0, Incl, 1000.0).f64())]
    pub weight_decay: f64,
    /// Clip the gradient's global norm to this. Range: (0, 10^9].
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true, value_parser = float(0.0, Excl, 1e9).f64())]
    pub grad_clip: f64,
    /// Passes over the training split (ignored when --steps is given). Range: (0, 10^6].
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true, value_parser = float(0.0, Excl, 1e6).f64())]
    pub epochs: f64,
    /// Total optimizer steps; overrides --epochs. Range: 1 to 10^12.
    #[arg(long, allow_negative_numbers = true, value_parser = int(1, MAX_STEPS))]
    pub steps: Option<usize>,
    /// Fraction of the file, from the end, held out for validation. Range: (0, 1).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true, value_parser = float(0.0, Excl, 1.0).below_max().f64())]
    pub val_frac: f64,
    /// Evaluate (and keep the best model in --out) every N steps; 0: only at the end. Range: 0 to 10^12.
    #[arg(long, default_value_t = 250, allow_negative_numbers = true, value_parser = int(0, MAX_STEPS))]
    pub eval_every: usize,
    /// Write the latest state (NAME.last.safetensors) every N steps; 0: only at the end and on
    /// Ctrl-C. Range: 0 to 10^12.
    #[arg(long, default_value_t = 250, allow_negative_numbers = true, value_parser = int(0, MAX_STEPS))]
    pub checkpoint_every: usize,
    /// Continue from a checkpoint written by `train`: weights, step count, schedule, and the
    /// optimizer's moments from NAME.optim.safetensors beside it (without them they restart
    /// from zero, with a new warm-up).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// End this invocation at step N, with the latest state written as on Ctrl-C (the schedule
    /// stays that of --steps); --resume continues it. Range: 1 to 10^12.
    #[arg(long, allow_negative_numbers = true, value_parser = int(1, MAX_STEPS))]
    pub stop_at: Option<usize>,
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Random seed. Range: 0 to 2^64 - 1.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = seed)]
    pub seed: u64,
    /// libtorch threads (default: all cores). Range: 1 to 1024.
    #[arg(long, allow_negative_numbers = true, value_parser = int(1, 1024))]
    pub threads: Option<usize>,
    /// The options given on the command line, by id (`parse` fills it):
    /// with --resume, the others are the resumed run's.
    #[arg(skip)]
    pub given: Vec<String>,
    /// Also write the weights at step 1, every N steps and the last step into NAME.snapshots/
    /// (step-000250.safetensors), for `gatescope replay`. Range: 1 to the run's steps.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = int(1, MAX_STEPS))]
    pub snapshot_every: Option<usize>,
    /// How the snapshots store the weights: f16 halves them (the model still computes in f32)
    /// [default: f32].
    #[arg(long, value_enum)]
    pub snapshot_dtype: Option<SnapshotDtype>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotDtype {
    F32,
    F16,
}

#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// A folder of snapshots written by `train --snapshot-every` (NAME.snapshots).
    pub dir: PathBuf,
    /// UTF-8 text; each snapshot reads its first --chars characters in one pass from a zero state.
    #[arg(long)]
    pub data: PathBuf,
    /// How many characters to read, from the start of the file. Range: 1 to the length of the text.
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true, value_parser = int(1, MAX_CHARS))]
    pub chars: usize,
    /// The features to follow, comma-separated (e.g. line_position,speaker_line). Default: every one.
    #[arg(long, value_name = "NAME[,NAME...]", allow_hyphen_values = true, value_parser = feature_list)]
    pub feature: Option<FeatureList>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write an SVG of |best r| and |final r| per feature against the step (log scale), with the loss.
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
}

/// Upper bound of --chars before the text is read (which checks its length).
pub const MAX_CHARS: u64 = 1 << 40;

/// Catalogue features named on the command line, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureList(pub Vec<crate::analysis::Feature>);

/// Comma-separated feature names: known, none empty, none twice.
fn feature_list(s: &str) -> Result<FeatureList, String> {
    use crate::analysis::Feature;
    let known = || Feature::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
    let mut out: Vec<Feature> = Vec::new();
    for name in s.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(format!("has an empty name; give names separated by commas, from {}", known()));
        }
        let f = Feature::from_name(name).ok_or_else(|| format!("'{name}' is not a feature; one of {}", known()))?;
        if out.contains(&f) {
            return Err(format!("names '{name}' twice"));
        }
        out.push(f);
    }
    Ok(FeatureList(out))
}

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// UTF-8 text whose last --val-frac of characters is the validation split, as `train`
    /// splits it; every character must be in the model's vocabulary. Read in bounded chunks.
    #[arg(long)]
    pub data: PathBuf,
    /// Fraction of the file, from the end, that is validation. Range: (0, 1).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true, value_parser = float(0.0, Excl, 1.0).below_max().f64())]
    pub val_frac: f64,
    /// Window length of the windowed measure. Range: 1 to 100000.
    #[arg(long, default_value_t = 256, allow_negative_numbers = true, value_parser = int(1, 100_000))]
    pub window: usize,
}

#[derive(Args, Debug, Clone)]
pub struct InfoArgs {
    /// A checkpoint file (.safetensors, or .pt with --vocab), or the name of a built-in model: default, python (./NAME for a file of that name). Default: default.
    pub checkpoint: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Every value is taken as text and checked by `gatescope::export`, so a bad
/// one is a single line naming the option (clap's own errors are several).
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// A trace written by `generate --trace` or the playground's save (.jsonl).
    pub trace: std::path::PathBuf,
    /// HTML: the unit that colours the text, lK:U (layer K from l0, unit U), e.g. l1:134.
    #[arg(long, value_name = "lK:U", allow_hyphen_values = true, value_parser = unit)]
    pub unit: Option<crate::model::Unit>,
    /// HTML: c (the cell, drawn as tanh(c); default) or h (the output).
    #[arg(long, value_name = "c|h", allow_hyphen_values = true, value_parser = state)]
    pub state: Option<State>,
    /// HTML: under each character, its top-5 next-character guesses.
    #[arg(long)]
    pub top: bool,
    /// Write a self-contained HTML page of the text coloured by --unit.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
    /// SVG: the layer, lK (l0 is the first). Range: l0 to the trace's last layer.
    #[arg(long, value_name = "lK", allow_hyphen_values = true, allow_negative_numbers = true, value_parser = layer)]
    pub layer: Option<usize>,
    /// SVG: the gate, i, f, g or o.
    #[arg(long, value_name = "i|f|g|o", allow_hyphen_values = true, value_parser = gate)]
    pub gate: Option<crate::model::Gate>,
    /// SVG: these units of --layer, e.g. 3,17,200 or l1:3,l1:17 (default: all).
    #[arg(long, value_name = "a,b,c", allow_hyphen_values = true, value_parser = unit_list)]
    pub units: Option<UnitList>,
    /// SVG: the N units whose gate varies most over the trace. Range: 1 to the layer's size.
    #[arg(long, value_name = "N", allow_hyphen_values = true, allow_negative_numbers = true, value_parser = at_least(1))]
    pub most_variable: Option<usize>,
    /// Write a self-contained SVG heatmap of --gate in --layer.
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// The model's name in the legend (default: the trace's file name).
    #[arg(long, value_parser = legend_label)]
    pub label: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct AnalysisInput {
    #[command(flatten)]
    pub model: ModelArgs,
    /// UTF-8 text; the analysis reads its first --chars characters in one pass from a zero state.
    /// `cells` takes several files (--data A B, or --data A --data B), each read so, and pools
    /// them: r over every character of every file.
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// How many characters to read, from the start of each file [default: the whole file, up to
    /// 20000]. Range: 1 to the length of the text.
    #[arg(long, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = at_least(1))]
    pub chars: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CellsArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// Units listed per feature, by |r|. Range: at least 1.
    #[arg(long, default_value_t = 3, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = at_least(1))]
    pub top: usize,
    /// Also write the catalogue into the checkpoint's metadata (key `cells`); tensors are untouched.
    #[arg(long)]
    pub save: bool,
    /// With --save: the features whose best units the playground pins at start, in this order,
    /// comma-separated (e.g. bracket_depth,indent). Default: the three strongest.
    #[arg(long, value_name = "FEATURE,...", allow_hyphen_values = true, value_parser = features)]
    pub pin: Option<Features>,
}

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// The layer to search, lK as in PyTorch's tensor names (l0 is the first). Range: l0 to the
    /// model's last layer.
    #[arg(long, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = layer)]
    pub layer: usize,
    /// The selected steps S..E (S included, E not), 0-based character offsets. Range: 0 <= S < E
    /// <= --chars.
    #[arg(long, allow_hyphen_values = true, value_parser = span)]
    pub span: Range<usize>,
    /// c (a unit's value is tanh(c_t)) or h (h_t).
    #[arg(long, default_value = "c", allow_hyphen_values = true, value_parser = state)]
    pub state: State,
    /// A unit is on at t when its value is at least this. Range: (-1, 1).
    #[arg(long, default_value_t = 0.3, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = float(-1.0, Excl, 1.0).below_max().f64())]
    pub threshold: f64,
    /// Steps before the span where a selected unit must be off. Range: 0 or more.
    #[arg(long, default_value_t = 1, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = at_least(0))]
    pub pad_left: usize,
    /// Steps after the span where a selected unit must be off. Range: 0 or more.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = at_least(0))]
    pub pad_right: usize,
    /// How many matches to list. Range: at least 1.
    #[arg(long, default_value_t = 50, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = at_least(1))]
    pub top: usize,
}

#[derive(Args, Debug, Clone)]
pub struct SaturationArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// A gate is left-saturated below this. Range: [0, 1], at most --high.
    #[arg(long, default_value_t = 0.1, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = float(0.0, Incl, 1.0).f64())]
    pub low: f64,
    /// A gate is right-saturated above this. Range: [0, 1], at least --low.
    #[arg(long, default_value_t = 0.9, allow_hyphen_values = true, allow_negative_numbers = true, value_parser = float(0.0, Incl, 1.0).f64())]
    pub high: f64,
}

/// `explain`: the LSTM's equations for one unit at one step of a prompt.
#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The text the model reads from a zero state; every character must be in its vocabulary.
    #[arg(long, short, allow_hyphen_values = true)]
    pub prompt: String,
    /// The unit, lK:U (layer K from l0, unit U), e.g. l1:271.
    #[arg(long, value_name = "lK:U", value_parser = unit)]
    pub unit: crate::model::Unit,
    /// The step to explain, a 0-based character offset in the prompt [default: the last character].
    /// Range: 0 to the prompt's length - 1.
    #[arg(long, allow_negative_numbers = true, value_parser = int(0, MAX_STEPS))]
    pub step: Option<usize>,
    /// Terms listed per gate from its input and from its recurrent input, by |term|. Range: 1 to 65536.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = int(1, 65_536))]
    pub top: usize,
    /// Print JSON instead of the text.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page of the prompt coloured by each step's memory write w_s.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
}

/// A unit named `lK:U`, as clap's value parser.
fn unit(s: &str) -> Result<crate::model::Unit, String> {
    s.parse().map_err(|_| "must be lK:U (layer K from l0, unit U), e.g. l1:271".to_string())
}

/// A gate named by its letter, as clap's value parser.
fn gate(s: &str) -> Result<crate::model::Gate, String> {
    let mut it = s.trim().chars();
    match (it.next().and_then(crate::model::Gate::from_letter), it.next()) {
        (Some(g), None) => Ok(g),
        _ => Err("must be one of i, f, g or o (a gate)".into()),
    }
}

/// `--units`: unit numbers, or full names `lK:U`, in the order given;
/// that they are in `--layer`, in range and none twice is the command's
/// check (`export::units_in_layer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitList(pub Vec<crate::export::UnitRef>);

fn unit_list(s: &str) -> Result<UnitList, String> {
    use crate::export::UnitRef;
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            return Err("has an empty entry; expected unit numbers such as 3,17,200".into());
        }
        out.push(if part.starts_with('l') {
            UnitRef::Named(part.parse().map_err(|e| format!("has '{part}': {e}"))?)
        } else {
            UnitRef::Index(part.parse().map_err(|_| {
                format!("has '{part}', not a unit number; units run from 0 to the layer's size - 1, e.g. 3,17,200")
            })?)
        });
    }
    Ok(UnitList(out))
}

/// A legend label: one line of reasonable length (it is escaped either way).
fn legend_label(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("is empty; give the checkpoint's name or leave it out".into());
    }
    if let Some(c) = s.chars().find(|&c| crate::export::control_picture(c).is_some()) {
        return Err(format!("has the control character U+{:04X}; give one line of plain text", c as u32));
    }
    if s.chars().count() > 200 {
        return Err(format!("has {} characters; at most 200", s.chars().count()));
    }
    Ok(s.to_string())
}

/// `--pin`'s features, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features(pub Vec<Feature>);

/// Parse the process's arguments. `--help` and `--version` print and exit 0;
/// any other parse error is one line, `gatescope: ...`, and exit status 1,
/// like every other error.
pub fn parse() -> Cli {
    match Cli::command().try_get_matches().and_then(|m| Ok((Cli::from_arg_matches(&m)?, m))) {
        Ok((mut cli, m)) => {
            if let (Some(Command::Train(t)), Some(sub)) = (cli.command.as_mut(), m.subcommand_matches("train")) {
                t.given = given(sub);
            }
            cli
        }
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
            _ => {
                eprintln!("gatescope: {}", one_line(&e));
                std::process::exit(1);
            }
        },
    }
}

/// The ids of the options given on the command line.
pub fn given(m: &clap::ArgMatches) -> Vec<String> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine))
        .map(|id| id.to_string())
        .collect()
}

/// A clap error as one line. A value that fails its range check reads
/// "--lr must be > 0 ... (got '-1')"; other errors keep clap's first line.
pub fn one_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = |k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    if let (ErrorKind::ValueValidation, Some(arg), Some(value)) =
        (e.kind(), text(ContextKind::InvalidArg), text(ContextKind::InvalidValue))
    {
        let flag = arg.split_whitespace().next().unwrap_or(&arg).to_string();
        let why = std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default();
        // A value may hold control characters (a pasted escape sequence):
        // shown escaped, the message stays one line and inert.
        let value: String = value
            .chars()
            .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
            .collect();
        return format!("{flag} {why} (got '{value}')");
    }
    if let (ErrorKind::MissingRequiredArgument, Some(ContextValue::Strings(missing))) =
        (e.kind(), e.get(ContextKind::InvalidArg))
    {
        let what = if missing.len() == 1 { "argument was" } else { "arguments were" };
        return format!("the required {what} not given: {}; see --help", missing.join(", "));
    }
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    format!("{}; see --help", first.trim_start_matches("error: "))
}

// ---- Range checks, shared by every command's numeric options. -------------
//
// Each parser returns "must be ..." so that `one_line` can put the option's
// name in front. Every numeric option's help ends with "Range: ..." in the
// same words (tests/hardening.rs checks that each one states a range).

/// Upper bound of step counts: far beyond any real run, and small enough that
/// step arithmetic cannot overflow.
pub const MAX_STEPS: u64 = 1_000_000_000_000;
/// Upper bound of --top-k before the model is known; commands checks it
/// against the loaded model's vocabulary.
pub const MAX_VOCAB: u64 = 1 << 21;

/// Whether a float range's lower end is included.
#[derive(Clone, Copy, Debug)]
pub enum Low {
    Incl,
    Excl,
}
pub use Low::{Excl, Incl};

/// A finite float from `lo` (included or not) to `hi` (included, or not
/// with `below_max`); `.f64()` or `.f32()` makes it clap's value parser.
#[derive(Clone, Copy, Debug)]
pub struct FloatRange {
    lo: f64,
    low: Low,
    hi: f64,
    hi_included: bool,
}

pub fn float(lo: f64, low: Low, hi: f64) -> FloatRange {
    FloatRange { lo, low, hi, hi_included: true }
}

impl FloatRange {
    /// Exclude the upper end.
    pub fn below_max(self) -> Self {
        Self { hi_included: false, ..self }
    }

    pub fn f64(self) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
        move |s| self.check(s)
    }

    pub fn f32(self) -> impl Fn(&str) -> Result<f32, String> + Clone + Send + Sync + 'static {
        move |s| self.check(s).map(|v| v as f32)
    }

    fn describe(&self) -> String {
        let open = if matches!(self.low, Excl) { "(" } else { "[" };
        let close = if self.hi_included { "]" } else { ")" };
        format!("{open}{}, {}{close}", self.lo, self.hi)
    }

    pub fn check(&self, s: &str) -> Result<f64, String> {
        let v: f64 = s.trim().parse().map_err(|_| format!("must be a number in {}", self.describe()))?;
        let above = match self.low {
            Incl => v >= self.lo,
            Excl => v > self.lo,
        };
        let below = if self.hi_included { v <= self.hi } else { v < self.hi };
        if !(v.is_finite() && above && below) {
            return Err(format!("must be a finite number in {}", self.describe()));
        }
        Ok(v)
    }
}

/// A whole number from `lo` to `hi`, both included, as clap's value parser.
pub fn int(lo: u64, hi: u64) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s| {
        let range = format!("from {lo} to {hi}");
        let v: i128 = s.trim().parse().map_err(|_| format!("must be a whole number {range}"))?;
        if v < lo as i128 || v > hi as i128 {
            return Err(format!("must be {range}"));
        }
        usize::try_from(v).map_err(|_| "is too large for this machine".to_string())
    }
}

/// --top-k's own range is the loaded model's vocabulary, checked by the
/// command; before the model is known the parser states that range in words.
fn top_k(s: &str) -> Result<usize, String> {
    int(0, MAX_VOCAB)(s).map_err(|_| "must be a whole number from 0 to the model's vocabulary size".to_string())
}

fn seed(s: &str) -> Result<u64, String> {
    s.trim().parse().map_err(|_| "must be a whole number from 0 to 2^64 - 1".to_string())
}

/// A whole number of at least `min`, with no upper bound but the machine's
/// (the bound is another option or the input, checked by the command).
pub fn at_least(min: u64) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s| {
        let t = s.trim();
        let digits = t.strip_prefix('-').unwrap_or(t);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("must be a whole number, at least {min}"));
        }
        if t.starts_with('-') && digits.chars().any(|c| c != '0') {
            return Err(format!("must be at least {min}"));
        }
        let v: u64 = digits.parse().map_err(|_| "is too large for this machine".to_string())?;
        if v < min {
            return Err(format!("must be at least {min}"));
        }
        usize::try_from(v).map_err(|_| "is too large for this machine".to_string())
    }
}

/// `S..E`, 0 <= S < E; that E is within the text is the command's check.
fn span(s: &str) -> Result<Range<usize>, String> {
    let bad = || "must be S..E (start included, end not, 0 <= S < E), e.g. 120..135".to_string();
    let (a, b) = s.trim().split_once("..").ok_or_else(bad)?;
    let digits = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return Err(bad());
    }
    let too_large = || "is outside the text (too large for this machine)".to_string();
    let (a, b): (usize, usize) = (a.parse().map_err(|_| too_large())?, b.parse().map_err(|_| too_large())?);
    if a >= b {
        return Err("is empty: the end E must be after the start S in S..E".into());
    }
    Ok(a..b)
}

/// `lK`; that the model has layer K is the command's check.
fn layer(s: &str) -> Result<usize, String> {
    parse_layer(s).map_err(|_| "must be lK, e.g. l0 for the first layer".to_string())
}

fn state(s: &str) -> Result<State, String> {
    State::from_letter(s.trim()).ok_or_else(|| "must be c (tanh of the cell state) or h".to_string())
}

/// Comma-separated feature names: known, none twice, at least one.
fn features(list: &str) -> Result<Features, String> {
    let mut out: Vec<Feature> = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(
                "has an empty feature name; expected names separated by commas, e.g. bracket_depth,indent".into()
            );
        }
        let f = Feature::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
            format!("'{name}' is not a feature; one of {}", known.join(", "))
        })?;
        if out.contains(&f) {
            return Err(format!("'{name}' is named twice"));
        }
        out.push(f);
    }
    Ok(Features(out))
}
