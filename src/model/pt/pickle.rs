//! A strict unpickler for what `torch.save(state_dict)` writes, and nothing
//! more. It is a data reader, not a virtual machine: the only callables it
//! knows are `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and
//! `torch._utils._rebuild_parameter`, and "calling" them builds a value here.
//! Any other global or opcode (`posix.system`, `builtins.eval`, INST, OBJ,
//! NEWOBJ, ...) stops the read with an error that names it; nothing in the
//! file is ever executed.
//!
//! Every limit is checked before it is trusted: lengths against the bytes
//! left, nesting against `MAX_DEPTH` (so dropping a value cannot overflow the
//! stack), and copies out of the memo against `MAX_NODES` (so a file cannot
//! double a list a few dozen times into all the memory there is).

use super::value::{empty, seq, MAX_DEPTH, MAX_NODES};
pub use super::value::{Global, Seq, StorageKind, StorageRef, TensorRef, Value};
use anyhow::{anyhow, bail, Result};
use std::collections::HashMap;

/// The pickle opcodes, under Python's names (`pickletools`), protocols 0 to 5.
/// The reader runs the ones a state_dict uses and names the others when it refuses them.
pub mod op {
    // Protocols 0 and 1.
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const POP_MARK: u8 = b'1';
    pub const DUP: u8 = b'2';
    pub const FLOAT: u8 = b'F';
    pub const INT: u8 = b'I';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const LONG: u8 = b'L';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const PERSID: u8 = b'P';
    pub const BINPERSID: u8 = b'Q';
    pub const REDUCE: u8 = b'R';
    pub const STRING: u8 = b'S';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const UNICODE: u8 = b'V';
    pub const BINUNICODE: u8 = b'X';
    pub const APPEND: u8 = b'a';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const DICT: u8 = b'd';
    pub const EMPTY_DICT: u8 = b'}';
    pub const APPENDS: u8 = b'e';
    pub const GET: u8 = b'g';
    pub const BINGET: u8 = b'h';
    pub const INST: u8 = b'i';
    pub const LONG_BINGET: u8 = b'j';
    pub const LIST: u8 = b'l';
    pub const EMPTY_LIST: u8 = b']';
    pub const OBJ: u8 = b'o';
    pub const PUT: u8 = b'p';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const SETITEM: u8 = b's';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const SETITEMS: u8 = b'u';
    pub const BINFLOAT: u8 = b'G';
    // Protocol 2.
    pub const PROTO: u8 = 0x80;
    pub const NEWOBJ: u8 = 0x81;
    pub const EXT1: u8 = 0x82;
    pub const EXT2: u8 = 0x83;
    pub const EXT4: u8 = 0x84;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const LONG4: u8 = 0x8b;
    // Protocol 3.
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    // Protocol 4.
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE8: u8 = 0x8d;
    pub const BINBYTES8: u8 = 0x8e;
    pub const EMPTY_SET: u8 = 0x8f;
    pub const ADDITEMS: u8 = 0x90;
    pub const FROZENSET: u8 = 0x91;
    pub const NEWOBJ_EX: u8 = 0x92;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
    // Protocol 5.
    pub const BYTEARRAY8: u8 = 0x96;
    pub const NEXT_BUFFER: u8 = 0x97;
    pub const READONLY_BUFFER: u8 = 0x98;

    /// Every opcode with its name.
    pub const ALL: [(u8, &str); 68] = [
        (MARK, "MARK"),
        (STOP, "STOP"),
        (POP, "POP"),
        (POP_MARK, "POP_MARK"),
        (DUP, "DUP"),
        (FLOAT, "FLOAT"),
        (INT, "INT"),
        (BININT, "BININT"),
        (BININT1, "BININT1"),
        (LONG, "LONG"),
        (BININT2, "BININT2"),
        (NONE, "NONE"),
        (PERSID, "PERSID"),
        (BINPERSID, "BINPERSID"),
        (REDUCE, "REDUCE"),
        (STRING, "STRING"),
        (BINSTRING, "BINSTRING"),
        (SHORT_BINSTRING, "SHORT_BINSTRING"),
        (UNICODE, "UNICODE"),
        (BINUNICODE, "BINUNICODE"),
        (APPEND, "APPEND"),
        (BUILD, "BUILD"),
        (GLOBAL, "GLOBAL"),
        (DICT, "DICT"),
        (EMPTY_DICT, "EMPTY_DICT"),
        (APPENDS, "APPENDS"),
        (GET, "GET"),
        (BINGET, "BINGET"),
        (INST, "INST"),
        (LONG_BINGET, "LONG_BINGET"),
        (LIST, "LIST"),
        (EMPTY_LIST, "EMPTY_LIST"),
        (OBJ, "OBJ"),
        (PUT, "PUT"),
        (BINPUT, "BINPUT"),
        (LONG_BINPUT, "LONG_BINPUT"),
        (SETITEM, "SETITEM"),
        (TUPLE, "TUPLE"),
        (EMPTY_TUPLE, "EMPTY_TUPLE"),
        (SETITEMS, "SETITEMS"),
        (BINFLOAT, "BINFLOAT"),
        (PROTO, "PROTO"),
        (NEWOBJ, "NEWOBJ"),
        (EXT1, "EXT1"),
        (EXT2, "EXT2"),
        (EXT4, "EXT4"),
        (TUPLE1, "TUPLE1"),
        (TUPLE2, "TUPLE2"),
        (TUPLE3, "TUPLE3"),
        (NEWTRUE, "NEWTRUE"),
        (NEWFALSE, "NEWFALSE"),
        (LONG1, "LONG1"),
        (LONG4, "LONG4"),
        (BINBYTES, "BINBYTES"),
        (SHORT_BINBYTES, "SHORT_BINBYTES"),
        (SHORT_BINUNICODE, "SHORT_BINUNICODE"),
        (BINUNICODE8, "BINUNICODE8"),
        (BINBYTES8, "BINBYTES8"),
        (EMPTY_SET, "EMPTY_SET"),
        (ADDITEMS, "ADDITEMS"),
        (FROZENSET, "FROZENSET"),
        (NEWOBJ_EX, "NEWOBJ_EX"),
        (STACK_GLOBAL, "STACK_GLOBAL"),
        (MEMOIZE, "MEMOIZE"),
        (FRAME, "FRAME"),
        (BYTEARRAY8, "BYTEARRAY8"),
        (NEXT_BUFFER, "NEXT_BUFFER"),
        (READONLY_BUFFER, "READONLY_BUFFER"),
    ];
}

/// Python's name for an opcode byte, for the refusal message.
fn opcode_name(code: u8) -> &'static str {
    op::ALL.iter().find(|(c, _)| *c == code).map_or("unknown", |(_, name)| name)
}

fn global(module: &str, name: &str) -> Result<Global> {
    let g = match (module, name) {
        ("collections", "OrderedDict") => Some(Global::OrderedDict),
        ("torch._utils", "_rebuild_tensor_v2") => Some(Global::RebuildTensorV2),
        ("torch._utils", "_rebuild_parameter") => Some(Global::RebuildParameter),
        ("torch", n) => StorageKind::from_name(n).map(Global::Storage),
        _ => None,
    };
    g.ok_or_else(|| {
        let shown: String = format!("{module}.{name}").chars().take(80).flat_map(char::escape_debug).collect();
        let hint = if module == "__main__" || module.starts_with("torch.nn") {
            " (a whole module was saved: save model.state_dict() instead)"
        } else {
            ""
        };
        anyhow!(
            "refused: the pickle calls '{shown}', which a state_dict never does{hint}; only tensors, storages and \
             OrderedDict are read, and nothing in the file was run"
        )
    })
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    budget: u64,
}

/// Read one pickle from the start of `bytes`: the value and the number of
/// bytes it took (the legacy format has several pickles in a row).
pub fn unpickle(bytes: &[u8]) -> Result<(Value, usize)> {
    let mut m = Machine { bytes, pos: 0, stack: Vec::new(), marks: Vec::new(), memo: HashMap::new(), budget: 0 };
    let v = m.run()?;
    Ok((v, m.pos))
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| anyhow!("pickle ends early (byte {} needs {n} more)", self.pos))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<String> {
        let rest = &self.bytes[self.pos..];
        let n =
            rest.iter().take(256).position(|&b| b == b'\n').ok_or_else(|| anyhow!("GLOBAL name is not terminated"))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| anyhow!("GLOBAL name is not UTF-8"))?.to_string();
        self.pos += n + 1;
        Ok(s)
    }

    fn string(&mut self, n: usize) -> Result<Value> {
        let at = self.pos;
        let b = self.take(n)?;
        let s = std::str::from_utf8(b).map_err(|_| anyhow!("string at byte {at} is not UTF-8"))?;
        Ok(Value::Str(s.to_string()))
    }

    fn pop(&mut self) -> Result<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            bail!("pickle stack underflow at byte {}", self.pos);
        }
        Ok(self.stack.pop().expect("checked above"))
    }

    fn top(&mut self) -> Result<&mut Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            bail!("pickle stack underflow at byte {}", self.pos);
        }
        Ok(self.stack.last_mut().expect("checked above"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let m = self.marks.pop().ok_or_else(|| anyhow!("pickle has no MARK before byte {}", self.pos))?;
        Ok(self.stack.split_off(m))
    }

    fn charge(&mut self, nodes: u64) -> Result<()> {
        self.budget += nodes;
        if self.budget > MAX_NODES {
            bail!("pickle builds more than {MAX_NODES} values; not a state_dict");
        }
        Ok(())
    }

    fn memo_put(&mut self, key: u32) -> Result<()> {
        let v = self.top()?.clone();
        self.charge(v.nodes())?;
        self.memo.insert(key, v);
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Result<()> {
        let v = self.memo.get(&key).cloned().ok_or_else(|| anyhow!("pickle refers to memo {key}, never stored"))?;
        self.charge(v.nodes())?;
        self.stack.push(v);
        Ok(())
    }

    fn push_tuple(&mut self, items: Vec<Value>) -> Result<()> {
        self.charge(1)?;
        self.stack.push(Value::Tuple(seq(items)?));
        Ok(())
    }

    fn extend_list(&mut self, items: Vec<Value>) -> Result<()> {
        let at = self.pos;
        match self.top()? {
            Value::List(s) => {
                let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
                if depth > MAX_DEPTH {
                    bail!("pickle nests deeper than {MAX_DEPTH} levels");
                }
                s.depth = s.depth.max(depth);
                s.nodes += items.iter().map(Value::nodes).sum::<u64>();
                s.items.extend(items);
                Ok(())
            }
            other => bail!("APPENDS at byte {at} on {}, not a list", other.kind()),
        }
    }

    fn set_items(&mut self, items: Vec<Value>) -> Result<()> {
        let at = self.pos;
        if !items.len().is_multiple_of(2) {
            bail!("SETITEMS at byte {at} has an odd number of items");
        }
        match self.top()? {
            Value::Dict(s) => {
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    let depth = 1 + k.depth().max(v.depth());
                    if depth > MAX_DEPTH {
                        bail!("pickle nests deeper than {MAX_DEPTH} levels");
                    }
                    s.depth = s.depth.max(depth);
                    s.nodes += k.nodes() + v.nodes();
                    // A later value for the same key replaces the earlier one, as in Python.
                    if let Some(slot) = s.items.iter_mut().find(|(old, _)| *old == k) {
                        slot.1 = v;
                    } else {
                        s.items.push((k, v));
                    }
                }
                Ok(())
            }
            other => bail!("SETITEMS at byte {at} on {}, not a dict", other.kind()),
        }
    }

    fn run(&mut self) -> Result<Value> {
        loop {
            let at = self.pos;
            let code = self.u8()?;
            match code {
                op::PROTO => {
                    let v = self.u8()?;
                    if !(2..=5).contains(&v) {
                        bail!("pickle protocol {v} at byte {at}; torch.save writes 2 to 5");
                    }
                }
                op::FRAME => {
                    self.take(8)?;
                }
                op::STOP => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                op::MARK => self.marks.push(self.stack.len()),
                op::EMPTY_DICT => self.stack.push(Value::Dict(empty())),
                op::EMPTY_LIST => self.stack.push(Value::List(empty())),
                op::EMPTY_TUPLE => self.stack.push(Value::Tuple(empty())),
                op::NONE => self.stack.push(Value::None),
                op::NEWTRUE => self.stack.push(Value::Bool(true)),
                op::NEWFALSE => self.stack.push(Value::Bool(false)),
                op::BININT1 => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v.into()));
                }
                op::BININT2 => {
                    let b = self.take(2)?;
                    let v = u16::from_le_bytes([b[0], b[1]]);
                    self.stack.push(Value::Int(v.into()));
                }
                op::BININT => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(v.into()));
                }
                op::LONG1 => {
                    let n = self.u8()? as usize;
                    if n > 16 {
                        bail!("LONG1 at byte {at} has {n} bytes; too large for a state_dict");
                    }
                    let b = self.take(n)?;
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) { [0xff; 16] } else { [0; 16] };
                    buf[..n].copy_from_slice(b);
                    self.stack.push(Value::Int(i128::from_le_bytes(buf)));
                }
                op::BINFLOAT => {
                    let b = self.take(8)?;
                    let v = f64::from_be_bytes(b.try_into().expect("8 bytes"));
                    self.stack.push(Value::Float(v));
                }
                op::BINUNICODE => {
                    let n = self.u32()? as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                op::SHORT_BINUNICODE => {
                    let n = self.u8()? as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                op::BINPUT => {
                    let k = self.u8()?;
                    self.memo_put(k.into())?;
                }
                op::LONG_BINPUT => {
                    let k = self.u32()?;
                    self.memo_put(k)?;
                }
                op::MEMOIZE => {
                    let k = u32::try_from(self.memo.len()).map_err(|_| anyhow!("pickle memo overflow"))?;
                    self.memo_put(k)?;
                }
                op::BINGET => {
                    let k = self.u8()?;
                    self.memo_get(k.into())?;
                }
                op::LONG_BINGET => {
                    let k = self.u32()?;
                    self.memo_get(k)?;
                }
                op::TUPLE => {
                    let items = self.pop_mark()?;
                    self.push_tuple(items)?;
                }
                op::TUPLE1..=op::TUPLE3 => {
                    let n = (code - op::TUPLE1 + 1) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push_tuple(items)?;
                }
                op::LIST => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(empty()));
                    self.extend_list(items)?;
                }
                op::DICT => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Dict(empty()));
                    self.set_items(items)?;
                }
                op::APPEND => {
                    let v = self.pop()?;
                    self.extend_list(vec![v])?;
                }
                op::APPENDS => {
                    let items = self.pop_mark()?;
                    self.extend_list(items)?;
                }
                op::SETITEM => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                op::SETITEMS => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                op::GLOBAL => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(global(&module, &name)?));
                }
                op::STACK_GLOBAL => {
                    let (name, module) = (self.pop()?, self.pop()?);
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.stack.push(Value::Global(global(&m, &n)?)),
                        _ => bail!("STACK_GLOBAL at byte {at} without two strings"),
                    }
                }
                op::BINPERSID => {
                    let pid = self.pop()?;
                    let storage = persistent_storage(pid).map_err(|e| anyhow!("persistent id at byte {at}: {e}"))?;
                    self.stack.push(Value::Storage(storage));
                }
                op::REDUCE => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = reduce(callable, args).map_err(|e| anyhow!("REDUCE at byte {at}: {e}"))?;
                    self.charge(v.nodes())?;
                    self.stack.push(v);
                }
                op::BUILD => {
                    // OrderedDict's state (the state_dict's `_metadata` attribute) is
                    // read and dropped: it holds module versions, not weights.
                    let state = self.pop()?;
                    let target = self.top()?;
                    if !matches!(target, Value::Dict(_)) || !matches!(state, Value::Dict(_) | Value::None) {
                        bail!("BUILD at byte {at} on {} with {}; only an OrderedDict's attributes are read", target.kind(), state.kind());
                    }
                }
                other => bail!(
                    "refused: pickle opcode {} (0x{other:02x}) at byte {at}, which a state_dict never uses; nothing in the file was run",
                    opcode_name(other)
                ),
            }
        }
    }
}

fn int(v: &Value, what: &str) -> Result<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).map_err(|_| anyhow!("{what} is {i}; expected 0 or more")),
        other => bail!("{what} is {}; expected an int", other.kind()),
    }
}

fn ints(v: &Value, what: &str) -> Result<Vec<u64>> {
    match v {
        Value::Tuple(s) => s.items.iter().map(|x| int(x, what)).collect(),
        other => bail!("{what} is {}; expected a tuple of ints", other.kind()),
    }
}

/// `('storage', torch.XStorage, key, location, numel)` (the legacy format adds
/// a sixth entry, the view metadata, always None for what it wrote since 0.4).
fn persistent_storage(pid: Value) -> Result<StorageRef> {
    let items = match pid {
        Value::Tuple(s) => s.items,
        other => bail!("is {}; expected ('storage', type, key, location, size)", other.kind()),
    };
    if !(items.len() == 5 || items.len() == 6 && items[5] == Value::None) {
        bail!("has {} entries; expected ('storage', type, key, location, size)", items.len());
    }
    if items[0] != Value::Str("storage".into()) {
        bail!("does not start with 'storage'");
    }
    let kind = match &items[1] {
        Value::Global(Global::Storage(k)) => *k,
        other => bail!("storage type is {}; expected torch.FloatStorage or another storage type", other.kind()),
    };
    let key = match &items[2] {
        Value::Str(s) if !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()) => s.clone(),
        _ => bail!("storage key is not a short alphanumeric string"),
    };
    if !matches!(items[3], Value::Str(_)) {
        bail!("storage location is not a string");
    }
    Ok(StorageRef { kind, key, numel: int(&items[4], "storage size")? })
}

fn reduce(callable: Value, args: Value) -> Result<Value> {
    let args = match args {
        Value::Tuple(s) => s.items,
        other => bail!("arguments are {}; expected a tuple", other.kind()),
    };
    match callable {
        Value::Global(Global::OrderedDict) if args.is_empty() => Ok(Value::Dict(empty())),
        Value::Global(Global::OrderedDict) => bail!("OrderedDict with arguments; torch.save writes OrderedDict()"),
        Value::Global(Global::RebuildTensorV2) => {
            if !(6..=7).contains(&args.len()) {
                bail!("_rebuild_tensor_v2 with {} arguments; expected 6 or 7", args.len());
            }
            let storage = match &args[0] {
                Value::Storage(s) => s.clone(),
                other => bail!("_rebuild_tensor_v2 on {}; expected a storage", other.kind()),
            };
            let offset = int(&args[1], "storage offset")?;
            let size = ints(&args[2], "tensor size")?;
            let stride = ints(&args[3], "tensor stride")?;
            if size.len() != stride.len() {
                bail!("tensor size {size:?} and stride {stride:?} differ in length");
            }
            Ok(Value::Tensor(TensorRef { storage, offset, size, stride }))
        }
        Value::Global(Global::RebuildParameter) => match args.into_iter().next() {
            Some(t @ Value::Tensor(_)) => Ok(t),
            _ => bail!("_rebuild_parameter without a tensor"),
        },
        other => bail!("calls {}, which is not a function a state_dict uses", other.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_dict_and_refuses_other_globals() {
        // {'a': 1, 'b': [True, None, 2.5]} at protocol 2.
        let p =
            b"\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00b]q\x01(\x88NG@\x04\x00\x00\x00\x00\x00\x00eu.";
        let (v, used) = unpickle(p).unwrap();
        assert_eq!(used, p.len());
        let Value::Dict(d) = v else { panic!("not a dict") };
        assert_eq!(d.items.len(), 2);
        assert_eq!(d.items[0], (Value::Str("a".into()), Value::Int(1)));
        let err = unpickle(b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00lsR.").unwrap_err().to_string();
        assert!(err.contains("'posix.system'"), "{err}");
        let err = unpickle(b"\x80\x02(i__main__\nX\n.").unwrap_err().to_string();
        assert!(err.contains("INST"), "{err}");
    }

    #[test]
    fn deep_nesting_and_memo_doubling_are_refused() {
        let mut deep = b"\x80\x02)".to_vec();
        deep.extend(std::iter::repeat_n(0x85u8, 100_000));
        deep.push(b'.');
        assert!(unpickle(&deep).unwrap_err().to_string().contains("deeper"));
        // l = []; then 40 times: l = [l, l] via the memo.
        let mut dbl = b"\x80\x02]q\x00".to_vec();
        for _ in 0..40 {
            dbl.extend_from_slice(b"h\x00h\x00\x86q\x00");
        }
        dbl.push(b'.');
        let err = unpickle(&dbl).unwrap_err().to_string();
        assert!(err.contains("more than") || err.contains("deeper"), "{err}");
    }

    #[test]
    fn long1_reads_the_legacy_magic_number() {
        let p = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.";
        assert_eq!(unpickle(p).unwrap().0, Value::Int(0x1950a86a20f9469cfc6c));
    }
}
