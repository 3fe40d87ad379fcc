/*
 * The typed functions: one per method of coop.v1.Diagnostics, coop.v1.Cooperation and grpc.health.v1.Health,
 * each a thin layer over coop_call() / coop_stream_open() with the right service, method and message types.
 * (Written out by hand from Proto/; the test suite checks each sends its own service and method.)
 */
#define _GNU_SOURCE
#include <errno.h>

#include "grpc/health/v1/health.pb-c.h"
#include "internal.h"

#define DIAGNOSTICS "coop.v1.Diagnostics"
#define COOPERATION "coop.v1.Cooperation"
#define HEALTH "grpc.health.v1.Health"

/*
 * One unary method: NULL request means the empty message; the answer is decoded as RESPONSE_TYPE.
 * The message goes through a ProtobufCMessage * and is stored into the typed pointer only on success.
 */
#define COOP_UNARY(function, service, method, RequestType, request_prefix, ResponseType, response_prefix)        \
    int function(coop_client *client, const RequestType *request, const coop_call_options *options,              \
                 ResponseType **response, coop_status *status) {                                                \
        RequestType empty;                                                                                      \
        ProtobufCMessage *answer = NULL;                                                                        \
        if (!request) {                                                                                         \
            request_prefix##__init(&empty);                                                                     \
            request = &empty;                                                                                   \
        }                                                                                                       \
        if (!response)                                                                                          \
            return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, #function ": response is NULL");              \
        int r = coop_call(client, service, method, &request->base, &response_prefix##__descriptor, options,     \
                          &answer, status);                                                                     \
        if (r == 0)                                                                                             \
            *response = (ResponseType *)answer;                                                                 \
        return r;                                                                                               \
    }
COOP_UNARY(coop_echo, DIAGNOSTICS, "Echo", Coop__V1__EchoRequest, coop__v1__echo_request, Coop__V1__EchoResponse, coop__v1__echo_response)
COOP_UNARY(coop_get_server_info, DIAGNOSTICS, "GetServerInfo", Coop__V1__GetServerInfoRequest, coop__v1__get_server_info_request, Coop__V1__ServerInfo, coop__v1__server_info)
COOP_UNARY(coop_list_countries, COOPERATION, "ListCountries", Coop__V1__ListCountriesRequest, coop__v1__list_countries_request, Coop__V1__ListCountriesResponse, coop__v1__list_countries_response)
COOP_UNARY(coop_get_pair_summary, COOPERATION, "GetPairSummary", Coop__V1__GetPairSummaryRequest, coop__v1__get_pair_summary_request, Coop__V1__PairSummary, coop__v1__pair_summary)
COOP_UNARY(coop_list_indicators, COOPERATION, "ListIndicators", Coop__V1__ListIndicatorsRequest, coop__v1__list_indicators_request, Coop__V1__ListIndicatorsResponse, coop__v1__list_indicators_response)
COOP_UNARY(coop_list_observations, COOPERATION, "ListObservations", Coop__V1__ListObservationsRequest, coop__v1__list_observations_request, Coop__V1__ListObservationsResponse, coop__v1__list_observations_response)
COOP_UNARY(coop_get_series, COOPERATION, "GetSeries", Coop__V1__GetSeriesRequest, coop__v1__get_series_request, Coop__V1__Series, coop__v1__series)
COOP_UNARY(coop_list_events, COOPERATION, "ListEvents", Coop__V1__ListEventsRequest, coop__v1__list_events_request, Coop__V1__ListEventsResponse, coop__v1__list_events_response)
COOP_UNARY(coop_list_agreements, COOPERATION, "ListAgreements", Coop__V1__ListAgreementsRequest, coop__v1__list_agreements_request, Coop__V1__ListAgreementsResponse, coop__v1__list_agreements_response)
COOP_UNARY(coop_list_statements, COOPERATION, "ListStatements", Coop__V1__ListStatementsRequest, coop__v1__list_statements_request, Coop__V1__ListStatementsResponse, coop__v1__list_statements_response)
COOP_UNARY(coop_list_sources, COOPERATION, "ListSources", Coop__V1__ListSourcesRequest, coop__v1__list_sources_request, Coop__V1__ListSourcesResponse, coop__v1__list_sources_response)
COOP_UNARY(coop_search, COOPERATION, "Search", Coop__V1__SearchRequest, coop__v1__search_request, Coop__V1__SearchResponse, coop__v1__search_response)
COOP_UNARY(coop_list_relationships, COOPERATION, "ListRelationships", Coop__V1__ListRelationshipsRequest, coop__v1__list_relationships_request, Coop__V1__ListRelationshipsResponse, coop__v1__list_relationships_response)
COOP_UNARY(coop_put_source, COOPERATION, "PutSource", Coop__V1__PutSourceRequest, coop__v1__put_source_request, Coop__V1__Source, coop__v1__source)
COOP_UNARY(coop_put_indicator, COOPERATION, "PutIndicator", Coop__V1__PutIndicatorRequest, coop__v1__put_indicator_request, Coop__V1__Indicator, coop__v1__indicator)
COOP_UNARY(coop_add_observations, COOPERATION, "AddObservations", Coop__V1__AddObservationsRequest, coop__v1__add_observations_request, Coop__V1__AddObservationsResponse, coop__v1__add_observations_response)
COOP_UNARY(coop_revise_observation, COOPERATION, "ReviseObservation", Coop__V1__ReviseObservationRequest, coop__v1__revise_observation_request, Coop__V1__Observation, coop__v1__observation)
COOP_UNARY(coop_retract_observation, COOPERATION, "RetractObservation", Coop__V1__RetractObservationRequest, coop__v1__retract_observation_request, Coop__V1__Observation, coop__v1__observation)
COOP_UNARY(coop_put_event, COOPERATION, "PutEvent", Coop__V1__PutEventRequest, coop__v1__put_event_request, Coop__V1__Event, coop__v1__event)
COOP_UNARY(coop_put_agreement, COOPERATION, "PutAgreement", Coop__V1__PutAgreementRequest, coop__v1__put_agreement_request, Coop__V1__Agreement, coop__v1__agreement)
COOP_UNARY(coop_add_statement, COOPERATION, "AddStatement", Coop__V1__AddStatementRequest, coop__v1__add_statement_request, Coop__V1__Statement, coop__v1__statement)
COOP_UNARY(coop_link_conflict, COOPERATION, "LinkConflict", Coop__V1__LinkConflictRequest, coop__v1__link_conflict_request, Coop__V1__LinkConflictResponse, coop__v1__link_conflict_response)
COOP_UNARY(coop_put_relationship, COOPERATION, "PutRelationship", Coop__V1__PutRelationshipRequest, coop__v1__put_relationship_request, Coop__V1__Relationship, coop__v1__relationship)

/* --- WatchChanges --- */

int coop_watch_changes(coop_client *client, const Coop__V1__WatchChangesRequest *request,
                       const coop_call_options *options, coop_stream **stream, coop_status *status) {
    Coop__V1__WatchChangesRequest empty = COOP__V1__WATCH_CHANGES_REQUEST__INIT;
    return coop_stream_open(client, COOPERATION, "WatchChanges", request ? &request->base : &empty.base,
                            &coop__v1__change__descriptor, options, stream, status);
}

int coop_watch_changes_next(coop_stream *stream, int timeout_ms, Coop__V1__Change **change, coop_status *status) {
    if (!stream || !change || coop_stream_descriptor(stream) != &coop__v1__change__descriptor)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT,
                         "coop_watch_changes_next: needs a stream from coop_watch_changes() and a change pointer");
    ProtobufCMessage *message = NULL;
    int r = coop_stream_next(stream, timeout_ms, &message, status);
    if (r == 1)
        *change = (Coop__V1__Change *)message;
    return r;
}

struct change_callback {
    coop_change_callback callback;
    void *userdata;
};

static int forward_change(const ProtobufCMessage *message, void *userdata) {
    const struct change_callback *forward = userdata;
    return forward->callback((const Coop__V1__Change *)message, forward->userdata);
}

int coop_watch_changes_run(coop_client *client, const Coop__V1__WatchChangesRequest *request,
                           const coop_call_options *options, coop_change_callback callback, void *userdata,
                           coop_status *status) {
    if (!callback)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "coop_watch_changes_run: callback is NULL");
    struct change_callback forward = { callback, userdata };
    Coop__V1__WatchChangesRequest empty = COOP__V1__WATCH_CHANGES_REQUEST__INIT;
    return coop_stream_run(client, COOPERATION, "WatchChanges", request ? &request->base : &empty.base,
                           &coop__v1__change__descriptor, options, forward_change, &forward, status);
}

/* --- grpc.health.v1.Health --- */

static coop_serving_status serving_status(const Grpc__Health__V1__HealthCheckResponse *response) {
    switch (response->status) {
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING: return COOP_SERVING;
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING: return COOP_NOT_SERVING;
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN: return COOP_SERVICE_UNKNOWN;
    default: return COOP_SERVING_UNKNOWN;
    }
}

int coop_health_check(coop_client *client, const char *service, const coop_call_options *options,
                      coop_serving_status *serving, coop_status *status) {
    if (!serving)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "coop_health_check: serving is NULL");
    Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    request.service = (char *)(service ? service : "");
    ProtobufCMessage *answer = NULL;
    int r = coop_call(client, HEALTH, "Check", &request.base, &grpc__health__v1__health_check_response__descriptor,
                      options, &answer, status);
    if (r < 0)
        return r;
    *serving = serving_status((const Grpc__Health__V1__HealthCheckResponse *)answer);
    protobuf_c_message_free_unpacked(answer, NULL);
    return 0;
}

int coop_health_watch(coop_client *client, const char *service, const coop_call_options *options,
                      coop_stream **stream, coop_status *status) {
    Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    request.service = (char *)(service ? service : "");
    return coop_stream_open(client, HEALTH, "Watch", &request.base,
                            &grpc__health__v1__health_check_response__descriptor, options, stream, status);
}

int coop_health_watch_next(coop_stream *stream, int timeout_ms, coop_serving_status *serving, coop_status *status) {
    if (!stream || !serving ||
        coop_stream_descriptor(stream) != &grpc__health__v1__health_check_response__descriptor)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT,
                         "coop_health_watch_next: needs a stream from coop_health_watch() and a serving pointer");
    ProtobufCMessage *message = NULL;
    int r = coop_stream_next(stream, timeout_ms, &message, status);
    if (r == 1) {
        *serving = serving_status((const Grpc__Health__V1__HealthCheckResponse *)message);
        protobuf_c_message_free_unpacked(message, NULL);
    }
    return r;
}
