// LD_PRELOAD shim for Debian's User-Mode Linux 6.1 on hosts whose XSAVE area is larger than UML knows about
// (CPUs with AMX: the host's ptrace wants the whole area, ~11 KiB, while UML 6.1 sends the 2,696 bytes it
// knows of, and PTRACE_SETREGSET fails with EFAULT: "userspace - ptrace set fp regs failed, errno = 14").
// UML's buffer holds every component up to AVX-512; the components past it (AMX tiles) are never in use in the
// guest, and UML's XSAVE header does not mark them, so padding the buffer with zeros to the host's size gives
// the host exactly the state UML meant. Other ptrace requests pass through untouched.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);
static ptrace_fn real_ptrace;
static size_t host_size; // the host's XSAVE area size, learned from the first GETREGSET
static unsigned char *padded;

long ptrace(enum __ptrace_request request, ...) {
  va_list ap;
  va_start(ap, request);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  if (!real_ptrace) real_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  if ((long)addr != NT_X86_XSTATE || (request != PTRACE_GETREGSET && request != PTRACE_SETREGSET)) {
    return real_ptrace(request, pid, addr, data);
  }
  if (!host_size) {
    // The kernel trims iov_len to the regset's size: a large buffer learns it.
    static unsigned char probe[64 * 1024];
    struct iovec iov = {probe, sizeof probe};
    if (real_ptrace(PTRACE_GETREGSET, pid, addr, &iov) == 0) {
      host_size = iov.iov_len;
      padded = calloc(1, host_size);
    }
  }
  struct iovec *iov = data;
  if (request == PTRACE_SETREGSET && padded && iov->iov_len < host_size) {
    memset(padded, 0, host_size);
    memcpy(padded, iov->iov_base, iov->iov_len);
    struct iovec full = {padded, host_size};
    return real_ptrace(request, pid, addr, &full);
  }
  return real_ptrace(request, pid, addr, data);
}
