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
        self.head.forward(&run_blocks(&self.blocks, x)?)
    }

    /// The stem's first weight: the dtype and device inputs are cast to.
    pub fn first_weight(&self) -> Option<&Tensor> {
        first_weight(&self.blocks)
    }
}

/// Runs `blocks` in order (a backbone without its head).
pub(crate) fn run_blocks(blocks: &[NetBlock], x: &Tensor) -> Result<Tensor> {
    let mut x = x.shallow_clone();
    for block in blocks {
        x = block.forward(&x)?;
    }
    Ok(x)
}

/// The first block's stem weight, if the first block is a stem.
pub(crate) fn first_weight(blocks: &[NetBlock]) -> Option<&Tensor> {
    match blocks.first() {
        Some(NetBlock::Stem(stem)) => Some(stem.first_weight()),
        _ => None,
    }
}

impl NetBlock {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            NetBlock::Stem(b) => b.forward(x),
            NetBlock::Stage(b) => b.forward(x),
            NetBlock::Pool(b) => b.forward(x),
        }
    }
}
