#!/bin/bash
# Slurm job array: one task per shard; Slurm sets SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, so --shard env needs no count.
# Submit: sbatch samples/deploy/slurm-array.sh   (after: ssl4eco plan ... -o /shared/run1/manifest.json)
#SBATCH --job-name=ssl4eco-map
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --requeue
set -euo pipefail
MANIFEST=${MANIFEST:-/shared/run1/manifest.json}
MODEL=${MODEL:-/shared/models/seco-eco.onnx}
WORK=${WORK:-${TMPDIR:-/tmp}/ssl4eco-work}
srun ssl4eco map --manifest "$MANIFEST" --shard env --model "$MODEL" --work "$WORK"
# When every task is done: ssl4eco merge "$MANIFEST" --cog
