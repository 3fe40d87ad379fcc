/*
 * The connection: connect and close, stream ids and frame writes, and the reader that hands received frames to
 * the calls they belong to.
 *
 * Reading follows the leader/follower pattern. A thread waiting for its call's frames takes the reader role if
 * nobody holds it, reads the socket without the mutex (until its own deadline), then, under the mutex, cuts the
 * bytes into frames and queues each on its call, releases the role and wakes every waiter. A thread that finds
 * the role taken waits on the condition variable instead; whoever the reader served finds its frame queued.
 * The partial-frame state lives in the client, so a reader that gives up mid-frame leaves it to the next one.
 *
 * Frame header (ttrpc):   0-3 payload length, 4-7 stream id (big-endian uint32), 8 type, 9 flags, then payload.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

/* --- connect / close --------------------------------------------------------------------------------------------- */

/* coopd's default socket path, as the daemon picks it (see README "Two commands"): $COOP_SOCKET (as coopctl reads
 * it), else $COOPD_SOCKET (as coopd reads it), else the daemon's own default. *per_user is set for the per-user
 * defaults, which are trusted only when they are this user's alone (trusted_socket). */
static int default_socket_path(char *buffer, size_t size, int *per_user) {
    const char *env = getenv("COOP_SOCKET");
    int n;
    *per_user = 0;
    if (!env || !*env)
        env = getenv("COOPD_SOCKET");
    if (env && *env)
        n = snprintf(buffer, size, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(buffer, size, "/run/coopd/coopd.sock");
    else if ((env = getenv("XDG_RUNTIME_DIR")) && *env) {
        n = snprintf(buffer, size, "%s/coopd/coopd.sock", env);
        *per_user = 1;
    } else {
        n = snprintf(buffer, size, "/tmp/coopd-%u/coopd.sock", (unsigned)geteuid());
        *per_user = 1;
    }
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* 0 when the socket at `path` can only have been put there by `uid`, as coopd checks its own directories: the
 * socket and its directory are owned by uid, the directory is writable by nobody else, and every directory above
 * it is owned by root or uid and writable by nobody else unless sticky (/tmp). Otherwise -EPERM: another user who
 * created /tmp/coopd-UID first could stand in for coopd. A missing directory or socket is left to connect(). */
static int trusted_socket(const char *path, uid_t uid) {
    char directory[PATH_MAX], *resolved, *slash;
    struct stat info;
    size_t n = strlen(path);
    if (n >= sizeof directory)
        return -ENAMETOOLONG;
    memcpy(directory, path, n + 1);
    if (!(slash = strrchr(directory, '/')))
        return 0;
    *slash = '\0';
    if (!(resolved = realpath(*directory ? directory : "/", NULL)))
        return errno == ENOENT ? 0 : -errno;
    int r = 0;
    if (lstat(resolved, &info) < 0)
        r = -errno;
    else if (!S_ISDIR(info.st_mode) || info.st_uid != uid || (info.st_mode & (S_IWGRP | S_IWOTH)))
        r = -EPERM;
    while (r == 0 && strcmp(resolved, "/") != 0) {
        slash = strrchr(resolved, '/');
        if (slash == resolved)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (lstat(resolved, &info) < 0)
            r = -errno;
        else if ((info.st_uid != 0 && info.st_uid != uid) ||
                 ((info.st_mode & (S_IWGRP | S_IWOTH)) && !(info.st_mode & S_ISVTX)))
            r = -EPERM;
    }
    free(resolved);
    if (r == 0 && lstat(path, &info) == 0 && info.st_uid != uid)
        r = -EPERM;
    return r;
}

static void sleep_ms(long ms) {
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {
    }
}

/* Connects a non-blocking socket. Unix sockets do not connect asynchronously on Linux: a full listen queue
 * answers EAGAIN, which is retried until the deadline. */
static int connect_socket(int fd, const struct sockaddr_un *address, int timeout_ms) {
    struct coop_deadline deadline = coop_deadline_after_ms(timeout_ms);
    for (;;) {
        if (connect(fd, (const struct sockaddr *)address, sizeof *address) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EINPROGRESS) { /* not on Linux for AF_UNIX, but allowed by POSIX */
            struct pollfd p = { fd, POLLOUT, 0 };
            int r = poll(&p, 1, coop_deadline_poll_timeout(deadline));
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -errno;
            if (r == 0)
                return -ETIMEDOUT;
            int error = 0;
            socklen_t length = sizeof error;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
                return -errno;
            return error ? -error : 0;
        }
        if (errno != EAGAIN)
            return -errno;
        if (coop_deadline_passed(deadline))
            return -ETIMEDOUT;
        sleep_ms(10);
    }
}

int coop_client_connect(const char *path, int timeout_ms, coop_client **client) {
    char default_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    struct sockaddr_un address;
    int r;

    if (!client)
        return -EINVAL;
    if (!path) {
        int per_user;
        if ((r = default_socket_path(default_path, sizeof default_path, &per_user)) < 0)
            return r;
        if (per_user && (r = trusted_socket(default_path, geteuid())) < 0)
            return r;
        path = default_path;
    }
    if (!*path)
        return -EINVAL;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path)
        return -ENAMETOOLONG;
    memcpy(address.sun_path, path, strlen(path) + 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if ((r = connect_socket(fd, &address, timeout_ms)) < 0) {
        close(fd);
        return r;
    }

    coop_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    pthread_condattr_t attributes;
    if ((r = pthread_condattr_init(&attributes)) != 0) {
        free(c);
        close(fd);
        return -r;
    }
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    r = pthread_cond_init(&c->cond, &attributes);
    pthread_condattr_destroy(&attributes);
    if (r != 0) {
        free(c);
        close(fd);
        return -r;
    }
    if ((r = pthread_mutex_init(&c->mu, NULL)) != 0) {
        pthread_cond_destroy(&c->cond);
        free(c);
        close(fd);
        return -r;
    }
    if ((r = pthread_mutex_init(&c->write_mu, NULL)) != 0) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cond);
        free(c);
        close(fd);
        return -r;
    }
    c->fd = fd;
    c->refs = 1;
    c->next_id = 1;
    *client = c;
    return 0;
}

static void break_connection(coop_client *c, int32_t code, const char *message);

static void free_client(coop_client *c) {
    close(c->fd);
    free(c->frame_payload);
    pthread_mutex_destroy(&c->write_mu);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

void coop_client_close(coop_client *c) {
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closed = true;
    break_connection(c, COOP_STATUS_CANCELLED, "the client was closed");
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        free_client(c);
}

void coop_client_ref(coop_client *c) {
    c->refs++;
}

void coop_client_unref(coop_client *c) {
    pthread_mutex_lock(&c->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        free_client(c);
}

/* --- calls ------------------------------------------------------------------------------------------------------- */

void coop_frame_free(struct coop_frame *frame) {
    if (!frame)
        return;
    free(frame->payload);
    free(frame);
}

struct coop_frame *coop_call_pop(struct coop_call *call) {
    struct coop_frame *frame = call->head;
    if (!frame)
        return NULL;
    call->head = frame->next;
    if (!call->head)
        call->tail = NULL;
    call->queued_frames--;
    call->queued_bytes -= frame->length;
    frame->next = NULL;
    return frame;
}

void coop_call_release(coop_client *c, struct coop_call *call) {
    if (call->registered) {
        if (call->prev)
            call->prev->next = call->next;
        else
            c->calls = call->next;
        if (call->next)
            call->next->prev = call->prev;
        call->prev = call->next = NULL;
        call->registered = false;
    }
    struct coop_frame *frame;
    while ((frame = coop_call_pop(call)))
        coop_frame_free(frame);
    free(call->fail_message);
    call->fail_message = NULL;
    call->ended = true;
}

/* Ends `call` with an error, after the frames already queued for it. No-op for a call that has ended. */
static void fail_call(struct coop_call *call, int32_t code, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void fail_call(struct coop_call *call, int32_t code, const char *format, ...) {
    if (call->ended)
        return;
    char *message = NULL;
    va_list args;
    va_start(args, format);
    if (vasprintf(&message, format, args) < 0)
        message = NULL; /* the code alone still says what happened */
    va_end(args);
    call->ended = true;
    call->failed = true;
    call->fail_code = code;
    call->fail_message = message;
}

/* Marks the connection unusable and fails every call still waiting for frames. Client mutex held. */
static void break_connection(coop_client *c, int32_t code, const char *message) {
    if (c->broken)
        return;
    c->broken = true;
    c->broken_code = code;
    snprintf(c->broken_message, sizeof c->broken_message, "%s", message);
    shutdown(c->fd, SHUT_RDWR); /* wakes a reader blocked in poll() */
    for (struct coop_call *call = c->calls; call; call = call->next)
        fail_call(call, code, "%s", message);
    pthread_cond_broadcast(&c->cond);
}

static struct coop_call *find_call(coop_client *c, uint32_t id) {
    for (struct coop_call *call = c->calls; call; call = call->next)
        if (call->id == id)
            return call;
    return NULL;
}

/* --- reading ----------------------------------------------------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}


/* Queues a complete frame on its call (client mutex held). Takes ownership of payload. */
static void dispatch(coop_client *c, uint32_t id, uint8_t type, uint8_t flags, uint8_t *payload, size_t length) {
    struct coop_call *call = find_call(c, id);
    /* Frames for streams we never opened or already finished, requests from the server, and unknown types
     * (the protocol says to ignore them) are dropped. */
    if (!call || call->ended || (type != COOP_FRAME_RESPONSE && type != COOP_FRAME_DATA)) {
        free(payload);
        return;
    }
    if (type == COOP_FRAME_DATA && !call->streaming) {
        free(payload);
        fail_call(call, COOP_STATUS_INTERNAL, "coopd sent a Data frame on unary stream %u", (unsigned)id);
        return;
    }
    if (call->queued_frames >= COOP_STREAM_MAX_QUEUED_FRAMES ||
        call->queued_bytes + length > COOP_STREAM_MAX_QUEUED_BYTES) {
        free(payload);
        fail_call(call, COOP_STATUS_RESOURCE_EXHAUSTED,
                  "stream %u: more than %u messages or %u bytes arrived unread; read the stream faster", (unsigned)id,
                  COOP_STREAM_MAX_QUEUED_FRAMES, COOP_STREAM_MAX_QUEUED_BYTES);
        return;
    }
    struct coop_frame *frame = malloc(sizeof *frame);
    if (!frame) {
        free(payload);
        fail_call(call, COOP_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    frame->next = NULL;
    frame->type = type;
    frame->flags = flags;
    frame->length = length;
    frame->payload = payload;
    if (call->tail)
        call->tail->next = frame;
    else
        call->head = frame;
    call->tail = frame;
    call->queued_frames++;
    call->queued_bytes += length;
    if (type == COOP_FRAME_RESPONSE || (flags & COOP_FLAG_REMOTE_CLOSED))
        call->ended = true; /* its last frame: anything more on this id is dropped */
}

/* Cuts received bytes into frames (client mutex held, reader role held). */
static void feed(coop_client *c, const uint8_t *data, size_t length) {
    while (length > 0) {
        if (c->skip_left > 0) {
            size_t take = c->skip_left < length ? (size_t)c->skip_left : length;
            c->skip_left -= take;
            data += take;
            length -= take;
            continue;
        }
        if (c->header_have < COOP_FRAME_HEADER_SIZE) {
            size_t take = COOP_FRAME_HEADER_SIZE - c->header_have;
            if (take > length)
                take = length;
            memcpy(c->header + c->header_have, data, take);
            c->header_have += take;
            data += take;
            length -= take;
            if (c->header_have < COOP_FRAME_HEADER_SIZE)
                return;
            c->frame_length = get_u32(c->header);
            c->frame_id = get_u32(c->header + 4);
            c->frame_type = c->header[8];
            c->frame_flags = c->header[9];
            c->payload_have = 0;
            if (c->frame_length > COOP_MAX_PAYLOAD) {
                /* Checked as soon as the header is in: the payload is skipped, never buffered, and the stream it
                 * was meant for fails; the connection stays in step. */
                struct coop_call *call = find_call(c, c->frame_id);
                if (call)
                    fail_call(call, COOP_STATUS_RESOURCE_EXHAUSTED,
                              "coopd sent a frame of %lu bytes on stream %u, over the %u-byte limit",
                              (unsigned long)c->frame_length, (unsigned)c->frame_id, COOP_MAX_PAYLOAD);
                c->skip_left = c->frame_length;
                c->header_have = 0;
                continue;
            }
            if (c->frame_length == 0) {
                c->header_have = 0;
                dispatch(c, c->frame_id, c->frame_type, c->frame_flags, NULL, 0);
                continue;
            }
            c->frame_payload = malloc(c->frame_length);
            if (!c->frame_payload) {
                struct coop_call *call = find_call(c, c->frame_id);
                if (call)
                    fail_call(call, COOP_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                c->skip_left = c->frame_length;
                c->header_have = 0;
            }
            continue;
        }
        size_t take = c->frame_length - c->payload_have;
        if (take > length)
            take = length;
        memcpy(c->frame_payload + c->payload_have, data, take);
        c->payload_have += take;
        data += take;
        length -= take;
        if (c->payload_have == c->frame_length) {
            uint8_t *payload = c->frame_payload;
            c->frame_payload = NULL;
            c->header_have = 0;
            dispatch(c, c->frame_id, c->frame_type, c->frame_flags, payload, c->frame_length);
        }
    }
}

/* One non-blocking read into the buffer (reader role held, mutex not held). Returns the byte count, 0 when
 * nothing was there, or a negative errno; -ECONNRESET with *eof set when coopd closed the connection. */
static ssize_t read_now(coop_client *c, bool *eof) {
    *eof = false;
    for (;;) {
        ssize_t n = recv(c->fd, c->buffer, sizeof c->buffer, MSG_DONTWAIT);
        if (n > 0)
            return n;
        if (n == 0) {
            *eof = true;
            return -ECONNRESET;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -errno;
    }
}

/* Waits until the deadline for something to read, then reads it as read_now() does; 0 when the deadline passed. */
static ssize_t read_some(coop_client *c, struct coop_deadline deadline, bool *eof) {
    *eof = false;
    for (;;) {
        struct pollfd p = { c->fd, POLLIN, 0 };
        int r = poll(&p, 1, coop_deadline_poll_timeout(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return 0;
        ssize_t n = read_now(c, eof);
        if (n != 0 || coop_deadline_passed(deadline))
            return n;
    }
}

/* Takes in what a read returned (mutex held, reader role held): frames to their calls, or the end of the
 * connection. */
static void absorb(coop_client *c, ssize_t n, bool eof) {
    if (n > 0) {
        feed(c, c->buffer, (size_t)n);
    } else if (n < 0) {
        bool mid_frame = c->header_have > 0 || c->skip_left > 0;
        char message[128];
        if (eof)
            snprintf(message, sizeof message, "coopd closed the connection%s",
                     mid_frame ? " in the middle of a frame" : "");
        else
            snprintf(message, sizeof message, "reading from coopd failed: %s", strerror((int)-n));
        break_connection(c, COOP_STATUS_UNAVAILABLE, message);
    }
}

int coop_client_wait(coop_client *c, struct coop_call *call, struct coop_deadline deadline) {
    for (;;) {
        if (call->head || call->failed)
            return 0;
        if (!c->reading) {
            /* Take the reader role. Even with the deadline passed, read once without waiting: "only what has
             * already arrived" includes bytes still in the socket. */
            c->reading = true;
            pthread_mutex_unlock(&c->mu);
            bool eof;
            ssize_t n = read_some(c, deadline, &eof);
            pthread_mutex_lock(&c->mu);
            absorb(c, n, eof);
            c->reading = false;
            pthread_cond_broadcast(&c->cond);
            if (!(call->head || call->failed) && coop_deadline_passed(deadline))
                return -ETIMEDOUT;
            continue;
        }
        if (coop_deadline_passed(deadline))
            return -ETIMEDOUT;
        if (deadline.set)
            pthread_cond_timedwait(&c->cond, &c->mu, &deadline.at);
        else
            pthread_cond_wait(&c->cond, &c->mu);
    }
}

/* --- writing ----------------------------------------------------------------------------------------------------- */

/* Writes all of data before the deadline; returns 0 or a negative errno, and in *written how far it got.
 * While the socket is full the writer also reads, when nobody holds the reader role: coopd stops reading from a
 * client that does not read its answers, so a writer that only waited for room could wait forever. */
static int write_all(coop_client *c, const uint8_t *data, size_t length, struct coop_deadline deadline,
                     size_t *written) {
    *written = 0;
    while (*written < length) {
        ssize_t n = send(c->fd, data + *written, length - *written, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            *written += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;

        pthread_mutex_lock(&c->mu);
        bool reader = !c->reading && !c->broken;
        if (reader)
            c->reading = true;
        pthread_mutex_unlock(&c->mu);
        struct pollfd p = { c->fd, (short)(POLLOUT | (reader ? POLLIN : 0)), 0 };
        int r = poll(&p, 1, coop_deadline_poll_timeout(deadline));
        int poll_errno = errno;
        if (reader) {
            bool eof = false;
            ssize_t got = r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) ? read_now(c, &eof) : 0;
            pthread_mutex_lock(&c->mu);
            absorb(c, got, eof);
            c->reading = false;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->mu);
        }
        if (r < 0 && poll_errno != EINTR)
            return -poll_errno;
        if (r == 0)
            return -ETIMEDOUT;
    }
    return 0;
}

int coop_client_start(coop_client *c, struct coop_call *call, uint8_t flags, uint8_t *frame, size_t frame_length,
                      struct coop_deadline deadline, coop_status *status) {
    int r;
    pthread_mutex_lock(&c->write_mu);
    pthread_mutex_lock(&c->mu);
    if (c->broken) {
        r = coop_fail_copy(status, c->broken_code, c->broken_message);
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&c->write_mu);
        return r;
    }
    if (c->next_id > UINT32_MAX) {
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&c->write_mu);
        return coop_fail(status, COOP_STATUS_RESOURCE_EXHAUSTED,
                         "every stream id of this connection has been used; close the client and connect again");
    }
    /* Ids are taken under the write lock, so they reach the wire in increasing order. */
    call->id = (uint32_t)c->next_id;
    c->next_id += 2;
    call->prev = NULL;
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    call->registered = true;
    pthread_mutex_unlock(&c->mu);

    put_u32(frame, (uint32_t)(frame_length - COOP_FRAME_HEADER_SIZE));
    put_u32(frame + 4, call->id);
    frame[8] = COOP_FRAME_REQUEST;
    frame[9] = flags;
    size_t written;
    int w = write_all(c, frame, frame_length, deadline, &written);
    bool completed_late = false;
    if (w == -ETIMEDOUT && written > 0) {
        /* Half a frame on the wire: nothing else can be sent until it is whole, so finish it (within a grace
         * period) rather than lose the connection; the call itself has timed out all the same. */
        size_t more;
        w = write_all(c, frame + written, frame_length - written, coop_deadline_after_ms(COOP_WRITE_GRACE_MS),
                      &more);
        written += more;
        completed_late = w == 0;
        if (w == 0)
            w = -ETIMEDOUT;
    }
    pthread_mutex_unlock(&c->write_mu);
    if (w == 0)
        return 0;

    pthread_mutex_lock(&c->mu);
    coop_call_release(c, call);
    if (w == -ETIMEDOUT && (written == 0 || completed_late)) {
        r = coop_fail(status, COOP_STATUS_DEADLINE_EXCEEDED, "deadline exceeded while sending the request");
    } else if (w == -ETIMEDOUT) {
        break_connection(c, COOP_STATUS_UNAVAILABLE,
                         "connection abandoned: coopd did not take a partly written request");
        r = coop_fail(status, COOP_STATUS_DEADLINE_EXCEEDED, "deadline exceeded while sending the request");
    } else {
        if (!c->broken) {
            char message[128];
            snprintf(message, sizeof message, "sending to coopd failed: %s", strerror(-w));
            break_connection(c, COOP_STATUS_UNAVAILABLE, message);
        }
        r = coop_fail_copy(status, c->broken_code, c->broken_message);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}
