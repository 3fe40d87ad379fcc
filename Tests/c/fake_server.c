#define _GNU_SOURCE
#include "fake_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ttrpc/ttrpc.pb-c.h"

static void *serve(void *argument) {
    struct fake_server *server = argument;
    for (;;) {
        struct pollfd fds[2] = { { server->listen_fd, POLLIN, 0 }, { server->stop_pipe[0], POLLIN, 0 } };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        int fd = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        server->handler(fd, server->context);
        close(fd);
    }
    return NULL;
}

int fake_server_start(struct fake_server *server, fake_handler handler, void *context) {
    memset(server, 0, sizeof *server);
    snprintf(server->directory, sizeof server->directory, "/tmp/coop-fake-XXXXXX");
    if (!mkdtemp(server->directory))
        return -1;
    snprintf(server->path, sizeof server->path, "%s/fake.sock", server->directory);
    server->handler = handler;
    server->context = context;
    server->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, server->path, strlen(server->path) + 1); /* under 64 bytes: see directory */
    if (server->listen_fd < 0 || bind(server->listen_fd, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(server->listen_fd, 16) < 0 || pipe2(server->stop_pipe, O_CLOEXEC) < 0) {
        perror("fake server");
        return -1;
    }
    if (pthread_create(&server->thread, NULL, serve, server) != 0)
        return -1;
    return 0;
}

void fake_server_stop(struct fake_server *server) {
    if (write(server->stop_pipe[1], "x", 1) < 0)
        perror("fake server stop");
    pthread_join(server->thread, NULL);
    close(server->listen_fd);
    close(server->stop_pipe[0]);
    close(server->stop_pipe[1]);
    unlink(server->path);
    rmdir(server->directory);
}

static int read_exactly(int fd, void *buffer, size_t length) {
    size_t have = 0;
    while (have < length) {
        ssize_t n = read(fd, (uint8_t *)buffer + have, length - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return 0;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int fake_read_request(int fd, struct fake_request *request) {
    uint8_t header[10];
    memset(request, 0, sizeof *request);
    if (read_exactly(fd, header, sizeof header) < 0)
        return -1;
    uint32_t length = get_u32(header);
    if (length > 8u * 1024 * 1024)
        return -1;
    uint8_t *payload = malloc(length ? length : 1);
    if (!payload || read_exactly(fd, payload, length) < 0) {
        free(payload);
        return -1;
    }
    request->id = get_u32(header + 4);
    request->type = header[8];
    request->flags = header[9];
    Ttrpc__Request *envelope = ttrpc__request__unpack(NULL, length, payload);
    free(payload);
    if (!envelope)
        return -1;
    request->service = strdup(envelope->service);
    request->method = strdup(envelope->method);
    request->timeout_nano = envelope->timeout_nano;
    request->payload_length = envelope->payload.len;
    request->payload = malloc(envelope->payload.len ? envelope->payload.len : 1);
    if (envelope->payload.len)
        memcpy(request->payload, envelope->payload.data, envelope->payload.len);
    request->n_metadata = envelope->n_metadata;
    request->keys = calloc(envelope->n_metadata + 1, sizeof(char *));
    request->values = calloc(envelope->n_metadata + 1, sizeof(char *));
    for (size_t i = 0; i < envelope->n_metadata; i++) {
        request->keys[i] = strdup(envelope->metadata[i]->key);
        request->values[i] = strdup(envelope->metadata[i]->value);
    }
    ttrpc__request__free_unpacked(envelope, NULL);
    return 0;
}

void fake_request_clear(struct fake_request *request) {
    free(request->service);
    free(request->method);
    free(request->payload);
    for (size_t i = 0; i < request->n_metadata; i++) {
        free(request->keys[i]);
        free(request->values[i]);
    }
    free(request->keys);
    free(request->values);
    memset(request, 0, sizeof *request);
}

int fake_write(int fd, const void *data, size_t length) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = send(fd, (const uint8_t *)data + done, length - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

int fake_write_frame(int fd, uint32_t id, uint8_t type, uint8_t flags, const void *payload, size_t length) {
    uint8_t header[10];
    put_u32(header, (uint32_t)length);
    put_u32(header + 4, id);
    header[8] = type;
    header[9] = flags;
    if (fake_write(fd, header, sizeof header) < 0)
        return -1;
    return length ? fake_write(fd, payload, length) : 0;
}

int fake_send_response(int fd, uint32_t id, int32_t code, const char *text, const ProtobufCMessage *message) {
    Ttrpc__Response response = TTRPC__RESPONSE__INIT;
    Ttrpc__Status status = TTRPC__STATUS__INIT;
    uint8_t *payload = NULL;
    if (code != 0) {
        status.code = code;
        status.message = (char *)(text ? text : "");
        response.status = &status;
    } else if (message) {
        size_t length = protobuf_c_message_get_packed_size(message);
        payload = malloc(length ? length : 1);
        protobuf_c_message_pack(message, payload);
        response.payload.data = payload;
        response.payload.len = length;
    }
    size_t length = ttrpc__response__get_packed_size(&response);
    uint8_t *envelope = malloc(length ? length : 1);
    ttrpc__response__pack(&response, envelope);
    int r = fake_write_frame(fd, id, 0x02, 0, envelope, length);
    free(envelope);
    free(payload);
    return r;
}

int fake_send_data(int fd, uint32_t id, uint8_t flags, const ProtobufCMessage *message) {
    if (!message)
        return fake_write_frame(fd, id, 0x03, flags, NULL, 0);
    size_t length = protobuf_c_message_get_packed_size(message);
    uint8_t *payload = malloc(length ? length : 1);
    protobuf_c_message_pack(message, payload);
    int r = fake_write_frame(fd, id, 0x03, flags, payload, length);
    free(payload);
    return r;
}

void fake_wait_for_close(int fd) {
    uint8_t buffer[4096];
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, 10000);
        if (r <= 0)
            return;
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0)
            return;
    }
}

void fake_sleep_ms(int ms) {
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {
    }
}
