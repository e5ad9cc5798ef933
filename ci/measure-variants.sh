#!/usr/bin/env bash
# The README's speed-vs-fidelity table, in one command. For each entry: random weights from the
# PyTorch eager script (every BN randomised), then `vbench latency --variant` times every variant
# against fp32 interleaved at 2 threads and at 1 thread and measures its fidelity on every view of
# the videos in VIDEOS_DIR; beside it the eager script times the same conversion on PyTorchVideo's
# own model (autocast for bf16). Run it on a quiet machine: each entry's load average before and
# after, the thread counts and the CPU go into the table.
#
# Usage: ci/measure-variants.sh VIDEOS_DIR [ENTRY...]
#   ENTRY: k400 names (default: x3d_xs x3d_m slow_r50 slowfast_r50), or mobile/efficient_x3d_xs:
#   its fp32 weights and the int8 file quantized from them (QNNPACK) come from
#   tests/oracles/latency_int8.py, int8 runs that file, and the eager script is not timed (it
#   does not build the accelerator zoo's networks).
#   env OUT (default out/measure-variants), PAIRS (interleaved pairs per variant, default 20),
#   THREADS (default "2,1"), EAGER (1: also time PyTorch eager; default 1)
# Writes OUT/<entry>.json (vbench's JSON), OUT/<entry>-eager-<threads>.json, OUT/table.md.
# Runtime on the 2-core EPYC dev box, quiet (estimated from x3d_xs, 26 min at load 8): x3d_xs
# ~7 min, x3d_m ~15, slow_r50 ~40, slowfast_r50 ~50: about two hours for the four (fidelity
# dominates: 6 videos x 30 views x 5 models; then the eager timing).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 VIDEOS_DIR [ENTRY...]" >&2; exit 2; }
videos=$1
shift
[ -d "$videos" ] || { echo "$0: $videos: not a directory" >&2; exit 2; }
entries=("$@")
[ ${#entries[@]} -gt 0 ] || entries=(x3d_xs x3d_m slow_r50 slowfast_r50)

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-out/measure-variants}
pairs=${PAIRS:-20}
threads=${THREADS:-2,1}
eager=${EAGER:-1}
py=$repo/.venv/bin/python
vbench=$repo/target/release/vbench
script=$repo/harness/vbench-eval/benches/variants_eager.py
variants=bf16,bf16-cast,channels-last,folded-bn,int8
[ -x "$vbench" ] || (cd "$repo" && cargo build --release -p vbench-cli)
mkdir -p "$out"

for entry in "${entries[@]}"; do
  case $entry in
    */*) id=$entry; name=${entry##*/} ;;
    *) id=k400/$entry; name=$entry ;;
  esac
  proto=$("$vbench" list --suite "${id%%/*}" --format json | "$py" -c "
import json, sys
e = [e for e in json.load(sys.stdin) if e['id'] == '$id']
if not e: sys.exit('$id: no such entry')
p = e[0]['protocol']
print(e[0]['arch'], p['frames'], p['crop'], p['alpha'] or '')")
  read -r arch frames crop alpha <<<"$proto"
  w=$out/$name.pyth
  int8=()
  entry_eager=$eager
  if [ "$id" = mobile/efficient_x3d_xs ]; then
    [ -f "$out/$name-int8/xs_int8.pt" ] || "$py" "$repo/tests/oracles/latency_int8.py" "$out/$name-int8"
    cp "$out/$name-int8/fp32.pyth" "$w"
    int8=(--int8-model "$out/$name-int8/xs_int8.pt")
    entry_eager=0
  fi
  [ -f "$w" ] || "$py" "$script" --arch "$arch" --export-weights "$w"
  start=$(date +%s)
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  "$vbench" latency --entry "$id" --weights "$w" --variant "$variants" "${int8[@]}" \
    --fidelity-videos "$videos" --threads "$threads" --iters "$pairs" --warmup 2 \
    --out "$out" --output "$out/$name.json" >"$out/$name.txt"
  if [ "$entry_eager" = 1 ]; then
    for t in ${threads//,/ }; do
      "$py" "$script" --arch "$arch" --weights "$w" --time --frames "$frames" --crop "$crop" \
        ${alpha:+--alpha "$alpha"} --threads "$t" --rounds "$pairs" --per-round 1 \
        --variants fp32,bf16,bf16-cast,channels-last,folded-bn \
        --json "$out/$name-eager-$t.json" >/dev/null
    done
  fi
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "{\"entry\": \"$id\", \"load_before\": \"$load_before\", \"load_after\": \"$load_after\", \"seconds\": $(( $(date +%s) - start ))}" >"$out/$name.load.json"
  echo "$id: $(( $(date +%s) - start )) s, load $load_before -> $load_after" >&2
done

"$py" - "$out" "$threads" "${entries[@]##*/}" >"$out/table.md" <<'EOF'
import json, os, sys

out, threads, names = sys.argv[1], [int(t) for t in sys.argv[2].split(",")], sys.argv[3:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"CPU: {cpu}, {os.cpu_count()} logical cores; speed-up = fp32 p50 / variant p50, interleaved "
      "pairs (vbench) or rounds (PyTorch eager, same conversion, same weights).\n")
head = ["entry", "variant"]
for t in threads:
    head += [f"vbench ×, {t} thr (pairs [95% CI])", f"eager ×, {t} thr"]
head += ["view agree", "video agree", "changed views (fp32 margin)", "fp32 margin med / min",
         "max abs Δp", "load (1/5/15 min) before → after"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for n in names:
    rep = json.load(open(f"{out}/{n}.json"))
    load = json.load(open(f"{out}/{n}.load.json"))
    eager = {}
    for t in threads:
        p = f"{out}/{n}-eager-{t}.json"
        if os.path.exists(p):
            for r in json.load(open(p)):
                eager[(r["variant"], t)] = r["speedup"]
    for v in rep["variants"][0]["variants"]:
        a = v["applied"]
        row = [n, v["variant"]]
        if a["status"] != "measured":
            row += [a.get("reason") or a.get("error", "")] + [""] * (len(head) - 3)
            print("| " + " | ".join(row) + " |")
            continue
        for t in threads:
            s = next((s["value"] for s in v["speed"] if s["status"] == "measured"
                      and s["value"]["threads"] == t), None)
            row.append(f"{s['speedup']:.2f} ({s['pair_speedup']:.2f} [{s['pair_speedup_ci95'][0]:.2f}, "
                       f"{s['pair_speedup_ci95'][1]:.2f}])" if s else "—")
            e = eager.get((v["variant"], t))
            row.append(f"{e:.2f}" if e else "—")
        f = v["fidelity"].get("value")
        if f:
            ch = sorted(c["fp32_margin"] for c in f["changed_views"])
            row += [f"{f['view_agreement']:.1f}% ({f['views_agreeing']}/{f['views']})",
                    f"{f['video_agreement']:.1f}% ({f['videos_agreeing']}/{f['videos']})",
                    f"{len(ch)}" + (f" ({', '.join(f'{m:.1e}' for m in ch[:3])})" if ch else ""),
                    f"{f['fp32_margin_median']:.1e} / {f['fp32_margin_min']:.1e}",
                    f"{f['max_abs_prob_diff']:.1e}"]
        else:
            row += [v["fidelity"].get("reason") or v["fidelity"].get("error", "")] + [""] * 4
        row.append(f"{load['load_before']} → {load['load_after']}")
        print("| " + " | ".join(row) + " |")
EOF
cat "$out/table.md"
