# Sourced by the multi-process demos (scripts/demo-*.sh).
# launch_ranks RANKS LOG_DIR COMMAND...: runs COMMAND as RANKS processes of one run, each with a
# launcher's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT on a random port,
# OSP_DIST_TIMEOUT=1800), its output in LOG_DIR/rank-R.log and its peak RSS (GNU time, KiB) in
# LOG_DIR/maxrss-R; waits for all of them, then prints each rank's peak RSS in MiB.
launch_ranks() {
  local ranks=$1 logs=$2
  shift 2
  mkdir -p "$logs"
  local port=$((20000 + RANDOM % 20000)) r
  for ((r = 0; r < ranks; r++)); do
    RANK=$r WORLD_SIZE=$ranks LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port OSP_DIST_TIMEOUT=1800 \
      /usr/bin/time -f "%M" -o "$logs/maxrss-$r" "$@" > "$logs/rank-$r.log" 2>&1 &
  done
  wait
  echo "rank  peak RSS (MiB)"
  for ((r = 0; r < ranks; r++)); do
    printf "%4d  %14.0f\n" "$r" "$(echo "$(tail -1 "$logs/maxrss-$r") / 1024" | bc -l)"
  done
}
