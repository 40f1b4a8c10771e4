#!/usr/bin/env bash
# Builds the modelseal wheel: the `modelseal` command (the root crate's Rust
# binary, installed on PATH as a wheel script) and `import modelseal` (the
# pyo3 extension of python/Cargo.toml, with the Python sources in
# python/python/modelseal/).
#   bash python/build-wheel.sh [--profile release|dev|NAME]
# The binary is built with `cargo build --locked --profile NAME` of the root
# crate, in the root crate's target directory (CARGO_TARGET_DIR if set); the
# extension with maturin, same profile, same target directory, so that a dev
# build reuses the dependencies `cargo build` / `cargo test` compiled. The
# default is release. Prints the wheel's path on stdout; the builds' output
# goes to stderr. The wheel is written to python/dist/ (emptied first).
# maturin is taken from $MATURIN, else PATH, else python/.venv-build (made
# here with pip the first time).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

die() {
  echo "build-wheel.sh: $*" >&2
  exit 2
}
profile=release
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || die "--profile needs a value"; profile="$2"; shift 2 ;;
    -h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
case "$profile" in
  dev) subdir=debug ;;
  *) subdir="$profile" ;;
esac

# 1. The binary, from the root crate.
(cd "$root" && cargo build --locked --profile "$profile" --bin modelseal) >&2
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ -n "$target_dir" ] || die "cargo metadata gave no target_directory"
bin="$target_dir/$subdir/modelseal"
[ -x "$bin" ] || die "no binary at $bin"

# 2. Into the wheel's data directory (pyproject.toml: tool.maturin.data):
# scripts/ is installed on PATH. Debug info is stripped from the copy (a dev
# binary carries ~180 MB of it); release binaries are stripped already.
data="$here/build/wheel-data"
rm -rf "$data"
mkdir -p "$data/scripts"
cp "$bin" "$data/scripts/modelseal"
if command -v strip >/dev/null 2>&1; then
  strip --strip-debug "$data/scripts/modelseal"
fi
chmod 0755 "$data/scripts/modelseal"

# 3. The extension and the wheel.
maturin="${MATURIN:-}"
if [ -z "$maturin" ]; then
  if command -v maturin >/dev/null 2>&1; then
    maturin=maturin
  else
    if [ ! -x "$here/.venv-build/bin/maturin" ]; then
      echo "build-wheel.sh: installing maturin into python/.venv-build" >&2
      python3 -m venv "$here/.venv-build" >&2
      "$here/.venv-build/bin/python" -m pip install --quiet "maturin>=1.8,<2" >&2
    fi
    maturin="$here/.venv-build/bin/maturin"
  fi
fi
rm -rf "$here/dist"
CARGO_TARGET_DIR="$target_dir" "$maturin" build --locked --profile "$profile" \
  --strip --manifest-path "$here/Cargo.toml" --out "$here/dist" >&2
wheels=("$here"/dist/*.whl)
[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] || die "expected one wheel in $here/dist"
# A wheel without the command would install `import modelseal` alone: refuse it.
python3 - "${wheels[0]}" <<'EOF' || die "the wheel lacks the modelseal script"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
sys.exit(not any(n.endswith(".data/scripts/modelseal") for n in names))
EOF
echo "${wheels[0]}"
