#!/usr/bin/env bash
# Full-parameter training that fits this machine only when fully sharded (docs/training.md
# "Full-parameter training that only fits sharded"): 16 blocks of OSP-Next 1.3B's width over 2
# processes, then each rank's peak RSS beside `osp plan train` for full sharding and for
# replicated data parallel with the machine's memory split between the ranks.
# Usage: scripts/demo-full-sharded.sh   (from the repository root, after scripts/build.sh)
set -euo pipefail
source "$(dirname "$0")/lib/launch_ranks.sh"
ranks=2
osp=build/osp
config=configs/train/demo-full-sharded.yaml
out=runs/demo-full-sharded
rm -rf "$out/checkpoints"
launch_ranks "$ranks" "$out/logs" "$osp" train --config "$config"
grep -h "step \|shard by shard\|fully sharded" "$out/logs/rank-0.log" || true
per_rank=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / ranks / 1024 ))M
for shard in full none; do
  "$osp" plan train --model "$config" -W 64 -H 64 --frames 5 --ranks "$ranks" --shard "$shard" --checkpointing \
    --precision bf16 --device-memory "$per_rank"
done
