#!/usr/bin/env bash
# Full-depth OSP-Next 1.3B, fully sharded over 4 processes of this machine (docs/training.md
# "Full-depth 1.3B on one machine"): starts the ranks with a launcher's variables, records each
# rank's peak RSS (GNU time) and prints them beside the planner's prediction.
# Usage: scripts/demo-1.3b-sharded.sh [RANKS]   (from the repository root, after scripts/build.sh)
set -euo pipefail
source "$(dirname "$0")/lib/launch_ranks.sh"
ranks=${1:-4}
osp=build/osp
config=configs/train/demo-1.3b-sharded.yaml
out=runs/demo-1.3b-sharded
rm -rf "$out/checkpoints"
launch_ranks "$ranks" "$out/logs" "$osp" train --config "$config"
grep -h "step \|shard by shard\|fully sharded" "$out/logs/rank-0.log" || true
"$osp" plan train --model osp-next-1.3b -W 64 -H 64 --frames 5 --ranks "$ranks" --shard full --lora 16 \
  --checkpointing --precision bf16 --device-memory 24G
