#!/usr/bin/env bash
# The prepared GPU check (docs/building.md "The GPU check"): the one command a session runs on a
# lent GPU machine, whose copy of this tree has no build and no Debian libraries.
#   scripts/gpu-check.sh --prepare   here: builds osp, osp_spm and osp_tests in build-pip/ (LibTorch
#                                    2.x with CUDA), packs them with every shared library they need
#                                    beyond LibTorch, CUDA and the C/C++ runtime into .gpu-check/
#                                    (payload.tar.xz, manifest.txt); fails if it would not travel
#   scripts/gpu-check.sh             on the GPU machine: unpacks, checks the machine's torch version
#                                    and that osp starts, runs the CUDA parity tests and the GPU
#                                    benchmark, writes $OUT/gpu-check.log, ends with a summary
#   scripts/gpu-check.sh --dry-run   here: the same flow with the packed files only, on the CPU
#                                    (.venv-torch's LibTorch; the parity tests skip, small benchmark)
# Environment: OSP_GPU_CHECK_BUDGET (seconds for the whole run, default 450), OSP_GPU_CHECK_PYTHON
# (the python3 holding torch), OSP_GPU_CHECK_KEEP=1 (keep the unpacked files), OSP_JOBS (build, 2).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pack_dir=$root/.gpu-check
payload=$pack_dir/payload.tar.xz
manifest=$pack_dir/manifest.txt
carry_limit_mib=56   # what .gpu-check may weigh
tree_limit_mib=63    # the tool's 64 MiB for the tree and the carried paths together, less a margin

mode=device
case "${1:-}" in
  --prepare) mode=prepare ;;
  --dry-run) mode=dry-run ;;
  "") ;;
  *) echo "usage: bash scripts/gpu-check.sh [--prepare | --dry-run]" >&2; exit 2 ;;
esac

die() { echo "gpu-check: $*" >&2; exit 1; }

# A hash of the sources the binaries are built from: a run warns when the tree has moved on.
source_hash() {
  find src tools tests cmake CMakeLists.txt -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

# Libraries every machine has or brings itself: LibTorch (the machine's torch), CUDA (the wheel's
# nvidia packages or the toolkit) and the C/C++ runtime (glibc, libstdc++, libgcc_s, libgomp).
is_provided() {  # NAME PATH
  case "$2" in
    "$torch_lib"/* | */site-packages/nvidia/* | /usr/local/cuda* | /usr/local/nvidia/*) return 0 ;;
  esac
  case "$1" in
    linux-vdso.so.* | ld-linux-x86-64.so.* | libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | \
      libutil.so.* | libresolv.so.* | libstdc++.so.* | libgcc_s.so.* | libgomp.so.* | \
      libcuda.so.* | libcudart.so.* | libcublas*.so.* | libcudnn*.so.* | libcufft*.so.* | libcurand.so.* | \
      libcusparse*.so.* | libcusolver*.so.* | libcupti.so.* | libnccl.so.* | libnvJitLink.so.* | libnvrtc*.so.* | \
      libnvshmem*.so.* | libcufile*.so.* | libnvToolsExt.so.* | libnvidia-*.so.*) return 0 ;;
  esac
  return 1
}

# "NAME PATH" for every library the dynamic loader resolves for the given files ("NAME not-found"
# for those it cannot).
resolved_libraries() {  # LD_LIBRARY_PATH FILE...
  local path=$1
  shift
  for f in "$@"; do LD_LIBRARY_PATH=$path ldd "$f"; done |
    awk '/=> not found/ {print $1, "not-found"; next} /=> \// {print $1, $3}' | sort -u
}

highest_version() {  # PREFIX FILE...: the highest symbol version with that prefix the files need
  local prefix=$1
  shift
  for f in "$@"; do objdump -T "$f" 2>/dev/null; done | grep -o "${prefix}_[0-9][0-9.]*" | sort -uV | tail -1
}

# --------------------------------------------------------------------------------------------------
prepare() {
  local venv_python=$root/.venv-torch/bin/python3 jobs=${OSP_JOBS:-2}
  if [ ! -f build-pip/build.ninja ] || [ ! -x "$venv_python" ]; then
    echo "gpu-check: build-pip/ is not configured; configuring it (scripts/build.sh --libtorch pip)"
    OSP_BUILD_TARGETS="osp osp_spm osp_tests" bash scripts/build.sh --libtorch pip || die "the build failed"
  fi
  echo "== build: ninja -C build-pip -j$jobs osp osp_spm osp_tests"
  ninja -C build-pip -j "$jobs" osp osp_spm osp_tests || die "the build failed"
  torch_version=$("$venv_python" -c 'import torch; print(torch.__version__)') || die "no torch in .venv-torch"
  torch_lib=$("$venv_python" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')

  stage=$(mktemp -d "${TMPDIR:-/tmp}/osp-gpu-check-stage.XXXXXX")  # global: the trap runs at exit
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/bin" "$stage/lib"
  cp build-pip/osp build-pip/tests/osp_tests build-pip/libosp_spm.so "$stage/bin/"
  strip --strip-unneeded "$stage/bin/osp" "$stage/bin/osp_tests" "$stage/bin/libosp_spm.so"

  echo "== libraries beyond LibTorch, CUDA and the C/C++ runtime (ldd)"
  local name path missing=()
  while read -r name path; do
    if [ "$path" = not-found ]; then missing+=("$name"); continue; fi
    is_provided "$name" "$path" && continue
    cp -L "$path" "$stage/lib/$name"
  done < <(resolved_libraries "$torch_lib" build-pip/osp build-pip/tests/osp_tests build-pip/libosp_spm.so)
  [ ${#missing[@]} -eq 0 ] || die "ldd finds no ${missing[*]} here"
  # The copies must be complete on their own: every library a copy needs is provided or copied.
  while read -r name path; do
    [ "$path" = not-found ] && missing+=("$name")
  done < <(resolved_libraries "$stage/lib:$torch_lib" "$stage"/lib/*)
  [ ${#missing[@]} -eq 0 ] || die "the copied libraries need ${missing[*]}, which ldd does not find"

  local unpacked files
  unpacked=$(du -sb "$stage" | cut -f1)
  files=$(find "$stage" -type f | wc -l)
  echo "== pack: $files files, $((unpacked / 1048576)) MiB unpacked → $payload (xz, x86 filter: about 2 minutes of CPU)"
  mkdir -p "$pack_dir"
  rm -f "$payload" "$manifest"
  tar -C "$stage" -cf - bin lib | xz -T1 --x86 --lzma2=preset=9e,dict=192MiB > "$payload" || die "packing failed"

  local packed tree
  packed=$(stat -c %s "$payload")
  {
    echo "osp-next gpu-check payload (scripts/gpu-check.sh --prepare)"
    echo "built: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -m), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' with local changes')"
    echo "sources: $(source_hash)"
    echo "torch: $torch_version"
    echo "needs: $(highest_version GLIBC "$stage"/bin/* "$stage"/lib/*) $(highest_version GLIBCXX "$stage"/bin/* "$stage"/lib/*) $(highest_version CXXABI "$stage"/bin/* "$stage"/lib/*)"
    echo "payload: payload.tar.xz $packed bytes; unpacked $unpacked bytes in $files files:"
    (cd "$stage" && find bin lib -type f -printf '%s %p\n' | LC_ALL=C sort -k2)
  } > "$manifest"

  # The tool carries the tree (tracked and untracked files not ignored) and .gpu-check together.
  tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
  local carried=$((packed + $(stat -c %s "$manifest")))
  awk -v c="$carried" -v t="$tree" -v cl="$carry_limit_mib" -v tl="$tree_limit_mib" 'BEGIN {
    printf "== carried: .gpu-check %.1f MiB (limit %d); with the tree (%.1f MiB) %.1f MiB (limit %d: the tool carries 64)\n",
      c / 1048576, cl, t / 1048576, (c + t) / 1048576, tl }'
  if [ "$carried" -gt $((carry_limit_mib * 1048576)) ] || [ $((carried + tree)) -gt $((tree_limit_mib * 1048576)) ]; then
    die "too large to travel: .gpu-check is $((carried / 1048576)) MiB, with the tree $(((carried + tree) / 1048576)) MiB"
  fi
  head -5 "$manifest"
  echo "ready: run it with carry [\".gpu-check\"] (docs/building.md \"The GPU check\")"
}

# --------------------------------------------------------------------------------------------------
# The device-side flow (and its dry run here).
stage_names=() stage_status=() stage_seconds=() stage_notes=()
record() { stage_names+=("$1"); stage_status+=("$2"); stage_seconds+=("$3"); stage_notes+=("$4"); }

seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}'; }

# run_stage NAME LIMIT LOGFILE COMMAND...: the command under `timeout` (the smaller of LIMIT and
# what is left of the budget), its output shown and kept in LOGFILE; sets stage_rc and stage_time.
run_stage() {
  local name=$1 limit=$2 log=$3
  shift 3
  local left=$((deadline - EPOCHSECONDS - 5))
  [ "$left" -lt "$limit" ] && limit=$left
  stage_time=0
  if [ "$limit" -lt 10 ]; then
    echo "== $name: not run, the ${budget} s budget is spent"
    stage_rc=125
    return
  fi
  echo
  echo "== $name (at most $limit s): $*"
  local start=$EPOCHREALTIME
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
  stage_rc=${PIPESTATUS[0]}
  stage_time=$(seconds_since "$start")
  echo "-- $name: exit code $stage_rc, $stage_time s"
}

status_of() {  # RC: ok / timed out / failed (rc N)
  case "$1" in
    0) echo ok ;;
    124 | 137) echo "timed out" ;;
    125) echo "not run" ;;
    *) echo "failed (rc $1)" ;;
  esac
}

summary() {
  echo
  echo "== summary ($mode, $(seconds_since "$run_start") s)"
  printf '%-16s | %-16s | %8s | %s\n' stage status seconds note
  printf '%s\n' "-----------------+------------------+----------+------------------------------------------------"
  local i
  for i in "${!stage_names[@]}"; do
    printf '%-16s | %-16s | %8s | %s\n' "${stage_names[$i]}" "${stage_status[$i]}" "${stage_seconds[$i]}" "${stage_notes[$i]}"
  done
  # Each parity case's error, then each benchmark's own table (header, rule, rows).
  if grep -q '^\[ cuda ' "$work/parity.log" 2> /dev/null; then
    echo
    grep '^\[ cuda ' "$work/parity.log"
  fi
  for f in "$work/bench-dit.log" "$work/bench-attention.log"; do
    grep -q '^-\+$' "$f" 2> /dev/null || continue
    echo
    awk '/^-+$/ {print prev; rule = 1} rule && NF {print} rule && !NF {exit} {prev = $0}' "$f"
  done
}

device_flow() {
  budget=${OSP_GPU_CHECK_BUDGET:-450}
  run_start=$EPOCHREALTIME
  deadline=$((EPOCHSECONDS + budget))
  local python=${OSP_GPU_CHECK_PYTHON:-python3} device=cuda
  if [ "$mode" = dry-run ]; then
    python=${OSP_GPU_CHECK_PYTHON:-$root/.venv-torch/bin/python3}
    device=cpu
  fi
  echo "osp-next GPU check ($mode), $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(uname -srm), $(nproc) cores, budget $budget s"
  [ -f "$payload" ] && [ -f "$manifest" ] || die "no $payload: run 'bash scripts/gpu-check.sh --prepare' first and carry .gpu-check"
  sed -n '2,5p' "$manifest"

  # 1. Unpack.
  work=${OSP_GPU_CHECK_DIR:-${TMPDIR:-/tmp}/osp-gpu-check}
  rm -rf "$work" && mkdir -p "$work" || die "cannot create $work"
  [ "${OSP_GPU_CHECK_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
  run_stage unpack 120 "$work/unpack.log" "$python" -c \
    'import sys, tarfile; filter = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
tarfile.open(sys.argv[1]).extractall(sys.argv[2], **filter)' "$payload" "$work"
  if [ "$stage_rc" -ne 0 ]; then
    record unpack "$(status_of $stage_rc)" "$stage_time" "cannot unpack $payload"
    summary
    return 1
  fi
  record unpack ok "$stage_time" "$(du -sm "$work" | cut -f1) MiB in $work"
  local bin=$work/bin lib=$work/lib

  # 2. The machine's torch: the version the binaries were linked against, and its lib folder.
  local want torch_version cuda_seen
  want=$(awk '/^torch:/ {print $2}' "$manifest")
  run_stage environment 90 "$work/environment.log" "$python" -c '
import os, torch
print("torch:", torch.__version__)
print("lib:", os.path.join(os.path.dirname(torch.__file__), "lib"))
print("cuda:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")'
  torch_version=$(awk '/^torch:/ {print $2}' "$work/environment.log")
  torch_lib=$(awk '/^lib:/ {print $2}' "$work/environment.log")
  cuda_seen=$(sed -n 's/^cuda: //p' "$work/environment.log")
  if [ "$stage_rc" -ne 0 ] || [ -z "$torch_lib" ]; then
    record environment "$(status_of $stage_rc)" "$stage_time" "'$python' cannot import torch"
    summary
    return 1
  fi
  if [ "$torch_version" != "$want" ]; then
    record environment failed "$stage_time" "torch $torch_version here, the binaries need $want"
    echo "gpu-check: the binaries are linked against LibTorch $want; this machine's torch is $torch_version." >&2
    echo "gpu-check: rebuild build-pip against $torch_version (scripts/libtorch-pip.sh pins the version) and --prepare again." >&2
    summary
    return 1
  fi
  if [ "$device" = cuda ] && command -v nvidia-smi > /dev/null; then
    timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  fi
  record environment ok "$stage_time" "torch $torch_version, GPU: $cuda_seen"
  if [ "$(awk '/^sources:/ {print $2}' "$manifest")" != "$(source_hash)" ]; then
    echo "gpu-check: WARNING: the sources have changed since --prepare: these binaries test the older tree"
    stage_notes[-1]+="; sources changed since --prepare"
  fi
  local path=$lib:$torch_lib
  export OSP_SPM_BRIDGE=$bin/libosp_spm.so

  # 3. Do the binaries start? If not, say exactly why.
  echo
  echo "== start: LD_LIBRARY_PATH=$path"
  local start=$EPOCHREALTIME out rc=0 outsiders=()
  out=$(LD_LIBRARY_PATH=$path timeout 60 "$bin/osp" --help 2>&1) || rc=$?
  [ "$rc" -eq 0 ] && { LD_LIBRARY_PATH=$path timeout 60 "$bin/osp_tests" --gtest_list_tests > /dev/null 2>&1 || rc=$?; }
  local name where
  while read -r name where; do
    # Here every library must come from the carried folder or from what the GPU machine brings
    # (torch, CUDA, the C/C++ runtime); one found in this machine's own system folders would be
    # missing there.
    [ "$where" = not-found ] || [[ "$where" == "$lib"/* ]] || is_provided "$name" "$where" || outsiders+=("$name=$where")
  done < <(resolved_libraries "$path" "$bin/osp" "$bin/osp_tests" "$bin/libosp_spm.so")
  if [ "$rc" -ne 0 ]; then
    echo "$out" | tail -20
    echo "-- ldd $bin/osp:"
    LD_LIBRARY_PATH=$path ldd "$bin/osp"
    echo "-- this machine: $(ldd --version 2>&1 | head -1); libstdc++: $(strings "$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')" 2>/dev/null | grep -o '^GLIBCXX_[0-9.]*' | sort -V | tail -1)"
    echo "-- the binaries need: $(awk '/^needs:/ {$1 = ""; print}' "$manifest")"
    record start failed "$(seconds_since "$start")" "osp does not start here (see the ldd output above)"
    echo "gpu-check: the carried binaries do not start on this machine; the fallback is a source build there (docs/building.md \"The GPU check\")." >&2
    summary
    return 1
  fi
  if [ "$mode" = dry-run ] && [ ${#outsiders[@]} -gt 0 ]; then
    record start failed "$(seconds_since "$start")" "not carried: ${outsiders[*]}"
    summary
    return 1
  fi
  record start ok "$(seconds_since "$start")" "osp and osp_tests load$([ "$mode" = dry-run ] && echo '; every library carried or provided')"

  # 4. CUDA parity tests (each compares CUDA with the CPU; they skip without a GPU).
  run_stage "cuda parity" 240 "$work/parity.log" env LD_LIBRARY_PATH="$path" "$bin/osp_tests" --gtest_filter='CudaParity.*'
  local passed failed skipped status
  passed=$(grep -c '^\[       OK \] CudaParity\..* ms)$' "$work/parity.log")
  failed=$(grep -c '^\[  FAILED  \] CudaParity\..* ms)$' "$work/parity.log")
  skipped=$(grep -c '^\[  SKIPPED \] CudaParity\..* ms)$' "$work/parity.log")
  status=$(status_of $stage_rc)
  if [ "$stage_rc" -eq 0 ]; then
    # A GPU run must run them all; the dry run must skip them all.
    if [ "$device" = cuda ] && { [ "$skipped" -gt 0 ] || [ "$passed" -eq 0 ]; }; then status="failed (skipped)"; fi
    if [ "$device" = cpu ] && { [ "$passed" -gt 0 ] || [ "$skipped" -eq 0 ]; }; then status="failed (ran)"; fi
  fi
  record "cuda parity" "$status" "$stage_time" "$passed passed, $failed failed, $skipped skipped"

  # 5. The GPU benchmark: one OSP-Next 14B block pair (a token and a group block) at 720p × 81
  #    frames, full attention against Skiparse dual_end, bf16; then attention alone at the padded
  #    80,640 tokens, the engine against PyTorch's own SDPA. The dry run: the same at a small size.
  local dit_args attention_args
  if [ "$device" = cuda ]; then
    dit_args=(--device cuda --model 14b --layers 2 --frames 21 --height 720 --width 1280 --precision bf16 --reps 3)
    attention_args=(--device cuda --length 80640 --heads 40 --head-dim 128 --precision bf16 --reps 3)
  else
    dit_args=(--device cpu --model 1.3b --layers 2 --frames 2 --height 80 --width 96 --precision bf16 --reps 1)
    attention_args=(--device cpu --length 1024 --heads 4 --head-dim 64 --precision bf16 --reps 1 --no-math)
  fi
  run_stage "bench dit" 240 "$work/bench-dit.log" env LD_LIBRARY_PATH="$path" "$bin/osp" bench dit \
    --schedule full dual_end "${dit_args[@]}"
  record "bench dit" "$(status_of $stage_rc)" "$stage_time" "${dit_args[*]}"
  run_stage "bench attention" 120 "$work/bench-attention.log" env LD_LIBRARY_PATH="$path" "$bin/osp" bench attention \
    --sparse-ratio 2 "${attention_args[@]}"
  record "bench attention" "$(status_of $stage_rc)" "$stage_time" "${attention_args[*]}"

  summary
  local s
  for s in "${stage_status[@]}"; do [ "$s" = ok ] || return 1; done
  echo
  echo "gpu-check: every stage passed"
}

case "$mode" in
  prepare) prepare ;;
  device | dry-run)
    log=${OUT:+$OUT/gpu-check.log}
    log=${log:-$pack_dir/$mode.log}
    mkdir -p "$(dirname "$log")"
    device_flow 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    echo "log: $log"
    exit "$rc" ;;
esac
