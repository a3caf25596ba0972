#!/usr/bin/env bash
# RL on a 1.3B-width DiT (8 blocks of OSP-Next 1.3B's width, Skiparse dual_end, random weights,
# tiny text encoder and VAE) over 2 processes of this machine, replicated and then fully sharded
# (docs/rl.md "Sharded and sequence-parallel RL"): records each rank's peak RSS (GNU time) and
# the epoch's timings. Usage: scripts/demo-rl-sharded.sh [RANKS]  (after scripts/build.sh)
set -euo pipefail
source "$(dirname "$0")/lib/launch_ranks.sh"
ranks=${1:-2}
osp=$(pwd)/build/osp
scorer="/usr/bin/python3 $(pwd)/scripts/reward_brightness.py"
out=runs/demo-rl-sharded
mkdir -p "$out"
cd "$out"

# The base bundle: a DiT of the wanted shape from a 1-step `osp train` run (its random initial
# weights barely moved), packed with the tiny text encoder and VAE.
if [[ ! -f bundle/config.json ]]; then
  cat > dit.yaml <<EOF
model:
  fields: {dim: 1536, ffn_dim: 8960, num_heads: 12, num_layers: 8, freq_dim: 256, text_dim: 64,
           text_len: 512, in_dim: 8, out_dim: 8, patch_size: [1, 2, 2],
           skiparse_model_type: dual_end, sparse_ratio: 2, num_full_blocks: 4}
  init_seed: 0
data:
  synthetic: {samples: 2, frames: 1, height: 4, width: 4, text_tokens: 4, channels: 8, text_dim: 64, seed: 1}
optimizer: {lr: 1.0e-9, warmup_steps: 0}
steps: 1
batch_size: 1
precision: bf16
output_dir: dit-run
EOF
  "$osp" train --config dit.yaml > dit-train.log 2>&1
  "$osp" init-bundle --out bundle --seed 0 --dit dit-run/checkpoints/step-00000001 --dit-weights model --force > /dev/null
fi
printf '%s\n' "a red circle moving left on a black background" "a blue square moving up on a white background" > prompts.txt

for shard in none full; do
  cat > "rl-$shard.yaml" <<EOF
model: bundle
prompts: prompts.txt
rewards: [{type: command, command: "$scorer"}]
video: {width: 64, height: 64, frames: 5}
sampling: {steps: 4, sde_steps: 2, guidance: 3.0}
group_size: 2
sample_batch_size: $((2 / ranks > 0 ? 2 / ranks : 1))
train_batch_size: 1
batches_per_epoch: 1
epochs: 1
lora: {rank: 16, alpha: 16}
precision: bf16
output_dir: out-$shard
parallel: {shard: $shard}
EOF
  rm -rf "out-$shard" "logs-$shard"
  echo "shard: $shard"
  launch_ranks "$ranks" "logs-$shard" "$osp" rl --config "rl-$shard.yaml"
  grep -h "epoch 1/1\|fully sharded\|replicated\|streamed" "logs-$shard/rank-0.log" || true
done
