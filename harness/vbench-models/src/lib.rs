//! PyTorchVideo 0.1.5's model zoo in tch, logit-identical in eval mode: the CNNs, MViT-B, the AVA
//! detectors (with a tch RoIAlign) and efficient X3D in both its original and deployment forms.
//!
//! One family per file, each builder named after PyTorchVideo's `create_*`; `nn::Path` segments
//! are PyTorchVideo's state-dict keys word for word, so official `.pyth` checkpoints load strictly
//! (`checkpoint`). Every leaf op goes through `layers`, which reports shapes to `op_record` (counted by `vbench_eval::flops`).

mod blocks;
pub mod checkpoint;
pub mod csn;
pub mod detection;
pub mod efficient_x3d;
mod efficient_x3d_deploy;
mod error;
mod head;
mod layers;
pub mod mvit;
mod net;
pub mod op_record;
pub mod r2plus1d;
mod registry;
pub mod resnet;
pub mod roi_align;
pub mod slowfast;
mod stem;
pub mod variant;
pub mod x3d;

pub use error::{ModelError, Result};
pub use registry::{
    build, param_count, zoo_config, ModelConfig, ModelInput, ModelOutput, VideoModel,
};

#[cfg(test)]
mod tests;
