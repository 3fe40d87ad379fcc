/*
 * The C test runner: runs every test (or those whose names contain an argument), prints one line per test and
 * "N passed, N failed", exits non-zero on any failure. Live tests need $COOP_TEST_SOCKET (a running coopd);
 * without it they are skipped and reported.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

const char *live_socket;
static int current_failures;
static const char *current_skip;

void test_skip(const char *why) {
    current_skip = why;
}

void test_failed(const char *file, int line, const char *format, ...) {
    va_list args;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    current_failures++;
}

#define TESTS(X)                                                                                                      \
    X(test_version_and_status_helpers, 0)                                                                             \
    X(test_connect_failures_are_negative_errno, 0)                                                                    \
    X(test_default_socket_path_comes_from_coopd_socket, 0)                                                            \
    X(test_default_socket_path_comes_from_coop_socket_first, 0)                                                       \
    X(test_default_socket_in_a_directory_others_can_write_is_not_trusted, 0)                                          \
    X(test_every_typed_function_sends_its_service_and_method, 0)                                                      \
    X(test_metadata_and_timeout_go_into_the_request, 0)                                                               \
    X(test_error_status_comes_back_with_code_message_and_errno, 0)                                                    \
    X(test_malformed_envelope_is_internal_and_connection_stays_usable, 0)                                             \
    X(test_undecodable_payload_is_internal_naming_the_type, 0)                                                        \
    X(test_oversized_frame_is_skipped_and_fails_its_call, 0)                                                          \
    X(test_oversized_header_then_close_fails_its_call, 0)                                                             \
    X(test_truncated_payload_then_close_is_unavailable, 0)                                                            \
    X(test_truncated_header_then_close_is_unavailable, 0)                                                             \
    X(test_server_closing_mid_call_is_unavailable, 0)                                                                 \
    X(test_data_frame_on_unary_call_is_internal, 0)                                                                   \
    X(test_unknown_types_and_foreign_ids_are_ignored, 0)                                                              \
    X(test_status_code_outside_the_table_is_kept, 0)                                                                  \
    X(test_deadline_without_answer_is_deadline_exceeded, 0)                                                           \
    X(test_deadline_during_a_large_write_keeps_the_connection, 0)                                                     \
    X(test_a_large_request_while_a_stream_floods_does_not_deadlock, 0)                                                \
    X(test_replies_out_of_order_reach_their_callers_across_threads, 0)                                                \
    X(test_stream_delivers_messages_then_ends_ok, 0)                                                                  \
    X(test_stream_error_status_ends_it_after_earlier_messages, 0)                                                     \
    X(test_stream_hostile_frames_end_it_with_an_error, 0)                                                             \
    X(test_stream_read_too_slowly_fails_with_resource_exhausted, 0)                                                   \
    X(test_stream_next_with_timeout_says_eagain_and_keeps_the_stream, 0)                                              \
    X(test_stream_deadline_ends_it_with_deadline_exceeded, 0)                                                         \
    X(test_stream_callback_runs_until_the_end_or_until_stopped, 0)                                                    \
    X(test_closing_the_client_under_an_open_stream_cancels_it, 0)                                                     \
    X(test_random_replies_end_every_call_cleanly, 0)                                                                  \
    X(test_health_check_reports_serving_status, 0)                                                                    \
    X(test_bad_arguments_are_invalid_argument_and_send_nothing, 0)                                                    \
    X(live_test_echo_returns_data_unchanged, 1)                                                                       \
    X(live_test_get_server_info, 1)                                                                                   \
    X(live_test_get_metrics, 1)                                                                                       \
    X(live_test_health_check, 1)                                                                                      \
    X(live_test_unknown_method_and_service_are_unimplemented, 1)                                                      \
    X(live_test_stream_deadline_is_deadline_exceeded, 1)                                                              \
    X(live_test_one_client_many_threads_and_a_stream, 1)                                                              \
    X(live_test_every_cooperation_call_reaches_its_method, 1)                                                 \
    X(live_test_cooperation_reads_on_the_shipped_data, 1)                                                             \
    X(live_test_paging_through_observations, 1)                                                                       \
    X(live_test_writes_are_validated_idempotent_and_watched, 1)

#define DECLARE(name, live) void name(void);
TESTS(DECLARE)

struct test {
    const char *name;
    void (*function)(void);
    int live;
};

#define ENTRY(name, live) { #name, name, live },
static const struct test tests[] = { TESTS(ENTRY) };

static int selected(const char *name, int argc, char **argv) {
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return 0;
}

int main(int argc, char **argv) {
    live_socket = getenv("COOP_TEST_SOCKET");
    if (live_socket && !*live_socket)
        live_socket = NULL;
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        if (tests[i].live && !live_socket) {
            printf("skip %s (no COOP_TEST_SOCKET)\n", tests[i].name);
            skipped++;
            continue;
        }
        current_failures = 0;
        current_skip = NULL;
        fflush(stdout);
        tests[i].function();
        if (current_failures == 0 && current_skip) {
            printf("skip %s (%s)\n", tests[i].name, current_skip);
            skipped++;
        } else if (current_failures == 0) {
            printf("ok   %s\n", tests[i].name);
            passed++;
        } else {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        }
        fflush(stdout);
    }
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
