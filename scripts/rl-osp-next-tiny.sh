#!/usr/bin/env bash
# The RL demonstration on the shipped default model (docs/rl.md "Demonstration"): Mix-GRPO + LoRA
# with the `shapes` reward on train-split prompts, the EMA adapter merged into the DiT, and the
# before/after evaluation on the held-out prompts and on a sample of training combinations, with
# a noise seed never used before (50000 + line). Resumable: rerun continues the RL run.
# Usage: bash scripts/rl-osp-next-tiny.sh [OUT=runs/rl-tiny-shapes]
set -euo pipefail
cd "$(dirname "$0")/.."
OSP=build/osp
RUN=runs/rl-tiny-shapes
OUT=${1:-$RUN}
SEED=50000

if [ -d "$RUN/checkpoints" ]; then
  $OSP rl --config configs/rl/tiny-shapes.yaml --resume "$RUN"
else
  $OSP rl --config configs/rl/tiny-shapes.yaml
fi

# The RL model: the base bundle with the EMA adapter merged into its DiT.
rm -rf "$OUT/bundle"
cp -r models/osp-next-tiny "$OUT/bundle"
$OSP merge-lora --base models/osp-next-tiny/dit --lora "$RUN" --ema \
  --out "$OUT/bundle/dit/diffusion_pytorch_model.safetensors"
cp "$RUN"/checkpoints/$(ls "$RUN/checkpoints" | grep '^step-' | sort | tail -1)/ema.safetensors "$OUT/adapter_ema.safetensors"

for prompts in configs/eval/shapes-heldout.txt configs/rl/shapes-train-sample.txt; do
  name=$(basename "$prompts" .txt)
  $OSP eval shapes --model models/osp-next-tiny --prompts "$prompts" --seed $SEED --out "$OUT/eval-before-$name"
  $OSP eval shapes --model "$OUT/bundle" --prompts "$prompts" --seed $SEED --out "$OUT/eval-after-$name"
done
