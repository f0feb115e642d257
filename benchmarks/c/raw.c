// The floor: each workload as the fewest DM ioctls a hand-written C program can send on this kernel, from one
// reused buffer that only grows (no per-call allocation, no parsing beyond what the workload needs).
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench.h"

static int ctl = -1;
static char *buf;
static size_t buf_size = 16 * 1024;  // grows on DM_BUFFER_FULL_FLAG and stays grown
static char thin_table[128], linear_table[128];

static struct dm_ioctl *header(const char *name, uint32_t flags, size_t data_size) {
  struct dm_ioctl *io = (struct dm_ioctl *)buf;
  memset(io, 0, sizeof(*io));
  io->version[0] = 4;
  io->data_size = (uint32_t)data_size;
  io->data_start = sizeof(*io);
  io->flags = flags;
  if (name) strncpy(io->name, name, sizeof(io->name) - 1);
  return io;
}

static int do_ioctl(unsigned long cmd, const char *what) {
  if (ioctl(ctl, cmd, buf) == 0) return 0;
  fprintf(stderr, "raw: %s: %s\n", what, strerror(errno));
  return -1;
}

static int simple(unsigned long cmd, const char *name, uint32_t flags) {
  header(name, flags, sizeof(struct dm_ioctl));
  return do_ioctl(cmd, name ? name : "version");
}

// A command whose reply carries data: retried with a doubled buffer until it fits.
static int with_reply(unsigned long cmd, const char *name, uint32_t flags) {
  for (;;) {
    struct dm_ioctl *io = header(name, flags, buf_size);
    if (do_ioctl(cmd, name ? name : "list") != 0) return -1;
    if (!(io->flags & DM_BUFFER_FULL_FLAG)) return 0;
    buf_size *= 2;
    buf = realloc(buf, buf_size);
  }
}

static int load(const char *name, uint64_t length, const char *type, const char *params) {
  size_t spec = (sizeof(struct dm_target_spec) + strlen(params) + 1 + 7) & ~(size_t)7;
  struct dm_ioctl *io = header(name, 0, sizeof(struct dm_ioctl) + spec);
  io->target_count = 1;
  struct dm_target_spec *t = (struct dm_target_spec *)(buf + sizeof(*io));
  memset(t, 0, spec);
  t->length = length;
  t->next = (uint32_t)spec;
  strncpy(t->target_type, type, sizeof(t->target_type) - 1);
  strcpy((char *)(t + 1), params);
  return do_ioctl(DM_TABLE_LOAD, name);
}

static int create(const char *name, uint64_t length, const char *type, const char *params) {
  if (simple(DM_DEV_CREATE, name, 0) != 0 || load(name, length, type, params) != 0) return -1;
  return simple(DM_DEV_SUSPEND, name, 0);  // resume
}

static int message(const char *name, const char *text) {
  size_t size = sizeof(struct dm_ioctl) + ((sizeof(struct dm_target_msg) + strlen(text) + 1 + 7) & ~(size_t)7);
  header(name, 0, size);
  struct dm_target_msg *m = (struct dm_target_msg *)(buf + sizeof(struct dm_ioctl));
  m->sector = 0;
  memcpy((char *)(m + 1), text, strlen(text) + 1);  // m->message, past the fixed part
  return do_ioctl(DM_TARGET_MSG, text);
}

static int op_version(int i) { (void)i; return simple(DM_VERSION, NULL, 0); }
static int op_create_zero(int i) {
  (void)i;
  if (create("bench-t-0", 2048, "zero", "") != 0) return -1;
  return simple(DM_DEV_REMOVE, "bench-t-0", 0);
}
static int op_create_linear(int i) {
  (void)i;
  if (create("bench-t-0", 2048, "linear", linear_table) != 0) return -1;
  return simple(DM_DEV_REMOVE, "bench-t-0", 0);
}
static int op_info(int i) { (void)i; return simple(DM_DEV_STATUS, fixture("BENCH_ONE"), 0); }
static int op_status(int i) { (void)i; return with_reply(DM_TABLE_STATUS, fixture("BENCH_ONE"), 0); }
static int op_list(int i) { (void)i; return with_reply(DM_LIST_DEVICES, NULL, DM_UUID_FLAG); }
// Diagnostic: the same list, but starting from 16 KiB every call and doubling, as a stateless request path does.
static int op_list_regrow(int i) {
  (void)i;
  buf_size = 16 * 1024;
  return op_list(0);
}

static int op_status_all(int i) {
  (void)i;
  if (op_list(0) != 0) return -1;
  // Names are copied out first: every TABLE_STATUS reuses the buffer.
  struct dm_ioctl *io = (struct dm_ioctl *)buf;
  size_t len = io->data_size - io->data_start;
  char *names = malloc(len);
  memcpy(names, buf + io->data_start, len);
  int rc = 0;
  for (struct dm_name_list *nl = (struct dm_name_list *)names; nl->dev && rc == 0;
       nl = (struct dm_name_list *)((char *)nl + nl->next)) {
    rc = with_reply(DM_TABLE_STATUS, nl->name, 0);
    if (!nl->next) break;
  }
  free(names);
  return rc;
}

static int op_thin(int i) {
  (void)i;
  const char *pool = fixture("BENCH_POOL");
  if (message(pool, "create_thin 100") != 0 || create("bench-t-0", 2097152, "thin", thin_table) != 0) return -1;
  if (simple(DM_DEV_REMOVE, "bench-t-0", 0) != 0) return -1;
  return message(pool, "delete 100");
}

// Snapshot id 200+k for the k-th iteration of a batch; after_snapshot deletes them.
static int op_snapshot(int k) {
  char text[32];
  snprintf(text, sizeof(text), "create_snap %d 0", 200 + k);
  const char *origin = fixture("BENCH_ORIGIN");
  if (simple(DM_DEV_SUSPEND, origin, DM_SUSPEND_FLAG) != 0) return -1;
  int rc = message(fixture("BENCH_POOL"), text);
  return simple(DM_DEV_SUSPEND, origin, 0) != 0 ? -1 : rc;
}
static int after_snapshot(int count) {
  char text[32];
  for (int k = 0; k < count; k++) {
    snprintf(text, sizeof(text), "delete %d", 200 + k);
    if (message(fixture("BENCH_POOL"), text) != 0) return -1;
  }
  return 0;
}

static int op_create64(int i) {
  (void)i;
  char name[32];
  for (int k = 0; k < 64; k++) {
    snprintf(name, sizeof(name), "bench-c-%02d", k);
    if (create(name, 2048, "zero", "") != 0) return -1;
  }
  return 0;
}
static int after_create64(int count) {
  (void)count;  // batches of one
  char name[32];
  for (int k = 0; k < 64; k++) {
    snprintf(name, sizeof(name), "bench-c-%02d", k);
    if (simple(DM_DEV_REMOVE, name, 0) != 0) return -1;
  }
  return 0;
}

static const struct workload workloads[] = {
    {"version", op_version, NULL, 0},
    {"create-zero", op_create_zero, NULL, 0},
    {"create-linear", op_create_linear, NULL, 0},
    {"info", op_info, NULL, 0},
    {"status", op_status, NULL, 0},
    {"list-1000", op_list, NULL, 0},
    {"list-1000-regrow", op_list_regrow, NULL, 0},
    {"status-all-1000", op_status_all, NULL, 0},
    {"thin", op_thin, NULL, 0},
    {"snapshot", op_snapshot, after_snapshot, SNAPSHOT_BATCH},
    {"create64-sequential", op_create64, after_create64, 1},
};

int main(int argc, char **argv) {
  ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) {
    perror("raw: /dev/mapper/control");
    return 1;
  }
  buf = malloc(buf_size);
  if (argc > 1 && strcmp(argv[1], "thin") == 0) snprintf(thin_table, sizeof(thin_table), "%s 100", fixture("BENCH_POOL_DEV"));
  if (argc > 1 && strcmp(argv[1], "create-linear") == 0)
    snprintf(linear_table, sizeof(linear_table), "%s 0", fixture("BENCH_LOOP_DEV"));
  return bench_main(argc, argv, workloads, sizeof(workloads) / sizeof(workloads[0]));
}
