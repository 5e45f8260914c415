//! The values the strict unpickler builds: Python's plain data (None, bool,
//! int, float, str, tuple, list, dict), the few globals a state_dict names,
//! and the storages and tensor views of PyTorch's persistent ids.

use anyhow::{bail, Result};

/// Deepest nesting of tuples, lists and dicts accepted; a state_dict with
/// its `_metadata` and an optimizer state is under 8.
pub(super) const MAX_DEPTH: u16 = 64;
/// Most values (counting every element of every container) one pickle may build.
pub(super) const MAX_NODES: u64 = 8_000_000;

/// The element types of `torch.*Storage`, as the pickle names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageKind {
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageKind {
    const ALL: [(StorageKind, &'static str, usize); 10] = [
        (StorageKind::F32, "FloatStorage", 4),
        (StorageKind::F16, "HalfStorage", 2),
        (StorageKind::BF16, "BFloat16Storage", 2),
        (StorageKind::F64, "DoubleStorage", 8),
        (StorageKind::I64, "LongStorage", 8),
        (StorageKind::I32, "IntStorage", 4),
        (StorageKind::I16, "ShortStorage", 2),
        (StorageKind::I8, "CharStorage", 1),
        (StorageKind::U8, "ByteStorage", 1),
        (StorageKind::Bool, "BoolStorage", 1),
    ];

    pub(super) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n, _)| *n == name).map(|(k, _, _)| *k)
    }

    /// `torch.FloatStorage` and so on.
    pub fn name(self) -> String {
        format!("torch.{}", Self::ALL.iter().find(|(k, _, _)| *k == self).map(|(_, n, _)| *n).unwrap_or("?"))
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        Self::ALL.iter().find(|(k, _, _)| *k == self).map(|(_, _, s)| *s).unwrap_or(1)
    }
}

/// The globals a state_dict refers to; any other is refused where it appears.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage(StorageKind),
}

/// One persistent id: a storage kept outside the pickle (`data/KEY` in the
/// zip format, after the pickles in the legacy one).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    pub kind: StorageKind,
    pub key: String,
    /// Elements, as the pickle states it (checked against the data later).
    pub numel: u64,
}

/// A view into a storage, as `_rebuild_tensor_v2` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    pub storage: StorageRef,
    pub offset: u64,
    pub size: Vec<u64>,
    pub stride: Vec<u64>,
}

/// Tuples, lists and dicts carry their nesting depth and node count, so the
/// limits are checked in constant time as they grow.
#[derive(Debug, Clone, PartialEq)]
pub struct Seq<T> {
    pub items: Vec<T>,
    pub(super) depth: u16,
    pub(super) nodes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Tuple(Seq<Value>),
    List(Seq<Value>),
    Dict(Seq<(Value, Value)>),
    Global(Global),
    Storage(StorageRef),
    Tensor(TensorRef),
}

impl Value {
    pub(super) fn depth(&self) -> u16 {
        match self {
            Value::Tuple(s) | Value::List(s) => s.depth,
            Value::Dict(s) => s.depth,
            _ => 0,
        }
    }

    pub(super) fn nodes(&self) -> u64 {
        match self {
            Value::Tuple(s) | Value::List(s) => s.nodes,
            Value::Dict(s) => s.nodes,
            _ => 1,
        }
    }

    /// What the value is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dict",
            Value::Global(_) => "a global",
            Value::Storage(_) => "a storage",
            Value::Tensor(_) => "a tensor",
        }
    }
}

pub(super) fn seq(items: Vec<Value>) -> Result<Seq<Value>> {
    let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
    if depth > MAX_DEPTH {
        bail!("pickle nests deeper than {MAX_DEPTH} levels");
    }
    let nodes = 1 + items.iter().map(Value::nodes).sum::<u64>();
    Ok(Seq { items, depth, nodes })
}

pub(super) fn empty<T>() -> Seq<T> {
    Seq { items: Vec::new(), depth: 1, nodes: 1 }
}
