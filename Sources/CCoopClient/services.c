/*
 * The typed functions: one per method of coop.v1.Diagnostics, coop.v1.Cooperation and grpc.health.v1.Health,
 * each a thin layer over coop_call() / coop_stream_open() with the right service, method and message types.
 * The unary ones are generated from Proto/ (generated/coop_methods.h, by Proto/generate.sh); the streams and the
 * health check, whose signatures are shaped by hand, are written out below. The test suite checks each sends its
 * own service and method.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "grpc/health/v1/health.pb-c.h"
#include "internal.h"

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
#include "coop_methods.h"

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
