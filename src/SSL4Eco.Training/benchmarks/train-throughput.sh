#!/usr/bin/env bash
# Measures SeCo training steps/s with ssl4eco-train on a synthetic SSL4Eco dataset (ResNet-50, 9 bands, 224²).
# Usage: src/SSL4Eco.Training/benchmarks/train-throughput.sh [threads] [batch sizes...]
# Prints a markdown table row per batch size: the median seconds per step over the steps after the first two.
set -euo pipefail
cd "$(dirname "$0")/../../.."
threads=${1:-2}; shift || true
batches=${*:-8 32}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet build src/SSL4Eco.Training.Cli -c Release -v q -nologo >/dev/null
cli="dotnet src/SSL4Eco.Training.Cli/bin/Release/net10.0/ssl4eco-train.dll"
$cli synthetic --output "$work/data" --locations 64 --size 256 >/dev/null
echo "| batch | steps timed | s/step (median) | steps/s | images/s |"
echo "|---|---|---|---|---|"
for b in $batches; do
  steps=8
  $cli fit --data "$work/data" --output "$work/run$b" --batch-size "$b" --image-size 224 --queue-size $((b * 8)) \
    --max-steps $steps --threads "$threads" --workers "$threads" --device cpu --checkpoint-every 1000 >/dev/null 2>&1
  awk -F, 'NR>1 { t[NR-1]=$NF } END { for (i=3; i<=NR-1; i++) print t[i]-t[i-1] }' "$work/run$b/log.csv" | sort -g |
    awk -v b="$b" '{ a[NR]=$1 } END { m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
      printf "| %d | %d | %.2f | %.3f | %.2f |\n", b, NR, m, 1/m, b/m }'
done
