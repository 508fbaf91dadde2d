/*
 * A controller in miniature, in C: the controller demo of workqueue-core
 * (workqueue-core/examples/controller.rs) through the C API, on pthreads.
 *
 * Two "informer" threads emit change events for 10,000 objects (object i
 * is key i, standing for "namespace-NN/object-NNNNN"): first the initial
 * list, then a stream of updates where a few hot objects change far more
 * often than the rest, so most events collapse into a run that is already
 * pending. wq_worker_run reconciles the keys on four workers; one
 * reconcile in ten fails (a seeded generator decides) and is retried under
 * the default controller rate limiter. When the informers stop, the queue
 * is shut down with wq_queue_shutdown_with_drain, which processes every key
 * still queued and drops the retries still waiting for their backoff.
 * The queue is named, so it keeps client-go's metrics: the demo ends with
 * a summary of them (wq_queue_metrics) and the size of the Prometheus text
 * a /metrics endpoint would serve (wq_metrics_prometheus).
 *
 *     make demo-c            (WQ_DEMO_QUICK=1 for a run ten times shorter)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "workqueue.h"

#define OBJECTS 10000
#define INFORMERS 2
#define BURST 1000
#define BURST_PAUSE_MS 20
#define HOT_OBJECTS (OBJECTS / 100) /* half the updates go to the hottest 1 % */
#define WORKERS 4
#define RECONCILE_US 200 /* what one reconcile costs: a call to an API server */
#define FAILURE_PERCENT 10
#define MAX_RETRIES 5
#define SEED 0x00c0ffeeull

static int updates_per_informer = 100000;

typedef struct {
    wq_queue *queue;
    atomic_ullong emitted, runs, retry_runs, successes, failures, retries_scheduled, dropped, distinct;
    atomic_bool seen[OBJECTS];
    atomic_bool finished;
} demo;

/* splitmix64: a seeded generator, so the demo is the same on every run. */
static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t *state, uint64_t bound) {
    return splitmix64(state) % bound;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_us(long us) {
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0) {
    }
}

static void must(wq_status status, const char *what) {
    if (status != WQ_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", what, wq_status_str(status));
        exit(1);
    }
}

typedef struct {
    demo *d;
    int id;
} informer_arg;

/* Informer 0 first lists every object once; then each informer emits its
   updates in bursts, half of them to the hot objects. */
static void *inform(void *arg) {
    informer_arg *informer = arg;
    demo *d = informer->d;
    if (informer->id == 0) {
        uint64_t keys[BURST];
        for (uint64_t first = 0; first < OBJECTS; first += BURST) {
            for (int i = 0; i < BURST; i++) keys[i] = first + (uint64_t)i;
            must(wq_queue_add_batch(d->queue, keys, BURST, NULL), "add_batch");
            atomic_fetch_add(&d->emitted, BURST);
        }
    }
    uint64_t rng = SEED ^ (uint64_t)(informer->id + 1);
    int bursts = updates_per_informer / BURST;
    for (int burst = 0; burst < bursts; burst++) {
        for (int i = 0; i < BURST; i++) {
            uint64_t object = splitmix64(&rng) % 2 == 0 ? below(&rng, HOT_OBJECTS) : below(&rng, OBJECTS);
            must(wq_queue_add(d->queue, object, NULL), "add");
        }
        atomic_fetch_add(&d->emitted, BURST);
        if (burst + 1 < bursts) sleep_us(BURST_PAUSE_MS * 1000);
    }
    return NULL;
}

/* The handler: pretends to call an API server; fails one run in ten. */
static int reconcile(void *user_data, uint64_t key) {
    demo *d = user_data;
    uint64_t run = atomic_fetch_add(&d->runs, 1);
    uint32_t requeues = 0;
    must(wq_queue_num_requeues(d->queue, key, &requeues), "num_requeues");
    if (requeues > 0) atomic_fetch_add(&d->retry_runs, 1);
    if (!atomic_exchange(&d->seen[key], true)) atomic_fetch_add(&d->distinct, 1);
    sleep_us(RECONCILE_US);
    uint64_t state = SEED + run;
    if (splitmix64(&state) % 100 >= FAILURE_PERCENT) {
        atomic_fetch_add(&d->successes, 1);
        return 0;
    }
    atomic_fetch_add(&d->failures, 1);
    /* wq_worker_run requeues it with add_rate_limited, which refuses keys
       once the queue is shut down (the report counts those runs abandoned).
       For the progress line only: the summary shows the report's counts. */
    bool shutting_down = false;
    must(wq_queue_shutting_down(d->queue, &shutting_down), "shutting_down");
    if (requeues < MAX_RETRIES && !shutting_down) atomic_fetch_add(&d->retries_scheduled, 1);
    return 1;
}

static void on_dropped(void *user_data, uint64_t key) {
    demo *d = user_data;
    (void)key;
    atomic_fetch_add(&d->dropped, 1);
}

typedef struct {
    demo *d;
    wq_worker_report report;
} workers_arg;

static void *run_workers(void *arg) {
    workers_arg *w = arg;
    must(wq_worker_run(w->d->queue, WORKERS, MAX_RETRIES, reconcile, on_dropped, w->d, &w->report),
         "wq_worker_run");
    return NULL;
}

/* One progress line twice a second. */
static void *report_progress(void *arg) {
    demo *d = arg;
    double started = now_seconds(), last_time = started;
    uint64_t last_runs = 0;
    for (;;) {
        bool finished = atomic_load(&d->finished);
        for (int tick = 0; tick < 5 && !finished; tick++) {
            sleep_us(100000);
            finished = atomic_load(&d->finished);
        }
        size_t depth = 0, in_flight = 0, delayed = 0;
        must(wq_queue_len(d->queue, &depth), "len");
        must(wq_queue_processing_len(d->queue, &in_flight), "processing_len");
        must(wq_queue_delayed_len(d->queue, &delayed), "delayed_len");
        uint64_t runs = atomic_load(&d->runs);
        double now = now_seconds();
        printf("%5.1f s  processed %7llu  depth %6zu  in flight %zu  waiting retry %5zu  retries %5llu  %7.0f keys/s\n",
               now - started, (unsigned long long)runs, depth, in_flight, delayed,
               (unsigned long long)atomic_load(&d->retries_scheduled),
               (double)(runs - last_runs) / (now - last_time));
        fflush(stdout);
        last_runs = runs;
        last_time = now;
        if (finished) return NULL;
    }
}

static double mean_ms(const wq_histogram *h) {
    return h->count == 0 ? 0.0 : h->sum_seconds / (double)h->count * 1e3;
}

/* The queue's client-go metrics, as a scrape would show them. */
static void print_metrics(const wq_queue *queue) {
    wq_metrics m;
    must(wq_queue_metrics(queue, &m), "wq_queue_metrics");
    printf("\nmetrics (workqueue_*{name=\"controller-demo\"})\n");
    printf("  %-22s %llu\n", "adds_total", (unsigned long long)m.adds);
    printf("  %-22s %llu\n", "retries_total", (unsigned long long)m.retries);
    printf("  %-22s %lld\n", "depth", (long long)m.depth);
    printf("  %-22s %llu observations, mean %.3f ms\n", "queue_duration",
           (unsigned long long)m.queue_duration.count, mean_ms(&m.queue_duration));
    printf("  %-22s %llu observations, mean %.3f ms\n", "work_duration",
           (unsigned long long)m.work_duration.count, mean_ms(&m.work_duration));
    /* The work-duration histogram, bucket by bucket (not cumulative). */
    const double *bounds = wq_metrics_bucket_bounds();
    printf("  %-22s", "work_duration buckets");
    for (int i = 0; i < WQ_METRICS_BUCKETS; i++)
        if (m.work_duration.buckets[i] != 0)
            printf(" <=%gs: %llu", bounds[i], (unsigned long long)m.work_duration.buckets[i]);
    printf("\n");
    printf("  %-22s %.3f s (longest running %.3f s)\n", "unfinished_work",
           m.unfinished_work_seconds, m.longest_running_processor_seconds);
    size_t text_len = 0;
    wq_status status = wq_metrics_prometheus(NULL, 0, &text_len);
    if (status == WQ_STATUS_BUFFER_TOO_SMALL)
        printf("  %-22s %zu bytes of Prometheus text (wq_metrics_prometheus)\n", "scrape", text_len);
}

int main(void) {
    if (getenv("WQ_DEMO_QUICK")) updates_per_informer /= 10;
    demo *d = calloc(1, sizeof *d);
    if (!d) return 1;
    /* Named, so it keeps client-go's metrics (summarised at the end); the
       real clock and the default controller limiter. */
    wq_queue_options options = {0};
    options.name = "controller-demo";
    must(wq_queue_new(&options, &d->queue), "wq_queue_new");
    printf("controller demo (C): %d informers, %d objects, %d workers, %d %% of reconciles fail, "
           "default controller rate limiter\n",
           INFORMERS, OBJECTS, WORKERS, FAILURE_PERCENT);
    double started = now_seconds();

    workers_arg workers = {.d = d};
    pthread_t workers_thread, progress_thread, informers[INFORMERS];
    informer_arg informer_args[INFORMERS];
    pthread_create(&workers_thread, NULL, run_workers, &workers);
    pthread_create(&progress_thread, NULL, report_progress, d);
    for (int i = 0; i < INFORMERS; i++) {
        informer_args[i] = (informer_arg){d, i};
        pthread_create(&informers[i], NULL, inform, &informer_args[i]);
    }
    for (int i = 0; i < INFORMERS; i++) pthread_join(informers[i], NULL);

    size_t queued = 0, in_flight = 0, waiting_retry = 0;
    must(wq_queue_len(d->queue, &queued), "len");
    must(wq_queue_processing_len(d->queue, &in_flight), "processing_len");
    must(wq_queue_delayed_len(d->queue, &waiting_retry), "delayed_len");
    double drain_started = now_seconds();
    wq_status drain = wq_queue_shutdown_with_drain(d->queue, WQ_WAIT_FOREVER);
    double drain_time = now_seconds() - drain_started;
    pthread_join(workers_thread, NULL);
    atomic_store(&d->finished, true);
    pthread_join(progress_thread, NULL);
    double elapsed = now_seconds() - started;

    uint64_t emitted = atomic_load(&d->emitted), runs = atomic_load(&d->runs);
    uint64_t failures = atomic_load(&d->failures);
    printf("\nsummary\n");
    printf("  %-22s %llu for %d objects (initial list + %d updates)\n", "events emitted",
           (unsigned long long)emitted, OBJECTS, INFORMERS * updates_per_informer);
    printf("  %-22s %llu of %d\n", "distinct keys run", (unsigned long long)atomic_load(&d->distinct), OBJECTS);
    printf("  %-22s %llu: collapse ratio %.1f events per run\n", "handler runs", (unsigned long long)runs,
           (double)emitted / (double)(runs ? runs : 1));
    printf("  %-22s %llu\n", "successes", (unsigned long long)workers.report.succeeded);
    printf("  %-22s %llu (%.1f %% of runs)\n", "failures", (unsigned long long)failures,
           100.0 * (double)failures / (double)(runs ? runs : 1));
    printf("  %-22s %llu with add_rate_limited\n", "  retries scheduled",
           (unsigned long long)workers.report.retried);
    printf("  %-22s %llu runs of a key with a failure pending\n", "  retry runs",
           (unsigned long long)atomic_load(&d->retry_runs));
    printf("  %-22s %zu retries still waiting for their backoff\n", "  dropped at shutdown", waiting_retry);
    printf("  %-22s %llu abandoned (not requeued: the queue was shut down)\n", "  failed in the drain",
           (unsigned long long)workers.report.abandoned);
    printf("  %-22s %llu (after %d retries)\n", "  dropped by the pool",
           (unsigned long long)workers.report.dropped, MAX_RETRIES);
    printf("  %-22s %zu queued + %zu in flight at shutdown, %s in %.0f ms\n", "shutdown_with_drain",
           queued, in_flight, drain == WQ_STATUS_OK ? "all processed" : "NOT drained", drain_time * 1e3);
    printf("  %-22s %.2f s (%.0f runs/s)\n", "elapsed", elapsed, (double)runs / elapsed);

    printf("\nThe default controller limiter is the larger of a per-key backoff (5 ms, doubling)\n"
           "and a token bucket shared by all keys (10 retries/s after a burst of 100). With\n"
           "hundreds of failures a second, most retries were scheduled seconds to minutes\n"
           "ahead; shutdown_with_drain processed everything already queued and dropped those\n"
           "retries, which had not been added yet. A long-running controller would run them.\n");

    print_metrics(d->queue);

    wq_queue_free(d->queue);
    wq_worker_report r = workers.report;
    bool ok = drain == WQ_STATUS_OK && atomic_load(&d->distinct) == OBJECTS &&
              r.succeeded + r.retried + r.dropped + r.abandoned == runs; /* every run counted once */
    free(d);
    return ok ? 0 : 1;
}
