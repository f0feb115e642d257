#!/bin/sh
# Checks that a built addon loads on any glibc >= 2.28 (Debian 10, RHEL 8): no dynamic symbol needs a
# GLIBC_ version above 2.28, and none needs libstdc++ or its ABI (GLIBCXX_, CXXABI_; the addon links them in).
# libgcc_s.so.1 may be linked (every glibc system has it; Node links it) but only for GCC_ versions up to
# 7.0.0, the libgcc_s of GCC 8 (Debian 10, RHEL 8).
# Usage: scripts/check-glibc.sh FILE.node [MAX_GLIBC]   (MAX_GLIBC defaults to 2.28)
# OBJDUMP picks the objdump (default objdump; Debian's x86-64 objdump reads arm64 builds too).
set -eu
file=${1:?usage: check-glibc.sh FILE.node [MAX_GLIBC]}
max=${2:-2.28}
[ -f "$file" ] || { echo "check-glibc: no such file: $file" >&2; exit 2; }
objdump=${OBJDUMP:-objdump}
symbols=$("$objdump" -T "$file") || { echo "check-glibc: objdump -T failed on $file" >&2; exit 2; }

# Every versioned requirement as "VERSION symbol", e.g. "GLIBC_2.33 mknod".
required=$(printf '%s\n' "$symbols" | awk '$0 ~ /\*UND\*/ { for (i = 1; i <= NF; i++) if ($i ~ /^\(?(GLIBC|GLIBCXX|CXXABI|GCC)_/) { v = $i; gsub(/[()]/, "", v); print v, $NF } }')
bad=$(printf '%s\n' "$required" | awk -v max="$max" '
  function newer(v, m,   a, b, n, i) {  # v, m: "2.33", "2.28"
    n = split(v, a, "."); split(m, b, ".")
    for (i = 1; i <= n; i++) { if ((a[i] + 0) > (b[i] + 0)) return 1; if ((a[i] + 0) < (b[i] + 0)) return 0 }
    return 0
  }
  /^GLIBCXX_|^CXXABI_/ { print; next }
  /^GLIBC_[0-9]/ { v = $1; sub(/^GLIBC_/, "", v); if (newer(v, max)) print }
  /^GCC_[0-9]/ { v = $1; sub(/^GCC_/, "", v); if (newer(v, "7.0.0")) print }
')
libs=$("$objdump" -p "$file" | awk '$1 == "NEEDED" && $2 ~ /^libstdc\+\+/ { print $2 }')

if [ -n "$bad" ] || [ -n "$libs" ]; then
  echo "check-glibc: $file will not load on every glibc >= $max:" >&2
  [ -z "$bad" ] || printf '  needs %s\n' $(printf '%s\n' "$bad" | tr ' ' '@') >&2
  [ -z "$libs" ] || printf '  links %s\n' $libs >&2
  exit 1
fi
top=$(printf '%s\n' "$required" | awk '/^GLIBC_[0-9]/ { sub(/^GLIBC_/, "", $1); print $1 }' | sort -t. -k1,1n -k2,2n -k3,3n -u | tail -n 1)
echo "check-glibc: $file ok (newest symbol version GLIBC_${top:-none}; no GLIBCXX, CXXABI or libstdc++)"
