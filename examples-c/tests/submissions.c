/*
 * The submission ring (wq_submissions): a producer thread that follows the
 * protocol documented in workqueue.h hands adds to a queue through shared
 * memory while a consumer thread blocks in wq_queue_get; a blocked getter
 * is woken by the producer's wq_queue_flush; bad arguments.
 *
 * The header declares the ring's tail, head and waiters as plain integers;
 * the protocol wants them accessed atomically. Like the Go binding (which
 * uses sync/atomic on the same fields), these tests cast their addresses
 * to _Atomic pointers: this relies on _Atomic uint64_t and _Atomic
 * uint32_t having the size, alignment and representation of uint64_t and
 * uint32_t and being lock-free (so the Rust side's AtomicU64/AtomicU32 on
 * the same memory are the same atomics), which holds on the platforms the
 * library supports; ring_layout_ok() checks what it can.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "an atomic tail is a tail");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic waiters are waiters");

static _Atomic uint64_t *ring_tail(wq_submissions *ring) { return (_Atomic uint64_t *)&ring->tail; }
static _Atomic uint64_t *ring_head(wq_submissions *ring) { return (_Atomic uint64_t *)&ring->head; }
static _Atomic uint32_t *ring_waiters(wq_submissions *ring) {
    return (_Atomic uint32_t *)&ring->waiters;
}

static int ring_layout_ok(wq_submissions *ring) {
    return _Alignof(_Atomic uint64_t) <= _Alignof(uint64_t) &&
           _Alignof(_Atomic uint32_t) <= _Alignof(uint32_t) &&
           atomic_is_lock_free(ring_tail(ring)) && atomic_is_lock_free(ring_waiters(ring));
}

/* Ring memory: deliberately not initialised (the queue sets it up). */
static wq_submissions *ring_new(void) {
    wq_submissions *ring = malloc(sizeof *ring);
    if (ring) memset(ring, 0xa5, sizeof *ring);
    return ring;
}

/* A queue using `ring`, named `name` (NULL: unnamed), or NULL (after a
   failed check). */
static wq_queue *queue_with_ring(wq_submissions *ring, const char *name) {
    wq_queue_options options = {0};
    options.name = name;
    options.submissions = ring;
    wq_queue *q = NULL;
    CHECK_OK(wq_queue_new(&options, &q));
    return q;
}

/* An unnamed queue with a new ring in *ring, or NULL (after a failed
   check; nothing is left allocated). */
static wq_queue *unnamed_queue_with_new_ring(wq_submissions **ring) {
    *ring = ring_new();
    if (!*ring) {
        CHECK(*ring != NULL);
        return NULL;
    }
    wq_queue *q = queue_with_ring(*ring, NULL);
    if (!q) free(*ring);
    return q;
}

typedef enum {
    SUBMITTED,
    SUBMITTED_AND_FLUSHED,
    REFUSED_WAITERS, /* the caller makes the call instead */
    REFUSED_BUSY,
    REFUSED_FULL,
} submit_result;

#define TAKE_SPINS 64

/* The time of a call as `ring` wants it in `wq_submission.stamp`. */
static uint64_t stamp_now(const wq_submissions *ring) {
#if defined(__x86_64__)
    if (ring->stamps == WQ_STAMPS_TSC) return __rdtsc();
#endif
    return 0;
}

/* The producer's protocol, step by step as workqueue.h documents it. Every
   access to tail, head and waiters is sequentially consistent (the default
   of the atomic_* functions), but the stores that publish or give the
   ring back, which need only release order. */
static submit_result submit(wq_queue *q, wq_submissions *ring, uint32_t op, uint64_t key,
                            int32_t priority) {
    /* 1. A call may be blocked on the queue: call instead. */
    if (atomic_load(ring_waiters(ring)) != 0) return REFUSED_WAITERS;
    /* 2. Take the ring. */
    uint64_t tail;
    for (int spins = 0;; spins++) {
        tail = atomic_load(ring_tail(ring));
        if ((tail & WQ_SUBMISSIONS_BUSY) == 0 &&
            atomic_compare_exchange_strong(ring_tail(ring), &tail, tail | WQ_SUBMISSIONS_BUSY))
            break;
        if (spins == TAKE_SPINS) return REFUSED_BUSY;
    }
    /* 3. Full: give it back untouched. */
    uint64_t head = atomic_load(ring_head(ring));
    if (tail - head > WQ_SUBMISSIONS_CAPACITY)
        wq_test_fail(__FILE__, __LINE__, "head %llu too far behind tail %llu",
                     (unsigned long long)head, (unsigned long long)tail);
    if (tail - head >= WQ_SUBMISSIONS_CAPACITY) {
        atomic_store_explicit(ring_tail(ring), tail, memory_order_release);
        return REFUSED_FULL;
    }
    /* 4. Write the entry (plain memory) with the stamp the queue wants,
       then publish it. */
    ring->entries[tail % WQ_SUBMISSIONS_CAPACITY] =
        (wq_submission){.key = key, .op = op, .priority = priority, .stamp = stamp_now(ring)};
    atomic_store_explicit(ring_tail(ring), tail + 1, memory_order_release);
    /* 5. A getter that counted itself after step 1 may have looked at the
       ring before step 4: apply it now. */
    if (atomic_load(ring_waiters(ring)) != 0) {
        CHECK_OK(wq_queue_flush(q));
        return SUBMITTED_AND_FLUSHED;
    }
    return SUBMITTED;
}

/* Waits up to 10 s for the ring to count `n` waiters. */
static int await_waiters(wq_submissions *ring, uint32_t n) {
    for (int i = 0; i < 10000; i++) {
        if (atomic_load(ring_waiters(ring)) == n) return 1;
        wq_test_sleep_ms(1);
    }
    return 0;
}

/* ---- a producer and a blocking consumer ---------------------------------- */

#define RING_KEYS 50000

typedef struct {
    wq_queue *queue;
    wq_submissions *ring;
    atomic_int seen[RING_KEYS];
    atomic_int in_flight[RING_KEYS];
    atomic_long handed_out;
    atomic_long results[REFUSED_FULL + 1];
    atomic_int head_start; /* set once the first keys are offered */
    atomic_int consumed;   /* set once the consumer has returned */
    long scrapes;
} ring_run;

/* Keys the producer offers before the consumer starts: with no waiter they
   are all submitted (a call whenever the ring is full). */
#define HEAD_START_KEYS 1000

static void *ring_produce(void *arg) {
    ring_run *r = arg;
    for (uint64_t key = 0; key < RING_KEYS; key++) {
        submit_result result = submit(r->queue, r->ring, WQ_SUBMIT_ADD, key, 0);
        atomic_fetch_add(&r->results[result], 1);
        if (result != SUBMITTED && result != SUBMITTED_AND_FLUSHED) {
            bool added = false;
            CHECK_OK(wq_queue_add(r->queue, key, &added));
            CHECK(added);
        }
        if (key + 1 == HEAD_START_KEYS) atomic_store(&r->head_start, 1);
    }
    return NULL;
}

static void *ring_consume(void *arg) {
    ring_run *r = arg;
    for (;;) {
        uint64_t key;
        /* Every other key is looked for without waiting first (not a
           waiter, so the producer keeps submitting); otherwise, and when
           nothing is there, block until the producer's add or flush. */
        wq_status status = WQ_STATUS_TIMEOUT;
        if (atomic_load(&r->handed_out) % 2) status = wq_queue_get(r->queue, WQ_NO_WAIT, &key);
        if (status == WQ_STATUS_TIMEOUT) status = wq_queue_get(r->queue, WQ_WAIT_FOREVER, &key);
        if (status == WQ_STATUS_SHUTDOWN) return NULL;
        CHECK_OK(status);
        if (status != WQ_STATUS_OK) return NULL;
        if (key >= RING_KEYS) {
            wq_test_fail(__FILE__, __LINE__, "unknown key %llu", (unsigned long long)key);
        } else {
            if (atomic_fetch_add(&r->in_flight[key], 1) != 0)
                wq_test_fail(__FILE__, __LINE__, "key %llu handed out twice at once",
                             (unsigned long long)key);
            atomic_fetch_add(&r->seen[key], 1);
            atomic_fetch_sub(&r->in_flight[key], 1);
        }
        atomic_fetch_add(&r->handed_out, 1);
        bool was_processing = false;
        CHECK_OK(wq_queue_done(r->queue, key, &was_processing));
        CHECK(was_processing);
    }
}

/* Scrapes the metrics of every named queue until the consumer returned
   (each scrape applies the named queue's ring first). */
static void *ring_scrape(void *arg) {
    ring_run *r = arg;
    size_t cap = 1 << 16;
    char *text = malloc(cap);
    if (!text) return NULL;
    do {
        size_t len = 0;
        wq_status status = wq_metrics_prometheus(text, cap, &len);
        CHECK(status == WQ_STATUS_OK || status == WQ_STATUS_BUFFER_TOO_SMALL);
        r->scrapes++;
    } while (!atomic_load(&r->consumed));
    free(text);
    return NULL;
}

/* Every key the producer submits (or adds, when the protocol says to call)
   reaches the consumer exactly once, in a queue that ends empty with every
   published entry applied. A named queue's stamped ring does the same while
   another thread scrapes the metrics, and its metrics count every key. */
static void run_ring(const char *name) {
    ring_run *r = calloc(1, sizeof *r);
    r->ring = ring_new();
    if (!r->ring) {
        CHECK(r->ring != NULL);
        free(r);
        return;
    }
    CHECK(ring_layout_ok(r->ring));
    r->queue = queue_with_ring(r->ring, name);
    if (!r->queue) {
        free(r->ring);
        free(r);
        return;
    }
    if (name && r->ring->stamps == WQ_STAMPS_NONE) {
        /* No counter stamps here: producers of a named queue call. */
        CHECK_EQ_U64(atomic_load(ring_waiters(r->ring)), 1);
        wq_queue_free(r->queue);
        free(r->ring);
        free(r);
        return;
    }
    /* Set up by the queue. */
    CHECK_EQ_U64(atomic_load(ring_tail(r->ring)), 0);
    CHECK_EQ_U64(atomic_load(ring_head(r->ring)), 0);
    CHECK_EQ_U64(atomic_load(ring_waiters(r->ring)), 0);
    CHECK_EQ_U64(r->ring->stamps, name ? WQ_STAMPS_TSC : WQ_STAMPS_NONE);

    pthread_t consumer, producer, scraper;
    if (name) pthread_create(&scraper, NULL, ring_scrape, r);
    pthread_create(&producer, NULL, ring_produce, r);
    while (!atomic_load(&r->head_start)) wq_test_sleep_ms(1);
    /* Alone, the producer fills the ring, calls once it is full (which
       applies it), and so on: one call every WQ_SUBMISSIONS_CAPACITY + 1
       keys. */
    long fulls = HEAD_START_KEYS / (WQ_SUBMISSIONS_CAPACITY + 1);
    CHECK(atomic_load(&r->results[SUBMITTED]) >= HEAD_START_KEYS - fulls);
    CHECK(atomic_load(&r->results[REFUSED_FULL]) >= fulls);
    pthread_create(&consumer, NULL, ring_consume, r);
    pthread_join(producer, NULL);
    /* Every add is made: a drain waits until every key is handed out and
       done, then the consumer sees the shutdown. */
    CHECK_OK(wq_queue_shutdown_with_drain(r->queue, WQ_WAIT_FOREVER));
    pthread_join(consumer, NULL);
    atomic_store(&r->consumed, 1);
    if (name) {
        pthread_join(scraper, NULL);
        wq_metrics m;
        CHECK_OK(wq_queue_metrics(r->queue, &m));
        CHECK_EQ_U64(m.adds, RING_KEYS);
        CHECK_EQ_U64(m.queue_duration.count, RING_KEYS);
        CHECK_EQ_U64(m.work_duration.count, RING_KEYS);
        CHECK(m.depth == 0);
        CHECK(r->scrapes > 0);
    }

    CHECK_EQ_U64(atomic_load(&r->handed_out), RING_KEYS);
    for (int key = 0; key < RING_KEYS; key++) {
        if (atomic_load(&r->seen[key]) != 1) {
            wq_test_fail(__FILE__, __LINE__, "key %d handed out %d times", key,
                         atomic_load(&r->seen[key]));
            break;
        }
    }
    size_t len = 1;
    CHECK_OK(wq_queue_len(r->queue, &len));
    CHECK_EQ_U64(len, 0);
    CHECK_OK(wq_queue_processing_len(r->queue, &len));
    CHECK_EQ_U64(len, 0);
    long submitted =
        atomic_load(&r->results[SUBMITTED]) + atomic_load(&r->results[SUBMITTED_AND_FLUSHED]);
    CHECK_EQ_U64(atomic_load(ring_tail(r->ring)), (uint64_t)submitted);
    CHECK_EQ_U64(atomic_load(ring_head(r->ring)), (uint64_t)submitted);
    CHECK_EQ_U64(atomic_load(ring_waiters(r->ring)), 0);
    CHECK(submitted > 0);
    printf("       %ld submitted (%ld then flushed), called: %ld waiters, %ld busy, %ld full\n",
           submitted, atomic_load(&r->results[SUBMITTED_AND_FLUSHED]),
           atomic_load(&r->results[REFUSED_WAITERS]), atomic_load(&r->results[REFUSED_BUSY]),
           atomic_load(&r->results[REFUSED_FULL]));
    wq_queue_free(r->queue);
    free(r->ring); /* only once the queue is freed */
    free(r);
}

static void test_submitted_adds_reach_a_blocked_consumer(void) { run_ring(NULL); }

static void test_a_named_queues_ring_is_applied_by_scrapes_meanwhile(void) {
    run_ring("c-ring-scraped");
}

/* ---- a blocked getter and the flush ------------------------------------- */

typedef struct {
    wq_queue *queue;
    atomic_int returned;
    wq_status status;
    uint64_t key;
} ring_getter;

static void *ring_get_once(void *arg) {
    ring_getter *g = arg;
    g->status = wq_queue_get(g->queue, WQ_WAIT_FOREVER, &g->key);
    atomic_store(&g->returned, 1);
    return NULL;
}

/* A getter blocked in wq_queue_get counts in waiters; an entry published
   by a producer that looked at waiters before the getter counted itself
   (and took the ring after the getter looked at it) stays unseen until
   the producer, seeing the waiter, flushes. */
static void test_flush_wakes_a_blocked_getter(void) {
    wq_submissions *ring;
    wq_queue *q = unnamed_queue_with_new_ring(&ring);
    if (!q) return;
    ring_getter g = {.queue = q};
    atomic_init(&g.returned, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, ring_get_once, &g);
    CHECK(await_waiters(ring, 1));
    wq_test_sleep_ms(20); /* time to look at the ring and fall asleep */
    /* Steps 2-4, as if step 1 had seen no waiter. */
    uint64_t tail = atomic_load(ring_tail(ring));
    CHECK_EQ_U64(tail, 0);
    CHECK(atomic_compare_exchange_strong(ring_tail(ring), &tail, tail | WQ_SUBMISSIONS_BUSY));
    ring->entries[0] = (wq_submission){.key = 42, .op = WQ_SUBMIT_ADD};
    atomic_store_explicit(ring_tail(ring), 1, memory_order_release);
    wq_test_sleep_ms(30);
    /* The getter is asleep: the entry is published but not applied, and
       step 5 finds the waiter and wakes it. A getter that looked at the
       ring only after it was taken (a slow thread: sanitizers, Valgrind)
       waits for the entry and applies it itself, which is right too. */
    if (atomic_load(ring_head(ring)) == 0 && atomic_load(ring_waiters(ring)) != 0) {
        CHECK_OK(wq_queue_flush(q));
    } else {
        CHECK_EQ_U64(atomic_load(ring_head(ring)), 1); /* applied by the getter */
    }
    pthread_join(thread, NULL);
    CHECK_OK(g.status);
    CHECK_EQ_U64(g.key, 42);
    CHECK_EQ_U64(atomic_load(ring_head(ring)), 1);
    CHECK_EQ_U64(atomic_load(ring_waiters(ring)), 0);

    /* No waiter now: a submitted done finishes the key. */
    CHECK(submit(q, ring, WQ_SUBMIT_DONE, 42, 0) == SUBMITTED);
    size_t len = 1;
    CHECK_OK(wq_queue_processing_len(q, &len));
    CHECK_EQ_U64(len, 0);
    wq_queue_free(q);
    free(ring);
}

/* A getter that counts itself while a producer holds the ring waits for
   that producer's entry: the producer may have read waiters before the
   count reached it (its publishing store needs only release order), and
   so not flush. */
static void test_a_getter_counted_while_the_ring_is_taken_gets_its_entry(void) {
    wq_submissions *ring;
    wq_queue *q = unnamed_queue_with_new_ring(&ring);
    if (!q) return;
    /* Steps 1-2: no waiter yet; the ring is taken. */
    CHECK_EQ_U64(atomic_load(ring_waiters(ring)), 0);
    uint64_t tail = 0;
    CHECK(atomic_compare_exchange_strong(ring_tail(ring), &tail, WQ_SUBMISSIONS_BUSY));
    ring_getter g = {.queue = q};
    atomic_init(&g.returned, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, ring_get_once, &g);
    CHECK(await_waiters(ring, 1));
    wq_test_sleep_ms(20);
    CHECK(atomic_load(&g.returned) == 0);
    /* Step 4, and no step 5: the producer's read of waiters was 0. */
    ring->entries[0] = (wq_submission){.key = 43, .op = WQ_SUBMIT_ADD};
    atomic_store_explicit(ring_tail(ring), 1, memory_order_release);
    int returned = 0;
    for (int i = 0; i < 5000 && !returned; i++) {
        returned = atomic_load(&g.returned);
        if (!returned) wq_test_sleep_ms(1);
    }
    CHECK(returned);
    if (!returned) CHECK_OK(wq_queue_flush(q)); /* release it to end the test */
    pthread_join(thread, NULL);
    CHECK_OK(g.status);
    CHECK_EQ_U64(g.key, 43);
    CHECK_EQ_U64(atomic_load(ring_head(ring)), 1);
    wq_queue_free(q);
    free(ring);
}

/* ---- arguments ----------------------------------------------------------- */

static void test_submission_arguments(void) {
    CHECK_STATUS(wq_queue_flush(NULL), WQ_STATUS_NULL_ARGUMENT);

    /* No ring (the default): flushing does nothing, and succeeds. */
    wq_queue *q = NULL;
    CHECK_OK(wq_queue_new(NULL, &q));
    if (q) {
        CHECK_OK(wq_queue_flush(q));
        wq_queue_free(q);
    }
}

/* ---- named queues ------------------------------------------------------- */

/* A named queue's entries carry the time-stamp counter at the call (its
   metrics time each add and done), and a scrape applies its ring first.
   Where the queue cannot read counter values it counts a waiter for ever:
   producers call. */
static void test_a_named_queue_takes_stamped_submissions(void) {
    wq_submissions *ring = ring_new();
    if (!ring) {
        CHECK(ring != NULL);
        return;
    }
    wq_queue_options options = {0};
    options.name = "c-ring-named";
    options.submissions = ring;
    wq_queue *q = NULL;
    CHECK_OK(wq_queue_new(&options, &q));
    if (!q) {
        free(ring);
        return;
    }
    if (ring->stamps == WQ_STAMPS_NONE) {
        CHECK_EQ_U64(atomic_load(ring_waiters(ring)), 1);
        CHECK(submit(q, ring, WQ_SUBMIT_ADD, 1, 0) == REFUSED_WAITERS);
    } else {
        CHECK_EQ_U64(ring->stamps, WQ_STAMPS_TSC);
        CHECK(submit(q, ring, WQ_SUBMIT_ADD, 1, 0) == SUBMITTED);
        CHECK_EQ_U64(atomic_load(ring_head(ring)), 0);
        size_t len = 0;
        (void)wq_metrics_prometheus(NULL, 0, &len);
        char *text = malloc(len + 4096);
        CHECK(text != NULL);
        if (text) {
            CHECK_OK(wq_metrics_prometheus(text, len + 4096, &len));
            CHECK(strstr(text, "workqueue_adds_total{name=\"c-ring-named\"} 1\n") != NULL);
            free(text);
        }
        CHECK_EQ_U64(atomic_load(ring_head(ring)), 1);
        uint64_t key = 0;
        CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
        CHECK_EQ_U64(key, 1);
        CHECK(submit(q, ring, WQ_SUBMIT_DONE, 1, 0) == SUBMITTED);
        wq_metrics m;
        CHECK_OK(wq_queue_metrics(q, &m));
        CHECK_EQ_U64(m.queue_duration.count, 1);
        CHECK_EQ_U64(m.work_duration.count, 1);
    }
    wq_queue_free(q);
    free(ring);
}

void run_submission_tests(void) {
    RUN_TEST(test_a_named_queue_takes_stamped_submissions);
    RUN_TEST(test_submitted_adds_reach_a_blocked_consumer);
    RUN_TEST(test_a_named_queues_ring_is_applied_by_scrapes_meanwhile);
    RUN_TEST(test_flush_wakes_a_blocked_getter);
    RUN_TEST(test_a_getter_counted_while_the_ring_is_taken_gets_its_entry);
    RUN_TEST(test_submission_arguments);
}
