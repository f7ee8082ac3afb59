#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the test suite: sits between sluice and an S3-compatible
server on 127.0.0.1 and, by a seeded schedule, answers some requests with faults instead of (or
after) forwarding them.

Faults, each with its own rate:
  503       answer 503 SlowDown without forwarding
  ambiguous forward (the write lands), then answer 500 InternalError: the caller sees a failure
  reset     drop the connection without an answer (before forwarding)
  stall     wait --stall-seconds before forwarding
  truncate  forward, then send the upstream's headers but only half of its body, and close
With --refuse-conditional, every request carrying If-None-Match or If-Match is answered 501
NotImplemented, as a store without conditional writes does (counted as "refused_conditional").
With --bytes-per-second N, response bodies leave the proxy at N bytes per second at most, summed
over all connections: a store whose bandwidth, not the client's machine, bounds how long a
download takes.

Every request is also counted by S3 operation (LIST, GET, HEAD, PUT, PUT_PART, DELETE,
DELETE_OBJECTS, CREATE_MULTIPART, COMPLETE_MULTIPART, ABORT_MULTIPART, LEASE_<method> for the
lease object, OTHER) under "by_type",
so with all rates at zero it is a plain request counter.

Decisions come from random.Random(seed) in request order; the schedule is seeded, while the
order requests arrive in depends on the client. Counts of every outcome are rewritten as JSON to
--stats after every request (atomically), so tests can check that faults really fired, however
the proxy is stopped.

Usage: fault_proxy.py --upstream http://127.0.0.1:PORT --port-file FILE [--seed N] [--rate-503 R]
       [--rate-ambiguous R] [--rate-reset R] [--rate-stall R] [--rate-truncate R]
       [--stall-seconds S] [--max-faults N] [--stats FILE] [--refuse-conditional]
       [--bytes-per-second N]
"""
import argparse
import http.client
import http.server
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--seed", type=int, default=1)
    for name in ("503", "ambiguous", "reset", "stall", "truncate"):
        parser.add_argument(f"--rate-{name}", type=float, default=0.0)
    parser.add_argument("--stall-seconds", type=float, default=2.0)
    parser.add_argument("--max-faults", type=int, default=-1, help="stop injecting after this many faults")
    parser.add_argument("--stats", default=None)
    parser.add_argument("--refuse-conditional", action="store_true")
    parser.add_argument("--bytes-per-second", type=int, default=0, help="pace response bodies (0: no limit)")
    args = parser.parse_args()

    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("fault_proxy: upstream must be on the loopback interface")
    rng = random.Random(args.seed)
    lock = threading.Lock()
    stats = {"requests": 0, "forwarded": 0, "503": 0, "ambiguous": 0, "reset": 0, "stall": 0, "truncate": 0,
             "refused_conditional": 0, "by_type": {}}
    faults = ["503", "ambiguous", "reset", "stall", "truncate"]
    # The moment the shared link is next free; each chunk books its time under the lock and
    # leaves when that time comes, so parallel downloads share one rate.
    pacing = {"free_at": time.monotonic()}
    pacing_lock = threading.Lock()

    def paced_write(stream, data):
        chunk = 64 * 1024
        for start in range(0, len(data), chunk):
            piece = data[start:start + chunk]
            with pacing_lock:
                leave_at = max(time.monotonic(), pacing["free_at"]) + len(piece) / args.bytes_per_second
                pacing["free_at"] = leave_at
            delay = leave_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stream.write(piece)

    def save_stats():
        # Called with `lock` held.
        if args.stats:
            with open(args.stats + ".tmp", "w") as out:
                json.dump(stats, out)
            os.replace(args.stats + ".tmp", args.stats)

    def classify(method, path):
        parts = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        if parts.path.endswith("/lease"):
            return "LEASE_" + method
        if method == "GET":
            return "LIST" if "list-type" in query or path.rstrip("/").count("/") <= 1 else "GET"
        if method == "PUT":
            return "PUT_PART" if "partNumber" in query else "PUT"
        if method == "POST":
            if "delete" in query:
                return "DELETE_OBJECTS"
            if "uploads" in query:
                return "CREATE_MULTIPART"
            if "uploadId" in query:
                return "COMPLETE_MULTIPART"
        if method == "DELETE":
            return "ABORT_MULTIPART" if "uploadId" in query else "DELETE"
        if method == "HEAD":
            return "HEAD"
        return "OTHER"

    def decide(method, path):
        with lock:
            stats["requests"] += 1
            kind = classify(method, path)
            stats["by_type"][kind] = stats["by_type"].get(kind, 0) + 1
            save_stats()
            injected = sum(stats[f] for f in faults)
            draw = rng.random()
            if args.max_faults >= 0 and injected >= args.max_faults:
                return None
            edge = 0.0
            for fault in faults:
                edge += getattr(args, "rate_" + fault)
                if draw < edge:
                    stats[fault] += 1
                    save_stats()
                    return fault
            return None

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length", "0") or "0")
            body = self.rfile.read(length) if length else b""
            fault = decide(self.command, self.path)
            if args.refuse_conditional and ("If-None-Match" in self.headers or "If-Match" in self.headers):
                with lock:
                    stats["refused_conditional"] += 1
                    save_stats()
                self.answer(501, b"<?xml version=\"1.0\"?><Error><Code>NotImplemented</Code><Message>A header"
                                 b" you provided implies functionality that is not implemented</Message></Error>")
                return
            if fault == "reset":
                # RST instead of FIN: the client sees a connection reset.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            if fault == "503":
                self.answer(503, b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code>"
                                 b"<Message>Please reduce your request rate.</Message></Error>")
                return
            if fault == "stall":
                threading.Event().wait(args.stall_seconds)
            status, headers, data = self.forward(body)
            with lock:
                stats["forwarded"] += 1
            if fault == "ambiguous":
                self.answer(500, b"<?xml version=\"1.0\"?><Error><Code>InternalError</Code>"
                                 b"<Message>We encountered an internal error.</Message></Error>")
                return
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if fault == "truncate" and self.command != "HEAD" and len(data) > 1:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if self.command != "HEAD":
                if args.bytes_per_second > 0:
                    paced_write(self.wfile, data)
                else:
                    self.wfile.write(data)

        def forward(self, body):
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            result = (response.status, response.getheaders(), data)
            connection.close()
            return result

        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(args.port_file + ".tmp", "w") as out:
        out.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
