#!/usr/bin/env bash
# benchmarks/gpu/pack.sh DEST: publishes GpuBench for a CUDA machine (self-contained linux-x64, the CUDA natives of
# Microsoft.ML.OnnxRuntime.Gpu.Linux 1.31.0; the TensorRT provider library is dropped) and writes it as xz parts of at most
# 55 MiB to DEST (part00, part01, ... + SHA256SUMS), so a device that takes at most 64 MiB per transfer receives them one at a
# time. On the device: GPUBENCH_PARTS=<folder with the parts> bash benchmarks/gpu/run.sh (see README.md).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${1:?usage: pack.sh DEST}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
dotnet publish "$HERE/GpuBench/GpuBench.csproj" -c Release -p:Gpu=true -r linux-x64 --self-contained -o "$WORK/app"
rm -f "$WORK/app/libonnxruntime_providers_tensorrt.so"
for f in GpuBench libonnxruntime.so libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  [ -f "$WORK/app/$f" ] || { echo "error: $f missing from the published app" >&2; exit 1; }
done
rm -f "$DEST"/part[0-9][0-9] "$DEST/SHA256SUMS"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$WORK" -cf - app | xz ${XZ_OPTS:--6 -T2} | split -b 55M -d -a 2 - "$DEST/part"
(cd "$DEST" && sha256sum part[0-9][0-9] > SHA256SUMS)
cat "$DEST/SHA256SUMS"
du -ch "$DEST"/part[0-9][0-9] | tail -1
