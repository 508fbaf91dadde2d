/*
 * The C ABI against the Rust core, in one run: the single-thread
 * add→get→done cycle and the 2 producers + 2 consumers workloads (per-key
 * and batch calls), measured through libworkqueue from C and, alternately
 * with each C measurement, through workqueue-core directly by the Rust
 * twin of this program (workqueue-ffi/examples/bench_core.rs, run as a
 * child process). Prints the median of each and the ratio.
 *
 *     make bench-c
 *     build/c/bench_c --rust target/release/examples/bench_core [--reps N] [--quick]
 *
 * No figure passes or fails: this prints numbers for people to read.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workqueue.h"

#define BATCH 256

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void must(wq_status status, const char *what) {
    if (status != WQ_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", what, wq_status_str(status));
        exit(1);
    }
}

/* ns per add→get→done cycle over n distinct keys. */
static double c_cycle(uint64_t n) {
    wq_queue *q;
    must(wq_queue_new(NULL, &q), "new");
    int64_t start = now_ns();
    for (uint64_t key = 0; key < n; key++) {
        uint64_t got;
        wq_queue_add(q, key, NULL);
        wq_queue_get(q, WQ_WAIT_FOREVER, &got);
        wq_queue_done(q, got, NULL);
    }
    double ns = (double)(now_ns() - start) / (double)n;
    wq_queue_free(q);
    return ns;
}

typedef struct {
    wq_queue *q;
    pthread_barrier_t barrier;
    uint64_t n;
    bool batch;
} mpmc;

typedef struct {
    mpmc *m;
    int index;
    int64_t start, end;
    uint64_t count;
} role;

static void *producer(void *arg) {
    role *r = arg;
    mpmc *m = r->m;
    uint64_t first = m->n * (uint64_t)r->index / 2, last = m->n * (uint64_t)(r->index + 1) / 2;
    pthread_barrier_wait(&m->barrier);
    r->start = now_ns();
    if (m->batch) {
        uint64_t keys[BATCH];
        for (uint64_t key = first; key < last;) {
            size_t count = 0;
            while (count < BATCH && key < last) keys[count++] = key++;
            wq_queue_add_batch(m->q, keys, count, NULL);
        }
    } else {
        for (uint64_t key = first; key < last; key++) wq_queue_add(m->q, key, NULL);
    }
    return NULL;
}

static void *consumer(void *arg) {
    role *r = arg;
    mpmc *m = r->m;
    pthread_barrier_wait(&m->barrier);
    r->start = now_ns();
    uint64_t count = 0;
    if (m->batch) {
        uint64_t keys[BATCH];
        size_t got;
        while (wq_queue_get_batch(m->q, keys, BATCH, WQ_WAIT_FOREVER, &got) == WQ_STATUS_OK) {
            wq_queue_done_batch(m->q, keys, got, NULL);
            count += got;
        }
    } else {
        uint64_t key;
        while (wq_queue_get(m->q, WQ_WAIT_FOREVER, &key) == WQ_STATUS_OK) {
            wq_queue_done(m->q, key, NULL);
            count++;
        }
    }
    r->end = now_ns();
    r->count = count;
    return NULL;
}

/* Keys per second with 2 producers and 2 consumers over n keys. */
static double c_mpmc(uint64_t n, bool batch) {
    mpmc m = {.n = n, .batch = batch};
    must(wq_queue_new(NULL, &m.q), "new");
    pthread_barrier_init(&m.barrier, NULL, 4);
    pthread_t threads[4];
    role roles[4];
    for (int i = 0; i < 4; i++) {
        roles[i] = (role){.m = &m, .index = i % 2};
        pthread_create(&threads[i], NULL, i < 2 ? producer : consumer, &roles[i]);
    }
    pthread_join(threads[0], NULL);
    pthread_join(threads[1], NULL);
    must(wq_queue_shutdown(m.q), "shutdown");
    pthread_join(threads[2], NULL);
    pthread_join(threads[3], NULL);
    int64_t first = roles[0].start, last = roles[2].end;
    uint64_t total = 0;
    for (int i = 0; i < 4; i++) {
        if (roles[i].start < first) first = roles[i].start;
        if (i >= 2 && roles[i].end > last) last = roles[i].end;
        total += roles[i].count;
    }
    if (total != n) {
        fprintf(stderr, "handed out %llu keys of %llu\n", (unsigned long long)total,
                (unsigned long long)n);
        exit(1);
    }
    pthread_barrier_destroy(&m.barrier);
    wq_queue_free(m.q);
    return (double)n / ((double)(last - first) / 1e9);
}

static double c_run(const char *workload, uint64_t n) {
    if (strcmp(workload, "cycle") == 0) return c_cycle(n);
    return c_mpmc(n, strcmp(workload, "mpmc_batch") == 0);
}

/* One measurement by the Rust twin: it prints one number. */
static double rust_run(const char *rust, const char *workload, uint64_t n) {
    char command[4096];
    snprintf(command, sizeof command, "'%s' %s %llu", rust, workload, (unsigned long long)n);
    FILE *child = popen(command, "r");
    double value = 0;
    if (!child || fscanf(child, "%lf", &value) != 1 || pclose(child) != 0) {
        fprintf(stderr, "could not run %s\n", command);
        exit(1);
    }
    return value;
}

/* Prints `text` left-aligned in `width` columns, counting UTF-8 characters. */
static void print_padded(const char *text, int width) {
    int columns = 0;
    for (const char *c = text; *c; c++)
        if (((unsigned char)*c & 0xc0) != 0x80) columns++;
    printf("%s%*s", text, width > columns ? width - columns : 0, "");
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int n) {
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int main(int argc, char **argv) {
    const char *rust = NULL;
    int reps = 5;
    uint64_t divisor = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rust") == 0 && i + 1 < argc) rust = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0) divisor = 20;
        else {
            fprintf(stderr, "usage: bench_c --rust PATH [--reps N] [--quick]\n");
            return 2;
        }
    }
    if (!rust || reps < 1 || reps > 100) {
        fprintf(stderr, "usage: bench_c --rust PATH [--reps N] [--quick]\n");
        return 2;
    }
    struct {
        const char *workload, *label;
        uint64_t n;
        bool per_op; /* ns per op (lower is better) or keys/s (higher is better) */
    } rows[] = {
        {"cycle", "Add→Get→Done, 1 thread, u64 key", 2000000, true},
        {"mpmc", "2+2 threads, 1 M keys, per key", 1000000, false},
        {"mpmc_batch", "2+2 threads, 1 M keys, batch 256", 1000000, false},
    };
    printf("libworkqueue %s: the C ABI against workqueue-core, median of %d alternating runs\n",
           wq_version(), reps);
    printf("%-34s %22s %22s %9s %9s\n", "workload", "C ABI median (best)", "Rust core median (best)",
           "C/Rust", "best");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        uint64_t n = rows[r].n / divisor;
        double c[100], rs[100];
        c_run(rows[r].workload, n / 10 + 1); /* warm-up; the twin warms up itself */
        for (int i = 0; i < reps; i++) {
            c[i] = c_run(rows[r].workload, n);
            rs[i] = rust_run(rust, rows[r].workload, n);
        }
        double cm = median(c, reps), rm = median(rs, reps);
        /* median() sorted the samples: the best is first (time) or last (rate). */
        double cb = rows[r].per_op ? c[0] : c[reps - 1];
        double rb = rows[r].per_op ? rs[0] : rs[reps - 1];
        char c_text[48], r_text[48];
        if (rows[r].per_op) {
            snprintf(c_text, sizeof c_text, "%.1f (%.1f) ns", cm, cb);
            snprintf(r_text, sizeof r_text, "%.1f (%.1f) ns", rm, rb);
        } else {
            snprintf(c_text, sizeof c_text, "%.2f (%.2f) M/s", cm / 1e6, cb / 1e6);
            snprintf(r_text, sizeof r_text, "%.2f (%.2f) M/s", rm / 1e6, rb / 1e6);
        }
        /* Cost ratios (> 1: the C ABI is slower), of the medians and of the bests. */
        double ratio = rows[r].per_op ? cm / rm : rm / cm;
        double best_ratio = rows[r].per_op ? cb / rb : rb / cb;
        print_padded(rows[r].label, 34);
        printf(" %22s %22s %8.2fx %8.2fx\n", c_text, r_text, ratio, best_ratio);
        fflush(stdout);
    }
    printf("C/Rust: time per key through the C ABI over time per key in Rust (> 1: C is slower),\n"
           "of the medians and of the best runs (the best is the steadier figure on a busy machine);\n"
           "the target for the cycle is at most 1.10x. Cycle figures are ns per add+get+done.\n");
    return 0;
}
