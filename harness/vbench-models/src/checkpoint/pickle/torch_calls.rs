//! What the pickle VM makes of calls: the torch and collections functions that rebuild a
//! checkpoint's tensors and dicts are interpreted; anything else becomes an opaque object.

use std::rc::Rc;

use tch::Kind;

use super::{Global, Node, StorageDtype, StorageRef, TensorRef, Value, Vm, R};

impl Vm<'_> {
    /// Interprets a call of `f` (REDUCE, NEWOBJ, OBJ, INST). `nest` allows one level of
    /// `_rebuild_from_type_v2` indirection and no more, so recursion stays bounded.
    pub(super) fn call(&mut self, f: &Value, args: &[Value], nest: bool) -> R<Value> {
        let g = match f {
            Value::Global(g) => g.clone(),
            other => {
                return Err(self.bad(format!(
                    "calling {}, which is not a class or function",
                    self.describe(other)
                )))
            }
        };
        let tensor_fn = |n: &str| g.module == "torch._utils" && g.name == n;
        match (g.module.as_str(), g.name.as_str()) {
            ("collections", "OrderedDict" | "defaultdict")
            | ("builtins" | "__builtin__", "dict") => {
                let id = self.new_node(Node::default());
                // OrderedDict([(k, v), ...]); defaultdict's argument is its factory, not items.
                if g.name != "defaultdict" {
                    if let Some(Value::List(l) | Value::Tuple(l)) = args.first() {
                        let mut items = Vec::new();
                        for pair in self.nodes[*l].items.clone() {
                            match pair {
                                Value::Tuple(p) if self.nodes[p].items.len() == 2 => {
                                    items.extend(self.nodes[p].items.iter().cloned())
                                }
                                _ => {
                                    return Err(
                                        self.bad("dict(...) argument is not a sequence of pairs")
                                    )
                                }
                            }
                        }
                        self.set_items(id, items)?;
                    }
                }
                Ok(Value::Dict(id))
            }
            _ if tensor_fn("_rebuild_tensor") => self.rebuild_tensor(args, 4, false),
            _ if tensor_fn("_rebuild_tensor_v2") => self.rebuild_tensor(args, 6, false),
            _ if tensor_fn("_rebuild_tensor_v3") => self.rebuild_tensor(args, 7, true),
            _ if tensor_fn("_rebuild_parameter") || tensor_fn("_rebuild_parameter_with_state") => {
                match args.first() {
                    Some(t @ Value::Tensor(_)) => Ok(t.clone()),
                    _ => Ok(self.object(&g)),
                }
            }
            ("torch._tensor", "_rebuild_from_type_v2") if nest && args.len() == 4 => {
                // Tensor subclasses: (func, type, args, state); the data is func(*args).
                let inner = self.tuple_items(&args[2], "_rebuild_from_type_v2 arguments")?;
                self.call(&args[0], &inner, false)
            }
            ("torch", "Size") => match args.first() {
                Some(t @ Value::Tuple(_)) => Ok(t.clone()),
                _ => Ok(self.object(&g)),
            },
            _ => Ok(self.object(&g)),
        }
    }

    pub(super) fn object(&mut self, g: &Global) -> Value {
        let module = if g.module == "__builtin__" {
            "builtins"
        } else {
            g.module.as_str()
        };
        let id = self.new_node(Node::default());
        Value::Object(format!("{module}.{}", g.name).into(), id)
    }

    /// `_rebuild_tensor(storage, offset, size, stride)`, `_v2(..., requires_grad, hooks[, metadata])`
    /// and `_v3(..., requires_grad, hooks, dtype[, metadata])`.
    pub(super) fn rebuild_tensor(&mut self, args: &[Value], nargs: usize, v3: bool) -> R<Value> {
        if args.len() != nargs && !(nargs > 4 && args.len() == nargs + 1) {
            return Err(self.bad(format!(
                "tensor rebuild takes {nargs} arguments, got {}",
                args.len()
            )));
        }
        let storage = match &args[0] {
            Value::Storage(s) => s.clone(),
            other => {
                return Err(self.bad(format!(
                    "tensor rebuild from {}, not a storage",
                    self.describe(other)
                )))
            }
        };
        let offset = self.int(&args[1], "storage offset")?;
        let size = self.ints(&args[2], "tensor size")?;
        let stride = self.ints(&args[3], "tensor stride")?;
        if size.len() != stride.len() {
            return Err(self.bad(format!(
                "size has {} dims but stride {}",
                size.len(),
                stride.len()
            )));
        }
        let kind = match (&storage.dtype, v3) {
            (StorageDtype::Typed(k), _) => Ok(*k),
            (StorageDtype::Unsupported(name), _) => Err(name.clone()),
            (StorageDtype::Untyped, true) => match &args[6] {
                Value::Global(d) if d.module == "torch" => {
                    kind_of_dtype(&d.name).ok_or(format!("torch.{}", d.name))
                }
                other => return Err(self.bad(format!("tensor dtype is {}", self.describe(other)))),
            },
            (StorageDtype::Untyped, false) => Err("an untyped storage without a dtype".into()),
        };
        // Conjugate/negative bits (metadata) would change the values: refuse them as non-tensors.
        if let Some(Value::Dict(m)) = args.get(nargs) {
            if self.nodes[*m]
                .entries
                .iter()
                .any(|(_, v)| matches!(v, Value::Bool(true)))
            {
                return Ok(self.object(&Global {
                    module: "torch".into(),
                    name: "Tensor with conj/neg bit".into(),
                }));
            }
        }
        Ok(Value::Tensor(Rc::new(TensorRef {
            storage,
            kind,
            offset,
            size,
            stride,
        })))
    }

    /// torch.save's persistent ids: `('storage', storage_type, key, location, numel)`.
    pub(super) fn persistent_load(&mut self, pid: &Value) -> R<Value> {
        let items = match pid {
            Value::Tuple(id) => self.nodes[*id].items.clone(),
            _ => vec![],
        };
        let (ty, key, numel) = match items.as_slice() {
            [Value::Str(tag), Value::Global(ty), key, Value::Str(_), numel]
                if &**tag == "storage" =>
            {
                (ty.clone(), key.clone(), self.int(numel, "storage size")?)
            }
            _ => {
                return Err(self.bad(format!(
                    "persistent id {} is not a torch storage",
                    self.describe(pid)
                )))
            }
        };
        let key = match key {
            Value::Str(s) => s.to_string(),
            Value::Int(i) => i.to_string(),
            other => return Err(self.bad(format!("storage key is {}", self.describe(&other)))),
        };
        let dtype = match (ty.module.as_str(), ty.name.as_str()) {
            ("torch" | "torch.storage", "UntypedStorage") => StorageDtype::Untyped,
            // A CUDA storage class, should a writer not have normalised it to torch.<Name>Storage.
            ("torch" | "torch.cuda", n) => {
                match n.strip_suffix("Storage").and_then(kind_of_storage) {
                    Some(k) => StorageDtype::Typed(k),
                    None => StorageDtype::Unsupported(format!("torch.{n}")),
                }
            }
            (m, n) => StorageDtype::Unsupported(format!("{m}.{n}")),
        };
        Ok(Value::Storage(Rc::new(StorageRef {
            key,
            dtype,
            numel: numel as u64,
        })))
    }
}

/// `torch.<Name>Storage` → kind.
fn kind_of_storage(name: &str) -> Option<Kind> {
    Some(match name {
        "Float" => Kind::Float,
        "Double" => Kind::Double,
        "Half" => Kind::Half,
        "BFloat16" => Kind::BFloat16,
        "Long" => Kind::Int64,
        "Int" => Kind::Int,
        "Short" => Kind::Int16,
        "Char" => Kind::Int8,
        "Byte" => Kind::Uint8,
        "Bool" => Kind::Bool,
        "ComplexFloat" => Kind::ComplexFloat,
        "ComplexDouble" => Kind::ComplexDouble,
        _ => return None,
    })
}

/// `torch.<dtype>` → kind (the dtypes `_rebuild_tensor_v3` pairs with an untyped storage).
fn kind_of_dtype(name: &str) -> Option<Kind> {
    Some(match name {
        "float32" | "float" => Kind::Float,
        "float64" | "double" => Kind::Double,
        "float16" | "half" => Kind::Half,
        "bfloat16" => Kind::BFloat16,
        "int64" | "long" => Kind::Int64,
        "int32" | "int" => Kind::Int,
        "int16" | "short" => Kind::Int16,
        "int8" => Kind::Int8,
        "uint8" => Kind::Uint8,
        "bool" => Kind::Bool,
        "complex32" | "chalf" => Kind::ComplexHalf,
        "complex64" | "cfloat" => Kind::ComplexFloat,
        "complex128" | "cdouble" => Kind::ComplexDouble,
        "float8_e5m2" => Kind::Float8e5m2,
        "float8_e4m3fn" => Kind::Float8e4m3fn,
        "float8_e5m2fnuz" => Kind::Float8e5m2fnuz,
        "float8_e4m3fnuz" => Kind::Float8e4m3fnuz,
        _ => return None,
    })
}
