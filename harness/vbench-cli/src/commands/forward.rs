//! `vbench forward`: one model on the tensors of a safetensors file, for comparing vbench with another
//! framework. Inputs: `input`, or `slow` and `fast`, plus `boxes` ([K, 5]) for detectors. Outputs
//! (format `vbench-forward/2`, named in the file's metadata): `logits`, the raw head output, and
//! `scores`, after the protocol's activation. Format 1 (no metadata) wrote the scores as `logits`
//! and the logits as `pre_activation`.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use tch::Tensor;
use vbench_eval::model::load_model;
use vbench_models::checkpoint::write_safetensors;
use vbench_models::ModelInput;

#[derive(clap::Args)]
pub struct Args {
    /// The entry, e.g. k400/x3d_xs.
    #[arg(long)]
    entry: String,
    /// Checkpoint (.pyth, .pth or .safetensors), loaded strictly.
    #[arg(long)]
    weights: PathBuf,
    /// safetensors with `input`, or `slow` + `fast`; plus `boxes` for detectors.
    #[arg(long)]
    input: PathBuf,
    /// Where to write `logits` and `scores` (safetensors, format `vbench-forward/2`).
    #[arg(long)]
    output: PathBuf,
    /// cpu or cuda[:i].
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let entry = super::common::resolve_entry(None, &args.entry)?;
    let device = super::common::parse_device(&args.device)?;
    let weights = vbench_eval::accuracy::evaluate::weights_to_load(&entry, &args.weights);
    let model = load_model(&entry, weights, device)?;
    let mut tensors: HashMap<String, Tensor> = Tensor::read_safetensors(&args.input)
        .with_context(|| format!("{}: cannot read safetensors", args.input.display()))?
        .into_iter()
        .collect();
    let input = match (
        tensors.remove("input"),
        tensors.remove("slow"),
        tensors.remove("fast"),
    ) {
        (Some(x), None, None) => ModelInput::Single(x),
        (None, Some(slow), Some(fast)) => ModelInput::SlowFast { slow, fast },
        _ => bail!(
            "{}: expected a tensor `input`, or `slow` and `fast` (found: {:?})",
            args.input.display(),
            tensors.keys().collect::<Vec<_>>()
        ),
    };
    let out = tch::no_grad(|| match tensors.remove("boxes") {
        Some(boxes) => model.forward_boxes(&input, &boxes),
        None => model.forward(&input),
    })
    .with_context(|| format!("{}: forward on {}", entry.id, args.input.display()))?;
    let metadata = forward_metadata(&entry);
    write_safetensors(
        &args.output,
        &[("logits", &out.pre_activation), ("scores", &out.scores)],
        &metadata,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The output file's format marker and what its two tensors are.
fn forward_metadata(entry: &vbench_suite::Entry) -> BTreeMap<String, String> {
    let activation = format!("{:?}", entry.protocol.head_activation).to_lowercase();
    BTreeMap::from([
        ("format".into(), FORWARD_FORMAT.into()),
        ("entry".into(), entry.id.clone()),
        ("activation".into(), activation.clone()),
        ("logits".into(), LOGITS_DOC.into()),
        (
            "scores".into(),
            format!(
                "{activation} of each output position's logits, then averaged over the \
                 positions (PySlowFast's eval head); equal to {activation}(logits) only with \
                 one position"
            ),
        ),
    ])
}

/// What `logits` holds (README and the file's metadata say the same).
const LOGITS_DOC: &str = "raw head output: the projection, before the activation, averaged over \
    the head's output positions where there are several (a test crop larger than the crop the \
    head's pool was built for: X3D's 3-crop test crops give 2x2 positions, X3D-L 3x3)";

/// The file format marker: version 1 (no metadata) named the scores `logits` and the logits
/// `pre_activation`.
pub const FORWARD_FORMAT: &str = "vbench-forward/2";
