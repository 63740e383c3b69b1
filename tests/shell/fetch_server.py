#!/usr/bin/env python3
"""fetch_server.py - the HTTP server t6001-fetch.sh downloads from (127.0.0.1 only).

    python3 fetch_server.py ROOT PORTFILE LOGFILE

Serves the files under ROOT (a query string is ignored) with ETags and single-range requests (Range: bytes=N-,
honouring If-Range), and logs one line per request to LOGFILE:
"GET /path range=N if-range=yes|no" (what was asked). The port (chosen by the OS) is written to
PORTFILE once the server listens. Paths starting with a mode choose a misbehaviour:

    /status/CODE/...  answer CODE (e.g. 404, 500) with a short error page
    /break/...        the first request for the path sends half the file, then
                      closes the connection; later requests are served normally
    /stall/...        send half the file, then nothing for 30 s
    /norange/...      ignore Range (always 200 with the whole file), as
                      `python3 -m http.server` does
"""
import hashlib
import os
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

ROOT, PORTFILE, LOGFILE = sys.argv[1], sys.argv[2], sys.argv[3]
broken_once = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_request_line(self, start):
        with open(LOGFILE, "a") as log:
            log.write("GET %s range=%s if-range=%s\n" % (
                self.path, start if start is not None else "-",
                "yes" if self.headers.get("If-Range") else "no"))

    def fail(self, code):
        body = b"error %d\n" % code
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path, mode = self.path, None
        for m in ("/break/", "/stall/", "/norange/"):
            if path.startswith(m):
                mode, path = m.strip("/"), path[len(m) - 1:]
        start = None
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
        self.log_request_line(start)
        if mode == "norange":
            start = None
        if path.startswith("/status/"):
            return self.fail(int(path.split("/")[2]))
        file = os.path.join(ROOT, path.split("?")[0].lstrip("/"))
        if not os.path.isfile(file):
            return self.fail(404)
        data = open(file, "rb").read()
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        if_range = self.headers.get("If-Range")
        if start is not None and if_range and if_range != etag:
            start = None          # the file changed: send all of it
        if start is not None and start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % len(data))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = data[start:] if start is not None else data
        self.send_response(206 if start is not None else 200)
        if start is not None:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        if mode == "break" and self.path not in broken_once:
            broken_once.add(self.path)
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "stall":
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            time.sleep(30)
            return
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
