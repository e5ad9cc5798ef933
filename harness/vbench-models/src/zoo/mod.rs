//! The zoo backend: vbench's own tch networks (one family per file in this crate), built from the
//! entry's architecture, protocol head (`num_classes`, `head_activation`) and weights: random
//! init, an official checkpoint or one's own (fine-tuned, another class count), loaded strictly.

mod config;
pub mod counting;
mod nets;

pub use config::{build, param_count, zoo_config, ModelConfig};
pub use nets::ZooNet;

use tch::nn::VarStore;
use tch::{Device, Tensor};
use vbench_suite::{Arch, Entry, InputLayout, ModelSource, Precision, Protocol};

use crate::checkpoint::{load_strict, read_state_dict, CheckpointError};
use crate::error::{ModelError, Result};
use crate::model::{
    Backend, FlopsCount, LoadOptions, ModelInput, ModelOutput, ParamCount, ParamSource, VideoModel,
    Weights,
};

/// Zoo architectures in fp32 (int8 entries run their published file: `torchscript.rs`).
pub struct ZooBackend;

impl Backend for ZooBackend {
    fn name(&self) -> &'static str {
        "zoo"
    }

    fn claims(&self, entry: &Entry) -> bool {
        matches!(entry.model, ModelSource::Zoo(_)) && entry.precision == Precision::Fp32
    }

    fn load(&self, entry: &Entry, opts: &LoadOptions) -> Result<Box<dyn VideoModel>> {
        Ok(Box::new(ZooModel::load(entry, opts)?))
    }
}

/// A zoo network and the variables it was built under.
pub struct ZooModel {
    vs: VarStore,
    net: Box<dyn ZooNet>,
}

impl ZooModel {
    /// `entry`'s architecture with its protocol's head, from `opts.weights`.
    pub fn load(entry: &Entry, opts: &LoadOptions) -> Result<ZooModel> {
        let arch = entry.arch().ok_or_else(|| ModelError::NoBackend {
            entry: entry.id.clone(),
            model: entry.model.label(),
        })?;
        let mut vs = VarStore::new(opts.device);
        let num_classes = entry.protocol.num_classes as i64;
        let net = build(
            arch,
            num_classes,
            entry.protocol.head_activation,
            &vs.root(),
        )?;
        if let Weights::File(path) = opts.weights {
            let tensors = read_state_dict(path)?;
            load_strict(&mut vs, tensors, path).map_err(|e| class_count(e, num_classes))?;
        }
        Ok(ZooModel { vs, net })
    }

    /// `cfg` built for `arch` with random init: for callers that change what the zoo fixes (the
    /// head pools, to check a heavy model at a small input).
    pub fn from_config(arch: Arch, cfg: &ModelConfig, device: Device) -> Result<ZooModel> {
        let vs = VarStore::new(device);
        let net = cfg.build(arch, &vs.root())?;
        Ok(ZooModel { vs, net })
    }

    pub fn arch(&self) -> Arch {
        self.net.arch()
    }

    pub fn var_store(&self) -> &VarStore {
        &self.vs
    }

    pub fn var_store_mut(&mut self) -> &mut VarStore {
        &mut self.vs
    }

    /// The network itself, e.g. for its deployment form.
    pub fn net(&self) -> &dyn ZooNet {
        self.net.as_ref()
    }
}

/// A strict-load mismatch confined to the classifier's class dimension says so, with both shapes
/// and the key; anything else stays the full mismatch report.
fn class_count(err: CheckpointError, num_classes: i64) -> ModelError {
    if let CheckpointError::Mismatch {
        file,
        missing,
        unexpected,
        shape,
    } = &err
    {
        let head_only = missing.is_empty()
            && unexpected.is_empty()
            && !shape.is_empty()
            && shape.iter().all(|(k, m, c)| {
                (k.ends_with("proj.weight") || k.ends_with("proj.bias"))
                    && m.len() == c.len()
                    && m.first() == Some(&num_classes)
                    && m[1..] == c[1..]
            });
        if head_only {
            // The weight shows the classifier's input size too.
            let (key, model, checkpoint) = shape
                .iter()
                .max_by_key(|(_, m, _)| m.len())
                .cloned()
                .unwrap_or_default();
            return ModelError::ClassCount {
                file: file.clone(),
                key,
                model,
                checkpoint,
                num_classes,
            };
        }
    }
    ModelError::Checkpoint(err)
}

impl VideoModel for ZooModel {
    fn label(&self) -> String {
        self.arch().to_string()
    }

    fn input_layout(&self) -> InputLayout {
        InputLayout::implied(self.arch().is_slowfast(), self.arch().is_detector())
    }

    fn device(&self) -> Device {
        self.vs.device()
    }

    fn forward(&self, input: &ModelInput) -> Result<ModelOutput> {
        self.net.forward(input)
    }

    fn forward_boxes(&self, input: &ModelInput, boxes: &Tensor) -> Result<ModelOutput> {
        self.net.forward_boxes(input, boxes)
    }

    fn params(&self) -> Result<ParamCount> {
        Ok(ParamCount {
            count: param_count(&self.vs),
            source: ParamSource::Parameters,
            per_module: counting::module_params(&self.vs),
        })
    }

    /// A batch-0 forward records every op's exact shapes at no cost (libtorch computes output
    /// shapes without touching data); the counts are per clip.
    fn flops(&self, protocol: &Protocol) -> Result<FlopsCount> {
        let input = ModelInput::dummy(protocol, 0, self.device());
        let (out, ops) = crate::op_record::record_ops(|| self.net.forward(&input));
        out?;
        counting::count(&ops, &counting::module_params(&self.vs))
    }

    fn variables_mut(&mut self) -> Option<&mut VarStore> {
        Some(&mut self.vs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::load_model;
    use vbench_suite::find_entry;

    fn entry(id: &str) -> Entry {
        let (plan, i) = find_entry(id).unwrap();
        plan.entries[i].clone()
    }

    fn random(e: &Entry) -> Box<dyn VideoModel> {
        let opts = LoadOptions {
            device: Device::Cpu,
            weights: Weights::Random,
        };
        load_model(e, &opts).unwrap()
    }

    #[test]
    fn zoo_entries_load_through_the_seam_with_params_and_flops() {
        let e = entry("k400/x3d_xs");
        let m = random(&e);
        assert_eq!(m.label(), "x3d_xs");
        assert_eq!(m.input_layout(), InputLayout::Clip);
        let p = m.params().unwrap();
        assert_eq!(p.source, ParamSource::Parameters);
        assert_eq!(p.count, p.per_module.values().sum::<i64>());
        let f = m.flops(&e.protocol).unwrap();
        let totals: Vec<u64> = f.conventions.iter().map(|c| c.total).collect();
        // BatchNorm at 5 > conv-linear, and eval's 2 per element in between.
        assert!(totals[0] > totals[2] && totals[2] > totals[1], "{totals:?}");
        for (i, c) in f.conventions.iter().enumerate() {
            let rows: u64 = f.ops.iter().filter_map(|o| o.flops[i]).sum();
            assert_eq!(rows, c.total, "{}", c.convention);
            assert_eq!(c.by_operator.values().sum::<u64>(), c.total);
        }
        assert!(f.uncounted.contains_key("relu") && !f.uncounted.contains_key("conv"));
        let sf = random(&entry("k400/slowfast_r50"));
        assert_eq!(sf.input_layout(), InputLayout::Slowfast);
    }

    #[test]
    fn a_checkpoint_with_another_class_count_names_the_key_and_both_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x3d_s_101.safetensors");
        let vs = VarStore::new(Device::Cpu);
        build(
            Arch::X3dS,
            101,
            vbench_suite::Activation::Softmax,
            &vs.root(),
        )
        .unwrap();
        vs.save(&file).unwrap();
        let e = entry("k400/x3d_s");
        let opts = LoadOptions {
            device: Device::Cpu,
            weights: Weights::File(&file),
        };
        let err = load_model(&e, &opts).err().unwrap().to_string();
        assert!(
            err.contains("x3d_s_101.safetensors")
                && err.contains("blocks.5.proj")
                && err.contains("[101, 2048]")
                && err.contains("[400, 2048]")
                && err.contains("num_classes"),
            "{err}"
        );
        let mut e101 = e.clone();
        e101.protocol.num_classes = 101;
        let m = load_model(&e101, &opts).unwrap();
        let out = m
            .forward(&ModelInput::dummy(&e101.protocol, 1, Device::Cpu))
            .unwrap();
        assert_eq!(out.scores.size(), [1, 101]);
    }

    #[test]
    fn op_kind_names_are_their_serialized_names() {
        use crate::op_record::OpKind::*;
        for k in [
            Conv,
            BatchNorm,
            Linear,
            MaxPool,
            AvgPool,
            AdaptiveAvgPool,
            Relu,
            Sigmoid,
            Softmax,
            Swish,
            Add,
            Mul,
            LayerNorm,
            Matmul,
            Gelu,
            RoiAlign,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.name());
        }
    }
}
