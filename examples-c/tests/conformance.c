/*
 * Replays every conformance scenario (the .scn files of conformance/ and of
 * its subfolders scheduling/, priority/ and metrics/; format in
 * conformance/README.md) through the C API. Each scenario is one test; a
 * scenario that cannot be read fails, it is never skipped. Each folder
 * allows its own subjects and steps: the top level the queue and the
 * limiter, scheduling/ only the scheduling queue, priority/ only the queue
 * with `aging=` and the priority steps, metrics/ only the queue with
 * `name=` (and `aging=`), the `metrics` step and the priority steps.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_TOKENS 4096
#define MAX_LINE 65536
#define MAX_FILES 64
#define MAX_SCENARIOS 4096

/* The folders, each with its own subjects and steps. */
typedef enum { FOLDER_TOP, FOLDER_SCHEDULING, FOLDER_PRIORITY, FOLDER_METRICS } folder;

typedef struct {
    const char *file;
    folder folder;
    int line;                  /* line of the step being run */
    char name[256];
    wq_manual_clock *clock;
    wq_queue *queue;           /* subject `queue` */
    wq_rate_limiter *limiter;  /* subject `limiter` */
    wq_squeue *squeue;         /* subject `scheduling_queue` */
    bool named;                /* the queue has a `name=` (metrics/) */
    int steps;
    int failures;
    bool broken;               /* unreadable: skip to `end` */
} scenario;

static char *scenario_names[MAX_SCENARIOS];
static int scenario_count;
static int steps_run;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void scenario_fail(scenario *sc, const char *text, const char *format, ...) {
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "  FAIL %s:%d: scenario %s: `%s`: %s\n", sc->file, sc->line,
            sc->name[0] ? sc->name : "?", text, message);
    sc->failures++;
}

/* ---- values ---------------------------------------------------------- */

static bool parse_u64(const char *s, size_t len, uint64_t *out) {
    if (len == 0) return false;
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

static bool parse_u64_token(const char *s, uint64_t *out) { return parse_u64(s, strlen(s), out); }

/* A duration: digits and a unit, ns us ms s. */
static bool parse_duration(const char *s, size_t len, uint64_t *out_ns) {
    size_t digits = 0;
    while (digits < len && s[digits] >= '0' && s[digits] <= '9') digits++;
    uint64_t value;
    if (!parse_u64(s, digits, &value)) return false;
    const char *unit = s + digits;
    size_t unit_len = len - digits;
    uint64_t scale;
    if (unit_len == 2 && strncmp(unit, "ns", 2) == 0) scale = 1;
    else if (unit_len == 2 && strncmp(unit, "us", 2) == 0) scale = 1000;
    else if (unit_len == 2 && strncmp(unit, "ms", 2) == 0) scale = 1000000;
    else if (unit_len == 1 && unit[0] == 's') scale = 1000000000;
    else return false;
    if (value > UINT64_MAX / scale) return false;
    *out_ns = value * scale;
    return true;
}

static bool parse_duration_token(const char *s, uint64_t *out_ns) {
    return parse_duration(s, strlen(s), out_ns);
}

static bool parse_bool_token(const char *s, bool *out) {
    if (strcmp(s, "true") == 0) { *out = true; return true; }
    if (strcmp(s, "false") == 0) { *out = false; return true; }
    return false;
}

/* A priority: a decimal int32_t, `-` for a negative one (no `+`). */
static bool parse_priority_token(const char *s, int32_t *out) {
    bool negative = s[0] == '-';
    const char *digits = negative ? s + 1 : s;
    uint64_t magnitude;
    if (!parse_u64_token(digits, &magnitude)) return false;
    if (magnitude > (negative ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX)) return false;
    *out = negative ? (int32_t)(-(int64_t)magnitude) : (int32_t)magnitude;
    return true;
}

/* A place, as scenarios spell it (the names of wq_place_str). */
static bool parse_place_token(const char *s, wq_place *out) {
    static const wq_place places[] = {WQ_PLACE_NONE, WQ_PLACE_ACTIVE, WQ_PLACE_BACKOFF,
                                      WQ_PLACE_UNSCHEDULABLE, WQ_PLACE_IN_FLIGHT};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        if (strcmp(s, wq_place_str((int)places[i])) == 0) {
            *out = places[i];
            return true;
        }
    }
    return false;
}

/* ---- limiter specs --------------------------------------------------- */

typedef struct {
    const char *s;
    char error[256];
} spec_parser;

static bool spec_error(spec_parser *p, const char *what) {
    if (!p->error[0]) snprintf(p->error, sizeof p->error, "%s at \"%s\"", what, p->s);
    return false;
}

static bool spec_expect(spec_parser *p, char c) {
    if (*p->s != c) {
        char what[32];
        snprintf(what, sizeof what, "expected '%c'", c);
        return spec_error(p, what);
    }
    p->s++;
    return true;
}

/* The text of one scalar argument: up to ',' or ')'. */
static void spec_scalar(spec_parser *p, const char **start, size_t *len) {
    *start = p->s;
    while (*p->s && *p->s != ',' && *p->s != ')' && *p->s != '(') p->s++;
    *len = (size_t)(p->s - *start);
}

static bool spec_duration(spec_parser *p, uint64_t *out_ns) {
    const char *start;
    size_t len;
    spec_scalar(p, &start, &len);
    return parse_duration(start, len, out_ns) || spec_error(p, "bad duration");
}

static bool spec_u32(spec_parser *p, uint32_t *out) {
    const char *start;
    size_t len;
    uint64_t value;
    spec_scalar(p, &start, &len);
    if (!parse_u64(start, len, &value) || value > UINT32_MAX) return spec_error(p, "bad integer");
    *out = (uint32_t)value;
    return true;
}

static bool spec_rate(spec_parser *p, double *out) {
    const char *start;
    size_t len;
    spec_scalar(p, &start, &len);
    char buffer[64];
    if (len == 0 || len >= sizeof buffer) return spec_error(p, "bad rate");
    memcpy(buffer, start, len);
    buffer[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!((buffer[i] >= '0' && buffer[i] <= '9') || buffer[i] == '.'))
            return spec_error(p, "bad rate");
    char *end;
    errno = 0;
    *out = strtod(buffer, &end);
    return (*end == '\0' && errno == 0) || spec_error(p, "bad rate");
}

static bool spec_made(spec_parser *p, wq_status status, const char *what) {
    if (status == WQ_STATUS_OK) return true;
    char message[128];
    snprintf(message, sizeof message, "%s refused: %s", what, wq_status_str((int)status));
    return spec_error(p, message);
}

static bool spec_limiter(spec_parser *p, wq_rate_limiter **out) {
    const char *start = p->s;
    while ((*p->s >= 'a' && *p->s <= 'z') || *p->s == '_') p->s++;
    size_t len = (size_t)(p->s - start);
#define IS(word) (len == strlen(word) && strncmp(start, word, len) == 0)
    if (IS("default_controller"))
        return spec_made(p, wq_rate_limiter_new_default_controller(out), "default_controller");
    if (IS("default_item"))
        return spec_made(p, wq_rate_limiter_new_default_item(out), "default_item");
    if (!spec_expect(p, '(')) return false;
    if (IS("exp")) {
        uint64_t base, max;
        if (!spec_duration(p, &base) || !spec_expect(p, ',') || !spec_duration(p, &max) ||
            !spec_expect(p, ')'))
            return false;
        return spec_made(p, wq_rate_limiter_new_exponential(base, max, out), "exp");
    }
    if (IS("fastslow")) {
        uint64_t fast, slow;
        uint32_t attempts;
        if (!spec_duration(p, &fast) || !spec_expect(p, ',') || !spec_duration(p, &slow) ||
            !spec_expect(p, ',') || !spec_u32(p, &attempts) || !spec_expect(p, ')'))
            return false;
        return spec_made(p, wq_rate_limiter_new_fast_slow(fast, slow, attempts, out), "fastslow");
    }
    if (IS("bucket")) {
        double rate = 0;
        uint32_t burst;
        if (!spec_rate(p, &rate) || !spec_expect(p, ',') || !spec_u32(p, &burst) ||
            !spec_expect(p, ')'))
            return false;
        return spec_made(p, wq_rate_limiter_new_token_bucket(rate, burst, out), "bucket");
    }
    if (IS("maxof")) {
        wq_rate_limiter *members[32];
        size_t count = 0;
        bool ok = true;
        for (;;) {
            if (count == 32) { ok = spec_error(p, "too many members"); break; }
            if (!spec_limiter(p, &members[count])) { ok = false; break; }
            count++;
            if (*p->s == ',') { p->s++; continue; }
            ok = spec_expect(p, ')');
            break;
        }
        if (ok)
            ok = spec_made(p,
                           wq_rate_limiter_new_max_of((const wq_rate_limiter *const *)members,
                                                      count, out),
                           "maxof");
        /* The composite keeps its own references: ours go. */
        for (size_t i = 0; i < count; i++) wq_rate_limiter_free(members[i]);
        return ok;
    }
    if (IS("maxwait")) {
        wq_rate_limiter *inner;
        uint64_t max;
        if (!spec_limiter(p, &inner)) return false;
        bool ok = spec_expect(p, ',') && spec_duration(p, &max) && spec_expect(p, ')');
        if (ok) ok = spec_made(p, wq_rate_limiter_new_max_wait(inner, max, out), "maxwait");
        wq_rate_limiter_free(inner);
        return ok;
    }
#undef IS
    return spec_error(p, "unknown limiter");
}

/* Builds the limiter `text` describes, or explains why not in `error`. */
static wq_rate_limiter *limiter_from_spec(const char *text, char *error, size_t error_size) {
    spec_parser p = {text, ""};
    wq_rate_limiter *limiter = NULL;
    if (spec_limiter(&p, &limiter) && *p.s != '\0') {
        spec_error(&p, "trailing text");
        wq_rate_limiter_free(limiter);
        limiter = NULL;
    } else if (p.error[0]) {
        limiter = NULL;
    }
    if (!limiter) snprintf(error, error_size, "%s", p.error);
    return limiter;
}

/* ---- steps ----------------------------------------------------------- */

static void format_status(char *buffer, size_t size, wq_status status) {
    snprintf(buffer, size, "status %s", wq_status_str((int)status));
}

/* Compares a bool result, or reports an unreadable expectation. */
static void expect_bool(scenario *sc, const char *text, char **expected, int n_expected, bool got) {
    bool want;
    if (n_expected == 0) return;
    if (n_expected != 1 || !parse_bool_token(expected[0], &want)) {
        scenario_fail(sc, text, "expected result is not true/false");
        return;
    }
    if (got != want) scenario_fail(sc, text, "got %s, expected %s", got ? "true" : "false", expected[0]);
}

static void expect_count(scenario *sc, const char *text, char **expected, int n_expected,
                         uint64_t got) {
    uint64_t want;
    if (n_expected == 0) return;
    if (n_expected != 1 || !parse_u64_token(expected[0], &want)) {
        scenario_fail(sc, text, "expected result is not a count");
        return;
    }
    if (got != want) scenario_fail(sc, text, "got %" PRIu64 ", expected %" PRIu64, got, want);
}

static void expect_duration(scenario *sc, const char *text, char **expected, int n_expected,
                            uint64_t got_ns) {
    uint64_t want;
    if (n_expected == 0) return;
    if (n_expected != 1 || !parse_duration_token(expected[0], &want)) {
        scenario_fail(sc, text, "expected result is not a duration");
        return;
    }
    if (got_ns != want)
        scenario_fail(sc, text, "got %" PRIu64 "ns, expected %s (%" PRIu64 "ns)", got_ns,
                      expected[0], want);
}

static void expect_place(scenario *sc, const char *text, char **expected, int n_expected,
                         wq_place got) {
    wq_place want;
    if (n_expected == 0) return;
    if (n_expected != 1 || !parse_place_token(expected[0], &want)) {
        scenario_fail(sc, text, "expected result is not a place");
        return;
    }
    if (got != want)
        scenario_fail(sc, text, "got %s, expected %s", wq_place_str((int)got), expected[0]);
}

/* A signed integer result (`-` for a negative one). */
static void expect_signed(scenario *sc, const char *text, char **expected, int n_expected,
                          int64_t got) {
    if (n_expected == 0) return;
    bool negative = n_expected == 1 && expected[0][0] == '-';
    uint64_t magnitude;
    if (n_expected != 1 || !parse_u64_token(expected[0] + (negative ? 1 : 0), &magnitude) ||
        magnitude > (negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
        scenario_fail(sc, text, "expected result is not an integer");
        return;
    }
    int64_t want = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    if (got != want) scenario_fail(sc, text, "got %" PRId64 ", expected %" PRId64, got, want);
}

/* A duration the core keeps as seconds in a double: equal within 1 ns. */
static void expect_seconds(scenario *sc, const char *text, char **expected, int n_expected,
                           double got_seconds) {
    uint64_t want;
    if (n_expected == 0) return;
    if (n_expected != 1 || !parse_duration_token(expected[0], &want)) {
        scenario_fail(sc, text, "expected result is not a duration");
        return;
    }
    double difference = got_seconds * 1e9 - (double)want;
    if (!(difference <= 1.0 && difference >= -1.0))
        scenario_fail(sc, text, "got %.17gs, expected %s (%" PRIu64 "ns)", got_seconds, expected[0],
                      want);
}

/* Appends a level, `P:N` (or `other:N`), to a result being printed;
   `*used` is 0 for the first. */
static void append_level(char *out, size_t size, size_t *used, bool other, int32_t priority,
                         uint64_t count) {
    if (*used + 48 > size) return;
    const char *space = *used ? " " : "";
    *used += (size_t)(other ? snprintf(out + *used, size - *used, "%sother:%" PRIu64, space, count)
                            : snprintf(out + *used, size - *used, "%s%" PRId32 ":%" PRIu64, space,
                                       priority, count));
}

/* Compares levels printed by append_level (`used` bytes of `got_text`)
   with the expected `P:N P:N ...` or `none`: each priority once, highest
   first, each count at least 1. With `listed` > 0 (`metrics
   depth_by_priority`), at most `listed` levels, then `other:N` (N at
   least 1), last and only after exactly `listed` levels. An expectation
   that breaks these rules is reported as unreadable. */
static void expect_levels(scenario *sc, const char *text, char **expected, int n_expected,
                          const char *got_text, size_t used, int listed) {
    if (n_expected == 0) return;
    const char *got = used ? got_text : "none";
    char want_text[4096] = "";
    size_t want_used = 0;
    bool none = n_expected == 1 && strcmp(expected[0], "none") == 0;
    int32_t last = 0;
    for (int i = 0; !none && i < n_expected; i++) {
        /* P:N with P a priority (or `other`) and N a count. */
        char level[64];
        const char *colon = strchr(expected[i], ':');
        size_t label_len = colon ? (size_t)(colon - expected[i]) : 0;
        uint64_t len;
        int32_t p = 0;
        bool other = listed > 0 && label_len == 5 && strncmp(expected[i], "other", 5) == 0;
        if (!colon || label_len >= sizeof level || !parse_u64_token(colon + 1, &len)) {
            scenario_fail(sc, text, "expected result is not `P:N ...` or none");
            return;
        }
        memcpy(level, expected[i], label_len);
        level[label_len] = '\0';
        if (!other && !parse_priority_token(level, &p)) {
            scenario_fail(sc, text, "expected result is not `P:N ...` or none");
            return;
        }
        /* Highest first, each priority once, never an empty level. */
        if (len == 0 || (!other && i > 0 && p >= last)) {
            scenario_fail(sc, text, "expected levels are listed highest first, each once, "
                                    "each with a count of at least 1");
            return;
        }
        if (other ? i != n_expected - 1 || i != listed : listed > 0 && i >= listed) {
            scenario_fail(sc, text, "expected at most %d levels, then other:N last, only after %d",
                          listed, listed);
            return;
        }
        last = p;
        append_level(want_text, sizeof want_text, &want_used, other, p, len);
    }
    const char *want = want_used ? want_text : "none";
    if (strcmp(got, want) != 0) scenario_fail(sc, text, "got %s, expected %s", got, want);
}

/* A status that should be OK; reports it otherwise. */
static bool call_ok(scenario *sc, const char *text, wq_status status) {
    if (status == WQ_STATUS_OK) return true;
    char buffer[96];
    format_status(buffer, sizeof buffer, status);
    scenario_fail(sc, text, "unexpected %s", buffer);
    return false;
}

static bool one_key_arg(scenario *sc, const char *text, char **args, int n_args, uint64_t *key) {
    if (n_args != 1 || !parse_u64_token(args[0], key)) {
        scenario_fail(sc, text, "expects one key");
        sc->broken = true;
        return false;
    }
    return true;
}

/* The keys of a batch step: at least one. */
static bool key_list_args(scenario *sc, const char *text, char **args, int n_args, uint64_t *keys) {
    if (n_args == 0) {
        scenario_fail(sc, text, "expects at least one key");
        sc->broken = true;
        return false;
    }
    for (int i = 0; i < n_args; i++) {
        if (!parse_u64_token(args[i], &keys[i])) {
            scenario_fail(sc, text, "bad key %s", args[i]);
            sc->broken = true;
            return false;
        }
    }
    return true;
}

static bool no_args(scenario *sc, const char *text, int n_args) {
    if (n_args != 0) {
        scenario_fail(sc, text, "takes no argument");
        sc->broken = true;
        return false;
    }
    return true;
}

static bool no_result(scenario *sc, const char *text, bool has_arrow) {
    if (has_arrow) {
        scenario_fail(sc, text, "this step has no result to check");
        sc->broken = true;
        return false;
    }
    return true;
}

/* Runs one step on the scenario's queue. */
static void queue_step(scenario *sc, const char *text, const char *op, char **args, int n_args,
                       bool has_arrow, char **expected, int n_expected) {
    wq_queue *q = sc->queue;
    uint64_t key;
    if (strcmp(op, "add") == 0) {
        bool added;
        if (one_key_arg(sc, text, args, n_args, &key) && call_ok(sc, text, wq_queue_add(q, key, &added)))
            expect_bool(sc, text, expected, n_expected, added);
    } else if (strcmp(op, "add_batch") == 0) {
        uint64_t keys[MAX_TOKENS];
        size_t added;
        if (key_list_args(sc, text, args, n_args, keys) &&
            call_ok(sc, text, wq_queue_add_batch(q, keys, (size_t)n_args, &added)))
            expect_count(sc, text, expected, n_expected, added);
    } else if (strcmp(op, "add_after") == 0) {
        uint64_t delay;
        bool added;
        if (n_args != 2 || !parse_u64_token(args[0], &key) || !parse_duration_token(args[1], &delay) ||
            delay > (uint64_t)INT64_MAX) {
            scenario_fail(sc, text, "expects a key and a duration");
            sc->broken = true;
            return;
        }
        if (call_ok(sc, text, wq_queue_add_after(q, key, (int64_t)delay, &added)))
            expect_bool(sc, text, expected, n_expected, added);
    } else if (strcmp(op, "add_rate_limited") == 0) {
        uint64_t delay = 0;
        if (!one_key_arg(sc, text, args, n_args, &key)) return;
        wq_status status = wq_queue_add_rate_limited(q, key, &delay);
        if (n_expected == 1 && strcmp(expected[0], "none") == 0) {
            if (status != WQ_STATUS_SHUTDOWN)
                scenario_fail(sc, text, "got %s, expected none (WQ_STATUS_SHUTDOWN)",
                              wq_status_str((int)status));
        } else if (status == WQ_STATUS_SHUTDOWN && n_expected != 0) {
            scenario_fail(sc, text, "got none (WQ_STATUS_SHUTDOWN), expected %s", expected[0]);
        } else if (status != WQ_STATUS_SHUTDOWN && call_ok(sc, text, status)) {
            expect_duration(sc, text, expected, n_expected, delay);
        }
    } else if (strcmp(op, "forget") == 0) {
        if (one_key_arg(sc, text, args, n_args, &key) && no_result(sc, text, has_arrow))
            call_ok(sc, text, wq_queue_forget(q, key));
    } else if (strcmp(op, "num_requeues") == 0) {
        uint32_t count;
        if (one_key_arg(sc, text, args, n_args, &key) &&
            call_ok(sc, text, wq_queue_num_requeues(q, key, &count)))
            expect_count(sc, text, expected, n_expected, count);
    } else if (strcmp(op, "len") == 0 || strcmp(op, "processing_len") == 0 ||
               strcmp(op, "delayed_len") == 0) {
        size_t len;
        if (!no_args(sc, text, n_args)) return;
        wq_status status = op[0] == 'l'   ? wq_queue_len(q, &len)
                           : op[0] == 'p' ? wq_queue_processing_len(q, &len)
                                          : wq_queue_delayed_len(q, &len);
        if (call_ok(sc, text, status)) expect_count(sc, text, expected, n_expected, len);
    } else if (strcmp(op, "get") == 0) {
        if (!no_args(sc, text, n_args)) return;
        uint64_t got = 0;
        wq_status status = wq_queue_get(q, WQ_NO_WAIT, &got);
        if (n_expected == 0) return;
        if (n_expected != 1) {
            scenario_fail(sc, text, "expected result is not a key, empty or shutdown");
            return;
        }
        char got_text[64];
        if (status == WQ_STATUS_OK) snprintf(got_text, sizeof got_text, "%" PRIu64, got);
        else if (status == WQ_STATUS_TIMEOUT) snprintf(got_text, sizeof got_text, "empty");
        else if (status == WQ_STATUS_SHUTDOWN) snprintf(got_text, sizeof got_text, "shutdown");
        else format_status(got_text, sizeof got_text, status);
        uint64_t want;
        if (strcmp(expected[0], "empty") != 0 && strcmp(expected[0], "shutdown") != 0 &&
            !parse_u64_token(expected[0], &want)) {
            scenario_fail(sc, text, "expected result is not a key, empty or shutdown");
            return;
        }
        if (strcmp(got_text, expected[0]) != 0)
            scenario_fail(sc, text, "got %s, expected %s", got_text, expected[0]);
    } else if (strcmp(op, "get_batch") == 0) {
        uint64_t max;
        if (n_args != 1 || !parse_u64_token(args[0], &max) || max == 0 || max > MAX_TOKENS) {
            scenario_fail(sc, text, "expects a maximum from 1 to %d", MAX_TOKENS);
            sc->broken = true;
            return;
        }
        uint64_t keys[MAX_TOKENS];
        size_t count = 0;
        wq_status status = wq_queue_get_batch(q, keys, (size_t)max, WQ_NO_WAIT, &count);
        if (n_expected == 0) return;
        char got_text[1024] = "";
        if (status == WQ_STATUS_OK) {
            size_t used = 0;
            for (size_t i = 0; i < count && used < sizeof got_text - 24; i++)
                used += (size_t)snprintf(got_text + used, sizeof got_text - used, "%s%" PRIu64,
                                         i ? " " : "", keys[i]);
        } else if (status == WQ_STATUS_TIMEOUT) {
            snprintf(got_text, sizeof got_text, "empty");
        } else if (status == WQ_STATUS_SHUTDOWN) {
            snprintf(got_text, sizeof got_text, "shutdown");
        } else {
            format_status(got_text, sizeof got_text, status);
        }
        char want_text[1024] = "";
        size_t used = 0;
        for (int i = 0; i < n_expected && used < sizeof want_text - 24; i++) {
            uint64_t want;
            bool word = n_expected == 1 &&
                        (strcmp(expected[0], "empty") == 0 || strcmp(expected[0], "shutdown") == 0);
            if (!word && !parse_u64_token(expected[i], &want)) {
                scenario_fail(sc, text, "expected result is not keys, empty or shutdown");
                return;
            }
            used += (size_t)snprintf(want_text + used, sizeof want_text - used, "%s%s",
                                     i ? " " : "", expected[i]);
        }
        if (strcmp(got_text, want_text) != 0)
            scenario_fail(sc, text, "got %s, expected %s", got_text, want_text);
    } else if (strcmp(op, "done") == 0) {
        bool was_processing;
        if (one_key_arg(sc, text, args, n_args, &key) &&
            call_ok(sc, text, wq_queue_done(q, key, &was_processing)))
            expect_bool(sc, text, expected, n_expected, was_processing);
    } else if (strcmp(op, "shutdown") == 0) {
        if (no_args(sc, text, n_args) && no_result(sc, text, has_arrow))
            call_ok(sc, text, wq_queue_shutdown(q));
    } else if (strcmp(op, "drain_for") == 0) {
        uint64_t wait;
        if (n_args != 1 || !parse_duration_token(args[0], &wait) || wait > (uint64_t)INT64_MAX) {
            scenario_fail(sc, text, "expects a duration");
            sc->broken = true;
            return;
        }
        wq_status status = wq_queue_shutdown_with_drain(q, (int64_t)wait);
        if (status != WQ_STATUS_OK && status != WQ_STATUS_TIMEOUT) {
            call_ok(sc, text, status);
            return;
        }
        expect_bool(sc, text, expected, n_expected, status == WQ_STATUS_OK);
    } else if (strcmp(op, "shutting_down") == 0) {
        bool shutting_down;
        if (no_args(sc, text, n_args) && call_ok(sc, text, wq_queue_shutting_down(q, &shutting_down)))
            expect_bool(sc, text, expected, n_expected, shutting_down);
    } else {
        scenario_fail(sc, text, "unknown step, or not a step of a queue");
        sc->broken = true;
    }
}

/* A key then a priority, the arguments of most priority steps. */
static bool key_priority_args(scenario *sc, const char *text, char **args, int n_args,
                              uint64_t *key, int32_t *priority) {
    if (n_args != 2 || !parse_u64_token(args[0], key) || !parse_priority_token(args[1], priority)) {
        scenario_fail(sc, text, "expects a key and a priority");
        sc->broken = true;
        return false;
    }
    return true;
}

/* Runs one priority step (priority/ and metrics/); false if `op` is not
   one. */
static bool priority_step(scenario *sc, const char *text, const char *op, char **args, int n_args,
                          char **expected, int n_expected) {
    wq_queue *q = sc->queue;
    uint64_t key;
    int32_t priority;
    if (strcmp(op, "add_with_priority") == 0) {
        bool added;
        if (key_priority_args(sc, text, args, n_args, &key, &priority) &&
            call_ok(sc, text, wq_queue_add_with_priority(q, key, priority, &added)))
            expect_bool(sc, text, expected, n_expected, added);
    } else if (strcmp(op, "add_batch_with_priority") == 0) {
        /* The priority, then the keys. */
        uint64_t keys[MAX_TOKENS];
        size_t added;
        if (n_args < 1 || !parse_priority_token(args[0], &priority)) {
            scenario_fail(sc, text, "expects a priority, then keys");
            sc->broken = true;
        } else if (key_list_args(sc, text, args + 1, n_args - 1, keys) &&
                   call_ok(sc, text,
                           wq_queue_add_batch_with_priority(q, keys, (size_t)(n_args - 1), priority,
                                                            &added))) {
            expect_count(sc, text, expected, n_expected, added);
        }
    } else if (strcmp(op, "add_after_with_priority") == 0) {
        uint64_t delay;
        bool added;
        if (n_args != 3 || !parse_u64_token(args[0], &key) || !parse_duration_token(args[1], &delay) ||
            delay > (uint64_t)INT64_MAX || !parse_priority_token(args[2], &priority)) {
            scenario_fail(sc, text, "expects a key, a duration and a priority");
            sc->broken = true;
        } else if (call_ok(sc, text,
                           wq_queue_add_after_with_priority(q, key, (int64_t)delay, priority, &added))) {
            expect_bool(sc, text, expected, n_expected, added);
        }
    } else if (strcmp(op, "add_rate_limited_with_priority") == 0) {
        uint64_t delay = 0;
        if (!key_priority_args(sc, text, args, n_args, &key, &priority)) return true;
        wq_status status = wq_queue_add_rate_limited_with_priority(q, key, priority, &delay);
        if (n_expected == 1 && strcmp(expected[0], "none") == 0) {
            if (status != WQ_STATUS_SHUTDOWN)
                scenario_fail(sc, text, "got %s, expected none (WQ_STATUS_SHUTDOWN)",
                              status == WQ_STATUS_OK ? "a delay" : wq_status_str((int)status));
        } else if (status == WQ_STATUS_SHUTDOWN && n_expected != 0) {
            scenario_fail(sc, text, "got none (WQ_STATUS_SHUTDOWN), expected %s", expected[0]);
        } else if (status != WQ_STATUS_SHUTDOWN && call_ok(sc, text, status)) {
            expect_duration(sc, text, expected, n_expected, delay);
        }
    } else if (strcmp(op, "get_with_priority") == 0) {
        if (!no_args(sc, text, n_args)) return true;
        wq_status status = wq_queue_get_with_priority(q, WQ_NO_WAIT, &key, &priority);
        if (n_expected == 0) return true;
        uint64_t want_key;
        int32_t want_priority;
        bool word = n_expected == 1 &&
                    (strcmp(expected[0], "empty") == 0 || strcmp(expected[0], "shutdown") == 0);
        if (!word && (n_expected != 2 || !parse_u64_token(expected[0], &want_key) ||
                      !parse_priority_token(expected[1], &want_priority))) {
            scenario_fail(sc, text, "expected result is not `K P`, empty or shutdown");
            return true;
        }
        char got_text[96], want_text[96];
        if (status == WQ_STATUS_OK)
            snprintf(got_text, sizeof got_text, "%" PRIu64 " %" PRId32, key, priority);
        else if (status == WQ_STATUS_TIMEOUT) snprintf(got_text, sizeof got_text, "empty");
        else if (status == WQ_STATUS_SHUTDOWN) snprintf(got_text, sizeof got_text, "shutdown");
        else format_status(got_text, sizeof got_text, status);
        if (word) snprintf(want_text, sizeof want_text, "%s", expected[0]);
        else snprintf(want_text, sizeof want_text, "%" PRIu64 " %" PRId32, want_key, want_priority);
        if (strcmp(got_text, want_text) != 0)
            scenario_fail(sc, text, "got %s, expected %s", got_text, want_text);
    } else if (strcmp(op, "len_by_priority") == 0) {
        if (!no_args(sc, text, n_args)) return true;
        enum { LEVELS = 256 };
        int32_t priorities[LEVELS];
        size_t lens[LEVELS], count = 0;
        if (!call_ok(sc, text, wq_queue_len_by_priority(q, priorities, lens, LEVELS, &count)))
            return true;
        if (n_expected == 0) return true;
        if (count > LEVELS) {
            scenario_fail(sc, text, "more than %d priorities in use", LEVELS);
            return true;
        }
        char got_text[4096] = "";
        size_t used = 0;
        for (size_t i = 0; i < count; i++)
            append_level(got_text, sizeof got_text, &used, false, priorities[i], lens[i]);
        expect_levels(sc, text, expected, n_expected, got_text, used, 0);
    } else {
        return false;
    }
    return true;
}

/* `metrics depth_by_priority`: the WQ_METRICS_PRIORITIES highest
   priorities with ready keys, then `other:N` for the ready keys beyond
   them (wq_metrics carries the family's bounded label set). */
static void expect_depth_by_priority(scenario *sc, const char *text, char **expected, int n_expected,
                                     const wq_metrics *m) {
    char got_text[4096] = "";
    size_t used = 0;
    if (m->depth_by_priority_len > WQ_METRICS_PRIORITIES) {
        scenario_fail(sc, text, "depth_by_priority_len %zu is above WQ_METRICS_PRIORITIES",
                      m->depth_by_priority_len);
        return;
    }
    for (size_t i = 0; i < m->depth_by_priority_len; i++)
        append_level(got_text, sizeof got_text, &used, false, m->depth_by_priority[i].priority,
                     m->depth_by_priority[i].count);
    if (m->depth_other_priorities > 0)
        append_level(got_text, sizeof got_text, &used, true, 0, m->depth_other_priorities);
    expect_levels(sc, text, expected, n_expected, got_text, used, WQ_METRICS_PRIORITIES);
}

/* Runs `metrics FIELD` (metrics/ only). */
static void metrics_step(scenario *sc, const char *text, char **args, int n_args, char **expected,
                         int n_expected) {
    static const char *const fields[] = {
        "depth", "adds", "retries", "queue_duration_count", "queue_duration_sum",
        "work_duration_count", "work_duration_sum", "unfinished_work", "longest_running",
        "depth_by_priority"};
    int field = -1;
    for (int i = 0; n_args == 1 && i < (int)(sizeof fields / sizeof fields[0]); i++)
        if (strcmp(args[0], fields[i]) == 0) field = i;
    if (field < 0) {
        scenario_fail(sc, text, "expects one of depth, adds, retries, queue_duration_count, "
                                "queue_duration_sum, work_duration_count, work_duration_sum, "
                                "unfinished_work, longest_running, depth_by_priority");
        sc->broken = true;
        return;
    }
    if (!sc->named) {
        scenario_fail(sc, text, "the queue has no name=, so it keeps no metrics");
        sc->broken = true;
        return;
    }
    wq_metrics m;
    if (!call_ok(sc, text, wq_queue_metrics(sc->queue, &m))) return;
    switch (field) {
    case 0: expect_signed(sc, text, expected, n_expected, m.depth); break;
    case 1: expect_count(sc, text, expected, n_expected, m.adds); break;
    case 2: expect_count(sc, text, expected, n_expected, m.retries); break;
    case 3: expect_count(sc, text, expected, n_expected, m.queue_duration.count); break;
    case 4: expect_seconds(sc, text, expected, n_expected, m.queue_duration.sum_seconds); break;
    case 5: expect_count(sc, text, expected, n_expected, m.work_duration.count); break;
    case 6: expect_seconds(sc, text, expected, n_expected, m.work_duration.sum_seconds); break;
    case 7: expect_seconds(sc, text, expected, n_expected, m.unfinished_work_seconds); break;
    case 8:
        expect_seconds(sc, text, expected, n_expected, m.longest_running_processor_seconds);
        break;
    default: expect_depth_by_priority(sc, text, expected, n_expected, &m); break;
    }
}

/* Runs one step on the scenario's scheduling queue. */
static void squeue_step(scenario *sc, const char *text, const char *op, char **args, int n_args,
                        bool has_arrow, char **expected, int n_expected) {
    wq_squeue *q = sc->squeue;
    uint64_t key;
    int32_t priority;
    wq_place place = WQ_PLACE_NONE;
    if (strcmp(op, "add") == 0) {
        bool added;
        if (key_priority_args(sc, text, args, n_args, &key, &priority) &&
            call_ok(sc, text, wq_squeue_add(q, key, priority, &added)))
            expect_bool(sc, text, expected, n_expected, added);
    } else if (strcmp(op, "update") == 0) {
        if (key_priority_args(sc, text, args, n_args, &key, &priority) &&
            call_ok(sc, text, wq_squeue_update(q, key, priority, &place)))
            expect_place(sc, text, expected, n_expected, place);
    } else if (strcmp(op, "delete") == 0) {
        bool held;
        if (one_key_arg(sc, text, args, n_args, &key) &&
            call_ok(sc, text, wq_squeue_delete(q, key, &held)))
            expect_bool(sc, text, expected, n_expected, held);
    } else if (strcmp(op, "pop") == 0) {
        if (!no_args(sc, text, n_args)) return;
        wq_status status = wq_squeue_pop(q, WQ_NO_WAIT, &key, &priority);
        if (n_expected == 0) return;
        uint64_t want_key;
        int32_t want_priority;
        bool word = n_expected == 1 &&
                    (strcmp(expected[0], "empty") == 0 || strcmp(expected[0], "closed") == 0);
        if (!word && (n_expected != 2 || !parse_u64_token(expected[0], &want_key) ||
                      !parse_priority_token(expected[1], &want_priority))) {
            scenario_fail(sc, text, "expected result is not `K PRIO`, empty or closed");
            return;
        }
        char got_text[96], want_text[96];
        if (status == WQ_STATUS_OK)
            snprintf(got_text, sizeof got_text, "%" PRIu64 " %" PRId32, key, priority);
        else if (status == WQ_STATUS_TIMEOUT) snprintf(got_text, sizeof got_text, "empty");
        else if (status == WQ_STATUS_SHUTDOWN) snprintf(got_text, sizeof got_text, "closed");
        else format_status(got_text, sizeof got_text, status);
        if (word) snprintf(want_text, sizeof want_text, "%s", expected[0]);
        else snprintf(want_text, sizeof want_text, "%" PRIu64 " %" PRId32, want_key, want_priority);
        if (strcmp(got_text, want_text) != 0)
            scenario_fail(sc, text, "got %s, expected %s", got_text, want_text);
    } else if (strcmp(op, "done") == 0) {
        bool was_in_flight;
        if (one_key_arg(sc, text, args, n_args, &key) &&
            call_ok(sc, text, wq_squeue_done(q, key, &was_in_flight)))
            expect_bool(sc, text, expected, n_expected, was_in_flight);
    } else if (strcmp(op, "requeue_backoff") == 0 || strcmp(op, "requeue_unschedulable") == 0) {
        if (!one_key_arg(sc, text, args, n_args, &key)) return;
        wq_status status = op[8] == 'b' ? wq_squeue_requeue_backoff(q, key, &place)
                                        : wq_squeue_requeue_unschedulable(q, key, &place);
        if (call_ok(sc, text, status)) expect_place(sc, text, expected, n_expected, place);
    } else if (strcmp(op, "move_all") == 0) {
        size_t moved;
        if (n_args != 1) {
            scenario_fail(sc, text, "expects one event label");
            sc->broken = true;
        } else if (call_ok(sc, text, wq_squeue_move_all(q, args[0], &moved))) {
            expect_count(sc, text, expected, n_expected, moved);
        }
    } else if (strcmp(op, "active_len") == 0 || strcmp(op, "backoff_len") == 0 ||
               strcmp(op, "unschedulable_len") == 0 || strcmp(op, "in_flight_len") == 0) {
        size_t len;
        if (!no_args(sc, text, n_args)) return;
        wq_status status = op[0] == 'a'   ? wq_squeue_active_len(q, &len)
                           : op[0] == 'b' ? wq_squeue_backoff_len(q, &len)
                           : op[0] == 'u' ? wq_squeue_unschedulable_len(q, &len)
                                          : wq_squeue_in_flight_len(q, &len);
        if (call_ok(sc, text, status)) expect_count(sc, text, expected, n_expected, len);
    } else if (strcmp(op, "place") == 0) {
        if (one_key_arg(sc, text, args, n_args, &key) &&
            call_ok(sc, text, wq_squeue_place(q, key, &place)))
            expect_place(sc, text, expected, n_expected, place);
    } else if (strcmp(op, "attempts") == 0) {
        uint32_t attempts;
        if (one_key_arg(sc, text, args, n_args, &key) &&
            call_ok(sc, text, wq_squeue_attempts(q, key, &attempts)))
            expect_count(sc, text, expected, n_expected, attempts);
    } else if (strcmp(op, "close") == 0) {
        if (no_args(sc, text, n_args) && no_result(sc, text, has_arrow))
            call_ok(sc, text, wq_squeue_close(q));
    } else if (strcmp(op, "closed") == 0) {
        bool closed;
        if (no_args(sc, text, n_args) && call_ok(sc, text, wq_squeue_is_closed(q, &closed)))
            expect_bool(sc, text, expected, n_expected, closed);
    } else {
        scenario_fail(sc, text, "unknown step, or not a step of a scheduling queue");
        sc->broken = true;
    }
}

/* Runs one step on the scenario's standalone limiter. */
static void limiter_step(scenario *sc, const char *text, const char *op, char **args, int n_args,
                         bool has_arrow, char **expected, int n_expected) {
    uint64_t key;
    if (strcmp(op, "when") == 0) {
        uint64_t delay;
        if (one_key_arg(sc, text, args, n_args, &key) &&
            call_ok(sc, text, wq_rate_limiter_when(sc->limiter, sc->clock, key, &delay)))
            expect_duration(sc, text, expected, n_expected, delay);
    } else if (strcmp(op, "forget") == 0) {
        if (one_key_arg(sc, text, args, n_args, &key) && no_result(sc, text, has_arrow))
            call_ok(sc, text, wq_rate_limiter_forget(sc->limiter, key));
    } else if (strcmp(op, "num_requeues") == 0) {
        uint32_t count;
        if (one_key_arg(sc, text, args, n_args, &key) &&
            call_ok(sc, text, wq_rate_limiter_num_requeues(sc->limiter, key, &count)))
            expect_count(sc, text, expected, n_expected, count);
    } else {
        scenario_fail(sc, text, "unknown step, or not a step of a limiter");
        sc->broken = true;
    }
}

static void run_step(scenario *sc, const char *text, char **tokens, int n) {
    int arrow = -1;
    for (int i = 0; i < n; i++)
        if (strcmp(tokens[i], "=>") == 0) { arrow = i; break; }
    int n_args = (arrow < 0 ? n : arrow) - 1;
    char **expected = arrow < 0 ? NULL : tokens + arrow + 1;
    int n_expected = arrow < 0 ? 0 : n - arrow - 1;
    const char *op = tokens[0];
    if (arrow == 0 || (arrow > 0 && n_expected == 0)) {
        scenario_fail(sc, text, "malformed step");
        sc->broken = true;
        return;
    }
    sc->steps++;
    steps_run++;
    if (strcmp(op, "step") == 0 || strcmp(op, "set") == 0) {
        uint64_t ns;
        if (n_args != 1 || !parse_duration_token(tokens[1], &ns)) {
            scenario_fail(sc, text, "expects a duration");
            sc->broken = true;
        } else if (no_result(sc, text, arrow >= 0)) {
            call_ok(sc, text, op[1] == 't' ? wq_manual_clock_step(sc->clock, ns)
                                           : wq_manual_clock_set(sc->clock, ns));
        }
    } else if (sc->squeue) {
        squeue_step(sc, text, op, tokens + 1, n_args, arrow >= 0, expected, n_expected);
    } else if (sc->queue) {
        if ((sc->folder == FOLDER_PRIORITY || sc->folder == FOLDER_METRICS) &&
            priority_step(sc, text, op, tokens + 1, n_args, expected, n_expected))
            return;
        if (sc->folder == FOLDER_METRICS && strcmp(op, "metrics") == 0)
            metrics_step(sc, text, tokens + 1, n_args, expected, n_expected);
        else
            queue_step(sc, text, op, tokens + 1, n_args, arrow >= 0, expected, n_expected);
    } else {
        limiter_step(sc, text, op, tokens + 1, n_args, arrow >= 0, expected, n_expected);
    }
}

/* Reports an unreadable subject line; returns false. */
static bool subject_error(scenario *sc, const char *text, const char *why) {
    scenario_fail(sc, text, "bad subject line: %s", why);
    sc->broken = true;
    return false;
}

/* `scheduling_queue [OPTIONS]`: each option NAME=VALUE at most once. */
static bool make_scheduling_subject(scenario *sc, const char *text, char **tokens, int n) {
    static const char *const names[] = {"initial_backoff", "max_backoff", "max_stay",
                                        "pop_from_backoff"};
    wq_squeue_options options = {0};
    options.clock = sc->clock;
    bool seen[4] = {false, false, false, false};
    for (int i = 1; i < n; i++) {
        const char *equals = strchr(tokens[i], '=');
        if (!equals) return subject_error(sc, text, "an option is NAME=VALUE");
        size_t name_len = (size_t)(equals - tokens[i]);
        const char *value = equals + 1;
        int which = -1;
        for (int k = 0; k < 4; k++)
            if (strlen(names[k]) == name_len && strncmp(tokens[i], names[k], name_len) == 0) which = k;
        if (which < 0)
            return subject_error(sc, text, "the options are initial_backoff, max_backoff, "
                                           "max_stay and pop_from_backoff");
        if (seen[which]) return subject_error(sc, text, "an option given twice");
        seen[which] = true;
        if (which == 3) {
            bool enabled;
            if (!parse_bool_token(value, &enabled))
                return subject_error(sc, text, "pop_from_backoff takes true or false");
            options.disable_pop_from_backoff = !enabled;
            continue;
        }
        uint64_t ns;
        if (!parse_duration_token(value, &ns)) return subject_error(sc, text, "bad duration");
        /* 0 means "the default" in wq_squeue_options, but the core refuses it. */
        if (ns == 0) return subject_error(sc, text, "the core refuses a zero backoff or stay");
        if (which == 0) options.initial_backoff_ns = ns;
        else if (which == 1) options.max_backoff_ns = ns;
        else options.max_unschedulable_stay_ns = ns;
    }
    wq_status status = wq_squeue_new(&options, &sc->squeue);
    if (status == WQ_STATUS_INVALID_ARGUMENT)
        return subject_error(sc, text, "the core refuses these settings");
    if (!call_ok(sc, text, status)) sc->broken = true;
    return !sc->broken;
}

/* `queue [LIMITER] [OPTION]...` (aging= in priority/ and metrics/, name=
   in metrics/). */
static bool make_queue_subject(scenario *sc, const char *text, char **tokens, int n,
                               wq_rate_limiter *limiter, int next) {
    wq_queue_options options = {0};
    /* The top level and priority/ name each queue after its scenario (so
       every scenario also runs the metrics bookkeeping); metrics/ names it
       NAME-SCENARIO, unique in the process. */
    char name[600];
    snprintf(name, sizeof name, "%s", sc->name);
    bool has_aging = false, has_name = false;
    for (int i = next; i < n; i++) {
        if ((sc->folder == FOLDER_PRIORITY || sc->folder == FOLDER_METRICS) && !has_aging &&
            strncmp(tokens[i], "aging=", 6) == 0) {
            uint64_t aging;
            if (!parse_duration_token(tokens[i] + 6, &aging))
                return subject_error(sc, text, "aging= takes a duration");
            /* 0 means "strict priority" in wq_queue_options; the core refuses it. */
            if (aging == 0) return subject_error(sc, text, "the core refuses a zero aging interval");
            options.priority_aging_ns = aging;
            has_aging = true;
        } else if (sc->folder == FOLDER_METRICS && !has_name && strncmp(tokens[i], "name=", 5) == 0 &&
                   tokens[i][5] != '\0') {
            snprintf(name, sizeof name, "%s-%s", tokens[i] + 5, sc->name);
            has_name = true;
        } else {
            return subject_error(
                sc, text,
                sc->folder == FOLDER_PRIORITY  ? "expected queue [LIMITER] [aging=DUR]"
                : sc->folder == FOLDER_METRICS ? "expected queue [LIMITER] name=NAME [aging=DUR]"
                                               : "expected queue [LIMITER]");
        }
    }
    if (sc->folder == FOLDER_METRICS && !has_name)
        return subject_error(sc, text, "a queue in metrics/ needs name=NAME");
    sc->named = has_name;
    options.name = name;
    options.rate_limiter = limiter;
    options.clock = sc->clock;
    if (!call_ok(sc, text, wq_queue_new(&options, &sc->queue))) sc->broken = true;
    return !sc->broken;
}

/* Builds the subject of a scenario from its subject line, as its folder
   allows (see the top of this file). */
static void make_subject(scenario *sc, const char *text, char **tokens, int n) {
    if (!call_ok(sc, text, wq_manual_clock_new(&sc->clock))) {
        sc->broken = true;
        return;
    }
    bool is_queue = strcmp(tokens[0], "queue") == 0;
    bool is_limiter = strcmp(tokens[0], "limiter") == 0;
    bool is_scheduling = strcmp(tokens[0], "scheduling_queue") == 0;
    if (sc->folder == FOLDER_SCHEDULING) {
        if (is_scheduling) make_scheduling_subject(sc, text, tokens, n);
        else subject_error(sc, text, "scheduling/ holds only `scheduling_queue [OPTIONS]`");
        return;
    }
    if (is_scheduling) {
        subject_error(sc, text, "scheduling_queue belongs in scheduling/");
        return;
    }
    if (sc->folder == FOLDER_PRIORITY && !is_queue) {
        subject_error(sc, text, "priority/ holds only `queue [LIMITER] [aging=DUR]`");
        return;
    }
    if (sc->folder == FOLDER_METRICS && !is_queue) {
        subject_error(sc, text, "metrics/ holds only `queue [LIMITER] name=NAME [aging=DUR]`");
        return;
    }
    if (!is_queue && !is_limiter) {
        subject_error(sc, text, "expected queue [LIMITER] or limiter LIMITER");
        return;
    }
    /* A limiter spec never holds '='; options do. */
    int next = 1;
    wq_rate_limiter *limiter = NULL;
    if (n > 1 && !strchr(tokens[1], '=')) {
        char error[300];
        limiter = limiter_from_spec(tokens[1], error, sizeof error);
        if (!limiter) {
            scenario_fail(sc, text, "bad limiter spec: %s", error);
            sc->broken = true;
            return;
        }
        next = 2;
    }
    if (is_limiter) {
        sc->limiter = limiter; /* freed with the scenario */
        if (!limiter || n != 2) subject_error(sc, text, "expected limiter LIMITER");
        return;
    }
    make_queue_subject(sc, text, tokens, n, limiter, next);
    /* The queue keeps its own reference to the limiter. */
    wq_rate_limiter_free(limiter);
}

static void finish_scenario(scenario *sc) {
    wq_squeue_free(sc->squeue);
    wq_queue_free(sc->queue);
    wq_rate_limiter_free(sc->limiter);
    wq_manual_clock_free(sc->clock);
    char label[300];
    snprintf(label, sizeof label, "conformance %s", sc->name);
    wq_test_record(label, sc->failures);
}

static int split(char *line, char **tokens) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    int n = 0;
    for (char *token = strtok(line, " \t\r\n"); token && n < MAX_TOKENS; token = strtok(NULL, " \t\r\n"))
        tokens[n++] = token;
    return n;
}

/* Replays one file; returns the number of scenarios it held. */
static int replay_file(const char *path, folder where) {
    FILE *file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "  FAIL cannot open %s\n", path);
        wq_test_record(path, 1);
        return 0;
    }
    static char line[MAX_LINE], text[MAX_LINE];
    static char *tokens[MAX_TOKENS];
    scenario sc;
    bool in_scenario = false, has_subject = false;
    int scenarios = 0, line_number = 0, file_errors = 0;
    while (fgets(line, sizeof line, file)) {
        line_number++;
        size_t len = strlen(line);
        long raw_len = (long)len;
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "  FAIL %s:%d: line too long\n", path, line_number);
            file_errors++;
            break;
        }
        snprintf(text, sizeof text, "%s", line);
        char *hash = strchr(text, '#');
        if (hash) *hash = '\0';
        len = strlen(text);
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                           text[len - 1] == '\t'))
            text[--len] = '\0';
        int n = split(line, tokens);
        if (n == 0) continue;
        if (!in_scenario) {
            if (strcmp(tokens[0], "scenario") != 0 || n != 2) {
                fprintf(stderr, "  FAIL %s:%d: expected `scenario NAME`, got `%s`\n", path,
                        line_number, text);
                file_errors++;
                continue;
            }
            memset(&sc, 0, sizeof sc);
            sc.file = path;
            sc.folder = where;
            sc.line = line_number;
            snprintf(sc.name, sizeof sc.name, "%s", tokens[1]);
            for (int i = 0; i < scenario_count; i++) {
                if (strcmp(scenario_names[i], sc.name) == 0) {
                    scenario_fail(&sc, text, "a scenario of this name already exists");
                    break;
                }
            }
            if (scenario_count < MAX_SCENARIOS) scenario_names[scenario_count++] = strdup(sc.name);
            in_scenario = true;
            has_subject = false;
            scenarios++;
            continue;
        }
        sc.line = line_number;
        if (strcmp(tokens[0], "end") == 0 && n == 1) {
            if (!sc.broken && sc.steps == 0) scenario_fail(&sc, text, "a scenario needs a step");
            finish_scenario(&sc);
            in_scenario = false;
        } else if (strcmp(tokens[0], "scenario") == 0) {
            scenario_fail(&sc, text, "scenario without `end`");
            finish_scenario(&sc);
            in_scenario = false;
            /* Re-read this line as the start of the next scenario. */
            fseek(file, -raw_len, SEEK_CUR);
            line_number--;
        } else if (sc.broken) {
            continue;
        } else if (!has_subject) {
            has_subject = true;
            make_subject(&sc, text, tokens, n);
        } else {
            run_step(&sc, text, tokens, n);
        }
    }
    if (in_scenario) {
        scenario_fail(&sc, "end of file", "scenario without `end`");
        finish_scenario(&sc);
    }
    fclose(file);
    if (scenarios == 0) {
        fprintf(stderr, "  FAIL %s: no scenario\n", path);
        file_errors++;
    }
    if (file_errors) wq_test_record(path, file_errors);
    return scenarios;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every *.scn file of one folder, in name order; returns the
   number of scenarios, or -1 when the folder does not exist. */
static int replay_folder(const char *dir, folder where) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    char *files[MAX_FILES];
    int n_files = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len > 4 && strcmp(entry->d_name + len - 4, ".scn") == 0) {
            if (n_files == MAX_FILES) {
                fprintf(stderr, "FAIL: more than %d *.scn files in %s\n", MAX_FILES, dir);
                wq_test_record(dir, 1);
                break;
            }
            size_t size = strlen(dir) + len + 2;
            files[n_files] = malloc(size);
            snprintf(files[n_files], size, "%s/%s", dir, entry->d_name);
            n_files++;
        }
    }
    closedir(d);
    qsort(files, (size_t)n_files, sizeof files[0], compare_names);
    if (n_files == 0) {
        fprintf(stderr, "FAIL: no *.scn file in %s\n", dir);
        wq_test_record(dir, 1);
    }
    int total = 0;
    for (int i = 0; i < n_files; i++) {
        int scenarios = replay_file(files[i], where);
        printf("%-6s conformance %s: %d scenarios\n", "", files[i], scenarios);
        total += scenarios;
        free(files[i]);
    }
    return total;
}

void run_conformance_tests(const char *dir) {
    static const struct {
        const char *subfolder;
        folder where;
    } folders[] = {
        {NULL, FOLDER_TOP},
        {"scheduling", FOLDER_SCHEDULING},
        {"priority", FOLDER_PRIORITY},
        {"metrics", FOLDER_METRICS},
    };
    int failed_before = wq_tests_failed, total = 0;
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
        char path[4096];
        if (folders[i].subfolder) snprintf(path, sizeof path, "%s/%s", dir, folders[i].subfolder);
        else snprintf(path, sizeof path, "%s", dir);
        int scenarios = replay_folder(path, folders[i].where);
        if (scenarios >= 0) {
            total += scenarios;
        } else if (folders[i].subfolder) {
            /* A feature folder not written yet. */
            printf("%-6s conformance %s: no such folder, nothing to replay\n", "", path);
        } else {
            fprintf(stderr, "FAIL: cannot open the conformance directory %s\n", dir);
            wq_test_record("conformance directory", 1);
            return;
        }
    }
    for (int i = 0; i < scenario_count; i++) free(scenario_names[i]);
    scenario_count = 0;
    printf("%-6s conformance: %d scenarios, %d steps, %d failed\n",
           wq_tests_failed == failed_before ? "ok" : "FAIL", total, steps_run,
           wq_tests_failed - failed_before);
}
