#!/usr/bin/env bash
# `npm run prebuild`: N-API prebuilds for linux-x64 and linux-arm64 (arm64 with Debian's cross compiler,
# g++-aarch64-linux-gnu), stripped and libc-tagged as node-gyp-build reads them:
#   prebuilds/linux-x64/devmapper.glibc.node, prebuilds/linux-arm64/devmapper.glibc.node
# Each is checked with scripts/check-glibc.sh when that script exists. `--arch x64` (or arm64) builds one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# node-gyp rebuild deletes build/, which holds the compiled tests and the dev addon: build in a copy
stage=$(mktemp -d /tmp/devmapper-prebuild.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp -r package.json binding.gyp native "$stage/"
ln -s "$root/node_modules" "$stage/node_modules"

arches=(x64 arm64)
[ "${1:-}" = "--arch" ] && arches=("$2")

for arch in "${arches[@]}"; do
  env=()
  strip=strip
  if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
    command -v aarch64-linux-gnu-g++ >/dev/null || { echo "prebuild: no aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
    env=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar)
    strip=aarch64-linux-gnu-strip
  fi
  (cd "$stage" && env "${env[@]}" npx prebuildify --napi --strip --strip-bin "$strip" --tag-libc --arch "$arch" \
    --target "node@$(node -p process.versions.node)" --out "$stage/out")
  file=prebuilds/linux-$arch/devmapper.glibc.node
  [ -f "$stage/out/$file" ] || { echo "prebuild: $file was not made" >&2; exit 1; }
  # replaced in one rename, so a test or loader running meanwhile never finds the directory empty
  mkdir -p "prebuilds/linux-$arch" && mv -f "$stage/out/$file" "$file"
  if [ -x scripts/check-glibc.sh ] || [ -f scripts/check-glibc.sh ]; then bash scripts/check-glibc.sh "$file"; fi
  echo "prebuild: $file"
done
