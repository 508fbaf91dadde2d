/*
 * The scheduling queue (wq_squeue): the API on one thread, options, and on
 * pthreads: blocked pops released by close, by a manual clock step and by
 * an add, timed pops, and producers and consumers.
 *
 * As in threads.c, data shared between threads is atomic: ThreadSanitizer
 * cannot see the library's own synchronisation unless it is instrumented.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SECOND 1000000000ull

static wq_place place_of(wq_squeue *q, uint64_t key) {
    wq_place place = (wq_place)-1;
    CHECK_OK(wq_squeue_place(q, key, &place));
    return place;
}

static void check_lens(wq_squeue *q, size_t active, size_t backoff, size_t unschedulable,
                       size_t in_flight) {
    size_t len = 999;
    CHECK_OK(wq_squeue_active_len(q, &len));
    CHECK_EQ_U64(len, active);
    CHECK_OK(wq_squeue_backoff_len(q, &len));
    CHECK_EQ_U64(len, backoff);
    CHECK_OK(wq_squeue_unschedulable_len(q, &len));
    CHECK_EQ_U64(len, unschedulable);
    CHECK_OK(wq_squeue_in_flight_len(q, &len));
    CHECK_EQ_U64(len, in_flight);
}

static void test_squeue_place_names(void) {
    CHECK(strcmp(wq_place_str(WQ_PLACE_NONE), "none") == 0);
    CHECK(strcmp(wq_place_str(WQ_PLACE_ACTIVE), "active") == 0);
    CHECK(strcmp(wq_place_str(WQ_PLACE_BACKOFF), "backoff") == 0);
    CHECK(strcmp(wq_place_str(WQ_PLACE_UNSCHEDULABLE), "unschedulable") == 0);
    CHECK(strcmp(wq_place_str(WQ_PLACE_IN_FLIGHT), "in_flight") == 0);
    CHECK(strcmp(wq_place_str(-1), "unknown place") == 0);
    CHECK(strcmp(wq_place_str(WQ_PLACE_IN_FLIGHT + 1), "unknown place") == 0);
}

/* Priorities, FIFO among equals, the four places, attempts and backoff on
   a manual clock with the default settings (1 s doubling to 10 s). */
static void test_squeue_flow(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_squeue_options options = {0};
    options.clock = clock;
    options.disable_pop_from_backoff = true;
    wq_squeue *q;
    CHECK_OK(wq_squeue_new(&options, &q));

    bool added = false;
    CHECK_OK(wq_squeue_add(q, 1, 0, &added));
    CHECK(added);
    CHECK_OK(wq_squeue_add(q, 2, 10, NULL));
    CHECK_OK(wq_squeue_add(q, 3, -5, NULL));
    CHECK_OK(wq_squeue_add(q, 4, 10, NULL));
    CHECK_OK(wq_squeue_add(q, 1, 0, &added)); /* known: an update */
    CHECK(!added);
    check_lens(q, 4, 0, 0, 0);
    CHECK(place_of(q, 1) == WQ_PLACE_ACTIVE);
    CHECK(place_of(q, 99) == WQ_PLACE_NONE);

    uint64_t want_keys[] = {2, 4, 1, 3};
    int32_t want_priorities[] = {10, 10, 0, -5};
    for (int i = 0; i < 4; i++) {
        uint64_t key = 0;
        int32_t priority = 0;
        CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority));
        CHECK_EQ_U64(key, want_keys[i]);
        CHECK(priority == want_priorities[i]);
    }
    uint64_t key = 777;
    int32_t priority = 777;
    CHECK_STATUS(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority), WQ_STATUS_TIMEOUT);
    CHECK_STATUS(wq_squeue_pop(q, 2000000, &key, NULL), WQ_STATUS_TIMEOUT); /* real time */
    CHECK(key == 777 && priority == 777);
    check_lens(q, 0, 0, 0, 4);
    CHECK(place_of(q, 2) == WQ_PLACE_IN_FLIGHT);

    /* 2 succeeds: forgotten. */
    bool was_in_flight = false;
    CHECK_OK(wq_squeue_done(q, 2, &was_in_flight));
    CHECK(was_in_flight);
    CHECK_OK(wq_squeue_done(q, 2, &was_in_flight));
    CHECK(!was_in_flight);
    CHECK(place_of(q, 2) == WQ_PLACE_NONE);
    uint32_t attempts = 7;
    CHECK_OK(wq_squeue_attempts(q, 2, &attempts));
    CHECK_EQ_U64(attempts, 0);

    /* 4 fails with an error: 1 s of backoff, then active. */
    wq_place place = WQ_PLACE_NONE;
    CHECK_OK(wq_squeue_requeue_backoff(q, 4, &place));
    CHECK(place == WQ_PLACE_BACKOFF);
    CHECK_OK(wq_squeue_requeue_backoff(q, 4, &place)); /* not in flight any more */
    CHECK(place == WQ_PLACE_NONE);
    CHECK_OK(wq_squeue_attempts(q, 4, &attempts));
    CHECK_EQ_U64(attempts, 1);
    CHECK_OK(wq_manual_clock_step(clock, SECOND - 1));
    CHECK(place_of(q, 4) == WQ_PLACE_BACKOFF);
    CHECK_OK(wq_manual_clock_step(clock, 1));
    CHECK(place_of(q, 4) == WQ_PLACE_ACTIVE);

    /* 1 and 3 are unschedulable: parked until a move event. */
    CHECK_OK(wq_squeue_requeue_unschedulable(q, 1, &place));
    CHECK(place == WQ_PLACE_UNSCHEDULABLE);
    CHECK_OK(wq_squeue_requeue_unschedulable(q, 3, NULL));
    check_lens(q, 1, 0, 2, 0);
    uint64_t moves = 9;
    CHECK_OK(wq_squeue_moves_by_event(q, "NodeAdd", &moves));
    CHECK_EQ_U64(moves, 0);
    CHECK_OK(wq_manual_clock_step(clock, 2 * SECOND)); /* their backoffs ended */
    size_t moved = 0;
    CHECK_OK(wq_squeue_move_all(q, "NodeAdd", &moved));
    CHECK_EQ_U64(moved, 2);
    CHECK_OK(wq_squeue_move_all(q, "NodeAdd", NULL));
    CHECK_OK(wq_squeue_moves_by_event(q, "NodeAdd", &moves));
    CHECK_EQ_U64(moves, 2);
    check_lens(q, 3, 0, 0, 0);

    /* Update raises 3 above the others; delete removes 1. */
    CHECK_OK(wq_squeue_update(q, 3, 50, &place));
    CHECK(place == WQ_PLACE_ACTIVE);
    CHECK_OK(wq_squeue_update(q, 42, 50, &place)); /* unknown: nothing added */
    CHECK(place == WQ_PLACE_NONE);
    CHECK_OK(wq_squeue_update(q, 4, 1, NULL));
    bool held = false;
    CHECK_OK(wq_squeue_delete(q, 1, &held));
    CHECK(held);
    CHECK_OK(wq_squeue_delete(q, 1, &held));
    CHECK(!held);
    CHECK_OK(wq_squeue_delete(q, 1, NULL));
    CHECK_OK(wq_squeue_pop(q, WQ_WAIT_FOREVER, &key, &priority));
    CHECK(key == 3 && priority == 50);
    CHECK_OK(wq_squeue_attempts(q, 3, &attempts));
    CHECK_EQ_U64(attempts, 2);
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority));
    CHECK(key == 4 && priority == 1);

    /* Close: pops end at once, with items left; the rest keeps working. */
    CHECK_OK(wq_squeue_add(q, 5, 0, NULL));
    bool closed = true;
    CHECK_OK(wq_squeue_is_closed(q, &closed));
    CHECK(!closed);
    CHECK_OK(wq_squeue_close(q));
    CHECK_OK(wq_squeue_close(q)); /* twice is harmless */
    CHECK_OK(wq_squeue_is_closed(q, &closed));
    CHECK(closed);
    key = 777;
    CHECK_STATUS(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority), WQ_STATUS_SHUTDOWN);
    CHECK_STATUS(wq_squeue_pop(q, WQ_WAIT_FOREVER, &key, &priority), WQ_STATUS_SHUTDOWN);
    CHECK_STATUS(wq_squeue_pop(q, 1000000, &key, NULL), WQ_STATUS_SHUTDOWN);
    CHECK_EQ_U64(key, 777);
    CHECK_OK(wq_squeue_done(q, 3, &was_in_flight));
    CHECK(was_in_flight);
    CHECK_OK(wq_squeue_add(q, 6, 0, &added));
    CHECK(added);
    check_lens(q, 2, 0, 0, 1);
    wq_squeue_free(q);
    wq_manual_clock_free(clock);
}

/* Options: the defaults, custom backoff bounds, pop-from-backoff on and
   off, names, and settings the core refuses. */
static void test_squeue_options(void) {
    wq_squeue *q = NULL;
    CHECK_OK(wq_squeue_new(NULL, &q));
    CHECK(q != NULL);
    wq_squeue_free(q);

    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_squeue_options options = {0};
    options.clock = clock;
    options.initial_backoff_ns = 3000000;
    options.max_backoff_ns = 10000000;
    options.disable_pop_from_backoff = true;
    CHECK_OK(wq_squeue_new(&options, &q));
    uint64_t key;
    int32_t priority;
    uint64_t waits[] = {3000000, 6000000, 10000000, 10000000}; /* 3, 6, 12 capped at 10 ms */
    CHECK_OK(wq_squeue_add(q, 1, 0, NULL));
    for (int i = 0; i < 4; i++) {
        CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority));
        CHECK_OK(wq_squeue_requeue_unschedulable(q, 1, NULL));
        CHECK_OK(wq_squeue_move_all(q, "PodDelete", NULL)); /* to backoff */
        CHECK_OK(wq_manual_clock_step(clock, waits[i] - 1));
        CHECK_STATUS(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority), WQ_STATUS_TIMEOUT);
        CHECK_OK(wq_manual_clock_step(clock, 1));
        CHECK(place_of(q, 1) == WQ_PLACE_ACTIVE);
    }
    wq_squeue_free(q);

    /* Pop-from-backoff (the default): with the active queue empty, a pop
       takes the unschedulable item whose backoff ends first. */
    options = (wq_squeue_options){0};
    options.clock = clock;
    options.max_unschedulable_stay_ns = 5 * SECOND;
    CHECK_OK(wq_squeue_new(&options, &q));
    CHECK_OK(wq_squeue_add(q, 1, 3, NULL));
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority));
    CHECK_OK(wq_squeue_requeue_unschedulable(q, 1, NULL));
    CHECK_OK(wq_squeue_move_all(q, "NodeAdd", NULL));
    CHECK(place_of(q, 1) == WQ_PLACE_BACKOFF);
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority));
    CHECK(key == 1 && priority == 3);
    /* The maximum stay: parked 5 s + 1 ns, it is flushed back. */
    CHECK_OK(wq_squeue_requeue_unschedulable(q, 1, NULL));
    CHECK_OK(wq_manual_clock_step(clock, 5 * SECOND));
    CHECK(place_of(q, 1) == WQ_PLACE_UNSCHEDULABLE);
    CHECK_OK(wq_manual_clock_step(clock, 1));
    CHECK(place_of(q, 1) == WQ_PLACE_ACTIVE);
    wq_squeue_free(q);

    /* A name is copied. */
    char name[32];
    strcpy(name, "c-squeue-options");
    options = (wq_squeue_options){0};
    options.name = name;
    CHECK_OK(wq_squeue_new(&options, &q));
    strcpy(name, "changed");
    wq_squeue_free(q);

    /* Refused: a maximum below the initial backoff (also after defaults),
       a name that is not UTF-8. */
    wq_squeue *const sentinel = (wq_squeue *)&q;
    q = sentinel;
    options = (wq_squeue_options){0};
    options.initial_backoff_ns = 20 * SECOND; /* the default maximum is 10 s */
    CHECK_STATUS(wq_squeue_new(&options, &q), WQ_STATUS_INVALID_ARGUMENT);
    options.max_backoff_ns = 19 * SECOND;
    CHECK_STATUS(wq_squeue_new(&options, &q), WQ_STATUS_INVALID_ARGUMENT);
    options = (wq_squeue_options){0};
    options.max_backoff_ns = 999999999; /* below the default initial 1 s */
    CHECK_STATUS(wq_squeue_new(&options, &q), WQ_STATUS_INVALID_ARGUMENT);
    const char bad_utf8[] = {'a', (char)0xc3, 0};
    options = (wq_squeue_options){0};
    options.name = bad_utf8;
    CHECK_STATUS(wq_squeue_new(&options, &q), WQ_STATUS_INVALID_ARGUMENT);
    CHECK(q == sentinel);
    options = (wq_squeue_options){0};
    options.initial_backoff_ns = 20 * SECOND;
    options.max_backoff_ns = 20 * SECOND;
    CHECK_OK(wq_squeue_new(&options, &q));
    wq_squeue_free(q);
    wq_manual_clock_free(clock);
}

/* ---- threads ---------------------------------------------------------- */

typedef struct {
    wq_squeue *queue;
    int64_t timeout_ns;
    atomic_int returned;
    wq_status status;
    uint64_t key;
    int32_t priority;
} popper;

static void *pop_once(void *arg) {
    popper *p = arg;
    p->status = wq_squeue_pop(p->queue, p->timeout_ns, &p->key, &p->priority);
    atomic_store(&p->returned, 1);
    return NULL;
}

static void start_poppers(popper *p, pthread_t *threads, int n, wq_squeue *q, int64_t timeout_ns) {
    for (int i = 0; i < n; i++) {
        p[i] = (popper){.queue = q, .timeout_ns = timeout_ns};
        atomic_init(&p[i].returned, 0);
        pthread_create(&threads[i], NULL, pop_once, &p[i]);
    }
}

/* Blocked pops (forever and with a long timeout) are all released by a
   close from another thread, with WQ_STATUS_SHUTDOWN, though an item is
   left in backoff. */
static void test_squeue_blocked_pop_released_by_close(void) {
    wq_squeue_options options = {0};
    options.initial_backoff_ns = 60 * SECOND;
    options.max_backoff_ns = 60 * SECOND;
    wq_squeue *q;
    CHECK_OK(wq_squeue_new(&options, &q));
    uint64_t key;
    CHECK_OK(wq_squeue_add(q, 1, 0, NULL));
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, NULL));
    CHECK_OK(wq_squeue_requeue_backoff(q, 1, NULL)); /* 60 s on the real clock */
    popper p[4];
    pthread_t threads[4];
    start_poppers(p, threads, 2, q, WQ_WAIT_FOREVER);
    start_poppers(p + 2, threads + 2, 2, q, 60000000000LL);
    wq_test_sleep_ms(50);
    for (int i = 0; i < 4; i++) CHECK(atomic_load(&p[i].returned) == 0);
    int64_t start = wq_test_now_ns();
    CHECK_OK(wq_squeue_close(q));
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_STATUS(p[i].status, WQ_STATUS_SHUTDOWN);
    }
    CHECK(wq_test_now_ns() - start < 5000000000LL);
    size_t len;
    CHECK_OK(wq_squeue_backoff_len(q, &len));
    CHECK_EQ_U64(len, 1);
    wq_squeue_free(q);
}

/* A pop blocked while the only item waits out its backoff on a manual
   clock is released when the clock is stepped to the end of the backoff,
   not before; the other blocked pop keeps waiting until an add. */
static void test_squeue_manual_clock_step_releases_pop(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_squeue_options options = {0};
    options.clock = clock;
    options.disable_pop_from_backoff = true;
    wq_squeue *q;
    CHECK_OK(wq_squeue_new(&options, &q));
    uint64_t key;
    CHECK_OK(wq_squeue_add(q, 42, 7, NULL));
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, NULL));
    CHECK_OK(wq_squeue_requeue_backoff(q, 42, NULL));
    popper p[2];
    pthread_t threads[2];
    start_poppers(p, threads, 1, q, WQ_WAIT_FOREVER);
    start_poppers(p + 1, threads + 1, 1, q, 60000000000LL);
    wq_test_sleep_ms(30);
    CHECK(atomic_load(&p[0].returned) == 0 && atomic_load(&p[1].returned) == 0);
    CHECK_OK(wq_manual_clock_step(clock, SECOND - 1));
    wq_test_sleep_ms(30);
    CHECK(atomic_load(&p[0].returned) == 0 && atomic_load(&p[1].returned) == 0);
    CHECK_OK(wq_manual_clock_step(clock, 1));
    /* Exactly one of the two gets the item; the other keeps waiting. */
    int64_t start = wq_test_now_ns();
    while (atomic_load(&p[0].returned) + atomic_load(&p[1].returned) == 0 &&
           wq_test_now_ns() - start < 10000000000LL)
        wq_test_sleep_ms(1);
    wq_test_sleep_ms(20);
    CHECK(atomic_load(&p[0].returned) + atomic_load(&p[1].returned) == 1);
    CHECK_OK(wq_squeue_add(q, 43, 0, NULL));
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        CHECK_OK(p[i].status);
    }
    CHECK((p[0].key == 42 && p[0].priority == 7 && p[1].key == 43) ||
          (p[1].key == 42 && p[1].priority == 7 && p[0].key == 43));
    wq_squeue_free(q);
    wq_manual_clock_free(clock);
}

/* A timed pop returns WQ_STATUS_TIMEOUT after its timeout, leaving the
   out-parameters alone. */
static void test_squeue_pop_timeout(void) {
    wq_squeue *q;
    CHECK_OK(wq_squeue_new(NULL, &q));
    uint64_t key = 12345;
    int32_t priority = 6789;
    int64_t start = wq_test_now_ns();
    CHECK_STATUS(wq_squeue_pop(q, 30000000, &key, &priority), WQ_STATUS_TIMEOUT);
    CHECK(wq_test_now_ns() - start >= 30000000);
    CHECK(key == 12345 && priority == 6789);
    wq_squeue_free(q);
}

#define SQ_PRODUCERS 2
#define SQ_CONSUMERS 3
#define SQ_KEYS_PER_PRODUCER 20000
#define SQ_KEYS (SQ_PRODUCERS * SQ_KEYS_PER_PRODUCER)

typedef struct {
    wq_squeue *queue;
    atomic_int seen[SQ_KEYS];
    atomic_int in_flight[SQ_KEYS];
    atomic_int popped;
    atomic_int failed_once[SQ_KEYS];
} squeue_mpmc;

typedef struct {
    squeue_mpmc *m;
    int id;
} sq_producer_arg;

static void *sq_produce(void *arg) {
    sq_producer_arg *p = arg;
    uint64_t first = (uint64_t)p->id * SQ_KEYS_PER_PRODUCER;
    for (uint64_t key = first; key < first + SQ_KEYS_PER_PRODUCER; key++)
        CHECK_OK(wq_squeue_add(p->m->queue, key, (int32_t)(key % 16), NULL));
    return NULL;
}

/* Pops until closed; one key in 64 fails once (backoff, 1 ms) and comes
   back; the others succeed. */
static void *sq_consume(void *arg) {
    squeue_mpmc *m = arg;
    for (;;) {
        uint64_t key;
        int32_t priority;
        wq_status status = wq_squeue_pop(m->queue, WQ_WAIT_FOREVER, &key, &priority);
        if (status == WQ_STATUS_SHUTDOWN) return NULL;
        CHECK_OK(status);
        if (status != WQ_STATUS_OK || key >= SQ_KEYS) return NULL;
        CHECK(priority == (int32_t)(key % 16));
        if (atomic_fetch_add(&m->in_flight[key], 1) != 0)
            wq_test_fail(__FILE__, __LINE__, "key %llu popped twice at once", (unsigned long long)key);
        atomic_fetch_sub(&m->in_flight[key], 1);
        if (key % 64 == 0 && atomic_exchange(&m->failed_once[key], 1) == 0) {
            wq_place place = WQ_PLACE_NONE;
            CHECK_OK(wq_squeue_requeue_backoff(m->queue, key, &place));
            CHECK(place == WQ_PLACE_BACKOFF);
            continue;
        }
        atomic_fetch_add(&m->seen[key], 1);
        bool was_in_flight = false;
        CHECK_OK(wq_squeue_done(m->queue, key, &was_in_flight));
        CHECK(was_in_flight);
        atomic_fetch_add(&m->popped, 1);
    }
}

/* Producers add 40,000 keys over 16 priorities while consumers pop them;
   every key is done exactly once (those that failed once after their
   backoff), then close releases the consumers. */
static void test_squeue_producers_and_consumers(void) {
    squeue_mpmc *m = calloc(1, sizeof *m);
    wq_squeue_options options = {0};
    options.initial_backoff_ns = 1000000;
    options.max_backoff_ns = 1000000;
    CHECK_OK(wq_squeue_new(&options, &m->queue));
    pthread_t producers[SQ_PRODUCERS], consumers[SQ_CONSUMERS];
    sq_producer_arg args[SQ_PRODUCERS];
    for (int i = 0; i < SQ_CONSUMERS; i++) pthread_create(&consumers[i], NULL, sq_consume, m);
    for (int i = 0; i < SQ_PRODUCERS; i++) {
        args[i] = (sq_producer_arg){m, i};
        pthread_create(&producers[i], NULL, sq_produce, &args[i]);
    }
    for (int i = 0; i < SQ_PRODUCERS; i++) pthread_join(producers[i], NULL);
    int64_t start = wq_test_now_ns();
    while (atomic_load(&m->popped) < SQ_KEYS && wq_test_now_ns() - start < 60000000000LL)
        wq_test_sleep_ms(1);
    CHECK_OK(wq_squeue_close(m->queue));
    for (int i = 0; i < SQ_CONSUMERS; i++) pthread_join(consumers[i], NULL);
    CHECK(atomic_load(&m->popped) == SQ_KEYS);
    for (int key = 0; key < SQ_KEYS; key++) {
        if (atomic_load(&m->seen[key]) != 1) {
            wq_test_fail(__FILE__, __LINE__, "key %d done %d times", key, atomic_load(&m->seen[key]));
            break;
        }
    }
    check_lens(m->queue, 0, 0, 0, 0);
    wq_squeue_free(m->queue);
    free(m);
}

void run_scheduling_tests(void) {
    RUN_TEST(test_squeue_place_names);
    RUN_TEST(test_squeue_flow);
    RUN_TEST(test_squeue_options);
    RUN_TEST(test_squeue_blocked_pop_released_by_close);
    RUN_TEST(test_squeue_manual_clock_step_releases_pop);
    RUN_TEST(test_squeue_pop_timeout);
    RUN_TEST(test_squeue_producers_and_consumers);
}
