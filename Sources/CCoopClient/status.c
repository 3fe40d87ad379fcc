/* Status codes, their names and errno values; the library version; monotonic deadlines. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *coop_version(void) {
    return COOP_VERSION;
}

uint32_t coop_version_number(void) {
    return COOP_VERSION_NUMBER;
}

static const char *const code_names[] = {
    "OK",           "CANCELLED",           "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED",       "INTERNAL", "UNAVAILABLE",      "DATA_LOSS",         "UNAUTHENTICATED",
};

const char *coop_status_code_name(int32_t code) {
    if (code >= 0 && code < (int32_t)(sizeof code_names / sizeof code_names[0]))
        return code_names[code];
    return "UNKNOWN_CODE";
}

int coop_status_to_errno(int32_t code) {
    switch (code) {
    case COOP_STATUS_OK: return 0;
    case COOP_STATUS_CANCELLED: return -ECANCELED;
    case COOP_STATUS_UNKNOWN: return -EIO;
    case COOP_STATUS_INVALID_ARGUMENT: return -EINVAL;
    case COOP_STATUS_DEADLINE_EXCEEDED: return -ETIMEDOUT;
    case COOP_STATUS_NOT_FOUND: return -ENOENT;
    case COOP_STATUS_ALREADY_EXISTS: return -EEXIST;
    case COOP_STATUS_PERMISSION_DENIED: return -EACCES;
    case COOP_STATUS_RESOURCE_EXHAUSTED: return -ENOBUFS;
    case COOP_STATUS_FAILED_PRECONDITION: return -EBUSY;
    case COOP_STATUS_ABORTED: return -EDEADLK;
    case COOP_STATUS_OUT_OF_RANGE: return -ERANGE;
    case COOP_STATUS_UNIMPLEMENTED: return -EOPNOTSUPP;
    case COOP_STATUS_INTERNAL: return -EPROTO;
    case COOP_STATUS_UNAVAILABLE: return -ECONNRESET;
    case COOP_STATUS_DATA_LOSS: return -EBADMSG;
    case COOP_STATUS_UNAUTHENTICATED: return -EPERM;
    default: return -EIO;
    }
}

void coop_status_clear(coop_status *status) {
    if (!status)
        return;
    free(status->message);
    status->message = NULL;
    status->code = COOP_STATUS_OK;
}

const char *coop_status_message(const coop_status *status) {
    return status && status->message ? status->message : "";
}

void coop_status_set_ok(coop_status *status) {
    coop_status_clear(status);
}

int coop_fail_nomem(coop_status *status) {
    if (status) {
        coop_status_clear(status);
        status->code = COOP_STATUS_RESOURCE_EXHAUSTED;
        status->message = strdup("out of memory");
    }
    return -ENOMEM;
}

int coop_fail_copy(coop_status *status, int32_t code, const char *message) {
    if (code == COOP_STATUS_OK)
        code = COOP_STATUS_UNKNOWN; /* a failure always carries an error code */
    if (status) {
        char *copy = NULL;
        if (message && !(copy = strdup(message)))
            return coop_fail_nomem(status);
        coop_status_clear(status);
        status->code = code;
        status->message = copy;
    }
    return coop_status_to_errno(code);
}

int coop_fail(coop_status *status, int32_t code, const char *format, ...) {
    if (code == COOP_STATUS_OK)
        code = COOP_STATUS_UNKNOWN;
    if (status) {
        char *message = NULL;
        va_list args;
        va_start(args, format);
        int n = vasprintf(&message, format, args);
        va_end(args);
        if (n < 0)
            return coop_fail_nomem(status);
        coop_status_clear(status);
        status->code = code;
        status->message = message;
    }
    return coop_status_to_errno(code);
}

/* --- deadlines on CLOCK_MONOTONIC --- */

static struct timespec now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static int compare(struct timespec a, struct timespec b) {
    if (a.tv_sec != b.tv_sec)
        return a.tv_sec < b.tv_sec ? -1 : 1;
    if (a.tv_nsec != b.tv_nsec)
        return a.tv_nsec < b.tv_nsec ? -1 : 1;
    return 0;
}

struct coop_deadline coop_deadline_after_ms(int64_t ms) {
    struct coop_deadline d = { false, { 0, 0 } };
    if (ms < 0)
        return d;
    if (ms > (int64_t)365 * 24 * 3600 * 1000) /* far enough: treat as a year, avoiding overflow */
        ms = (int64_t)365 * 24 * 3600 * 1000;
    d.set = true;
    d.at = now();
    d.at.tv_sec += (time_t)(ms / 1000);
    d.at.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (d.at.tv_nsec >= 1000000000L) {
        d.at.tv_sec += 1;
        d.at.tv_nsec -= 1000000000L;
    }
    return d;
}

struct coop_deadline coop_deadline_min(struct coop_deadline a, struct coop_deadline b) {
    if (!a.set)
        return b;
    if (!b.set)
        return a;
    return compare(a.at, b.at) <= 0 ? a : b;
}

int64_t coop_deadline_remaining_ns(struct coop_deadline d) {
    if (!d.set)
        return INT64_MAX;
    struct timespec t = now();
    return ((int64_t)d.at.tv_sec - (int64_t)t.tv_sec) * 1000000000LL + ((int64_t)d.at.tv_nsec - (int64_t)t.tv_nsec);
}

bool coop_deadline_passed(struct coop_deadline d) {
    return d.set && coop_deadline_remaining_ns(d) <= 0;
}

int coop_deadline_poll_timeout(struct coop_deadline d) {
    if (!d.set)
        return -1;
    int64_t ns = coop_deadline_remaining_ns(d);
    if (ns <= 0)
        return 0;
    int64_t ms = (ns + 999999) / 1000000; /* round up: never wake before the deadline */
    return ms > INT_MAX ? INT_MAX : (int)ms;
}
