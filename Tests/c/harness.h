/* A plain test runner: each test is a function; CHECK records a failure and goes on. */
#ifndef COOP_TEST_HARNESS_H
#define COOP_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void test_failed(const char *file, int line, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define CHECK(condition)                                                                                              \
    do {                                                                                                              \
        if (!(condition))                                                                                             \
            test_failed(__FILE__, __LINE__, "%s", #condition);                                                        \
    } while (0)

#define CHECK_INT(actual, expected)                                                                                   \
    do {                                                                                                              \
        long long actual_ = (long long)(actual), expected_ = (long long)(expected);                                   \
        if (actual_ != expected_)                                                                                     \
            test_failed(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #actual, actual_, #expected,           \
                        expected_);                                                                                   \
    } while (0)

#define CHECK_STR(actual, expected)                                                                                   \
    do {                                                                                                              \
        const char *actual_ = (actual), *expected_ = (expected);                                                      \
        if (!actual_ || strcmp(actual_, expected_) != 0)                                                              \
            test_failed(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #actual, actual_ ? actual_ : "(null)",  \
                        expected_);                                                                                   \
    } while (0)

/* The status message contains `needle`. */
#define CHECK_CONTAINS(haystack, needle)                                                                              \
    do {                                                                                                              \
        const char *haystack_ = (haystack);                                                                           \
        if (!haystack_ || !strstr(haystack_, (needle)))                                                               \
            test_failed(__FILE__, __LINE__, "%s == \"%s\" does not contain \"%s\"", #haystack,                       \
                        haystack_ ? haystack_ : "(null)", (needle));                                                  \
    } while (0)

/* Marks the running test as skipped (reported, not counted as passed), saying why. */
void test_skip(const char *why);

/* The socket of the live coopd the tests talk to (from $COOP_TEST_SOCKET), or NULL. */
extern const char *live_socket;

#endif
