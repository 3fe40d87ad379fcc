/*
 * Calls: the request envelope out, the response envelope (or stream of Data frames) in.
 *
 *   unary            Request (flags 0)        ->  Response { status?, payload }
 *   server stream    Request (remote closed)  ->  Data x N, then Data (remote closed | no data),
 *                                                 or a Response carrying the error status
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ttrpc/ttrpc.pb-c.h"

struct coop_stream {
    coop_client *client;
    struct coop_call call;
    const ProtobufCMessageDescriptor *descriptor;
    struct coop_deadline deadline;
    int64_t timeout_ms;
    bool finished;
    int32_t final_code;
    char *final_message;
};

static const coop_call_options default_options = COOP_CALL_OPTIONS_INIT;

static int check_arguments(const char *function, coop_client *client, const char *service, const char *method,
                           const ProtobufCMessage *request, const ProtobufCMessageDescriptor *response_descriptor,
                           const coop_call_options *options, const void *out, coop_status *status) {
    const char *missing = !client                ? "client"
                          : !service || !*service ? "service"
                          : !method || !*method   ? "method"
                          : !request             ? "request"
                          : !response_descriptor ? "response_descriptor"
                          : !out                 ? "result pointer"
                                                 : NULL;
    if (missing)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "%s: %s is NULL or empty", function, missing);
    if (request->descriptor == NULL || request->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC ||
        response_descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "%s: not a protobuf-c message or descriptor", function);
    if (options->timeout_ms < 0)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "%s: negative timeout_ms", function);
    if (options->n_metadata > 0 && !options->metadata)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "%s: metadata is NULL", function);
    for (size_t i = 0; i < options->n_metadata; i++)
        if (!options->metadata[i].key || !options->metadata[i].value)
            return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "%s: metadata[%zu] has a NULL key or value",
                             function, i);
    return 0;
}

/* Packs the Request envelope into a new frame buffer (header space first). */
static int encode_request(const char *service, const char *method, const ProtobufCMessage *request,
                          const coop_call_options *options, struct coop_deadline deadline, uint8_t **frame,
                          size_t *frame_length, coop_status *status) {
    size_t payload_length = protobuf_c_message_get_packed_size(request);
    if (payload_length > COOP_MAX_PAYLOAD)
        return coop_fail(status, COOP_STATUS_RESOURCE_EXHAUSTED,
                         "request of %zu bytes exceeds the %u-byte frame limit", payload_length, COOP_MAX_PAYLOAD);
    if (coop_deadline_passed(deadline))
        return coop_fail(status, COOP_STATUS_DEADLINE_EXCEEDED, "deadline exceeded before the request was sent");

    int r = 0;
    uint8_t *payload = malloc(payload_length ? payload_length : 1);
    Ttrpc__KeyValue *pairs = calloc(options->n_metadata ? options->n_metadata : 1, sizeof *pairs);
    Ttrpc__KeyValue **pair_pointers = calloc(options->n_metadata ? options->n_metadata : 1, sizeof *pair_pointers);
    if (!payload || !pairs || !pair_pointers) {
        r = coop_fail_nomem(status);
        goto out;
    }
    protobuf_c_message_pack(request, payload);

    Ttrpc__Request envelope = TTRPC__REQUEST__INIT;
    envelope.service = (char *)service;
    envelope.method = (char *)method;
    envelope.payload.data = payload;
    envelope.payload.len = payload_length;
    if (deadline.set) {
        int64_t left = coop_deadline_remaining_ns(deadline);
        envelope.timeout_nano = left > 0 ? left : 1;
    }
    for (size_t i = 0; i < options->n_metadata; i++) {
        ttrpc__key_value__init(&pairs[i]);
        pairs[i].key = (char *)options->metadata[i].key;
        pairs[i].value = (char *)options->metadata[i].value;
        pair_pointers[i] = &pairs[i];
    }
    envelope.n_metadata = options->n_metadata;
    envelope.metadata = pair_pointers;

    size_t envelope_length = ttrpc__request__get_packed_size(&envelope);
    if (envelope_length > COOP_MAX_PAYLOAD) {
        r = coop_fail(status, COOP_STATUS_RESOURCE_EXHAUSTED, "request of %zu bytes exceeds the %u-byte frame limit",
                      envelope_length, COOP_MAX_PAYLOAD);
        goto out;
    }
    *frame = malloc(COOP_FRAME_HEADER_SIZE + envelope_length);
    if (!*frame) {
        r = coop_fail_nomem(status);
        goto out;
    }
    ttrpc__request__pack(&envelope, *frame + COOP_FRAME_HEADER_SIZE);
    *frame_length = COOP_FRAME_HEADER_SIZE + envelope_length;
out:
    free(payload);
    free(pairs);
    free(pair_pointers);
    return r;
}

/* Decodes a Response frame: its status, then (when OK and `message` is not NULL) its payload. */
static int decode_response(const struct coop_frame *frame, uint32_t id, const ProtobufCMessageDescriptor *descriptor,
                           ProtobufCMessage **message, coop_status *status) {
    Ttrpc__Response *response = ttrpc__response__unpack(NULL, frame->length, frame->payload);
    if (!response)
        return coop_fail(status, COOP_STATUS_INTERNAL, "coopd's Response on stream %u does not decode as ttrpc.Response",
                         (unsigned)id);
    int r = 0;
    if (response->status && response->status->code != COOP_STATUS_OK) {
        r = coop_fail_copy(status, response->status->code, response->status->message);
    } else if (message) {
        ProtobufCMessage *decoded =
            protobuf_c_message_unpack(descriptor, NULL, response->payload.len, response->payload.data);
        if (decoded) {
            *message = decoded;
            coop_status_set_ok(status);
        } else {
            r = coop_fail(status, COOP_STATUS_INTERNAL, "coopd's reply on stream %u does not decode as %s",
                          (unsigned)id, descriptor->name);
        }
    } else {
        coop_status_set_ok(status);
    }
    ttrpc__response__free_unpacked(response, NULL);
    return r;
}

/* Copies a call's failure into *status. Client mutex held. */
static int take_failure(const struct coop_call *call, coop_status *status) {
    return coop_fail_copy(status, call->fail_code, call->fail_message);
}

int coop_call(coop_client *client, const char *service, const char *method, const ProtobufCMessage *request,
              const ProtobufCMessageDescriptor *response_descriptor, const coop_call_options *options,
              ProtobufCMessage **response, coop_status *status) {
    if (!options)
        options = &default_options;
    int r = check_arguments("coop_call", client, service, method, request, response_descriptor, options, response,
                            status);
    if (r < 0)
        return r;

    struct coop_deadline deadline = coop_deadline_after_ms(options->timeout_ms > 0 ? options->timeout_ms : -1);
    uint8_t *frame = NULL;
    size_t frame_length = 0;
    if ((r = encode_request(service, method, request, options, deadline, &frame, &frame_length, status)) < 0)
        return r;

    struct coop_call call;
    memset(&call, 0, sizeof call);
    r = coop_client_start(client, &call, 0, frame, frame_length, deadline, status);
    free(frame);
    if (r < 0)
        return r;

    pthread_mutex_lock(&client->mu);
    int waited = coop_client_wait(client, &call, deadline);
    struct coop_frame *answer = waited == 0 ? coop_call_pop(&call) : NULL;
    if (waited == 0 && !answer)
        r = take_failure(&call, status);
    coop_call_release(client, &call);
    pthread_mutex_unlock(&client->mu);

    if (waited < 0)
        return coop_fail(status, COOP_STATUS_DEADLINE_EXCEEDED, "deadline exceeded: no answer from coopd within %lld ms",
                         (long long)options->timeout_ms);
    if (!answer)
        return r;
    /* A unary call only ever queues a Response: Data frames fail it in the reader. */
    r = decode_response(answer, call.id, response_descriptor, response, status);
    coop_frame_free(answer);
    return r;
}

/* --- server streams ---------------------------------------------------------------------------------------------- */

int coop_stream_open(coop_client *client, const char *service, const char *method, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *response_descriptor, const coop_call_options *options,
                     coop_stream **stream, coop_status *status) {
    if (!options)
        options = &default_options;
    int r = check_arguments("coop_stream_open", client, service, method, request, response_descriptor, options,
                            stream, status);
    if (r < 0)
        return r;

    coop_stream *s = calloc(1, sizeof *s);
    if (!s)
        return coop_fail_nomem(status);
    s->client = client;
    s->descriptor = response_descriptor;
    s->timeout_ms = options->timeout_ms;
    s->deadline = coop_deadline_after_ms(options->timeout_ms > 0 ? options->timeout_ms : -1);
    s->call.streaming = true;

    uint8_t *frame = NULL;
    size_t frame_length = 0;
    if ((r = encode_request(service, method, request, options, s->deadline, &frame, &frame_length, status)) < 0) {
        free(s);
        return r;
    }
    r = coop_client_start(client, &s->call, COOP_FLAG_REMOTE_CLOSED, frame, frame_length, s->deadline, status);
    free(frame);
    if (r < 0) {
        free(s);
        return r;
    }
    pthread_mutex_lock(&client->mu);
    coop_client_ref(client);
    pthread_mutex_unlock(&client->mu);
    coop_status_set_ok(status);
    *stream = s;
    return 0;
}

/* Ends the stream with a final status (code 0: ended OK), kept for later coop_stream_next() calls. */
static int finish(coop_stream *s, int32_t code, const char *message, coop_status *status) {
    pthread_mutex_lock(&s->client->mu);
    coop_call_release(s->client, &s->call);
    pthread_mutex_unlock(&s->client->mu);
    s->finished = true;
    s->final_code = code;
    free(s->final_message);
    s->final_message = message ? strdup(message) : NULL;
    if (code == COOP_STATUS_OK) {
        coop_status_set_ok(status);
        return 0;
    }
    return coop_fail_copy(status, code, message);
}

int coop_stream_next(coop_stream *s, int timeout_ms, ProtobufCMessage **message, coop_status *status) {
    if (!s || !message)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "coop_stream_next: %s is NULL",
                         !s ? "stream" : "message");
    if (s->finished) {
        if (s->final_code != COOP_STATUS_OK)
            return coop_fail_copy(status, s->final_code, s->final_message);
        coop_status_set_ok(status);
        return 0;
    }

    struct coop_deadline wait_until = coop_deadline_min(s->deadline, coop_deadline_after_ms(timeout_ms));
    for (;;) {
        coop_client *c = s->client;
        pthread_mutex_lock(&c->mu);
        int waited = coop_client_wait(c, &s->call, wait_until);
        struct coop_frame *frame = waited == 0 ? coop_call_pop(&s->call) : NULL;
        int32_t fail_code = s->call.fail_code;
        char *fail_message = NULL;
        if (waited == 0 && !frame) {
            fail_message = s->call.fail_message; /* moved out: finish() releases the call */
            s->call.fail_message = NULL;
        }
        pthread_mutex_unlock(&c->mu);

        if (waited < 0) {
            if (coop_deadline_passed(s->deadline)) {
                char text[96];
                snprintf(text, sizeof text, "deadline exceeded: the stream's %lld ms have passed",
                         (long long)s->timeout_ms);
                return finish(s, COOP_STATUS_DEADLINE_EXCEEDED, text, status);
            }
            coop_status_set_ok(status);
            return -EAGAIN;
        }
        if (!frame) {
            int r = finish(s, fail_code, fail_message, status);
            free(fail_message);
            return r;
        }

        int r;
        if (frame->type == COOP_FRAME_RESPONSE) {
            /* The stream's end: an error status, or (from some peers) an OK Response. */
            coop_status end = COOP_STATUS_INIT;
            decode_response(frame, s->call.id, s->descriptor, NULL, &end);
            coop_frame_free(frame);
            r = finish(s, end.code, end.message, status);
            coop_status_clear(&end);
            return r;
        }
        bool closing = frame->flags & COOP_FLAG_REMOTE_CLOSED;
        bool no_data = frame->flags & COOP_FLAG_NO_DATA;
        if (closing && !no_data && frame->length > 0) {
            char text[96];
            snprintf(text, sizeof text, "coopd closed stream %u with a Data frame that carries a payload",
                     (unsigned)s->call.id);
            coop_frame_free(frame);
            return finish(s, COOP_STATUS_INTERNAL, text, status);
        }
        if (closing) {
            coop_frame_free(frame);
            return finish(s, COOP_STATUS_OK, NULL, status);
        }
        if (no_data) {
            coop_frame_free(frame);
            continue;
        }
        ProtobufCMessage *decoded = protobuf_c_message_unpack(s->descriptor, NULL, frame->length, frame->payload);
        coop_frame_free(frame);
        if (!decoded) {
            char text[160];
            snprintf(text, sizeof text, "coopd's message on stream %u does not decode as %s", (unsigned)s->call.id,
                     s->descriptor->name);
            return finish(s, COOP_STATUS_INTERNAL, text, status);
        }
        *message = decoded;
        coop_status_set_ok(status);
        return 1;
    }
}

void coop_stream_close(coop_stream *s) {
    if (!s)
        return;
    coop_client *c = s->client;
    pthread_mutex_lock(&c->mu);
    coop_call_release(c, &s->call);
    pthread_mutex_unlock(&c->mu);
    free(s->final_message);
    free(s);
    coop_client_unref(c);
}

const ProtobufCMessageDescriptor *coop_stream_descriptor(const coop_stream *s) {
    return s->descriptor;
}

int coop_stream_run(coop_client *client, const char *service, const char *method, const ProtobufCMessage *request,
                    const ProtobufCMessageDescriptor *response_descriptor, const coop_call_options *options,
                    coop_message_callback callback, void *userdata, coop_status *status) {
    if (!callback)
        return coop_fail(status, COOP_STATUS_INVALID_ARGUMENT, "coop_stream_run: callback is NULL");
    coop_stream *s;
    int r = coop_stream_open(client, service, method, request, response_descriptor, options, &s, status);
    if (r < 0)
        return r;
    for (;;) {
        ProtobufCMessage *message = NULL;
        r = coop_stream_next(s, -1, &message, status);
        if (r <= 0 && r != -EAGAIN)
            break;
        if (r != 1)
            continue;
        int verdict = callback(message, userdata);
        protobuf_c_message_free_unpacked(message, NULL);
        if (verdict > 0) {
            coop_status_set_ok(status);
            r = 0;
            break;
        }
        if (verdict < 0) {
            coop_fail(status, COOP_STATUS_CANCELLED, "stopped by the callback");
            r = verdict;
            break;
        }
    }
    coop_stream_close(s);
    return r;
}
