// The library LVM uses: each workload through libdevmapper's task API, as a C program would call it. No udev
// runs in the guest, so libdm also creates and removes /dev/mapper/<name> nodes itself (its fallback); node
// operations are flushed after every task with dm_task_update_nodes(), as dmsetup does at exit.
#include <libdevmapper.h>

#include "bench.h"

static char thin_table[128], linear_table[128];

static int run(struct dm_task *t, const char *what) {
  int ok = t && dm_task_run(t);
  if (!ok) fprintf(stderr, "libdm: %s failed\n", what);
  if (t) dm_task_destroy(t);
  dm_task_update_nodes();
  return ok ? 0 : -1;
}

static struct dm_task *task(int type, const char *name) {
  struct dm_task *t = dm_task_create(type);
  if (t && name && !dm_task_set_name(t, name)) {
    dm_task_destroy(t);
    return NULL;
  }
  return t;
}

static int simple(int type, const char *name) { return run(task(type, name), name ? name : "version"); }

// DM_DEVICE_CREATE with a target: libdm sends create, load and resume.
static int create(const char *name, uint64_t length, const char *type, const char *params) {
  struct dm_task *t = task(DM_DEVICE_CREATE, name);
  if (t && !dm_task_add_target(t, 0, length, type, params)) {
    dm_task_destroy(t);
    t = NULL;
  }
  return run(t, name);
}

static int message(const char *name, const char *text) {
  struct dm_task *t = task(DM_DEVICE_TARGET_MSG, name);
  if (t && (!dm_task_set_sector(t, 0) || !dm_task_set_message(t, text))) {
    dm_task_destroy(t);
    t = NULL;
  }
  return run(t, text);
}

static int op_version(int i) { (void)i; return simple(DM_DEVICE_VERSION, NULL); }
static int op_create_zero(int i) {
  (void)i;
  return create("bench-t-0", 2048, "zero", "") || simple(DM_DEVICE_REMOVE, "bench-t-0");
}
static int op_create_linear(int i) {
  (void)i;
  return create("bench-t-0", 2048, "linear", linear_table) || simple(DM_DEVICE_REMOVE, "bench-t-0");
}

static int op_info(int i) {
  (void)i;
  struct dm_task *t = task(DM_DEVICE_INFO, fixture("BENCH_ONE"));
  struct dm_info info;
  int ok = t && dm_task_run(t) && dm_task_get_info(t, &info) && info.exists;
  if (t) dm_task_destroy(t);
  return ok ? 0 : -1;
}

// Walks the targets, as a caller reading the status would.
static int status_of(const char *name) {
  struct dm_task *t = task(DM_DEVICE_STATUS, name);
  int ok = t && dm_task_run(t);
  if (ok) {
    void *next = NULL;
    uint64_t start, length;
    char *type, *params;
    do next = dm_get_next_target(t, next, &start, &length, &type, &params);
    while (next);
  }
  if (t) dm_task_destroy(t);
  return ok ? 0 : -1;
}
static int op_status(int i) { (void)i; return status_of(fixture("BENCH_ONE")); }

static int op_list(int i) {
  (void)i;
  struct dm_task *t = task(DM_DEVICE_LIST, NULL);
  int ok = t && dm_task_run(t) && dm_task_get_names(t);
  if (t) dm_task_destroy(t);
  return ok ? 0 : -1;
}

static int op_status_all(int i) {
  (void)i;
  struct dm_task *t = task(DM_DEVICE_LIST, NULL);
  struct dm_names *names = t && dm_task_run(t) ? dm_task_get_names(t) : NULL;
  int rc = names ? 0 : -1;
  if (names && names->dev) {
    for (;;) {
      if (status_of(names->name) != 0) rc = -1;
      if (!names->next) break;
      names = (struct dm_names *)((char *)names + names->next);
    }
  }
  if (t) dm_task_destroy(t);
  return rc;
}

static int op_thin(int i) {
  (void)i;
  const char *pool = fixture("BENCH_POOL");
  return message(pool, "create_thin 100") || create("bench-t-0", 2097152, "thin", thin_table) ||
         simple(DM_DEVICE_REMOVE, "bench-t-0") || message(pool, "delete 100");
}

// Snapshot id 200+k for the k-th iteration of a batch; after_snapshot deletes them.
static int op_snapshot(int k) {
  char text[32];
  snprintf(text, sizeof(text), "create_snap %d 0", 200 + k);
  const char *origin = fixture("BENCH_ORIGIN");
  if (simple(DM_DEVICE_SUSPEND, origin) != 0) return -1;
  int rc = message(fixture("BENCH_POOL"), text);
  return simple(DM_DEVICE_RESUME, origin) != 0 ? -1 : rc;
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
    if (simple(DM_DEVICE_REMOVE, name) != 0) return -1;
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
    {"status-all-1000", op_status_all, NULL, 0},
    {"thin", op_thin, NULL, 0},
    {"snapshot", op_snapshot, after_snapshot, SNAPSHOT_BATCH},
    {"create64-sequential", op_create64, after_create64, 1},
};

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "thin") == 0) snprintf(thin_table, sizeof(thin_table), "%s 100", fixture("BENCH_POOL_DEV"));
  if (argc > 1 && strcmp(argv[1], "create-linear") == 0)
    snprintf(linear_table, sizeof(linear_table), "%s 0", fixture("BENCH_LOOP_DEV"));
  int rc = bench_main(argc, argv, workloads, sizeof(workloads) / sizeof(workloads[0]));
  dm_lib_release();
  return rc;
}
