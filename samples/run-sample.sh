#!/usr/bin/env bash
# The main job on the bundled sample: map samples/sentinel2_l2a_sample.tif to a georeferenced embedding COG and a
# quick-look PNG in out/. Usage: bash samples/run-sample.sh [MODEL]   (MODEL: registry id, .ckpt/.pth or .onnx; default seco-eco)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ldconfig -p | grep -q 'libgdal\.so'; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libgdal32 >/dev/null
fi
mkdir -p out
dotnet run --project src/SSL4Eco.Cli -c Release -- map samples/sentinel2_l2a_sample.tif \
  --model "${1:-seco-eco}" --output out/sample_embeddings.tif --stride 32 --preview out/sample_preview.png
