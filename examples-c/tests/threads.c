/*
 * Threads: producers and consumers on pthreads, a blocked get released by
 * shutdown, timeouts, a drain that waits, a key never handed to two
 * workers at once, and the worker loop.
 *
 * Data shared between threads is atomic: the queue's own synchronisation
 * happens inside the (uninstrumented) Rust library, where ThreadSanitizer
 * cannot see it, so these tests do not lean on it for plain memory.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define PRODUCERS 4
#define CONSUMERS 4
#define KEYS_PER_PRODUCER 20000
#define KEYS (PRODUCERS * KEYS_PER_PRODUCER)

typedef struct {
    wq_queue *queue;
    atomic_int seen[KEYS];
    atomic_int processing[KEYS];
    atomic_int after_shutdown_seen;
    atomic_long handed_out;
    int batch; /* consumers use wq_queue_get_batch when > 0 */
} mpmc;

typedef struct {
    mpmc *m;
    int id;
} producer_arg;

static void *produce(void *arg) {
    producer_arg *p = arg;
    uint64_t first = (uint64_t)p->id * KEYS_PER_PRODUCER;
    if (p->id % 2 == 0) {
        for (uint64_t key = first; key < first + KEYS_PER_PRODUCER; key++)
            CHECK_OK(wq_queue_add(p->m->queue, key, NULL));
    } else {
        uint64_t keys[100];
        for (uint64_t key = first; key < first + KEYS_PER_PRODUCER; key += 100) {
            for (int i = 0; i < 100; i++) keys[i] = key + (uint64_t)i;
            CHECK_OK(wq_queue_add_batch(p->m->queue, keys, 100, NULL));
        }
    }
    return NULL;
}

static void process(mpmc *m, uint64_t key) {
    if (key >= KEYS) {
        atomic_fetch_add(&m->after_shutdown_seen, 1);
        return;
    }
    if (atomic_fetch_add(&m->processing[key], 1) != 0)
        wq_test_fail(__FILE__, __LINE__, "key %llu handed to two workers", (unsigned long long)key);
    atomic_fetch_add(&m->seen[key], 1);
    atomic_fetch_sub(&m->processing[key], 1);
    atomic_fetch_add(&m->handed_out, 1);
}

static void *consume(void *arg) {
    mpmc *m = arg;
    uint64_t keys[64];
    unsigned round = 0;
    for (;;) {
        if (m->batch > 0) {
            size_t count;
            wq_status status = wq_queue_get_batch(m->queue, keys, (size_t)m->batch, WQ_WAIT_FOREVER, &count);
            if (status == WQ_STATUS_SHUTDOWN) return NULL;
            CHECK_OK(status);
            if (status != WQ_STATUS_OK) return NULL;
            CHECK(count >= 1 && count <= (size_t)m->batch);
            for (size_t i = 0; i < count; i++) process(m, keys[i]);
            CHECK_OK(wq_queue_done_batch(m->queue, keys, count, NULL));
        } else {
            uint64_t key;
            /* Alternate waiting forever and waiting with a timeout. */
            int64_t timeout = round++ % 2 ? WQ_WAIT_FOREVER : 100000000;
            wq_status status = wq_queue_get(m->queue, timeout, &key);
            if (status == WQ_STATUS_SHUTDOWN) return NULL;
            if (status == WQ_STATUS_TIMEOUT) continue;
            CHECK_OK(status);
            if (status != WQ_STATUS_OK) return NULL;
            process(m, key);
            bool was_processing = false;
            CHECK_OK(wq_queue_done(m->queue, key, &was_processing));
            CHECK(was_processing);
        }
    }
}

/* Every key added by 4 producers is handed out exactly once to 4
   consumers; nothing added after shutdown is handed out; the queue ends
   empty. `drain` picks the kind of shutdown. */
static void producers_and_consumers(int batch, bool drain) {
    mpmc *m = calloc(1, sizeof *m);
    m->batch = batch;
    CHECK_OK(wq_queue_new(NULL, &m->queue));
    pthread_t producers[PRODUCERS], consumers[CONSUMERS];
    producer_arg args[PRODUCERS];
    for (int i = 0; i < CONSUMERS; i++) pthread_create(&consumers[i], NULL, consume, m);
    for (int i = 0; i < PRODUCERS; i++) {
        args[i] = (producer_arg){m, i};
        pthread_create(&producers[i], NULL, produce, &args[i]);
    }
    for (int i = 0; i < PRODUCERS; i++) pthread_join(producers[i], NULL);
    if (drain) {
        CHECK_OK(wq_queue_shutdown_with_drain(m->queue, WQ_WAIT_FOREVER));
        /* Drained: every key was handed out and done. */
        CHECK(atomic_load(&m->handed_out) == KEYS);
    } else {
        CHECK_OK(wq_queue_shutdown(m->queue));
    }
    bool added = true;
    CHECK_OK(wq_queue_add(m->queue, KEYS + 1, &added));
    CHECK(!added);
    for (int i = 0; i < CONSUMERS; i++) pthread_join(consumers[i], NULL);
    for (int key = 0; key < KEYS; key++) {
        if (atomic_load(&m->seen[key]) != 1) {
            wq_test_fail(__FILE__, __LINE__, "key %d handed out %d times", key, atomic_load(&m->seen[key]));
            break;
        }
    }
    CHECK(atomic_load(&m->after_shutdown_seen) == 0);
    size_t len = 1;
    CHECK_OK(wq_queue_len(m->queue, &len));
    CHECK_EQ_U64(len, 0);
    CHECK_OK(wq_queue_processing_len(m->queue, &len));
    CHECK_EQ_U64(len, 0);
    wq_queue_free(m->queue);
    free(m);
}

static void test_producers_consumers_shutdown(void) { producers_and_consumers(0, false); }
static void test_producers_consumers_drain(void) { producers_and_consumers(0, true); }
static void test_producers_consumers_batches(void) { producers_and_consumers(64, true); }

typedef struct {
    wq_queue *queue;
    int64_t timeout_ns;
    atomic_int returned;
    wq_status status;
    uint64_t key;
} getter;

static void *get_once(void *arg) {
    getter *g = arg;
    g->status = wq_queue_get(g->queue, g->timeout_ns, &g->key);
    atomic_store(&g->returned, 1);
    return NULL;
}

/* Blocked getters (forever and with a long timeout) are all released by
   a shutdown from another thread, with WQ_STATUS_SHUTDOWN. */
static void test_blocked_get_released_by_shutdown(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    getter g[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        g[i] = (getter){.queue = q, .timeout_ns = i % 2 ? 60000000000LL : WQ_WAIT_FOREVER};
        atomic_init(&g[i].returned, 0);
        pthread_create(&threads[i], NULL, get_once, &g[i]);
    }
    wq_test_sleep_ms(50);
    for (int i = 0; i < 4; i++) CHECK(atomic_load(&g[i].returned) == 0);
    int64_t start = wq_test_now_ns();
    CHECK_OK(wq_queue_shutdown(q));
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_STATUS(g[i].status, WQ_STATUS_SHUTDOWN);
    }
    CHECK(wq_test_now_ns() - start < 5000000000LL);
    wq_queue_free(q);
}

/* A get with a timeout returns WQ_STATUS_TIMEOUT after the timeout, not a
   key; a key added meanwhile releases it with that key. */
static void test_get_timeout(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    uint64_t key = 12345;
    int64_t start = wq_test_now_ns();
    CHECK_STATUS(wq_queue_get(q, 30000000, &key), WQ_STATUS_TIMEOUT);
    int64_t waited = wq_test_now_ns() - start;
    CHECK(waited >= 30000000);
    CHECK_EQ_U64(key, 12345); /* untouched */

    getter g = {.queue = q, .timeout_ns = 10000000000LL};
    atomic_init(&g.returned, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, get_once, &g);
    wq_test_sleep_ms(20);
    CHECK_OK(wq_queue_add(q, 77, NULL));
    pthread_join(thread, NULL);
    CHECK_OK(g.status);
    CHECK_EQ_U64(g.key, 77);
    wq_queue_free(q);
}

typedef struct {
    wq_queue *queue;
    int64_t timeout_ns;
    atomic_int returned;
    wq_status status;
} drainer;

static void *drain(void *arg) {
    drainer *d = arg;
    d->status = wq_queue_shutdown_with_drain(d->queue, d->timeout_ns);
    atomic_store(&d->returned, 1);
    return NULL;
}

/* shutdown_with_drain waits for the key being processed and for the key
   still queued; gets keep handing out the queued key meanwhile. */
static void test_drain_waits(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    CHECK_OK(wq_queue_add(q, 1, NULL));
    CHECK_OK(wq_queue_add(q, 2, NULL));
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 1);
    drainer d = {.queue = q, .timeout_ns = WQ_WAIT_FOREVER};
    atomic_init(&d.returned, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, drain, &d);
    /* Until the drainer has shut the queue down (a loaded machine may run
       it late); it must then be waiting. */
    bool shutting_down = false;
    for (int waited = 0; !shutting_down && waited < 5000; waited++) {
        CHECK_OK(wq_queue_shutting_down(q, &shutting_down));
        if (!shutting_down) wq_test_sleep_ms(1);
    }
    CHECK(shutting_down);
    wq_test_sleep_ms(20);
    CHECK(atomic_load(&d.returned) == 0);
    CHECK_OK(wq_queue_done(q, 1, NULL));
    wq_test_sleep_ms(20);
    CHECK(atomic_load(&d.returned) == 0); /* key 2 is still queued */
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 2);
    CHECK_STATUS(wq_queue_get(q, WQ_NO_WAIT, &key), WQ_STATUS_SHUTDOWN);
    wq_test_sleep_ms(20);
    CHECK(atomic_load(&d.returned) == 0);
    CHECK_OK(wq_queue_done(q, 2, NULL));
    pthread_join(thread, NULL);
    CHECK_OK(d.status);
    wq_queue_free(q);
}

/* A plain shutdown releases a waiting drain, which reports it did not
   drain; a drain with a timeout gives up with WQ_STATUS_TIMEOUT. */
static void test_shutdown_releases_drain(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    CHECK_OK(wq_queue_add(q, 1, NULL));
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    int64_t start = wq_test_now_ns();
    CHECK_STATUS(wq_queue_shutdown_with_drain(q, 20000000), WQ_STATUS_TIMEOUT);
    CHECK(wq_test_now_ns() - start >= 20000000);
    drainer d = {.queue = q, .timeout_ns = WQ_WAIT_FOREVER};
    atomic_init(&d.returned, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, drain, &d);
    wq_test_sleep_ms(30);
    CHECK(atomic_load(&d.returned) == 0);
    CHECK_OK(wq_queue_shutdown(q));
    pthread_join(thread, NULL);
    CHECK_STATUS(d.status, WQ_STATUS_TIMEOUT);
    CHECK_OK(wq_queue_done(q, 1, NULL));
    CHECK_OK(wq_queue_shutdown_with_drain(q, WQ_NO_WAIT));
    wq_queue_free(q);
}

/* A getter blocked on a queue whose only key waits for a delay on a manual
   clock is released when the clock is stepped past the delay. */
static void test_manual_clock_step_releases_getter(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_queue_options options = {0};
    options.clock = clock;
    wq_queue *q;
    CHECK_OK(wq_queue_new(&options, &q));
    CHECK_OK(wq_queue_add_after(q, 42, 1000000000, NULL));
    getter g = {.queue = q, .timeout_ns = WQ_WAIT_FOREVER};
    atomic_init(&g.returned, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, get_once, &g);
    wq_test_sleep_ms(30);
    CHECK(atomic_load(&g.returned) == 0);
    CHECK_OK(wq_manual_clock_step(clock, 999999999));
    wq_test_sleep_ms(30);
    CHECK(atomic_load(&g.returned) == 0);
    CHECK_OK(wq_manual_clock_step(clock, 1));
    pthread_join(thread, NULL);
    CHECK_OK(g.status);
    CHECK_EQ_U64(g.key, 42);
    wq_queue_free(q);
    wq_manual_clock_free(clock);
}

/* Workers hammering a few hot keys that producers keep re-adding: a key
   is never processed by two workers at once, and every add after the
   last run of a key is followed by another run. */
typedef struct {
    wq_queue *queue;
    atomic_int in_progress[8];
    atomic_int runs;
    atomic_int stop;
} hot;

static void *hot_worker(void *arg) {
    hot *h = arg;
    uint64_t key;
    while (wq_queue_get(h->queue, WQ_WAIT_FOREVER, &key) == WQ_STATUS_OK) {
        if (atomic_fetch_add(&h->in_progress[key], 1) != 0)
            wq_test_fail(__FILE__, __LINE__, "key %llu processed twice at once", (unsigned long long)key);
        atomic_fetch_add(&h->runs, 1);
        atomic_fetch_sub(&h->in_progress[key], 1);
        CHECK_OK(wq_queue_done(h->queue, key, NULL));
    }
    return NULL;
}

static void *hot_producer(void *arg) {
    hot *h = arg;
    for (int i = 0; i < 50000; i++) CHECK_OK(wq_queue_add(h->queue, (uint64_t)(i % 8), NULL));
    return NULL;
}

static void test_hot_keys_never_processed_twice_at_once(void) {
    hot *h = calloc(1, sizeof *h);
    CHECK_OK(wq_queue_new(NULL, &h->queue));
    pthread_t workers[4], producers[2];
    for (int i = 0; i < 4; i++) pthread_create(&workers[i], NULL, hot_worker, h);
    for (int i = 0; i < 2; i++) pthread_create(&producers[i], NULL, hot_producer, h);
    for (int i = 0; i < 2; i++) pthread_join(producers[i], NULL);
    CHECK_OK(wq_queue_shutdown_with_drain(h->queue, WQ_WAIT_FOREVER));
    for (int i = 0; i < 4; i++) pthread_join(workers[i], NULL);
    CHECK(atomic_load(&h->runs) >= 8);
    CHECK(atomic_load(&h->runs) <= 100000);
    wq_queue_free(h->queue);
    free(h);
}

typedef struct {
    wq_queue *queue;
    atomic_int runs[64];
    atomic_int dropped[64];
    atomic_int in_handler[64];
    atomic_int finished_keys;
    wq_worker_report report;
    wq_status status;
} worker_state;

/* Keys below 8 always fail; key 8 fails twice, then succeeds. */
static int handle(void *user_data, uint64_t key) {
    worker_state *w = user_data;
    if (key >= 64) {
        wq_test_fail(__FILE__, __LINE__, "unexpected key %llu", (unsigned long long)key);
        return 0;
    }
    if (atomic_fetch_add(&w->in_handler[key], 1) != 0)
        wq_test_fail(__FILE__, __LINE__, "key %llu handled twice at once", (unsigned long long)key);
    int run = atomic_fetch_add(&w->runs[key], 1);
    atomic_fetch_sub(&w->in_handler[key], 1);
    int result = key < 8 ? -1 : (key == 8 && run < 2) ? 1 : 0;
    if (result == 0) atomic_fetch_add(&w->finished_keys, 1);
    return result;
}

static void on_dropped(void *user_data, uint64_t key) {
    worker_state *w = user_data;
    atomic_fetch_add(&w->dropped[key], 1);
    atomic_fetch_add(&w->finished_keys, 1);
}

static void *run_workers(void *arg) {
    worker_state *w = arg;
    w->status = wq_worker_run(w->queue, 3, 3, handle, on_dropped, w, &w->report);
    return NULL;
}

static void test_worker_loop(void) {
    worker_state *w = calloc(1, sizeof *w);
    wq_rate_limiter *limiter;
    CHECK_OK(wq_rate_limiter_new_exponential(1000, 1000, &limiter)); /* 1 µs retries */
    wq_queue_options options = {0};
    options.rate_limiter = limiter;
    CHECK_OK(wq_queue_new(&options, &w->queue));
    wq_rate_limiter_free(limiter);
    for (uint64_t key = 0; key < 64; key++) CHECK_OK(wq_queue_add(w->queue, key, NULL));
    pthread_t thread;
    pthread_create(&thread, NULL, run_workers, w);
    int64_t deadline = wq_test_now_ns() + 10000000000LL;
    while (atomic_load(&w->finished_keys) < 64 && wq_test_now_ns() < deadline) wq_test_sleep_ms(1);
    CHECK(atomic_load(&w->finished_keys) == 64);
    CHECK_OK(wq_queue_shutdown_with_drain(w->queue, WQ_WAIT_FOREVER));
    pthread_join(thread, NULL);
    CHECK_OK(w->status);
    CHECK_EQ_U64(w->report.succeeded, 56);
    CHECK_EQ_U64(w->report.retried, 8 * 3 + 2);
    CHECK_EQ_U64(w->report.dropped, 8);
    CHECK_EQ_U64(w->report.abandoned, 0);
    for (int key = 0; key < 64; key++) {
        int want_runs = key < 8 ? 4 : key == 8 ? 3 : 1;
        if (atomic_load(&w->runs[key]) != want_runs)
            wq_test_fail(__FILE__, __LINE__, "key %d ran %d times, expected %d", key,
                         atomic_load(&w->runs[key]), want_runs);
        CHECK(atomic_load(&w->dropped[key]) == (key < 8 ? 1 : 0));
    }
    uint32_t requeues = 9;
    CHECK_OK(wq_queue_num_requeues(w->queue, 0, &requeues));
    CHECK_EQ_U64(requeues, 0); /* forgotten when dropped */
    wq_queue_free(w->queue);
    free(w);
}

/* Runs that fail while the queue is shutting down: each of three workers
   holds one key until the test has shut the queue down, then keys 0 and 1
   fail and key 2 succeeds. The queue refuses the retries: abandoned. */
#define GATED_KEYS 3

typedef struct {
    wq_queue *queue;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int entered;  /* handlers waiting at the gate */
    bool open;    /* set once the queue is shut down */
    atomic_int runs;
    atomic_int dropped;
    wq_worker_report report;
    wq_status status;
} gated;

static int gated_handle(void *user_data, uint64_t key) {
    gated *g = user_data;
    atomic_fetch_add(&g->runs, 1);
    pthread_mutex_lock(&g->lock);
    g->entered++;
    pthread_cond_broadcast(&g->changed);
    while (!g->open) pthread_cond_wait(&g->changed, &g->lock);
    pthread_mutex_unlock(&g->lock);
    return key < 2 ? -1 : 0;
}

static void gated_dropped(void *user_data, uint64_t key) {
    (void)key;
    atomic_fetch_add(&((gated *)user_data)->dropped, 1);
}

static void *run_gated_workers(void *arg) {
    gated *g = arg;
    g->status = wq_worker_run(g->queue, GATED_KEYS, 3, gated_handle, gated_dropped, g, &g->report);
    return NULL;
}

static void test_worker_loop_abandons_failures_during_shutdown(void) {
    gated *g = calloc(1, sizeof *g);
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->changed, NULL);
    CHECK_OK(wq_queue_new(NULL, &g->queue));
    for (uint64_t key = 0; key < GATED_KEYS; key++) CHECK_OK(wq_queue_add(g->queue, key, NULL));
    pthread_t thread;
    pthread_create(&thread, NULL, run_gated_workers, g);
    pthread_mutex_lock(&g->lock);
    while (g->entered < GATED_KEYS) pthread_cond_wait(&g->changed, &g->lock);
    pthread_mutex_unlock(&g->lock);
    CHECK_OK(wq_queue_shutdown(g->queue));
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->changed);
    pthread_mutex_unlock(&g->lock);
    pthread_join(thread, NULL);
    CHECK_OK(g->status);
    CHECK_EQ_U64(g->report.succeeded, 1);
    CHECK_EQ_U64(g->report.retried, 0);
    CHECK_EQ_U64(g->report.dropped, 0);
    CHECK_EQ_U64(g->report.abandoned, 2);
    CHECK_EQ_U64(g->report.succeeded + g->report.retried + g->report.dropped + g->report.abandoned,
                 (uint64_t)atomic_load(&g->runs));
    CHECK(atomic_load(&g->dropped) == 0); /* abandoned keys are not reported dropped */
    size_t delayed = 9;
    CHECK_OK(wq_queue_delayed_len(g->queue, &delayed));
    CHECK_EQ_U64(delayed, 0);
    wq_queue_free(g->queue);
    pthread_cond_destroy(&g->changed);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

typedef struct {
    wq_semaphore *semaphore;
    atomic_int holders;
    atomic_int max_holders;
} bounded;

static void *hold_permits(void *arg) {
    bounded *b = arg;
    for (int i = 0; i < 200; i++) {
        CHECK_OK(wq_semaphore_acquire(b->semaphore, WQ_WAIT_FOREVER));
        int now = atomic_fetch_add(&b->holders, 1) + 1;
        int max = atomic_load(&b->max_holders);
        while (now > max && !atomic_compare_exchange_weak(&b->max_holders, &max, now)) {
        }
        atomic_fetch_sub(&b->holders, 1);
        CHECK_OK(wq_semaphore_release(b->semaphore));
    }
    return NULL;
}

static void test_semaphore_bounds_concurrency(void) {
    bounded b;
    atomic_init(&b.holders, 0);
    atomic_init(&b.max_holders, 0);
    CHECK_OK(wq_semaphore_new(2, &b.semaphore));
    pthread_t threads[6];
    for (int i = 0; i < 6; i++) pthread_create(&threads[i], NULL, hold_permits, &b);
    for (int i = 0; i < 6; i++) pthread_join(threads[i], NULL);
    CHECK(atomic_load(&b.max_holders) >= 1 && atomic_load(&b.max_holders) <= 2);
    size_t available;
    CHECK_OK(wq_semaphore_available(b.semaphore, &available));
    CHECK_EQ_U64(available, 2);
    wq_semaphore_free(b.semaphore);
}

void run_thread_tests(void) {
    RUN_TEST(test_producers_consumers_shutdown);
    RUN_TEST(test_producers_consumers_drain);
    RUN_TEST(test_producers_consumers_batches);
    RUN_TEST(test_blocked_get_released_by_shutdown);
    RUN_TEST(test_get_timeout);
    RUN_TEST(test_drain_waits);
    RUN_TEST(test_shutdown_releases_drain);
    RUN_TEST(test_manual_clock_step_releases_getter);
    RUN_TEST(test_hot_keys_never_processed_twice_at_once);
    RUN_TEST(test_worker_loop);
    RUN_TEST(test_worker_loop_abandons_failures_during_shutdown);
    RUN_TEST(test_semaphore_bounds_concurrency);
}
