/*
 * A tiny test harness for the C tests of libworkqueue: tests are functions,
 * checks record failures (from any thread) and the run ends with the line
 * "N passed, N failed".
 */
#ifndef WQ_TEST_HARNESS_H
#define WQ_TEST_HARNESS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "workqueue.h"

/* Failed checks of the test now running (checks may run on any thread). */
extern atomic_int wq_test_failures;
/* Tests counted so far, for the summary. */
extern int wq_tests_passed;
extern int wq_tests_failed;

/* Records one failed check and prints where. */
void wq_test_fail(const char *file, int line, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Runs one test function and counts it as passed or failed. */
void wq_test_run(const char *name, void (*test)(void));
/* Counts an externally decided test (e.g. one conformance scenario). */
void wq_test_record(const char *name, int failed_checks);

#define RUN_TEST(fn) wq_test_run(#fn, fn)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) wq_test_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
    } while (0)

/* Checks that a call returns the expected wq_status. */
#define CHECK_STATUS(call, expected)                                           \
    do {                                                                       \
        wq_status got_ = (call);                                               \
        wq_status want_ = (expected);                                          \
        if (got_ != want_)                                                     \
            wq_test_fail(__FILE__, __LINE__, "%s returned %s (%d), expected %s (%d)", \
                         #call, wq_status_str((int)got_), (int)got_,           \
                         wq_status_str((int)want_), (int)want_);               \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, WQ_STATUS_OK)

#define CHECK_EQ_U64(a, b)                                                     \
    do {                                                                       \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                       \
        if (a_ != b_)                                                          \
            wq_test_fail(__FILE__, __LINE__, "%s == %llu, expected %s == %llu", #a, \
                         (unsigned long long)a_, #b, (unsigned long long)b_);  \
    } while (0)

/* Monotonic time in nanoseconds. */
int64_t wq_test_now_ns(void);
/* Sleeps for `ms` milliseconds. */
void wq_test_sleep_ms(int ms);
/* Whether `fd` becomes readable within `ms` milliseconds. */
bool wq_test_readable_within(int fd, int ms);

/* The test groups (one per file). */
void run_conformance_tests(const char *dir);
void run_api_tests(void);
void run_thread_tests(void);
void run_bad_argument_tests(void);
void run_fd_tests(void);
void run_scheduling_tests(void);
void run_squeue_fd_tests(void);
void run_metrics_tests(void);
void run_submission_tests(void);

#endif /* WQ_TEST_HARNESS_H */
