//! Where an entry's network comes from: a zoo architecture that vbench builds (`model = "x3d_xs"`)
//! or a TorchScript file of the user's (`model = { torchscript = "my_model.pt", input = "clip" }`),
//! and the input layout that file's `forward` takes.

use crate::arch::Arch;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::PathBuf;

/// What a model's `forward` takes, per view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputLayout {
    /// One tensor `[B, C, T, H, W]`.
    Clip,
    /// A list `[slow, fast]`: `[B, C, T, H, W]` and `[B, C, α·T, H, W]`, α from the protocol.
    Slowfast,
    /// Detection: the clip and person boxes `[K, 5]` (batch index, x1, y1, x2, y2 in pixels).
    ClipBoxes,
    /// Detection: the `[slow, fast]` list and person boxes `[K, 5]`.
    SlowfastBoxes,
}

impl InputLayout {
    pub fn is_slowfast(self) -> bool {
        matches!(self, InputLayout::Slowfast | InputLayout::SlowfastBoxes)
    }

    pub fn has_boxes(self) -> bool {
        matches!(self, InputLayout::ClipBoxes | InputLayout::SlowfastBoxes)
    }

    /// The layout a protocol implies: two pathways when it has α, boxes for keyframe detection.
    pub fn implied(slowfast: bool, boxes: bool) -> InputLayout {
        match (slowfast, boxes) {
            (false, false) => InputLayout::Clip,
            (true, false) => InputLayout::Slowfast,
            (false, true) => InputLayout::ClipBoxes,
            (true, true) => InputLayout::SlowfastBoxes,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InputLayout::Clip => "clip",
            InputLayout::Slowfast => "slowfast",
            InputLayout::ClipBoxes => "clip_boxes",
            InputLayout::SlowfastBoxes => "slowfast_boxes",
        }
    }

    /// The signature `forward` must have, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            InputLayout::Clip => "forward(clip: Tensor[B, C, T, H, W])",
            InputLayout::Slowfast => {
                "forward(pathways: List[Tensor] = [slow [B, C, T, H, W], fast [B, C, α·T, H, W]])"
            }
            InputLayout::ClipBoxes => "forward(clip: Tensor[B, C, T, H, W], boxes: Tensor[K, 5])",
            InputLayout::SlowfastBoxes => {
                "forward(pathways: List[Tensor] = [slow, fast], boxes: Tensor[K, 5])"
            }
        }
    }
}

impl std::fmt::Display for InputLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The network of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// A zoo architecture built by vbench; weights from the entry's checkpoint.
    Zoo(Arch),
    /// A `torch.jit.script` / `torch.jit.trace` file holding the network and its weights.
    #[serde(rename = "torchscript")]
    TorchScript {
        /// As written in the suite, resolved against the suite file's folder.
        path: PathBuf,
        input: InputLayout,
    },
}

impl ModelSource {
    /// The zoo architecture, if this is one.
    pub fn arch(&self) -> Option<Arch> {
        match self {
            ModelSource::Zoo(a) => Some(*a),
            ModelSource::TorchScript { .. } => None,
        }
    }

    pub fn is_slowfast(&self) -> bool {
        match self {
            ModelSource::Zoo(a) => a.is_slowfast(),
            ModelSource::TorchScript { input, .. } => input.is_slowfast(),
        }
    }

    pub fn is_detector(&self) -> bool {
        match self {
            ModelSource::Zoo(a) => a.is_detector(),
            ModelSource::TorchScript { input, .. } => input.has_boxes(),
        }
    }

    /// The architecture column of tables and results: the zoo name, or `torchscript:<file name>`.
    pub fn label(&self) -> String {
        match self {
            ModelSource::Zoo(a) => a.name().to_string(),
            ModelSource::TorchScript { path, .. } => format!(
                "torchscript:{}",
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into()
                )
            ),
        }
    }
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// `model` as written: a zoo name, or an inline table naming a TorchScript file.
#[derive(Debug, Clone, PartialEq)]
pub enum RawModel {
    Zoo(Arch),
    TorchScript(RawTorchScript),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTorchScript {
    /// Path relative to the suite file.
    pub torchscript: String,
    /// Defaults to what the protocol implies (α: `slowfast`; keyframe detection: boxes).
    #[serde(default)]
    pub input: Option<InputLayout>,
}

impl<'de> Deserialize<'de> for RawModel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawModel;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a zoo model name (e.g. \"x3d_m\") or { torchscript = \"file.pt\", input = \"clip\" }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawModel, E> {
                Arch::deserialize(de::value::StrDeserializer::<E>::new(s)).map(RawModel::Zoo)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawModel, A::Error> {
                RawTorchScript::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawModel::TorchScript)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct W {
        model: RawModel,
    }

    fn parse(text: &str) -> Result<RawModel, String> {
        toml::from_str::<W>(text)
            .map(|w| w.model)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn model_is_a_zoo_name_or_a_torchscript_table() {
        assert_eq!(
            parse("model = \"x3d_m\"").unwrap(),
            RawModel::Zoo(Arch::X3dM)
        );
        assert_eq!(
            parse("model = { torchscript = \"m.pt\", input = \"slowfast\" }").unwrap(),
            RawModel::TorchScript(RawTorchScript {
                torchscript: "m.pt".into(),
                input: Some(InputLayout::Slowfast)
            })
        );
        let unknown = parse("model = \"resnet9000\"").unwrap_err();
        assert!(
            unknown.contains("resnet9000") && unknown.contains("x3d_m"),
            "{unknown}"
        );
        let key = parse("model = { torchscrpt = \"m.pt\" }").unwrap_err();
        assert!(key.contains("torchscrpt"), "{key}");
        let layout = parse("model = { torchscript = \"m.pt\", input = \"nchw\" }").unwrap_err();
        assert!(
            layout.contains("nchw") && layout.contains("clip_boxes"),
            "{layout}"
        );
        assert!(parse("model = 3").unwrap_err().contains("zoo model name"));
    }
}
