/*
 * libcoopclient against a fake server: what each typed function sends, and what a hostile or broken server
 * gets (malformed, oversized and truncated replies, a close mid-call, frames on the wrong stream, slow
 * readers): always an error status, never a crash or a leak (the suite runs under valgrind).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include "coop/client.h"
#include "fake_server.h"
#include "grpc/health/v1/health.pb-c.h"
#include "harness.h"

#define RESPONSE 0x02
#define DATA 0x03

static const coop_call_options quick = { 5000, NULL, 0 };

/* Connects to a fake server running `handler`; the test body gets the client. */
struct fixture {
    struct fake_server server;
    coop_client *client;
};

static bool setup(struct fixture *f, fake_handler handler, void *context) {
    if (fake_server_start(&f->server, handler, context) < 0) {
        test_failed(__FILE__, __LINE__, "fake server did not start");
        return false;
    }
    int r = coop_client_connect(f->server.path, 1000, &f->client);
    if (r < 0) {
        test_failed(__FILE__, __LINE__, "connect: %s", strerror(-r));
        fake_server_stop(&f->server);
        return false;
    }
    return true;
}

static void teardown(struct fixture *f) {
    coop_client_close(f->client);
    fake_server_stop(&f->server);
}

/* Echo through the fake server with "hi"; returns the call's result, frees the reply. */
static int echo(coop_client *client, const coop_call_options *options, coop_status *status) {
    Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
    request.data.data = (uint8_t *)"hi";
    request.data.len = 2;
    Coop__V1__EchoResponse *reply = NULL;
    int r = coop_echo(client, &request, options, &reply, status);
    if (r == 0) {
        CHECK(reply != NULL);
        coop__v1__echo_response__free_unpacked(reply, NULL);
    } else {
        CHECK(reply == NULL);
    }
    return r;
}

/* --- what the typed functions send --------------------------------------------------------------------------- */

struct recorder {
    pthread_mutex_t mu;
    char calls[64][80];
    uint32_t ids[64];
    uint8_t flags[64];
    int64_t timeouts[64];
    char metadata[64][80];
    int count;
};

/* Records each request; answers unary calls with an empty OK Response, streams with one empty message and the
 * closing Data frame. */
static void handle_record(int fd, void *context) {
    struct recorder *recorder = context;
    struct fake_request request;
    while (fake_read_request(fd, &request) == 0) {
        pthread_mutex_lock(&recorder->mu);
        if (recorder->count < 64) {
            int i = recorder->count++;
            snprintf(recorder->calls[i], sizeof recorder->calls[i], "%s/%s", request.service, request.method);
            recorder->ids[i] = request.id;
            recorder->flags[i] = request.flags;
            recorder->timeouts[i] = request.timeout_nano;
            recorder->metadata[i][0] = 0;
            for (size_t m = 0; m < request.n_metadata; m++) {
                size_t used = strlen(recorder->metadata[i]);
                snprintf(recorder->metadata[i] + used, sizeof recorder->metadata[i] - used, "%s%s=%s",
                         m ? "," : "", request.keys[m], request.values[m]);
            }
        }
        pthread_mutex_unlock(&recorder->mu);
        if (request.flags & 0x01) { /* a server stream */
            fake_send_data(fd, request.id, 0, NULL);
            fake_write_frame(fd, request.id, DATA, 0x05, NULL, 0);
        } else {
            fake_send_response(fd, request.id, 0, NULL, NULL);
        }
        fake_request_clear(&request);
    }
}

#define EXPECT_UNARY(function, Type, free_function)                                                                   \
    do {                                                                                                              \
        Type *reply_ = NULL;                                                                                          \
        CHECK_INT(function(f.client, NULL, &quick, &reply_, &status), 0);                                             \
        CHECK(reply_ != NULL);                                                                                        \
        if (reply_)                                                                                                   \
            free_function(reply_, NULL);                                                                              \
    } while (0)

void test_every_typed_function_sends_its_service_and_method(void) {
    struct recorder recorder = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct fixture f;
    if (!setup(&f, handle_record, &recorder))
        return;
    coop_status status = COOP_STATUS_INIT;

    EXPECT_UNARY(coop_echo, Coop__V1__EchoResponse, coop__v1__echo_response__free_unpacked);
    EXPECT_UNARY(coop_get_server_info, Coop__V1__ServerInfo, coop__v1__server_info__free_unpacked);
    EXPECT_UNARY(coop_get_metrics, Coop__V1__Metrics, coop__v1__metrics__free_unpacked);
    coop_serving_status serving = COOP_SERVING;
    CHECK_INT(coop_health_check(f.client, NULL, &quick, &serving, &status), 0);
    CHECK_INT(serving, COOP_SERVING_UNKNOWN); /* the empty answer: status 0 */
    EXPECT_UNARY(coop_list_countries, Coop__V1__ListCountriesResponse, coop__v1__list_countries_response__free_unpacked);
    EXPECT_UNARY(coop_get_pair_summary, Coop__V1__PairSummary, coop__v1__pair_summary__free_unpacked);
    EXPECT_UNARY(coop_list_indicators, Coop__V1__ListIndicatorsResponse,
                 coop__v1__list_indicators_response__free_unpacked);
    EXPECT_UNARY(coop_list_observations, Coop__V1__ListObservationsResponse,
                 coop__v1__list_observations_response__free_unpacked);
    EXPECT_UNARY(coop_get_series, Coop__V1__Series, coop__v1__series__free_unpacked);
    EXPECT_UNARY(coop_list_events, Coop__V1__ListEventsResponse, coop__v1__list_events_response__free_unpacked);
    EXPECT_UNARY(coop_list_agreements, Coop__V1__ListAgreementsResponse,
                 coop__v1__list_agreements_response__free_unpacked);
    EXPECT_UNARY(coop_list_statements, Coop__V1__ListStatementsResponse,
                 coop__v1__list_statements_response__free_unpacked);
    EXPECT_UNARY(coop_list_sources, Coop__V1__ListSourcesResponse, coop__v1__list_sources_response__free_unpacked);
    EXPECT_UNARY(coop_search, Coop__V1__SearchResponse, coop__v1__search_response__free_unpacked);
    EXPECT_UNARY(coop_list_relationships, Coop__V1__ListRelationshipsResponse,
                 coop__v1__list_relationships_response__free_unpacked);
    EXPECT_UNARY(coop_put_source, Coop__V1__Source, coop__v1__source__free_unpacked);
    EXPECT_UNARY(coop_put_indicator, Coop__V1__Indicator, coop__v1__indicator__free_unpacked);
    EXPECT_UNARY(coop_add_observations, Coop__V1__AddObservationsResponse,
                 coop__v1__add_observations_response__free_unpacked);
    EXPECT_UNARY(coop_revise_observation, Coop__V1__Observation, coop__v1__observation__free_unpacked);
    EXPECT_UNARY(coop_retract_observation, Coop__V1__Observation, coop__v1__observation__free_unpacked);
    EXPECT_UNARY(coop_put_event, Coop__V1__Event, coop__v1__event__free_unpacked);
    EXPECT_UNARY(coop_put_agreement, Coop__V1__Agreement, coop__v1__agreement__free_unpacked);
    EXPECT_UNARY(coop_add_statement, Coop__V1__Statement, coop__v1__statement__free_unpacked);
    EXPECT_UNARY(coop_link_conflict, Coop__V1__LinkConflictResponse, coop__v1__link_conflict_response__free_unpacked);
    EXPECT_UNARY(coop_put_relationship, Coop__V1__Relationship, coop__v1__relationship__free_unpacked);

    coop_stream *stream = NULL;
    CHECK_INT(coop_watch_changes(f.client, NULL, &quick, &stream, &status), 0);
    Coop__V1__Change *change = NULL;
    CHECK_INT(coop_watch_changes_next(stream, 1000, &change, &status), 1);
    CHECK(change != NULL);
    if (change)
        coop__v1__change__free_unpacked(change, NULL);
    CHECK_INT(coop_watch_changes_next(stream, 1000, &change, &status), 0);
    coop_stream_close(stream);

    CHECK_INT(coop_health_watch(f.client, "coop.v1.Cooperation", &quick, &stream, &status), 0);
    CHECK_INT(coop_health_watch_next(stream, 1000, &serving, &status), 1);
    CHECK_INT(coop_health_watch_next(stream, 1000, &serving, &status), 0);
    coop_stream_close(stream);

    static const char *const expected[] = {
        "coop.v1.Diagnostics/Echo",
        "coop.v1.Diagnostics/GetServerInfo",
        "coop.v1.Diagnostics/GetMetrics",
        "grpc.health.v1.Health/Check",
        "coop.v1.Cooperation/ListCountries",
        "coop.v1.Cooperation/GetPairSummary",
        "coop.v1.Cooperation/ListIndicators",
        "coop.v1.Cooperation/ListObservations",
        "coop.v1.Cooperation/GetSeries",
        "coop.v1.Cooperation/ListEvents",
        "coop.v1.Cooperation/ListAgreements",
        "coop.v1.Cooperation/ListStatements",
        "coop.v1.Cooperation/ListSources",
        "coop.v1.Cooperation/Search",
        "coop.v1.Cooperation/ListRelationships",
        "coop.v1.Cooperation/PutSource",
        "coop.v1.Cooperation/PutIndicator",
        "coop.v1.Cooperation/AddObservations",
        "coop.v1.Cooperation/ReviseObservation",
        "coop.v1.Cooperation/RetractObservation",
        "coop.v1.Cooperation/PutEvent",
        "coop.v1.Cooperation/PutAgreement",
        "coop.v1.Cooperation/AddStatement",
        "coop.v1.Cooperation/LinkConflict",
        "coop.v1.Cooperation/PutRelationship",
        "coop.v1.Cooperation/WatchChanges",
        "grpc.health.v1.Health/Watch",
    };
    int n = (int)(sizeof expected / sizeof expected[0]);
    CHECK_INT(recorder.count, n);
    for (int i = 0; i < n && i < recorder.count; i++) {
        CHECK_STR(recorder.calls[i], expected[i]);
        CHECK_INT(recorder.ids[i], 2 * i + 1); /* odd, increasing, never reused */
        CHECK_INT(recorder.flags[i], i >= n - 2 ? 0x01 : 0x00);
        CHECK(recorder.timeouts[i] > 0 && recorder.timeouts[i] <= 5000000000LL);
    }
    coop_status_clear(&status);
    teardown(&f);
}

void test_metadata_and_timeout_go_into_the_request(void) {
    struct recorder recorder = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct fixture f;
    if (!setup(&f, handle_record, &recorder))
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_metadata pairs[] = { { "trace-id", "abc" }, { "tag", "1" }, { "tag", "2" } };
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.metadata = pairs;
    options.n_metadata = 3;
    CHECK_INT(echo(f.client, &options, &status), 0); /* no timeout */
    options.timeout_ms = 1500;
    CHECK_INT(echo(f.client, &options, &status), 0);
    CHECK_INT(recorder.count, 2);
    CHECK_STR(recorder.metadata[0], "trace-id=abc,tag=1,tag=2");
    CHECK_INT(recorder.timeouts[0], 0);
    CHECK(recorder.timeouts[1] > 1000000000LL && recorder.timeouts[1] <= 1500000000LL);
    coop_status_clear(&status);
    teardown(&f);
}

/* --- statuses from the server ---------------------------------------------------------------------------------- */

static void handle_not_found(int fd, void *context) {
    (void)context;
    struct fake_request request;
    while (fake_read_request(fd, &request) == 0) {
        fake_send_response(fd, request.id, 5, "no such thing", NULL);
        fake_request_clear(&request);
    }
}

void test_error_status_comes_back_with_code_message_and_errno(void) {
    struct fixture f;
    if (!setup(&f, handle_not_found, NULL))
        return;
    coop_status status = COOP_STATUS_INIT;
    for (int i = 0; i < 3; i++) { /* the status is reused: no leak of earlier messages */
        CHECK_INT(echo(f.client, &quick, &status), -ENOENT);
        CHECK_INT(status.code, COOP_STATUS_NOT_FOUND);
        CHECK_STR(status.message, "no such thing");
    }
    CHECK_INT(echo(f.client, &quick, NULL), -ENOENT); /* a NULL status is allowed */
    coop_status_clear(&status);
    CHECK(status.message == NULL && status.code == 0);
    teardown(&f);
}

/* --- hostile replies ------------------------------------------------------------------------------------------- */

enum hostility {
    MALFORMED_ENVELOPE,
    UNDECODABLE_PAYLOAD,
    OVERSIZED_THEN_OK,
    OVERSIZED_HEADER_THEN_CLOSE,
    TRUNCATED_PAYLOAD,
    TRUNCATED_HEADER,
    CLOSE_MID_CALL,
    DATA_ON_UNARY,
    NOISE_THEN_OK,
    HUGE_STATUS_CODE,
};

/* Answers the first request with `hostility`, and each later one with an OK echo. */
static void handle_hostile(int fd, void *context) {
    enum hostility mode = *(enum hostility *)context;
    struct fake_request request;
    bool first = true;
    while (fake_read_request(fd, &request) == 0) {
        uint32_t id = request.id;
        Coop__V1__EchoResponse echo_reply = COOP__V1__ECHO_RESPONSE__INIT;
        echo_reply.data.data = (uint8_t *)"ok";
        echo_reply.data.len = 2;
        if (!first) {
            fake_send_response(fd, id, 0, NULL, &echo_reply.base);
            fake_request_clear(&request);
            continue;
        }
        first = false;
        fake_request_clear(&request);
        switch (mode) {
        case MALFORMED_ENVELOPE: {
            static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
            fake_write_frame(fd, id, RESPONSE, 0, garbage, sizeof garbage);
            break;
        }
        case UNDECODABLE_PAYLOAD: {
            /* A well-formed envelope whose payload claims a 5-byte field 1 but holds 1 byte. */
            static const uint8_t envelope[] = { 0x12, 0x03, 0x0a, 0x05, 'a' };
            fake_write_frame(fd, id, RESPONSE, 0, envelope, sizeof envelope);
            break;
        }
        case OVERSIZED_THEN_OK: {
            size_t length = 4u * 1024 * 1024 + 1;
            uint8_t *junk = calloc(1, length);
            fake_write_frame(fd, id, RESPONSE, 0, junk, length);
            free(junk);
            break;
        }
        case OVERSIZED_HEADER_THEN_CLOSE: {
            static const uint8_t header[] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, RESPONSE, 0, 1, 2, 3 };
            fake_write(fd, header, sizeof header);
            return;
        }
        case TRUNCATED_PAYLOAD: {
            uint8_t header[10] = { 0, 0, 0, 100, 0, 0, 0, (uint8_t)id, RESPONSE, 0 };
            static const uint8_t part[20] = { 0x12, 0x10 };
            fake_write(fd, header, sizeof header);
            fake_write(fd, part, sizeof part);
            return;
        }
        case TRUNCATED_HEADER: {
            static const uint8_t part[5] = { 0, 0, 0, 4, 0 };
            fake_write(fd, part, sizeof part);
            return;
        }
        case CLOSE_MID_CALL:
            return;
        case DATA_ON_UNARY:
            fake_send_data(fd, id, 0, &echo_reply.base);
            fake_send_response(fd, id, 0, NULL, &echo_reply.base); /* too late: the call already failed */
            break;
        case NOISE_THEN_OK:
            fake_write_frame(fd, id, 0x7f, 0, "?", 1);                  /* unknown type: ignored */
            fake_write_frame(fd, id + 100, RESPONSE, 0, NULL, 0);        /* a stream never opened: ignored */
            fake_write_frame(fd, 2, DATA, 0, NULL, 0);                   /* even (server) id: ignored */
            fake_write_frame(fd, id, 0x01, 0, NULL, 0);                  /* a Request from the server: ignored */
            fake_send_response(fd, id, 0, NULL, &echo_reply.base);
            break;
        case HUGE_STATUS_CODE:
            fake_send_response(fd, id, 999, "odd", NULL);
            break;
        }
    }
}

static void expect_hostile(enum hostility mode, int expected_errno, int32_t expected_code, const char *text,
                           bool usable_after) {
    struct fixture f;
    if (!setup(&f, handle_hostile, &mode))
        return;
    coop_status status = COOP_STATUS_INIT;
    CHECK_INT(echo(f.client, &quick, &status), expected_errno);
    CHECK_INT(status.code, expected_code);
    CHECK_CONTAINS(status.message, text);
    if (usable_after) {
        CHECK_INT(echo(f.client, &quick, &status), 0);
        CHECK_INT(status.code, 0);
    } else {
        /* The connection is gone: every later call says so at once. */
        CHECK_INT(echo(f.client, &quick, &status), -ECONNRESET);
        CHECK_INT(status.code, COOP_STATUS_UNAVAILABLE);
    }
    coop_status_clear(&status);
    teardown(&f);
}

void test_malformed_envelope_is_internal_and_connection_stays_usable(void) {
    expect_hostile(MALFORMED_ENVELOPE, -EPROTO, COOP_STATUS_INTERNAL, "does not decode as ttrpc.Response", true);
}

void test_undecodable_payload_is_internal_naming_the_type(void) {
    expect_hostile(UNDECODABLE_PAYLOAD, -EPROTO, COOP_STATUS_INTERNAL, "coop.v1.EchoResponse", true);
}

void test_oversized_frame_is_skipped_and_fails_its_call(void) {
    expect_hostile(OVERSIZED_THEN_OK, -ENOBUFS, COOP_STATUS_RESOURCE_EXHAUSTED, "over the 4194304-byte limit", true);
}

void test_oversized_header_then_close_fails_its_call(void) {
    expect_hostile(OVERSIZED_HEADER_THEN_CLOSE, -ENOBUFS, COOP_STATUS_RESOURCE_EXHAUSTED, "4294967295 bytes", false);
}

void test_truncated_payload_then_close_is_unavailable(void) {
    expect_hostile(TRUNCATED_PAYLOAD, -ECONNRESET, COOP_STATUS_UNAVAILABLE, "in the middle of a frame", false);
}

void test_truncated_header_then_close_is_unavailable(void) {
    expect_hostile(TRUNCATED_HEADER, -ECONNRESET, COOP_STATUS_UNAVAILABLE, "in the middle of a frame", false);
}

void test_server_closing_mid_call_is_unavailable(void) {
    expect_hostile(CLOSE_MID_CALL, -ECONNRESET, COOP_STATUS_UNAVAILABLE, "closed the connection", false);
}

void test_data_frame_on_unary_call_is_internal(void) {
    expect_hostile(DATA_ON_UNARY, -EPROTO, COOP_STATUS_INTERNAL, "Data frame on unary stream", true);
}

void test_unknown_types_and_foreign_ids_are_ignored(void) {
    struct fixture f;
    enum hostility mode = NOISE_THEN_OK;
    if (!setup(&f, handle_hostile, &mode))
        return;
    coop_status status = COOP_STATUS_INIT;
    CHECK_INT(echo(f.client, &quick, &status), 0);
    CHECK_INT(echo(f.client, &quick, &status), 0);
    coop_status_clear(&status);
    teardown(&f);
}

void test_status_code_outside_the_table_is_kept(void) {
    struct fixture f;
    enum hostility mode = HUGE_STATUS_CODE;
    if (!setup(&f, handle_hostile, &mode))
        return;
    coop_status status = COOP_STATUS_INIT;
    CHECK_INT(echo(f.client, &quick, &status), -EIO);
    CHECK_INT(status.code, 999);
    CHECK_STR(coop_status_code_name(status.code), "UNKNOWN_CODE");
    coop_status_clear(&status);
    teardown(&f);
}

/* --- deadlines ------------------------------------------------------------------------------------------------- */

/* Never answers the first request; answers the second only after `delay` ms, by which time its caller may be gone. */
struct slow {
    int delay_ms;
};

static void handle_slow(int fd, void *context) {
    struct slow *slow = context;
    struct fake_request first, request;
    if (fake_read_request(fd, &first) < 0)
        return;
    while (fake_read_request(fd, &request) == 0) {
        fake_sleep_ms(slow->delay_ms);
        Coop__V1__EchoResponse reply = COOP__V1__ECHO_RESPONSE__INIT;
        reply.data.data = (uint8_t *)"late";
        reply.data.len = 4;
        fake_send_response(fd, first.id, 0, NULL, &reply.base); /* for a call long given up: dropped */
        fake_send_response(fd, request.id, 0, NULL, &reply.base);
        fake_request_clear(&request);
    }
    fake_request_clear(&first);
}

void test_deadline_without_answer_is_deadline_exceeded(void) {
    struct slow slow = { 0 };
    struct fixture f;
    if (!setup(&f, handle_slow, &slow))
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = 200;
    CHECK_INT(echo(f.client, &options, &status), -ETIMEDOUT);
    CHECK_INT(status.code, COOP_STATUS_DEADLINE_EXCEEDED);
    /* The late answer to the abandoned call is dropped; the next call gets its own. */
    CHECK_INT(echo(f.client, &quick, &status), 0);
    coop_status_clear(&status);
    teardown(&f);
}

/* Reads nothing for 400 ms, then answers every request but the first. */
static void handle_late_reader(int fd, void *context) {
    (void)context;
    fake_sleep_ms(400);
    struct fake_request request;
    bool first = true;
    while (fake_read_request(fd, &request) == 0) {
        if (!first)
            fake_send_response(fd, request.id, 0, NULL, NULL);
        first = false;
        fake_request_clear(&request);
    }
}

void test_deadline_during_a_large_write_keeps_the_connection(void) {
    struct fixture f;
    if (!setup(&f, handle_late_reader, NULL))
        return;
    coop_status status = COOP_STATUS_INIT;
    Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
    request.data.len = 2 * 1024 * 1024; /* far more than the socket buffers hold */
    request.data.data = calloc(1, request.data.len);
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = 100;
    Coop__V1__EchoResponse *reply = NULL;
    CHECK_INT(coop_echo(f.client, &request, &options, &reply, &status), -ETIMEDOUT);
    CHECK_INT(status.code, COOP_STATUS_DEADLINE_EXCEEDED);
    free(request.data.data);
    /* The frame was finished once the server read again: the connection is in step. */
    CHECK_INT(echo(f.client, &quick, &status), 0);
    coop_status_clear(&status);
    teardown(&f);
}

/* What handle_flood_then_read tells the test: that the stream has filled the client's socket buffers. */
struct flood {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    bool full;
};

/* Streams 3000 messages of 2 KiB for a stream request (blocking while the client does not read them) before it
 * reads the next request, as coopd stops reading a client that does not read its answers; marks `flood` full
 * once the socket takes no more without blocking. Unary calls get an empty OK answer. */
static void handle_flood_then_read(int fd, void *context) {
    struct flood *flood = context;
    struct fake_request request;
    static uint8_t blob[2048];
    while (fake_read_request(fd, &request) == 0) {
        if (request.flags & 0x01) {
            Coop__V1__Change change = COOP__V1__CHANGE__INIT;
            change.summary = (char *)blob;
            memset(blob, 'x', sizeof blob - 1);
            for (int i = 1; i <= 3000; i++) {
                struct pollfd writable = { fd, POLLOUT, 0 };
                if (poll(&writable, 1, 0) == 0) {
                    pthread_mutex_lock(&flood->mu);
                    flood->full = true;
                    pthread_cond_broadcast(&flood->changed);
                    pthread_mutex_unlock(&flood->mu);
                }
                change.sequence = i;
                if (fake_send_data(fd, request.id, 0, &change.base) < 0)
                    break;
            }
            fake_write_frame(fd, request.id, DATA, 0x05, NULL, 0);
        } else {
            fake_send_response(fd, request.id, 0, NULL, NULL);
        }
        fake_request_clear(&request);
    }
}

void test_a_large_request_while_a_stream_floods_does_not_deadlock(void) {
    struct fixture f;
    struct flood flood = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
    if (!setup(&f, handle_flood_then_read, &flood))
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_stream *stream = NULL;
    CHECK_INT(coop_watch_changes(f.client, NULL, &quick, &stream, &status), 0);
    /* Until the server blocks writing to us: the stream fills our socket buffers. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&flood.mu);
    while (!flood.full && pthread_cond_timedwait(&flood.changed, &flood.mu, &deadline) == 0) {
    }
    CHECK(flood.full);
    pthread_mutex_unlock(&flood.mu);
    /* One thread, a request far larger than the socket buffers: sending it needs the server to read, which
     * needs us to read the stream meanwhile. */
    Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
    request.data.len = 2 * 1024 * 1024;
    request.data.data = calloc(1, request.data.len);
    Coop__V1__EchoResponse *reply = NULL;
    CHECK_INT(coop_echo(f.client, &request, &quick, &reply, &status), 0);
    if (reply)
        coop__v1__echo_response__free_unpacked(reply, NULL);
    free(request.data.data);
    int count = 0, r;
    Coop__V1__Change *change = NULL;
    while ((r = coop_watch_changes_next(stream, 5000, &change, &status)) == 1) {
        count++;
        coop__v1__change__free_unpacked(change, NULL);
    }
    CHECK_INT(r, 0);
    CHECK_INT(count, 3000);
    coop_stream_close(stream);
    coop_status_clear(&status);
    teardown(&f);
}

/* --- concurrency ------------------------------------------------------------------------------------------------- */

/* Reads two requests, answers them in reverse order, echoing each one's payload; repeats. Checks ids arrive odd
 * and increasing. */
static void handle_reverse(int fd, void *context) {
    int *bad_ids = context;
    uint32_t last = 0;
    for (;;) {
        struct fake_request a, b;
        if (fake_read_request(fd, &a) < 0)
            return;
        if (fake_read_request(fd, &b) < 0) {
            fake_request_clear(&a);
            return;
        }
        if (a.id % 2 == 0 || a.id <= last || b.id <= a.id || b.id % 2 == 0)
            (*bad_ids)++;
        last = b.id;
        struct fake_request *order[2] = { &b, &a };
        for (int i = 0; i < 2; i++) {
            Coop__V1__EchoResponse *reply =
                coop__v1__echo_response__unpack(NULL, order[i]->payload_length, order[i]->payload);
            fake_send_response(fd, order[i]->id, 0, NULL, reply ? &reply->base : NULL);
            if (reply)
                coop__v1__echo_response__free_unpacked(reply, NULL);
        }
        fake_request_clear(&a);
        fake_request_clear(&b);
    }
}

struct echo_worker {
    coop_client *client;
    int index;
    int rounds;
    int failures;
};

static void *echo_worker(void *argument) {
    struct echo_worker *w = argument;
    for (int i = 0; i < w->rounds; i++) {
        char text[32];
        snprintf(text, sizeof text, "worker %d round %d", w->index, i);
        Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
        request.data.data = (uint8_t *)text;
        request.data.len = strlen(text);
        Coop__V1__EchoResponse *reply = NULL;
        coop_status status = COOP_STATUS_INIT;
        if (coop_echo(w->client, &request, &quick, &reply, &status) < 0) {
            w->failures++;
            fprintf(stderr, "worker %d: %s\n", w->index, coop_status_message(&status));
        } else {
            if (reply->data.len != strlen(text) || memcmp(reply->data.data, text, reply->data.len) != 0)
                w->failures++;
            coop__v1__echo_response__free_unpacked(reply, NULL);
        }
        coop_status_clear(&status);
    }
    return NULL;
}

void test_replies_out_of_order_reach_their_callers_across_threads(void) {
    int bad_ids = 0;
    struct fixture f;
    if (!setup(&f, handle_reverse, &bad_ids))
        return;
    enum { THREADS = 2, ROUNDS = 25 };
    pthread_t threads[THREADS];
    struct echo_worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct echo_worker){ f.client, i, ROUNDS, 0 };
        pthread_create(&threads[i], NULL, echo_worker, &workers[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK_INT(workers[i].failures, 0);
    }
    CHECK_INT(bad_ids, 0);
    teardown(&f);
}

/* --- server streams -------------------------------------------------------------------------------------------- */

enum stream_script {
    STREAM_OK,              /* 3 changes, then Data(remote closed | no data) */
    STREAM_ERROR_STATUS,    /* 1 change, then a Response with PERMISSION_DENIED */
    STREAM_GARBAGE_MESSAGE, /* 1 change, then a Data frame that does not decode as a Change */
    STREAM_CLOSE_WITH_PAYLOAD,
    STREAM_CLOSE_MID_STREAM, /* 2 changes, then the connection closes */
    STREAM_OVERSIZED,        /* 1 change, then an oversized Data frame, then the normal end */
    STREAM_FLOOD,            /* 5000 changes while the stream's owner is not reading */
    STREAM_SLOW,             /* nothing for 300 ms, then 1 change and the end */
    STREAM_SILENT,           /* never a word, until the client goes */
    STREAM_OK_RESPONSE_END,  /* 1 change, then an OK Response (how some peers end) */
};

static void send_change(int fd, uint32_t id, int64_t sequence, uint8_t flags) {
    Coop__V1__Change change = COOP__V1__CHANGE__INIT;
    change.sequence = sequence;
    change.entity_kind = (char *)"observation";
    fake_send_data(fd, id, flags, &change.base);
}

static void handle_stream(int fd, void *context) {
    enum stream_script script = *(enum stream_script *)context;
    struct fake_request request;
    while (fake_read_request(fd, &request) == 0) {
        uint32_t id = request.id;
        bool unary = !(request.flags & 0x01);
        fake_request_clear(&request);
        if (unary) { /* a unary call beside the stream: answered at once */
            fake_send_response(fd, id, 0, NULL, NULL);
            continue;
        }
        switch (script) {
        case STREAM_OK:
            for (int i = 1; i <= 3; i++)
                send_change(fd, id, i, 0);
            fake_write_frame(fd, id, DATA, 0x04, NULL, 0); /* no data: skipped */
            fake_write_frame(fd, id, DATA, 0x05, NULL, 0);
            break;
        case STREAM_ERROR_STATUS:
            send_change(fd, id, 1, 0);
            fake_send_response(fd, id, 7, "not for you", NULL);
            break;
        case STREAM_GARBAGE_MESSAGE: {
            static const uint8_t garbage[] = { 0x08 }; /* field 1 varint without its value */
            send_change(fd, id, 1, 0);
            fake_write_frame(fd, id, DATA, 0, garbage, sizeof garbage);
            break;
        }
        case STREAM_CLOSE_WITH_PAYLOAD:
            send_change(fd, id, 1, 0x01);
            break;
        case STREAM_CLOSE_MID_STREAM:
            send_change(fd, id, 1, 0);
            send_change(fd, id, 2, 0);
            return;
        case STREAM_OVERSIZED: {
            send_change(fd, id, 1, 0);
            size_t length = 4u * 1024 * 1024 + 10;
            uint8_t *junk = calloc(1, length);
            fake_write_frame(fd, id, DATA, 0, junk, length);
            free(junk);
            fake_write_frame(fd, id, DATA, 0x05, NULL, 0);
            break;
        }
        case STREAM_FLOOD:
            for (int i = 1; i <= 5000; i++)
                send_change(fd, id, i, 0);
            break;
        case STREAM_SLOW:
            fake_sleep_ms(300);
            send_change(fd, id, 1, 0);
            fake_write_frame(fd, id, DATA, 0x05, NULL, 0);
            break;
        case STREAM_SILENT:
            break;
        case STREAM_OK_RESPONSE_END:
            send_change(fd, id, 1, 0);
            fake_send_response(fd, id, 0, NULL, NULL);
            break;
        }
    }
}

/* Opens WatchChanges on a fake server running `script`, reads until the end; returns how many changes came and
 * the final result in *end (status in *status). */
static int drain(enum stream_script script, int *end, coop_status *status) {
    struct fixture f;
    if (!setup(&f, handle_stream, &script)) {
        *end = -1;
        return -1;
    }
    coop_stream *stream = NULL;
    int count = 0;
    CHECK_INT(coop_watch_changes(f.client, NULL, &quick, &stream, status), 0);
    if (!stream) {
        teardown(&f);
        return -1;
    }
    if (script == STREAM_FLOOD) {
        /* A unary call on the same client: its thread reads the socket and queues the whole flood on the
         * stream, which nobody reads meanwhile. The call itself is unaffected. */
        Coop__V1__EchoResponse *reply = NULL;
        coop_status unary = COOP_STATUS_INIT;
        CHECK_INT(coop_echo(f.client, NULL, &quick, &reply, &unary), 0);
        if (reply)
            coop__v1__echo_response__free_unpacked(reply, NULL);
        coop_status_clear(&unary);
    }
    for (;;) {
        Coop__V1__Change *change = NULL;
        int r = coop_watch_changes_next(stream, 2000, &change, status);
        if (r != 1) {
            *end = r;
            break;
        }
        count++;
        CHECK_INT(change->sequence, count);
        coop__v1__change__free_unpacked(change, NULL);
    }
    /* An ended stream keeps answering with its end. */
    Coop__V1__Change *change = NULL;
    coop_status again = COOP_STATUS_INIT;
    CHECK_INT(coop_watch_changes_next(stream, 0, &change, &again), *end);
    CHECK_INT(again.code, status->code);
    coop_status_clear(&again);
    coop_stream_close(stream);
    teardown(&f);
    return count;
}

void test_stream_delivers_messages_then_ends_ok(void) {
    coop_status status = COOP_STATUS_INIT;
    int end;
    CHECK_INT(drain(STREAM_OK, &end, &status), 3);
    CHECK_INT(end, 0);
    CHECK_INT(status.code, 0);
    CHECK_INT(drain(STREAM_OK_RESPONSE_END, &end, &status), 1);
    CHECK_INT(end, 0);
    coop_status_clear(&status);
}

void test_stream_error_status_ends_it_after_earlier_messages(void) {
    coop_status status = COOP_STATUS_INIT;
    int end;
    CHECK_INT(drain(STREAM_ERROR_STATUS, &end, &status), 1);
    CHECK_INT(end, -EACCES);
    CHECK_INT(status.code, COOP_STATUS_PERMISSION_DENIED);
    CHECK_STR(status.message, "not for you");
    coop_status_clear(&status);
}

void test_stream_hostile_frames_end_it_with_an_error(void) {
    coop_status status = COOP_STATUS_INIT;
    int end;
    CHECK_INT(drain(STREAM_GARBAGE_MESSAGE, &end, &status), 1);
    CHECK_INT(status.code, COOP_STATUS_INTERNAL);
    CHECK_CONTAINS(status.message, "coop.v1.Change");

    CHECK_INT(drain(STREAM_CLOSE_WITH_PAYLOAD, &end, &status), 0);
    CHECK_INT(status.code, COOP_STATUS_INTERNAL);
    CHECK_CONTAINS(status.message, "carries a payload");

    CHECK_INT(drain(STREAM_CLOSE_MID_STREAM, &end, &status), 2);
    CHECK_INT(end, -ECONNRESET);
    CHECK_INT(status.code, COOP_STATUS_UNAVAILABLE);

    CHECK_INT(drain(STREAM_OVERSIZED, &end, &status), 1);
    CHECK_INT(end, -ENOBUFS);
    CHECK_INT(status.code, COOP_STATUS_RESOURCE_EXHAUSTED);
    coop_status_clear(&status);
}

void test_stream_read_too_slowly_fails_with_resource_exhausted(void) {
    coop_status status = COOP_STATUS_INIT;
    int end;
    int count = drain(STREAM_FLOOD, &end, &status);
    CHECK_INT(count, 4096); /* what was queued before the limit */
    CHECK_INT(end, -ENOBUFS);
    CHECK_INT(status.code, COOP_STATUS_RESOURCE_EXHAUSTED);
    CHECK_CONTAINS(status.message, "read the stream faster");
    coop_status_clear(&status);
}

void test_stream_next_with_timeout_says_eagain_and_keeps_the_stream(void) {
    enum stream_script script = STREAM_SLOW;
    struct fixture f;
    if (!setup(&f, handle_stream, &script))
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_stream *stream = NULL;
    CHECK_INT(coop_watch_changes(f.client, NULL, NULL, &stream, &status), 0);
    Coop__V1__Change *change = NULL;
    CHECK_INT(coop_watch_changes_next(stream, 0, &change, &status), -EAGAIN);
    CHECK_INT(coop_watch_changes_next(stream, 50, &change, &status), -EAGAIN);
    CHECK_INT(status.code, 0);
    CHECK_INT(coop_watch_changes_next(stream, 5000, &change, &status), 1);
    if (change)
        coop__v1__change__free_unpacked(change, NULL);
    CHECK_INT(coop_watch_changes_next(stream, 5000, &change, &status), 0);
    coop_stream_close(stream);
    coop_status_clear(&status);
    teardown(&f);
}

void test_stream_deadline_ends_it_with_deadline_exceeded(void) {
    enum stream_script script = STREAM_SILENT;
    struct fixture f;
    if (!setup(&f, handle_stream, &script))
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_stream *stream = NULL;
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = 150;
    CHECK_INT(coop_watch_changes(f.client, NULL, &options, &stream, &status), 0);
    Coop__V1__Change *change = NULL;
    CHECK_INT(coop_watch_changes_next(stream, -1, &change, &status), -ETIMEDOUT);
    CHECK_INT(status.code, COOP_STATUS_DEADLINE_EXCEEDED);
    coop_stream_close(stream);
    coop_status_clear(&status);
    teardown(&f);
}

static int count_changes(const Coop__V1__Change *change, void *userdata) {
    int *count = userdata;
    (*count)++;
    return change->sequence == 2 ? 1 : 0; /* stop after the second */
}

static int refuse_changes(const Coop__V1__Change *change, void *userdata) {
    (void)change;
    (void)userdata;
    return -ECANCELED;
}

void test_stream_callback_runs_until_the_end_or_until_stopped(void) {
    enum stream_script script = STREAM_OK;
    struct fixture f;
    if (!setup(&f, handle_stream, &script))
        return;
    coop_status status = COOP_STATUS_INIT;
    int count = 0;
    CHECK_INT(coop_watch_changes_run(f.client, NULL, &quick, count_changes, &count, &status), 0);
    CHECK_INT(count, 2);
    CHECK_INT(coop_watch_changes_run(f.client, NULL, &quick, refuse_changes, NULL, &status), -ECANCELED);
    CHECK_INT(status.code, COOP_STATUS_CANCELLED);
    /* Stopped streams are abandoned; their remaining frames are dropped and the client goes on. */
    count = 0;
    CHECK_INT(coop_watch_changes_run(f.client, NULL, &quick, count_changes, &count, &status), 0);
    CHECK_INT(count, 2);
    coop_status_clear(&status);
    teardown(&f);
}

void test_closing_the_client_under_an_open_stream_cancels_it(void) {
    enum stream_script script = STREAM_SILENT;
    struct fixture f;
    if (!setup(&f, handle_stream, &script))
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_stream *stream = NULL;
    CHECK_INT(coop_watch_changes(f.client, NULL, NULL, &stream, &status), 0);
    coop_client_close(f.client);
    f.client = NULL;
    Coop__V1__Change *change = NULL;
    CHECK_INT(coop_watch_changes_next(stream, -1, &change, &status), -ECANCELED);
    CHECK_INT(status.code, COOP_STATUS_CANCELLED);
    coop_stream_close(stream); /* frees the client too */
    coop_status_clear(&status);
    teardown(&f);
}

/* --- random replies --------------------------------------------------------------------------------------------- */

static uint32_t next_random(uint32_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Answers one request with a burst of random frames (mostly on the request's id: random types, flags and payloads,
 * some valid-looking envelopes, some cut short or oversized), then closes. */
static void handle_random(int fd, void *context) {
    uint32_t *state = context;
    struct fake_request request;
    if (fake_read_request(fd, &request) < 0)
        return;
    uint32_t id = request.id;
    fake_request_clear(&request);
    int frames = 1 + (int)(next_random(state) % 12);
    for (int i = 0; i < frames; i++) {
        uint8_t payload[300];
        size_t length = next_random(state) % sizeof payload;
        for (size_t b = 0; b < length; b++)
            payload[b] = (uint8_t)next_random(state);
        uint32_t choice = next_random(state) % 10;
        uint32_t frame_id = choice < 8 ? id : next_random(state);
        uint8_t type = (uint8_t)(choice < 4 ? DATA : choice < 7 ? RESPONSE : next_random(state));
        uint8_t flags = (uint8_t)(next_random(state) % 3 == 0 ? next_random(state) : 0);
        if (choice == 9 && i == frames - 1) {
            uint8_t header[10] = { (uint8_t)next_random(state), 0, 0, 9, 0, 0, 0, (uint8_t)id, RESPONSE, 0 };
            fake_write(fd, header, 3 + next_random(state) % 8); /* a cut header, or a huge length */
            return;
        }
        if (choice == 3) {
            fake_send_response(fd, frame_id, (int32_t)(next_random(state) % 20), "random", NULL);
            continue;
        }
        fake_write_frame(fd, frame_id, type, flags, payload, length);
    }
}

void test_random_replies_end_every_call_cleanly(void) {
    uint32_t state = 0x2545F491u;
    int ok = 0, failed = 0;
    for (int round = 0; round < 120; round++) {
        struct fixture f;
        if (!setup(&f, handle_random, &state))
            return;
        coop_status status = COOP_STATUS_INIT;
        coop_call_options options = COOP_CALL_OPTIONS_INIT;
        options.timeout_ms = 2000;
        if (round % 2 == 0) {
            int r = echo(f.client, &options, &status);
            CHECK(r <= 0);
            r == 0 ? ok++ : failed++;
            CHECK(r == 0 ? status.code == 0 && status.message == NULL : status.code != 0);
        } else {
            coop_stream *stream = NULL;
            CHECK_INT(coop_watch_changes(f.client, NULL, &options, &stream, &status), 0);
            Coop__V1__Change *change = NULL;
            int r, messages = 0;
            while ((r = coop_watch_changes_next(stream, -1, &change, &status)) == 1) {
                coop__v1__change__free_unpacked(change, NULL);
                messages++;
            }
            CHECK(r <= 0 && r != -EAGAIN && messages <= 12);
            r == 0 ? ok++ : failed++;
            coop_stream_close(stream);
        }
        coop_status_clear(&status);
        teardown(&f);
    }
    CHECK(failed > 0); /* mostly errors, and no crash, hang or leak */
    fprintf(stderr, "    (120 random servers: %d calls ended OK, %d with an error status)\n", ok, failed);
}

/* --- the health check maps serving statuses ------------------------------------------------------------------- */

static void handle_health(int fd, void *context) {
    (void)context;
    struct fake_request request;
    while (fake_read_request(fd, &request) == 0) {
        Grpc__Health__V1__HealthCheckRequest *asked =
            grpc__health__v1__health_check_request__unpack(NULL, request.payload_length, request.payload);
        Grpc__Health__V1__HealthCheckResponse reply = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
        reply.status = asked && strcmp(asked->service, "down") == 0
                           ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
                           : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        fake_send_response(fd, request.id, 0, NULL, &reply.base);
        if (asked)
            grpc__health__v1__health_check_request__free_unpacked(asked, NULL);
        fake_request_clear(&request);
    }
}

void test_health_check_reports_serving_status(void) {
    struct fixture f;
    if (!setup(&f, handle_health, NULL))
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_serving_status serving = COOP_SERVING_UNKNOWN;
    CHECK_INT(coop_health_check(f.client, "", &quick, &serving, &status), 0);
    CHECK_INT(serving, COOP_SERVING);
    CHECK_INT(coop_health_check(f.client, "down", &quick, &serving, &status), 0);
    CHECK_INT(serving, COOP_NOT_SERVING);
    coop_status_clear(&status);
    teardown(&f);
}

/* --- local errors ------------------------------------------------------------------------------------------------ */

void test_bad_arguments_are_invalid_argument_and_send_nothing(void) {
    struct recorder recorder = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct fixture f;
    if (!setup(&f, handle_record, &recorder))
        return;
    coop_status status = COOP_STATUS_INIT;
    Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    CHECK_INT(coop_call(f.client, NULL, "Echo", &request.base, &coop__v1__echo_response__descriptor, NULL, &reply,
                        &status),
              -EINVAL);
    CHECK_INT(status.code, COOP_STATUS_INVALID_ARGUMENT);
    CHECK_INT(coop_call(f.client, "coop.v1.Diagnostics", "", &request.base, &coop__v1__echo_response__descriptor,
                        NULL, &reply, &status),
              -EINVAL);
    CHECK_INT(coop_call(NULL, "s", "m", &request.base, &coop__v1__echo_response__descriptor, NULL, &reply, &status),
              -EINVAL);
    CHECK_INT(coop_echo(f.client, NULL, NULL, NULL, &status), -EINVAL);
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = -5;
    CHECK_INT(echo(f.client, &options, &status), -EINVAL);
    options.timeout_ms = 0;
    options.n_metadata = 1;
    CHECK_INT(echo(f.client, &options, &status), -EINVAL);
    coop_metadata bad = { "key", NULL };
    options.metadata = &bad;
    CHECK_INT(echo(f.client, &options, &status), -EINVAL);
    CHECK_CONTAINS(status.message, "metadata[0]");
    CHECK_INT(coop_stream_next(NULL, 0, &reply, &status), -EINVAL);
    coop_stream *stream = NULL;
    CHECK_INT(coop_health_watch(f.client, NULL, &quick, &stream, &status), 0);
    Coop__V1__Change *change = NULL;
    CHECK_INT(coop_watch_changes_next(stream, 0, &change, &status), -EINVAL); /* a health stream */
    coop_stream_close(stream);
    /* A request over 4 MiB is refused before anything is written. */
    size_t big = 4u * 1024 * 1024 + 1;
    request.data.data = calloc(1, big);
    request.data.len = big;
    CHECK_INT(coop_call(f.client, "coop.v1.Diagnostics", "Echo", &request.base, &coop__v1__echo_response__descriptor,
                        &quick, &reply, &status),
              -ENOBUFS);
    CHECK_INT(status.code, COOP_STATUS_RESOURCE_EXHAUSTED);
    free(request.data.data);
    CHECK_INT(echo(f.client, &quick, &status), 0); /* still usable */
    CHECK_INT(recorder.count, 2);                  /* the health watch and the last echo */
    coop_status_clear(&status);
    teardown(&f);
}

void test_connect_failures_are_negative_errno(void) {
    coop_client *client = NULL;
    CHECK_INT(coop_client_connect("/nonexistent/coopd.sock", 100, &client), -ENOENT);
    char long_path[200];
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = 0;
    CHECK_INT(coop_client_connect(long_path, 100, &client), -ENAMETOOLONG);
    CHECK_INT(coop_client_connect("", 100, &client), -EINVAL);
    CHECK_INT(coop_client_connect("/tmp/x", 100, NULL), -EINVAL);
    CHECK(client == NULL);

    /* A socket file nobody listens on. */
    char directory[] = "/tmp/coop-refused-XXXXXX";
    CHECK(mkdtemp(directory) != NULL);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    snprintf(address.sun_path, sizeof address.sun_path, "%s/dead.sock", directory);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(fd, (struct sockaddr *)&address, sizeof address) == 0);
    CHECK_INT(coop_client_connect(address.sun_path, 100, &client), -ECONNREFUSED);
    close(fd);
    unlink(address.sun_path);
    rmdir(directory);

    coop_client_close(NULL);
    coop_stream_close(NULL);
    coop_status_clear(NULL);
}

/* Connects with a NULL path while $COOP_SOCKET is `coop` and $COOPD_SOCKET is `coopd` (NULL: unset) and returns
 * how many echoes the fake server saw. */
static int echoes_by_default_path(const char *coop, const char *coopd) {
    struct recorder recorder = { .mu = PTHREAD_MUTEX_INITIALIZER };
    struct fake_server server;
    if (fake_server_start(&server, handle_record, &recorder) < 0)
        return -1;
    const char *names[2] = { "COOP_SOCKET", "COOPD_SOCKET" }, *values[2] = { coop, coopd };
    char *saved[2];
    for (int i = 0; i < 2; i++) {
        const char *value = getenv(names[i]);
        saved[i] = value ? strdup(value) : NULL;
        if (!values[i])
            unsetenv(names[i]);
        else
            setenv(names[i], strcmp(values[i], "SERVER") == 0 ? server.path : values[i], 1);
    }
    coop_client *client = NULL;
    if (coop_client_connect(NULL, 1000, &client) == 0) {
        coop_status status = COOP_STATUS_INIT;
        CHECK_INT(echo(client, &quick, &status), 0);
        coop_status_clear(&status);
    }
    coop_client_close(client);
    for (int i = 0; i < 2; i++) {
        if (saved[i])
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
        free(saved[i]);
    }
    fake_server_stop(&server);
    return recorder.count;
}

void test_default_socket_path_comes_from_coopd_socket(void) {
    CHECK_INT(echoes_by_default_path(NULL, "SERVER"), 1);
    CHECK_INT(echoes_by_default_path("", "SERVER"), 1); /* an empty $COOP_SOCKET counts as unset */
}

/* $COOP_SOCKET, as coopctl reads it, comes before $COOPD_SOCKET. */
void test_default_socket_path_comes_from_coop_socket_first(void) {
    CHECK_INT(echoes_by_default_path("SERVER", NULL), 1);
    CHECK_INT(echoes_by_default_path("SERVER", "/nonexistent/coopd.sock"), 1);
    CHECK_INT(echoes_by_default_path("/nonexistent/coopd.sock", "SERVER"), 0);
}

/* In a child (as nobody when run as root, since root's default is /run/coopd): a socket listening in
 * $XDG_RUNTIME_DIR/coopd is used by default only while that directory is the user's alone. Exits with the number of
 * failed checks. */
static int untrusted_default_in_child(void) {
    if (getuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
        return 100;
    char runtime[] = "/tmp/coop-xdg-XXXXXX";
    if (!mkdtemp(runtime))
        return 101;
    char directory[64], path[96];
    snprintf(directory, sizeof directory, "%s/coopd", runtime);
    snprintf(path, sizeof path, "%s/coopd.sock", directory);
    if (mkdir(directory, 0700) < 0)
        return 102;
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    snprintf(address.sun_path, sizeof address.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, 8) < 0)
        return 103;
    unsetenv("COOP_SOCKET");
    unsetenv("COOPD_SOCKET");
    setenv("XDG_RUNTIME_DIR", runtime, 1);
    int failures = 0;
    coop_client *client = NULL;
    if (coop_client_connect(NULL, 100, &client) != 0)
        failures++;
    coop_client_close(client);
    client = NULL;
    /* Anybody could have put that socket there. */
    chmod(directory, 0777);
    if (coop_client_connect(NULL, 100, &client) != -EPERM || client)
        failures++;
    chmod(directory, 0700);
    chmod(runtime, 0777);
    if (coop_client_connect(NULL, 100, &client) != -EPERM || client)
        failures++;
    /* An explicit path is the caller's choice: not checked. */
    if (coop_client_connect(path, 100, &client) != 0)
        failures++;
    coop_client_close(client);
    close(fd);
    unlink(path);
    rmdir(directory);
    rmdir(runtime);
    return failures;
}

void test_default_socket_in_a_directory_others_can_write_is_not_trusted(void) {
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0)
        _exit(untrusted_default_in_child());
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 0);
}

void test_version_and_status_helpers(void) {
    CHECK_STR(coop_version(), COOP_VERSION);
    CHECK_INT(coop_version_number(), COOP_VERSION_NUMBER);
    CHECK_STR(coop_status_code_name(0), "OK");
    CHECK_STR(coop_status_code_name(4), "DEADLINE_EXCEEDED");
    CHECK_STR(coop_status_code_name(16), "UNAUTHENTICATED");
    CHECK_STR(coop_status_code_name(-1), "UNKNOWN_CODE");
    CHECK_INT(coop_status_to_errno(0), 0);
    CHECK_INT(coop_status_to_errno(12), -EOPNOTSUPP);
    CHECK_INT(coop_status_to_errno(14), -ECONNRESET);
    for (int code = 1; code <= 16; code++)
        CHECK(coop_status_to_errno(code) < 0);
    CHECK_STR(coop_status_message(NULL), "");
    coop_status status = COOP_STATUS_INIT;
    CHECK_STR(coop_status_message(&status), "");
}
