// Lets the addon, built on a new glibc, load on glibc 2.28 (Debian 10, RHEL 8): scripts/check-glibc.sh checks it.
//
// libstdc++ (linked in statically, see binding.gyp) reads glibc's `__libc_single_threaded` (GLIBC_2.32) to
// skip atomic reference counting in single-threaded programs. Defining it here, hidden, binds every reference in
// the addon to this copy instead of glibc's. It stays 0: "not single-threaded", always true inside Node, so
// the atomic path is always taken. Nothing else in glibc reads this copy.
#include <cstddef>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
extern "C" {
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;
}
#endif
