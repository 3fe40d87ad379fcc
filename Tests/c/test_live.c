/*
 * libcoopclient against a live coopd (started by run-tests.sh; its socket in $COOP_TEST_SOCKET).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coop/client.h"
#include "harness.h"

static const coop_call_options quick = { 10000, NULL, 0 };

#define CALL_OK(call)                                                                                                 \
    do {                                                                                                              \
        int r_ = (call);                                                                                              \
        if (r_ != 0)                                                                                                  \
            test_failed(__FILE__, __LINE__, "%s: %s: %s", #call, coop_status_code_name(status.code),                  \
                        coop_status_message(&status));                                                                \
    } while (0)

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

void live_test_get_metrics(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    Coop__V1__Metrics *metrics = NULL;
    CHECK_INT(coop_get_metrics(client, NULL, &quick, &metrics, &status), 0);
    if (metrics) {
        CHECK_STR(metrics->content_type, "text/plain; version=0.0.4; charset=utf-8");
        CHECK_CONTAINS(metrics->text, "# TYPE coopd_calls_total counter\n");
        /* Taken while this very call runs. */
        CHECK_CONTAINS(metrics->text, "coopd_calls_in_flight{service=\"coop.v1.Diagnostics\",method=\"GetMetrics\"} 1");
        coop__v1__metrics__free_unpacked(metrics, NULL);
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

/* Each typed function reaches coopd's coop.v1.Cooperation: the reads answer with data; the writes, sent empty, are
 * refused by validation (INVALID_ARGUMENT naming a field), which shows they reached their own method. */
#define EXPECT_READ(function, request, Type, free_function)                                                           \
    do {                                                                                                              \
        Type *reply_ = NULL;                                                                                          \
        int r_ = function(client, request, &quick, &reply_, &status);                                                 \
        if (r_ != 0)                                                                                                  \
            test_failed(__FILE__, __LINE__, "%s: %s: %s", #function, coop_status_code_name(status.code),              \
                        coop_status_message(&status));                                                                \
        if (reply_)                                                                                                   \
            free_function(reply_, NULL);                                                                              \
    } while (0)

#define EXPECT_REFUSED(function, Type)                                                                                \
    do {                                                                                                              \
        Type *reply_ = NULL;                                                                                          \
        CHECK_INT(function(client, NULL, &quick, &reply_, &status), -EINVAL);                                         \
        CHECK_INT(status.code, COOP_STATUS_INVALID_ARGUMENT);                                                         \
        CHECK(reply_ == NULL);                                                                                        \
    } while (0)

void live_test_every_cooperation_call_reaches_its_method(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    Coop__V1__GetPairSummaryRequest pair = COOP__V1__GET_PAIR_SUMMARY_REQUEST__INIT;
    pair.country_a = (char *)"VN";
    pair.country_b = (char *)"JP";
    Coop__V1__GetSeriesRequest series = COOP__V1__GET_SERIES_REQUEST__INIT;
    series.indicator = (char *)"JP_MHLW_FOREIGN_WORKERS";
    series.origin = (char *)"VN";
    series.destination = (char *)"JP";
    Coop__V1__SearchRequest search = COOP__V1__SEARCH_REQUEST__INIT;
    search.query = (char *)"Dao Ngoc Dung";

    EXPECT_READ(coop_list_countries, NULL, Coop__V1__ListCountriesResponse,
                coop__v1__list_countries_response__free_unpacked);
    EXPECT_READ(coop_get_pair_summary, &pair, Coop__V1__PairSummary, coop__v1__pair_summary__free_unpacked);
    EXPECT_READ(coop_list_indicators, NULL, Coop__V1__ListIndicatorsResponse,
                coop__v1__list_indicators_response__free_unpacked);
    EXPECT_READ(coop_list_observations, NULL, Coop__V1__ListObservationsResponse,
                coop__v1__list_observations_response__free_unpacked);
    EXPECT_READ(coop_get_series, &series, Coop__V1__Series, coop__v1__series__free_unpacked);
    EXPECT_READ(coop_list_events, NULL, Coop__V1__ListEventsResponse, coop__v1__list_events_response__free_unpacked);
    EXPECT_READ(coop_list_agreements, NULL, Coop__V1__ListAgreementsResponse,
                coop__v1__list_agreements_response__free_unpacked);
    EXPECT_READ(coop_list_statements, NULL, Coop__V1__ListStatementsResponse,
                coop__v1__list_statements_response__free_unpacked);
    EXPECT_READ(coop_list_sources, NULL, Coop__V1__ListSourcesResponse, coop__v1__list_sources_response__free_unpacked);
    EXPECT_READ(coop_search, &search, Coop__V1__SearchResponse, coop__v1__search_response__free_unpacked);
    EXPECT_READ(coop_list_relationships, NULL, Coop__V1__ListRelationshipsResponse,
                coop__v1__list_relationships_response__free_unpacked);

    EXPECT_REFUSED(coop_put_source, Coop__V1__Source);
    EXPECT_REFUSED(coop_put_indicator, Coop__V1__Indicator);
    EXPECT_REFUSED(coop_add_observations, Coop__V1__AddObservationsResponse);
    EXPECT_REFUSED(coop_revise_observation, Coop__V1__Observation);
    EXPECT_REFUSED(coop_retract_observation, Coop__V1__Observation);
    EXPECT_REFUSED(coop_put_event, Coop__V1__Event);
    EXPECT_REFUSED(coop_put_agreement, Coop__V1__Agreement);
    EXPECT_REFUSED(coop_add_statement, Coop__V1__Statement);
    EXPECT_REFUSED(coop_link_conflict, Coop__V1__LinkConflictResponse);
    EXPECT_REFUSED(coop_put_relationship, Coop__V1__Relationship);

    /* WatchChanges from the first change, until its deadline: the stored history arrives, in order. */
    coop_stream *stream = NULL;
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = 1000;
    Coop__V1__WatchChangesRequest watch = COOP__V1__WATCH_CHANGES_REQUEST__INIT;
    watch.from_sequence = 1;
    CALL_OK(coop_watch_changes(client, &watch, &options, &stream, &status));
    Coop__V1__Change *change = NULL;
    int r;
    int64_t last = 0;
    while ((r = coop_watch_changes_next(stream, -1, &change, &status)) == 1) {
        CHECK_INT(change->sequence, last + 1);
        last = change->sequence;
        coop__v1__change__free_unpacked(change, NULL);
    }
    CHECK_INT(r, -ETIMEDOUT);
    CHECK_INT(status.code, COOP_STATUS_DEADLINE_EXCEEDED);
    CHECK(last >= 100); /* the seed alone writes more than its 100 figures */
    coop_stream_close(stream);

    coop_status_clear(&status);
    coop_client_close(client);
}

/* --- coop.v1.Cooperation on the shipped data (needs a coopd that serves it) ------------------------------------ */

void live_test_cooperation_reads_on_the_shipped_data(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;

    Coop__V1__ListCountriesResponse *countries = NULL;
    CALL_OK(coop_list_countries(client, NULL, &quick, &countries, &status));
    if (countries) {
        CHECK(countries->n_countries >= 249);
        bool vn = false, jp = false;
        for (size_t i = 0; i < countries->n_countries; i++) {
            const Coop__V1__Country *c = countries->countries[i];
            vn |= strcmp(c->code, "VN") == 0 && (strcmp(c->name, "Viet Nam") == 0 || strcmp(c->name, "Vietnam") == 0);
            jp |= strcmp(c->code, "JP") == 0 && strcmp(c->name, "Japan") == 0;
        }
        CHECK(vn && jp);
        coop__v1__list_countries_response__free_unpacked(countries, NULL);
    }

    Coop__V1__GetPairSummaryRequest pair = COOP__V1__GET_PAIR_SUMMARY_REQUEST__INIT;
    pair.country_a = (char *)"VN";
    pair.country_b = (char *)"JP";
    Coop__V1__PairSummary *summary = NULL;
    CALL_OK(coop_get_pair_summary(client, &pair, &quick, &summary, &status));
    if (summary) {
        CHECK(summary->relationship != NULL);
        if (summary->relationship) {
            CHECK_STR(summary->relationship->established, "1973-09-21");
            CHECK_CONTAINS(summary->relationship->level, "Comprehensive Strategic Partnership");
            CHECK_STR(summary->relationship->level_since, "2023-11-27");
        }
        bool workers = false;
        for (size_t i = 0; i < summary->n_indicators; i++)
            workers |= summary->indicators[i]->indicator &&
                       strcmp(summary->indicators[i]->indicator->code, "JP_MHLW_FOREIGN_WORKERS") == 0;
        CHECK(workers);
        CHECK(summary->n_recent_events > 0);
        coop__v1__pair_summary__free_unpacked(summary, NULL);
    }

    Coop__V1__ListIndicatorsResponse *indicators = NULL;
    CALL_OK(coop_list_indicators(client, NULL, &quick, &indicators, &status));
    if (indicators) {
        bool flow = false, stock = false;
        for (size_t i = 0; i < indicators->n_indicators; i++) {
            const Coop__V1__Indicator *in = indicators->indicators[i];
            flow |= strcmp(in->code, "VN_DOLAB_WORKERS_DEPLOYED") == 0 && in->measure == COOP__V1__MEASURE__MEASURE_FLOW;
            stock |= strcmp(in->code, "JP_MHLW_FOREIGN_WORKERS") == 0 && in->measure == COOP__V1__MEASURE__MEASURE_STOCK;
        }
        CHECK(flow && stock);
        coop__v1__list_indicators_response__free_unpacked(indicators, NULL);
    }

    /* The series worker_series prints: one point a year from 2015, each with its source. */
    Coop__V1__GetSeriesRequest request = COOP__V1__GET_SERIES_REQUEST__INIT;
    request.indicator = (char *)"JP_MHLW_FOREIGN_WORKERS";
    request.origin = (char *)"VN";
    request.destination = (char *)"JP";
    request.period_from = (char *)"2015";
    request.period_to = (char *)"2023-12-31";
    Coop__V1__Series *series = NULL;
    CALL_OK(coop_get_series(client, &request, &quick, &series, &status));
    if (series) {
        CHECK_INT(series->n_points, 9);
        for (size_t i = 0; i < series->n_points; i++) {
            char year[12];
            snprintf(year, sizeof year, "%04d", 2015 + (int)i);
            CHECK(strncmp(series->points[i]->period_start, year, 4) == 0);
            const Coop__V1__Observation *o = series->points[i]->observation;
            CHECK(o != NULL);
            bool sourced = false;
            for (size_t s = 0; o && s < series->n_sources; s++)
                sourced |= series->sources[s]->id == o->source_id;
            CHECK(sourced);
        }
        if (series->n_points >= 9) {
            CHECK_INT(series->points[0]->observation->value, 110013);
            CHECK_INT(series->points[1]->observation->value, 172018);
            CHECK_INT(series->points[8]->observation->value, 518364);
        }
        coop__v1__series__free_unpacked(series, NULL);
    }

    Coop__V1__ListEventsRequest events_request = COOP__V1__LIST_EVENTS_REQUEST__INIT;
    events_request.country = (char *)"VN";
    events_request.counterpart = (char *)"JP";
    events_request.from = (char *)"2022-06-29";
    events_request.to = (char *)"2022-06-29";
    Coop__V1__ListEventsResponse *events = NULL;
    CALL_OK(coop_list_events(client, &events_request, &quick, &events, &status));
    if (events) {
        bool minister = false;
        for (size_t i = 0; i < events->n_events; i++)
            for (size_t p = 0; p < events->events[i]->n_participants; p++)
                minister |= strcmp(events->events[i]->participants[p]->native_name, "Đào Ngọc Dung") == 0;
        CHECK(minister);
        coop__v1__list_events_response__free_unpacked(events, NULL);
    }

    Coop__V1__ListAgreementsRequest agreements_request = COOP__V1__LIST_AGREEMENTS_REQUEST__INIT;
    agreements_request.country = (char *)"VN";
    Coop__V1__ListAgreementsResponse *agreements = NULL;
    CALL_OK(coop_list_agreements(client, &agreements_request, &quick, &agreements, &status));
    if (agreements) {
        bool signed_2017 = false;
        for (size_t i = 0; i < agreements->n_agreements; i++)
            signed_2017 |= strcmp(agreements->agreements[i]->signed_date, "2017-06-06") == 0;
        CHECK(signed_2017);
        coop__v1__list_agreements_response__free_unpacked(agreements, NULL);
    }

    Coop__V1__ListStatementsRequest statements_request = COOP__V1__LIST_STATEMENTS_REQUEST__INIT;
    statements_request.speaker = (char *)"Dao Ngoc Dung"; /* diacritics folded */
    Coop__V1__ListStatementsResponse *statements = NULL;
    CALL_OK(coop_list_statements(client, &statements_request, &quick, &statements, &status));
    if (statements) {
        CHECK(statements->n_statements >= 1);
        for (size_t i = 0; i < statements->n_statements; i++)
            CHECK(statements->statements[i]->n_conflicts_with > 0);
        coop__v1__list_statements_response__free_unpacked(statements, NULL);
    }

    Coop__V1__ListSourcesRequest sources_request = COOP__V1__LIST_SOURCES_REQUEST__INIT;
    sources_request.page_size = 1000;
    Coop__V1__ListSourcesResponse *sources = NULL;
    CALL_OK(coop_list_sources(client, &sources_request, &quick, &sources, &status));
    if (sources) {
        CHECK(sources->n_sources >= 50);
        coop__v1__list_sources_response__free_unpacked(sources, NULL);
    }

    Coop__V1__SearchRequest search = COOP__V1__SEARCH_REQUEST__INIT;
    search.query = (char *)"Dao Ngoc Dung";
    Coop__V1__SearchResponse *hits = NULL;
    CALL_OK(coop_search(client, &search, &quick, &hits, &status));
    if (hits) {
        CHECK(hits->n_hits > 0);
        coop__v1__search_response__free_unpacked(hits, NULL);
    }
    coop_status_clear(&status);
    coop_client_close(client);
}

void live_test_paging_through_observations(void) {
    coop_client *client = connect_live();
    if (!client)
        return;
    coop_status status = COOP_STATUS_INIT;
    Coop__V1__ListObservationsRequest request = COOP__V1__LIST_OBSERVATIONS_REQUEST__INIT;
    request.any_breakdown = 1;
    request.include_superseded = 1;
    request.include_retracted = 1;
    request.page_size = 1000;
    /* Statistics only by default: no figure of a claim indicator. */
    Coop__V1__ListObservationsResponse *statistics = NULL;
    CALL_OK(coop_list_observations(client, &request, &quick, &statistics, &status));
    if (statistics) {
        for (size_t i = 0; i < statistics->n_observations; i++)
            CHECK(strncmp(statistics->observations[i]->indicator, "STATEMENT_", 10) != 0);
        CHECK(statistics->n_claim_statements == 0);
        coop__v1__list_observations_response__free_unpacked(statistics, NULL);
    }
    /* Every observation, claims included, each claim with its statement. */
    request.include_claims = 1;
    Coop__V1__ListObservationsResponse *whole = NULL;
    CALL_OK(coop_list_observations(client, &request, &quick, &whole, &status));
    if (!whole) {
        coop_client_close(client);
        return;
    }
    CHECK_STR(whole->next_page_token, "");
    CHECK(whole->n_observations >= 100);
    CHECK(whole->n_claim_statements >= 7);

    request.page_size = 7;
    size_t seen = 0, pages = 0;
    char *token = NULL;
    for (;;) {
        request.page_token = token ? token : (char *)"";
        Coop__V1__ListObservationsResponse *page = NULL;
        int r = coop_list_observations(client, &request, &quick, &page, &status);
        free(token);
        token = NULL;
        if (r < 0) {
            test_failed(__FILE__, __LINE__, "page %zu: %s", pages, coop_status_message(&status));
            break;
        }
        pages++;
        CHECK(page->n_observations <= 7);
        for (size_t i = 0; i < page->n_observations && seen + i < whole->n_observations; i++)
            CHECK_INT(page->observations[i]->id, whole->observations[seen + i]->id);
        seen += page->n_observations;
        if (page->next_page_token[0])
            token = strdup(page->next_page_token);
        coop__v1__list_observations_response__free_unpacked(page, NULL);
        if (!token || pages > 1000)
            break;
    }
    free(token);
    CHECK_INT(seen, whole->n_observations);
    CHECK_INT(pages, (whole->n_observations + 6) / 7);
    coop__v1__list_observations_response__free_unpacked(whole, NULL);

    request.page_size = 0;
    request.page_token = (char *)"not a token";
    Coop__V1__ListObservationsResponse *bad = NULL;
    CHECK_INT(coop_list_observations(client, &request, &quick, &bad, &status), -EINVAL);
    CHECK_CONTAINS(status.message, "page_token");
    coop_status_clear(&status);
    coop_client_close(client);
}

/* A request id unique to this run (a rerun against the same state must not be answered from an earlier run). */
static char *unique_id(const char *name) {
    static char ids[32][64];
    static int next;
    char *id = ids[next++ % 32];
    snprintf(id, sizeof ids[0], "%s-%ld-%ld", name, (long)getpid(), (long)time(NULL));
    return id;
}

/* The tests write PH -> JP figures, leaving the shipped VN -> JP series (which the examples print) as it is. */
static Coop__V1__Observation observation(const char *period, int64_t value, int64_t source_id) {
    Coop__V1__Observation o = COOP__V1__OBSERVATION__INIT;
    o.indicator = (char *)"JP_MHLW_FOREIGN_WORKERS";
    o.origin = (char *)"PH";
    o.destination = (char *)"JP";
    o.period_start = (char *)period;
    o.period_end = (char *)period;
    o.value = value;
    o.unit = (char *)"persons";
    o.source_id = source_id;
    o.vintage = (char *)"2026-01-15";
    return o;
}

/* Like the Swift end-to-end test: a write seen by a watcher on another connection, field-naming validation,
 * idempotent retries, revision and retraction; then every other write function with a plausible request. */
void live_test_writes_are_validated_idempotent_and_watched(void) {
    coop_client *watcher = connect_live();
    if (!watcher)
        return;
    coop_client *client = connect_live();
    if (!client) {
        coop_client_close(watcher);
        return;
    }
    coop_status status = COOP_STATUS_INIT;
    coop_call_options long_options = COOP_CALL_OPTIONS_INIT;
    long_options.timeout_ms = 20000;
    coop_stream *changes = NULL;
    CALL_OK(coop_watch_changes(watcher, NULL, &long_options, &changes, &status));
    /* The watch is registered once coopd has answered something after it on the same connection. */
    coop_serving_status serving;
    CALL_OK(coop_health_check(watcher, NULL, &quick, &serving, &status));

    Coop__V1__Source new_source = COOP__V1__SOURCE__INIT;
    new_source.title = (char *)"watched from C";
    new_source.publisher = (char *)"libcoopclient tests";
    new_source.url = (char *)"https://example.org/c";
    new_source.published = (char *)"2026-01-15";
    new_source.kind = COOP__V1__SOURCE_KIND__SOURCE_KIND_NEWS;
    Coop__V1__PutSourceRequest put_source = COOP__V1__PUT_SOURCE_REQUEST__INIT;
    put_source.request_id = unique_id("c-source-1");
    put_source.source = &new_source;
    Coop__V1__Source *source = NULL;
    CALL_OK(coop_put_source(client, &put_source, &quick, &source, &status));
    int64_t source_id = source ? source->id : 0;
    if (source)
        coop__v1__source__free_unpacked(source, NULL);
    CHECK(source_id > 0);

    Coop__V1__Change *change = NULL;
    if (changes && coop_watch_changes_next(changes, 10000, &change, &status) == 1) {
        CHECK_STR(change->entity_kind, "source");
        CHECK_INT(change->entity_id, source_id);
        CHECK_INT(change->operation, COOP__V1__CHANGE_OPERATION__CHANGE_OPERATION_INSERT);
        CHECK_INT(change->writer_uid, getuid());
        CHECK_INT(change->entity_case, COOP__V1__CHANGE__ENTITY_SOURCE);
        if (change->entity_case == COOP__V1__CHANGE__ENTITY_SOURCE)
            CHECK_STR(change->source->title, "watched from C");
        coop__v1__change__free_unpacked(change, NULL);
    } else {
        test_failed(__FILE__, __LINE__, "no change for the new source: %s", coop_status_message(&status));
    }
    coop_stream_close(changes);

    /* All or nothing, and the error names the field. */
    Coop__V1__Observation good = observation("2030-10-31", 1, source_id);
    Coop__V1__Observation bad = observation("2030-10-31", 1, source_id);
    bad.origin = (char *)"XX";
    Coop__V1__Observation *both[] = { &good, &bad };
    Coop__V1__AddObservationsRequest add = COOP__V1__ADD_OBSERVATIONS_REQUEST__INIT;
    add.request_id = unique_id("c-bad-1");
    add.observations = both;
    add.n_observations = 2;
    Coop__V1__AddObservationsResponse *added = NULL;
    CHECK_INT(coop_add_observations(client, &add, &quick, &added, &status), -EINVAL);
    CHECK_CONTAINS(status.message, "observations[1].origin");

    /* A retry with the same request_id is applied once. */
    add.request_id = unique_id("c-retry-1");
    add.n_observations = 1;
    int64_t first_id = 0;
    CALL_OK(coop_add_observations(client, &add, &quick, &added, &status));
    if (added) {
        CHECK_INT(added->n_observations, 1);
        first_id = added->n_observations ? added->observations[0]->id : 0;
        coop__v1__add_observations_response__free_unpacked(added, NULL);
        added = NULL;
    }
    CALL_OK(coop_add_observations(client, &add, &quick, &added, &status));
    if (added) {
        CHECK(added->n_observations == 1 && added->observations[0]->id == first_id);
        coop__v1__add_observations_response__free_unpacked(added, NULL);
    }

    Coop__V1__Observation revision = observation("2030-10-31", 2, source_id);
    revision.vintage = (char *)"2026-02-01";
    Coop__V1__ReviseObservationRequest revise = COOP__V1__REVISE_OBSERVATION_REQUEST__INIT;
    revise.request_id = unique_id("c-revise-1");
    revise.supersedes_id = first_id;
    revise.revision = &revision;
    Coop__V1__Observation *revised = NULL;
    CALL_OK(coop_revise_observation(client, &revise, &quick, &revised, &status));
    int64_t revised_id = 0;
    if (revised) {
        CHECK_INT(revised->supersedes_id, first_id);
        revised_id = revised->id;
        coop__v1__observation__free_unpacked(revised, NULL);
    }

    Coop__V1__RetractObservationRequest retract = COOP__V1__RETRACT_OBSERVATION_REQUEST__INIT;
    retract.request_id = unique_id("c-retract-1");
    retract.observation_id = revised_id;
    retract.reason = (char *)"test";
    Coop__V1__Observation *retracted = NULL;
    CALL_OK(coop_retract_observation(client, &retract, &quick, &retracted, &status));
    if (retracted) {
        CHECK(retracted->retracted);
        coop__v1__observation__free_unpacked(retracted, NULL);
    }

    /* The other writes: each is stored and answered with what was stored. */
    Coop__V1__Indicator indicator = COOP__V1__INDICATOR__INIT;
    indicator.code = (char *)"C_CLIENT_TEST_INDICATOR";
    indicator.name = (char *)"An indicator written by the C tests";
    indicator.compiler = (char *)"libcoopclient";
    indicator.measure = COOP__V1__MEASURE__MEASURE_STOCK;
    indicator.unit = (char *)"persons";
    indicator.period_basis = COOP__V1__PERIOD_BASIS__PERIOD_BASIS_AS_OF_DATE;
    Coop__V1__PutIndicatorRequest put_indicator = COOP__V1__PUT_INDICATOR_REQUEST__INIT;
    put_indicator.request_id = unique_id("c-indicator-1");
    put_indicator.indicator = &indicator;
    Coop__V1__Indicator *stored_indicator = NULL;
    CALL_OK(coop_put_indicator(client, &put_indicator, &quick, &stored_indicator, &status));
    if (stored_indicator)
        CHECK_STR(stored_indicator->code, "C_CLIENT_TEST_INDICATOR");
    if (stored_indicator)
        coop__v1__indicator__free_unpacked(stored_indicator, NULL);

    char *countries[] = { (char *)"VN", (char *)"JP" };
    Coop__V1__Event event = COOP__V1__EVENT__INIT;
    event.kind = COOP__V1__EVENT_KIND__EVENT_KIND_MEETING;
    event.title = (char *)"C client test meeting";
    event.countries = countries;
    event.n_countries = 2;
    event.planned_date = (char *)"2030-01-01";
    event.status = COOP__V1__EVENT_STATUS__EVENT_STATUS_ANNOUNCED;
    event.source_ids = &source_id;
    event.n_source_ids = 1;
    Coop__V1__PutEventRequest put_event = COOP__V1__PUT_EVENT_REQUEST__INIT;
    put_event.request_id = unique_id("c-event-1");
    put_event.event = &event;
    Coop__V1__Event *stored_event = NULL;
    CALL_OK(coop_put_event(client, &put_event, &quick, &stored_event, &status));
    if (stored_event)
        CHECK(stored_event->id > 0);
    if (stored_event)
        coop__v1__event__free_unpacked(stored_event, NULL);

    Coop__V1__Party party_vn = COOP__V1__PARTY__INIT, party_jp = COOP__V1__PARTY__INIT;
    party_vn.name = (char *)"MOLISA";
    party_vn.country = (char *)"VN";
    party_jp.name = (char *)"MHLW";
    party_jp.country = (char *)"JP";
    Coop__V1__Party *parties[] = { &party_vn, &party_jp };
    Coop__V1__Agreement agreement = COOP__V1__AGREEMENT__INIT;
    agreement.kind = COOP__V1__AGREEMENT_KIND__AGREEMENT_KIND_MEMORANDUM;
    agreement.title = (char *)"C client test memorandum";
    agreement.parties = parties;
    agreement.n_parties = 2;
    agreement.signed_date = (char *)"2030-01-02";
    agreement.source_ids = &source_id;
    agreement.n_source_ids = 1;
    Coop__V1__PutAgreementRequest put_agreement = COOP__V1__PUT_AGREEMENT_REQUEST__INIT;
    put_agreement.request_id = unique_id("c-agreement-1");
    put_agreement.agreement = &agreement;
    Coop__V1__Agreement *stored_agreement = NULL;
    CALL_OK(coop_put_agreement(client, &put_agreement, &quick, &stored_agreement, &status));
    if (stored_agreement)
        CHECK(stored_agreement->id > 0 && stored_agreement->n_parties == 2);
    if (stored_agreement)
        coop__v1__agreement__free_unpacked(stored_agreement, NULL);

    Coop__V1__Participant speaker = COOP__V1__PARTICIPANT__INIT;
    speaker.name = (char *)"Test Speaker";
    speaker.country = (char *)"VN";
    Coop__V1__Statement statement = COOP__V1__STATEMENT__INIT;
    statement.speaker = &speaker;
    statement.said_on = (char *)"2030-01-03";
    statement.text = (char *)"A statement written by the C tests";
    statement.source_id = source_id;
    Coop__V1__AddStatementRequest add_statement = COOP__V1__ADD_STATEMENT_REQUEST__INIT;
    add_statement.request_id = unique_id("c-statement-1");
    add_statement.statement = &statement;
    Coop__V1__Statement *stored_statement = NULL;
    CALL_OK(coop_add_statement(client, &add_statement, &quick, &stored_statement, &status));
    if (stored_statement)
        CHECK(stored_statement->id > 0);
    if (stored_statement)
        coop__v1__statement__free_unpacked(stored_statement, NULL);

    /* Two observations that disagree. */
    Coop__V1__Observation other = observation("2031-10-31", 5, source_id);
    Coop__V1__Observation *one[] = { &other };
    add.request_id = unique_id("c-other-1");
    add.observations = one;
    added = NULL;
    CALL_OK(coop_add_observations(client, &add, &quick, &added, &status));
    int64_t other_id = added && added->n_observations ? added->observations[0]->id : 0;
    if (added)
        coop__v1__add_observations_response__free_unpacked(added, NULL);
    Coop__V1__LinkConflictRequest link = COOP__V1__LINK_CONFLICT_REQUEST__INIT;
    link.request_id = unique_id("c-link-1");
    link.observation_id = first_id;
    link.conflicts_with_id = other_id;
    link.note = (char *)"C test";
    Coop__V1__LinkConflictResponse *linked = NULL;
    CALL_OK(coop_link_conflict(client, &link, &quick, &linked, &status));
    if (linked) {
        CHECK(linked->observation && linked->observation->id == first_id);
        bool listed = false;
        for (size_t i = 0; linked->observation && i < linked->observation->n_conflicts_with; i++)
            listed |= linked->observation->conflicts_with[i] == other_id;
        CHECK(listed);
    }
    if (linked)
        coop__v1__link_conflict_response__free_unpacked(linked, NULL);

    /* From a sequence: the history first. */
    Coop__V1__WatchChangesRequest from_start = COOP__V1__WATCH_CHANGES_REQUEST__INIT;
    from_start.from_sequence = 1;
    CALL_OK(coop_watch_changes(watcher, &from_start, &long_options, &changes, &status));
    change = NULL;
    if (changes && coop_watch_changes_next(changes, 10000, &change, &status) == 1) {
        CHECK_INT(change->sequence, 1);
        coop__v1__change__free_unpacked(change, NULL);
    } else {
        test_failed(__FILE__, __LINE__, "no first change: %s", coop_status_message(&status));
    }
    coop_stream_close(changes);

    coop_status_clear(&status);
    coop_client_close(client);
    coop_client_close(watcher);
}
