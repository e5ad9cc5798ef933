#!/usr/bin/env bash
# GPU latency check, prepared to run as one short script on a CUDA machine (issue 8):
#   1. finds libtorch (the project venv's CUDA wheel, or $LIBTORCH) and shows the GPU (nvidia-smi);
#   2. builds `vbench` in release (the build script links libtorch_cuda with --no-as-needed), unless
#      VBENCH_BIN names a prebuilt binary;
#   3. runs the telemetry unit tests on the GPU (the NVML sampler's recorded path), unless
#      VBENCH_SKIP_TESTS=1;
#   4. `vbench latency` for k400/x3d_xs and k400/slowfast_r50 on cuda with NVML telemetry, and a
#      CPU run of x3d_xs for scale;
#   5. checks that every CUDA row was measured with NVML telemetry recorded.
# Writes latency_cuda.json, latency_cpu.json, nvidia-smi.txt and gpu-check.log to $OUT if set (else
# out/gpu-check). Exit 0: all measured; 1: a row not measured or without telemetry; 2: setup error.
# Bounded: every latency run has --max-time; the whole script stays within a few minutes after build.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${OUT:-$root/out/gpu-check}"
mkdir -p "$out"
exec > >(tee "$out/gpu-check.log") 2>&1
log() { printf '[gpu-check] %s\n' "$*"; }
die() { log "error: $*"; exit 2; }

device="${VBENCH_DEVICE:-cuda:0}"
iters="${VBENCH_ITERS:-50}"

# 1. libtorch and the GPU.
if [ -z "${LIBTORCH:-}" ] && [ ! -d "$root/.venv/lib" ]; then
  log "no .venv and no \$LIBTORCH: running ci/setup.sh (needs network for the torch wheel)"
  "$root/ci/setup.sh" || die "ci/setup.sh failed; set LIBTORCH to a CUDA libtorch (torch 2.13)"
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi | tee "$out/nvidia-smi.txt"
  nvidia-smi -q >> "$out/nvidia-smi.txt" 2>&1 || true
else
  log "nvidia-smi not found: NVML telemetry will say why it is missing"
fi

# 2. Build (or use the given binary).
if [ -n "${VBENCH_BIN:-}" ]; then
  bin="$VBENCH_BIN"
else
  log "building vbench (release)"
  cargo build --release -p vbench-cli || die "build failed"
  bin="$root/target/release/vbench"
fi
[ -x "$bin" ] || die "no vbench binary at $bin"

# 3. Telemetry and latency unit tests, now with a GPU (fast; the build is shared).
if [ "${VBENCH_SKIP_TESTS:-0}" != 1 ] && [ -z "${VBENCH_BIN:-}" ]; then
  log "unit tests: telemetry, latency, provenance"
  cargo test --release -p vbench-eval --lib -- telemetry latency provenance || die "unit tests failed"
fi

# 4. Latency on CUDA (NVML sampler on), then the CPU for scale.
log "vbench latency on $device"
"$bin" latency --entry k400/x3d_xs --entry k400/slowfast_r50 --device "$device" \
  --warmup 10 --iters "$iters" --max-time 120 --output "$out/latency_cuda.json"
rc=$?
[ "$rc" -eq 0 ] || die "vbench latency on $device exited $rc"
log "vbench latency on cpu (x3d_xs, for scale)"
"$bin" latency --entry k400/x3d_xs --device cpu --warmup 2 --iters 10 --max-time 60 \
  --output "$out/latency_cpu.json" || log "cpu run exited $? (not fatal)"

# 5. Every CUDA row measured, with NVML telemetry recorded (not "no NVML").
py="$(command -v python3 || true)"
[ -x "$root/.venv/bin/python" ] && py="$root/.venv/bin/python"
[ -n "$py" ] || { log "no python to check the JSON; see $out/latency_cuda.json"; exit 0; }
"$py" - "$out/latency_cuda.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
bad = 0
print("cuda:", report["cuda"])
for r in report["results"]:
    lat = r["latency"]
    if lat["status"] != "measured":
        print(f"{r['id']}: {lat['status']}: {lat.get('reason') or lat.get('error')}")
        bad += 1
        continue
    v = lat["value"]
    gpu = (v.get("telemetry") or {}).get("gpu", {})
    print(f"{r['id']}: p50 {v['p50_ms']:.3f} ms, p99 {v['p99_ms']:.3f} ms, CV {v['cv']:.3f}, "
          f"{v['clips_per_s']:.1f} clips/s; telemetry {gpu.get('status')}")
    if gpu.get("status") != "recorded":
        print(f"  no NVML telemetry: {gpu.get('reason')}")
        bad += 1
        continue
    keys = ["name", "driver_version", "cuda_runtime_version", "memory_used_peak_bytes",
            "process_memory_peak_bytes", "power_mw", "energy_j_per_clip", "energy_source",
            "sm_clock_mhz", "temperature_c", "gpu_utilization_pct", "throttle_reasons",
            "unsupported"]
    for k in keys:
        print(f"  {k}: {gpu.get(k)}")
sys.exit(1 if bad else 0)
EOF
rc=$?
log "results in $out (exit $rc)"
exit "$rc"
