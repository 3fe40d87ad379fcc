/*
 * libcoopclient against a live coopd (started by run-tests.sh; its socket in $COOP_TEST_SOCKET).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "coop/client.h"
#include "harness.h"

static const coop_call_options quick = { 10000, NULL, 0 };

static coop_client *connect_live(void) {
    coop_client *client = NULL;
    int r = coop_client_connect(live_socket, 2000, &client);
    if (r < 0)
        test_failed(__FILE__, __LINE__, "connect %s: %s", live_socket, strerror(-r));
    return client;
}

void live_test_echo_returns_data_unchanged(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
    Coop__V1__EchoResponse *reply = NULL;

    request.data.data = (uint8_t *)"hello";
    request.data.len = 5;
    CHECK_INT(coop_echo(client, &request, &quick, &reply, &status), 0);
    CHECK_INT(status.code, 0);
    CHECK(status.message == NULL);
    if (reply) {
        CHECK_INT(reply->data.len, 5);
        CHECK(memcmp(reply->data.data, "hello", 5) == 0);
        coop__v1__echo_response__free_unpacked(reply, NULL);
    }

    /* Empty: the request and the reply are zero-length payloads. */
    reply = NULL;
    CHECK_INT(coop_echo(client, NULL, NULL, &reply, &status), 0);
    if (reply) {
        CHECK_INT(reply->data.len, 0);
        coop__v1__echo_response__free_unpacked(reply, NULL);
    }

    /* 1 MiB, well inside the frame limit. */
    size_t size = 1024 * 1024;
    uint8_t *big = malloc(size);
    for (size_t i = 0; i < size; i++)
        big[i] = (uint8_t)(i * 7);
    request.data.data = big;
    request.data.len = size;
    reply = NULL;
    CHECK_INT(coop_echo(client, &request, &quick, &reply, &status), 0);
    if (reply) {
        CHECK(reply->data.len == size && memcmp(reply->data.data, big, size) == 0);
        coop__v1__echo_response__free_unpacked(reply, NULL);
    }
    free(big);

    /* Metadata is accepted. */
    coop_metadata pairs[] = { { "x-test", "libcoopclient" }, { "x-test", "again" } };
    coop_call_options options = { 5000, pairs, 2 };
    reply = NULL;
    CHECK_INT(coop_echo(client, NULL, &options, &reply, &status), 0);
    if (reply)
        coop__v1__echo_response__free_unpacked(reply, NULL);

    coop_status_clear(&status);
    coop_client_close(client);
}

void live_test_get_server_info(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    Coop__V1__ServerInfo *info = NULL;
    CHECK_INT(coop_get_server_info(client, NULL, &quick, &info, &status), 0);
    if (info) {
        CHECK(info->version && info->version[0] != 0);
        CHECK(info->pid > 0);
        CHECK_STR(info->socket_path, live_socket);
        CHECK(info->start_time_unix_nano > 0);
        CHECK(info->connections_open >= 1);
        coop__v1__server_info__free_unpacked(info, NULL);
    }
    coop_status_clear(&status);
    coop_client_close(client);
}

void live_test_health_check(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_serving_status serving = COOP_SERVING_UNKNOWN;
    CHECK_INT(coop_health_check(client, NULL, &quick, &serving, &status), 0);
    CHECK_INT(serving, COOP_SERVING);
    serving = COOP_SERVING_UNKNOWN;
    CHECK_INT(coop_health_check(client, "coop.v1.Diagnostics", &quick, &serving, &status), 0);
    CHECK_INT(serving, COOP_SERVING);
    CHECK_INT(coop_health_check(client, "no.such.Service", &quick, &serving, &status), -ENOENT);
    CHECK_INT(status.code, COOP_STATUS_NOT_FOUND);
    CHECK_CONTAINS(status.message, "no.such.Service");
    coop_status_clear(&status);
    coop_client_close(client);
}

void live_test_unknown_method_and_service_are_unimplemented(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    CHECK_INT(coop_call(client, "coop.v1.Diagnostics", "NoSuchMethod", &request.base,
                        &coop__v1__echo_response__descriptor, &quick, &reply, &status),
              -EOPNOTSUPP);
    CHECK_INT(status.code, COOP_STATUS_UNIMPLEMENTED);
    CHECK_STR(status.message, "method NoSuchMethod");
    CHECK_INT(coop_call(client, "coop.v1.Nothing", "Echo", &request.base, &coop__v1__echo_response__descriptor,
                        &quick, &reply, &status),
              -EOPNOTSUPP);
    CHECK_INT(status.code, 12);
    CHECK_STR(status.message, "service coop.v1.Nothing");
    CHECK(reply == NULL);

    /* A payload that does not decode as the method's request: INVALID_ARGUMENT. An EchoRequest whose bytes are
     * not UTF-8, sent where field 1 is a string (HealthCheckRequest.service). */
    Coop__V1__EchoRequest wrong = COOP__V1__ECHO_REQUEST__INIT;
    wrong.data.data = (uint8_t *)"\xff\xfe";
    wrong.data.len = 2;
    CHECK_INT(coop_call(client, "grpc.health.v1.Health", "Check", &wrong.base, &coop__v1__echo_response__descriptor,
                        &quick, &reply, &status),
              -EINVAL);
    CHECK_INT(status.code, COOP_STATUS_INVALID_ARGUMENT);
    if (reply)
        protobuf_c_message_free_unpacked(reply, NULL);

    /* The server counted them. */
    Coop__V1__ServerInfo *info = NULL;
    CHECK_INT(coop_get_server_info(client, NULL, &quick, &info, &status), 0);
    if (info) {
        bool counted = false;
        for (size_t i = 0; i < info->n_errors; i++)
            if (info->errors[i]->code == 12 && info->errors[i]->count >= 2)
                counted = true;
        CHECK(counted);
        coop__v1__server_info__free_unpacked(info, NULL);
    }
    coop_status_clear(&status);
    coop_client_close(client);
}

void live_test_stream_deadline_is_deadline_exceeded(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    coop_stream *stream = NULL;
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = 400;
    CHECK_INT(coop_health_watch(client, NULL, &options, &stream, &status), 0);
    coop_serving_status serving = COOP_SERVING_UNKNOWN;
    CHECK_INT(coop_health_watch_next(stream, -1, &serving, &status), 1);
    CHECK_INT(serving, COOP_SERVING);
    /* Nothing changes: the stream's deadline ends it (coopd's DEADLINE_EXCEEDED or the local timer). */
    CHECK_INT(coop_health_watch_next(stream, -1, &serving, &status), -ETIMEDOUT);
    CHECK_INT(status.code, COOP_STATUS_DEADLINE_EXCEEDED);
    coop_stream_close(stream);

    /* A unary call with a deadline already too short to answer in: 1 ms against a 1 MiB echo. */
    Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
    request.data.len = 1024 * 1024;
    request.data.data = calloc(1, request.data.len);
    options.timeout_ms = 1;
    int deadline_seen = 0;
    for (int i = 0; i < 20 && !deadline_seen; i++) {
        Coop__V1__EchoResponse *reply = NULL;
        int r = coop_echo(client, &request, &options, &reply, &status);
        if (r == 0)
            coop__v1__echo_response__free_unpacked(reply, NULL);
        else if (status.code == COOP_STATUS_DEADLINE_EXCEEDED && r == -ETIMEDOUT)
            deadline_seen = 1;
        else
            test_failed(__FILE__, __LINE__, "unexpected %s: %s", coop_status_code_name(status.code),
                        coop_status_message(&status));
    }
    CHECK(deadline_seen);
    free(request.data.data);
    /* The client is still fine afterwards. */
    Coop__V1__EchoResponse *reply = NULL;
    CHECK_INT(coop_echo(client, NULL, &quick, &reply, &status), 0);
    if (reply)
        coop__v1__echo_response__free_unpacked(reply, NULL);
    coop_status_clear(&status);
    coop_client_close(client);
}

struct live_worker {
    coop_client *client;
    int index;
    int failures;
};

static void *live_echo_worker(void *argument) {
    struct live_worker *w = argument;
    for (int i = 0; i < 40; i++) {
        char text[48];
        snprintf(text, sizeof text, "thread %d call %d", w->index, i);
        Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
        request.data.data = (uint8_t *)text;
        request.data.len = strlen(text);
        Coop__V1__EchoResponse *reply = NULL;
        coop_status status = COOP_STATUS_INIT;
        if (coop_echo(w->client, &request, &quick, &reply, &status) < 0) {
            fprintf(stderr, "thread %d: %s\n", w->index, coop_status_message(&status));
            w->failures++;
        } else {
            if (reply->data.len != strlen(text) || memcmp(reply->data.data, text, reply->data.len) != 0)
                w->failures++;
            coop__v1__echo_response__free_unpacked(reply, NULL);
        }
        coop_status_clear(&status);
    }
    return NULL;
}

static void *live_watch_worker(void *argument) {
    struct live_worker *w = argument;
    coop_stream *stream = NULL;
    coop_status status = COOP_STATUS_INIT;
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = 1500;
    if (coop_health_watch(w->client, NULL, &options, &stream, &status) < 0) {
        w->failures++;
        return NULL;
    }
    coop_serving_status serving;
    if (coop_health_watch_next(stream, -1, &serving, &status) != 1 || serving != COOP_SERVING)
        w->failures++;
    /* Blocks in the reader role (or waits on it) while the echo threads run. */
    if (coop_health_watch_next(stream, -1, &serving, &status) != -ETIMEDOUT)
        w->failures++;
    coop_stream_close(stream);
    coop_status_clear(&status);
    return NULL;
}

void live_test_one_client_many_threads_and_a_stream(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    enum { THREADS = 4 };
    pthread_t threads[THREADS + 1];
    struct live_worker workers[THREADS + 1];
    workers[THREADS] = (struct live_worker){ client, THREADS, 0 };
    pthread_create(&threads[THREADS], NULL, live_watch_worker, &workers[THREADS]);
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct live_worker){ client, i, 0 };
        pthread_create(&threads[i], NULL, live_echo_worker, &workers[i]);
    }
    for (int i = 0; i <= THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK_INT(workers[i].failures, 0);
    }
    coop_client_close(client);
}

/* --- coop.v1.Cooperation ------------------------------------------------------------------------------------------ */

/* Each typed function reaches coopd's coop.v1.Cooperation and gets a decoded answer or a status that is about that
 * call (never a wire or decoding failure of the client). */
#define EXPECT_ANSWER(function, request, Type, free_function)                                                         \
    do {                                                                                                              \
        Type *reply_ = NULL;                                                                                          \
        int r_ = function(client, request, &quick, &reply_, &status);                                                 \
        if (r_ == 0) {                                                                                                \
            CHECK(reply_ != NULL);                                                                                    \
            free_function(reply_, NULL);                                                                              \
        } else {                                                                                                      \
            CHECK(reply_ == NULL);                                                                                    \
            CHECK(status.code != COOP_STATUS_INTERNAL && status.code != COOP_STATUS_UNAVAILABLE &&                    \
                  status.code != COOP_STATUS_DEADLINE_EXCEEDED);                                                      \
            if (status.code == COOP_STATUS_UNIMPLEMENTED)                                                             \
                CHECK(strstr(coop_status_message(&status), "coop.v1.Cooperation") ||                                  \
                      strstr(coop_status_message(&status), "method "));                                               \
        }                                                                                                             \
        answers += r_ == 0;                                                                                           \
    } while (0)

void live_test_every_cooperation_call_gets_an_answer_or_a_status(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    int answers = 0;
    Coop__V1__GetPairSummaryRequest pair = COOP__V1__GET_PAIR_SUMMARY_REQUEST__INIT;
    pair.country_a = (char *)"VN";
    pair.country_b = (char *)"JP";
    Coop__V1__GetSeriesRequest series = COOP__V1__GET_SERIES_REQUEST__INIT;
    series.indicator = (char *)"JP_MHLW_FOREIGN_WORKERS";
    series.origin = (char *)"VN";
    series.destination = (char *)"JP";
    Coop__V1__SearchRequest search = COOP__V1__SEARCH_REQUEST__INIT;
    search.query = (char *)"Dao Ngoc Dung";

    EXPECT_ANSWER(coop_list_countries, NULL, Coop__V1__ListCountriesResponse,
                  coop__v1__list_countries_response__free_unpacked);
    EXPECT_ANSWER(coop_get_pair_summary, &pair, Coop__V1__PairSummary, coop__v1__pair_summary__free_unpacked);
    EXPECT_ANSWER(coop_list_indicators, NULL, Coop__V1__ListIndicatorsResponse,
                  coop__v1__list_indicators_response__free_unpacked);
    EXPECT_ANSWER(coop_list_observations, NULL, Coop__V1__ListObservationsResponse,
                  coop__v1__list_observations_response__free_unpacked);
    EXPECT_ANSWER(coop_get_series, &series, Coop__V1__Series, coop__v1__series__free_unpacked);
    EXPECT_ANSWER(coop_list_events, NULL, Coop__V1__ListEventsResponse, coop__v1__list_events_response__free_unpacked);
    EXPECT_ANSWER(coop_list_agreements, NULL, Coop__V1__ListAgreementsResponse,
                  coop__v1__list_agreements_response__free_unpacked);
    EXPECT_ANSWER(coop_list_statements, NULL, Coop__V1__ListStatementsResponse,
                  coop__v1__list_statements_response__free_unpacked);
    EXPECT_ANSWER(coop_list_sources, NULL, Coop__V1__ListSourcesResponse,
                  coop__v1__list_sources_response__free_unpacked);
    EXPECT_ANSWER(coop_search, &search, Coop__V1__SearchResponse, coop__v1__search_response__free_unpacked);
    /* Writes with empty requests: coopd refuses them (validation, or UNIMPLEMENTED while the store is pending). */
    EXPECT_ANSWER(coop_put_source, NULL, Coop__V1__Source, coop__v1__source__free_unpacked);
    EXPECT_ANSWER(coop_put_indicator, NULL, Coop__V1__Indicator, coop__v1__indicator__free_unpacked);
    EXPECT_ANSWER(coop_add_observations, NULL, Coop__V1__AddObservationsResponse,
                  coop__v1__add_observations_response__free_unpacked);
    EXPECT_ANSWER(coop_revise_observation, NULL, Coop__V1__Observation, coop__v1__observation__free_unpacked);
    EXPECT_ANSWER(coop_retract_observation, NULL, Coop__V1__Observation, coop__v1__observation__free_unpacked);
    EXPECT_ANSWER(coop_put_event, NULL, Coop__V1__Event, coop__v1__event__free_unpacked);
    EXPECT_ANSWER(coop_put_agreement, NULL, Coop__V1__Agreement, coop__v1__agreement__free_unpacked);
    EXPECT_ANSWER(coop_add_statement, NULL, Coop__V1__Statement, coop__v1__statement__free_unpacked);
    EXPECT_ANSWER(coop_link_conflict, NULL, Coop__V1__LinkConflictResponse,
                  coop__v1__link_conflict_response__free_unpacked);

    coop_stream *stream = NULL;
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = 500;
    Coop__V1__WatchChangesRequest watch = COOP__V1__WATCH_CHANGES_REQUEST__INIT;
    watch.from_sequence = 1;
    CHECK_INT(coop_watch_changes(client, &watch, &options, &stream, &status), 0);
    Coop__V1__Change *change = NULL;
    int r;
    while ((r = coop_watch_changes_next(stream, -1, &change, &status)) == 1)
        coop__v1__change__free_unpacked(change, NULL);
    CHECK(status.code == COOP_STATUS_DEADLINE_EXCEEDED || status.code == COOP_STATUS_UNIMPLEMENTED);
    coop_stream_close(stream);

    fprintf(stderr, "    (coop.v1.Cooperation answered %d of 19 unary calls with data)\n", answers);
    coop_status_clear(&status);
    coop_client_close(client);
}
