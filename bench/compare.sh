#!/usr/bin/env bash
# modelseal against model_signing, openssl and sha256sum, on the same files, in
# turns, in one run. Prints medians, ratios to the hardware limit and to each
# peer, and whether each target of BENCHMARKS.md is met.
#
#   bash bench/compare.sh [--runs N] [--work DIR] [--memory-gib G] [--cold]
#
# Needs: cargo, python3 with venv and pip (model_signing is installed from PyPI
# into a private virtual environment under the work directory), openssl,
# GNU time. Data sets are made once under the work directory (about 13 GiB with
# the default --memory-gib 8) and reused. --cold drops the page cache before
# each timed run of the 2 GiB cases (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
work=${TMPDIR:-/tmp}/modelseal-bench
memory_gib=8
cold=0
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --memory-gib) memory_gib=$2; shift 2 ;;
    --cold) cold=1; shift ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

GNU_TIME=/usr/bin/time
[ -x "$GNU_TIME" ] || { echo "GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 2; }

cargo build --release --quiet
ms=$PWD/target/release/modelseal
mkdir -p "$work"
cd "$work"

say() { printf '%s\n' "$*" >&2; }

# ---- data sets ------------------------------------------------------------
make_file() { # path MiB
  [ -f "$1" ] && [ "$(stat -c %s "$1")" -eq $(( $2 * 1048576 )) ] && return
  mkdir -p "$(dirname "$1")"
  head -c $(( $2 * 1048576 )) /dev/urandom > "$1"
}
say "preparing data sets in $work"
for i in 1 2 3 4; do make_file four/w$i.safetensors 512; done
make_file one/model.safetensors 2048
make_file big/model.safetensors $(( memory_gib * 1024 ))
if [ ! -f many/.done ]; then
  python3 - <<'PY'
import os
for i in range(10000):
    d = "many/d%02d" % (i % 100)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%05d.bin" % (d, i), "wb") as f:
        f.write(os.urandom(4096))
PY
  touch many/.done
fi

# ---- tools ------------------------------------------------------------------
if [ ! -x venv/bin/model_signing ]; then
  say "installing model_signing into $work/venv"
  python3 -m venv venv
  venv/bin/pip install --quiet model-signing pyOpenSSL
fi
msig=$work/venv/bin/model_signing
[ -f ec.key ] || { openssl ecparam -name prime256v1 -genkey -noout -out ec.key 2>/dev/null; openssl ec -in ec.key -pubout -out ec.pub 2>/dev/null; }
[ -f release.key ] || "$ms" keygen --no-passphrase --out release >/dev/null 2>&1

for d in four one many big; do
  # model_signing must not hash modelseal's files, nor modelseal model_signing's.
  rm -f $d/provenance.toml $d/provenance.sig
  $msig sign key $d --private_key ec.key --signature $d.ms.sig >/dev/null 2>&1
  "$ms" init $d --force --version 1 >/dev/null
  "$ms" sign $d --key release.key >/dev/null
done

# ---- timing -----------------------------------------------------------------
# run NAME CMD...: RUNS timed runs; records median wall seconds and max RSS (KiB).
# A command that fails stops the benchmark: a failed verify is no timing.
# Wall time is taken around the command alone; RSS comes from one extra run.
declare -A WALL RSS
warm() { cat "$@" > /dev/null; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
run() {
  local name=$1; shift
  local walls=() i t0 t1 r
  for (( i = 0; i < runs; i++ )); do
    [ "$cold" = 1 ] && [ "${COLD_OK:-0}" = 1 ] && drop_caches
    t0=$(date +%s%N)
    if ! "$@" >/dev/null 2>&1; then say "FAILED: $name: $*"; exit 1; fi
    t1=$(date +%s%N)
    walls+=( $(( t1 - t0 )) )
  done
  # One more run under GNU time for the peak resident set (kept out of the timings).
  r=$("$GNU_TIME" -f 'rss %M' "$@" 2>&1 >/dev/null | tail -n 1)
  WALL[$name]=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.4f", a[int((NR+1)/2)]/1e9}')
  RSS[$name]=${r##*rss }
  printf '  %-34s %8.3f s  %7d KiB\n' "$name" "${WALL[$name]}" "${RSS[$name]}" >&2
}
gibps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.2f", b/1073741824/s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
check() { # description condition(awk expr true/false)
  if awk "BEGIN {exit !($2)}"; then printf '  MET     %s\n' "$1"; else printf '  MISSED  %s\n' "$1"; fi
}

two_gib=2147483648
limit=$(openssl speed -evp sha256 -multi "$(nproc)" -bytes 65536 -seconds 3 -mr 2>/dev/null | awk -F: '/^\+F:/ {v=$4} END {printf "%.2f", v/1073741824}')
one_core=$(openssl speed -evp sha256 -bytes 65536 -seconds 3 -mr 2>/dev/null | awk -F: '/^\+F:/ {v=$4} END {printf "%.2f", v/1073741824}')

say "timing ($runs runs each, medians)"
[ "$cold" = 1 ] && COLD_OK=1
warm four/* one/*
run "verify four: modelseal"        "$ms" verify four --key release.pub
run "verify four: model_signing"    $msig verify key four --public_key ec.pub --signature four.ms.sig --ignore-paths four/provenance.toml --ignore-paths four/provenance.sig
run "verify four: openssl x$(nproc)" bash -c 'openssl dgst -sha256 four/w1.safetensors four/w2.safetensors >/dev/null & openssl dgst -sha256 four/w3.safetensors four/w4.safetensors >/dev/null & wait'
run "verify four: sha256sum"        sha256sum four/w1.safetensors four/w2.safetensors four/w3.safetensors four/w4.safetensors
run "verify one: modelseal"         "$ms" verify one --key release.pub
run "verify one: model_signing"     $msig verify key one --public_key ec.pub --signature one.ms.sig --ignore-paths one/provenance.toml --ignore-paths one/provenance.sig
run "verify one: openssl"           openssl dgst -sha256 one/model.safetensors
run "init four: modelseal"          "$ms" init four --force --version 1
"$ms" sign four --key release.key >/dev/null
run "sign four: modelseal"          "$ms" sign four --key release.key
COLD_OK=0
warm_many() { find many -type f -exec cat {} + > /dev/null; }
warm_many
run "verify many: modelseal"        "$ms" verify many --key release.pub
run "verify many: model_signing"    $msig verify key many --public_key ec.pub --signature many.ms.sig --ignore-paths many/provenance.toml --ignore-paths many/provenance.sig
saved_runs=$runs; runs=$(( runs * 4 ))
run "verify demo: modelseal"        "$ms" verify "$OLDPWD/fixtures/demo-model" --trust "$OLDPWD/fixtures/keys/trust.toml"
runs=$saved_runs
run "verify big: modelseal"         "$ms" verify big --key release.pub

v4=${WALL["verify four: modelseal"]}; m4=${WALL["verify four: model_signing"]}
o4=${WALL["verify four: openssl x$(nproc)"]}; s4=${WALL["verify four: sha256sum"]}
v1=${WALL["verify one: modelseal"]}; m1=${WALL["verify one: model_signing"]}; o1=${WALL["verify one: openssl"]}
i4=${WALL["init four: modelseal"]}; g4=${WALL["sign four: modelseal"]}
vm=${WALL["verify many: modelseal"]}; mm=${WALL["verify many: model_signing"]}
vd=${WALL["verify demo: modelseal"]}; rbig=${RSS["verify big: modelseal"]}
rmax=0; for k in "${!RSS[@]}"; do [[ $k == *modelseal ]] && (( ${RSS[$k]} > rmax )) && rmax=${RSS[$k]}; done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(lscpu | sed -n 's/^Model name: *//p'), $(uname -sr)"
echo "cache: $([ "$cold" = 1 ] && echo 'cold for the 2 GiB cases (page cache dropped before each run)' || echo warm)"
echo "hardware limit (openssl speed, 64 KiB blocks, in memory): $limit GiB/s on $(nproc) cores, $one_core GiB/s on one"
echo
printf '| case | modelseal | model_signing | openssl | sha256sum | modelseal vs limit | vs model_signing | vs openssl |\n'
printf '|---|---|---|---|---|---|---|---|\n'
printf '| verify, 2 GiB in 4 files | %s s (%s GiB/s) | %s s | %s s (%s cores) | %s s | %s | %sx faster | %sx |\n' \
  "$v4" "$(gibps $two_gib $v4)" "$m4" "$o4" "$(nproc)" "$s4" "$(ratio "$(gibps $two_gib $v4)" "$limit")" "$(ratio $m4 $v4)" "$(ratio $o4 $v4)"
printf '| verify, one 2 GiB file | %s s (%s GiB/s) | %s s | %s s (1 core) | | %s | %sx faster | %sx |\n' \
  "$v1" "$(gibps $two_gib $v1)" "$m1" "$o1" "$(ratio "$(gibps $two_gib $v1)" "$limit")" "$(ratio $m1 $v1)" "$(ratio $o1 $v1)"
printf '| init, 2 GiB in 4 files | %s s (%s GiB/s) | | | | | | |\n' "$i4" "$(gibps $two_gib $i4)"
printf '| sign, 2 GiB in 4 files, unchanged | %s s (%s GiB/s) | | | | | | |\n' "$g4" "$(gibps $two_gib $g4)"
printf '| verify, 10,000 files of 4 KiB | %s s | %s s | | | | %sx faster | |\n' "$vm" "$mm" "$(ratio $mm $vm)"
printf '| verify, demo model | %s ms | | | | | | |\n' "$(awk -v s=$vd 'BEGIN {printf "%.1f", s*1000}')"
printf '| peak RSS, verify of %s GiB | %s MiB | | | | | | |\n' "$memory_gib" "$(awk -v k=$rbig 'BEGIN {printf "%.1f", k/1024}')"
echo
echo "targets:"
check "verify 4 files >= 2.0 GiB/s ($(gibps $two_gib $v4))" "$(gibps $two_gib $v4) >= 2.0"
check "verify 4 files within 1.15x of openssl on all cores ($(ratio $v4 $o4)x its time)" "$v4 <= 1.15 * $o4"
check "verify 4 files >= 1.6x faster than model_signing ($(ratio $m4 $v4)x)" "$m4 >= 1.6 * $v4"
check "verify one file >= 1.9 GiB/s ($(gibps $two_gib $v1))" "$(gibps $two_gib $v1) >= 1.9"
check "init 4 files >= 1.1 GiB/s ($(gibps $two_gib $i4))" "$(gibps $two_gib $i4) >= 1.1"
check "sign 4 files >= 2.0 GiB/s ($(gibps $two_gib $g4))" "$(gibps $two_gib $g4) >= 2.0"
check "verify 10,000 small files >= 20x faster than model_signing ($(ratio $mm $vm)x)" "$mm >= 20 * $vm"
check "verify demo model < 20 ms ($(awk -v s=$vd 'BEGIN {printf "%.1f", s*1000}') ms)" "$vd < 0.020"
check "peak RSS <= 32 MiB on $memory_gib GiB ($(awk -v k=$rbig 'BEGIN {printf "%.1f", k/1024}') MiB; largest modelseal RSS in this run $(awk -v k=$rmax 'BEGIN {printf "%.1f", k/1024}') MiB)" "$rbig <= 32768"
