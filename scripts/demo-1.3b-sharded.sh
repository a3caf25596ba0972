#!/usr/bin/env bash
# Full-depth OSP-Next 1.3B, fully sharded over 4 processes of this machine (docs/training.md
# "Full-depth 1.3B on one machine"): starts the ranks with a launcher's variables, records each
# rank's peak RSS (GNU time) and prints them beside the planner's prediction.
# Usage: scripts/demo-1.3b-sharded.sh [RANKS]   (from the repository root, after scripts/build.sh)
set -euo pipefail
ranks=${1:-4}
osp=build/osp
config=configs/train/demo-1.3b-sharded.yaml
out=runs/demo-1.3b-sharded
mkdir -p "$out/logs"
rm -rf "$out/checkpoints"
port=$((20000 + RANDOM % 20000))
for ((r = 0; r < ranks; r++)); do
  RANK=$r WORLD_SIZE=$ranks LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port OSP_DIST_TIMEOUT=1800 \
    /usr/bin/time -f "%M" -o "$out/logs/maxrss-$r" "$osp" train --config "$config" > "$out/logs/rank-$r.log" 2>&1 &
done
wait
echo "rank  peak RSS (MiB)"
for ((r = 0; r < ranks; r++)); do
  printf "%4d  %14.0f\n" "$r" "$(echo "$(tail -1 "$out/logs/maxrss-$r") / 1024" | bc -l)"
done
grep -h "step \|shard by shard\|fully sharded" "$out/logs/rank-0.log" || true
"$osp" plan train --model osp-next-1.3b -W 64 -H 64 --frames 5 --ranks "$ranks" --shard full --lora 16 \
  --checkpointing --precision bf16 --device-memory 24G
