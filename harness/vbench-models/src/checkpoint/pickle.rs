//! A small pickle virtual machine for the `data.pkl` that `torch.save` writes.
//!
//! Nothing is ever executed: a global is just its name, the handful of functions that rebuild
//! tensors and dicts are interpreted, and any other call or instantiation yields an opaque object
//! (checkpoints carry optimizer states and configs we do not need, and must still load).
//! Containers live in an arena and values point at them by index, so hostile pickles (cycles, a
//! million nested lists) can neither overflow the stack on drop nor leak.

use std::collections::HashMap;
use std::rc::Rc;

use tch::Kind;

/// One pickled value. Containers are indices into [`Pickle::nodes`].
#[derive(Debug, Clone)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in i64; never part of a tensor's geometry.
    BigInt,
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(usize),
    List(usize),
    Dict(usize),
    Set(usize),
    Global(Rc<Global>),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
    /// An instance of a class we do not interpret (its items, if any, are kept in the node).
    Object(Rc<str>, usize),
}

#[derive(Debug)]
pub(crate) struct Global {
    pub module: String,
    pub name: String,
}

/// What a persistent id `('storage', torch.XStorage, key, location, numel)` names.
#[derive(Debug)]
pub(crate) struct StorageRef {
    pub key: String,
    pub dtype: StorageDtype,
    /// Elements of the storage's dtype, or bytes for an untyped storage.
    pub numel: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StorageDtype {
    Typed(Kind),
    /// `torch.UntypedStorage` (bytes): the dtype comes from `_rebuild_tensor_v3`.
    Untyped,
    /// A storage class tch has no kind for (quantized ones); kept to name it in the error.
    Unsupported(String),
}

/// A tensor view into a storage, resolved later against the archive's `data/<key>` members.
#[derive(Debug)]
pub(crate) struct TensorRef {
    pub storage: Rc<StorageRef>,
    /// `Err(dtype name)` when tch cannot represent the dtype.
    pub kind: Result<Kind, String>,
    pub offset: i64,
    pub size: Vec<i64>,
    pub stride: Vec<i64>,
}

/// Sequence items and mapping entries of one container (tuple, list, set, dict or object).
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub items: Vec<Value>,
    pub entries: Vec<(Value, Value)>,
    index: HashMap<HKey, usize>,
}

/// Hashable dict keys, so a repeated key replaces its value as in Python.
#[derive(Debug, Hash, PartialEq, Eq)]
enum HKey {
    Str(Rc<str>),
    Int(i64),
    None,
}

#[derive(Debug)]
pub(crate) struct Pickle {
    pub nodes: Vec<Node>,
    pub root: Value,
}

#[derive(Debug, PartialEq)]
pub(crate) enum PickleErrorKind {
    Unsupported(u8),
    Malformed(String),
}

/// `offset` is the byte offset of the opcode that failed.
#[derive(Debug, PartialEq)]
pub(crate) struct PickleError {
    pub offset: usize,
    pub kind: PickleErrorKind,
}

impl Pickle {
    /// The entries of a dict (plain, `OrderedDict`, `defaultdict`), or `None` for anything else.
    pub fn dict(&self, v: &Value) -> Option<&[(Value, Value)]> {
        match v {
            Value::Dict(id) => Some(&self.nodes[*id].entries),
            _ => None,
        }
    }

    /// A short, non-recursive description of a value for error messages.
    pub fn describe(&self, v: &Value) -> String {
        describe(&self.nodes, v)
    }
}

/// Runs the pickle in `data` to its STOP opcode.
pub(crate) fn parse(data: &[u8]) -> Result<Pickle, PickleError> {
    let mut vm = Vm {
        data,
        pos: 0,
        op_pos: 0,
        stack: vec![],
        marks: vec![],
        memo: HashMap::new(),
        nodes: vec![],
    };
    let root = vm.run()?;
    Ok(Pickle {
        nodes: vm.nodes,
        root,
    })
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    op_pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
    nodes: Vec<Node>,
}

type R<T> = Result<T, PickleError>;

impl<'a> Vm<'a> {
    fn run(&mut self) -> R<Value> {
        loop {
            self.op_pos = self.pos;
            let op = self
                .u8()
                .map_err(|_| self.bad("the pickle ends without a STOP opcode"))?;
            match op {
                0x80 => {
                    // PROTO
                    if self.u8()? > 5 {
                        return Err(self.bad("pickle protocol above 5"));
                    }
                }
                0x95 => drop(self.take(8)?), // FRAME: framing is only a read-ahead hint
                b'.' => return self.pop(),   // STOP
                b'(' => self.marks.push(self.stack.len()),
                b'0' => drop(self.pop()?),
                b'1' => drop(self.pop_mark()?),
                b'2' => {
                    let top = self.top()?.clone();
                    self.stack.push(top);
                }
                b'}' => self.push_node(Value::Dict, Node::default()),
                b']' => self.push_node(Value::List, Node::default()),
                b')' => self.push_node(Value::Tuple, Node::default()),
                0x8f => self.push_node(Value::Set, Node::default()),
                b'd' => {
                    let items = self.pop_mark()?;
                    let id = self.new_node(Node::default());
                    self.set_items(id, items)?;
                    self.stack.push(Value::Dict(id));
                }
                b'l' | b't' | 0x91 => {
                    let items = self.pop_mark()?;
                    let wrap = match op {
                        b'l' => Value::List,
                        b't' => Value::Tuple,
                        _ => Value::Set,
                    };
                    self.push_node(
                        wrap,
                        Node {
                            items,
                            ..Node::default()
                        },
                    );
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n + self.marks.last().copied().unwrap_or(0) {
                        return Err(self.bad("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push_node(
                        Value::Tuple,
                        Node {
                            items,
                            ..Node::default()
                        },
                    );
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let id = self.container(true)?;
                    self.set_items(id, vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let id = self.container(true)?;
                    self.set_items(id, items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    let id = self.container(false)?;
                    self.nodes[id].items.push(v);
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    let id = self.container(false)?;
                    self.nodes[id].items.extend(items);
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.stack.push(Value::Int(v.into()));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.stack.push(Value::Int(v.into()));
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        u64::from(self.u8()?)
                    } else {
                        u32::from_le_bytes(self.array()?).into()
                    };
                    let bytes = self.take(n)?;
                    self.stack.push(long_from_le(bytes));
                }
                b'I' | b'L' => {
                    let line = self.line()?;
                    let text = line.strip_suffix('L').unwrap_or(&line);
                    let v = match text {
                        "00" if op == b'I' => Value::Bool(false),
                        "01" if op == b'I' => Value::Bool(true),
                        t => match t.parse::<i64>() {
                            Ok(i) => Value::Int(i),
                            Err(_) if t.parse::<i128>().is_ok() => Value::BigInt,
                            Err(_) => return Err(self.bad(format!("bad integer literal {t:?}"))),
                        },
                    };
                    self.stack.push(v);
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'G' => {
                    let v = f64::from_be_bytes(self.array()?);
                    self.stack.push(Value::Float(v));
                }
                b'F' => {
                    let line = self.line()?;
                    let v = line
                        .parse::<f64>()
                        .map_err(|_| self.bad(format!("bad float literal {line:?}")))?;
                    self.stack.push(Value::Float(v));
                }
                // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8; BINSTRING, SHORT_BINSTRING (Python 2
                // str, decoded as UTF-8 like torch.load's default encoding).
                b'X' | 0x8c | 0x8d | b'T' | b'U' => {
                    let n = match op {
                        b'X' => u32::from_le_bytes(self.array()?).into(),
                        0x8d => u64::from_le_bytes(self.array()?),
                        b'T' => u64::try_from(i32::from_le_bytes(self.array()?))
                            .map_err(|_| self.bad("negative string length"))?,
                        _ => self.u8()?.into(),
                    };
                    let bytes = self.take(n)?;
                    let s = std::str::from_utf8(bytes)
                        .map_err(|_| self.bad("string is not valid UTF-8"))?;
                    self.stack.push(Value::Str(s.into()));
                }
                // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
                b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'B' => u32::from_le_bytes(self.array()?).into(),
                        b'C' => self.u8()?.into(),
                        _ => u64::from_le_bytes(self.array()?),
                    };
                    let bytes = self.take(n)?;
                    self.stack.push(Value::Bytes(bytes.into()));
                }
                b'p' | b'q' | b'r' | 0x94 => {
                    let idx = match op {
                        b'p' => self.line_index()?,
                        b'q' => self.u8()?.into(),
                        b'r' => u32::from_le_bytes(self.array()?).into(),
                        _ => self.memo.len() as u64,
                    };
                    let top = self.top()?.clone();
                    self.memo.insert(idx, top);
                }
                b'g' | b'h' | b'j' => {
                    let idx = match op {
                        b'g' => self.line_index()?,
                        b'h' => self.u8()?.into(),
                        _ => u32::from_le_bytes(self.array()?).into(),
                    };
                    let v = self
                        .memo
                        .get(&idx)
                        .cloned()
                        .ok_or_else(|| self.bad(format!("memo {idx} is unset")))?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack
                        .push(Value::Global(Rc::new(Global { module, name })));
                }
                0x93 => {
                    let name = self.pop_str()?;
                    let module = self.pop_str()?;
                    self.stack
                        .push(Value::Global(Rc::new(Global { module, name })));
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let args = self.tuple_items(&args, "REDUCE arguments")?;
                    let v = self.call(&f, &args, true)?;
                    self.stack.push(v);
                }
                0x81 | 0x92 => {
                    // NEWOBJ / NEWOBJ_EX: cls.__new__(cls, *args[, **kwargs])
                    if op == 0x92 {
                        self.pop()?;
                    }
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let args = self.tuple_items(&args, "NEWOBJ arguments")?;
                    let v = self.call(&cls, &args, true)?;
                    self.stack.push(v);
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(self.bad("OBJ without a class"));
                    }
                    let cls = items.remove(0);
                    let v = self.call(&cls, &items, true)?;
                    self.stack.push(v);
                }
                b'i' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let items = self.pop_mark()?;
                    let cls = Value::Global(Rc::new(Global { module, name }));
                    let v = self.call(&cls, &items, true)?;
                    self.stack.push(v);
                }
                b'b' => {
                    // BUILD sets attributes (OrderedDict `_metadata`, object `__dict__`): unused here.
                    self.pop()?;
                    self.top()?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = self.persistent_load(&pid)?;
                    self.stack.push(v);
                }
                other => {
                    return Err(PickleError {
                        offset: self.op_pos,
                        kind: PickleErrorKind::Unsupported(other),
                    })
                }
            }
        }
    }

    fn bad(&self, msg: impl Into<String>) -> PickleError {
        PickleError {
            offset: self.op_pos,
            kind: PickleErrorKind::Malformed(msg.into()),
        }
    }

    fn take(&mut self, n: u64) -> R<&'a [u8]> {
        let data = self.data;
        let left = data.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n <= left => {
                let s = &data[self.pos..self.pos + n];
                self.pos += n;
                Ok(s)
            }
            _ => Err(self.bad(format!("needs {n} more bytes, the pickle has {left}"))),
        }
    }

    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> R<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64)?);
        Ok(out)
    }

    /// A newline-terminated ASCII argument of the text opcodes.
    fn line(&mut self) -> R<String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.bad("unterminated text argument"))?;
        let s = std::str::from_utf8(&rest[..n])
            .map_err(|_| self.bad("text argument is not UTF-8"))?
            .to_owned();
        self.pos += n + 1;
        Ok(s)
    }

    fn line_index(&mut self) -> R<u64> {
        let line = self.line()?;
        line.parse()
            .map_err(|_| self.bad(format!("bad memo index {line:?}")))
    }

    fn pop(&mut self) -> R<Value> {
        if self.stack.len() <= self.marks.last().copied().unwrap_or(0) {
            return Err(self.bad("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| self.bad("stack underflow"))
    }

    fn top(&self) -> R<&Value> {
        if self.stack.len() <= self.marks.last().copied().unwrap_or(0) {
            return Err(self.bad("stack underflow"));
        }
        self.stack.last().ok_or_else(|| self.bad("stack underflow"))
    }

    fn pop_mark(&mut self) -> R<Vec<Value>> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.bad("no MARK on the stack"))?;
        Ok(self.stack.split_off(m.min(self.stack.len())))
    }

    fn pop_str(&mut self) -> R<String> {
        match self.pop()? {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(self.bad(format!(
                "STACK_GLOBAL needs strings, got {}",
                self.describe(&other)
            ))),
        }
    }

    fn new_node(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn push_node(&mut self, wrap: fn(usize) -> Value, node: Node) {
        let id = self.new_node(node);
        self.stack.push(wrap(id));
    }

    /// The node of the container on top of the stack that SETITEM(S) (`map`) or APPEND(S) mutate.
    fn container(&self, map: bool) -> R<usize> {
        match (self.top()?, map) {
            (Value::Dict(id) | Value::Object(_, id), true) => Ok(*id),
            (Value::List(id) | Value::Set(id) | Value::Object(_, id), false) => Ok(*id),
            (other, _) => {
                let what = if map { "SETITEM" } else { "APPEND" };
                Err(self.bad(format!("{what} on {}", self.describe(other))))
            }
        }
    }

    fn set_items(&mut self, id: usize, items: Vec<Value>) -> R<()> {
        let mut it = items.into_iter();
        while let Some(k) = it.next() {
            let Some(v) = it.next() else {
                return Err(self.bad("odd number of dict items"));
            };
            let node = &mut self.nodes[id];
            let hk = match &k {
                Value::Str(s) => Some(HKey::Str(s.clone())),
                Value::Int(i) => Some(HKey::Int(*i)),
                Value::Bool(b) => Some(HKey::Int(i64::from(*b))),
                Value::None => Some(HKey::None),
                _ => None,
            };
            match hk.as_ref().and_then(|h| node.index.get(h)) {
                Some(&at) => node.entries[at].1 = v,
                None => {
                    if let Some(h) = hk {
                        node.index.insert(h, node.entries.len());
                    }
                    node.entries.push((k, v));
                }
            }
        }
        Ok(())
    }

    fn describe(&self, v: &Value) -> String {
        describe(&self.nodes, v)
    }

    fn tuple_items(&self, v: &Value, what: &str) -> R<Vec<Value>> {
        match v {
            Value::Tuple(id) => Ok(self.nodes[*id].items.clone()),
            other => Err(self.bad(format!("{what} are {}, not a tuple", self.describe(other)))),
        }
    }

    fn int(&self, v: &Value, what: &str) -> R<i64> {
        match v {
            Value::Int(i) if *i >= 0 => Ok(*i),
            other => Err(self.bad(format!(
                "{what} is {}, not a non-negative int",
                self.describe(other)
            ))),
        }
    }

    fn ints(&self, v: &Value, what: &str) -> R<Vec<i64>> {
        match v {
            Value::Tuple(id) | Value::List(id) => self.nodes[*id]
                .items
                .iter()
                .map(|x| self.int(x, what))
                .collect(),
            other => Err(self.bad(format!(
                "{what} is {}, not a tuple of ints",
                self.describe(other)
            ))),
        }
    }
}

/// A short, non-recursive description of a value for error messages.
fn describe(nodes: &[Node], v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Int(i) => format!("int {i}"),
        Value::BigInt => "a big int".into(),
        Value::Float(f) => format!("float {f}"),
        Value::Str(s) if s.chars().count() > 40 => {
            format!("str {:?}...", s.chars().take(40).collect::<String>())
        }
        Value::Str(s) => format!("str {s:?}"),
        Value::Bytes(b) => format!("bytes ({} long)", b.len()),
        Value::Tuple(id) => format!("tuple of {}", nodes[*id].items.len()),
        Value::List(id) => format!("list of {}", nodes[*id].items.len()),
        Value::Set(id) => format!("set of {}", nodes[*id].items.len()),
        Value::Dict(id) => format!("dict of {} entries", nodes[*id].entries.len()),
        Value::Global(g) => format!("global {}.{}", g.module, g.name),
        Value::Storage(_) => "a bare storage".into(),
        Value::Tensor(_) => "tensor".into(),
        Value::Object(class, _) => format!("object of class {class}"),
    }
}

/// LONG1/LONG4 payload: little-endian two's complement.
fn long_from_le(bytes: &[u8]) -> Value {
    if bytes.len() > 8 {
        return Value::BigInt;
    }
    let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
        0xff
    } else {
        0
    };
    let mut buf = [fill; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    Value::Int(i64::from_le_bytes(buf))
}

mod torch_calls;

#[cfg(test)]
pub(crate) mod tests;
