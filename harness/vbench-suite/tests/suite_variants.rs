//! `variants = [...]` in a suite's `[suite]` table.

use vbench_suite::{load_suite, Variant};

const ENTRY: &str = "[protocol]\nnum_classes = 400\nchannels = \"rgb\"\nnormalization = \"kinetics\"\n\
head_activation = \"softmax\"\naggregation = \"sum\"\nsampler = \"constant_clips_per_video\"\n\
target_fps = 30\ntemporal_clips = 10\nspatial_crops = 3\nshort_side = 182\ncrop = 182\n\
[[entry]]\nname = \"x3d_xs\"\nmodel = \"x3d_xs\"\ncheckpoint = \"X3D_XS.pyth\"\nreference = \"x3d_xs\"\n\
protocol = { frames = 4, sample_rate = 12 }\n";

fn suite(variants: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.toml");
    let text = format!(
        "[suite]\nname = \"v\"\ntitle = \"V\"\ndataset = \"kinetics400\"\nreference = \"k400.csv\"\n{variants}\n{ENTRY}"
    );
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap().to_string();
    (dir, p)
}

#[test]
fn a_suite_lists_its_variants_in_order() {
    let (_d, p) = suite("variants = [\"bf16\", \"folded-bn\", \"channels-last\"]");
    let plan = load_suite(&p).unwrap();
    assert_eq!(
        plan.suite.variants,
        [Variant::Bf16, Variant::FoldedBn, Variant::ChannelsLast]
    );
    let (_d, p) = suite("");
    assert!(load_suite(&p).unwrap().suite.variants.is_empty());
}

#[test]
fn an_unknown_variant_names_the_file_the_key_and_the_known_ones() {
    let (_d, p) = suite("variants = [\"bf16\", \"int4\"]");
    let err = load_suite(&p).unwrap_err().to_string();
    assert!(
        err.contains("v.toml")
            && err.contains("suite.variants")
            && err.contains("`int4`")
            && err.contains("channels-last"),
        "{err}"
    );
}
