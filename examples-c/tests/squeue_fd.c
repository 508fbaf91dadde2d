/*
 * The scheduling queue's pollable fd: readable while a pop would not block,
 * also when a backoff ends on the real clock and for manual clock steps;
 * closed by wq_squeue_free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "harness.h"

#if defined(__linux__)

static void test_squeue_fd_follows_readiness(void) {
    wq_squeue_options options = {0};
    options.initial_backoff_ns = 200000000; /* 200 ms */
    options.disable_pop_from_backoff = true;
    wq_squeue *q;
    CHECK_OK(wq_squeue_new(&options, &q));
    int fd = -1, again = -2;
    CHECK_STATUS(wq_squeue_fd(NULL, &fd), WQ_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(wq_squeue_fd(q, NULL), WQ_STATUS_NULL_ARGUMENT);
    CHECK_OK(wq_squeue_fd(q, &fd));
    CHECK(fd >= 0);
    CHECK_OK(wq_squeue_fd(q, &again));
    CHECK(fd == again);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(!wq_test_readable_within(fd, 0)); /* empty */

    CHECK_OK(wq_squeue_add(q, 1, 0, NULL));
    CHECK(wq_test_readable_within(fd, 1000));
    CHECK(wq_test_readable_within(fd, 0)); /* level: stays readable */
    uint64_t key;
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, NULL));
    CHECK_EQ_U64(key, 1);
    CHECK(!wq_test_readable_within(fd, 0)); /* nothing to pop: unreadable at once */

    /* A backoff on the real clock: the fd carries the timer. */
    int64_t start = wq_test_now_ns();
    wq_place place;
    CHECK_OK(wq_squeue_requeue_backoff(q, 1, &place));
    CHECK(place == WQ_PLACE_BACKOFF);
    CHECK(!wq_test_readable_within(fd, 0));
    CHECK(wq_test_readable_within(fd, 5000));
    CHECK(wq_test_now_ns() - start >= 199000000);
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, NULL));
    CHECK_EQ_U64(key, 1);
    CHECK(!wq_test_readable_within(fd, 0));

    /* Closed: a pop would not block (it reports shutdown). */
    CHECK_OK(wq_squeue_close(q));
    CHECK(wq_test_readable_within(fd, 1000));
    CHECK_STATUS(wq_squeue_pop(q, WQ_NO_WAIT, &key, NULL), WQ_STATUS_SHUTDOWN);
    CHECK(wq_test_readable_within(fd, 0));

    wq_squeue_free(q);
    /* The queue closed its fd. */
    errno = 0;
    CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

static void test_squeue_fd_on_a_manual_clock(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_squeue_options options = {0};
    options.clock = clock;
    options.disable_pop_from_backoff = true;
    wq_squeue *q;
    CHECK_OK(wq_squeue_new(&options, &q));
    CHECK_OK(wq_squeue_add(q, 9, 0, NULL));
    uint64_t key;
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, NULL));
    CHECK_OK(wq_squeue_requeue_backoff(q, 9, NULL)); /* 1 s of manual time */
    int fd;
    CHECK_OK(wq_squeue_fd(q, &fd));
    CHECK(!wq_test_readable_within(fd, 20)); /* manual time does not pass by itself */
    CHECK_OK(wq_manual_clock_step(clock, 999999999));
    CHECK(!wq_test_readable_within(fd, 10));
    CHECK_OK(wq_manual_clock_step(clock, 1));
    CHECK(wq_test_readable_within(fd, 1000));
    CHECK_OK(wq_squeue_pop(q, WQ_NO_WAIT, &key, NULL));
    CHECK_EQ_U64(key, 9);
    CHECK(!wq_test_readable_within(fd, 0));
    wq_squeue_free(q);
    wq_manual_clock_free(clock);
}

void run_squeue_fd_tests(void) {
    RUN_TEST(test_squeue_fd_follows_readiness);
    RUN_TEST(test_squeue_fd_on_a_manual_clock);
}
#else
static void test_squeue_fd_unsupported(void) {
    wq_squeue *q;
    int fd = -7;
    CHECK_OK(wq_squeue_new(NULL, &q));
    CHECK_STATUS(wq_squeue_fd(q, &fd), WQ_STATUS_UNSUPPORTED);
    CHECK(fd == -7);
    wq_squeue_free(q);
}

void run_squeue_fd_tests(void) { RUN_TEST(test_squeue_fd_unsupported); }
#endif
