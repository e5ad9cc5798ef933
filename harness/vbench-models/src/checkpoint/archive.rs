//! `torch.save` zip archives: `<archive>/data.pkl` (the pickled object), `<archive>/data/<key>`
//! (raw storages), `<archive>/byteorder`. The pickle is parsed first; only the storages the
//! state_dict refers to are read, so an optimizer state in the same file costs no memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use tch::{Kind, Tensor};
use zip::ZipArchive;

use super::pickle::{self, Pickle, PickleErrorKind, TensorRef, Value};
use super::CheckpointError;

/// Wrapper keys tried in order: PySlowFast/PyTorchVideo's `model_state` first.
const WRAPPERS: [&str; 5] = [
    "model_state",
    "state_dict",
    "model",
    "model_state_dict",
    "module",
];

/// The first bytes of a pre-1.6 `torch.save` file: PROTO 2, then LONG1 of the magic number.
const LEGACY_MAGIC: [u8; 4] = [0x80, 0x02, 0x8a, 0x0a];

type Zip = ZipArchive<BufReader<File>>;

pub(super) fn read(file: &Path) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    let io = |source| CheckpointError::Io {
        file: file.to_owned(),
        source,
    };
    let mut f = File::open(file).map_err(io)?;
    let mut head = Vec::new();
    (&mut f).take(4).read_to_end(&mut head).map_err(io)?;
    if head.starts_with(&LEGACY_MAGIC) {
        return Err(CheckpointError::LegacyFormat {
            file: file.to_owned(),
        });
    }
    if head.is_empty() {
        return Err(CheckpointError::NotZip {
            file: file.to_owned(),
            detail: "the file is empty".into(),
        });
    }
    let zip = ZipArchive::new(BufReader::new(f)).map_err(|e| CheckpointError::NotZip {
        file: file.to_owned(),
        detail: e.to_string(),
    })?;
    let mut r = Reader {
        file: file.to_owned(),
        zip,
        prefix: String::new(),
        big_endian: false,
    };
    let pkl_name = r.locate_data_pkl()?;
    r.prefix = pkl_name
        .strip_suffix("data.pkl")
        .unwrap_or_default()
        .to_owned();
    r.big_endian = r.byteorder()?;
    let bytes = r.member(&pkl_name, u64::MAX)?;
    let pickle = pickle::parse(&bytes).map_err(|e| match e.kind {
        PickleErrorKind::Unsupported(opcode) => CheckpointError::UnsupportedOpcode {
            file: file.to_owned(),
            member: pkl_name.clone(),
            opcode,
            offset: e.offset,
        },
        PickleErrorKind::Malformed(detail) => CheckpointError::MalformedPickle {
            file: file.to_owned(),
            member: pkl_name.clone(),
            offset: e.offset,
            detail,
        },
    })?;
    let entries = state_dict(&pickle, file)?;
    let mut storages = HashMap::new();
    entries
        .into_iter()
        .map(|(key, t)| Ok((key.clone(), r.tensor(&key, t, &mut storages)?)))
        .collect()
}

struct Reader {
    file: PathBuf,
    zip: Zip,
    /// `archive/` (the directory every member sits in; torch names it after the file).
    prefix: String,
    big_endian: bool,
}

impl Reader {
    /// `data.pkl` at the archive's top directory (or at its root).
    fn locate_data_pkl(&self) -> Result<String, CheckpointError> {
        let names: Vec<&str> = self.zip.file_names().collect();
        let found = names.iter().find(|n| {
            n.strip_suffix("data.pkl")
                .is_some_and(|dir| dir.is_empty() || dir.find('/') == Some(dir.len() - 1))
        });
        match found {
            Some(n) => Ok((*n).to_owned()),
            None => {
                let mut members: Vec<String> = names.iter().map(|s| s.to_string()).collect();
                members.sort();
                Err(CheckpointError::MissingDataPkl {
                    file: self.file.clone(),
                    members,
                })
            }
        }
    }

    /// `true` for a big-endian archive. Archives written before torch 1.10 have no `byteorder`
    /// and are little-endian.
    fn byteorder(&mut self) -> Result<bool, CheckpointError> {
        let member = format!("{}byteorder", self.prefix);
        if self.zip.index_for_name(&member).is_none() {
            return Ok(false);
        }
        let bytes = self.member(&member, 16)?;
        match String::from_utf8_lossy(&bytes).trim() {
            "little" => Ok(false),
            "big" => Ok(true),
            found => Err(CheckpointError::BadByteorder {
                file: self.file.clone(),
                member,
                found: found.to_owned(),
            }),
        }
    }

    /// The whole member `name`, which must exist; more than `limit` bytes is an error.
    fn member(&mut self, name: &str, limit: u64) -> Result<Vec<u8>, CheckpointError> {
        let bad = |detail: String| CheckpointError::ZipMember {
            file: self.file.clone(),
            member: name.to_owned(),
            detail,
        };
        let mut m = self.zip.by_name(name).map_err(|e| bad(e.to_string()))?;
        let declared = m.size();
        if declared > limit {
            return Err(bad(format!("{declared} bytes, expected at most {limit}")));
        }
        let mut buf = Vec::new();
        // The declared size comes from the file: reserve fallibly so a lie cannot abort us.
        buf.try_reserve_exact(declared.min(1 << 32) as usize)
            .map_err(|e| bad(e.to_string()))?;
        // Reading to the end lets the zip reader check the CRC.
        m.read_to_end(&mut buf).map_err(|e| bad(e.to_string()))?;
        if buf.len() as u64 != declared {
            return Err(bad(format!(
                "declared {declared} bytes, read {}",
                buf.len()
            )));
        }
        Ok(buf)
    }

    /// Materialises `t` (state_dict entry `key`) as an owned CPU tensor of the stored dtype.
    fn tensor(
        &mut self,
        key: &str,
        t: std::rc::Rc<TensorRef>,
        storages: &mut HashMap<(String, Kind), Tensor>,
    ) -> Result<Tensor, CheckpointError> {
        let path = self.file.clone();
        let file = || path.clone();
        let kind = t
            .kind
            .clone()
            .map_err(|dtype| CheckpointError::UnsupportedDtype {
                file: file(),
                key: key.into(),
                dtype,
            })?;
        let member = format!("{}data/{}", self.prefix, t.storage.key);
        let esize = kind.elt_size_in_bytes() as u64;
        // Storage size in bytes: typed storages count elements, untyped ones bytes.
        let storage_bytes = match t.storage.dtype {
            pickle::StorageDtype::Untyped => u128::from(t.storage.numel),
            _ => u128::from(t.storage.numel) * u128::from(esize),
        };
        let elems = storage_bytes / u128::from(esize);
        let too_small = |needed: u128, available: u64| CheckpointError::StorageTooSmall {
            file: file(),
            key: key.into(),
            member: member.clone(),
            needed,
            available,
        };
        // Bytes the view reaches: offset + sum((size-1)*stride) + 1 elements, none if empty.
        let reach = if t.size.contains(&0) {
            0
        } else {
            let last = t
                .size
                .iter()
                .zip(&t.stride)
                .try_fold(t.offset as u128, |acc, (&n, &s)| {
                    acc.checked_add((n as u128 - 1).checked_mul(s as u128)?)
                });
            last.and_then(|l| l.checked_add(1))
                .and_then(|e| e.checked_mul(u128::from(esize)))
                .unwrap_or(u128::MAX)
        };
        if reach > storage_bytes {
            return Err(too_small(
                reach,
                storage_bytes.min(u128::from(u64::MAX)) as u64,
            ));
        }
        let cache_key = (t.storage.key.clone(), kind);
        if !storages.contains_key(&cache_key) {
            let Some(idx) = self.zip.index_for_name(&member) else {
                return Err(CheckpointError::MissingStorage {
                    file: file(),
                    key: key.into(),
                    member,
                });
            };
            let declared = self.zip.by_index_raw(idx).map(|m| m.size()).unwrap_or(0);
            if u128::from(declared) < storage_bytes {
                return Err(too_small(storage_bytes, declared));
            }
            let mut bytes = self.member(&member, u64::MAX)?;
            bytes.truncate(storage_bytes as usize);
            if self.big_endian && esize > 1 {
                // Complex numbers swap each half: same as swapping units of the scalar size.
                let unit = if matches!(
                    kind,
                    Kind::ComplexHalf | Kind::ComplexFloat | Kind::ComplexDouble
                ) {
                    esize / 2
                } else {
                    esize
                };
                bytes
                    .chunks_exact_mut(unit as usize)
                    .for_each(|c| c.reverse());
            }
            let storage =
                Tensor::f_from_data_size(&bytes, &[elems as i64], kind).map_err(|source| {
                    CheckpointError::Torch {
                        file: file(),
                        key: key.into(),
                        source,
                    }
                })?;
            storages.insert(cache_key.clone(), storage);
        }
        let storage = &storages[&cache_key];
        // `contiguous` copies non-contiguous views; contiguous ones share the storage, as in torch.
        storage
            .f_as_strided(t.size.as_slice(), t.stride.as_slice(), t.offset)
            .and_then(|v| v.f_contiguous())
            .map_err(|source| CheckpointError::Torch {
                file: file(),
                key: key.into(),
                source,
            })
    }
}

/// The state_dict inside the unpickled object: a known wrapper key holding a dict of tensors,
/// else the top-level dict itself when it holds tensors (efficient X3D's bare files).
fn state_dict(
    p: &Pickle,
    file: &Path,
) -> Result<Vec<(String, std::rc::Rc<TensorRef>)>, CheckpointError> {
    let Some(top) = p.dict(&p.root) else {
        return Err(CheckpointError::NoStateDict {
            file: file.to_owned(),
            top_level: vec![p.describe(&p.root)],
        });
    };
    let has_tensor = |d: &[(Value, Value)]| d.iter().any(|(_, v)| matches!(v, Value::Tensor(_)));
    let wrapped = WRAPPERS.iter().find_map(|w| {
        top.iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if &**s == *w))
            .and_then(|(_, v)| p.dict(v))
            .filter(|d| has_tensor(d))
    });
    let sd = match wrapped {
        Some(d) => d,
        None if has_tensor(top) => top,
        None => {
            let top_level = top
                .iter()
                .map(|(k, _)| match k {
                    Value::Str(s) => s.to_string(),
                    other => p.describe(other),
                })
                .collect();
            return Err(CheckpointError::NoStateDict {
                file: file.to_owned(),
                top_level,
            });
        }
    };
    sd.iter()
        .map(|(k, v)| {
            let key = match k {
                Value::Str(s) => s.to_string(),
                other => {
                    return Err(CheckpointError::NonStringKey {
                        file: file.to_owned(),
                        found: p.describe(other),
                    })
                }
            };
            match v {
                Value::Tensor(t) => Ok((key, t.clone())),
                other => Err(CheckpointError::NotATensor {
                    file: file.to_owned(),
                    key,
                    found: p.describe(other),
                }),
            }
        })
        .collect()
}
