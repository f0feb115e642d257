// Shared by the C drivers: the iteration policy (the same as benchmarks/trial.ts) and the one-line JSON result.
// argv: <workload> <warmup> <minIters> <maxIters> <budgetMs>. Fixtures come from the environment
// (BENCH_POOL, BENCH_POOL_DEV, BENCH_LOOP_DEV, BENCH_ORIGIN, BENCH_ONE), set by benchmarks/guest.ts.
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// One workload: `op(k)` is timed (k: its index in the current batch); `after(count)` (optional) runs untimed after
// each batch of `count` iterations and undoes them, so the next batch starts clean. `max_batch` (0: no limit)
// caps a batch where `after` has to undo each iteration separately (snapshot ids 200..200+max_batch-1).
struct workload {
  const char *name;
  int (*op)(int k);
  int (*after)(int count);
  int max_batch;
};

// Inside the UML guest a clock read is a real system call (~17 us, no vDSO): as dear as a cheap ioctl. So
// iterations are timed in batches of about BATCH_NS, one clock read per batch, which amortises it to <1%.
#define BATCH_NS 5000000u
// Snapshot ids per batch (200..215); benchmarks/fixtures.ts deletes the same range between trials.
#define SNAPSHOT_BATCH 16

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *fixture(const char *key) {
  const char *v = getenv(key);
  if (!v) {
    fprintf(stderr, "bench: %s is not set\n", key);
    exit(2);
  }
  return v;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

// Warm-up: up to `warmup` iterations or a fifth of the budget, at least one; it also sizes the batch. Then
// batches until maxIters iterations, or until the budget is spent once minIters are done. A sample is one
// batch's time divided by its iterations; the median is taken over batches.
static int bench_main(int argc, char **argv, const struct workload *table, size_t count) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s <workload> <warmup> <minIters> <maxIters> <budgetMs>\n", argv[0]);
    return 2;
  }
  const struct workload *w = NULL;
  for (size_t k = 0; k < count; k++)
    if (strcmp(table[k].name, argv[1]) == 0) w = &table[k];
  if (!w) {
    printf("{\"unsupported\":true}\n");
    return 0;
  }
  long warmup = atol(argv[2]), min = atol(argv[3]), max = atol(argv[4]);
  uint64_t budget = (uint64_t)atol(argv[5]) * 1000000u;
  uint64_t t0 = now_ns(), t;
  long i = 0;
  do {
    if (w->op(0) != 0) return 1;
    if (w->after && w->after(1) != 0) return 1;
    i++;
    t = now_ns();
  } while (i < warmup && t - t0 < budget / 5);
  uint64_t per = (t - t0) / (uint64_t)i;
  long batch = per >= BATCH_NS ? 1 : (long)(BATCH_NS / (per ? per : 1));
  if (w->max_batch && batch > w->max_batch) batch = w->max_batch;

  double *samples = calloc((size_t)max, sizeof(double));
  long n = 0, iters = 0;
  t0 = now_ns();
  uint64_t prev = t0;
  while (iters < max && (iters < min || prev - t0 < budget)) {
    long b = batch < max - iters ? batch : max - iters;
    for (long k = 0; k < b; k++)
      if (w->op((int)k) != 0) return 1;
    t = now_ns();
    samples[n++] = (double)(t - prev) / (double)b;
    iters += b;
    prev = t;
    if (w->after) {
      if (w->after((int)b) != 0) return 1;
      prev = now_ns();  // the untimed undo is left out of the next batch
    }
  }
  qsort(samples, (size_t)n, sizeof(double), cmp_double);
  double sum = 0;
  for (long k = 0; k < n; k++) sum += samples[k];
  printf("{\"n\":%ld,\"batches\":%ld,\"batch\":%ld,\"medianNs\":%.0f,\"meanNs\":%.0f,\"minNs\":%.0f}\n", iters, n, batch,
         n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2, sum / (double)n, samples[0]);
  free(samples);
  return 0;
}
