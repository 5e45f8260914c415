//! PyTorch's own checkpoint files: what `torch.save(model.state_dict(), ...)`
//! writes, in the zip format of PyTorch 1.6 and later (`NAME/data.pkl`,
//! `NAME/data/KEY`, `NAME/byteorder`) and in the legacy format before it
//! (five pickles in a row, then the raw storages). The pickle is read by the
//! strict reader in `pickle`, which runs nothing; `find` then locates the
//! LSTM, the embedding and the head whatever the modules are called.

pub mod find;
pub mod load;
pub mod options;
pub mod pickle;
pub mod value;

use anyhow::{anyhow, bail, Result};
use pickle::{unpickle, StorageKind, TensorRef, Value};
use std::collections::HashMap;
use std::io::Read;

pub use find::{find, Found, NameMap};
pub use load::PtFile;
pub use options::{parse_load_request, read_vocab_file, LoadOptions};

/// The first pickle of the legacy format is this number (`torch.serialization.MAGIC_NUMBER`).
const LEGACY_MAGIC: i128 = 0x1950a86a20f9469cfc6c;
const LEGACY_PROTOCOL: i128 = 1001;

/// A tensor of the state_dict, already gathered into row-major order.
#[derive(Debug, Clone)]
pub struct PtTensor {
    pub name: String,
    pub kind: StorageKind,
    pub shape: Vec<usize>,
    /// The values as f32 for floating-point storages; None for integer and
    /// bool ones (buffers such as `num_batches_tracked`), which no LSTM uses.
    pub data: Option<Vec<f32>>,
}

/// The tensors of one `.pt` file, in the file's order.
#[derive(Debug, Clone)]
pub struct StateDict {
    /// "zip" or "legacy".
    pub format: &'static str,
    pub tensors: Vec<PtTensor>,
}

impl StateDict {
    pub fn get(&self, name: &str) -> Option<&PtTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// Whether `bytes` look like a file `torch.save` wrote (zip or legacy), as
/// opposed to a safetensors file, whose first 8 bytes are a header length.
pub fn is_pt(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || is_legacy(bytes)
}

fn is_legacy(bytes: &[u8]) -> bool {
    // PROTO n, then LONG1 of 10 bytes: the magic number.
    bytes.len() >= 4
        && bytes[0] == pickle::op::PROTO
        && (2..=5).contains(&bytes[1])
        && bytes[2] == pickle::op::LONG1
        && bytes[3] == 10
}

/// Read a `.pt` file's tensors. Errors say what is wrong without the file name.
pub fn read_state_dict(bytes: &[u8]) -> Result<StateDict> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_zip(bytes)
    } else if is_legacy(bytes) {
        read_legacy(bytes)
    } else {
        bail!("not a PyTorch file (neither the zip format of torch.save nor its legacy format)")
    }
}

fn read_zip(bytes: &[u8]) -> Result<StateDict> {
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| anyhow!("not a valid zip file ({e})"))?;
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("zip entry name: {e}"))?;
    let pickles: Vec<&String> =
        names.iter().filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1).collect();
    let pkl = match pickles.as_slice() {
        [one] => one.to_string(),
        [] => bail!("zip has no NAME/data.pkl; not a file torch.save wrote"),
        many => bail!("zip has {} data.pkl entries; expected one", many.len()),
    };
    let prefix = &pkl[..pkl.len() - "data.pkl".len()];
    let mut entry = |name: &str| -> Result<Option<Vec<u8>>> {
        let mut f = match zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => bail!("zip entry '{name}': {e}"),
        };
        // The declared size is only a hint for the allocation, capped by the file itself.
        let mut out = Vec::with_capacity((f.size() as usize).min(bytes.len()));
        f.read_to_end(&mut out).map_err(|e| anyhow!("zip entry '{name}': {e}"))?;
        Ok(Some(out))
    };
    let big_endian = match entry(&format!("{prefix}byteorder"))? {
        None => false,
        Some(b) if b == b"little" => false,
        Some(b) if b == b"big" => true,
        Some(b) => bail!("zip entry '{prefix}byteorder' is {:?}; expected little or big", String::from_utf8_lossy(&b)),
    };
    let data = entry(&pkl)?.ok_or_else(|| anyhow!("zip entry '{pkl}' cannot be read"))?;
    let (root, _) = unpickle(&data).map_err(|e| anyhow!("{pkl}: {e}"))?;
    let refs = flatten(root)?;
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut tensors = Vec::with_capacity(refs.len());
    for (name, r) in refs {
        let key = &r.storage.key;
        if !storages.contains_key(key) {
            let path = format!("{prefix}data/{key}");
            let raw = entry(&path)?.ok_or_else(|| anyhow!("tensor '{name}': zip entry '{path}' is missing"))?;
            storages.insert(key.clone(), raw);
        }
        tensors.push(materialize(name, &r, &storages[key], big_endian)?);
    }
    Ok(StateDict { format: "zip", tensors })
}

fn read_legacy(bytes: &[u8]) -> Result<StateDict> {
    let mut pos = 0;
    let mut next = |what: &str| -> Result<Value> {
        let (v, used) = unpickle(&bytes[pos..]).map_err(|e| anyhow!("legacy {what} pickle: {e}"))?;
        pos += used;
        Ok(v)
    };
    if next("magic")? != Value::Int(LEGACY_MAGIC) {
        bail!("legacy format without torch's magic number");
    }
    match next("protocol")? {
        Value::Int(LEGACY_PROTOCOL) => {}
        other => bail!("legacy protocol is {other:?}; expected {LEGACY_PROTOCOL}"),
    }
    let big_endian = match next("sys_info")? {
        Value::Dict(d) => {
            d.items.iter().any(|(k, v)| *k == Value::Str("little_endian".into()) && *v == Value::Bool(false))
        }
        other => bail!("legacy sys_info is {}; expected a dict", other.kind()),
    };
    let refs = flatten(next("state_dict")?)?;
    let keys: Vec<String> = match next("storage keys")? {
        Value::List(l) => l
            .items
            .into_iter()
            .map(|k| match k {
                Value::Str(s) => Ok(s),
                other => bail!("legacy storage key is {}; expected a string", other.kind()),
            })
            .collect::<Result<_>>()?,
        other => bail!("legacy storage keys are {}; expected a list", other.kind()),
    };
    let kinds: HashMap<&str, StorageKind> =
        refs.iter().map(|(_, r)| (r.storage.key.as_str(), r.storage.kind)).collect();
    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    for key in keys {
        let kind = *kinds.get(key.as_str()).ok_or_else(|| anyhow!("legacy storage '{key}' is used by no tensor"))?;
        let head = bytes.get(pos..pos + 8).ok_or_else(|| anyhow!("legacy storage '{key}' is cut off"))?;
        let head: [u8; 8] = head.try_into().expect("8 bytes");
        let numel = if big_endian { u64::from_be_bytes(head) } else { u64::from_le_bytes(head) };
        let len = numel.checked_mul(kind.size() as u64).and_then(|n| usize::try_from(n).ok());
        let end = len.and_then(|n| (pos + 8).checked_add(n)).filter(|&e| e <= bytes.len());
        let end = end.ok_or_else(|| anyhow!("legacy storage '{key}' claims {numel} elements; the file is shorter"))?;
        storages.insert(key, &bytes[pos + 8..end]);
        pos = end;
    }
    let mut tensors = Vec::with_capacity(refs.len());
    for (name, r) in refs {
        let raw =
            storages.get(&r.storage.key).ok_or_else(|| anyhow!("tensor '{name}': storage missing from the file"))?;
        tensors.push(materialize(name, &r, raw, big_endian)?);
    }
    Ok(StateDict { format: "legacy", tensors })
}

/// The state_dict's tensors by name. Nested dicts (a checkpoint dict holding
/// `{"model": state_dict, "epoch": 3}`) give dotted names; entries that are not
/// tensors (ints, floats, optimizer settings) are left out.
fn flatten(root: Value) -> Result<Vec<(String, TensorRef)>> {
    let mut out = Vec::new();
    match root {
        Value::Dict(_) => walk(root, "", &mut out)?,
        Value::Tensor(_) => bail!("the file holds a single tensor, not a state_dict"),
        other => bail!("the file holds {}, not a state_dict (a dict of tensors)", other.kind()),
    }
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &out {
        if !seen.insert(name.as_str()) {
            bail!("tensor name '{name}' occurs twice");
        }
    }
    Ok(out)
}

fn walk(v: Value, prefix: &str, out: &mut Vec<(String, TensorRef)>) -> Result<()> {
    match v {
        Value::Dict(d) => {
            for (k, v) in d.items {
                let key = match k {
                    Value::Str(s) => s,
                    Value::Int(i) => i.to_string(),
                    _ => continue,
                };
                walk(v, &format!("{prefix}{key}."), out)?;
            }
        }
        Value::Tensor(t) => out.push((prefix.trim_end_matches('.').to_string(), t)),
        _ => {}
    }
    Ok(())
}

/// Gather a (possibly strided, offset) view of a storage into a row-major
/// tensor. Every index is checked against the storage before it is read.
fn materialize(name: String, r: &TensorRef, raw: &[u8], big_endian: bool) -> Result<PtTensor> {
    let kind = r.storage.kind;
    let esize = kind.size();
    let stored = (raw.len() / esize) as u64;
    if !raw.len().is_multiple_of(esize) || stored < r.storage.numel {
        bail!(
            "tensor '{name}': storage '{}' has {} bytes; {} needs {} elements of {esize} bytes",
            r.storage.key,
            raw.len(),
            kind.name(),
            r.storage.numel
        );
    }
    let numel = r.size.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let numel = numel.filter(|&n| n <= stored.max(1) && n <= u32::MAX as u64);
    let numel = numel.ok_or_else(|| {
        anyhow!(
            "tensor '{name}': shape {:?} has more elements than its storage ({stored}); save a .contiguous() copy",
            r.size
        )
    })?;
    let shape: Vec<usize> = r.size.iter().map(|&d| d as usize).collect();
    if numel > 0 {
        let last =
            r.size.iter().zip(&r.stride).try_fold(r.offset, |a, (&d, &s)| (d - 1).checked_mul(s)?.checked_add(a));
        if last.is_none_or(|l| l >= stored) {
            bail!(
                "tensor '{name}': offset {} with shape {:?} and stride {:?} reaches past its storage of {stored} elements",
                r.offset,
                r.size,
                r.stride
            );
        }
    }
    let decode: Option<fn(&[u8], bool) -> f32> = match kind {
        StorageKind::F32 => Some(|b, be| {
            let a = [b[0], b[1], b[2], b[3]];
            if be {
                f32::from_be_bytes(a)
            } else {
                f32::from_le_bytes(a)
            }
        }),
        StorageKind::F16 => Some(|b, be| {
            let a = [b[0], b[1]];
            if be { half::f16::from_be_bytes(a) } else { half::f16::from_le_bytes(a) }.to_f32()
        }),
        StorageKind::BF16 => Some(|b, be| {
            let a = [b[0], b[1]];
            if be { half::bf16::from_be_bytes(a) } else { half::bf16::from_le_bytes(a) }.to_f32()
        }),
        StorageKind::F64 => Some(|b, be| {
            let a: [u8; 8] = b[..8].try_into().expect("8 bytes");
            (if be { f64::from_be_bytes(a) } else { f64::from_le_bytes(a) }) as f32
        }),
        _ => None,
    };
    let data = decode.map(|f| {
        let mut out = Vec::with_capacity(numel as usize);
        let mut index = vec![0u64; shape.len()];
        for _ in 0..numel {
            let at = r.offset + index.iter().zip(&r.stride).map(|(i, s)| i * s).sum::<u64>();
            let at = at as usize * esize;
            out.push(f(&raw[at..at + esize], big_endian));
            // Advance the multi-index, last dimension fastest (row-major).
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < r.size[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        out
    });
    Ok(PtTensor { name, kind, shape, data })
}
