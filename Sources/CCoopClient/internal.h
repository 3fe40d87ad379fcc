/*
 * Internals of libcoopclient, shared by its source files; not installed.
 *
 * One coop_client owns one connection. Every call (unary or server stream) is a `struct coop_call` on the
 * client's list, keyed by its ttrpc stream id. Received frames are queued on the call they belong to by
 * whichever thread holds the reader role (see client.c); the thread that owns a call takes its frames and
 * decodes them (call.c).
 */
#ifndef COOP_INTERNAL_H
#define COOP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "coop/client.h"

/* ttrpc framing: a 10-byte header (length, stream id: big-endian uint32; type; flags), then the payload. */
#define COOP_FRAME_HEADER_SIZE 10
#define COOP_MAX_PAYLOAD (4u * 1024u * 1024u)

enum {
    COOP_FRAME_REQUEST = 0x01,
    COOP_FRAME_RESPONSE = 0x02,
    COOP_FRAME_DATA = 0x03,
};

enum {
    COOP_FLAG_REMOTE_CLOSED = 0x01, /* Request: the client sends no data; Data: last frame from this sender */
    COOP_FLAG_REMOTE_OPEN = 0x02,   /* Request: data frames follow */
    COOP_FLAG_NO_DATA = 0x04,       /* Data: carries no message */
};

/* How long a request frame whose deadline passed mid-write may take to finish (else the connection is lost). */
#define COOP_WRITE_GRACE_MS 5000

/* Bounds on what one stream may hold unread before it is failed with RESOURCE_EXHAUSTED. */
#define COOP_STREAM_MAX_QUEUED_FRAMES 4096u
#define COOP_STREAM_MAX_QUEUED_BYTES (64u * 1024u * 1024u)

/* A received frame waiting for its call's owner. */
struct coop_frame {
    struct coop_frame *next;
    uint8_t type;
    uint8_t flags;
    size_t length;
    uint8_t *payload; /* malloc'd; NULL when length is 0 */
};

/* One RPC in flight on a client. Fields below `mu` are guarded by the client's mutex. */
struct coop_call {
    struct coop_call *prev, *next; /* on client->calls while registered */
    uint32_t id;
    bool streaming;
    bool registered;
    bool ended;   /* the reader will queue nothing more for it (final frame queued, or failed) */
    bool failed;  /* the call failed after its queued frames: fail_code / fail_message */
    int32_t fail_code;
    char *fail_message; /* malloc'd, or NULL */
    struct coop_frame *head, *tail;
    size_t queued_frames;
    size_t queued_bytes;
};

struct coop_client {
    pthread_mutex_t mu;      /* guards everything below except the reader state and fd */
    pthread_cond_t cond;     /* broadcast whenever frames were dispatched or the reader role was released */
    pthread_mutex_t write_mu; /* serialises frame writes and stream id allocation */
    int fd;

    unsigned refs;    /* 1 for the client handle while open, plus 1 per open stream */
    bool closed;      /* coop_client_close() was called */
    bool broken;      /* the connection is unusable: broken_code / broken_message */
    int32_t broken_code;
    char broken_message[160];
    uint64_t next_id; /* next odd stream id to use */
    bool reading;     /* a thread holds the reader role */
    struct coop_call *calls;

    /* Reader state: only the thread holding the reader role touches it (outside `mu` while reading). */
    uint8_t header[COOP_FRAME_HEADER_SIZE];
    size_t header_have;
    uint32_t frame_length;
    uint32_t frame_id;
    uint8_t frame_type;
    uint8_t frame_flags;
    uint8_t *frame_payload; /* malloc'd for the frame being received */
    size_t payload_have;
    uint64_t skip_left;     /* bytes of an oversized frame still to discard */
    uint8_t buffer[64 * 1024];
};

/* A deadline on CLOCK_MONOTONIC; `set` false means none. */
struct coop_deadline {
    bool set;
    struct timespec at;
};

/* --- status.c --- */

/* Sets *status (may be NULL) to code and a formatted message and returns the matching negative errno
 * (-ENOMEM instead when the message cannot be allocated). */
int coop_fail(coop_status *status, int32_t code, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Sets *status to code and a copy of message (may be NULL); returns the matching negative errno. */
int coop_fail_copy(coop_status *status, int32_t code, const char *message);
/* Sets *status to OK. */
void coop_status_set_ok(coop_status *status);
/* Out of memory: RESOURCE_EXHAUSTED "out of memory", returns -ENOMEM. */
int coop_fail_nomem(coop_status *status);

/* --- time --- */
struct coop_deadline coop_deadline_after_ms(int64_t ms); /* ms < 0: none; 0: now */
struct coop_deadline coop_deadline_min(struct coop_deadline a, struct coop_deadline b);
bool coop_deadline_passed(struct coop_deadline d);
int64_t coop_deadline_remaining_ns(struct coop_deadline d); /* INT64_MAX when none; <= 0 when passed */
int coop_deadline_poll_timeout(struct coop_deadline d);     /* for poll(): -1 when none */

/* --- client.c --- */

void coop_client_ref(coop_client *client);   /* under client->mu */
void coop_client_unref(coop_client *client); /* takes client->mu itself */

/* Registers `call` with a fresh stream id and writes `frame`: COOP_FRAME_HEADER_SIZE bytes this function fills
 * (length, id, Request, flags), then the request envelope. On failure the call is not registered and *status
 * says why. */
int coop_client_start(coop_client *client, struct coop_call *call, uint8_t flags, uint8_t *frame,
                      size_t frame_length, struct coop_deadline deadline, coop_status *status);

/* Waits (client->mu held) until `call` has a queued frame or has failed, or `deadline` passes.
 * Returns 0, or -ETIMEDOUT when the deadline passed first. */
int coop_client_wait(coop_client *client, struct coop_call *call, struct coop_deadline deadline);

/* Removes `call` from the client (client->mu held) and frees what it holds (queued frames, failure message). */
void coop_call_release(coop_client *client, struct coop_call *call);

/* Takes the first queued frame of `call` (client->mu held), or NULL. The caller frees it with coop_frame_free(). */
struct coop_frame *coop_call_pop(struct coop_call *call);
void coop_frame_free(struct coop_frame *frame);

/* --- call.c --- */

/* The message type a stream yields. */
const ProtobufCMessageDescriptor *coop_stream_descriptor(const coop_stream *stream);

#endif /* COOP_INTERNAL_H */
