//! What one op's FLOP handle gets (`flops.rs`, `einsum.rs`): the record, with errors that name
//! the module's file, the op and its index, and overflow-checked arithmetic.

use std::path::Path;

use crate::error::TorchExtError;
use crate::ops::{Arg, OpRecord};

/// What one op's handle needs, with errors that name the file, the op and its index.
pub(crate) struct Ctx<'a> {
    pub file: &'a Path,
    pub index: usize,
    pub rec: &'a OpRecord,
}

impl Ctx<'_> {
    pub fn bad(&self, reason: impl Into<String>) -> TorchExtError {
        TorchExtError::BadRecord {
            file: self.file.to_path_buf(),
            index: self.index,
            op: self.rec.name.clone(),
            reason: reason.into(),
        }
    }

    pub fn unmirrored(&self, reason: impl Into<String>) -> TorchExtError {
        TorchExtError::Unmirrored {
            file: self.file.to_path_buf(),
            index: self.index,
            op: self.rec.name.clone(),
            reason: reason.into(),
        }
    }

    pub fn input(&self, i: usize) -> Result<&Arg, TorchExtError> {
        self.rec
            .inputs
            .get(i)
            .ok_or_else(|| self.bad(format!("no argument {i}")))
    }

    /// fvcore's `get_shape` of argument `i`, which must be a tensor.
    pub fn shape(&self, i: usize) -> Result<&[i64], TorchExtError> {
        self.input(i)?
            .shape()
            .ok_or_else(|| self.bad(format!("argument {i} is not a tensor")))
    }

    pub fn out_shape(&self) -> Result<&[i64], TorchExtError> {
        self.rec
            .outputs
            .first()
            .and_then(Arg::shape)
            .ok_or_else(|| self.bad("no tensor output"))
    }

    pub fn prod(&self, dims: &[i64]) -> Result<u64, TorchExtError> {
        dims.iter().try_fold(1u64, |acc, &d| {
            let d = u64::try_from(d).map_err(|_| self.bad(format!("negative dim in {dims:?}")))?;
            acc.checked_mul(d)
                .ok_or_else(|| self.bad(format!("FLOPs overflow u64 at {dims:?}")))
        })
    }

    pub fn mul(&self, a: u64, b: u64) -> Result<u64, TorchExtError> {
        a.checked_mul(b)
            .ok_or_else(|| self.bad("FLOPs overflow u64"))
    }

    pub fn dim(&self, dims: &[i64], i: isize) -> Result<u64, TorchExtError> {
        let idx = if i < 0 { dims.len() as isize + i } else { i };
        let d = usize::try_from(idx)
            .ok()
            .and_then(|i| dims.get(i))
            .ok_or_else(|| self.bad(format!("no dim {i} in {dims:?}")))?;
        self.prod(&[*d])
    }
}
