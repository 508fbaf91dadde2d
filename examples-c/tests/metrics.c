/*
 * Metrics: the snapshot of a named queue (wq_queue_metrics) on a manual
 * clock, its bounded depth by priority, unnamed queues, the Prometheus text (wq_metrics_prometheus) with
 * every family and client-go's `le` labels, the buffer protocol, and a
 * scrape while workers run.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MS 1000000ull

/* Within 1 ns, as the conformance scenarios compare durations. */
#define CHECK_SECONDS(got, want_ns) CHECK(fabs((got) * 1e9 - (double)(want_ns)) <= 1.0)

/* The Prometheus text of every named queue, malloc'd (NULL on failure). */
static char *scrape(size_t *out_len) {
    size_t len = 0;
    CHECK_STATUS(wq_metrics_prometheus(NULL, 0, &len), WQ_STATUS_BUFFER_TOO_SMALL);
    for (int attempt = 0; attempt < 10; attempt++) {
        size_t cap = len + 1 + 256; /* room for counters that grow meanwhile */
        char *buffer = malloc(cap);
        wq_status status = wq_metrics_prometheus(buffer, cap, &len);
        if (status == WQ_STATUS_OK) {
            CHECK_EQ_U64(strlen(buffer), len);
            if (out_len) *out_len = len;
            return buffer;
        }
        free(buffer);
        CHECK_STATUS(status, WQ_STATUS_BUFFER_TOO_SMALL);
        if (status != WQ_STATUS_BUFFER_TOO_SMALL) break;
    }
    CHECK(!"the text kept growing");
    return NULL;
}

static void test_metrics_bucket_bounds(void) {
    const double *bounds = wq_metrics_bucket_bounds();
    CHECK(bounds != NULL);
    CHECK(bounds == wq_metrics_bucket_bounds());
    CHECK(WQ_METRICS_BUCKETS == 10);
    double want = 1e-8;
    for (int i = 0; i < WQ_METRICS_BUCKETS; i++, want *= 10)
        CHECK(fabs(bounds[i] - want) <= want * 1e-12);
    CHECK(bounds[0] == 1e-8 && bounds[WQ_METRICS_BUCKETS - 1] == 10.0);
}

/* client-go's TestMetrics, through the C API: exact values on a manual
   clock through add, re-add while processing, get, done, a clock step,
   retries; nothing moves after the shutdown. */
static void test_metrics_snapshot(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_rate_limiter *limiter;
    CHECK_OK(wq_rate_limiter_new_exponential(1 * MS, 1000 * MS, &limiter));
    wq_queue_options options = {0};
    options.name = "c-metrics-snapshot";
    options.clock = clock;
    options.rate_limiter = limiter;
    wq_queue *q;
    CHECK_OK(wq_queue_new(&options, &q));
    wq_rate_limiter_free(limiter);

    wq_metrics m;
    memset(&m, 0xff, sizeof m);
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK(m.depth == 0 && m.adds == 0 && m.retries == 0);
    CHECK(m.queue_duration.count == 0 && m.work_duration.count == 0);
    CHECK(m.queue_duration.sum_seconds == 0.0 && m.unfinished_work_seconds == 0.0);
    for (int i = 0; i < WQ_METRICS_BUCKETS; i++) CHECK(m.queue_duration.buckets[i] == 0);

    CHECK_OK(wq_queue_add(q, 1, NULL));
    CHECK_OK(wq_queue_add(q, 1, NULL)); /* collapses: not an add */
    CHECK_OK(wq_queue_add(q, 2, NULL));
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK(m.depth == 2);
    CHECK_EQ_U64(m.adds, 2);

    CHECK_OK(wq_manual_clock_step(clock, 50 * MS));
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key)); /* waited 50 ms */
    CHECK_OK(wq_manual_clock_step(clock, 5 * MS));
    CHECK_OK(wq_queue_add(q, 1, NULL)); /* dirty again while processed */
    CHECK_OK(wq_manual_clock_step(clock, 25 * MS));
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK(m.depth == 2); /* 2 queued, 1 dirty */
    CHECK_EQ_U64(m.adds, 3);
    CHECK_EQ_U64(m.queue_duration.count, 1);
    CHECK_SECONDS(m.queue_duration.sum_seconds, 50 * MS);
    CHECK_EQ_U64(m.queue_duration.buckets[7], 1); /* (0.01, 0.1] */
    CHECK_SECONDS(m.unfinished_work_seconds, 30 * MS);
    CHECK_SECONDS(m.longest_running_processor_seconds, 30 * MS);

    CHECK_OK(wq_queue_done(q, 1, NULL)); /* worked 30 ms; 1 goes back */
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK_EQ_U64(m.work_duration.count, 1);
    CHECK_SECONDS(m.work_duration.sum_seconds, 30 * MS);
    CHECK_EQ_U64(m.work_duration.buckets[7], 1);
    CHECK(m.unfinished_work_seconds == 0.0 && m.longest_running_processor_seconds == 0.0);

    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key)); /* 2: waited 80 ms */
    CHECK_EQ_U64(key, 2);
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key)); /* 1: waited 25 ms */
    CHECK_OK(wq_manual_clock_step(clock, 2 * MS));
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK(m.depth == 0);
    CHECK_EQ_U64(m.queue_duration.count, 3);
    CHECK_SECONDS(m.queue_duration.sum_seconds, (50 + 80 + 25) * MS);
    CHECK_SECONDS(m.unfinished_work_seconds, 4 * MS);
    CHECK_SECONDS(m.longest_running_processor_seconds, 2 * MS);

    /* Retries: accepted add_after and add_rate_limited. */
    CHECK_OK(wq_queue_add_after(q, 7, (int64_t)(1 * MS), NULL));
    CHECK_OK(wq_queue_add_rate_limited(q, 8, NULL));
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK_EQ_U64(m.retries, 2);
    CHECK_EQ_U64(m.adds, 3); /* not added yet: they wait */

    /* Nothing moves after the shutdown. */
    CHECK_OK(wq_queue_shutdown(q));
    wq_metrics before;
    CHECK_OK(wq_queue_metrics(q, &before));
    CHECK_OK(wq_manual_clock_step(clock, 1000 * MS));
    CHECK_OK(wq_queue_add(q, 9, NULL));
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK(memcmp(&m, &before, sizeof m) == 0);
    wq_queue_free(q);
    wq_manual_clock_free(clock);
}

static void test_metrics_unnamed_queue(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    CHECK_OK(wq_queue_add(q, 1, NULL));
    CHECK_OK(wq_queue_add_with_priority(q, 2, 7, NULL));
    wq_metrics m;
    memset(&m, 0x5a, sizeof m);
    wq_metrics untouched = m;
    CHECK_STATUS(wq_queue_metrics(q, &m), WQ_STATUS_NO_METRICS);
    CHECK(memcmp(&m, &untouched, sizeof m) == 0);
    CHECK(strlen(wq_status_str(WQ_STATUS_NO_METRICS)) > 0);
    wq_queue_free(q);
}

static bool contains(const char *text, const char *needle) {
    bool found = text && strstr(text, needle) != NULL;
    if (!found) wq_test_fail(__FILE__, __LINE__, "the text lacks `%s`", needle);
    return found;
}

/* depth_by_priority: ready keys per priority, highest first, bounded to
   WQ_METRICS_PRIORITIES entries with the rest summed in
   depth_other_priorities, as the Prometheus text's `other` label. */
static void test_metrics_depth_by_priority(void) {
    CHECK(WQ_METRICS_PRIORITIES == 15);
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_queue_options options = {0};
    options.name = "c-metrics-priorities";
    options.clock = clock;
    wq_queue *q;
    CHECK_OK(wq_queue_new(&options, &q));

    wq_metrics m;
    memset(&m, 0xff, sizeof m);
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK_EQ_U64(m.depth_by_priority_len, 0);
    CHECK_EQ_U64(m.depth_other_priorities, 0);

    /* Two priorities; a key being processed and a delayed key are not
       ready, so they do not count. */
    CHECK_OK(wq_queue_add_with_priority(q, 1, 5, NULL));
    CHECK_OK(wq_queue_add_with_priority(q, 2, 5, NULL));
    CHECK_OK(wq_queue_add_with_priority(q, 3, -1, NULL));
    CHECK_OK(wq_queue_add_with_priority(q, 4, 9, NULL));
    CHECK_OK(wq_queue_add_after_with_priority(q, 5, (int64_t)(10 * MS), 200, NULL));
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key)); /* 4, priority 9 */
    CHECK_EQ_U64(key, 4);
    memset(&m, 0xff, sizeof m);
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK_EQ_U64(m.depth_by_priority_len, 2);
    CHECK(m.depth_by_priority[0].priority == 5);
    CHECK_EQ_U64(m.depth_by_priority[0].count, 2);
    CHECK(m.depth_by_priority[0].reserved == 0);
    CHECK(m.depth_by_priority[1].priority == -1);
    CHECK_EQ_U64(m.depth_by_priority[1].count, 1);
    for (int i = 2; i < WQ_METRICS_PRIORITIES; i++)
        CHECK(m.depth_by_priority[i].priority == 0 && m.depth_by_priority[i].count == 0);
    CHECK_EQ_U64(m.depth_other_priorities, 0);
    CHECK_OK(wq_queue_done(q, 4, NULL));

    /* 20 priorities (-5, 5, ..., 185) with i % 3 + 1 keys each at the
       i-th: the 15 highest are listed, the 5 lowest (and the 2 keys at 5
       and 1 at -1 from above) summed. */
    uint64_t next_key = 100;
    for (int i = 0; i < 20; i++)
        for (int n = 0; n < i % 3 + 1; n++)
            CHECK_OK(wq_queue_add_with_priority(q, next_key++, i * 10 - 5, NULL));
    memset(&m, 0xff, sizeof m);
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK_EQ_U64(m.depth_by_priority_len, WQ_METRICS_PRIORITIES);
    uint64_t listed = 0;
    for (int j = 0; j < WQ_METRICS_PRIORITIES; j++) {
        int i = 19 - j;
        CHECK(m.depth_by_priority[j].priority == i * 10 - 5);
        CHECK_EQ_U64(m.depth_by_priority[j].count, (uint64_t)(i % 3 + 1));
        listed += m.depth_by_priority[j].count;
    }
    /* i = 0..4: 1 + 2 + 3 + 1 + 2 keys, and 3 keys at 5 and -1. */
    CHECK_EQ_U64(m.depth_other_priorities, 9 + 3);
    CHECK_EQ_U64(listed + m.depth_other_priorities, (uint64_t)m.depth);

    /* The same split as the Prometheus text. */
    char *text = scrape(NULL);
    contains(text, "workqueue_depth_by_priority{name=\"c-metrics-priorities\",priority=\"185\"} 2\n");
    contains(text, "workqueue_depth_by_priority{name=\"c-metrics-priorities\",priority=\"45\"} 3\n");
    contains(text, "workqueue_depth_by_priority{name=\"c-metrics-priorities\",priority=\"other\"} 12\n");
    CHECK(text && strstr(text, "name=\"c-metrics-priorities\",priority=\"35\"") == NULL);
    free(text);

    /* The delayed key comes due at priority 200, the highest: 45 (3 keys)
       moves to `other`. The snapshot agrees with wq_queue_len_by_priority,
       which lists every priority. */
    CHECK_OK(wq_manual_clock_step(clock, 10 * MS));
    int32_t priorities[32];
    size_t lens[32], levels = 0;
    CHECK_OK(wq_queue_len_by_priority(q, priorities, lens, 32, &levels));
    CHECK_EQ_U64(levels, 22);
    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK_EQ_U64(m.depth_by_priority_len, WQ_METRICS_PRIORITIES);
    CHECK(m.depth_by_priority[0].priority == 200);
    CHECK_EQ_U64(m.depth_by_priority[0].count, 1);
    CHECK(m.depth_by_priority[WQ_METRICS_PRIORITIES - 1].priority == 55);
    CHECK_EQ_U64(m.depth_other_priorities, 12 + 3);
    uint64_t other = 0;
    for (size_t i = 0; i < levels && i < 32; i++) {
        if (i < WQ_METRICS_PRIORITIES) {
            CHECK(m.depth_by_priority[i].priority == priorities[i]);
            CHECK_EQ_U64(m.depth_by_priority[i].count, lens[i]);
        } else {
            other += lens[i];
        }
    }
    CHECK_EQ_U64(m.depth_other_priorities, other);
    wq_queue_free(q);
    wq_manual_clock_free(clock);
}

/* The text has every family of client-go with HELP and TYPE, one series
   per named queue, client-go's `le` labels, escaped names; the buffer
   protocol: the length with BUFFER_TOO_SMALL and an untouched buffer. */
static void test_metrics_prometheus_text(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_queue_options options = {0};
    options.clock = clock;
    options.name = "c-metrics-text";
    wq_queue *q, *quoted, *unnamed;
    CHECK_OK(wq_queue_new(&options, &q));
    options.name = "c-metrics \"quoted\"\\";
    CHECK_OK(wq_queue_new(&options, &quoted));
    CHECK_OK(wq_queue_new(NULL, &unnamed));
    wq_squeue_options squeue_options = {0};
    squeue_options.name = "c-metrics-squeue";
    squeue_options.clock = clock;
    wq_squeue *squeue;
    CHECK_OK(wq_squeue_new(&squeue_options, &squeue));
    CHECK_OK(wq_squeue_add(squeue, 1, 0, NULL));
    CHECK_OK(wq_squeue_add(squeue, 2, 0, NULL));

    uint64_t keys[] = {1, 2, 3};
    CHECK_OK(wq_queue_add_batch(q, keys, 3, NULL));
    CHECK_OK(wq_queue_add(unnamed, 1, NULL));
    uint64_t key;
    CHECK_OK(wq_manual_clock_step(clock, 5 * MS));
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key)); /* a 5 ms queue duration: le 0.01 */

    size_t len = 0;
    char *text = scrape(&len);
    static const char *const families[][2] = {
        {"workqueue_depth", "gauge"},
        {"workqueue_adds_total", "counter"},
        {"workqueue_queue_duration_seconds", "histogram"},
        {"workqueue_work_duration_seconds", "histogram"},
        {"workqueue_unfinished_work_seconds", "gauge"},
        {"workqueue_longest_running_processor_seconds", "gauge"},
        {"workqueue_retries_total", "counter"},
    };
    char line[256];
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        snprintf(line, sizeof line, "# HELP %s ", families[i][0]);
        contains(text, line);
        snprintf(line, sizeof line, "# TYPE %s %s\n", families[i][0], families[i][1]);
        contains(text, line);
    }
    contains(text, "workqueue_depth{name=\"c-metrics-text\"} 2\n");
    contains(text, "workqueue_adds_total{name=\"c-metrics-text\"} 3\n");
    contains(text, "workqueue_retries_total{name=\"c-metrics-text\"} 0\n");
    static const char *const le[] = {"1e-08", "1e-07", "1e-06", "1e-05", "0.0001", "0.001",
                                     "0.01",  "0.1",   "1",     "10",    "+Inf"};
    for (size_t i = 0; i < sizeof le / sizeof le[0]; i++) {
        snprintf(line, sizeof line,
                 "workqueue_queue_duration_seconds_bucket{name=\"c-metrics-text\",le=\"%s\"} %d\n",
                 le[i], i >= 6 ? 1 : 0);
        contains(text, line);
        snprintf(line, sizeof line,
                 "workqueue_work_duration_seconds_bucket{name=\"c-metrics-text\",le=\"%s\"} 0\n",
                 le[i]);
        contains(text, line);
    }
    contains(text, "workqueue_queue_duration_seconds_sum{name=\"c-metrics-text\"} 0.005\n");
    contains(text, "workqueue_queue_duration_seconds_count{name=\"c-metrics-text\"} 1\n");
    contains(text, "workqueue_depth{name=\"c-metrics \\\"quoted\\\"\\\\\"} 0\n");
    contains(text, "workqueue_scheduling_pending_items{name=\"c-metrics-squeue\",queue=\"active\"} 2\n");
    /* Only named queues: the unnamed one has no series (it would be name=""). */
    CHECK(text && strstr(text, "name=\"\"") == NULL);

    /* Too small by one (no room for the NUL): nothing written, the length
       stored; exactly enough: the text. */
    char *small = malloc(len + 1);
    memset(small, 'x', len + 1);
    size_t needed = 0;
    CHECK_STATUS(wq_metrics_prometheus(small, len, &needed), WQ_STATUS_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(needed, len);
    bool untouched = true;
    for (size_t i = 0; i < len + 1; i++) untouched = untouched && small[i] == 'x';
    CHECK(untouched);
    CHECK_OK(wq_metrics_prometheus(small, len + 1, &needed));
    CHECK_EQ_U64(needed, len);
    CHECK(text && strcmp(small, text) == 0);
    free(small);
    free(text);

    /* Freed queues leave the text. */
    wq_queue_free(q);
    wq_queue_free(quoted);
    wq_squeue_free(squeue);
    text = scrape(NULL);
    CHECK(text && strstr(text, "c-metrics-text") == NULL);
    CHECK(text && strstr(text, "c-metrics-squeue") == NULL);
    free(text);
    wq_queue_free(unnamed);
    wq_manual_clock_free(clock);
}

typedef struct {
    wq_queue *queue;
    atomic_int stop;
    atomic_int scrapes;
} scraper;

static void *scrape_loop(void *arg) {
    scraper *s = arg;
    while (!atomic_load(&s->stop)) {
        wq_metrics m;
        CHECK_OK(wq_queue_metrics(s->queue, &m));
        CHECK(m.depth >= 0);
        char *text = scrape(NULL);
        CHECK(text && strstr(text, "workqueue_adds_total{name=\"c-metrics-busy\"}") != NULL);
        free(text);
        atomic_fetch_add(&s->scrapes, 1);
    }
    return NULL;
}

static void *busy_worker(void *arg) {
    wq_queue *q = arg;
    uint64_t key;
    while (wq_queue_get(q, WQ_WAIT_FOREVER, &key) == WQ_STATUS_OK) CHECK_OK(wq_queue_done(q, key, NULL));
    return NULL;
}

/* Scrapes (snapshot and text) while two workers process 20,000 keys: the
   final counts are exact. */
static void test_metrics_scrape_while_working(void) {
    wq_queue_options options = {0};
    options.name = "c-metrics-busy";
    scraper s = {0};
    CHECK_OK(wq_queue_new(&options, &s.queue));
    atomic_init(&s.stop, 0);
    atomic_init(&s.scrapes, 0);
    pthread_t workers[2], scraping;
    for (int i = 0; i < 2; i++) pthread_create(&workers[i], NULL, busy_worker, s.queue);
    pthread_create(&scraping, NULL, scrape_loop, &s);
    for (uint64_t key = 0; key < 20000; key++) CHECK_OK(wq_queue_add(s.queue, key, NULL));
    CHECK_OK(wq_queue_shutdown_with_drain(s.queue, WQ_WAIT_FOREVER));
    for (int i = 0; i < 2; i++) pthread_join(workers[i], NULL);
    while (atomic_load(&s.scrapes) == 0) wq_test_sleep_ms(1);
    atomic_store(&s.stop, 1);
    pthread_join(scraping, NULL);
    wq_metrics m;
    CHECK_OK(wq_queue_metrics(s.queue, &m));
    CHECK(m.depth == 0);
    CHECK_EQ_U64(m.adds, 20000);
    CHECK_EQ_U64(m.queue_duration.count, 20000);
    CHECK_EQ_U64(m.work_duration.count, 20000);
    uint64_t total = 0;
    for (int i = 0; i < WQ_METRICS_BUCKETS; i++) total += m.work_duration.buckets[i];
    CHECK(total <= 20000);
    wq_queue_free(s.queue);
}

void run_metrics_tests(void) {
    RUN_TEST(test_metrics_bucket_bounds);
    RUN_TEST(test_metrics_snapshot);
    RUN_TEST(test_metrics_depth_by_priority);
    RUN_TEST(test_metrics_unnamed_queue);
    RUN_TEST(test_metrics_prometheus_text);
    RUN_TEST(test_metrics_scrape_while_working);
}
