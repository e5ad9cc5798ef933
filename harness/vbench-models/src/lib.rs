//! The model seam (`model`: one `VideoModel` trait every backend implements; `backends`: one
//! `load_model(entry)`, backends registered in `BACKENDS`), its TorchScript backends
//! (`torchscript`, on the `vbench-torch-ext` shim) and its zoo backend (`zoo`): PyTorchVideo 0.1.5's
//! model zoo in tch, logit-identical in eval mode: the CNNs, MViT-B, the AVA detectors (with a tch
//! RoIAlign) and efficient X3D in both its original and deployment forms.
//!
//! One family per file, each builder named after PyTorchVideo's `create_*`; `nn::Path` segments
//! are PyTorchVideo's state-dict keys word for word, so official `.pyth` checkpoints load strictly
//! (`checkpoint`). Every leaf op goes through `layers`, which reports shapes to `op_record`, counted
//! by `zoo::counting`.

mod backends;
mod blocks;
pub mod checkpoint;
pub mod csn;
pub mod detection;
pub mod efficient_x3d;
mod efficient_x3d_deploy;
mod error;
mod head;
mod layers;
mod model;
pub mod mvit;
mod net;
pub mod op_record;
pub mod r2plus1d;
pub mod resnet;
pub mod roi_align;
pub mod slowfast;
mod stem;
pub mod torchscript;
pub mod variant;
pub mod x3d;
pub mod zoo;

pub use backends::{backend_for, load_model, BACKENDS};
pub use error::{ModelError, Result};
pub use model::{
    Backend, ConventionCount, FlopsCount, LoadOptions, ModelInput, ModelOutput, OpCost, ParamCount,
    ParamSource, Transformed, VideoModel, Weights,
};
pub use zoo::{build, param_count, zoo_config, ModelConfig, ZooModel, ZooNet};

#[cfg(test)]
mod tests;
