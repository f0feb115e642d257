#!/usr/bin/env bash
# Test-only addon builds with gcc's sanitizers (binding.gyp's `sanitize` variable), beside the real build:
#   scripts/build-sanitize.sh                      -> build-sanitize/asan-ubsan/devmapper.node (address,undefined)
#   scripts/build-sanitize.sh undefined            -> build-sanitize/ubsan/devmapper.node
# Load one with DEVMAPPER_NATIVE=<file>; an ASan build also needs LD_PRELOAD=$(gcc -print-file-name=libasan.so)
# (the ASan runtime must come first). Skips the build when the file is newer than native/ and binding.gyp.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sanitize=${1:-address,undefined}
case "$sanitize" in
  address,undefined) name=asan-ubsan ;;
  undefined) name=ubsan ;;
  address) name=asan ;;
  *) echo "build-sanitize: unknown sanitizer set '$sanitize'" >&2; exit 2 ;;
esac
out=build-sanitize/$name/devmapper.node
if [ -f "$out" ] && [ -z "$(find native binding.gyp "$0" -newer "$out" -print -quit)" ]; then
  echo "build-sanitize: $out is up to date"
  exit 0
fi
# node-gyp rebuild deletes build/ (the compiled tests and the dev addon): build in a copy
stage=$(mktemp -d /tmp/devmapper-sanitize.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp -r package.json binding.gyp native "$stage/"
ln -s "$root/node_modules" "$stage/node_modules"
(cd "$stage" && npx node-gyp rebuild --jobs=max --sanitize="$sanitize" >"$stage/log" 2>&1) || { cat "$stage/log" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
mv -f "$stage/build/Release/devmapper.node" "$out"
echo "build-sanitize: $out"
