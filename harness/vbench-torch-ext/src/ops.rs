//! One op a forward ran, as FLOP formulas need it: its name, arguments and results. The capture
//! (`capture.rs`) makes these from the shim's records; the FLOP handles (`flops.rs`, `einsum.rs`)
//! read them.

/// One argument or result of an op, as much of it as FLOP formulas need.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A defined tensor: its shape and dtype (`Float`, `BFloat16`, ...).
    Tensor {
        shape: Vec<i64>,
        dtype: String,
    },
    /// `None`, or an undefined tensor (a missing optional weight).
    None,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    IntList(Vec<i64>),
    /// Shapes of a tensor list; `None` for a `None` element (`aten::index`'s indices).
    TensorList(Vec<Option<Vec<i64>>>),
    /// Anything else (device, generic list, object): its kind only.
    Other(String),
}

impl Arg {
    pub fn shape(&self) -> Option<&[i64]> {
        match self {
            Arg::Tensor { shape, .. } => Some(shape),
            _ => None,
        }
    }
}

/// One graph node the interpreter ran, as fvcore sees nodes of a traced graph: a top-level
/// dispatcher op with its arguments and results, or an interpreter-only op (`aten::Int`,
/// `aten::size`, `prim::NumToTensor`, ...) by name only. What either called internally
/// (`aten::linear` → `aten::addmm`, `aten::Int` → `aten::item`) is not a separate record.
#[derive(Debug, Clone, PartialEq)]
pub struct OpRecord {
    /// Qualified name without overload: `aten::_convolution`.
    pub name: String,
    /// An operator of the TorchScript interpreter, not of the dispatcher: `inputs` and `outputs`
    /// are empty (no fvcore handle needs one).
    pub interpreter: bool,
    /// The schema's arguments, in order, defaults filled in.
    pub inputs: Vec<Arg>,
    pub outputs: Vec<Arg>,
}
