#!/usr/bin/env bash
# Tests the Python package as users get it: builds the wheel
# (build-wheel.sh), installs it into a fresh venv with pytest, mypy and
# huggingface_hub (the [hf] extra), and runs python/tests/ there.
#   bash python/test.sh [--profile release|dev|NAME] [PYTEST ARGS...]
# --profile is build-wheel.sh's (default release). CI, after `cargo build`
# and `cargo test` of the root crate, uses --profile dev: the binary and the
# dependencies are then built already, in the root target directory.
# The venv is made with $PYTHON (default python3): the wheel is abi3, so
# PYTHON=python3.9 or python3.13 tests it under those.
# The tests need no network; the installs need PyPI (or PIP_FIND_LINKS).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
start=$SECONDS

profile=release
if [ "${1:-}" = "--profile" ]; then
  [ $# -ge 2 ] || { echo "test.sh: --profile needs a value" >&2; exit 2; }
  profile="$2"
  shift 2
fi

wheel="$(bash "$here/build-wheel.sh" --profile "$profile")"
built=$SECONDS
echo "test.sh: built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) in $((built - start)) s" >&2

venv="$here/.venv-test"
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet "${wheel}[hf]" pytest mypy
installed=$SECONDS
echo "test.sh: installed into a fresh venv in $((installed - built)) s" >&2

# Run from the tests directory with the venv's interpreter: `import modelseal`
# is the installed wheel, never python/python/ (not on sys.path here).
cd "$here/tests"
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" || status=$?
echo "test.sh: tests took $((SECONDS - installed)) s; $((SECONDS - start)) s in all" >&2
exit "$status"
