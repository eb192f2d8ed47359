"""gunicorn settings of the real stack's app instances. The server span of a request is
opened when gunicorn has read the request (`pre_request`) and closed when the answer is
written (`post_request`), so that it covers all the time the sync worker spends on it, not
only the WSGI call; spans are flushed when a worker exits."""

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind


def pre_request(worker, req):
    import app

    method, route = req.method, "/item/{key}" if req.path.startswith("/item/") else req.path
    # A caller's W3C traceparent header (the load generator's client span) is the parent.
    parent = propagate.extract({name.lower(): value for name, value in req.headers})
    span = app.tracer.start_span(
        f"{method} {route}",
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "http.route": route},
    )
    req.archsim_span = span
    req.archsim_token = context.attach(trace.set_span_in_context(span))


def post_request(worker, req, environ, resp):
    span = getattr(req, "archsim_span", None)
    if span is not None:
        context.detach(req.archsim_token)
        span.end()


def worker_exit(server, worker):
    import app

    app.provider.shutdown()
