#!/usr/bin/env python3
"""moto's S3 server for bench/compare: one in-memory store served on two loopback ports.

The "w" port is for the replicator under test and the "r" port for everything else (the lag
poller's restores, the final restore, listings). Every request is logged as one JSON line
[tag, start time, end time, method, path, query, request bytes, response bytes, status] to --log, so
compare can count the replicator's requests by type without counting its own.

Usage: moto_s3.py --port-file FILE --log FILE   (stops on SIGTERM or SIGINT)
"""
import argparse
import json
import os
import signal
import threading
import time

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    log = open(args.log, "a", buffering=1)
    lock = threading.Lock()

    def logged(tag):
        def middleware(environ, start_response):
            started = time.time()
            status = []

            def capture(code, headers, exc_info=None):
                status.append(int(code.split()[0]))
                return start_response(code, headers, exc_info)

            length = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH") or 0
            sent = 0
            body = app(environ, capture)
            try:
                for chunk in body:
                    sent += len(chunk)
                    yield chunk
            finally:
                if hasattr(body, "close"):
                    body.close()
                line = json.dumps([tag, round(started, 4), round(time.time(), 4), environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                   environ.get("QUERY_STRING", ""), int(length), sent, status[0] if status else 0])
                with lock:
                    log.write(line + "\n")
        return middleware

    servers = {tag: make_server("127.0.0.1", 0, logged(tag), threaded=True, request_handler=QuietHandler)
               for tag in ("w", "r")}
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers.values()]
    for thread in threads:
        thread.start()
    with open(args.port_file + ".tmp", "w") as out:
        json.dump({tag: server.server_address[1] for tag, server in servers.items()}, out)
    os.replace(args.port_file + ".tmp", args.port_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    for server in servers.values():
        server.shutdown()


if __name__ == "__main__":
    main()
