//! The ops one forward ran, as the shim's RecordFunction callback saw them.

use std::path::PathBuf;

use serde_json::Value;

use crate::error::TorchExtError;
use crate::flops::{self, Convention, FlopCount};
use crate::ops::{Arg, OpRecord};

/// The ops of one captured forward, in the order they ran, with the module's file for errors.
#[derive(Debug, Clone)]
pub struct OpCapture {
    pub file: PathBuf,
    pub ops: Vec<OpRecord>,
}

impl OpCapture {
    /// FLOPs under `convention`, as fvcore counts these ops (see [`crate::flops`]).
    pub fn flops(&self, convention: Convention) -> Result<FlopCount, TorchExtError> {
        flops::count(&self.file, &self.ops, convention)
    }
}

fn int_list(v: &Value) -> Option<Vec<i64>> {
    v.as_array()?.iter().map(Value::as_i64).collect()
}

fn arg(v: &Value) -> Result<Arg, String> {
    if v.is_null() {
        return Ok(Arg::None);
    }
    let obj = v.as_object().ok_or_else(|| format!("bad value {v}"))?;
    // One kind key per value ("dt" rides along with "t").
    let (key, val) = ["t", "b", "i", "f", "s", "il", "tl", "o"]
        .iter()
        .find_map(|k| obj.get_key_value(*k))
        .ok_or_else(|| format!("unknown value {v}"))?;
    let bad = || format!("bad {key} value {v}");
    Ok(match key.as_str() {
        "t" => Arg::Tensor {
            shape: int_list(val).ok_or_else(bad)?,
            dtype: obj
                .get("dt")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        },
        "b" => Arg::Bool(val.as_bool().ok_or_else(bad)?),
        "i" => Arg::Int(val.as_i64().ok_or_else(bad)?),
        "f" => Arg::Double(val.as_f64().ok_or_else(bad)?),
        "s" => Arg::Str(val.as_str().ok_or_else(bad)?.to_string()),
        "il" => Arg::IntList(int_list(val).ok_or_else(bad)?),
        "tl" => Arg::TensorList(
            val.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|e| {
                    if e.is_null() {
                        Ok(None)
                    } else {
                        int_list(e).map(Some).ok_or_else(bad)
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
        "o" => Arg::Other(val.as_str().unwrap_or_default().to_string()),
        _ => return Err(bad()),
    })
}

fn args(v: Option<&Value>) -> Result<Vec<Arg>, String> {
    v.and_then(Value::as_array)
        .ok_or("missing argument list")?
        .iter()
        .map(arg)
        .collect()
}

/// Parses the shim's JSON (`[{"op": .., "in": [..], "out": [..]}, ..]`).
pub(crate) fn parse_records(json: &str) -> Result<Vec<OpRecord>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    v.as_array()
        .ok_or("not a list")?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = r
                .get("op")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("record {i}: no op name"))?;
            Ok(OpRecord {
                name: name.to_string(),
                interpreter: r.get("interpreter").and_then(Value::as_bool) == Some(true),
                inputs: args(r.get("in")).map_err(|e| format!("record {i} {name}: {e}"))?,
                outputs: args(r.get("out")).map_err(|e| format!("record {i} {name}: {e}"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_argument_kind() {
        let json = r#"[{"op":"aten::Int","interpreter":true,"in":[],"out":[]},
            {"op":"aten::einsum","in":[{"s":"a\"b"},{"tl":[[2,3],null]},null,
            {"b":true},{"i":-4},{"f":1e-05},{"il":[1,2]},{"o":"Device"},
            {"t":[1,3],"dt":"Float"}],"out":[{"t":[],"dt":"BFloat16"}]}]"#;
        let mut r = parse_records(json).unwrap();
        assert_eq!(r.len(), 2);
        assert!(r[0].interpreter && r[0].inputs.is_empty());
        r.remove(0);
        assert_eq!(r[0].name, "aten::einsum");
        assert!(!r[0].interpreter);
        assert_eq!(
            r[0].inputs,
            vec![
                Arg::Str("a\"b".into()),
                Arg::TensorList(vec![Some(vec![2, 3]), None]),
                Arg::None,
                Arg::Bool(true),
                Arg::Int(-4),
                Arg::Double(1e-5),
                Arg::IntList(vec![1, 2]),
                Arg::Other("Device".into()),
                Arg::Tensor {
                    shape: vec![1, 3],
                    dtype: "Float".into()
                },
            ]
        );
        assert_eq!(r[0].outputs[0].shape(), Some(&[][..]));
    }

    #[test]
    fn refuses_malformed_records() {
        assert!(parse_records(r#"[{"in":[],"out":[]}]"#).is_err());
        assert!(parse_records(r#"[{"op":"aten::x","in":[{"q":1}],"out":[]}]"#).is_err());
        assert!(parse_records("[").is_err());
    }
}
