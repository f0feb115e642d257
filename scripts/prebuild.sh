#!/usr/bin/env bash
# `npm run prebuild`: N-API prebuilds for linux-x64 and linux-arm64 (arm64 with Debian's cross compiler,
# g++-aarch64-linux-gnu), stripped and libc-tagged as node-gyp-build reads them:
#   prebuilds/linux-x64/devmapper.glibc.node, prebuilds/linux-arm64/devmapper.glibc.node
# Each is checked with scripts/check-glibc.sh when that script exists. `--arch x64` (or arm64) builds one.
set -euo pipefail
cd "$(dirname "$0")/.."

# the native arch last, so build/Release keeps a build this machine can load
arches=(arm64 x64)
[ "${1:-}" = "--arch" ] && arches=("$2")

for arch in "${arches[@]}"; do
  env=()
  strip=strip
  if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
    command -v aarch64-linux-gnu-g++ >/dev/null || { echo "prebuild: no aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
    env=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar)
    strip=aarch64-linux-gnu-strip
  fi
  rm -rf "prebuilds/linux-$arch"
  env "${env[@]}" npx prebuildify --napi --strip --strip-bin "$strip" --tag-libc --arch "$arch" --target "node@$(node -p process.versions.node)"
  file=prebuilds/linux-$arch/devmapper.glibc.node
  [ -f "$file" ] || { echo "prebuild: $file was not made" >&2; exit 1; }
  if [ -x scripts/check-glibc.sh ] || [ -f scripts/check-glibc.sh ]; then bash scripts/check-glibc.sh "$file"; fi
  echo "prebuild: $file"
done
# node-gyp leaves the last addon built in build/Release, where node-gyp-build looks first: not a foreign one
[ "${arches[-1]}" = "$(node -p process.arch)" ] || rm -rf build/Release
