/*
 * The C test suite of libworkqueue: the conformance scenarios, the API,
 * threads, bad arguments, the pollable fd, the scheduling queue (and its
 * fd) and metrics. Usage:
 *
 *     wq_test [CONFORMANCE_DIR]     (default: ./conformance)
 *
 * Exits 0 when every test passed; the last line is "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"

atomic_int wq_test_failures;
int wq_tests_passed;
int wq_tests_failed;

void wq_test_fail(const char *file, int line, const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, message);
    atomic_fetch_add(&wq_test_failures, 1);
}

void wq_test_record(const char *name, int failed_checks) {
    if (failed_checks == 0) {
        wq_tests_passed++;
    } else {
        wq_tests_failed++;
        fprintf(stderr, "FAILED %s (%d failed checks)\n", name, failed_checks);
    }
}

void wq_test_run(const char *name, void (*test)(void)) {
    atomic_store(&wq_test_failures, 0);
    int64_t start = wq_test_now_ns();
    test();
    int failures = atomic_load(&wq_test_failures);
    printf("%-6s %s (%.1f ms)\n", failures ? "FAIL" : "ok", name,
           (double)(wq_test_now_ns() - start) / 1e6);
    wq_test_record(name, failures);
}

int64_t wq_test_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void wq_test_sleep_ms(int ms) {
    struct timespec delay = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&delay, &delay) != 0) {
    }
}

bool wq_test_readable_within(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do {
        n = poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    return n == 1 && (p.revents & POLLIN);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "conformance";
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("libworkqueue %s (header %s)\n", wq_version(), WQ_VERSION_STRING);
    if (strcmp(wq_version(), WQ_VERSION_STRING) != 0) {
        fprintf(stderr, "FAIL: the library is %s but the header is %s\n", wq_version(),
                WQ_VERSION_STRING);
        wq_tests_failed++;
    }
    run_conformance_tests(dir);
    run_api_tests();
    run_thread_tests();
    run_bad_argument_tests();
    run_fd_tests();
    run_scheduling_tests();
    run_squeue_fd_tests();
    run_metrics_tests();
    run_submission_tests();
    printf("%d passed, %d failed\n", wq_tests_passed, wq_tests_failed);
    return wq_tests_failed == 0 ? 0 : 1;
}
