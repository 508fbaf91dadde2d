/*
 * The pollable fd: readable while a get would not block, also for delayed
 * keys on the real clock and for manual clock steps; usable from epoll;
 * closed by wq_queue_free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "harness.h"

#if defined(__linux__)
#include <sys/epoll.h>

static void test_fd_follows_readiness(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    int fd = -1, again = -2;
    CHECK_OK(wq_queue_fd(q, &fd));
    CHECK(fd >= 0);
    CHECK_OK(wq_queue_fd(q, &again));
    CHECK(fd == again);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(!wq_test_readable_within(fd, 0));

    CHECK_OK(wq_queue_add(q, 1, NULL));
    CHECK(wq_test_readable_within(fd, 1000));
    CHECK(wq_test_readable_within(fd, 0)); /* level: stays readable */
    CHECK_OK(wq_queue_add(q, 2, NULL));
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK(wq_test_readable_within(fd, 1000)); /* 2 is still ready */
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK(!wq_test_readable_within(fd, 0)); /* nothing ready: unreadable at once */
    CHECK(!wq_test_readable_within(fd, 20));

    /* Done of a key added again while processing makes it ready again. */
    CHECK_OK(wq_queue_add(q, 1, NULL));
    CHECK(!wq_test_readable_within(fd, 10));
    CHECK_OK(wq_queue_done(q, 1, NULL));
    CHECK(wq_test_readable_within(fd, 1000));
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 1);
    CHECK(!wq_test_readable_within(fd, 0));

    /* A delayed key on the real clock: the fd carries the timer. */
    int64_t start = wq_test_now_ns();
    CHECK_OK(wq_queue_add_after(q, 3, 200000000, NULL));
    CHECK(!wq_test_readable_within(fd, 0));
    CHECK(wq_test_readable_within(fd, 5000));
    CHECK(wq_test_now_ns() - start >= 199000000);
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 3);
    CHECK(!wq_test_readable_within(fd, 0));

    /* Shut down with nothing queued: a get would not block (it reports
       shutdown), even though keys 1, 2 and 3 are still being processed. */
    CHECK_OK(wq_queue_shutdown(q));
    CHECK(wq_test_readable_within(fd, 1000));
    CHECK_STATUS(wq_queue_get(q, WQ_NO_WAIT, &key), WQ_STATUS_SHUTDOWN);
    CHECK(wq_test_readable_within(fd, 0));
    CHECK_OK(wq_queue_done(q, 1, NULL));
    CHECK_OK(wq_queue_done(q, 2, NULL));
    CHECK_OK(wq_queue_done(q, 3, NULL));
    CHECK(wq_test_readable_within(fd, 0));

    wq_queue_free(q);
    /* The queue closed its fd. */
    errno = 0;
    CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

static void test_fd_on_a_manual_clock(void) {
    wq_manual_clock *clock;
    CHECK_OK(wq_manual_clock_new(&clock));
    wq_queue_options options = {0};
    options.clock = clock;
    wq_queue *q;
    CHECK_OK(wq_queue_new(&options, &q));
    CHECK_OK(wq_queue_add_after(q, 9, 1000000000, NULL));
    int fd;
    CHECK_OK(wq_queue_fd(q, &fd));
    CHECK(!wq_test_readable_within(fd, 20)); /* manual time does not pass by itself */
    CHECK_OK(wq_manual_clock_step(clock, 999999999));
    CHECK(!wq_test_readable_within(fd, 10));
    CHECK_OK(wq_manual_clock_step(clock, 1));
    CHECK(wq_test_readable_within(fd, 1000));
    uint64_t key;
    CHECK_OK(wq_queue_get(q, WQ_NO_WAIT, &key));
    CHECK_EQ_U64(key, 9);
    CHECK(!wq_test_readable_within(fd, 0));
    wq_queue_free(q);
    wq_manual_clock_free(clock);
}

#define EVENT_KEYS 5000

typedef struct {
    wq_queue *queue;
    atomic_int received;
} event_loop;

/* Adds the keys in bursts of 500, each once the loop has taken the ones
   before it (so each burst needs a wakeup of its own), then shuts down. */
static void *produce_in_bursts(void *arg) {
    event_loop *loop = arg;
    for (int key = 0; key < EVENT_KEYS; key++) {
        CHECK_OK(wq_queue_add(loop->queue, (uint64_t)key, NULL));
        if (key % 500 == 499) {
            for (int waited = 0; atomic_load(&loop->received) <= key && waited < 5000; waited++)
                wq_test_sleep_ms(1);
        }
    }
    CHECK_OK(wq_queue_shutdown(loop->queue));
    return NULL;
}

/* An epoll loop on one thread consumes everything a producer thread adds,
   never blocking in wq_queue_get, and learns of the shutdown from the fd. */
static void test_epoll_event_loop(void) {
    wq_queue *q;
    CHECK_OK(wq_queue_new(NULL, &q));
    int fd;
    CHECK_OK(wq_queue_fd(q, &fd));
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    CHECK(epoll >= 0);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = 1};
    CHECK(epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0);
    event_loop loop = {.queue = q};
    atomic_init(&loop.received, 0);
    pthread_t producer;
    pthread_create(&producer, NULL, produce_in_bursts, &loop);
    int received = 0, wakeups = 0, spurious = 0;
    bool shut_down = false;
    while (!shut_down) {
        struct epoll_event ready;
        int n = epoll_wait(epoll, &ready, 1, 5000);
        if (n < 0 && errno == EINTR) continue;
        if (n != 1) {
            wq_test_fail(__FILE__, __LINE__, "epoll_wait returned %d", n);
            break;
        }
        wakeups++;
        int got = 0;
        for (;;) {
            uint64_t keys[64];
            size_t count;
            wq_status status = wq_queue_get_batch(q, keys, 64, WQ_NO_WAIT, &count);
            if (status == WQ_STATUS_TIMEOUT) break;
            if (status == WQ_STATUS_SHUTDOWN) {
                shut_down = true;
                break;
            }
            CHECK_OK(status);
            got += (int)count;
            CHECK_OK(wq_queue_done_batch(q, keys, count, NULL));
        }
        if (got == 0 && !shut_down) spurious++;
        received += got;
        atomic_store(&loop.received, received);
    }
    pthread_join(producer, NULL);
    CHECK(received == EVENT_KEYS);
    CHECK(wakeups >= EVENT_KEYS / 500);
    /* The readiness is exact apart from races with other getters; with one
       consumer a wakeup finds something nearly always. */
    CHECK(spurious <= wakeups / 2);
    close(epoll);
    wq_queue_free(q);
}

void run_fd_tests(void) {
    RUN_TEST(test_fd_follows_readiness);
    RUN_TEST(test_fd_on_a_manual_clock);
    RUN_TEST(test_epoll_event_loop);
}
#else
static void test_fd_unsupported(void) {
    wq_queue *q;
    int fd = -7;
    CHECK_OK(wq_queue_new(NULL, &q));
    CHECK_STATUS(wq_queue_fd(q, &fd), WQ_STATUS_UNSUPPORTED);
    CHECK(fd == -7);
    wq_queue_free(q);
}

void run_fd_tests(void) { RUN_TEST(test_fd_unsupported); }
#endif
