/*
 * watch_changes: follows coopd's change log (coop.v1.Cooperation/WatchChanges) and prints each change as it is
 * committed.
 *
 *   usage: watch_changes [--from SEQUENCE] [--for SECONDS] [SOCKET]
 *     --from SEQUENCE  start with the stored change SEQUENCE (default: only changes from now on)
 *     --for SECONDS    stop after this long (the stream's deadline; exits 0)
 *   build: cc watch_changes.c $(pkg-config --cflags --libs coopclient) -o watch_changes
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coop/client.h>

/* "insert" for CHANGE_OPERATION_INSERT: the enum value's name without its prefix, in lower case. */
static void print_operation(Coop__V1__ChangeOperation operation) {
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&coop__v1__change_operation__descriptor, (int)operation);
    const char *name = v ? v->name : "?";
    if (strncmp(name, "CHANGE_OPERATION_", 17) == 0)
        name += 17;
    for (; *name; name++)
        putchar(tolower((unsigned char)*name));
}

int main(int argc, char **argv) {
    Coop__V1__WatchChangesRequest request = COOP__V1__WATCH_CHANGES_REQUEST__INIT;
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    const char *socket_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            request.from_sequence = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--for") == 0 && i + 1 < argc)
            options.timeout_ms = (int64_t)(strtod(argv[++i], NULL) * 1000);
        else if (argv[i][0] != '-')
            socket_path = argv[i];
        else {
            fprintf(stderr, "usage: watch_changes [--from SEQUENCE] [--for SECONDS] [SOCKET]\n");
            return 2;
        }
    }

    coop_client *client = NULL;
    int r = coop_client_connect(socket_path, 2000, &client);
    if (r < 0) {
        fprintf(stderr, "watch_changes: cannot connect to coopd: %s\n", strerror(-r));
        return 1;
    }
    coop_status status = COOP_STATUS_INIT;
    coop_stream *stream = NULL;
    r = coop_watch_changes(client, &request, &options, &stream, &status);
    if (r == 0) {
        Coop__V1__Change *change = NULL;
        /* 1 per change (ours to free), 0 when coopd ends the stream, < 0 with the reason in status. */
        while ((r = coop_watch_changes_next(stream, -1, &change, &status)) == 1) {
            printf("#%lld %s ", (long long)change->sequence, change->time);
            print_operation(change->operation);
            if (change->summary[0]) { /* e.g. "indicator JP_MHLW_FOREIGN_WORKERS: Foreign workers in Japan" */
                printf(" %s\n", change->summary);
            } else {
                printf(" %s", change->entity_kind);
                if (change->entity_id)
                    printf(" %lld", (long long)change->entity_id);
                if (change->entity_key[0])
                    printf(" %s", change->entity_key);
                printf("\n");
            }
            fflush(stdout);
            coop__v1__change__free_unpacked(change, NULL);
        }
        coop_stream_close(stream);
    }
    int exit_code = 0;
    if (r < 0 && !(status.code == COOP_STATUS_DEADLINE_EXCEEDED && options.timeout_ms > 0)) {
        fprintf(stderr, "watch_changes: %s: %s\n", coop_status_code_name(status.code), coop_status_message(&status));
        exit_code = 1;
    }
    coop_status_clear(&status);
    coop_client_close(client);
    return exit_code;
}
