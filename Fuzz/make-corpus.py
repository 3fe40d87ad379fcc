#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into Fuzz/corpus/<target>/ (replacing what is there).

Messages are written in protobuf text format and encoded with protoc, so the seeds follow Proto/ as it is.
requests: a valid request of every method coopd serves, first byte = the message's index among all request
message names sorted (as the coop-fuzz-requests target orders them). Run from anywhere: python3 Fuzz/make-corpus.py
"""
import base64
import json
import pathlib
import re
import shutil
import struct
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO = ROOT / "Proto"
CORPUS = ROOT / "Fuzz" / "corpus"
FILES = {"coop.v1": "coop/v1/cooperation.proto", "grpc.health.v1": "grpc/health/v1/health.proto",
         "ttrpc": "ttrpc/ttrpc.proto"}


def encode(message, text=""):
    """`message` (full name) from protobuf text format, with protoc."""
    package = message.rsplit(".", 1)[0]
    files = [FILES[package]] + (["coop/v1/diagnostics.proto"] if package == "coop.v1" else [])
    for f in files:
        run = subprocess.run(["protoc", f"-I{PROTO}", f"--encode={message}", f], input=text.encode(),
                             capture_output=True)
        if run.returncode == 0:
            return run.stdout
    raise SystemExit(f"protoc cannot encode {message}: {run.stderr.decode()}")


def page_token(listing, key):
    """A page token as the store writes one: base64url JSON, no padding."""
    raw = json.dumps({"l": listing, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


OBSERVATION = '''indicator: "VN_JP_TRADE" origin: "VN" destination: "JP" period_start: "2023" period_end: "2023"
  value: 1500 unit_multiplier: 6 unit: "USD" qualifier: QUALIFIER_APPROX source_id: 3 vintage: "2024-02-01"'''

# (message, text, file name suffix); each message of the services needs at least one.
REQUESTS = [
    ("coop.v1.ListCountriesRequest", "", ""),
    ("coop.v1.GetPairSummaryRequest", 'country_a: "VN" country_b: "JP"', ""),
    ("coop.v1.ListIndicatorsRequest", "", ""),
    ("coop.v1.ListObservationsRequest",
     'origin: "VN" destination: "_T" indicators: "VN_JP_TRADE" period_from: "2020" period_to: "2024-06" '
     'breakdown { key: "sector" value: "goods" } as_of: "2024-12-31" include_sources: true page_size: 50 '
     f'page_token: "{page_token("observations", ["VN_JP_TRADE", "VN", "JP", "", "2023-01-01", "2023-12-31", 7])}"',
     ""),
    ("coop.v1.ListObservationsRequest", 'any_breakdown: true include_superseded: true page_size: 2000', "-all"),
    ("coop.v1.GetSeriesRequest",
     'indicator: "VN_JP_TRADE" origin: "VN" destination: "JP" breakdown { key: "mode" value: "sea" } '
     'period_from: "2019-01" period_to: "2024" as_of: "2024-02-29"', ""),
    ("coop.v1.ListEventsRequest",
     'country: "VN" counterpart: "JP" from: "2023-01-01" to: "2024" kind: EVENT_KIND_VISIT '
     'status: EVENT_STATUS_HELD participant: "Dao Ngoc Dung" page_size: 10 '
     f'page_token: "{page_token("events", ["2023-09-20", 12])}"',
     ""),
    ("coop.v1.ListAgreementsRequest",
     'country: "JP" from: "2017" kind: AGREEMENT_KIND_MEMORANDUM topic: "specified_skilled_workers" '
     f'page_token: "{page_token("agreements", ["2019-07-01", 4])}"', ""),
    ("coop.v1.ListStatementsRequest",
     'country: "VN" speaker: "Nguyen" event_id: 12 from: "2024-01" page_size: 1 '
     f'page_token: "{page_token("statements", ["2024-03-05", 9])}"',
     ""),
    ("coop.v1.ListSourcesRequest", f'page_size: 20 page_token: "{page_token("sources", [41])}"', ""),
    ("coop.v1.SearchRequest", 'query: "Đào Ngọc Dung \\"skilled\\" ガ workers" limit: 5', ""),
    ("coop.v1.ListRelationshipsRequest", "", ""),
    ("coop.v1.WatchChangesRequest", "from_sequence: 100", ""),
    ("coop.v1.PutSourceRequest",
     'request_id: "src-1" source { title: "Foreign workers 2023" publisher: "MHLW" url: "https://example.org/a" '
     'published: "2024-01-26" kind: SOURCE_KIND_OFFICIAL_RELEASE language: "ja" note: "table 3" }', ""),
    ("coop.v1.PutIndicatorRequest",
     'request_id: "ind-1" indicator { code: "JP_MHLW_FOREIGN_WORKERS" name: "Foreign workers" compiler: "MHLW" '
     'measure: MEASURE_STOCK unit: "persons" period_basis: PERIOD_BASIS_AS_OF_DATE '
     'breakdown_dimensions: "status_of_residence" description: "October each year" }', ""),
    ("coop.v1.AddObservationsRequest",
     f'request_id: "obs-1" observations {{ {OBSERVATION} breakdown {{ key: "sector" value: "goods" }} }} '
     'observations { indicator: "VN_JP_TRADE" origin: "JP" destination: "VN" period_start: "2023-01" '
     'period_end: "2023-06-30" value: 10 value_high: 20 status: OBSERVATION_STATUS_PROVISIONAL source_id: 3 }', ""),
    ("coop.v1.ReviseObservationRequest",
     f'request_id: "rev-1" supersedes_id: 7 revision {{ {OBSERVATION} }}', ""),
    ("coop.v1.RetractObservationRequest", 'request_id: "ret-1" observation_id: 7 reason: "entered twice"', ""),
    ("coop.v1.PutEventRequest",
     'request_id: "ev-1" event { kind: EVENT_KIND_MEETING title: "Labour ministers meet" countries: "VN" '
     'countries: "JP" planned_date: "2024-05" actual_date: "2024-05-14" status: EVENT_STATUS_HELD place: "Tokyo" '
     'participants { name: "Dao Ngoc Dung" native_name: "Đào Ngọc Dung" title: "Minister" organisation: "MOLISA" '
     'country: "VN" } summary: "TITP reform" source_ids: 3 related_event_ids: 2 }', ""),
    ("coop.v1.PutAgreementRequest",
     'request_id: "ag-1" agreement { kind: AGREEMENT_KIND_MEMORANDUM title: "MoC on specified skilled workers" '
     'parties { name: "MOLISA" country: "VN" } parties { name: "Chiba Prefecture" country: "JP" subnational: true } '
     'signed_date: "2019-07-01" effective_date: "2019-07" place: "Hanoi" topics: "specified_skilled_workers" '
     'text_url: "https://example.org/moc" source_ids: 3 event_id: 5 summary: "basic framework" }', ""),
    ("coop.v1.AddStatementRequest",
     'request_id: "st-1" statement { speaker { name: "Dao Ngoc Dung" country: "VN" } event_id: 5 '
     'said_on: "2024-05-14" text: "about 345,000 Vietnamese work in Japan" source_id: 3 conflicts_with: 8 } '
     'claim { indicator: "VN_JP_WORKERS_CLAIM" origin: "VN" destination: "JP" period_start: "2024" '
     'period_end: "2024" value: 345000 qualifier: QUALIFIER_APPROX source_id: 3 }', ""),
    ("coop.v1.LinkConflictRequest",
     'request_id: "lc-1" observation_id: 7 conflicts_with_id: 8 note: "different coverage"', ""),
    ("coop.v1.PutRelationshipRequest",
     'request_id: "rel-1" relationship { country_a: "VN" country_b: "JP" established: "1973-09-21" '
     'history { level: "Strategic Partnership" since: "2006-10-19" agreement_id: 2 } '
     'history { level: "Comprehensive Strategic Partnership" since: "2023-11-27" } }', ""),
    ("coop.v1.EchoRequest", 'data: "ping"', ""),
    ("coop.v1.GetServerInfoRequest", "", ""),
    ("grpc.health.v1.HealthCheckRequest", 'service: "coop.v1.Cooperation"', ""),
]


def served_requests():
    """Request messages of the services coopd serves, from the rpc lines of their protos."""
    names = set()
    for path, package in [("coop/v1/cooperation.proto", "coop.v1"), ("coop/v1/diagnostics.proto", "coop.v1"),
                          ("grpc/health/v1/health.proto", "grpc.health.v1")]:
        for request in re.findall(r"^\s*rpc\s+\w+\s*\(\s*([\w.]+)\s*\)", (PROTO / path).read_text(), re.M):
            names.add(f"{package}.{request}")
    return sorted(names)


def frame(payload, stream=1, kind=1, flags=0, length=None):
    return struct.pack(">IIBB", len(payload) if length is None else length, stream, kind, flags) + payload


def main():
    names = served_requests()
    missing = set(names) - {m for m, _, _ in REQUESTS}
    if missing or len(names) != 25:
        raise SystemExit(f"request seeds out of date with Proto/: missing {sorted(missing)}, {len(names)} messages")
    corpus = {"requests": {}, "envelope": {}, "frame": {}}

    for message, text, suffix in REQUESTS:
        corpus["requests"][message.rsplit(".", 1)[1] + suffix] = bytes([names.index(message)]) + encode(message, text)

    echo = encode("coop.v1.EchoRequest", 'data: "ping"')
    put = corpus["requests"]["PutSourceRequest"][1:]
    envelopes = {
        "request-echo": encode("ttrpc.Request", 'service: "coop.v1.Diagnostics" method: "Echo" payload: "ping"'),
        "request-put": encode("ttrpc.Request",
                              f'service: "coop.v1.Cooperation" method: "PutSource" payload: "{escape(put)}" '
                              'timeout_nano: 5000000000 metadata { key: "request-id" value: "src-1" } '
                              'metadata { key: "trace" value: "" }'),
        "request-health": encode("ttrpc.Request", 'service: "grpc.health.v1.Health" method: "Check"'),
        "request-negative-timeout": encode("ttrpc.Request", 'service: "s" method: "m" timeout_nano: -1'),
        "response-ok": encode("ttrpc.Response", f'payload: "{escape(echo)}"'),
        "response-empty": b"",
        "response-error": encode("ttrpc.Response",
                                 'status { code: 3 message: "source.title: is required" '
                                 'details { type_url: "type.example/x" value: "\\001" } }'),
        "response-negative-code": encode("ttrpc.Response", 'status { code: -5 message: "odd" }'),
        "response-unknown-field": encode("ttrpc.Response", 'payload: "x"') + b"\x38\x01",
    }
    corpus["envelope"] = envelopes

    # Frame seeds: limit byte (255 = 4 MiB, else 16 × it), two read-size seed bytes, then frames.
    request = frame(envelopes["request-echo"], stream=1)
    corpus["frame"] = {
        "one-request": b"\xff\x12\x34" + request,
        "pipelined": b"\xff\x00\x01" + request + frame(envelopes["request-health"], stream=3)
                     + frame(b"", stream=3, kind=3, flags=5) + frame(b"\x0a\x00", stream=5, kind=9),
        "oversized-then-request": b"\x01\x77\x01" + frame(bytes(40), stream=7) + request,
        "oversized-split": b"\x02\xab\xcd" + frame(envelopes["request-put"], stream=9) + frame(b"ok", stream=11),
        "truncated": b"\xff\x55\x55" + request[:-3],
        "header-only": b"\xff\x00\x00" + frame(b"", stream=1, length=1 << 20),
        "response": b"\xff\x99\x01" + frame(envelopes["response-error"], stream=1, kind=2),
    }

    for target, files in corpus.items():
        directory = CORPUS / target
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for name, data in files.items():
            (directory / name).write_bytes(data)
    print(", ".join(f"{t}: {len(f)} files" for t, f in corpus.items()))


def escape(data):
    """Bytes as a protobuf text-format string literal body."""
    return "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\{b:03o}" for b in data)


if __name__ == "__main__":
    main()
