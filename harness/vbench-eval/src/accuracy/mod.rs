//! Accuracy: an entry evaluated on its dataset ([`evaluate`]) through the decode → inference loop
//! ([`pipeline`]) that `vbench infer` ([`infer`]) uses for a single video too.

pub mod evaluate;
pub mod infer;
pub mod pipeline;
