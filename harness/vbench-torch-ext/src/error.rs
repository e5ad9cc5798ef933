use std::path::PathBuf;

/// Every error of the crate. Those about a module name its file; the FLOPs ones also the op and
/// its position in the captured sequence.
#[derive(Debug, thiserror::Error)]
pub enum TorchExtError {
    #[error("{}: cannot read the file: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a TorchScript file (make one with torch.jit.script or torch.jit.trace, then .save()): {}", .file.display(), gist(.message))]
    NotTorchScript { file: PathBuf, message: String },
    #[error("{}: the module calls an operator that is not registered in this process (custom C++ operators, e.g. torchvision::roi_align, are not loaded; export with plain PyTorch ops): {message}", file.display())]
    UnknownOperator { file: PathBuf, message: String },
    #[error("{}: this TorchScript module needs a CUDA device, and it is being run on the CPU: {message}", file.display())]
    NeedsCuda {
        file: PathBuf,
        /// libtorch's message, without the TorchScript traceback.
        message: String,
        /// libtorch's whole message (TorchScript traceback included).
        detail: String,
    },
    #[error("{}: forward rejected the input {shapes}: {message}", file.display())]
    ForwardRejected {
        file: PathBuf,
        /// The input tried, e.g. `[1, 3, 16, 224, 224]` or `list [[..], [..]]`.
        shapes: String,
        /// libtorch's message, without the TorchScript traceback.
        message: String,
        /// libtorch's whole message (TorchScript traceback included).
        detail: String,
    },
    #[error("{}: {message}", file.display())]
    BadOutput { file: PathBuf, message: String },
    #[error("{}: libtorch: {}", .file.display(), gist(.message))]
    Torch { file: PathBuf, message: String },
    #[error("{}: the op capture is unreadable: {message}", file.display())]
    Capture { file: PathBuf, message: String },
    #[error("{}: op #{index} {op}: {reason}", file.display())]
    BadRecord {
        file: PathBuf,
        index: usize,
        op: String,
        reason: String,
    },
    #[error("{}: op #{index} {op}: fvcore counts it, but the shim does not mirror this case ({reason}); no FLOPs are given rather than a guess", file.display())]
    Unmirrored {
        file: PathBuf,
        index: usize,
        op: String,
        reason: String,
    },
    #[error("tensor {shape:?}: {message}")]
    Tensor { shape: Vec<i64>, message: String },
    #[error("CPU autocast: {message}")]
    Autocast { message: String },
    #[error("unknown FLOPs convention `{0}`; use fvcore-2021, conv-linear or fvcore-eval")]
    UnknownConvention(String),
}

/// libtorch's message on one line, for the one-line error vbench prints: the raised exception
/// of a TorchScript interpreter traceback (its last line), else the lines joined.
pub fn gist(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    if message.contains("Traceback of TorchScript") {
        lines.next_back().unwrap_or_default().to_string()
    } else {
        lines.collect::<Vec<_>>().join(" ")
    }
}
