//! Checkpoint loading: `read_state_dict` on files written at bench time — a `torch.save` archive of
//! PyTorchVideo's slow_r50 (the project venv writes it, as the zoo's `.pyth` files are written) and
//! a safetensors file of the same variables — plus `load_strict` into a fresh VarStore.
//! `cargo bench -p vbench-models --bench checkpoint`

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tch::nn::VarStore;
use vbench_models::checkpoint::{load_strict, read_state_dict};
use vbench_suite::{Activation, Arch};

fn python() -> PathBuf {
    std::env::var_os("VBENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"))
}

/// slow_r50's state_dict saved by torch (`{"model_state": ...}`, the zoo's layout), or why not.
fn write_pyth(path: &Path) -> Result<(), String> {
    let script = "import sys, torch\nfrom pytorchvideo.models import hub\n\
                  torch.save({'model_state': hub.slow_r50(pretrained=False).state_dict()}, sys.argv[1])";
    let out = std::process::Command::new(python())
        .args(["-c", script])
        .arg(path)
        .output()
        .map_err(|e| format!("{}: {e}", python().display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(())
}

fn model_vs() -> VarStore {
    let vs = VarStore::new(tch::Device::Cpu);
    vbench_models::build(Arch::SlowR50, 400, Activation::Softmax, &vs.root()).expect("slow_r50");
    vs
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let st = dir.path().join("slow_r50.safetensors");
    let vs = model_vs();
    let named: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
    tch::Tensor::write_safetensors(&named, &st).expect("write safetensors");
    c.bench_function("read_state_dict_safetensors_slow_r50", |b| {
        b.iter(|| read_state_dict(black_box(&st)).expect("read"))
    });

    let pyth = dir.path().join("slow_r50.pyth");
    match write_pyth(&pyth) {
        Ok(()) => {
            c.bench_function("read_state_dict_pyth_slow_r50", |b| {
                b.iter(|| read_state_dict(black_box(&pyth)).expect("read"))
            });
            c.bench_function("read_and_load_strict_pyth_slow_r50", |b| {
                b.iter_batched(
                    model_vs,
                    |mut vs| {
                        let sd = read_state_dict(&pyth).expect("read");
                        load_strict(&mut vs, sd, &pyth).expect("strict load");
                        vs
                    },
                    criterion::BatchSize::LargeInput,
                )
            });
        }
        Err(why) => eprintln!("checkpoint bench: no .pyth (the venv could not write one): {why}"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
