/*
 * The smallest tour of libworkqueue: make a queue, add keys (they
 * collapse), hand them out, mark them done, retry one with backoff on a
 * manual clock, shut down.
 *
 *     cc -std=c11 hello.c $(pkg-config --cflags --libs workqueue)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "workqueue.h"

/* Stops the program with the status's description if a call failed. */
static void check(wq_status status, const char *what) {
    if (status != WQ_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", what, wq_status_str(status));
        exit(1);
    }
}

int main(void) {
    printf("libworkqueue %s\n", wq_version());

    /* A manual clock, so the backoff below is shown without waiting. */
    wq_manual_clock *clock;
    check(wq_manual_clock_new(&clock), "wq_manual_clock_new");
    wq_rate_limiter *backoff; /* 1 ms, 2 ms, 4 ms ... up to 1 s */
    check(wq_rate_limiter_new_exponential(1000000, 1000000000, &backoff), "limiter");

    wq_queue_options options = {0};
    options.name = "hello";
    options.rate_limiter = backoff; /* the queue keeps its own reference */
    options.clock = clock;
    wq_queue *queue;
    check(wq_queue_new(&options, &queue), "wq_queue_new");
    wq_rate_limiter_free(backoff); /* ours; the queue still has one */

    bool added;
    uint64_t keys[] = {1, 2, 3, 2, 1};
    size_t scheduled;
    check(wq_queue_add_batch(queue, keys, 5, &scheduled), "add_batch");
    check(wq_queue_add(queue, 3, &added), "add");
    size_t len;
    check(wq_queue_len(queue, &len), "len");
    printf("added 6 keys, %zu new runs, %zu queued (adds collapse); key 3 again: %s\n",
           scheduled, len, added ? "new run" : "collapsed");

    uint64_t key;
    while (wq_queue_get(queue, WQ_NO_WAIT, &key) == WQ_STATUS_OK) {
        if (key == 2) {
            /* Pretend key 2 failed: retry it after its backoff. */
            uint64_t delay_ns;
            check(wq_queue_add_rate_limited(queue, key, &delay_ns), "add_rate_limited");
            printf("key %" PRIu64 " failed, retry in %" PRIu64 " ms\n", key, delay_ns / 1000000);
        } else {
            printf("key %" PRIu64 " done\n", key);
            check(wq_queue_forget(queue, key), "forget");
        }
        check(wq_queue_done(queue, key, NULL), "done");
    }

    check(wq_queue_delayed_len(queue, &len), "delayed_len");
    printf("%zu key waits for its backoff; moving the clock 1 ms\n", len);
    check(wq_manual_clock_step(clock, 1000000), "step");
    check(wq_queue_get(queue, WQ_NO_WAIT, &key), "get");
    uint32_t requeues;
    check(wq_queue_num_requeues(queue, key, &requeues), "num_requeues");
    printf("key %" PRIu64 " is back after %" PRIu32 " retry; done\n", key, requeues);
    check(wq_queue_forget(queue, key), "forget");
    check(wq_queue_done(queue, key, NULL), "done");

    check(wq_queue_shutdown(queue), "shutdown");
    wq_status status = wq_queue_get(queue, WQ_WAIT_FOREVER, &key);
    printf("after shutdown, get says: %s\n", wq_status_str(status));

    wq_queue_free(queue);
    wq_manual_clock_free(clock);
    return 0;
}
