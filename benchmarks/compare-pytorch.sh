#!/usr/bin/env bash
# One run, the same 9-band 224² batches (batch 8 and 32) through (a) Debian's PyTorch 1.13 (2 threads) eager and with its
# best CPU settings (torch.jit.trace + freeze + optimize_for_inference, channels-last), (b) a raw ONNX Runtime session on
# the fp32 ONNX file, (c) our library fp32, (d) our library int8 and fp16 when their model files are given; images/s and
# ratios vs the best PyTorch, plus a roofline line (ONNX Runtime GEMM peaks vs the encoder's achieved GFLOP/s).
# Usage: bash benchmarks/compare-pytorch.sh [--model M.onnx] [--int8 M.int8.onnx | --quantize CALIBRATION_DIR]
#          [--fp16 M.fp16.onnx] [--batches 8,32] [--seconds 6] [--gemm-n 2048]
#   --model     fp32 encoder (default: the benchmarks' SeCo-Eco-shaped ResNet-50 with random weights)
#   --quantize  make the int8 model with 'ssl4eco quantize MODEL --calibration DIR --output ...' first
# Writes benchmarks/results/compare-pytorch.md and compare-pytorch.png.
set -euo pipefail
cd "$(dirname "$0")/.."
model=""; int8=""; fp16=""; calib=""; batches=8,32; seconds=6; gemm_n=2048
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2;; --int8) int8=$2; shift 2;; --fp16) fp16=$2; shift 2;; --quantize) calib=$2; shift 2;;
    --batches) batches=$2; shift 2;; --seconds) seconds=$2; shift 2;; --gemm-n) gemm_n=$2; shift 2;;
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
for f in "$model" $int8 $fp16; do [ -f "$f" ] || { echo "error: model file '$f' does not exist" >&2; exit 2; }; done
/usr/bin/python3 benchmarks/python/onnx_graph.py gemm "$work" "$gemm_n"
gflop=$(/usr/bin/python3 benchmarks/python/onnx_graph.py flops "$model")
(cd benchmarks/python && /usr/bin/python3 torch_compare.py "$work/batch.npy" "$batches" "$seconds") > "$work/rows.tsv"
extra=(); [ -n "$int8" ] && extra+=("int8=$int8"); [ -n "$fp16" ] && extra+=("fp16=$fp16")
bench compare "$work/batch.npy" "$batches" "$seconds" "fp32=$model" "${extra[@]}" \
  "gemm-fp32=$work/gemm-fp32.onnx" "gemm-int8=$work/gemm-int8.onnx" "gemm-n=$gemm_n" >> "$work/rows.tsv"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
awk -F'\t' '$1 == "images/s" { print $2 "\t" $3 "\t" $4 }' "$work/rows.tsv" > "$work/chart.tsv"
bench chart "$work/chart.tsv" benchmarks/results/compare-pytorch.png
value() { awk -F'\t' -v n="$1" -v b="$2" '$2 == n && $3 == b { print $4 }' "$work/rows.tsv"; }
IFS=, read -ra bs <<< "$batches"
{
  echo "# SSL4Eco.NET vs PyTorch on the same batches, one run"
  echo
  echo "Measured $(date -u '+%F %H:%M UTC') with \`bash benchmarks/compare-pytorch.sh$([ -n "$int8" ] && echo " --int8 …")$([ -n "$fp16" ] && echo " --fp16 …")\`."
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
  g32=$(awk -F'\t' '$2 == "gemm-fp32" { print $4 }' "$work/rows.tsv"); g8=$(awk -F'\t' '$2 == "gemm-int8" { print $4 }' "$work/rows.tsv")
  f32=$(for b in "${bs[@]}"; do value library-fp32 "$b"; done | sort -g | tail -1)
  i8=$(for b in "${bs[@]}"; do value library-int8 "$b"; done | sort -g | tail -1)
  echo "**Roofline.** The encoder is $gflop GFLOP per image (2 × multiply-accumulates of every Conv/Gemm in the ONNX graph, counted by \`benchmarks/python/onnx_graph.py flops\`)."
  echo "ONNX Runtime's ${gemm_n}² GEMM reaches $g32 GFLOP/s fp32 (MatMul) and $g8 GOP/s int8 (MatMulInteger u8 × s8) on this machine; our fp32 encoder at its best batch ($f32 images/s) achieves $(awk -v a="$f32" -v g="$gflop" -v p="$g32" 'BEGIN { printf "%.0f GFLOP/s = %.0f %% of the fp32 GEMM peak", a * g, 100 * a * g / p }')$([ -n "$i8" ] && awk -v a="$i8" -v g="$gflop" -v p="$g8" 'BEGIN { printf "; int8 (%s images/s) achieves %.0f GOP/s = %.0f %% of the int8 GEMM peak", a, a * g, 100 * a * g / p }')."
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
