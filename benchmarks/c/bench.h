// Shared by the C drivers: the iteration policy (the same as benchmarks/trial.ts) and the one-line JSON result.
// argv: <workload> <warmup> <minIters> <maxIters> <budgetMs>. Fixtures come from the environment
// (BENCH_POOL, BENCH_POOL_DEV, BENCH_LOOP_DEV, BENCH_ORIGIN, BENCH_ONE), set by benchmarks/guest.ts.
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// One workload: `op` is timed, `after` (optional) undoes it untimed so the next iteration starts clean.
struct workload {
  const char *name;
  int (*op)(int i);
  int (*after)(int i);
};

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

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int step(const struct workload *w, int i) {
  if (w->op(i) != 0) return -1;
  if (w->after && w->after(i) != 0) return -1;
  return 0;
}

// Warm-up: up to `warmup` iterations or a fifth of the budget, at least one. Then timed iterations until
// maxIters, or until the budget is spent once minIters are done.
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
  uint64_t t0 = now_ns();
  int i = 0;
  do {
    if (step(w, i++) != 0) return 1;
  } while (i < warmup && now_ns() - t0 < budget / 5);

  uint64_t *samples = calloc((size_t)max, sizeof(uint64_t));
  long n = 0;
  t0 = now_ns();
  while (n < max && (n < min || now_ns() - t0 < budget)) {
    uint64_t s = now_ns();
    if (w->op(i) != 0) return 1;
    samples[n++] = now_ns() - s;
    if (w->after && w->after(i) != 0) return 1;
    i++;
  }
  qsort(samples, (size_t)n, sizeof(uint64_t), cmp_u64);
  double sum = 0;
  for (long k = 0; k < n; k++) sum += (double)samples[k];
  printf("{\"n\":%ld,\"medianNs\":%.0f,\"meanNs\":%.0f,\"minNs\":%llu}\n", n,
         n % 2 ? (double)samples[n / 2] : ((double)samples[n / 2 - 1] + (double)samples[n / 2]) / 2, sum / (double)n,
         (unsigned long long)samples[0]);
  free(samples);
  return 0;
}
