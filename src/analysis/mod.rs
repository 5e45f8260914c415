//! What a cell means: the cell catalogue, LSTMVis-style span search
//! and gate saturation, over the first N characters of a text read in one
//! pass from a zero state (step t consumes x_t; c_t and h_t are the states
//! after it).
//!
//! The analyses are accumulators fed one step at a time with plain slices
//! (a feature row, each layer's gates and states), so the same code serves
//! the CLI, which streams a text through the model here in chunks, and the
//! playground, which holds its history as `generate::Step`s.

pub mod attribution;
pub mod catalogue;
pub mod explain;
pub mod explain_text;
pub mod features;
pub mod memory;
pub mod pylex;
pub mod report;
pub mod saturation;
pub mod save;
pub mod search;

pub use catalogue::{Catalogue, CatalogueBuilder, Correlation, SavedCatalogue, State};
pub use features::{Feature, FeatureTable};
pub use saturation::{Saturation, SaturationCounter};
pub use search::{search, OnBits, Pads, SearchResult};

use crate::data::read_text;
use crate::model::lstm::LayerGates;
use crate::model::{CharLstm, LstmState};
use crate::vocab::{escape_char, Vocab};
use anyhow::{anyhow, bail, Result};
use std::path::Path;

/// How many characters a catalogue is measured on by default (the CLI's
/// `--chars`, and `train`'s catalogue of its validation text).
pub const CATALOGUE_CHARS: usize = 20_000;

/// Characters per pass through the batched path: long enough for its
/// matrix products to pay, short enough that one chunk's gates (about 25 MB
/// for a 2×512 model) are all that is ever held.
pub const CHUNK: usize = 1024;

/// The first `n` characters (Unicode scalar values) of the UTF-8 file at
/// `path`, or an error that names the file and what is wrong.
pub fn read_chars(path: &Path, n: usize) -> Result<Vec<char>> {
    if n == 0 {
        bail!("--chars must be at least 1");
    }
    let text = read_text(path)?;
    let chars: Vec<char> = text.chars().take(n).collect();
    if chars.len() < n {
        bail!("{}: --chars {n} but the file has only {} characters", path.display(), chars.len());
    }
    Ok(chars)
}

/// At most the first `n` characters of the UTF-8 file at `path` (fewer if
/// it is shorter), reading at most 4n bytes: the playground names any file,
/// and a huge one must cost no more than its prefix. Errors name the file
/// and what is wrong, as `read_chars`'s do.
pub fn read_prefix(path: &Path, n: usize) -> Result<Vec<char>> {
    use std::io::Read;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    if !meta.is_file() {
        bail!("{shown}: not a regular file");
    }
    let limit = 4 * n as u64;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit).read_to_end(&mut bytes))
        .map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
    if bytes.is_empty() {
        bail!("{shown}: file is empty");
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(s) => s,
        // The byte limit can cut the last character in two; the part read of
        // it lies past the first n characters.
        Err(e) if e.error_len().is_none() && meta.len() > limit => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid up to there")
        }
        Err(e) => {
            let at = e.valid_up_to();
            match bytes.get(at) {
                Some(b) => bail!("{shown}: not UTF-8 text (invalid byte 0x{b:02X} at byte offset {at})"),
                None => bail!("{shown}: not UTF-8 text (cut short at byte offset {at})"),
            }
        }
    };
    Ok(text.chars().take(n).collect())
}

/// Character ids, or an error naming the first character the model does not
/// know and its offset (in characters from the start of `what`).
pub fn encode(vocab: &Vocab, chars: &[char], what: &str) -> Result<Vec<i64>> {
    chars
        .iter()
        .enumerate()
        .map(|(at, &c)| {
            vocab.id(c).ok_or_else(|| {
                anyhow!("{what}: character {} at offset {at} is not in the model's vocabulary", escape_char(c))
            })
        })
        .collect()
}

/// Run `ids` through `model` from a zero state, `CHUNK` characters at a time
/// on the faster sequence path (`Stepper::read_faster`), calling
/// `visit(t, layers)` for every step in order and `progress(steps done)`
/// after every chunk.
pub fn stream(
    model: &CharLstm,
    ids: &[i64],
    progress: &mut dyn FnMut(usize),
    mut visit: impl FnMut(usize, &[LayerGates]),
) {
    let mut state = LstmState::zeros(&model.dims);
    let stepper = model.stepper();
    let mut t = 0;
    for chunk in ids.chunks(CHUNK) {
        for out in stepper.read_faster(model, chunk, &mut state) {
            visit(t, &out.layers);
            t += 1;
        }
        progress(t);
    }
}

/// Each layer's (c_t, h_t, f_t), as `CatalogueBuilder::push` takes them.
pub fn states(layers: &[LayerGates]) -> impl Iterator<Item = (&[f32], &[f32], &[f32])> {
    layers.iter().map(|l| (&l.c[..], &l.h[..], &l.f[..]))
}

/// Each layer's i, f, o, as `SaturationCounter::push` takes them.
pub fn sigmoid_gates(layers: &[LayerGates]) -> impl Iterator<Item = [&[f32]; 3]> {
    layers.iter().map(|l| [&l.i[..], &l.f[..], &l.o[..]])
}

/// The catalogue of `model` over `chars` (already encoded as `ids`).
pub fn catalogue(
    model: &CharLstm,
    chars: &[char],
    ids: &[i64],
    top: usize,
    progress: &mut dyn FnMut(usize),
) -> Catalogue {
    pooled_catalogue(model, &[(chars, ids)], top, progress)
}

/// The catalogue of `model` over several texts, each (characters, ids) read
/// from a zero state and its features computed from its own start: r pools
/// every step of every text. `progress` counts the steps of all texts.
pub fn pooled_catalogue(
    model: &CharLstm,
    texts: &[(&[char], &[i64])],
    top: usize,
    progress: &mut dyn FnMut(usize),
) -> Catalogue {
    let mut builder = CatalogueBuilder::new(model.dims.layers, model.dims.hidden);
    let mut done = 0;
    for &(chars, ids) in texts {
        let features = FeatureTable::new(chars);
        builder.start_text();
        stream(model, ids, &mut |t| progress(done + t), |t, layers| builder.push(features.row(t), states(layers)));
        done += ids.len();
    }
    builder.finish(top)
}

/// Gate saturation of `model` over `ids`.
pub fn saturation(model: &CharLstm, ids: &[i64], low: f64, high: f64, progress: &mut dyn FnMut(usize)) -> Saturation {
    let mut counter = SaturationCounter::new(model.dims.layers, model.dims.hidden, low, high);
    stream(model, ids, progress, |_, layers| counter.push(sigmoid_gates(layers)));
    counter.finish()
}

/// One layer's on/off bits over `ids`, for `search`.
pub fn on_bits(
    model: &CharLstm,
    ids: &[i64],
    layer: usize,
    state: State,
    threshold: f64,
    progress: &mut dyn FnMut(usize),
) -> OnBits {
    let mut bits = OnBits::new(model.dims.hidden, state, threshold);
    stream(model, ids, progress, |_, layers| {
        let l = &layers[layer];
        bits.push(match state {
            State::C => &l.c,
            State::H => &l.h,
        })
    });
    bits
}
