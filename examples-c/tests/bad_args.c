/*
 * Every function with each kind of bad argument: a NULL handle, a NULL
 * required out-pointer, a NULL array with a non-zero count, a NULL
 * callback, an out-of-range value. Each must return the documented status,
 * leave its out-parameters untouched and change nothing; _free(NULL) is a
 * no-op.
 */
#include <math.h>
#include <string.h>

#include "harness.h"

#define NULLA WQ_STATUS_NULL_ARGUMENT
#define INVAL WQ_STATUS_INVALID_ARGUMENT

static void piece(void *user_data, size_t index) {
    (void)user_data;
    (void)index;
}

static int handler(void *user_data, uint64_t key) {
    (void)user_data;
    (void)key;
    return 0;
}

static void test_free_null_is_a_no_op(void) {
    wq_queue_free(NULL);
    wq_rate_limiter_free(NULL);
    wq_manual_clock_free(NULL);
    wq_cancel_free(NULL);
    wq_semaphore_free(NULL);
    wq_squeue_free(NULL);
    CHECK(1);
}

static void test_constructors(void) {
    wq_queue *q = (wq_queue *)&q; /* a sentinel: must stay untouched */
    wq_queue *const q_sentinel = q;
    CHECK_STATUS(wq_queue_new(NULL, NULL), NULLA);
    wq_queue_options options = {0};
    CHECK_STATUS(wq_queue_new(&options, NULL), NULLA);
    const char bad_utf8[] = {(char)0xff, (char)0xfe, 0};
    options.name = bad_utf8;
    CHECK_STATUS(wq_queue_new(&options, &q), INVAL);
    CHECK(q == q_sentinel);

    wq_rate_limiter *l = (wq_rate_limiter *)&l;
    wq_rate_limiter *const l_sentinel = l;
    CHECK_STATUS(wq_rate_limiter_new_exponential(1, 2, NULL), NULLA);
    CHECK_STATUS(wq_rate_limiter_new_exponential(0, 2, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_exponential(3, 2, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_fast_slow(1, 2, 3, NULL), NULLA);
    CHECK_STATUS(wq_rate_limiter_new_token_bucket(1.0, 1, NULL), NULLA);
    CHECK_STATUS(wq_rate_limiter_new_token_bucket(0.0, 1, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_token_bucket(-1.0, 1, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_token_bucket(NAN, 1, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_token_bucket(INFINITY, 1, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_token_bucket(1.0, 0, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_default_controller(NULL), NULLA);
    CHECK_STATUS(wq_rate_limiter_new_default_item(NULL), NULLA);
    wq_rate_limiter *member;
    CHECK_OK(wq_rate_limiter_new_default_item(&member));
    const wq_rate_limiter *members[] = {member, NULL};
    CHECK_STATUS(wq_rate_limiter_new_max_of(members, 1, NULL), NULLA);
    CHECK_STATUS(wq_rate_limiter_new_max_of(NULL, 1, &l), NULLA);
    CHECK_STATUS(wq_rate_limiter_new_max_of(members, 2, &l), NULLA); /* a NULL member */
    CHECK_STATUS(wq_rate_limiter_new_max_of(members, 0, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_max_of(NULL, 0, &l), INVAL);
    CHECK_STATUS(wq_rate_limiter_new_max_wait(NULL, 1, &l), NULLA);
    CHECK_STATUS(wq_rate_limiter_new_max_wait(member, 1, NULL), NULLA);
    CHECK(l == l_sentinel);
    wq_rate_limiter_free(member);

    wq_manual_clock *c = (wq_manual_clock *)&c;
    CHECK_STATUS(wq_manual_clock_new(NULL), NULLA);
    wq_cancel *cancel = (wq_cancel *)&cancel;
    CHECK_STATUS(wq_cancel_new(NULL), NULLA);
    wq_semaphore *s = (wq_semaphore *)&s;
    wq_semaphore *const s_sentinel = s;
    CHECK_STATUS(wq_semaphore_new(1, NULL), NULLA);
    CHECK_STATUS(wq_semaphore_new(0, &s), INVAL);
    CHECK(s == s_sentinel);
    (void)c;
    (void)cancel;
}

static void test_queue_calls(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    CHECK_OK(wq_queue_add(q, 5, NULL));
    uint64_t key = 777;
    size_t count = 777;
    bool flag = false;
    uint32_t u32 = 777;
    uint64_t keys[4] = {1, 2, 3, 4};
    const char *name = "sentinel";
    int fd = -7;

    /* NULL handle. */
    CHECK_STATUS(wq_queue_name(NULL, &name), NULLA);
    CHECK_STATUS(wq_queue_add(NULL, 1, &flag), NULLA);
    CHECK_STATUS(wq_queue_add_batch(NULL, keys, 4, &count), NULLA);
    CHECK_STATUS(wq_queue_add_after(NULL, 1, 10, &flag), NULLA);
    CHECK_STATUS(wq_queue_add_rate_limited(NULL, 1, &key), NULLA);
    CHECK_STATUS(wq_queue_get(NULL, WQ_NO_WAIT, &key), NULLA);
    CHECK_STATUS(wq_queue_get(NULL, WQ_WAIT_FOREVER, &key), NULLA);
    CHECK_STATUS(wq_queue_get_batch(NULL, keys, 4, WQ_NO_WAIT, &count), NULLA);
    CHECK_STATUS(wq_queue_done(NULL, 1, &flag), NULLA);
    CHECK_STATUS(wq_queue_done_batch(NULL, keys, 4, &count), NULLA);
    CHECK_STATUS(wq_queue_forget(NULL, 1), NULLA);
    CHECK_STATUS(wq_queue_num_requeues(NULL, 1, &u32), NULLA);
    CHECK_STATUS(wq_queue_len(NULL, &count), NULLA);
    CHECK_STATUS(wq_queue_processing_len(NULL, &count), NULLA);
    CHECK_STATUS(wq_queue_delayed_len(NULL, &count), NULLA);
    CHECK_STATUS(wq_queue_shutdown(NULL), NULLA);
    CHECK_STATUS(wq_queue_shutdown_with_drain(NULL, WQ_NO_WAIT), NULLA);
    CHECK_STATUS(wq_queue_shutting_down(NULL, &flag), NULLA);
    CHECK_STATUS(wq_queue_fd(NULL, &fd), NULLA);
    CHECK_STATUS(wq_queue_holds(NULL, 1, &flag), NULLA);
    CHECK_STATUS(wq_queue_holds_batch(NULL, keys, 1, &flag, &count), NULLA);
    CHECK_STATUS(wq_queue_add_with_priority(NULL, 1, 1, &flag), NULLA);
    CHECK_STATUS(wq_queue_add_batch_with_priority(NULL, keys, 4, 1, &count), NULLA);
    CHECK_STATUS(wq_queue_add_after_with_priority(NULL, 1, 1, 1, &flag), NULLA);
    CHECK_STATUS(wq_queue_try_add_after_with_priority(NULL, 1, 1, 1, &flag), NULLA);
    CHECK_STATUS(wq_queue_add_rate_limited_with_priority(NULL, 1, 1, &key), NULLA);
    int32_t priority = 777;
    size_t lens[1];
    CHECK_STATUS(wq_queue_get_with_priority(NULL, WQ_NO_WAIT, &key, &priority), NULLA);
    CHECK_STATUS(wq_queue_len_by_priority(NULL, &priority, lens, 1, &count), NULLA);

    /* NULL required out-pointers. */
    CHECK_STATUS(wq_queue_name(q, NULL), NULLA);
    CHECK_STATUS(wq_queue_get(q, WQ_NO_WAIT, NULL), NULLA);
    CHECK_STATUS(wq_queue_get(q, WQ_WAIT_FOREVER, NULL), NULLA);
    CHECK_STATUS(wq_queue_get_batch(q, keys, 4, WQ_NO_WAIT, NULL), NULLA);
    CHECK_STATUS(wq_queue_num_requeues(q, 1, NULL), NULLA);
    CHECK_STATUS(wq_queue_len(q, NULL), NULLA);
    CHECK_STATUS(wq_queue_processing_len(q, NULL), NULLA);
    CHECK_STATUS(wq_queue_delayed_len(q, NULL), NULLA);
    CHECK_STATUS(wq_queue_shutting_down(q, NULL), NULLA);
    CHECK_STATUS(wq_queue_fd(q, NULL), NULLA);
    CHECK_STATUS(wq_queue_holds(q, 1, NULL), NULLA);
    CHECK_STATUS(wq_queue_get_with_priority(q, WQ_NO_WAIT, NULL, &priority), NULLA);
    CHECK_STATUS(wq_queue_get_with_priority(q, WQ_NO_WAIT, &key, NULL), NULLA);
    CHECK_STATUS(wq_queue_len_by_priority(q, &priority, lens, 1, NULL), NULLA);

    /* NULL arrays with a non-zero count. */
    CHECK_STATUS(wq_queue_add_batch(q, NULL, 1, &count), NULLA);
    CHECK_STATUS(wq_queue_add_batch_with_priority(q, NULL, 1, 1, &count), NULLA);
    CHECK_STATUS(wq_queue_get_batch(q, NULL, 1, WQ_NO_WAIT, &count), NULLA);
    CHECK_STATUS(wq_queue_done_batch(q, NULL, 1, &count), NULLA);
    CHECK_STATUS(wq_queue_holds_batch(q, NULL, 1, &flag, &count), NULLA);
    CHECK_STATUS(wq_queue_holds_batch(q, keys, 1, NULL, &count), NULLA);
    CHECK_STATUS(wq_queue_len_by_priority(q, NULL, lens, 1, &count), NULLA);
    CHECK_STATUS(wq_queue_len_by_priority(q, &priority, NULL, 1, &count), NULLA);

    /* Out-of-range timeouts: only -1 may be negative. */
    CHECK_STATUS(wq_queue_get(q, -2, &key), INVAL);
    CHECK_STATUS(wq_queue_get(q, INT64_MIN, &key), INVAL);
    CHECK_STATUS(wq_queue_get_batch(q, keys, 4, -5, &count), INVAL);
    CHECK_STATUS(wq_queue_get_with_priority(q, -5, &key, &priority), INVAL);

    /* None of that touched an out-parameter or the queue: key 5 is still
       the one queued key. */
    CHECK_EQ_U64(key, 777);
    CHECK_EQ_U64(count, 777);
    CHECK_EQ_U64(u32, 777);
    CHECK(!flag);
    CHECK(strcmp(name, "sentinel") == 0);
    CHECK(fd == -7);
    CHECK(priority == 777);
    CHECK_OK(wq_queue_len(q, &count));
    CHECK_EQ_U64(count, 1);
    CHECK_OK(wq_queue_processing_len(q, &count));
    CHECK_EQ_U64(count, 0);
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 5);
    CHECK_OK(wq_queue_done(q, 5, NULL));

    CHECK_STATUS(wq_queue_shutdown_with_drain(q, -3), INVAL);
    bool shutting_down = true;
    CHECK_OK(wq_queue_shutting_down(q, &shutting_down));
    CHECK(!shutting_down); /* the rejected drain did not shut it down */

    /* Worker loop. */
    wq_worker_report report = {1, 2, 3, 4};
    CHECK_STATUS(wq_worker_run(NULL, 1, 1, handler, NULL, NULL, &report), NULLA);
    CHECK_STATUS(wq_worker_run(q, 1, 1, NULL, NULL, NULL, &report), NULLA);
    CHECK_STATUS(wq_worker_run(q, 0, 1, handler, NULL, NULL, &report), INVAL);
    CHECK(report.succeeded == 1 && report.retried == 2 && report.dropped == 3 && report.abandoned == 4);
    wq_queue_free(q);
}

static void test_other_calls(void) {
    uint64_t u64 = 777;
    uint32_t u32 = 777;
    size_t count = 777;
    bool flag = false;

    wq_rate_limiter *l;
    CHECK_OK(wq_rate_limiter_new_default_controller(&l));
    CHECK_STATUS(wq_rate_limiter_when(NULL, NULL, 1, &u64), NULLA);
    CHECK_STATUS(wq_rate_limiter_when(l, NULL, 1, NULL), NULLA);
    CHECK_STATUS(wq_rate_limiter_forget(NULL, 1), NULLA);
    CHECK_STATUS(wq_rate_limiter_num_requeues(NULL, 1, &u32), NULLA);
    CHECK_STATUS(wq_rate_limiter_num_requeues(l, 1, NULL), NULLA);
    CHECK_OK(wq_rate_limiter_num_requeues(l, 1, &u32));
    CHECK_EQ_U64(u32, 0); /* the rejected `when` counted nothing */
    u32 = 777;
    wq_rate_limiter_free(l);

    wq_manual_clock *c;
    CHECK_OK(wq_manual_clock_new(&c));
    CHECK_STATUS(wq_manual_clock_step(NULL, 1), NULLA);
    CHECK_STATUS(wq_manual_clock_set(NULL, 1), NULLA);
    CHECK_STATUS(wq_manual_clock_now(NULL, &u64), NULLA);
    CHECK_STATUS(wq_manual_clock_now(c, NULL), NULLA);
    wq_manual_clock_free(c);

    wq_cancel *cancel;
    CHECK_OK(wq_cancel_new(&cancel));
    CHECK_STATUS(wq_cancel_cancel(NULL), NULLA);
    CHECK_STATUS(wq_cancel_is_cancelled(NULL, &flag), NULLA);
    CHECK_STATUS(wq_cancel_is_cancelled(cancel, NULL), NULLA);
    CHECK_STATUS(wq_parallelize(cancel, 1, 10, 1, NULL, NULL), NULLA);
    CHECK_STATUS(wq_parallelize(NULL, 0, 10, 1, piece, NULL), INVAL);
    CHECK_STATUS(wq_parallelize(NULL, 1, 10, 0, piece, NULL), INVAL);
    wq_cancel_free(cancel);

    wq_semaphore *s;
    CHECK_OK(wq_semaphore_new(1, &s));
    CHECK_STATUS(wq_semaphore_acquire(NULL, WQ_NO_WAIT), NULLA);
    CHECK_STATUS(wq_semaphore_acquire(s, -2), INVAL);
    CHECK_STATUS(wq_semaphore_try_acquire(NULL), NULLA);
    CHECK_STATUS(wq_semaphore_release(NULL), NULLA);
    CHECK_STATUS(wq_semaphore_release(s), WQ_STATUS_INVALID_STATE);
    CHECK_STATUS(wq_semaphore_available(NULL, &count), NULLA);
    CHECK_STATUS(wq_semaphore_available(s, NULL), NULLA);
    CHECK_OK(wq_semaphore_available(s, &count));
    CHECK_EQ_U64(count, 1); /* the rejected calls took no permit */
    wq_semaphore_free(s);

    CHECK_EQ_U64(u64, 777);
    CHECK_EQ_U64(u32, 777);
    CHECK(!flag);
}

static void test_squeue_calls(void) {
    wq_squeue *q = (wq_squeue *)&q;
    wq_squeue *const q_sentinel = q;
    CHECK_STATUS(wq_squeue_new(NULL, NULL), NULLA);
    wq_squeue_options options = {0};
    CHECK_STATUS(wq_squeue_new(&options, NULL), NULLA);
    const char bad_utf8[] = {(char)0xff, 0};
    options.name = bad_utf8;
    CHECK_STATUS(wq_squeue_new(&options, &q), INVAL);
    options.name = NULL;
    options.initial_backoff_ns = 2000;
    options.max_backoff_ns = 1000;
    CHECK_STATUS(wq_squeue_new(&options, &q), INVAL);
    CHECK(q == q_sentinel);

    CHECK_OK(wq_squeue_new(NULL, &q));
    CHECK_OK(wq_squeue_add(q, 5, 3, NULL));
    uint64_t key = 777, u64 = 777;
    int32_t priority = 777;
    uint32_t u32 = 777;
    size_t count = 777;
    bool flag = false;
    wq_place place = (wq_place)77;
    int fd = 777;

    /* NULL handle. */
    CHECK_STATUS(wq_squeue_add(NULL, 1, 0, &flag), NULLA);
    CHECK_STATUS(wq_squeue_update(NULL, 1, 0, &place), NULLA);
    CHECK_STATUS(wq_squeue_delete(NULL, 1, &flag), NULLA);
    CHECK_STATUS(wq_squeue_pop(NULL, WQ_NO_WAIT, &key, &priority), NULLA);
    CHECK_STATUS(wq_squeue_pop(NULL, WQ_WAIT_FOREVER, &key, &priority), NULLA);
    CHECK_STATUS(wq_squeue_done(NULL, 1, &flag), NULLA);
    CHECK_STATUS(wq_squeue_requeue_backoff(NULL, 1, &place), NULLA);
    CHECK_STATUS(wq_squeue_requeue_unschedulable(NULL, 1, &place), NULLA);
    CHECK_STATUS(wq_squeue_move_all(NULL, "NodeAdd", &count), NULLA);
    CHECK_STATUS(wq_squeue_moves_by_event(NULL, "NodeAdd", &u64), NULLA);
    CHECK_STATUS(wq_squeue_active_len(NULL, &count), NULLA);
    CHECK_STATUS(wq_squeue_backoff_len(NULL, &count), NULLA);
    CHECK_STATUS(wq_squeue_unschedulable_len(NULL, &count), NULLA);
    CHECK_STATUS(wq_squeue_in_flight_len(NULL, &count), NULLA);
    CHECK_STATUS(wq_squeue_place(NULL, 1, &place), NULLA);
    CHECK_STATUS(wq_squeue_attempts(NULL, 1, &u32), NULLA);
    CHECK_STATUS(wq_squeue_close(NULL), NULLA);
    CHECK_STATUS(wq_squeue_is_closed(NULL, &flag), NULLA);
    CHECK_STATUS(wq_squeue_fd(NULL, &fd), NULLA);

    /* NULL required out-pointers and strings. */
    CHECK_STATUS(wq_squeue_pop(q, WQ_NO_WAIT, NULL, &priority), NULLA);
    CHECK_STATUS(wq_squeue_pop(q, WQ_WAIT_FOREVER, NULL, NULL), NULLA);
    CHECK_STATUS(wq_squeue_move_all(q, NULL, &count), NULLA);
    CHECK_STATUS(wq_squeue_moves_by_event(q, NULL, &u64), NULLA);
    CHECK_STATUS(wq_squeue_moves_by_event(q, "NodeAdd", NULL), NULLA);
    CHECK_STATUS(wq_squeue_active_len(q, NULL), NULLA);
    CHECK_STATUS(wq_squeue_backoff_len(q, NULL), NULLA);
    CHECK_STATUS(wq_squeue_unschedulable_len(q, NULL), NULLA);
    CHECK_STATUS(wq_squeue_in_flight_len(q, NULL), NULLA);
    CHECK_STATUS(wq_squeue_place(q, 5, NULL), NULLA);
    CHECK_STATUS(wq_squeue_attempts(q, 5, NULL), NULLA);
    CHECK_STATUS(wq_squeue_is_closed(q, NULL), NULLA);
    CHECK_STATUS(wq_squeue_fd(q, NULL), NULLA);

    /* Out of range: a timeout below -1, an event that is not UTF-8. */
    CHECK_STATUS(wq_squeue_pop(q, -2, &key, &priority), INVAL);
    CHECK_STATUS(wq_squeue_pop(q, INT64_MIN, &key, NULL), INVAL);
    CHECK_STATUS(wq_squeue_move_all(q, bad_utf8, &count), INVAL);
    CHECK_STATUS(wq_squeue_moves_by_event(q, bad_utf8, &u64), INVAL);

    /* Nothing written, nothing changed: 5 is still the one active item. */
    CHECK_EQ_U64(key, 777);
    CHECK_EQ_U64(u64, 777);
    CHECK(priority == 777);
    CHECK_EQ_U64(u32, 777);
    CHECK_EQ_U64(count, 777);
    CHECK(!flag);
    CHECK(place == (wq_place)77);
    CHECK(fd == 777);
    CHECK_OK(wq_squeue_active_len(q, &count));
    CHECK_EQ_U64(count, 1);
    CHECK_OK(wq_squeue_in_flight_len(q, &count));
    CHECK_EQ_U64(count, 0);
    CHECK_OK(wq_squeue_is_closed(q, &flag));
    CHECK(!flag);
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority));
    CHECK(key == 5 && priority == 3);
    wq_squeue_free(q);
}

static void test_metrics_calls(void) {
    wq_queue_options options = {0};
    options.name = "c-bad-args-metrics";
    wq_queue *q;
    CHECK_OK(wq_queue_new(&options, &q));
    CHECK_OK(wq_queue_add(q, 1, NULL));
    wq_metrics m;
    memset(&m, 0x5a, sizeof m);
    const wq_metrics untouched = m;
    CHECK_STATUS(wq_queue_metrics(NULL, &m), NULLA);
    CHECK_STATUS(wq_queue_metrics(q, NULL), NULLA);
    CHECK(memcmp(&m, &untouched, sizeof m) == 0);

    size_t len = 777;
    char buffer[8] = "sentinl";
    CHECK_STATUS(wq_metrics_prometheus(NULL, 5, &len), NULLA);
    CHECK_STATUS(wq_metrics_prometheus(buffer, sizeof buffer, NULL), NULLA);
    CHECK_STATUS(wq_metrics_prometheus(NULL, 0, NULL), NULLA);
    CHECK_EQ_U64(len, 777);
    /* Too small is not a bad argument: the length is stored, the buffer
       stays as it was. */
    CHECK_STATUS(wq_metrics_prometheus(buffer, sizeof buffer, &len), WQ_STATUS_BUFFER_TOO_SMALL);
    CHECK(len > sizeof buffer);
    CHECK(memcmp(buffer, "sentinl", 8) == 0);

    CHECK_OK(wq_queue_metrics(q, &m));
    CHECK(m.depth == 1 && m.adds == 1);
    wq_queue_free(q);
}

void run_bad_argument_tests(void) {
    RUN_TEST(test_free_null_is_a_no_op);
    RUN_TEST(test_constructors);
    RUN_TEST(test_queue_calls);
    RUN_TEST(test_other_calls);
    RUN_TEST(test_squeue_calls);
    RUN_TEST(test_metrics_calls);
}
