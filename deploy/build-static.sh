#!/usr/bin/env bash
# Builds a fully static modelseal binary (glibc linked in: +crt-static), checks
# that it has no dynamic dependency, and with --image puts it in the FROM
# scratch image of deploy/Containerfile.
#   bash deploy/build-static.sh [--profile release|static-check|...] [--image NAME]
# Prints the binary's path on stdout, then, with --image, the image name; the
# build's own output goes to stderr. The binary is
# TARGET_DIR/<host triple>/<profile>/modelseal, e.g.
# target/x86_64-unknown-linux-gnu/release/modelseal.
#
# --target is given even though it is the host's: RUSTFLAGS then reach only the
# binary, and build scripts and proc-macros stay dynamic, as they must. The
# default features stay on: aws-lc-sys (Sigstore's cryptography, C code) is
# compiled with the binary and linked in statically like the rest.
# The image is built with podman, else buildah, else docker (CONTAINER_TOOL
# overrides), from a build context that holds only the binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

die() {
  echo "build-static.sh: $*" >&2
  exit 2
}
profile=release
image=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || die "--profile needs a value"; profile="$2"; shift 2 ;;
    --image) [ $# -ge 2 ] || die "--image needs a value"; image="$2"; shift 2 ;;
    -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

triple="$(rustc -vV | sed -n 's/^host: //p')"
case "$triple" in
  *-linux-gnu) ;;
  *) die "host $triple: crt-static as built here needs a *-linux-gnu target" ;;
esac
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
  cargo build --locked --profile "$profile" --target "$triple" >&2

target_dir="$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ -n "$target_dir" ] || die "cargo metadata gave no target_directory"
case "$profile" in
  dev) subdir=debug ;;
  *) subdir="$profile" ;;
esac
bin="$target_dir/$triple/$subdir/modelseal"
[ -x "$bin" ] || die "no binary at $bin"
# ldd says "statically linked" (static-pie) or "not a dynamic executable".
deps="$(ldd "$bin" 2>&1 || true)"
case "$deps" in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *) die "$bin is not static; ldd says: $deps" ;;
esac
echo "$bin"

[ -n "$image" ] || exit 0
tool="${CONTAINER_TOOL:-}"
if [ -z "$tool" ]; then
  for t in podman buildah docker; do
    if command -v "$t" >/dev/null 2>&1; then tool="$t"; break; fi
  done
fi
[ -n "$tool" ] || die "--image: none of podman, buildah or docker is installed"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$bin" "$context/modelseal"
case "$(basename "$tool")" in
  buildah) "$tool" bud -f "$root/deploy/Containerfile" -t "$image" "$context" >&2 ;;
  *) "$tool" build -f "$root/deploy/Containerfile" -t "$image" "$context" >&2 ;;
esac
echo "$image"
