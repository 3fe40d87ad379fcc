/*
 * coop/client.h: libcoopclient, the C client of coopd.
 *
 * coopd serves bilateral cooperation data as ttrpc (containerd's RPC protocol: protobuf messages in
 * 10-byte-header frames) over a Unix stream socket. This library speaks that protocol from C99 on top of
 * libprotobuf-c. The messages are the protoc-c structs of the .proto files in Proto/coop/v1/, declared in
 * <coop/v1/cooperation.pb-c.h> and <coop/v1/diagnostics.pb-c.h> (included below).
 *
 * Build:  cc prog.c $(pkg-config --cflags --libs coopclient)
 *
 * Programs including this header need C11 (protoc-c declares oneofs as anonymous unions): it compiles with
 * `-std=c11 -pedantic -Werror` (checked by make test-c), and with gcc's and clang's C99 modes short of -pedantic.
 *
 * A minimal program:
 *
 *     coop_client *client;
 *     int r = coop_client_connect(NULL, 1000, &client);       // NULL: coopd's default socket
 *     if (r < 0) { fprintf(stderr, "connect: %s\n", strerror(-r)); return 1; }
 *
 *     Coop__V1__EchoRequest request = COOP__V1__ECHO_REQUEST__INIT;
 *     request.data.data = (uint8_t *)"hi";
 *     request.data.len = 2;
 *     coop_call_options options = COOP_CALL_OPTIONS_INIT;
 *     options.timeout_ms = 2000;
 *     Coop__V1__EchoResponse *reply = NULL;
 *     coop_status status = COOP_STATUS_INIT;
 *     r = coop_echo(client, &request, &options, &reply, &status);
 *     if (r < 0) {
 *         fprintf(stderr, "Echo: %s: %s\n", coop_status_code_name(status.code), coop_status_message(&status));
 *     } else {
 *         printf("%.*s\n", (int)reply->data.len, (const char *)reply->data.data);
 *         coop__v1__echo_response__free_unpacked(reply, NULL);  // the caller owns what a call returns
 *     }
 *     coop_status_clear(&status);
 *     coop_client_close(client);
 *
 * Conventions, for every function below:
 *
 * - Return values: 0 (or a documented positive value) on success, a negative errno on failure. A call that
 *   reached coopd and got an error status returns coop_status_to_errno(status code) (NOT_FOUND -> -ENOENT ...);
 *   running out of memory returns -ENOMEM. The status out-parameter says what happened in either case.
 * - Status: every call takes a `coop_status *` (may be NULL when the caller does not care). It must point to a
 *   status initialised with COOP_STATUS_INIT (or coop_status_clear()); the call releases whatever message it
 *   held and fills it: code 0 and message NULL on success, otherwise a gRPC code and a message. Codes come from
 *   coopd, or from this library for failures it detects itself:
 *     DEADLINE_EXCEEDED  the call's timeout passed (coopd's answer, or the local timer if that fired first)
 *     UNAVAILABLE        the connection is closed or broken (the client is then unusable: close it and reconnect);
 *                        coopd closes a connection left idle, with no call or stream running, for --idle-timeout
 *                        (300 s by default), so a long-lived client that calls rarely reconnects on UNAVAILABLE
 *     INTERNAL           coopd's reply broke the protocol (an envelope or payload that does not decode, a Data
 *                        frame on a unary call, ...); the connection stays usable
 *     RESOURCE_EXHAUSTED a frame over 4 MiB (sent: refused before writing; received: skipped, the call fails, the
 *                        connection stays usable), or a stream whose messages were not read fast enough
 *     INVALID_ARGUMENT   a bad argument (NULL where one is required, ...); nothing was sent
 *     CANCELLED          the client was closed while a stream was open
 * - Ownership: a message returned through an out-parameter (`Coop__V1__... **`, `ProtobufCMessage **`) belongs
 *   to the caller, who frees it with protobuf_c_message_free_unpacked(&msg->base, NULL) (or the generated
 *   coop__v1__..._free_unpacked(msg, NULL)); it is set only on success and left untouched otherwise. Arguments
 *   are borrowed for the duration of the call only. Strings returned by coop_version(),
 *   coop_status_code_name() and coop_status_message() are static or owned by the status: never free them.
 * - Requests: every typed function accepts a NULL request, meaning the empty (all-default) message.
 * - Threads: a coop_client may be used from any number of threads at once. All calls on one client share one
 *   connection and are multiplexed on it: each call gets its own ttrpc stream (odd ids, strictly increasing in
 *   sending order), writes of whole frames are serialised by a mutex, and whichever waiting thread holds the
 *   "reader" role reads frames and hands each to the call it belongs to (a thread waiting to write a large
 *   request reads too), so a stream left unread never blocks the unary calls of other threads. A coop_stream
 *   may be used by one thread at a time (different streams of one client: any threads). coop_client_close()
 *   must not run concurrently with other uses of the same client. The library installs no signal handlers
 *   (writes use MSG_NOSIGNAL: no SIGPIPE) and keeps no global state.
 * - fork(): the socket is shared with the child (and closed on exec). A child must neither use nor close a
 *   client of its parent (closing shuts the connection down for both); it connects anew.
 */
#ifndef COOP_CLIENT_H
#define COOP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* The generated message types of coop.v1 (exported by the library as coop__v1__*). */
#include "coop/v1/cooperation.pb-c.h"
#include "coop/v1/diagnostics.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------------------------- */
/* Version */

#define COOP_VERSION_MAJOR 0
#define COOP_VERSION_MINOR 3
#define COOP_VERSION_PATCH 0
/* The version of this header, as a string and as MAJOR*1000000 + MINOR*1000 + PATCH. */
#define COOP_VERSION "0.3.0"
#define COOP_VERSION_NUMBER (COOP_VERSION_MAJOR * 1000000 + COOP_VERSION_MINOR * 1000 + COOP_VERSION_PATCH)

/* The version of the library linked at run time, e.g. "0.1.0" (static string, never NULL, never freed). */
const char *coop_version(void);

/* The same, as MAJOR*1000000 + MINOR*1000 + PATCH. */
uint32_t coop_version_number(void);

/* ---------------------------------------------------------------------------------------------------------------- */
/* Status */

/* gRPC status codes, as ttrpc and coopd use them. */
typedef enum coop_status_code {
    COOP_STATUS_OK = 0,
    COOP_STATUS_CANCELLED = 1,
    COOP_STATUS_UNKNOWN = 2,
    COOP_STATUS_INVALID_ARGUMENT = 3,
    COOP_STATUS_DEADLINE_EXCEEDED = 4,
    COOP_STATUS_NOT_FOUND = 5,
    COOP_STATUS_ALREADY_EXISTS = 6,
    COOP_STATUS_PERMISSION_DENIED = 7,
    COOP_STATUS_RESOURCE_EXHAUSTED = 8,
    COOP_STATUS_FAILED_PRECONDITION = 9,
    COOP_STATUS_ABORTED = 10,
    COOP_STATUS_OUT_OF_RANGE = 11,
    COOP_STATUS_UNIMPLEMENTED = 12,
    COOP_STATUS_INTERNAL = 13,
    COOP_STATUS_UNAVAILABLE = 14,
    COOP_STATUS_DATA_LOSS = 15,
    COOP_STATUS_UNAUTHENTICATED = 16
} coop_status_code;

/*
 * The outcome of one RPC. Declare it with COOP_STATUS_INIT, pass its address to calls (it may be reused across
 * calls: each call releases the previous message), and release it with coop_status_clear() when done.
 *   code     a coop_status_code; coopd may in principle send a code outside 0..16, which is kept as sent.
 *   message  NUL-terminated text owned by the status (malloc'd by the library; freed by coop_status_clear()),
 *            or NULL when there is none (always NULL when code is 0).
 */
typedef struct coop_status {
    int32_t code;
    char *message;
} coop_status;

#define COOP_STATUS_INIT { 0, NULL }

/* Frees status->message and resets the status to COOP_STATUS_INIT. NULL is allowed (does nothing). */
void coop_status_clear(coop_status *status);

/* status->message, or "" when there is none or status is NULL. Owned by the status; never NULL. */
const char *coop_status_message(const coop_status *status);

/* "OK", "NOT_FOUND", ... for codes 0..16, "UNKNOWN_CODE" otherwise. Static; never NULL. */
const char *coop_status_code_name(int32_t code);

/*
 * The negative errno this library returns for a status code:
 *   OK 0, CANCELLED -ECANCELED, UNKNOWN -EIO, INVALID_ARGUMENT -EINVAL, DEADLINE_EXCEEDED -ETIMEDOUT,
 *   NOT_FOUND -ENOENT, ALREADY_EXISTS -EEXIST, PERMISSION_DENIED -EACCES, RESOURCE_EXHAUSTED -ENOBUFS,
 *   FAILED_PRECONDITION -EBUSY, ABORTED -EDEADLK, OUT_OF_RANGE -ERANGE, UNIMPLEMENTED -EOPNOTSUPP,
 *   INTERNAL -EPROTO, UNAVAILABLE -ECONNRESET, DATA_LOSS -EBADMSG, UNAUTHENTICATED -EPERM, any other code -EIO.
 */
int coop_status_to_errno(int32_t code);

/* ---------------------------------------------------------------------------------------------------------------- */
/* Client */

/* A connection to coopd. Opaque; created by coop_client_connect(), destroyed by coop_client_close(). */
typedef struct coop_client coop_client;

/*
 * Connects to coopd's socket at `path` (borrowed; at most 107 bytes). NULL means coopd's default, first found of:
 * $COOP_SOCKET if set and non-empty (as coopctl reads it), else $COOPD_SOCKET if set and non-empty (as coopd reads
 * it), else /run/coopd/coopd.sock for root, else $XDG_RUNTIME_DIR/coopd/coopd.sock, else
 * /tmp/coopd-UID/coopd.sock. Only that one path is tried. A per-user default is used only when its directory and socket are this user's alone
 * (owned by the user, writable by nobody else, and so every directory above it unless sticky, like /tmp):
 * otherwise -EPERM, as another user could have created the directory first. `timeout_ms` bounds the wait
 * while the daemon's listen queue is full (negative: no bound; 0: one attempt).
 * On success returns 0 and sets *client to a new client, which the caller owns and closes with
 * coop_client_close(). On failure returns a negative errno (-ENOENT no such socket, -ECONNREFUSED nobody
 * listening, -EACCES, -EPERM an untrusted per-user default, -ENAMETOOLONG, -ETIMEDOUT, -EINVAL for a NULL
 * client, ...) and leaves *client untouched.
 */
int coop_client_connect(const char *path, int timeout_ms, coop_client **client);

/*
 * Closes the connection and releases the client. NULL is allowed (does nothing). Streams still open on the
 * client stay valid (their next coop_stream_next() reports CANCELLED) and must still be closed with
 * coop_stream_close(); the memory is released when the last of them is. Must not run concurrently with other
 * calls on the same client.
 */
void coop_client_close(coop_client *client);

/* ---------------------------------------------------------------------------------------------------------------- */
/* Call options */

/* One metadata pair sent with a call. Both strings are borrowed for the call and must be UTF-8. */
typedef struct coop_metadata {
    const char *key;
    const char *value;
} coop_metadata;

/*
 * Per-call options; NULL everywhere means COOP_CALL_OPTIONS_INIT (no timeout, no metadata). Fields may be added
 * in a later version; initialise with COOP_CALL_OPTIONS_INIT and set fields by name.
 *   timeout_ms    > 0: the call must complete within this many milliseconds of its start: coopd receives the
 *                 time left (ttrpc timeout_nano) and the library stops waiting when it passes (DEADLINE_EXCEEDED).
 *                 For a stream it bounds the whole stream. 0: no timeout. Negative: INVALID_ARGUMENT.
 *                 A request frame already partly written when the timeout passes is still finished (for up to
 *                 5 s more; after that the connection is given up) so that the connection stays usable.
 *   metadata      an array of n_metadata pairs (borrowed; keys may repeat), or NULL when n_metadata is 0.
 */
typedef struct coop_call_options {
    int64_t timeout_ms;
    const coop_metadata *metadata;
    size_t n_metadata;
} coop_call_options;

#define COOP_CALL_OPTIONS_INIT { 0, NULL, 0 }

/* ---------------------------------------------------------------------------------------------------------------- */
/* Generic calls: any service, any method, any protoc-c message */

/*
 * Calls `method` (bare name, e.g. "Echo") of `service` (fully qualified, e.g. "coop.v1.Diagnostics") with
 * `request` (borrowed) and decodes the answer as a `response_descriptor` message.
 * Returns 0 and sets *response (caller frees with protobuf_c_message_free_unpacked(*response, NULL)) when the
 * status is OK; otherwise returns a negative errno, fills *status and leaves *response untouched.
 */
int coop_call(coop_client *client, const char *service, const char *method, const ProtobufCMessage *request,
              const ProtobufCMessageDescriptor *response_descriptor, const coop_call_options *options,
              ProtobufCMessage **response, coop_status *status);

/*
 * A server stream: the messages of one server-streaming call, in order. Opaque; created by coop_stream_open()
 * or a typed opener (coop_watch_changes(), coop_health_watch()), destroyed by coop_stream_close().
 * A stream keeps its client's memory alive, not its connection.
 */
typedef struct coop_stream coop_stream;

/*
 * Starts a server-streaming call (the request is sent at once; `request` is borrowed). Returns 0 and sets
 * *stream (caller owns it; close with coop_stream_close()), or a negative errno with *status filled and *stream
 * untouched. The options' timeout bounds the whole stream.
 */
int coop_stream_open(coop_client *client, const char *service, const char *method, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *response_descriptor, const coop_call_options *options,
                     coop_stream **stream, coop_status *status);

/*
 * Waits for the next message of the stream, at most `timeout_ms` milliseconds (negative: no bound other than
 * the stream's own timeout; 0: only what has already arrived). Returns:
 *    1         *message is the next message (caller frees it with protobuf_c_message_free_unpacked());
 *    0         the stream ended OK (coopd sent its last message); status OK;
 *   -EAGAIN    nothing arrived within timeout_ms; the stream is still open (status OK); call again;
 *   other < 0  the stream ended with the error in *status (coopd's status, or DEADLINE_EXCEEDED, UNAVAILABLE,
 *              INTERNAL, ... as for any call).
 * Once the stream has ended, further calls return the same 0 or error again. *message is set only when 1 is
 * returned.
 */
int coop_stream_next(coop_stream *stream, int timeout_ms, ProtobufCMessage **message, coop_status *status);

/*
 * Closes the stream and releases it. NULL is allowed (does nothing). Closing a stream that has not ended
 * abandons it: ttrpc has no cancel frame, so coopd stops only at the stream's timeout or when the connection
 * closes; the library discards what it still sends.
 */
void coop_stream_close(coop_stream *stream);

/*
 * Called by coop_stream_run() for each message. `message` is borrowed: it is freed when the callback returns.
 * Return 0 to go on, a positive value to stop (coop_stream_run() then returns 0), or a negative errno to stop
 * with that error (coop_stream_run() returns it; its status is CANCELLED "stopped by the callback").
 */
typedef int (*coop_message_callback)(const ProtobufCMessage *message, void *userdata);

/*
 * Opens a server stream, calls `callback` for each message until the stream ends or the callback stops it, and
 * closes the stream. Returns 0 when the stream ended OK or the callback returned a positive value; otherwise
 * a negative errno with *status filled.
 */
int coop_stream_run(coop_client *client, const char *service, const char *method, const ProtobufCMessage *request,
                    const ProtobufCMessageDescriptor *response_descriptor, const coop_call_options *options,
                    coop_message_callback callback, void *userdata, coop_status *status);

/* ---------------------------------------------------------------------------------------------------------------- */
/* coop.v1.Diagnostics */

/* Echo: returns the request's data unchanged. */
int coop_echo(coop_client *client, const Coop__V1__EchoRequest *request, const coop_call_options *options,
              Coop__V1__EchoResponse **response, coop_status *status);

/* GetServerInfo: version, start time, uptime, pid, socket, connection and call counters, errors by code. */
int coop_get_server_info(coop_client *client, const Coop__V1__GetServerInfoRequest *request,
                         const coop_call_options *options, Coop__V1__ServerInfo **response, coop_status *status);

/* GetMetrics: the daemon's metrics as Prometheus text (response->text, format response->content_type). Since 0.3. */
int coop_get_metrics(coop_client *client, const Coop__V1__GetMetricsRequest *request, const coop_call_options *options,
                     Coop__V1__Metrics **response, coop_status *status);

/* ---------------------------------------------------------------------------------------------------------------- */
/* grpc.health.v1.Health (the health messages stay internal: results come as a coop_serving_status) */

typedef enum coop_serving_status {
    COOP_SERVING_UNKNOWN = 0,
    COOP_SERVING = 1,
    COOP_NOT_SERVING = 2,
    COOP_SERVICE_UNKNOWN = 3 /* only from coop_health_watch_next() */
} coop_serving_status;

/*
 * Health/Check for `service` (borrowed; NULL or "" asks about the server as a whole, else a fully qualified
 * service name). Returns 0 and sets *serving; coopd answers NOT_FOUND (-ENOENT) for a service it does not know.
 */
int coop_health_check(coop_client *client, const char *service, const coop_call_options *options,
                      coop_serving_status *serving, coop_status *status);

/* Health/Watch: opens a stream of serving statuses for `service` (as above); read it with coop_health_watch_next(). */
int coop_health_watch(coop_client *client, const char *service, const coop_call_options *options,
                      coop_stream **stream, coop_status *status);

/* coop_stream_next() for a coop_health_watch() stream: returns 1 and sets *serving, or as coop_stream_next().
 * -EINVAL (INVALID_ARGUMENT) for a stream of another kind. */
int coop_health_watch_next(coop_stream *stream, int timeout_ms, coop_serving_status *serving, coop_status *status);

/* ---------------------------------------------------------------------------------------------------------------- */
/* coop.v1.Cooperation: reads (see Proto/coop/v1/cooperation.proto for every field) */

int coop_list_countries(coop_client *client, const Coop__V1__ListCountriesRequest *request,
                        const coop_call_options *options, Coop__V1__ListCountriesResponse **response,
                        coop_status *status);

int coop_get_pair_summary(coop_client *client, const Coop__V1__GetPairSummaryRequest *request,
                          const coop_call_options *options, Coop__V1__PairSummary **response, coop_status *status);

int coop_list_indicators(coop_client *client, const Coop__V1__ListIndicatorsRequest *request,
                         const coop_call_options *options, Coop__V1__ListIndicatorsResponse **response,
                         coop_status *status);

int coop_list_observations(coop_client *client, const Coop__V1__ListObservationsRequest *request,
                           const coop_call_options *options, Coop__V1__ListObservationsResponse **response,
                           coop_status *status);

int coop_get_series(coop_client *client, const Coop__V1__GetSeriesRequest *request, const coop_call_options *options,
                    Coop__V1__Series **response, coop_status *status);

int coop_list_events(coop_client *client, const Coop__V1__ListEventsRequest *request, const coop_call_options *options,
                     Coop__V1__ListEventsResponse **response, coop_status *status);

int coop_list_agreements(coop_client *client, const Coop__V1__ListAgreementsRequest *request,
                         const coop_call_options *options, Coop__V1__ListAgreementsResponse **response,
                         coop_status *status);

int coop_list_statements(coop_client *client, const Coop__V1__ListStatementsRequest *request,
                         const coop_call_options *options, Coop__V1__ListStatementsResponse **response,
                         coop_status *status);

int coop_list_sources(coop_client *client, const Coop__V1__ListSourcesRequest *request,
                      const coop_call_options *options, Coop__V1__ListSourcesResponse **response, coop_status *status);

int coop_search(coop_client *client, const Coop__V1__SearchRequest *request, const coop_call_options *options,
                Coop__V1__SearchResponse **response, coop_status *status);

/* Every stored relationship between two countries, ordered by pair. Since 0.2. */
int coop_list_relationships(coop_client *client, const Coop__V1__ListRelationshipsRequest *request,
                            const coop_call_options *options, Coop__V1__ListRelationshipsResponse **response,
                            coop_status *status);

/* WatchChanges: opens a stream of Coop__V1__Change (the change log from request->from_sequence, then live). */
int coop_watch_changes(coop_client *client, const Coop__V1__WatchChangesRequest *request,
                       const coop_call_options *options, coop_stream **stream, coop_status *status);

/* coop_stream_next() for a coop_watch_changes() stream: returns 1 and sets *change (caller frees it with
 * coop__v1__change__free_unpacked(change, NULL)), or as coop_stream_next(). -EINVAL for a stream of another kind. */
int coop_watch_changes_next(coop_stream *stream, int timeout_ms, Coop__V1__Change **change, coop_status *status);

/* Called by coop_watch_changes_run() for each change (borrowed: freed when the callback returns); returns as
 * coop_message_callback. */
typedef int (*coop_change_callback)(const Coop__V1__Change *change, void *userdata);

/* WatchChanges through a callback: as coop_stream_run(). */
int coop_watch_changes_run(coop_client *client, const Coop__V1__WatchChangesRequest *request,
                           const coop_call_options *options, coop_change_callback callback, void *userdata,
                           coop_status *status);

/* ---------------------------------------------------------------------------------------------------------------- */
/* coop.v1.Cooperation: writes (need a writer uid or gid; set request_id so that a retry is applied once) */

int coop_put_source(coop_client *client, const Coop__V1__PutSourceRequest *request, const coop_call_options *options,
                    Coop__V1__Source **response, coop_status *status);

int coop_put_indicator(coop_client *client, const Coop__V1__PutIndicatorRequest *request,
                       const coop_call_options *options, Coop__V1__Indicator **response, coop_status *status);

int coop_add_observations(coop_client *client, const Coop__V1__AddObservationsRequest *request,
                          const coop_call_options *options, Coop__V1__AddObservationsResponse **response,
                          coop_status *status);

int coop_revise_observation(coop_client *client, const Coop__V1__ReviseObservationRequest *request,
                            const coop_call_options *options, Coop__V1__Observation **response, coop_status *status);

int coop_retract_observation(coop_client *client, const Coop__V1__RetractObservationRequest *request,
                             const coop_call_options *options, Coop__V1__Observation **response, coop_status *status);

int coop_put_event(coop_client *client, const Coop__V1__PutEventRequest *request, const coop_call_options *options,
                   Coop__V1__Event **response, coop_status *status);

int coop_put_agreement(coop_client *client, const Coop__V1__PutAgreementRequest *request,
                       const coop_call_options *options, Coop__V1__Agreement **response, coop_status *status);

int coop_add_statement(coop_client *client, const Coop__V1__AddStatementRequest *request,
                       const coop_call_options *options, Coop__V1__Statement **response, coop_status *status);

int coop_link_conflict(coop_client *client, const Coop__V1__LinkConflictRequest *request,
                       const coop_call_options *options, Coop__V1__LinkConflictResponse **response,
                       coop_status *status);

/* Creates or replaces the relationship of a pair of countries (given in either order). Since 0.2. */
int coop_put_relationship(coop_client *client, const Coop__V1__PutRelationshipRequest *request,
                          const coop_call_options *options, Coop__V1__Relationship **response, coop_status *status);

#ifdef __cplusplus
}
#endif

#endif /* COOP_CLIENT_H */
