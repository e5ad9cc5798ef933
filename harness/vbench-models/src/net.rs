//! `Net` (PyTorchVideo `models/net.py`) for single-pathway models: `blocks.N` run in order, the
//! last one being the head.

use tch::Tensor;

use crate::blocks::ResStage;
use crate::error::Result;
use crate::head::{HeadOutput, ResNetBasicHead};
use crate::layers::MaxPool3d;
use crate::stem::ResNetBasicStem;

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per model
pub(crate) enum NetBlock {
    Stem(ResNetBasicStem),
    Stage(ResStage),
    /// C2D/I3D's `stage1_pool` (a parameterless `blocks.2`).
    Pool(MaxPool3d),
}

#[derive(Debug)]
pub(crate) struct Net {
    pub blocks: Vec<NetBlock>,
    pub head: ResNetBasicHead,
}

impl Net {
    pub fn forward(&self, x: &Tensor) -> Result<HeadOutput> {
        let mut x = x.shallow_clone();
        for block in &self.blocks {
            x = match block {
                NetBlock::Stem(b) => b.forward(&x)?,
                NetBlock::Stage(b) => b.forward(&x)?,
                NetBlock::Pool(b) => b.forward(&x)?,
            };
        }
        self.head.forward(&x)
    }

    /// The stem's first weight: the dtype and device inputs are cast to.
    pub fn first_weight(&self) -> Option<&Tensor> {
        match self.blocks.first() {
            Some(NetBlock::Stem(stem)) => Some(stem.first_weight()),
            _ => None,
        }
    }
}
