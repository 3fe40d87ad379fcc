/*
 * A fake ttrpc server inside the test process: a thread accepting on a Unix socket in a temporary directory and
 * running a handler for each connection, one at a time. Handlers script what a hostile or broken server does.
 */
#ifndef COOP_FAKE_SERVER_H
#define COOP_FAKE_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

typedef void (*fake_handler)(int fd, void *context);

struct fake_server {
    char directory[64];
    char path[96];
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    fake_handler handler;
    void *context;
};

/* Starts the server; returns 0 or -1. */
int fake_server_start(struct fake_server *server, fake_handler handler, void *context);
/* Stops accepting, waits for the running handler to return, removes the socket and directory. */
void fake_server_stop(struct fake_server *server);

/* One Request frame as the server received it. */
struct fake_request {
    uint32_t id;
    uint8_t type;
    uint8_t flags;
    char *service;
    char *method;
    int64_t timeout_nano;
    size_t n_metadata;
    char **keys;
    char **values;
    uint8_t *payload;
    size_t payload_length;
};

/* Reads one frame and decodes it as a Request; returns 0, or -1 at EOF or on anything else. */
int fake_read_request(int fd, struct fake_request *request);
void fake_request_clear(struct fake_request *request);

/* Writes raw bytes / a frame; return 0 or -1 (the client may have gone: never raises SIGPIPE). */
int fake_write(int fd, const void *data, size_t length);
int fake_write_frame(int fd, uint32_t id, uint8_t type, uint8_t flags, const void *payload, size_t length);
/* A Response envelope: code 0 with `message` (may be NULL: empty payload), or an error code and text. */
int fake_send_response(int fd, uint32_t id, int32_t code, const char *text, const ProtobufCMessage *message);
/* A Data frame carrying `message` (NULL: zero-length payload). */
int fake_send_data(int fd, uint32_t id, uint8_t flags, const ProtobufCMessage *message);
/* Blocks until the client closes its end (or 10 s pass). */
void fake_wait_for_close(int fd);
void fake_sleep_ms(int ms);

#endif
