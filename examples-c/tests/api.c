/*
 * The API on one thread: versions, statuses, ownership of limiters and
 * clocks, batches, delays on a manual clock, parallelize, the semaphore
 * and the worker loop.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void test_version_and_status_strings(void) {
    CHECK(strcmp(wq_version(), WQ_VERSION_STRING) == 0);
    CHECK(WQ_VERSION_NUMBER == WQ_VERSION_MAJOR * 10000 + WQ_VERSION_MINOR * 100 + WQ_VERSION_PATCH);
    CHECK(WQ_STATUS_OK == 0);
    for (int status = WQ_STATUS_OK; status <= WQ_STATUS_BUFFER_TOO_SMALL; status++) {
        const char *text = wq_status_str(status);
        CHECK(text != NULL && text[0] != '\0');
        CHECK(strcmp(text, "unknown status") != 0);
        for (int other = WQ_STATUS_OK; other < status; other++)
            CHECK(strcmp(text, wq_status_str(other)) != 0);
    }
    CHECK(strcmp(wq_status_str(-1), "unknown status") == 0);
    CHECK(strcmp(wq_status_str(WQ_STATUS_BUFFER_TOO_SMALL + 1), "unknown status") == 0);
    CHECK(strcmp(wq_status_str(1 << 30), "unknown status") == 0);
}

static void test_defaults_and_name(void) {
    wq_queue *q = NULL;
    const char *name = "sentinel";
    CHECK_OK(wq_queue_new(NULL, &q));
    CHECK(q != NULL);
    CHECK_OK(wq_queue_name(q, &name));
    CHECK(name == NULL);
    /* The default controller limiter: 5 ms, then 10 ms for a key. */
    uint64_t delay = 0;
    CHECK_OK(wq_queue_add_rate_limited(q, 7, &delay));
    CHECK_EQ_U64(delay, 5000000);
    CHECK_OK(wq_queue_add_rate_limited(q, 7, &delay));
    CHECK_EQ_U64(delay, 10000000);
    uint32_t requeues = 0;
    CHECK_OK(wq_queue_num_requeues(q, 7, &requeues));
    CHECK_EQ_U64(requeues, 2);
    CHECK_OK(wq_queue_forget(q, 7));
    CHECK_OK(wq_queue_num_requeues(q, 7, &requeues));
    CHECK_EQ_U64(requeues, 0);
    wq_queue_free(q);

    wq_queue_options options = {0};
    char buffer[32];
    strcpy(buffer, "orders");
    options.name = buffer;
    CHECK_OK(wq_queue_new(&options, &q));
    strcpy(buffer, "changed"); /* the name was copied */
    CHECK_OK(wq_queue_name(q, &name));
    CHECK(name != NULL && strcmp(name, "orders") == 0);
    wq_queue_free(q);
}

static void test_add_get_done_and_batches(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    bool added = false;
    CHECK_OK(wq_queue_add(q, 1, &added));
    CHECK(added);
    CHECK_OK(wq_queue_add(q, 1, &added));
    CHECK(!added);
    CHECK_OK(wq_queue_add(q, 2, NULL)); /* the result is optional */
    uint64_t keys[] = {3, 4, 1, 5, 3};
    size_t count = 0;
    CHECK_OK(wq_queue_add_batch(q, keys, 5, &count));
    CHECK_EQ_U64(count, 3);
    CHECK_OK(wq_queue_add_batch(q, NULL, 0, &count)); /* empty batch */
    CHECK_EQ_U64(count, 0);
    size_t len = 0;
    CHECK_OK(wq_queue_len(q, &len));
    CHECK_EQ_U64(len, 5);

    uint64_t key = 0;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 1);
    uint64_t out[8] = {0};
    CHECK_OK(wq_queue_get_batch(q, out, 3, WQ_NO_WAIT, &count));
    CHECK_EQ_U64(count, 3);
    CHECK(out[0] == 2 && out[1] == 3 && out[2] == 4);
    CHECK_OK(wq_queue_get_batch(q, out, 0, WQ_NO_WAIT, &count)); /* capacity 0 */
    CHECK_EQ_U64(count, 0);
    CHECK_OK(wq_queue_get_batch(q, NULL, 0, WQ_NO_WAIT, &count));
    CHECK_OK(wq_queue_get_batch(q, out, 8, 1000000, &count));
    CHECK_EQ_U64(count, 1);
    CHECK_EQ_U64(out[0], 5);
    CHECK_STATUS(wq_queue_get_batch(q, out, 8, WQ_NO_WAIT, &count), WQ_STATUS_TIMEOUT);
    CHECK_OK(wq_queue_processing_len(q, &len));
    CHECK_EQ_U64(len, 5);

    /* 1 is added again while processed: it comes back after done. */
    CHECK_OK(wq_queue_add(q, 1, &added));
    CHECK(added);
    bool was_processing = false;
    CHECK_OK(wq_queue_done(q, 1, &was_processing));
    CHECK(was_processing);
    CHECK_OK(wq_queue_done(q, 1, &was_processing));
    CHECK(!was_processing);
    uint64_t done_keys[] = {2, 3, 4, 5, 99};
    CHECK_OK(wq_queue_done_batch(q, done_keys, 5, &count));
    CHECK_EQ_U64(count, 4);
    CHECK_OK(wq_queue_done_batch(q, NULL, 0, NULL));
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 1);
    CHECK_OK(wq_queue_done(q, 1, NULL));

    bool shutting_down = true;
    CHECK_OK(wq_queue_shutting_down(q, &shutting_down));
    CHECK(!shutting_down);
    CHECK_OK(wq_queue_add(q, 9, NULL));
    CHECK_OK(wq_queue_shutdown(q));
    CHECK_OK(wq_queue_shutdown(q)); /* twice is harmless */
    CHECK_OK(wq_queue_shutting_down(q, &shutting_down));
    CHECK(shutting_down);
    CHECK_OK(wq_queue_add(q, 10, &added));
    CHECK(!added);
    CHECK_STATUS(wq_queue_add_rate_limited(q, 10, NULL), WQ_STATUS_SHUTDOWN);
    added = true;
    CHECK_STATUS(wq_queue_try_add_after_with_priority(q, 10, 0, 0, &added), WQ_STATUS_SHUTDOWN);
    CHECK(added); /* not written */
    /* Queued keys are still handed out after a shutdown. */
    CHECK_OK(wq_queue_get(q, WQ_WAIT_FOREVER, &key));
    CHECK_EQ_U64(key, 9);
    CHECK_STATUS(wq_queue_get(q, WQ_WAIT_FOREVER, &key), WQ_STATUS_SHUTDOWN);
    CHECK_STATUS(wq_queue_get_batch(q, out, 8, WQ_WAIT_FOREVER, &count), WQ_STATUS_SHUTDOWN);
    /* Drain: the key being processed is not done yet. */
    CHECK_STATUS(wq_queue_shutdown_with_drain(q, WQ_NO_WAIT), WQ_STATUS_TIMEOUT);
    CHECK_STATUS(wq_queue_shutdown_with_drain(q, 1000000), WQ_STATUS_TIMEOUT);
    CHECK_OK(wq_queue_done(q, 9, NULL));
    CHECK_OK(wq_queue_shutdown_with_drain(q, WQ_NO_WAIT));
    CHECK_OK(wq_queue_shutdown_with_drain(q, WQ_WAIT_FOREVER));
    wq_queue_free(q);
}

static void test_manual_clock_delays(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    uint64_t now = 1;
    CHECK_OK(wq_manual_clock_now(clock, &now));
    CHECK_EQ_U64(now, 0);
    wq_queue_options options = {0};
    options.clock = clock;
    wq_queue *q;
    CHECK_OK(wq_queue_new(&options, &q));
    bool added;
    CHECK_OK(wq_queue_add_after(q, 1, 2000, &added));
    CHECK(added);
    CHECK_OK(wq_queue_add_after(q, 1, 5000, &added)); /* later: does not postpone */
    CHECK(!added);
    CHECK_OK(wq_queue_add_after(q, 2, 1000, &added));
    CHECK_OK(wq_queue_add_after(q, 3, -5, &added)); /* negative: at once */
    CHECK(added);
    size_t len;
    CHECK_OK(wq_queue_len(q, &len));
    CHECK_EQ_U64(len, 1);
    CHECK_OK(wq_queue_delayed_len(q, &len));
    CHECK_EQ_U64(len, 2);
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 3);
    CHECK_STATUS(wq_queue_get(q, WQ_NO_WAIT, &key), WQ_STATUS_TIMEOUT);
    /* Real-time timeouts still end on a manual clock. */
    CHECK_STATUS(wq_queue_get(q, 2000000, &key), WQ_STATUS_TIMEOUT);
    CHECK_OK(wq_manual_clock_step(clock, 1999));
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 2);
    CHECK_STATUS(wq_queue_get(q, WQ_NO_WAIT, &key), WQ_STATUS_TIMEOUT);
    CHECK_OK(wq_manual_clock_set(clock, 2000));
    CHECK_OK(wq_manual_clock_now(clock, &now));
    CHECK_EQ_U64(now, 2000);
    /* The clock handle can go; the queue keeps the clock (frozen now). */
    wq_manual_clock_free(clock);
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 1);
    wq_queue_free(q);
}

static void test_rate_limiters_and_sharing(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_rate_limiter *exp, *fast_slow, *bucket, *max_of, *max_wait, *item;
    CHECK_OK(wq_rate_limiter_new_exponential(1000000, 1000000000, &exp));
    CHECK_OK(wq_rate_limiter_new_fast_slow(5000000, 10000000000ull, 2, &fast_slow));
    CHECK_OK(wq_rate_limiter_new_token_bucket(10.0, 1, &bucket));
    CHECK_OK(wq_rate_limiter_new_default_item(&item));
    const wq_rate_limiter *members[] = {exp, bucket};
    CHECK_OK(wq_rate_limiter_new_max_of(members, 2, &max_of));
    CHECK_OK(wq_rate_limiter_new_max_wait(fast_slow, 7000000000ull, &max_wait));

    uint64_t delay;
    CHECK_OK(wq_rate_limiter_when(item, NULL, 1, &delay));
    CHECK_EQ_U64(delay, 1000000);
    CHECK_OK(wq_rate_limiter_when(max_wait, clock, 1, &delay));
    CHECK_EQ_U64(delay, 5000000);
    CHECK_OK(wq_rate_limiter_when(max_wait, clock, 1, &delay));
    CHECK_EQ_U64(delay, 5000000);
    CHECK_OK(wq_rate_limiter_when(max_wait, clock, 1, &delay));
    CHECK_EQ_U64(delay, 7000000000ull); /* slow (10 s), capped at 7 s */
    uint32_t count;
    /* The composite shares the member's state. */
    CHECK_OK(wq_rate_limiter_num_requeues(fast_slow, 1, &count));
    CHECK_EQ_U64(count, 3);

    /* Members may be freed: the composite and the queue keep theirs. */
    wq_rate_limiter_free(exp);
    wq_rate_limiter_free(bucket);
    wq_queue_options options = {0};
    options.rate_limiter = max_of;
    options.clock = clock;
    wq_queue *q1, *q2;
    CHECK_OK(wq_queue_new(&options, &q1));
    CHECK_OK(wq_queue_new(&options, &q2)); /* two queues, one limiter */
    wq_rate_limiter_free(max_of);
    CHECK_OK(wq_queue_add_rate_limited(q1, 5, &delay));
    CHECK_EQ_U64(delay, 1000000); /* exp 1 ms; the bucket's token is free */
    CHECK_OK(wq_queue_add_rate_limited(q2, 5, &delay));
    CHECK_EQ_U64(delay, 100000000); /* shared: exp 2 ms, the bucket is empty: 100 ms */
    CHECK_OK(wq_queue_num_requeues(q1, 5, &count));
    CHECK_EQ_U64(count, 2);
    CHECK_OK(wq_manual_clock_step(clock, 2000000));
    uint64_t key;
    CHECK_OK(wq_queue_get(q1, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 5);
    CHECK_STATUS(wq_queue_get(q2, WQ_NO_WAIT, &key), WQ_STATUS_TIMEOUT);
    CHECK_OK(wq_manual_clock_step(clock, 98000000));
    CHECK_OK(wq_queue_get(q2, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 5);
    CHECK_OK(wq_queue_forget(q2, 5));
    CHECK_OK(wq_queue_num_requeues(q1, 5, &count));
    CHECK_EQ_U64(count, 0);
    wq_queue_free(q1);
    wq_queue_free(q2);
    wq_rate_limiter_free(fast_slow);
    wq_rate_limiter_free(max_wait);
    wq_rate_limiter_free(item);
    wq_manual_clock_free(clock);

    /* The exponential limiter never overflows. */
    wq_rate_limiter *capped;
    CHECK_OK(wq_rate_limiter_new_exponential(1, UINT64_MAX, &capped));
    for (int i = 0; i < 1000; i++) CHECK_OK(wq_rate_limiter_when(capped, NULL, 1, &delay));
    CHECK_EQ_U64(delay, UINT64_MAX);
    wq_rate_limiter_free(capped);
}

typedef struct {
    atomic_int visits[1000];
    atomic_int total;
    wq_cancel *cancel_at_100;
} pieces;

static void visit(void *user_data, size_t piece) {
    pieces *p = user_data;
    atomic_fetch_add(&p->visits[piece], 1);
    if (atomic_fetch_add(&p->total, 1) + 1 == 100 && p->cancel_at_100)
        wq_cancel_cancel(p->cancel_at_100);
}

static void test_parallelize(void) {
    static pieces p;
    size_t chunks[] = {1, 10, 100, 13};
    for (size_t c = 0; c < 4; c++) {
        memset(&p, 0, sizeof p);
        CHECK_OK(wq_parallelize(NULL, 4, 999, chunks[c], visit, &p));
        for (int i = 0; i < 999; i++) CHECK(atomic_load(&p.visits[i]) == 1);
        CHECK(atomic_load(&p.visits[999]) == 0);
    }
    memset(&p, 0, sizeof p);
    CHECK_OK(wq_parallelize(NULL, 3, 0, 1, visit, &p)); /* zero pieces */
    CHECK(atomic_load(&p.total) == 0);
    CHECK_STATUS(wq_parallelize(NULL, 0, 10, 1, visit, &p), WQ_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(wq_parallelize(NULL, 2, 10, 0, visit, &p), WQ_STATUS_INVALID_ARGUMENT);
    CHECK(atomic_load(&p.total) == 0);

    wq_cancel *cancel;
    CHECK_OK(wq_cancel_new(&cancel));
    bool cancelled = true;
    CHECK_OK(wq_cancel_is_cancelled(cancel, &cancelled));
    CHECK(!cancelled);
    p.cancel_at_100 = cancel;
    CHECK_STATUS(wq_parallelize(cancel, 4, 1000, 1, visit, &p), WQ_STATUS_CANCELLED);
    CHECK(atomic_load(&p.total) >= 100 && atomic_load(&p.total) < 1000);
    CHECK_OK(wq_cancel_is_cancelled(cancel, &cancelled));
    CHECK(cancelled);
    memset(&p, 0, sizeof p);
    /* Already cancelled: nothing runs. */
    CHECK_STATUS(wq_parallelize(cancel, 2, 10, 1, visit, &p), WQ_STATUS_CANCELLED);
    CHECK(atomic_load(&p.total) == 0);
    wq_cancel_free(cancel);
}

static void test_semaphore(void) {
    wq_semaphore *s;
    CHECK_OK(wq_semaphore_new(2, &s));
    size_t available;
    CHECK_OK(wq_semaphore_available(s, &available));
    CHECK_EQ_U64(available, 2);
    CHECK_OK(wq_semaphore_acquire(s, WQ_WAIT_FOREVER));
    CHECK_OK(wq_semaphore_try_acquire(s));
    CHECK_STATUS(wq_semaphore_try_acquire(s), WQ_STATUS_TIMEOUT);
    CHECK_STATUS(wq_semaphore_acquire(s, WQ_NO_WAIT), WQ_STATUS_TIMEOUT);
    int64_t start = wq_test_now_ns();
    CHECK_STATUS(wq_semaphore_acquire(s, 20000000), WQ_STATUS_TIMEOUT);
    CHECK(wq_test_now_ns() - start >= 20000000);
    CHECK_OK(wq_semaphore_available(s, &available));
    CHECK_EQ_U64(available, 0);
    CHECK_OK(wq_semaphore_release(s));
    CHECK_OK(wq_semaphore_release(s));
    CHECK_STATUS(wq_semaphore_release(s), WQ_STATUS_INVALID_STATE);
    CHECK_OK(wq_semaphore_available(s, &available));
    CHECK_EQ_U64(available, 2);
    wq_semaphore_free(s);
}

static void test_priorities(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_queue_options options = {0};
    options.clock = clock;
    options.priority_aging_ns = 1000000000; /* +1 per second waited */
    wq_queue *q;
    CHECK_OK(wq_queue_new(&options, &q));
    bool added;
    CHECK_OK(wq_queue_add_with_priority(q, 1, 0, &added));
    CHECK(added);
    CHECK_OK(wq_queue_add_with_priority(q, 2, 10, NULL));
    CHECK_OK(wq_queue_add_with_priority(q, 3, 10, NULL));
    CHECK_OK(wq_queue_add(q, 4, NULL)); /* priority 0 */
    CHECK_OK(wq_queue_add_with_priority(q, 4, 5, &added)); /* a raise, not a new run */
    CHECK(!added);
    int32_t priorities[8];
    size_t lens[8], count = 0;
    CHECK_OK(wq_queue_len_by_priority(q, priorities, lens, 8, &count));
    CHECK_EQ_U64(count, 3);
    CHECK(priorities[0] == 10 && lens[0] == 2);
    CHECK(priorities[1] == 5 && lens[1] == 1);
    CHECK(priorities[2] == 0 && lens[2] == 1);
    CHECK_OK(wq_queue_len_by_priority(q, priorities, lens, 1, &count)); /* too short */
    CHECK_EQ_U64(count, 3);
    CHECK_OK(wq_queue_len_by_priority(q, NULL, NULL, 0, &count));
    CHECK_EQ_U64(count, 3);
    uint64_t key;
    int32_t priority;
    uint64_t want_keys[] = {2, 3, 4, 1};
    int32_t want_priorities[] = {10, 10, 5, 0};
    for (int i = 0; i < 4; i++) {
        CHECK_OK(wq_queue_get_with_priority(q, WQ_NO_WAIT, &key, &priority));
        CHECK_EQ_U64(key, want_keys[i]);
        CHECK(priority == want_priorities[i]);
    }
    CHECK_STATUS(wq_queue_get_with_priority(q, WQ_NO_WAIT, &key, &priority), WQ_STATUS_TIMEOUT);
    CHECK_OK(wq_queue_add_after_with_priority(q, 5, 1000, 7, &added));
    CHECK(added);
    CHECK_OK(wq_queue_try_add_after_with_priority(q, 5, 2000, 7, &added));
    CHECK(!added); /* accepted, but the earlier time stays */
    uint64_t delay = 0;
    CHECK_OK(wq_queue_add_rate_limited_with_priority(q, 6, 9, &delay));
    CHECK_EQ_U64(delay, 5000000);
    CHECK_OK(wq_manual_clock_step(clock, 5000000));
    CHECK_OK(wq_queue_get_with_priority(q, WQ_NO_WAIT, &key, &priority));
    CHECK_EQ_U64(key, 6);
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 5);
    wq_queue_free(q);

    options.priority_aging_ns = 0; /* strict */
    CHECK_OK(wq_queue_new(&options, &q));
    wq_queue_free(q);
    wq_manual_clock_free(clock);
}

/* A priority batch is wq_queue_add_with_priority for each key in order. */
static void test_add_batch_with_priority(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    CHECK_OK(wq_queue_add_with_priority(q, 3, 9, NULL));
    CHECK_OK(wq_queue_add(q, 4, NULL));
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key)); /* 3: processing */
    CHECK_EQ_U64(key, 3);
    uint64_t keys[] = {1, 4, 2, 1, 3};
    size_t added = 0;
    CHECK_OK(wq_queue_add_batch_with_priority(q, keys, 5, 5, &added));
    CHECK_EQ_U64(added, 3); /* 1 and 2 new, 3 marked to come back; 4 raised */
    CHECK_OK(wq_queue_add_batch_with_priority(q, NULL, 0, 5, NULL)); /* empty batch */
    CHECK_OK(wq_queue_done(q, 3, NULL));
    uint64_t want_keys[] = {1, 4, 2, 3};
    int32_t priority;
    for (int i = 0; i < 4; i++) {
        CHECK_OK(wq_queue_get_with_priority(q, WQ_NO_WAIT, &key, &priority));
        CHECK_EQ_U64(key, want_keys[i]);
        CHECK(priority == 5);
    }
    CHECK_OK(wq_queue_shutdown(q));
    CHECK_OK(wq_queue_add_batch_with_priority(q, keys, 5, 5, &added));
    CHECK_EQ_U64(added, 0); /* refused after shutdown */
    wq_queue_free(q);
}

static void test_holds(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    bool holds = true;
    CHECK_OK(wq_queue_holds(q, 1, &holds));
    CHECK(!holds);
    CHECK_OK(wq_queue_add(q, 1, NULL));
    CHECK_OK(wq_queue_add_after(q, 2, 1000000000, NULL));
    uint64_t keys[] = {1, 2, 3};
    bool flags[3] = {false, false, true};
    size_t held = 0;
    CHECK_OK(wq_queue_holds_batch(q, keys, 3, flags, &held));
    CHECK(flags[0] && flags[1] && !flags[2]);
    CHECK_EQ_U64(held, 2);
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_OK(wq_queue_holds(q, 1, &holds));
    CHECK(holds); /* being processed */
    CHECK_OK(wq_queue_done(q, 1, NULL));
    CHECK_OK(wq_queue_holds(q, 1, &holds));
    CHECK(!holds);
    wq_queue_free(q);
}

void run_api_tests(void) {
    RUN_TEST(test_version_and_status_strings);
    RUN_TEST(test_defaults_and_name);
    RUN_TEST(test_add_get_done_and_batches);
    RUN_TEST(test_manual_clock_delays);
    RUN_TEST(test_rate_limiters_and_sharing);
    RUN_TEST(test_parallelize);
    RUN_TEST(test_semaphore);
    RUN_TEST(test_priorities);
    RUN_TEST(test_add_batch_with_priority);
    RUN_TEST(test_holds);
}
