//! Speed variants as model transformations behind the model seam: [`apply`] takes a loaded model
//! and its variables and returns the same model run another way, never a second copy of a model
//! file. Weight changes happen once, in place, on the variables (`fold`: BatchNorm folded into
//! convs; bf16-cast and fp16: the variables cast; channels-last: every 5-D variable laid out
//! ChannelsLast3d); what must happen on every forward (CPU autocast, which is thread-local;
//! channels-last inputs; the float32 fallback of bf16-cast; float32 outputs) is done by the
//! [`VariantModel`] wrapper, on the thread that runs forward.
//!
//! `fp32` returns the model untouched, so its outputs are bit-identical to a model without
//! variants. `int8` is not a transformation (the quantized model is another file, and building
//! quantized conv3d models is out of scope): [`apply_for_entry`] runs a quantized TorchScript
//! file of the entry's network in place of its forward, where the caller has one; [`apply`]
//! says "not available".

pub mod fold;
pub mod precision;

use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use vbench_suite::{Entry, InputLayout, Protocol, Variant};

use crate::error::ModelError;
use crate::model::{FlopsCount, ModelInput, ModelOutput, ParamCount, Transformed, VideoModel};

pub use fold::FoldReport;

#[derive(Debug, thiserror::Error)]
pub enum VariantError {
    /// The device cannot run the variant (fp16 on the CPU): bad input, exit 2.
    #[error("variant `{variant}` cannot run on {device}: {reason}")]
    Device {
        variant: Variant,
        device: String,
        reason: String,
    },
    /// The transformation has nothing to act on (folded-bn on a model without BatchNorm).
    #[error("variant `{variant}` is not applicable to {model}: {reason}")]
    NotApplicable {
        variant: Variant,
        model: String,
        reason: String,
    },
    /// No model of this kind exists (int8 without a quantized file).
    #[error("variant `{variant}` is not available for {model}: {reason}")]
    NotAvailable {
        variant: Variant,
        model: String,
        reason: String,
    },
    #[error("variant `{variant}` on {model}: {source}")]
    Model {
        variant: Variant,
        model: String,
        #[source]
        source: Box<ModelError>,
    },
}

/// What [`apply`] did, for results and tables.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    /// One line: what changed.
    pub detail: String,
    /// Where float32 was kept (bf16-cast): `avg_pool3d at blocks.5.pool.pool`.
    pub fp32_ops: Vec<String>,
    /// folded-bn: which BN went into which conv, and which stayed.
    pub fold: Option<FoldReport>,
}

/// Whether `device` can run `variant` at all. fp16 is CUDA only; bf16 is CPU autocast.
pub fn check_device(variant: Variant, device: Device) -> Result<(), VariantError> {
    let refuse = |reason: &str| VariantError::Device {
        variant,
        device: device_name(device),
        reason: reason.to_string(),
    };
    match (variant, device) {
        (Variant::Fp16, Device::Cpu) => Err(refuse(
            "fp16 is CUDA only (libtorch's CPU float16 convolutions are reference loops, not a \
             deployment path); on the CPU use bf16 or bf16-cast",
        )),
        (Variant::Int8, Device::Cuda(_)) => Err(refuse(
            "int8 runs a quantized TorchScript file on libtorch's QNNPACK engine, which is CPU only",
        )),
        (Variant::Bf16, Device::Cuda(_)) => Err(refuse(
            "bf16 is torch.autocast(\"cpu\", torch.bfloat16); on CUDA use fp16 or bf16-cast",
        )),
        (_, Device::Cpu | Device::Cuda(_)) => Ok(()),
        (_, other) => Err(refuse(&format!(
            "vbench runs variants on cpu and cuda, not {other:?}"
        ))),
    }
}

fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// No quantized model for an int8 variant: the reason, for results.
pub const NO_QUANTIZED_MODEL: &str = "no quantized model (building quantized conv3d models is out \
     of scope; give a quantized TorchScript file of the same network with --int8-model FILE)";

/// `model` (`entry`'s, weights loaded) run as `variant`; `int8` is the quantized TorchScript file
/// of its network, when there is one: the `int8` variant runs it, with `model` kept for params
/// and FLOPs. Every other variant is [`apply`].
pub fn apply_for_entry(
    entry: &Entry,
    variant: Variant,
    model: Box<dyn VideoModel>,
    int8: Option<&Path>,
) -> Result<(Box<dyn VideoModel>, Applied), VariantError> {
    let (Variant::Int8, Some(file)) = (variant, int8) else {
        return apply(variant, model, &entry.protocol);
    };
    check_device(variant, model.device())?;
    let arch = model.label();
    let quantized = crate::torchscript::quantized_model(entry, model, file).map_err(|source| {
        VariantError::Model {
            variant,
            model: arch,
            source: Box::new(source),
        }
    })?;
    let name = file.file_name().unwrap_or(file.as_os_str());
    let applied = Applied {
        detail: format!(
            "the quantized TorchScript file {} on QNNPACK",
            name.to_string_lossy()
        ),
        ..Applied::default()
    };
    Ok((quantized, applied))
}

/// `model` (from the model seam, weights loaded) run as `variant`. `protocol` gives the input of
/// the one or two forwards some transformations need to see the model run (folding, the fallback
/// survey). Weight changes act on the model's own variables ([`VideoModel::variables_mut`]): a
/// model without tch variables (a TorchScript file) takes only the per-forward variants.
pub fn apply(
    variant: Variant,
    mut model: Box<dyn VideoModel>,
    protocol: &Protocol,
) -> Result<(Box<dyn VideoModel>, Applied), VariantError> {
    let device = model.device();
    check_device(variant, device)?;
    let arch = model.label();
    let failed = |source: ModelError| VariantError::Model {
        variant,
        model: arch.clone(),
        source: Box::new(source),
    };
    let weights_variant = matches!(
        variant,
        Variant::Bf16Cast | Variant::Fp16 | Variant::ChannelsLast | Variant::FoldedBn
    );
    if weights_variant && model.variables_mut().is_none() {
        let not_applicable = |reason: String| VariantError::NotApplicable {
            variant,
            model: arch.clone(),
            reason,
        };
        return match model.transform_weights(variant) {
            Some(Ok(Transformed::Done(detail))) => {
                let applied = Applied {
                    detail,
                    ..Applied::default()
                };
                match variant {
                    // The input goes channels-last on every forward.
                    Variant::ChannelsLast => {
                        Ok((Box::new(VariantModel::new(model, variant)), applied))
                    }
                    _ => Ok((model, applied)),
                }
            }
            Some(Ok(Transformed::NotApplicable(reason))) => Err(not_applicable(reason)),
            Some(Err(e)) => Err(failed(e)),
            None => Err(not_applicable(
                "its weights are not vbench's variables (a TorchScript file: export the variant \
                 from Python)"
                    .into(),
            )),
        };
    }
    let mut applied = Applied::default();
    match variant {
        Variant::Fp32 => {
            applied.detail = "unchanged".into();
            return Ok((model, applied));
        }
        Variant::Int8 => {
            return Err(VariantError::NotAvailable {
                variant,
                model: arch.to_string(),
                reason: NO_QUANTIZED_MODEL.into(),
            })
        }
        Variant::Bf16 => {
            applied.detail = "forward under torch.autocast(\"cpu\", torch.bfloat16)".into();
        }
        Variant::Bf16Cast => {
            if let Some(vs) = model.variables_mut() {
                vs.bfloat16();
            }
            let wrapped = VariantModel::new(model, variant);
            // A batch-0 pass runs every op on empty tensors: where float32 is kept shows at no cost.
            let scope = precision::CastScope::enter();
            wrapped
                .inner
                .forward(&ModelInput::dummy(protocol, 0, device))
                .map_err(failed)?;
            applied.fp32_ops = scope.fallbacks();
            drop(scope);
            applied.detail = match applied.fp32_ops.len() {
                0 => "weights and activations in bfloat16".into(),
                _ => format!(
                    "weights and activations in bfloat16; float32 in {}",
                    applied.fp32_ops.join(", ")
                ),
            };
            return Ok((Box::new(wrapped), applied));
        }
        Variant::Fp16 => {
            if let Some(vs) = model.variables_mut() {
                vs.half();
            }
            applied.detail = "weights and activations in float16".into();
        }
        Variant::ChannelsLast => {
            let n = match model.variables_mut() {
                Some(vs) => channels_last_variables(vs).map_err(failed)?,
                None => 0,
            };
            applied.detail = format!("{n} 5-D weights and the input in ChannelsLast3d");
        }
        Variant::FoldedBn => {
            let input = ModelInput::dummy(protocol, 1, device);
            let report =
                fold::fold_batch_norms(&|| model.forward(&input).map(drop)).map_err(failed)?;
            if report.folded.is_empty() {
                return Err(VariantError::NotApplicable {
                    variant,
                    model: arch.to_string(),
                    reason: match report.unfolded.len() {
                        0 => "it has no BatchNorm".into(),
                        n => format!("none of its {n} BatchNorms follows a convolution"),
                    },
                });
            }
            let total = report.folded.len() + report.unfolded.len();
            applied.detail = format!(
                "{} of {total} BatchNorms folded into the preceding convolutions",
                report.folded.len()
            );
            if !report.unfolded.is_empty() {
                applied.detail += &format!(
                    " ({} kept: {})",
                    report.unfolded.len(),
                    report.unfolded.join(", ")
                );
            }
            applied.fold = Some(report);
            // Folded weights are plain fp32 convs with biases: no per-forward work is left.
            return Ok((model, applied));
        }
    }
    Ok((Box::new(VariantModel::new(model, variant)), applied))
}

/// Every 5-D variable (conv weights) laid out ChannelsLast3d, in place, as
/// `model.to(memory_format=torch.channels_last_3d)` does in PyTorch. Returns how many.
fn channels_last_variables(vs: &VarStore) -> Result<usize, ModelError> {
    let mut n = 0;
    for (name, mut var) in vs.variables() {
        if var.dim() != 5 {
            continue;
        }
        let cl = channels_last_3d(&var).map_err(ModelError::torch(&name))?;
        tch::no_grad(|| var.f_set_data(&cl)).map_err(ModelError::torch(&name))?;
        n += 1;
    }
    Ok(n)
}

/// `t.to(memory_format=torch.channels_last_3d)`: a copy with libtorch's ChannelsLast3d strides
/// (`get_channels_last_strides_3d`: `[DHWC, 1, HWC, WC, C]`, a size-1 dim counting as 1). Not
/// `contiguous(memory_format=...)` (the shim's `to_channels_last_3d`): that keeps a tensor whose
/// size-1 dims already let it pass as channels-last (a depthwise `[C, 1, k, 1, 1]` weight), and
/// libtorch then picks the contiguous kernel for it.
pub fn channels_last_3d(t: &Tensor) -> Result<Tensor, tch::TchError> {
    let size = t.size();
    let [_, c, d, h, w] = size[..] else {
        return Err(tch::TchError::Shape(format!(
            "ChannelsLast3d needs a 5-D tensor, got {size:?}"
        )));
    };
    let sw = c.max(1);
    let sh = sw * w.max(1);
    let sd = sh * h.max(1);
    let sn = sd * d.max(1);
    let mut out = Tensor::f_empty_strided(&size, [sn, 1, sd, sh, sw], (t.kind(), t.device()))?;
    out.f_copy_(t)?;
    Ok(out)
}

/// A model run as a variant: the per-forward part of the transformation. Outputs are float32.
pub struct VariantModel {
    inner: Box<dyn VideoModel>,
    variant: Variant,
}

impl VariantModel {
    fn new(inner: Box<dyn VideoModel>, variant: Variant) -> VariantModel {
        VariantModel { inner, variant }
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    fn run(
        &self,
        input: &ModelInput,
        f: impl FnOnce(&ModelInput) -> Result<ModelOutput, ModelError>,
    ) -> Result<ModelOutput, ModelError> {
        let out = match self.variant {
            Variant::Bf16 => {
                let _autocast =
                    vbench_torch_ext::CpuAutocast::bf16().map_err(|e| ModelError::BadConfig {
                        builder: "bf16",
                        reason: e.to_string(),
                    })?;
                f(input)?
            }
            Variant::Bf16Cast => {
                let _scope = precision::CastScope::enter();
                f(input)?
            }
            Variant::ChannelsLast => f(&channels_last_input(input)?)?,
            _ => f(input)?,
        };
        Ok(ModelOutput {
            scores: float(out.scores)?,
            pre_activation: float(out.pre_activation)?,
        })
    }
}

fn float(t: Tensor) -> Result<Tensor, ModelError> {
    match t.kind() {
        Kind::Float => Ok(t),
        _ => t
            .f_to_kind(Kind::Float)
            .map_err(ModelError::torch("output")),
    }
}

fn channels_last_input(input: &ModelInput) -> Result<ModelInput, ModelError> {
    let cl = |x: &Tensor| channels_last_3d(x).map_err(ModelError::torch("channels-last input"));
    Ok(match input {
        ModelInput::Single(x) => ModelInput::Single(cl(x)?),
        ModelInput::SlowFast { slow, fast } => ModelInput::SlowFast {
            slow: cl(slow)?,
            fast: cl(fast)?,
        },
    })
}

impl VideoModel for VariantModel {
    fn label(&self) -> String {
        self.inner.label()
    }

    fn input_layout(&self) -> InputLayout {
        self.inner.input_layout()
    }

    fn device(&self) -> Device {
        self.inner.device()
    }

    fn forward(&self, input: &ModelInput) -> Result<ModelOutput, ModelError> {
        self.run(input, |x| self.inner.forward(x))
    }

    fn forward_boxes(&self, input: &ModelInput, boxes: &Tensor) -> Result<ModelOutput, ModelError> {
        self.run(input, |x| self.inner.forward_boxes(x, boxes))
    }

    /// The model's own count: a variant changes how it runs, not what it holds.
    fn params(&self) -> Result<ParamCount, ModelError> {
        self.inner.params()
    }

    fn min_warmup(&self) -> u32 {
        self.inner.min_warmup()
    }

    fn flops(&self, protocol: &Protocol) -> Result<FlopsCount, ModelError> {
        self.inner.flops(protocol)
    }

    fn variables_mut(&mut self) -> Option<&mut VarStore> {
        self.inner.variables_mut()
    }
}

#[cfg(test)]
mod tests;
