//! safetensors files with a `__metadata__` block (tch writes none): the format is an 8-byte
//! little-endian header length, the JSON header (tensor dtypes, shapes and byte ranges, plus
//! free-form string metadata), then the raw little-endian data.

use super::CheckpointError;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use tch::{Kind, Tensor};

/// Writes `tensors` (moved to the CPU, contiguous) and `metadata` to `path`.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(&str, &Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let torch = |e: tch::TchError| CheckpointError::Io {
        file: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!(metadata));
    let mut data = Vec::new();
    for (name, t) in tensors {
        let (dtype, size) = match t.kind() {
            Kind::Float => ("F32", 4),
            Kind::Double => ("F64", 8),
            Kind::Int64 => ("I64", 8),
            Kind::Int => ("I32", 4),
            Kind::Uint8 => ("U8", 1),
            k => {
                return Err(torch(tch::TchError::Kind(format!(
                    "{name}: no safetensors writer for {k:?}"
                ))))
            }
        };
        let t = t
            .f_to_device(tch::Device::Cpu)
            .and_then(|t| t.f_contiguous())
            .map_err(torch)?;
        let start = data.len();
        let n = t.numel() * size;
        data.resize(start + n, 0);
        t.f_copy_data_u8(&mut data[start..], t.numel())
            .map_err(torch)?;
        header.insert(
            (*name).into(),
            serde_json::json!({"dtype": dtype, "shape": t.size(), "data_offsets": [start, start + n]}),
        );
    }
    let mut head = serde_json::to_vec(&header).map_err(|e| CheckpointError::Io {
        file: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    // The data starts on an 8-byte boundary; the header is padded with spaces.
    head.resize(head.len().div_ceil(8) * 8, b' ');
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        f.write_all(&(head.len() as u64).to_le_bytes())?;
        f.write_all(&head)?;
        f.write_all(&data)?;
        f.into_inner().map_err(|e| e.into_error())?.sync_all()
    };
    write().map_err(|source| CheckpointError::Io {
        file: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tch_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.safetensors");
        let a = Tensor::randn([2, 5], (Kind::Float, tch::Device::Cpu));
        let b = Tensor::arange(7, (Kind::Int64, tch::Device::Cpu)).view([7, 1]);
        let meta = BTreeMap::from([("format".to_string(), "x/1".to_string())]);
        write_safetensors(&path, &[("a", &a), ("b", &b.transpose(0, 1))], &meta).unwrap();
        let back: std::collections::HashMap<_, _> = Tensor::read_safetensors(&path)
            .unwrap()
            .into_iter()
            .collect();
        assert!(back["a"].equal(&a));
        assert!(back["b"].equal(&b.transpose(0, 1)));
        let raw = std::fs::read(&path).unwrap();
        let n = u64::from_le_bytes(raw[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header: serde_json::Value = serde_json::from_slice(&raw[8..8 + n]).unwrap();
        assert_eq!(header["__metadata__"]["format"], "x/1");
    }
}
