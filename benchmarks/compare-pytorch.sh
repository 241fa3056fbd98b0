#!/usr/bin/env bash
# One run, the same 9-band 224² batches (batch 8 and 32) through (a) Debian's PyTorch 1.13 (2 threads) eager and with its
# best CPU settings (torch.jit.trace + freeze + optimize_for_inference, channels-last), (b) a raw ONNX Runtime session on
# the fp32 ONNX file, (c) our library fp32, int8 and fp16; images/s and ratios vs the best PyTorch, plus a roofline line
# (the encoder's GFLOP/s against ONNX Runtime's measured peak on this machine, fp32 and int8).
# Usage: bash benchmarks/compare-pytorch.sh [--model M.onnx] [--int8 M.int8.onnx | --quantize CALIBRATION_DIR]
#          [--fp16 M.fp16.onnx] [--batches 8,32] [--seconds 4] [--roofline-seconds 24]
#   --model     fp32 encoder (default: the benchmarks' SeCo-Eco-shaped ResNet-50 with random weights)
#   --int8      int8 model (default: quantised here from --model, 8 seeded synthetic calibration patches, as the library does)
#   --quantize  make the int8 model with 'ssl4eco quantize MODEL --calibration DIR --output ...' instead
#   --fp16      float16 model (default: converted here from --model with ModelQuantizer.ConvertToFloat16)
# About 5 minutes on an idle 2-core machine. Writes benchmarks/results/compare-pytorch.md and compare-pytorch.png.
set -euo pipefail
cd "$(dirname "$0")/.."
model=""; int8=""; fp16=""; calib=""; batches=8,32; seconds=4; roof_seconds=24; gemm_n=2048
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2;; --int8) int8=$2; shift 2;; --fp16) fp16=$2; shift 2;; --quantize) calib=$2; shift 2;;
    --batches) batches=$2; shift 2;; --seconds) seconds=$2; shift 2;; --roofline-seconds) roof_seconds=$2; shift 2;;
    *) echo "error: unknown option '$1' (see the usage at the top of $0)" >&2; exit 2;;
  esac
done
work=${TMPDIR:-/tmp}/ssl4eco-compare; mkdir -p "$work" benchmarks/results
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
dotnet build -c Release benchmarks/SSL4Eco.Benchmarks >/dev/null
bench() { dotnet run -c Release --no-build --project benchmarks/SSL4Eco.Benchmarks -- "$@"; }
[ -n "$model" ] || { model=$work/model.onnx; bench write-model "$model"; }
if [ -n "$calib" ]; then
  dotnet build -c Release src/SSL4Eco.Cli >/dev/null
  int8=$work/model.int8.onnx
  dotnet src/SSL4Eco.Cli/bin/Release/net10.0/ssl4eco.dll quantize "$model" --calibration "$calib" --output "$int8"
fi
[ -n "$int8" ] || { int8=$work/model.int8.onnx; bench write-int8 "$model" "$int8"; }
[ -n "$fp16" ] || { fp16=$work/model.fp16.onnx; bench write-fp16 "$model" "$fp16"; }
for f in "$model" $int8 $fp16; do [ -f "$f" ] || { echo "error: model file '$f' does not exist" >&2; exit 2; }; done
/usr/bin/python3 benchmarks/python/onnx_graph.py gemm "$work" "$gemm_n"
/usr/bin/python3 benchmarks/python/onnx_graph.py roofline "$work" > "$work/probes.tsv"
gflop=$(/usr/bin/python3 benchmarks/python/onnx_graph.py flops "$model")
gflop_torch=$(cd benchmarks/python && /usr/bin/python3 onnx_graph.py torchflops)
(cd benchmarks/python && /usr/bin/python3 torch_compare.py "$work/batch.npy" "$batches" "$seconds") > "$work/rows.tsv"
extra=(); [ -n "$int8" ] && extra+=("int8=$int8"); [ -n "$fp16" ] && extra+=("fp16=$fp16")
bench compare "$work/batch.npy" "$batches" "$seconds" "fp32=$model" "${extra[@]}" >> "$work/rows.tsv"
bench roofline "$work/probes.tsv" "$gflop" "$roof_seconds" 4 "fp32=$model" "int8=$int8" "old-gemm=$work/gemm-fp32.onnx" "old-gemm-n=$gemm_n" >> "$work/rows.tsv"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
awk -F'\t' '$1 == "images/s" { print $2 "\t" $3 "\t" $4 }' "$work/rows.tsv" > "$work/chart.tsv"
bench chart "$work/chart.tsv" benchmarks/results/compare-pytorch.png
value() { awk -F'\t' -v n="$1" -v b="$2" '$2 == n && $3 == b { print $4 }' "$work/rows.tsv"; }
IFS=, read -ra bs <<< "$batches"
{
  echo "# SSL4Eco.NET vs PyTorch on the same batches, one run"
  echo
  echo "Measured $(date -u '+%F %H:%M UTC') with \`bash benchmarks/compare-pytorch.sh$([ -n "$calib" ] && echo " --quantize $calib")\`."
  echo "Machine: $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(nproc) cores, $(lscpu | grep -o 'avx512_vnni\|avx512f' | sort -u | tr '\n' ' ')— load average $load_before before, $load_after after (the machine is shared with other builds and test runs; absolute numbers move with the load, the ratios less)."
  awk -v l="${load_before%% *}" -v c="$(nproc)" 'BEGIN { if (l + 0 > c + 0) print "\n**The load average was above the core count when this ran: other processes took most of the CPU, so these numbers say little about the machine or the ratios; rerun on an idle machine.**\n" }'
  echo "Software: $(/usr/bin/python3 -c 'import torch; print("PyTorch", torch.__version__)') (Debian, 2 threads), ONNX Runtime $(grep -o 'OnnxRuntime" Version="[^"]*' Directory.Packages.props | head -1 | cut -d'"' -f3) CPU (graph optimisation ALL, default threads = all cores), .NET $(dotnet --version)."
  echo "Input: the same random 9-band 224² float32 batch (batch.npy written by the PyTorch side) everywhere; ResNet-50 SeCo-Eco shape, random weights. images/s = batch / median time of one call (2 warm-ups, ≥ 5 calls, ≥ ${seconds} s)."
  echo
  printf '| Configuration |'; for b in "${bs[@]}"; do printf ' batch %s images/s | vs best PyTorch |' "$b"; done; echo
  printf '|---|'; for b in "${bs[@]}"; do printf -- '---:|---:|'; done; echo
  for n in pytorch-eager pytorch-best onnxruntime-raw-fp32 library-fp32 library-int8 library-fp16; do
    printf '| %s |' "$n"
    for b in "${bs[@]}"; do
      v=$(value "$n" "$b"); best=$(value pytorch-best "$b")
      if [ -z "$v" ]; then printf ' not measured | |'; else printf ' %s | %s× |' "$v" "$(awk -v a="$v" -v c="$best" 'BEGIN { printf "%.2f", a / c }')"; fi
    done; echo
  done
  echo
  roof() { awk -F'\t' -v k="$1" -v n="$2" '$1 == k && $2 == n { print $4 }' "$work/rows.tsv"; }
  peak() { awk -F'\t' -v p="roofline-$1-" '$1 == "gflops" && index($2, p) == 1 && $4 > m { m = $4; n = $2 } END { print m "\t" n }' "$work/rows.tsv"; }
  IFS=$'\t' read -r p32 p32n < <(peak fp32); IFS=$'\t' read -r p8 p8n < <(peak int8)
  e32=$(roof gflops encoder-fp32); e8=$(roof gflops encoder-int8)
  pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
  echo "**Roofline.** The encoder is $gflop GFLOP per 9-band 224² image (2 × multiply-accumulates of every Conv/Gemm in the ONNX graph, \`benchmarks/python/onnx_graph.py flops\`; PyTorch's module shapes give $gflop_torch, \`onnx_graph.py torchflops\`)."
  echo "The peak is the fastest of ONNX Runtime's own kernels on compute-bound probes (\`onnx_graph.py roofline\`: 3×3 and 1×1 convolutions of the encoder's layer shapes at batch 8 and a 2048³ product with constant weights; int8 = QLinearConv / MatMulInteger, u8 activations × s8 per-channel weights, the VNNI kernels the int8 encoder runs), one intra-op thread per core, input and output tensors allocated once, interleaved with the encoder round by round over ${roof_seconds} s, fastest call of each. The encoder's number is its fastest batch-8 call in the same rounds."
  echo
  echo "| | measured peak (probe) | encoder (batch 8, fastest call) | encoder / peak |"
  echo "|---|---:|---:|---:|"
  echo "| fp32 | $p32 GFLOP/s (${p32n#roofline-fp32-}) | $e32 GFLOP/s | $(pct "$e32" "$p32") |"
  echo "| int8 | $p8 GOP/s (${p8n#roofline-int8-}) | $e8 GOP/s | $(pct "$e8" "$p8") |"
  echo
  echo "Every probe (GFLOP/s, fastest call): $(awk -F'\t' '$1 == "gflops" && $2 ~ /^roofline-/ { sub(/^roofline-/, "", $2); printf "%s%s %s", s, $2, $4; s = ", " }' "$work/rows.tsv")."
  echo "Nominal ceiling: $(nproc) cores × 2.5 GHz × 2 AVX-512 FMA units × 16 lanes × 2 = $(( $(nproc) * 160 )) GFLOP/s fp32; VNNI int8 (vpdpbusd: 4 u8×s8 products per 32-bit lane) 4× that = $(( $(nproc) * 640 )) GOP/s (the turbo and AVX-512 clocks of a cloud VM are unknown)."
  echo "Why the old probe (the ${gemm_n}² MatMul this file quoted before: 82 GFLOP/s, below the encoder) underestimated the peak: measured in the same rounds it gives $(roof gflops old-gemm-fp32-input-b) GFLOP/s at its fastest call and $(roof gflops-median old-gemm-fp32-input-b) at the median, the constant-B MatMul $(roof gflops roofline-fp32-matmul2048), while a convolution probe gives $p32: ONNX Runtime's MatMul (MLAS SGEMM, packing A and B, a 16 MiB output) is a slower kernel path than the NCHWc convolutions the fp32 encoder runs after graph optimisation (and QLinearConv's than MatMulInteger's for int8), so a MatMul is not the encoder's roofline; a median of a single probe measured after the other rows on a shared machine added noise."
  echo
  echo "![images/s per configuration](compare-pytorch.png)"
  echo
  echo "Raw rows (tab-separated kind, configuration, batch or GEMM size, value):"
  echo
  echo '```'
  cat "$work/rows.tsv"
  echo '```'
} > benchmarks/results/compare-pytorch.md
cat benchmarks/results/compare-pytorch.md
