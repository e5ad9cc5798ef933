//! The architectures vbench can build, by PyTorchVideo hub-builder name. A typed preset: the models
//! crate maps each variant to its `create_*` builder and constants; suites only name it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    C2dR50,
    I3dR50,
    SlowR50,
    /// `slow_r50` with head pool (4,7,7); no hub builder.
    SlowR50_4x16,
    SlowfastR50,
    /// `create_slowfast` with α 8, fusion kernel 5 (PySlowFast SLOWFAST_4x16_R50); no hub builder.
    SlowfastR50_4x16,
    SlowfastR101,
    #[serde(rename = "slowfast_16x8_r101_50_50")]
    Slowfast16x8R101_50_50,
    CsnR101,
    R2plus1dR50,
    X3dXs,
    X3dS,
    X3dM,
    X3dL,
    #[serde(rename = "mvit_base_16x4")]
    MvitBase16x4,
    #[serde(rename = "mvit_base_32x3")]
    MvitBase32x3,
    SlowR50Detection,
    SlowfastR50Detection,
    EfficientX3dXs,
    EfficientX3dS,
}

impl Arch {
    pub const ALL: [Arch; 20] = [
        Arch::C2dR50,
        Arch::I3dR50,
        Arch::SlowR50,
        Arch::SlowR50_4x16,
        Arch::SlowfastR50,
        Arch::SlowfastR50_4x16,
        Arch::SlowfastR101,
        Arch::Slowfast16x8R101_50_50,
        Arch::CsnR101,
        Arch::R2plus1dR50,
        Arch::X3dXs,
        Arch::X3dS,
        Arch::X3dM,
        Arch::X3dL,
        Arch::MvitBase16x4,
        Arch::MvitBase32x3,
        Arch::SlowR50Detection,
        Arch::SlowfastR50Detection,
        Arch::EfficientX3dXs,
        Arch::EfficientX3dS,
    ];

    /// The snake_case name used in suite files.
    pub fn name(self) -> &'static str {
        match self {
            Arch::C2dR50 => "c2d_r50",
            Arch::I3dR50 => "i3d_r50",
            Arch::SlowR50 => "slow_r50",
            Arch::SlowR50_4x16 => "slow_r50_4x16",
            Arch::SlowfastR50 => "slowfast_r50",
            Arch::SlowfastR50_4x16 => "slowfast_r50_4x16",
            Arch::SlowfastR101 => "slowfast_r101",
            Arch::Slowfast16x8R101_50_50 => "slowfast_16x8_r101_50_50",
            Arch::CsnR101 => "csn_r101",
            Arch::R2plus1dR50 => "r2plus1d_r50",
            Arch::X3dXs => "x3d_xs",
            Arch::X3dS => "x3d_s",
            Arch::X3dM => "x3d_m",
            Arch::X3dL => "x3d_l",
            Arch::MvitBase16x4 => "mvit_base_16x4",
            Arch::MvitBase32x3 => "mvit_base_32x3",
            Arch::SlowR50Detection => "slow_r50_detection",
            Arch::SlowfastR50Detection => "slowfast_r50_detection",
            Arch::EfficientX3dXs => "efficient_x3d_xs",
            Arch::EfficientX3dS => "efficient_x3d_s",
        }
    }

    /// Two-pathway models take `[slow, fast]` and need α.
    pub fn is_slowfast(self) -> bool {
        matches!(
            self,
            Arch::SlowfastR50
                | Arch::SlowfastR50_4x16
                | Arch::SlowfastR101
                | Arch::Slowfast16x8R101_50_50
                | Arch::SlowfastR50Detection
        )
    }

    pub fn is_detector(self) -> bool {
        matches!(self, Arch::SlowR50Detection | Arch::SlowfastR50Detection)
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for a in Arch::ALL {
            let parsed: Arch = serde_json_like(a.name());
            assert_eq!(parsed, a);
        }
    }

    fn serde_json_like(name: &str) -> Arch {
        #[derive(Deserialize)]
        struct W {
            a: Arch,
        }
        toml::from_str::<W>(&format!("a = \"{name}\"")).unwrap().a
    }
}
