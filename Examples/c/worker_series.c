/*
 * worker_series: prints how many Vietnamese nationals work in Japan, year by year, as Japan's Ministry of Health,
 * Labour and Welfare counts them (indicator JP_MHLW_FOREIGN_WORKERS, origin VN, destination JP), with the
 * sources each figure comes from.
 *
 *   usage: worker_series [SOCKET]        (default: $COOP_SOCKET, $COOPD_SOCKET, or coopd's default)
 *   build: cc worker_series.c $(pkg-config --cflags --libs coopclient) -o worker_series
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coop/client.h>

/* value x 10^unit_multiplier, as an integer when it is one. */
static void print_value(int64_t value, int32_t multiplier) {
    if (multiplier >= 0) {
        long long scaled = (long long)value;
        for (int32_t i = 0; i < multiplier; i++)
            scaled *= 10;
        printf("%lld", scaled);
    } else {
        double scaled = (double)value;
        for (int32_t i = 0; i < -multiplier; i++)
            scaled /= 10;
        printf("%g", scaled);
    }
}

static const char *qualifier_word(Coop__V1__Qualifier qualifier) {
    switch (qualifier) {
    case COOP__V1__QUALIFIER__QUALIFIER_APPROX: return "about ";
    case COOP__V1__QUALIFIER__QUALIFIER_AT_LEAST: return "over ";
    case COOP__V1__QUALIFIER__QUALIFIER_AT_MOST: return "at most ";
    default: return "";
    }
}

int main(int argc, char **argv) {
    const char *socket_path = argc > 1 ? argv[1] : NULL;
    coop_client *client = NULL;
    int r = coop_client_connect(socket_path, 2000, &client);
    if (r < 0) {
        fprintf(stderr, "worker_series: cannot connect to coopd: %s\n", strerror(-r));
        return 1;
    }

    Coop__V1__GetSeriesRequest request = COOP__V1__GET_SERIES_REQUEST__INIT;
    request.indicator = (char *)"JP_MHLW_FOREIGN_WORKERS";
    request.origin = (char *)"VN";
    request.destination = (char *)"JP";
    coop_call_options options = COOP_CALL_OPTIONS_INIT;
    options.timeout_ms = 5000;
    Coop__V1__Series *series = NULL;       /* ours once the call succeeds: freed below */
    coop_status status = COOP_STATUS_INIT; /* its message is ours too: coop_status_clear() */

    r = coop_get_series(client, &request, &options, &series, &status);
    if (r < 0) {
        fprintf(stderr, "worker_series: GetSeries: %s: %s\n", coop_status_code_name(status.code),
                coop_status_message(&status));
        coop_status_clear(&status);
        coop_client_close(client);
        return 1;
    }

    const Coop__V1__Indicator *indicator = series->indicator;
    printf("%s -> %s: %s (%s, %s)\n", series->origin, series->destination,
           indicator ? indicator->name : request.indicator, indicator ? indicator->compiler : "?",
           indicator ? indicator->unit : "?");
    for (size_t i = 0; i < series->n_points; i++) {
        const Coop__V1__SeriesPoint *point = series->points[i];
        const Coop__V1__Observation *o = point->observation;
        if (strcmp(point->period_start, point->period_end) == 0)
            printf("  as of %-10s  ", point->period_end);
        else
            printf("  %s..%s  ", point->period_start, point->period_end);
        if (!o) {
            printf("(no value)\n");
            continue;
        }
        printf("%s", qualifier_word(o->qualifier));
        print_value(o->value, o->unit_multiplier);
        if (o->value_high > o->value) {
            printf("-");
            print_value(o->value_high, o->unit_multiplier);
        }
        printf(" %s  [source %lld", o->unit, (long long)o->source_id);
        if (o->vintage[0])
            printf(", published %s", o->vintage);
        if (o->status == COOP__V1__OBSERVATION_STATUS__OBSERVATION_STATUS_PROVISIONAL)
            printf(", provisional");
        printf("]\n");
    }
    if (series->n_sources > 0)
        printf("sources:\n");
    for (size_t i = 0; i < series->n_sources; i++) {
        const Coop__V1__Source *source = series->sources[i];
        printf("  [%lld] %s: %s", (long long)source->id, source->publisher, source->title);
        if (source->url[0])
            printf(" <%s>", source->url);
        printf("\n");
    }

    coop__v1__series__free_unpacked(series, NULL);
    coop_status_clear(&status);
    coop_client_close(client);
    return 0;
}
