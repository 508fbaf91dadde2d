/*
 * Waiting for keys without a thread: an epoll loop (the shape of a libuv,
 * libevent or asyncio loop) watches the queue's fd next to its own timer.
 *
 * A producer thread adds keys, some at once and some with a delay (retries
 * after a backoff); the loop sleeps in epoll_wait until the queue's fd is
 * readable - a key is ready, a delayed key came due, or the queue is shut
 * down - then takes every ready key with WQ_NO_WAIT. No thread is ever
 * blocked in wq_queue_get, and no timer polls for delayed keys: the fd
 * carries the queue's next due time.
 *
 *     make demo-c      (Linux: the fd is a timerfd)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "workqueue.h"

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/timerfd.h>

#define KEYS 2000

static void must(wq_status status, const char *what) {
    if (status != WQ_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", what, wq_status_str(status));
        exit(1);
    }
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&t, &t) != 0) {
    }
}

static int keys_to_add = KEYS;

/* Adds keys in bursts; every tenth key is a "retry" due 50 ms later. */
static void *produce(void *arg) {
    wq_queue *queue = arg;
    for (int key = 0; key < keys_to_add; key++) {
        if (key % 10 == 0) must(wq_queue_add_after(queue, (uint64_t)key, 50000000, NULL), "add_after");
        else must(wq_queue_add(queue, (uint64_t)key, NULL), "add");
        if (key % 100 == 99) sleep_ms(10);
    }
    sleep_ms(100); /* let the last delayed keys come due */
    must(wq_queue_shutdown(queue), "shutdown");
    return NULL;
}

int main(void) {
    if (getenv("WQ_DEMO_QUICK")) keys_to_add = KEYS / 10;
    wq_queue *queue;
    must(wq_queue_new(NULL, &queue), "wq_queue_new");
    int queue_fd;
    must(wq_queue_fd(queue, &queue_fd), "wq_queue_fd");

    /* The loop's own timer: a status line every 100 ms. */
    int tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec every_100ms = {{0, 100000000}, {0, 100000000}};
    timerfd_settime(tick, 0, &every_100ms, NULL);

    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event on_queue = {.events = EPOLLIN, .data.fd = queue_fd};
    struct epoll_event on_tick = {.events = EPOLLIN, .data.fd = tick};
    if (tick < 0 || epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, queue_fd, &on_queue) != 0 ||
        epoll_ctl(epoll, EPOLL_CTL_ADD, tick, &on_tick) != 0) {
        perror("epoll setup");
        return 1;
    }
    printf("event loop demo: %d keys, one in ten delayed by 50 ms; the loop waits in epoll_wait\n",
           keys_to_add);

    pthread_t producer;
    pthread_create(&producer, NULL, produce, queue);
    int processed = 0, wakeups = 0, empty_wakeups = 0;
    bool shut_down = false;
    while (!shut_down) {
        struct epoll_event events[2];
        int n = epoll_wait(epoll, events, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd == tick) {
                uint64_t expirations;
                if (read(tick, &expirations, sizeof expirations) < 0) continue;
                size_t delayed = 0;
                must(wq_queue_delayed_len(queue, &delayed), "delayed_len");
                printf("  processed %5d keys in %4d wakeups, %3zu waiting for their delay\n",
                       processed, wakeups, delayed);
                continue;
            }
            /* The queue's fd: take everything ready, never blocking. Do not
               read() the fd; the queue re-arms it. */
            wakeups++;
            int before = processed;
            for (;;) {
                uint64_t keys[128];
                size_t count;
                wq_status status = wq_queue_get_batch(queue, keys, 128, WQ_NO_WAIT, &count);
                if (status == WQ_STATUS_TIMEOUT) break; /* nothing (more) ready */
                if (status == WQ_STATUS_SHUTDOWN) {
                    shut_down = true;
                    break;
                }
                must(status, "get_batch");
                processed += (int)count; /* "process" them */
                must(wq_queue_done_batch(queue, keys, count, NULL), "done_batch");
            }
            if (processed == before && !shut_down) empty_wakeups++;
        }
    }
    pthread_join(producer, NULL);
    printf("shut down: processed %d of %d keys in %d wakeups (%d found nothing: readiness is a "
           "hint, so the loop always gets with WQ_NO_WAIT)\n",
           processed, keys_to_add, wakeups, empty_wakeups);
    close(epoll);
    close(tick);
    wq_queue_free(queue); /* closes queue_fd */
    return processed == keys_to_add ? 0 : 1;
}
#else
int main(void) {
    printf("event loop demo: wq_queue_fd is Linux-only for now\n");
    return 0;
}
#endif
