#!/usr/bin/env bash
# Scaling with cores: modelseal verify with --jobs 1, 2, 4, … up to the core
# count, beside the SHA-256 limit for the same number of cores
# (openssl speed -evp sha256 -multi N). One short run, warm page cache.
#
#   bash bench/scaling.sh [--size-gib G] [--files N] [--work DIR]
#
# Defaults: 8 GiB in 16 files, so 16 cores each get work; ~1 minute on 16 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
size_gib=8 files=16 work=${TMPDIR:-/tmp}/modelseal-scaling
while [ $# -gt 0 ]; do
  case $1 in
    --size-gib) size_gib=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cargo build --release --quiet
ms=$PWD/target/release/modelseal
mkdir -p "$work/model"
per_file_mib=$(( size_gib * 1024 / files ))
for (( i = 0; i < files; i++ )); do
  f=$work/model/w$i.safetensors
  [ -f "$f" ] && [ "$(stat -c %s "$f")" -eq $(( per_file_mib * 1048576 )) ] || head -c $(( per_file_mib * 1048576 )) /dev/urandom > "$f"
done
"$ms" init "$work/model" --force --version 1 >/dev/null
cat "$work"/model/* > /dev/null
cores=$(nproc)
bytes=$(( size_gib * 1073741824 ))
echo "machine: $cores cores, $(lscpu | sed -n 's/^Model name: *//p'); $size_gib GiB in $files files, warm cache"
echo
echo "| --jobs | modelseal verify | GiB/s | SHA-256 limit (openssl speed -multi N) | share of limit |"
echo "|---|---|---|---|---|"
for jobs in 1 2 4 8 16 32 64; do
  (( jobs > cores )) && break
  walls=()
  for run in 1 2 3; do
    t0=$(date +%s%N); "$ms" verify "$work/model" --level 0 --jobs "$jobs" >/dev/null; t1=$(date +%s%N)
    walls+=( $(( t1 - t0 )) )
  done
  wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)
  limit=$(openssl speed -evp sha256 -multi "$jobs" -bytes 65536 -seconds 2 -mr 2>/dev/null | awk -F: '/^\+F:/ {v=$4} END {printf "%.2f", v/1073741824}')
  rate=$(awk -v b=$bytes -v w=$wall 'BEGIN {printf "%.2f", b/1073741824/(w/1e9)}')
  printf '| %s | %.3f s | %s | %s GiB/s | %s |\n' "$jobs" "$(awk -v w=$wall 'BEGIN {print w/1e9}')" "$rate" "$limit" "$(awk -v r=$rate -v l=$limit 'BEGIN {printf "%.0f%%", 100*r/l}')"
done
