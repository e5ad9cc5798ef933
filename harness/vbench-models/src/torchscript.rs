//! TorchScript backends, on the `vbench-torch-ext` shim (tch's `CModule` cannot capture ops or
//! count a frozen module's weights):
//! - [`TorchScriptBackend`]: a user's `torch.jit.script` / `torch.jit.trace` file. Its `forward`
//!   returns raw logits in the declared input layout; vbench applies the protocol's head activation
//!   (`none` for a module that already ends in softmax or sigmoid). Loading runs one forward on a
//!   view of the protocol, so a module that rejects the protocol's input, needs CUDA, or returns
//!   another class count is refused before anything is measured.
//! - [`PublishedInt8`]: a zoo entry published as an int8 TorchScript file (the accelerator zoo's
//!   QNNPACK files): the file runs; params and FLOPs are those of the fp32 architecture it was
//!   converted from, as the published table gives them. [`quantized_model`] does the same for the
//!   `int8` variant of any entry given a quantized file of its network.

use std::path::Path;

use tch::{Device, Kind, Tensor};
use vbench_suite::{
    Activation, Entry, FlopsConvention, InputLayout, ModelSource, Precision, Protocol, Variant,
};
use vbench_torch_ext::{Convention, ModuleInput, ParamSource as ExtParamSource, TsModule};

use crate::error::{ModelError, Result};
use crate::model::{
    Backend, ConventionCount, FlopsCount, LoadOptions, ModelInput, ModelOutput, ParamCount,
    ParamSource, Transformed, VideoModel, Weights,
};
use crate::zoo::ZooModel;

/// `model = { torchscript = "file.pt", input = ... }` entries.
pub struct TorchScriptBackend;

impl Backend for TorchScriptBackend {
    fn name(&self) -> &'static str {
        "torchscript"
    }

    fn claims(&self, entry: &Entry) -> bool {
        matches!(entry.model, ModelSource::TorchScript { .. })
    }

    fn load(&self, entry: &Entry, opts: &LoadOptions) -> Result<Box<dyn VideoModel>> {
        let ModelSource::TorchScript { path, input } = &entry.model else {
            return Err(no_backend(entry));
        };
        if let Weights::File(w) = opts.weights {
            return Err(ModelError::BadConfig {
                builder: "torchscript",
                reason: format!(
                    "{}: a TorchScript file holds its own weights; {} is not used (drop --weights)",
                    path.display(),
                    w.display()
                ),
            });
        }
        let module = TsModule::load(path, opts.device)?;
        let model = TorchScriptModel {
            module,
            layout: *input,
            activation: entry.protocol.head_activation,
            num_classes: entry.protocol.num_classes as i64,
        };
        model.probe(&entry.protocol)?;
        Ok(Box::new(model))
    }
}

/// How many classes `entry`'s TorchScript file outputs for one view of its protocol (the `n` of
/// its forward's `[1, n]`). `--model` takes this as the entry's `num_classes`: the zoo entry
/// lending its protocol may have another.
pub fn output_classes(entry: &Entry, device: Device) -> Result<i64> {
    let ModelSource::TorchScript { path, input } = &entry.model else {
        return Err(no_backend(entry));
    };
    let model = TorchScriptModel {
        module: TsModule::load(path, device)?,
        layout: *input,
        activation: entry.protocol.head_activation,
        num_classes: 0,
    };
    let logits = model.logits(&ModelInput::dummy(&entry.protocol, 1, device), None)?;
    match logits.size()[..] {
        [1, n] if n > 0 => Ok(n),
        ref size => Err(ModelError::BadOutput {
            file: path.clone(),
            reason: format!(
                "forward returned {size:?} for one view, expected [1, classes]: raw logits, one \
                 column per class"
            ),
        }),
    }
}

/// A user's TorchScript module and how its output becomes scores.
pub struct TorchScriptModel {
    module: TsModule,
    layout: InputLayout,
    activation: Activation,
    num_classes: i64,
}

impl TorchScriptModel {
    fn file(&self) -> String {
        self.module.file().display().to_string()
    }

    fn bad_input(&self, reason: String) -> ModelError {
        ModelError::BadInput {
            model: self.file(),
            reason,
        }
    }

    /// One view of `protocol` must go through forward and come back as `[1, num_classes]`.
    fn probe(&self, protocol: &Protocol) -> Result<()> {
        let input = ModelInput::dummy(protocol, 1, self.module.device());
        let logits = self.logits(&input, None)?;
        self.check_output(&logits, 1)
    }

    fn check_output(&self, logits: &Tensor, rows: i64) -> Result<()> {
        let size = logits.size();
        if size != [rows, self.num_classes] {
            return Err(ModelError::BadOutput {
                file: self.module.file().to_path_buf(),
                reason: format!(
                    "forward returned {size:?} for {rows} view(s), expected [{rows}, {}]: raw \
                     logits, one row per view and one column per class (the protocol's \
                     num_classes is {}; set `protocol.num_classes` if the model has another)",
                    self.num_classes, self.num_classes
                ),
            });
        }
        Ok(())
    }

    /// The module's raw output for `input` (and `boxes`, for detection layouts).
    fn logits(&self, input: &ModelInput, boxes: Option<&Tensor>) -> Result<Tensor> {
        let device = self.module.device();
        let mv = |t: &Tensor| t.to_device(device);
        let wrong = |got: &str| {
            self.bad_input(format!(
                "the module takes the `{}` layout, {}; got {got}",
                self.layout,
                self.layout.describe()
            ))
        };
        tch::no_grad(|| {
            let out = match (self.layout, input, boxes) {
                (InputLayout::Clip, ModelInput::Single(x), None) => {
                    self.module.forward(&ModuleInput::Single(&mv(x)))
                }
                (InputLayout::Slowfast, ModelInput::SlowFast { slow, fast }, None) => {
                    let list = [mv(slow), mv(fast)];
                    self.module.forward(&ModuleInput::Pathways(&list))
                }
                (InputLayout::ClipBoxes, ModelInput::Single(x), Some(b)) => {
                    self.module.forward(&ModuleInput::ClipBoxes {
                        clip: &mv(x),
                        boxes: &mv(b),
                    })
                }
                (_, ModelInput::Single(_), _) => return Err(wrong("one clip")),
                (_, ModelInput::SlowFast { .. }, _) => return Err(wrong("two pathways")),
            };
            out.map_err(|e| self.rejected(e))
        })
    }

    /// A forward that refused the input says which layout the entry declared.
    fn rejected(&self, err: vbench_torch_ext::TorchExtError) -> ModelError {
        match err {
            vbench_torch_ext::TorchExtError::ForwardRejected {
                file,
                shapes,
                message,
                ..
            } => ModelError::ForwardRejected {
                file,
                layout: self.layout.name(),
                expected: self.layout.describe(),
                shapes,
                message,
            },
            other => other.into(),
        }
    }

    fn scores(&self, logits: Tensor) -> Result<ModelOutput> {
        let logits = logits.to_kind(Kind::Float);
        let scores = match self.activation {
            Activation::Softmax => logits.softmax(1, Kind::Float),
            Activation::Sigmoid => logits.sigmoid(),
            Activation::None => logits.shallow_clone(),
        };
        Ok(ModelOutput {
            scores,
            pre_activation: logits,
        })
    }
}

impl VideoModel for TorchScriptModel {
    fn label(&self) -> String {
        let name = self
            .module
            .file()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.file());
        format!("torchscript:{name}")
    }

    fn input_layout(&self) -> InputLayout {
        self.layout
    }

    fn device(&self) -> Device {
        self.module.device()
    }

    fn forward(&self, input: &ModelInput) -> Result<ModelOutput> {
        if self.layout.has_boxes() {
            // Detectors score one whole-frame box per clip, as the zoo's do.
            let x = match input {
                ModelInput::Single(x) | ModelInput::SlowFast { slow: x, .. } => x,
            };
            let size = x.size();
            let [b, _, _, h, w] = size[..] else {
                return Err(self.bad_input(format!("clip {size:?} is not [B, C, T, H, W]")));
            };
            let rows: Vec<f32> = (0..b)
                .flat_map(|i| [i as f32, 0.0, 0.0, w as f32, h as f32])
                .collect();
            return self.forward_boxes(input, &Tensor::from_slice(&rows).reshape([b, 5]));
        }
        let logits = self.logits(input, None)?;
        let rows = match input {
            ModelInput::Single(x) | ModelInput::SlowFast { slow: x, .. } => x.size()[0],
        };
        self.check_output(&logits, rows)?;
        self.scores(logits)
    }

    fn forward_boxes(&self, input: &ModelInput, boxes: &Tensor) -> Result<ModelOutput> {
        if !self.layout.has_boxes() {
            return Err(self.bad_input("not a detector: it takes no boxes".into()));
        }
        let logits = self.logits(input, Some(boxes))?;
        self.check_output(&logits, boxes.size()[0])?;
        self.scores(logits)
    }

    fn min_warmup(&self) -> u32 {
        3
    }

    fn transform_weights(&mut self, variant: Variant) -> Option<Result<Transformed>> {
        let done = match variant {
            Variant::ChannelsLast => self.module.channels_last().map(|n| match n {
                0 => Transformed::NotApplicable(
                    "no 5-D parameter or buffer (a frozen module holds its weights as graph \
                     constants)"
                        .into(),
                ),
                n => Transformed::Done(format!("{n} 5-D weights and the input in ChannelsLast3d")),
            }),
            Variant::FoldedBn => self.module.fold_batch_norms().map(|(before, after)| {
                match (before, before - after.min(before)) {
                    (0, _) => Transformed::NotApplicable("it has no BatchNorm".into()),
                    (n, 0) => Transformed::NotApplicable(format!(
                        "none of its {n} BatchNorms follows a convolution TorchScript can fold \
                         (FoldConvBatchNorm needs conv and BatchNorm submodules: fold before \
                         torch.jit.freeze)"
                    )),
                    (n, k) => Transformed::Done(format!(
                        "{k} of {n} BatchNorms folded into the preceding convolutions \
                         (TorchScript's FoldConvBatchNorm)"
                    )),
                }
            }),
            _ => return None,
        };
        Some(done.map_err(ModelError::from))
    }

    fn params(&self) -> Result<ParamCount> {
        let p = self.module.params()?;
        Ok(ParamCount {
            count: p.count,
            source: match p.source {
                ExtParamSource::Parameters => ParamSource::Parameters,
                ExtParamSource::FrozenConstants => ParamSource::FrozenConstants,
            },
            per_module: Default::default(),
        })
    }

    /// One forward on one view (batch 1) with the shim's op capture, counted as fvcore counts the
    /// module's traced graph.
    fn flops(&self, protocol: &Protocol) -> Result<FlopsCount> {
        let input = ModelInput::dummy(protocol, 1, self.module.device());
        let (_, capture) = match &input {
            ModelInput::Single(x) => self.module.capture_ops(&ModuleInput::Single(x))?,
            ModelInput::SlowFast { slow, fast } => {
                let list = [slow.shallow_clone(), fast.shallow_clone()];
                self.module.capture_ops(&ModuleInput::Pathways(&list))?
            }
        };
        let mut conventions = Vec::with_capacity(3);
        let mut uncounted = Default::default();
        for convention in FlopsConvention::ALL {
            let c = capture.flops(ext_convention(convention))?;
            uncounted = c.uncounted;
            conventions.push(ConventionCount {
                convention,
                total: c.total,
                by_operator: c.by_operator,
            });
        }
        Ok(FlopsCount {
            conventions,
            uncounted,
            ops: Vec::new(),
        })
    }
}

fn ext_convention(c: FlopsConvention) -> Convention {
    match c {
        FlopsConvention::Fvcore2021 => Convention::Fvcore2021,
        FlopsConvention::ConvLinear => Convention::ConvLinear,
        FlopsConvention::FvcoreEval => Convention::FvcoreEval,
    }
}

fn no_backend(entry: &Entry) -> ModelError {
    ModelError::NoBackend {
        entry: entry.id.clone(),
        model: entry.model.label(),
    }
}

/// Int8 zoo entries: their published TorchScript file, quantized for QNNPACK.
pub struct PublishedInt8;

impl Backend for PublishedInt8 {
    fn name(&self) -> &'static str {
        "published-int8"
    }

    fn claims(&self, entry: &Entry) -> bool {
        matches!(entry.model, ModelSource::Zoo(_)) && entry.precision == Precision::Int8
    }

    /// With the published file: it runs. Without (`Weights::Random`): params and FLOPs only,
    /// forward says where the file comes from.
    fn load(&self, entry: &Entry, opts: &LoadOptions) -> Result<Box<dyn VideoModel>> {
        let fp32 = ZooModel::load(
            entry,
            &LoadOptions {
                device: opts.device,
                weights: Weights::Random,
            },
        )?;
        match opts.weights {
            Weights::Random => Ok(Box::new(Int8Model {
                counts: Box::new(fp32),
                run: None,
                entry: entry.id.clone(),
            })),
            Weights::File(path) => quantized_model(entry, Box::new(fp32), path),
        }
    }
}

/// `entry`'s network run by a quantized TorchScript `file` on libtorch's QNNPACK engine (the
/// accelerator zoo's int8 files are quantized for it), with `fp32` kept for params and FLOPs, as
/// the published tables give them. The file's output is taken as the fp32 model's logits: the
/// protocol's head activation makes the scores. One forward on a view of the protocol checks it.
pub fn quantized_model(
    entry: &Entry,
    fp32: Box<dyn VideoModel>,
    file: &Path,
) -> Result<Box<dyn VideoModel>> {
    tch::QEngine::QNNPACK
        .set()
        .map_err(|e| ModelError::BadConfig {
            builder: "int8",
            reason: format!("libtorch has no QNNPACK engine: {e}"),
        })?;
    let run = TorchScriptModel {
        module: TsModule::load(file, fp32.device())?,
        layout: fp32.input_layout(),
        activation: entry.protocol.head_activation,
        num_classes: entry.protocol.num_classes as i64,
    };
    run.probe(&entry.protocol)?;
    Ok(Box::new(Int8Model {
        counts: fp32,
        run: Some(run),
        entry: entry.id.clone(),
    }))
}

struct Int8Model {
    /// The architecture the file was converted from: params and FLOPs.
    counts: Box<dyn VideoModel>,
    run: Option<TorchScriptModel>,
    entry: String,
}

impl Int8Model {
    fn run(&self) -> Result<&TorchScriptModel> {
        self.run.as_ref().ok_or_else(|| ModelError::BadConfig {
            builder: "published-int8",
            reason: format!(
                "{}: int8 entries run their published TorchScript file, which was not given",
                self.entry
            ),
        })
    }
}

impl VideoModel for Int8Model {
    fn label(&self) -> String {
        self.counts.label()
    }

    fn input_layout(&self) -> InputLayout {
        self.counts.input_layout()
    }

    fn device(&self) -> Device {
        self.counts.device()
    }

    /// One view per forward: the deployment form a quantized file is traced from fixes the batch
    /// at 1 (`convert_to_deployable_form` takes the input's shape).
    fn forward(&self, input: &ModelInput) -> Result<ModelOutput> {
        let run = self.run()?;
        let rows = match input {
            ModelInput::Single(x) | ModelInput::SlowFast { slow: x, .. } => x.size()[0],
        };
        if rows <= 1 {
            return run.forward(input);
        }
        let row = |t: &Tensor, i: i64| t.narrow(0, i, 1);
        let outs = (0..rows)
            .map(|i| {
                run.forward(&match input {
                    ModelInput::Single(x) => ModelInput::Single(row(x, i)),
                    ModelInput::SlowFast { slow, fast } => ModelInput::SlowFast {
                        slow: row(slow, i),
                        fast: row(fast, i),
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let cat = |f: fn(&ModelOutput) -> &Tensor| {
            Tensor::f_cat(&outs.iter().map(f).collect::<Vec<_>>(), 0)
                .map_err(ModelError::torch("int8 outputs"))
        };
        Ok(ModelOutput {
            scores: cat(|o| &o.scores)?,
            pre_activation: cat(|o| &o.pre_activation)?,
        })
    }

    /// Detectors: one clip per forward as well (AVA gives one clip per keyframe).
    fn forward_boxes(&self, input: &ModelInput, boxes: &Tensor) -> Result<ModelOutput> {
        let rows = match input {
            ModelInput::Single(x) | ModelInput::SlowFast { slow: x, .. } => x.size()[0],
        };
        if rows > 1 {
            return Err(ModelError::BadInput {
                model: self.label(),
                reason: format!(
                    "a quantized file takes one clip per forward, got {rows} (use batch 1)"
                ),
            });
        }
        self.run()?.forward_boxes(input, boxes)
    }

    fn min_warmup(&self) -> u32 {
        3
    }

    fn params(&self) -> Result<ParamCount> {
        self.counts.params()
    }

    fn flops(&self, protocol: &Protocol) -> Result<FlopsCount> {
        self.counts.flops(protocol)
    }
}
