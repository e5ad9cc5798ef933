//! Speed variants: model transformations that trade fidelity for speed (`vbench --variant`, a
//! suite's `variants = [...]`). Each is applied to a loaded model behind the model seam; this file
//! only names them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One way of running a model. `fp32` is the reference every other variant is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The model as loaded: float32 weights and activations, contiguous layout.
    Fp32,
    /// `torch.autocast("cpu", torch.bfloat16)`: convolutions, linear layers and matmuls in
    /// bfloat16, the ops libtorch's autocast policy keeps in float32 in float32.
    Bf16,
    /// Weights and activations cast to bfloat16; float32 only where no bfloat16 kernel exists.
    Bf16Cast,
    /// Weights and inputs in the ChannelsLast3d (NDHWC) memory layout.
    ChannelsLast,
    /// Every BatchNorm folded into the convolution before it.
    FoldedBn,
    /// A published or user-supplied quantized TorchScript model of the same network.
    Int8,
    /// Weights and activations in float16 (CUDA only).
    Fp16,
}

impl Variant {
    pub const ALL: [Variant; 7] = [
        Variant::Fp32,
        Variant::Bf16,
        Variant::Bf16Cast,
        Variant::ChannelsLast,
        Variant::FoldedBn,
        Variant::Int8,
        Variant::Fp16,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Fp32 => "fp32",
            Variant::Bf16 => "bf16",
            Variant::Bf16Cast => "bf16-cast",
            Variant::ChannelsLast => "channels-last",
            Variant::FoldedBn => "folded-bn",
            Variant::Int8 => "int8",
            Variant::Fp16 => "fp16",
        }
    }

    /// What the variant does, in one line (tables, `--help`).
    pub fn describe(self) -> &'static str {
        match self {
            Variant::Fp32 => "the reference: float32, contiguous",
            Variant::Bf16 => "CPU autocast to bfloat16 (torch.autocast(\"cpu\", torch.bfloat16))",
            Variant::Bf16Cast => {
                "weights and activations cast to bfloat16; float32 where no bfloat16 kernel exists"
            }
            Variant::ChannelsLast => "ChannelsLast3d weights and inputs",
            Variant::FoldedBn => "BatchNorm folded into the preceding convolutions",
            Variant::Int8 => "a quantized TorchScript model of the same network, where one exists",
            Variant::Fp16 => "float16 weights and activations (CUDA only)",
        }
    }

    /// Every name, for messages: `fp32, bf16, ...`.
    pub fn names() -> String {
        Variant::ALL.map(Variant::name).join(", ")
    }

    /// `bf16,channels-last` → the variants in the order given, duplicates dropped. Each name is
    /// checked; the error names the first unknown one and lists the known.
    pub fn parse_list(s: &str) -> Result<Vec<Variant>, UnknownVariant> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let v: Variant = part.parse()?;
            if !out.contains(&v) {
                out.push(v);
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A variant name vbench does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown variant `{0}`; variants: fp32, bf16, bf16-cast, channels-last, folded-bn, int8, fp16"
)]
pub struct UnknownVariant(pub String);

impl FromStr for Variant {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownVariant(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>().unwrap(), v);
            assert_eq!(serde_json::to_value(v).unwrap(), v.name());
        }
        assert_eq!(Variant::names().split(", ").count(), Variant::ALL.len());
        // The message lists exactly the known names.
        let msg = UnknownVariant("x".into()).to_string();
        assert!(msg.ends_with(&Variant::names()), "{msg}");
    }

    #[test]
    fn lists_keep_order_drop_duplicates_and_name_the_unknown() {
        assert_eq!(
            Variant::parse_list("bf16, folded-bn,bf16").unwrap(),
            [Variant::Bf16, Variant::FoldedBn]
        );
        assert_eq!(
            Variant::parse_list("bf16,fp8").unwrap_err(),
            UnknownVariant("fp8".into())
        );
        assert!(Variant::parse_list("").unwrap().is_empty());
    }
}
