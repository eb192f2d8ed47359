"""The app of the real stack: a WSGI service that gunicorn runs with sync workers (a fixed
pool of processes per instance, each serving one request at a time).

    GET  /item/<key>   read through Redis (cache-aside): a hit answers from Redis; a miss
                       reads PostgreSQL (a query that waits ~Exp(READ_MS) inside the
                       database with pg_sleep) and fills Redis.
    POST /item/<key>   writes PostgreSQL (~Exp(WRITE_MS) inside the database), then deletes
                       the key from Redis.

Tracing uses the OpenTelemetry SDK; spans are written by `OtlpJsonFileExporter` as OTLP
JSON, one ExportTraceServiceRequest per line, one file per worker process (what the
OpenTelemetry Collector's file exporter writes), when TRACE_DIR is set. The server span of
each request is opened and closed by gunicorn's request hooks (gunicorn.conf.py).
"""

import json
import os
import random

import psycopg
import redis
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

READ_MS = float(os.environ.get("READ_MS", "50"))
WRITE_MS = float(os.environ.get("WRITE_MS", "30"))
REDIS_PORT = int(os.environ["REDIS_PORT"])
PG_PORT = int(os.environ["PG_PORT"])
PG_HOST = os.environ.get("PG_HOST", "127.0.0.1")


def _value(value):
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _attributes(attributes):
    return [{"key": key, "value": _value(value)} for key, value in (attributes or {}).items()]


class OtlpJsonFileExporter(SpanExporter):
    """Writes spans as OTLP JSON lines (trace and span ids in hex, times as strings)."""

    def __init__(self, path):
        self._file = open(path, "a", buffering=1, encoding="utf-8")

    def export(self, spans):
        groups = {}
        for span in spans:
            scope = span.instrumentation_scope.name if span.instrumentation_scope else ""
            key = (id(span.resource), scope)
            if key not in groups:
                groups[key] = (span.resource, scope, [])
            groups[key][2].append(
                {
                    "traceId": format(span.context.trace_id, "032x"),
                    "spanId": format(span.context.span_id, "016x"),
                    "parentSpanId": format(span.parent.span_id, "016x") if span.parent else "",
                    "name": span.name,
                    # Python's SpanKind counts from 0 (INTERNAL); OTLP's from 1.
                    "kind": span.kind.value + 1,
                    "startTimeUnixNano": str(span.start_time),
                    "endTimeUnixNano": str(span.end_time),
                    "attributes": _attributes(span.attributes),
                    "status": {"code": span.status.status_code.value},
                }
            )
        resource_spans = [
            {
                "resource": {"attributes": _attributes(resource.attributes)},
                "scopeSpans": [{"scope": {"name": scope}, "spans": spans}],
            }
            for resource, scope, spans in groups.values()
        ]
        self._file.write(json.dumps({"resourceSpans": resource_spans}, separators=(",", ":")) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self):
        self._file.close()


provider = TracerProvider(resource=Resource.create({"service.name": "app"}))
if os.environ.get("TRACE_DIR"):
    path = os.path.join(os.environ["TRACE_DIR"], f"spans-{os.getpid()}.jsonl")
    # Exported from a thread of its own, as in production, so the request does not wait on it.
    provider.add_span_processor(BatchSpanProcessor(OtlpJsonFileExporter(path)))
tracer = provider.get_tracer("archsim-real-stack")

_random = random.Random(os.getpid())
_clients = {}


def _connections():
    # One Redis and one PostgreSQL connection per worker process, made after the fork.
    if not _clients:
        _clients["redis"] = redis.Redis(host="127.0.0.1", port=REDIS_PORT)
        _clients["pg"] = psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres", autocommit=True)
    return _clients["redis"], _clients["pg"]


def _redis_span(name):
    return tracer.start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes={"db.system": "redis", "peer.service": "redis", "db.operation": name}
    )


def _pg_span(name):
    return tracer.start_as_current_span(
        name,
        kind=SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "peer.service": "postgresql", "db.operation": name},
    )


def read(key):
    cache, db = _connections()
    with _redis_span("GET"):
        value = cache.get(f"item:{key}")
    if value is None:
        with _pg_span("SELECT"):
            row = db.execute(
                "SELECT v, pg_sleep(%s) FROM items WHERE k = %s", (_random.expovariate(1000.0 / READ_MS), key)
            ).fetchone()
        value = (row[0] if row else "").encode()
        with _redis_span("SET"):
            cache.set(f"item:{key}", value)
    return value


def write(key):
    cache, db = _connections()
    with _pg_span("UPDATE"):
        db.execute(
            "UPDATE items SET v = md5(random()::text) FROM pg_sleep(%s) WHERE k = %s",
            (_random.expovariate(1000.0 / WRITE_MS), key),
        )
    with _redis_span("DEL"):
        cache.delete(f"item:{key}")
    return b"ok"


def application(environ, start_response):
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/item/") or method not in ("GET", "POST"):
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    key = int(path[len("/item/"):])
    # The server span is opened and closed by gunicorn's hooks (gunicorn.conf.py).
    body = read(key) if method == "GET" else write(key)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
