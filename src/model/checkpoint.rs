//! The checkpoint format: one `.safetensors` file holding a PyTorch
//! `state_dict` of embed / lstm / head (f32; f16 and bf16 accepted on load),
//! with the vocabulary as a JSON array in the metadata key `vocab`. Sizes come
//! from tensor shapes. Every error names the file and what is wrong with it.

use super::layout::{layer_tensor_names, EMBED_WEIGHT, HEAD_BIAS, HEAD_WEIGHT};
use super::lstm::{CharLstm, LayerWeights};
use super::pt::{self, read_vocab_file, LoadOptions, NameMap, PtFile};
use crate::atomic::write_atomic;
use crate::vocab::Vocab;
use anyhow::{anyhow, bail, Result};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tch::Tensor;

pub struct Checkpoint {
    pub path: PathBuf,
    pub model: CharLstm,
    /// Every metadata key but `vocab`, e.g. `val_loss`, `steps`, `trained_on`.
    pub metadata: BTreeMap<String, String>,
    /// Things that load but deserve a word to the user (non-finite weights).
    pub warnings: Vec<String>,
    /// What the bytes were: a file written as PyTorch's pickle can be read
    /// but not written back to (the analyses' `--save` refuses it).
    pub format: FileFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Safetensors,
    PyTorch,
}

impl Checkpoint {
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// Join a `.pt` file's tensors with the vocabulary of `opts` into a
    /// model. The head's rows must match the vocabulary's size.
    pub fn from_pt(pt: PtFile, path: &Path, opts: &LoadOptions) -> Result<Checkpoint> {
        let shown = path.display();
        let f = &pt.found;
        let vocab_path = opts.vocab.as_ref().ok_or_else(|| {
            anyhow!(
                "{shown}: a PyTorch state_dict holds no vocabulary; give --vocab CORPUS.txt (the text it was trained \
                 on: its sorted distinct characters) or --vocab VOCAB.json (a JSON array of its {} characters)",
                f.vocab
            )
        })?;
        let vocab = read_vocab_file(vocab_path)?;
        if vocab.len() != f.vocab {
            bail!(
                "{shown}: --vocab {} gives {} characters but head '{}' has {} rows; give the text the model was \
                 trained on, or a JSON array of {} one-character strings",
                vocab_path.display(),
                vocab.len(),
                f.head_weight,
                f.vocab,
                f.vocab
            );
        }
        let get = |name: &str| -> Result<Tensor> {
            let t = pt.state.get(name).ok_or_else(|| anyhow!("{shown}: tensor '{name}' is missing"))?;
            let data = t.data.as_ref().ok_or_else(|| {
                anyhow!("{shown}: tensor '{name}' is {}; expected float, half or bfloat16", t.kind.name())
            })?;
            let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
            Tensor::f_from_slice(data)
                .and_then(|x| x.f_reshape(&shape))
                .map_err(|e| anyhow!("{shown}: tensor '{name}' cannot take shape {shape:?} ({e})"))
        };
        let embed = f.embed.as_deref().map(get).transpose()?;
        let mut layers = Vec::with_capacity(f.layers);
        for k in 0..f.layers {
            let [w_ih, w_hh, b_ih, b_hh] = f.layer_names(k);
            // nn.LSTM(bias=False) has no bias tensors: its biases are zero.
            let bias = |n: &str| {
                if f.lstm_bias {
                    get(n)
                } else {
                    Ok(Tensor::zeros([4 * f.hidden as i64], tch::kind::FLOAT_CPU))
                }
            };
            layers.push(LayerWeights { w_ih: get(&w_ih)?, w_hh: get(&w_hh)?, b_ih: bias(&b_ih)?, b_hh: bias(&b_hh)? });
        }
        let model = CharLstm::new(vocab, embed, layers, get(&f.head_weight)?, get(&f.head_bias)?)
            .map_err(|e| anyhow!("{shown}: {e}"))?;
        let mut warnings = Vec::new();
        if !f.ignored.is_empty() {
            let n = f.ignored.len();
            let some: Vec<&str> = f.ignored.iter().take(6).map(String::as_str).collect();
            warnings.push(format!(
                "{n} tensor{} not part of embedding -> LSTM -> head {} left out: {}{}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "is" } else { "are" },
                some.join(", "),
                if n > 6 { ", ..." } else { "" }
            ));
        }
        if !model.all_finite() {
            warnings.push("some weights are NaN or infinite; its output will be meaningless".to_string());
        }
        let metadata = BTreeMap::from([
            ("source_format".to_string(), format!("PyTorch state_dict ({} format, {})", pt.state.format, pt.kinds())),
            ("source_modules".to_string(), f.as_map()),
        ]);
        Ok(Checkpoint { path: path.to_path_buf(), model, metadata, warnings, format: FileFormat::PyTorch })
    }
}

pub fn load_checkpoint(path: &Path) -> Result<Checkpoint> {
    load_checkpoint_with(path, &LoadOptions::default())
}

/// Load a `.safetensors` checkpoint or a PyTorch `.pt`/`.pth` state_dict (told
/// apart by their first bytes, not their names), with the vocabulary and
/// module names of `opts` (which a `.pt` needs and a safetensors file may check).
pub fn load_checkpoint_with(path: &Path, opts: &LoadOptions) -> Result<Checkpoint> {
    let bytes = read_checkpoint_bytes(path)?;
    if pt::is_pt(&bytes) {
        return Checkpoint::from_pt(PtFile::parse(path, &bytes, &opts.map)?, path, opts);
    }
    let ck = parse_safetensors(path, &bytes)?;
    check_options(&ck, opts)?;
    Ok(ck)
}

/// What `info` shows of a `.pt` file before a vocabulary is given; None for
/// a file that is not one.
pub fn describe_pt(path: &Path, map: &NameMap) -> Result<Option<Vec<(String, String)>>> {
    let bytes = read_checkpoint_bytes(path)?;
    if !pt::is_pt(&bytes) {
        return Ok(None);
    }
    Ok(Some(PtFile::parse(path, &bytes, map)?.describe()))
}

fn read_checkpoint_bytes(path: &Path) -> Result<Vec<u8>> {
    let what = std::fs::metadata(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))?;
    if !what.is_file() {
        bail!("{}: not a regular file; expected a .safetensors or .pt checkpoint", path.display());
    }
    std::fs::read(path).map_err(|e| anyhow!("{}: cannot read ({e})", path.display()))
}

/// The dtype name ("F32", "F16", ...) of a safetensors file's first LSTM
/// weight, from its header alone; None for anything else (the loader then
/// says what the file is). The header is parsed here rather than by
/// `safetensors::SafeTensors::read_metadata`, which wants the whole file in
/// memory to check the data's length.
pub fn stored_lstm_dtype(path: &Path) -> Option<String> {
    use std::io::Read;
    // Opening a FIFO would block until a writer comes: only regular files are read.
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).ok()?;
    let len = u64::from_le_bytes(len);
    // A real header is a few KB; a huge length is not a safetensors file.
    if len > 100_000_000 {
        return None;
    }
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header.get(layer_tensor_names(0)[1].as_str())?.get("dtype")?.as_str().map(str::to_string)
}

/// Refuse to write a trace, page or picture (`flag`'s output) over a model
/// checkpoint: one mistyped path would lose what may be hours of training.
/// A checkpoint is known by its first bytes (a safetensors header, or a
/// `torch.save` zip or pickle), whatever the file is called.
pub fn refuse_checkpoint(flag: &str, out: &Path) -> Result<()> {
    use std::io::Read;
    // Only a regular file is opened: a FIFO would block until a writer comes.
    if !std::fs::metadata(out).is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let mut head = Vec::with_capacity(9);
    if let Ok(f) = std::fs::File::open(out) {
        let _ = f.take(9).read_to_end(&mut head);
    }
    let header_len = head.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
    let safetensors = header_len >= 2 && head.get(8) == Some(&b'{');
    if safetensors || pt::is_pt(&head) {
        bail!(
            "{flag} {}: looks like a model checkpoint; refusing to write over it (choose another file)",
            out.display()
        );
    }
    Ok(())
}

/// A safetensors checkpoint carries its own vocabulary and names: `--vocab`
/// may only confirm the vocabulary, and `--map` has nothing to choose.
fn check_options(ck: &Checkpoint, opts: &LoadOptions) -> Result<()> {
    if !opts.map.is_empty() {
        bail!(
            "{}: --map is for PyTorch .pt files; a safetensors checkpoint uses gatescope's own names",
            ck.path.display()
        );
    }
    if let Some(v) = &opts.vocab {
        let given = read_vocab_file(v)?;
        if given != ck.model.vocab {
            bail!(
                "{}: --vocab {} ({} characters) differs from the vocabulary stored in the checkpoint ({}); leave --vocab out",
                ck.path.display(),
                v.display(),
                given.len(),
                ck.model.vocab.len()
            );
        }
    }
    Ok(())
}

fn parse_safetensors(path: &Path, bytes: &[u8]) -> Result<Checkpoint> {
    parse(bytes).map_err(|e| anyhow!("{}: {e}", path.display())).map(|(model, metadata, warnings)| Checkpoint {
        path: path.to_path_buf(),
        model,
        metadata,
        warnings,
        format: FileFormat::Safetensors,
    })
}

type Parsed = (CharLstm, BTreeMap<String, String>, Vec<String>);

/// Parse checkpoint bytes. Allocation stays within the file's size: the
/// safetensors header is checked against the buffer before any tensor is made.
pub fn parse(bytes: &[u8]) -> Result<Parsed> {
    if bytes.is_empty() {
        bail!("file is empty; expected a safetensors checkpoint");
    }
    let st = SafeTensors::deserialize(bytes).map_err(|e| match what_else(bytes) {
        Some((kind, advice)) => {
            anyhow!("this is {kind}, not a checkpoint; gatescope reads .safetensors checkpoints and PyTorch .pt state_dicts{advice}")
        }
        None => anyhow!("not a valid safetensors file ({e})"),
    })?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| anyhow!("not a valid safetensors file ({e})"))?;
    let mut metadata: BTreeMap<String, String> = header.metadata().clone().unwrap_or_default().into_iter().collect();
    let vocab_json = metadata.remove("vocab").ok_or_else(|| anyhow!("metadata key 'vocab' is missing"))?;
    let vocab = Vocab::from_json(&vocab_json)?;

    let names: Vec<String> = st.names().into_iter().map(|s| s.to_string()).collect();
    let layer_count = (0..).take_while(|&k| names.contains(&layer_tensor_names(k)[0])).count();
    if layer_count == 0 {
        bail!("missing tensor '{}'", layer_tensor_names(0)[0]);
    }
    let mut expected: Vec<String> = vec![EMBED_WEIGHT.into(), HEAD_WEIGHT.into(), HEAD_BIAS.into()];
    expected.extend((0..layer_count).flat_map(layer_tensor_names));
    if let Some(extra) = names.iter().find(|n| !expected.contains(n)) {
        bail!("unexpected tensor '{extra}' (a gatescope checkpoint holds {EMBED_WEIGHT}, lstm.*_l{{k}} and head.*)");
    }
    let get = |name: &str| -> Result<Tensor> { tensor(&st, name) };
    let embed = if names.iter().any(|n| n == EMBED_WEIGHT) { Some(get(EMBED_WEIGHT)?) } else { None };
    let mut layers = Vec::with_capacity(layer_count);
    for k in 0..layer_count {
        let [w_ih, w_hh, b_ih, b_hh] = layer_tensor_names(k);
        layers.push(LayerWeights { w_ih: get(&w_ih)?, w_hh: get(&w_hh)?, b_ih: get(&b_ih)?, b_hh: get(&b_hh)? });
    }
    let head_w = get(HEAD_WEIGHT)?;
    let head_b = get(HEAD_BIAS)?;
    let rows = head_w.size().first().copied().unwrap_or(0) as usize;
    if rows != vocab.len() {
        bail!("metadata 'vocab' has {} entries but tensor '{HEAD_WEIGHT}' has {rows} rows", vocab.len());
    }
    let model = CharLstm::new(vocab, embed, layers, head_w, head_b)?;
    let mut warnings = Vec::new();
    if !model.all_finite() {
        warnings.push("some weights are NaN or infinite; its output will be meaningless".to_string());
    }
    Ok((model, metadata, warnings))
}

/// What a file that is not safetensors looks like it is, from its first
/// bytes: a PyTorch `torch.save` file (a zip since PyTorch 1.6, a pickle
/// before), or text.
/// Returns the kind and advice to append.
fn what_else(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    const RESAVE: &str =
        " (write the state_dict with safetensors.torch.save_file, as README's Checkpoint format shows)";
    if bytes.starts_with(b"PK\x03\x04") {
        return Some(("a PyTorch torch.save file (zip)", RESAVE));
    }
    // Pickle protocol 2 and later open with 0x80 and the protocol number.
    if bytes.len() >= 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1]) {
        return Some(("a PyTorch torch.save file (legacy pickle)", RESAVE));
    }
    // A safetensors header length is a little-endian u64, so its high bytes are
    // zero; text has none, and no control characters but whitespace.
    let head = &bytes[..bytes.len().min(4096)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
        Err(_) => return None,
    };
    let texty = !text.is_empty() && text.chars().all(|c| !c.is_control() || c.is_whitespace());
    texty.then_some(("a text file", ""))
}

/// One tensor of a checkpoint as f32, whatever dtype it is stored in.
pub(super) fn tensor(st: &SafeTensors, name: &str) -> Result<Tensor> {
    let view = st.tensor(name).map_err(|_| anyhow!("missing tensor '{name}'"))?;
    let data = view.data();
    let floats: Vec<f32> = match view.dtype() {
        Dtype::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Dtype::F16 => data.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        Dtype::BF16 => data.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        other => bail!("tensor '{name}' has dtype {other:?}; expected F32, F16 or BF16"),
    };
    let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
    Tensor::f_from_slice(&floats)
        .and_then(|t| t.f_reshape(&shape))
        .map_err(|e| anyhow!("tensor '{name}' cannot take shape {shape:?} ({e})"))
}

/// How a checkpoint stores its weights. f16 halves the file (the shipped
/// 3x512 models fit the 16 MB limit that way); the model computes in f32
/// either way, from the stored values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredAs {
    F32,
    F16,
    BF16,
}

/// Write `model` and `metadata` atomically (temporary file, then rename), in f32.
pub fn save_checkpoint(model: &CharLstm, metadata: &BTreeMap<String, String>, path: &Path) -> Result<()> {
    save_checkpoint_as(model, metadata, path, StoredAs::F32)
}

/// As `save_checkpoint`, storing the weights as `dtype`. A weight beyond
/// f16's range (65504) is refused by tensor name rather than stored as
/// infinity.
pub fn save_checkpoint_as(
    model: &CharLstm,
    metadata: &BTreeMap<String, String>,
    path: &Path,
    dtype: StoredAs,
) -> Result<()> {
    let bytes = to_bytes_as(model, metadata, dtype)?;
    write_atomic(path, &bytes)
}

pub fn to_bytes(model: &CharLstm, metadata: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    to_bytes_as(model, metadata, StoredAs::F32)
}

fn to_bytes_as(model: &CharLstm, metadata: &BTreeMap<String, String>, dtype: StoredAs) -> Result<Vec<u8>> {
    let mut meta: HashMap<String, String> = metadata.clone().into_iter().collect();
    meta.insert("vocab".into(), model.vocab.to_json());
    serialize_tensors(&model.named_tensors(), dtype, meta)
}

/// A safetensors file of `named` tensors stored as `dtype`, with `metadata`.
/// Checkpoints and the trainer's optimizer moments are both written by it.
pub fn serialize_tensors(
    named: &[(String, &tch::Tensor)],
    dtype: StoredAs,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let buffers = named
        .iter()
        .map(|(name, t)| {
            let t = t.detach().to_device(tch::Device::Cpu).to_kind(tch::Kind::Float).contiguous();
            let n = t.numel();
            let mut v = vec![0f32; n];
            t.copy_data(&mut v, n);
            let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
            Ok((name.clone(), shape, encode(name, &v, dtype)?))
        })
        .collect::<Result<Vec<(String, Vec<usize>, Vec<u8>)>>>()?;
    let st_dtype = match dtype {
        StoredAs::F32 => Dtype::F32,
        StoredAs::F16 => Dtype::F16,
        StoredAs::BF16 => Dtype::BF16,
    };
    let views = buffers
        .iter()
        .map(|(name, shape, data)| Ok((name.clone(), TensorView::new(st_dtype, shape.clone(), data)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    Ok(safetensors::serialize(views, Some(metadata))?)
}

/// Little-endian bytes of `v` as `dtype`; a finite value that would become
/// infinite is an error naming the tensor.
fn encode(name: &str, v: &[f32], dtype: StoredAs) -> Result<Vec<u8>> {
    let overflow = |x: f32, y: f32| x.is_finite() && !y.is_finite();
    Ok(match dtype {
        StoredAs::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        StoredAs::F16 => {
            let mut out = Vec::with_capacity(v.len() * 2);
            for &x in v {
                let h = half::f16::from_f32(x);
                if overflow(x, h.to_f32()) {
                    bail!("tensor '{name}' holds {x}, beyond f16's range (65504); keep it in f32");
                }
                out.extend_from_slice(&h.to_le_bytes());
            }
            out
        }
        StoredAs::BF16 => v.iter().flat_map(|&x| half::bf16::from_f32(x).to_le_bytes()).collect(),
    })
}
