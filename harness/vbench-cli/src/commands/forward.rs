//! `vbench forward`: one model on the tensors of a safetensors file, for comparing vbench with another
//! framework. Inputs: `input`, or `slow` and `fast`, plus `boxes` ([K, 5]) for detectors. Outputs:
//! `logits` (after the head's eval activation) and `pre_activation`.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use tch::Tensor;
use vbench_eval::model::load_model;
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
    /// Where to write `logits` and `pre_activation` (safetensors).
    #[arg(long)]
    output: PathBuf,
    /// cpu or cuda[:i].
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let entry = super::common::resolve_entry(None, &args.entry)?;
    let device = super::common::parse_device(&args.device)?;
    let (_vs, model) = load_model(&entry, &args.weights, device)?;
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
    Tensor::write_safetensors(
        &[
            ("logits", &out.scores),
            ("pre_activation", &out.pre_activation),
        ],
        &args.output,
    )
    .with_context(|| format!("{}: cannot write", args.output.display()))?;
    Ok(ExitCode::SUCCESS)
}
