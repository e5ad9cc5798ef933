//! `vbench slurm`: a suite as a Slurm job array plus a merge job (`vbench_eval::run::slurm` writes
//! the scripts under `DIR/slurm/`); prints them, or with --submit hands them to `sbatch` and
//! prints the job ids.

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use vbench_eval::run::slurm::{sh, submit, write_scripts, SlurmOptions};

#[derive(clap::Args)]
pub struct Args {
    /// A built-in suite (k400, ssv2, charades, ava, mobile) or a path to a suite .toml.
    #[arg(long)]
    suite: String,
    /// Shards, i.e. array tasks (video at list position p goes to shard p mod N).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    shards: u32,
    /// Output folder: shard i in DIR/shard-i, the merge in DIR, scripts and logs in DIR/slurm
    /// [default: out/<suite>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Dataset root, passed to every shard's `vbench run`.
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// Only these entries (names or ids); repeatable.
    #[arg(long = "entry")]
    entries: Vec<String>,
    /// Weights cache folder, passed to every shard.
    #[arg(long)]
    weights_dir: Option<PathBuf>,
    /// Slurm partition (#SBATCH --partition).
    #[arg(long)]
    partition: Option<String>,
    /// GPUs per array task (#SBATCH --gpus-per-task); with it, shards run with --device cuda.
    #[arg(long, default_value_t = 0)]
    gpus_per_task: u32,
    /// CPUs per array task (#SBATCH --cpus-per-task), also each shard's --threads.
    #[arg(long)]
    cpus_per_task: Option<u32>,
    /// Wall-time limit per task (#SBATCH --time), e.g. 01:00:00.
    #[arg(long)]
    time: Option<String>,
    /// Memory per task (#SBATCH --mem), e.g. 32G.
    #[arg(long)]
    mem: Option<String>,
    /// Account to charge (#SBATCH --account).
    #[arg(long)]
    account: Option<String>,
    /// Job name prefix [default: vbench-<suite>].
    #[arg(long)]
    job_name: Option<String>,
    /// The vbench executable on the compute nodes [default: this one].
    #[arg(long)]
    vbench: Option<PathBuf>,
    /// Submit with sbatch (default: only write and print the scripts).
    #[arg(long)]
    submit: bool,
    /// Further `vbench run` arguments for every shard, after `--` (e.g. -- --batch 30 --no-latency).
    #[arg(last = true, value_name = "RUN ARGS")]
    run_args: Vec<String>,
}

pub fn exec(args: Args) -> Result<ExitCode> {
    let written = write_scripts(&SlurmOptions {
        suite: args.suite,
        shards: args.shards,
        out: args.out,
        data_root: args.data_root,
        entries: args.entries,
        weights_dir: args.weights_dir,
        partition: args.partition,
        gpus_per_task: args.gpus_per_task,
        cpus_per_task: args.cpus_per_task,
        time: args.time,
        mem: args.mem,
        account: args.account,
        job_name: args.job_name,
        vbench: args.vbench,
        run_args: args.run_args,
    })?;
    let (shards, merge) = (&written.shards_path, &written.merge_path);
    if !args.submit {
        println!("# {}\n{}", shards.display(), written.scripts.shards);
        println!("# {}\n{}", merge.display(), written.scripts.merge);
        println!(
            "# submit: A=$(sbatch --parsable {}) && sbatch --dependency=afterok:$A {}",
            sh(&shards.display().to_string()),
            sh(&merge.display().to_string())
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (array, merge) = submit(&written)?;
    println!(
        "array job {array} ({} tasks), merge job {merge}",
        args.shards
    );
    println!(
        "results: {} (logs in {})",
        written.out.join("results.json").display(),
        written.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
