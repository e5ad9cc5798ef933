//! The model seam. Every backend (vbench's own zoo networks, TorchScript files, the published int8
//! files) implements [`VideoModel`] and makes it through a [`Backend`]; `load_model`
//! (`backends.rs`) picks the backend that claims an entry from `BACKENDS` and returns it ready to
//! run. Accuracy, latency, FLOPs, params, `infer`, `forward` and `clips` all go through it. Adding a
//! backend is one file with a [`Backend`] and one line in `BACKENDS`.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};
use vbench_suite::{Entry, FlopsConvention, InputLayout, Protocol};

use crate::error::{ModelError, Result};

/// One clip, `[B, 3, T, H, W]`, normalised float pixels. SlowFast takes both pathways, the slow
/// one being the fast one subsampled by α in time. Detectors take the same clips plus person
/// boxes, through [`VideoModel::forward_boxes`].
#[derive(Debug)]
pub enum ModelInput {
    Single(Tensor),
    SlowFast { slow: Tensor, fast: Tensor },
}

impl ModelInput {
    /// One view of `protocol` × `batch`, random pixels (latency and shapes do not depend on
    /// values): T frames, or T and α·T for SlowFast, at crop².
    pub fn dummy(protocol: &Protocol, batch: i64, device: Device) -> ModelInput {
        let (t, s) = (protocol.frames as i64, protocol.crop as i64);
        let opts = (Kind::Float, device);
        match protocol.alpha {
            Some(a) => ModelInput::SlowFast {
                slow: Tensor::randn([batch, 3, t, s, s], opts),
                fast: Tensor::randn([batch, 3, t * a as i64, s, s], opts),
            },
            None => ModelInput::Single(Tensor::randn([batch, 3, t, s, s], opts)),
        }
    }

    /// The shapes, for messages: `[1, 3, 4, 182, 182]` or `[slow [..], fast [..]]`.
    pub fn describe(&self) -> String {
        match self {
            ModelInput::Single(x) => format!("{:?}", x.size()),
            ModelInput::SlowFast { slow, fast } => {
                format!("[slow {:?}, fast {:?}]", slow.size(), fast.size())
            }
        }
    }
}

/// Both `[B, classes]` (detectors: `[K, classes]`, one row per box). `scores` went through the
/// protocol's head activation; `pre_activation` did not. With more positions than the head pool
/// covers (a crop larger than the training crop), `scores` is the mean of per-position
/// post-activation scores and `pre_activation` the mean of per-position logits.
#[derive(Debug)]
pub struct ModelOutput {
    pub scores: Tensor,
    pub pre_activation: Tensor,
}

/// Where a parameter count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSource {
    /// `sum(p.numel() for p in model.parameters())`.
    Parameters,
    /// A frozen TorchScript module (`torch.jit.freeze`) has no parameters: its weights are graph
    /// constants, and those are counted (BatchNorm folded into a conv is gone from them).
    FrozenConstants,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamCount {
    pub count: i64,
    pub source: ParamSource,
    /// Trainable parameters per module path, where the backend knows its modules.
    pub per_module: BTreeMap<String, i64>,
}

/// One convention's count of one view (one clip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionCount {
    pub convention: FlopsConvention,
    pub total: u64,
    /// fvcore's `by_operator()`: per fvcore op name, the ops this convention counts.
    pub by_operator: BTreeMap<String, u64>,
}

/// One op that ran, with its FLOPs under each convention (`None`: not counted by it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpCost {
    /// Module path (`blocks.1.res_blocks.0.branch2.conv_a`) or, without modules, the op's position.
    pub path: String,
    /// fvcore's op name where it has one, else the op's own.
    pub op: String,
    pub input_shape: Vec<i64>,
    pub output_shape: Vec<i64>,
    /// In [`FlopsConvention::ALL`] order.
    pub flops: [Option<u64>; 3],
    /// Parameters of the op's module.
    pub params: i64,
}

/// FLOPs of one view under every convention, as fvcore counts them: a fixed set of counted ops,
/// every other op listed as uncounted, never guessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlopsCount {
    /// In [`FlopsConvention::ALL`] order.
    pub conventions: Vec<ConventionCount>,
    /// Ops that ran and that no convention counts, by name, with how often each ran.
    pub uncounted: BTreeMap<String, usize>,
    /// Per-op rows where the backend records them (vbench's own layers); empty otherwise.
    pub ops: Vec<OpCost>,
}

impl FlopsCount {
    pub fn total(&self, convention: FlopsConvention) -> Option<u64> {
        self.conventions
            .iter()
            .find(|c| c.convention == convention)
            .map(|c| c.total)
    }
}

/// Any model vbench measures, ready to run: eval mode, no grad, its weights loaded. Forward runs on
/// the model's device (inputs are moved there).
pub trait VideoModel: Send {
    /// What it is, for tables and messages: the zoo name (`x3d_m`) or `torchscript:<file>`.
    fn label(&self) -> String;

    /// What `forward` takes.
    fn input_layout(&self) -> InputLayout;

    fn device(&self) -> Device;

    /// Classifiers: `[B, classes]`. Detectors score one whole-frame box per clip (`[b, 0, 0, W,
    /// H]`), which is what FLOPs and latency runs need; real boxes go through `forward_boxes`.
    fn forward(&self, input: &ModelInput) -> Result<ModelOutput>;

    /// Detectors: `[K, classes]` for person boxes `[K, 5]`, rows of (batch index, x1, y1, x2, y2)
    /// in input pixels, as PyTorchVideo's detection models take them.
    fn forward_boxes(&self, input: &ModelInput, boxes: &Tensor) -> Result<ModelOutput> {
        let _ = (input, boxes);
        Err(ModelError::BadInput {
            model: self.label(),
            reason: "not a detector: it takes no boxes".into(),
        })
    }

    fn params(&self) -> Result<ParamCount>;

    /// Warm-up forwards a latency measurement needs at least (TorchScript's profiling executor
    /// specialises the graph during the first two calls).
    fn min_warmup(&self) -> u32 {
        0
    }

    /// FLOPs of one view of `protocol` (one clip, batch 1), under every convention.
    fn flops(&self, protocol: &Protocol) -> Result<FlopsCount>;

    /// The tch variables a weight-changing speed variant acts on in place (the `variant` module's
    /// `apply`); `None` for a model whose weights are not tch variables.
    fn variables_mut(&mut self) -> Option<&mut tch::nn::VarStore> {
        None
    }

    /// A weight-changing speed variant made by the model itself, for weights that are not tch
    /// variables (a TorchScript module: libtorch lays them out or folds them); `None`: it cannot.
    fn transform_weights(
        &mut self,
        _variant: vbench_suite::Variant,
    ) -> Option<Result<Transformed>> {
        None
    }
}

/// What [`VideoModel::transform_weights`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Transformed {
    /// One line: what changed.
    Done(String),
    /// Nothing to act on, and why.
    NotApplicable(String),
}

/// The weights a zoo model starts from.
#[derive(Debug, Clone, Copy)]
pub enum Weights<'a> {
    /// The builders' own random init: enough for params, FLOPs and latency.
    Random,
    /// A checkpoint (`.pyth` zip or safetensors), loaded strictly; for int8 entries, their
    /// published TorchScript file.
    File(&'a Path),
}

#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    pub device: Device,
    pub weights: Weights<'a>,
}

/// One way of making a [`VideoModel`] from an entry.
pub trait Backend: Sync {
    fn name(&self) -> &'static str;
    /// Whether this backend makes `entry`'s model (the first that claims it does).
    fn claims(&self, entry: &Entry) -> bool;
    fn load(&self, entry: &Entry, opts: &LoadOptions) -> Result<Box<dyn VideoModel>>;
}
