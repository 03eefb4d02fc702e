"""A real HTTP file server on loopback that logs every request and can inject faults.

Used by unit tests (in-process, :class:`GenomeServer`), workflow tests and the
benchmark (as a separate process: ``python -m tests.support.httpserver``).

Fault modes, queued per path (``server.faults["/x.fa.gz"] += ["reset", "503"]``) and
consumed one per GET of that path (a HEAD never takes one); an unknown name is refused
when it is queued. Each is a different thing on the wire:

- ``reset``: send the headers and half the body, wait until the client has acknowledged
  those bytes, then reset the connection (a TCP RST: ``SO_LINGER`` on with 0 s, then close)
- ``short``: promise the full Content-Length, send half of it, then close cleanly (FIN)
- ``stall``: send the headers and half the body, then stall ``slow_seconds`` mid-body
  (past a client's read timeout) before closing
- ``slow``: stall ``slow_seconds`` before answering at all
- ``overstated``: send the whole body under a Content-Length :data:`MISCOUNT` bytes larger, then close
- ``understated``: send the whole body under a Content-Length :data:`MISCOUNT` bytes smaller
  (the extra bytes trail on the connection), then close
- ``500``, ``502``, ``503``, ``504``: answer with that status
- ``429``: answer 429 Too Many Requests with ``Retry-After: <server.retry_after>``
- ``corrupt``: send the body with one byte flipped
- ``norange``: ignore a Range header and send the whole file with 200

Every request of a path in ``answers`` (HEAD and GET) gets that status:
``answers["/x"] = 403``. Redirects: ``redirects["/old"] = (302, "http://host/new")`` answers
every request of ``/old`` with that status and ``Location``; two that point at each other
(``/a`` -> ``/b`` -> ``/a``) make a redirect loop.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import socket
import struct
import termios
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
IDLE_SECONDS = 0.1
MISCOUNT = 1000  # bytes by which ``overstated``/``understated`` misstate Content-Length
CUT = ("reset", "short", "stall")  # faults that send half the body
FAULTS = frozenset(
    {*CUT, "slow", "overstated", "understated", "corrupt", "norange", "429", "500", "502", "503", "504"}
)


class FaultQueue(list):
    """The faults queued for one path: a name that is not a fault is refused when queued
    (a typo would otherwise make a test pass without injecting anything)."""

    def _check(self, names: object) -> None:
        unknown = sorted({str(n) for n in names} - FAULTS)  # type: ignore[attr-defined]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {sorted(FAULTS)}")

    def append(self, name: str) -> None:
        self._check([name])
        super().append(name)

    def extend(self, names) -> None:  # type: ignore[no-untyped-def, override]
        names = list(names)
        self._check(names)
        super().extend(names)

    def __iadd__(self, names):  # type: ignore[no-untyped-def, override]
        self.extend(names)
        return self


def _unacknowledged(sock: socket.socket) -> int:
    """Bytes sent on ``sock`` that the peer has not acknowledged yet (Linux SIOCOUTQ)."""
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return 0


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5; clients that open many connections at once (range
    # mode, 16 in flight) would see one-second SYN retries that no real server causes
    request_queue_size = 128


class GenomeServer:
    """Serve ``root`` on 127.0.0.1; ``log`` lists one dict per request."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        throttle: float = 0,
        log_file: str | None = None,
        slow_seconds: float = 5.0,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.throttle = throttle  # bytes per second per response, 0 = unlimited
        self.slow_seconds = slow_seconds
        self.log: list[dict] = []
        self.faults: dict[str, FaultQueue] = defaultdict(FaultQueue)
        self.redirects: dict[str, tuple[int, str]] = {}
        self.answers: dict[str, int] = {}
        self.retry_after = 1  # seconds, sent with a ``429`` fault
        self.log_file = log_file
        self._lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.scheme = "http"
        if tls:  # (certificate, key): serve https
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread: threading.Thread | None = None

    def url(self, name: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{name}"

    def gets(self, name: str, ranged: bool | None = None) -> list[dict]:
        """Logged GETs of ``/name`` (only ranged or only whole-file ones if asked)."""
        return [
            e
            for e in self.log
            if e["method"] == "GET"
            and e["path"] == f"/{name}"
            and (ranged is None or (e["range"] is not None) == ranged)
        ]

    def bytes_sent(self, name: str | None = None) -> int:
        return sum(e["bytes"] for e in self.log if name is None or e["path"] == f"/{name}")

    def start(self) -> GenomeServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> GenomeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.log.append(entry)
            if self.log_file:
                with open(self.log_file, "a") as out:
                    out.write(json.dumps(entry) + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # keep-alive connections (the client pools them) close after this long idle, so a
            # finished exchange leaves no handler thread behind for long (tests wait for them)
            timeout = IDLE_SECONDS
            # headers and body go out in two writes; with Nagle on, a small body on a reused
            # connection waits ~40 ms for the delayed ACK of the headers. Real servers set
            # TCP_NODELAY (nginx's default, S3), so range mode's many small answers are timed fairly
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                self.connection.settimeout(None)  # no limit while answering (a throttled body)
                path = unquote(urlsplit(self.path).path)
                entry = {
                    "method": self.command,
                    "path": path,
                    "range": self.headers.get("Range"),
                    "status": 0,
                    "bytes": 0,
                    "fault": None,
                    "time": time.time(),
                    # whether credentials came (never what they were: the log is written to files)
                    "auth": self.headers.get("Authorization") is not None,
                    "query": bool(urlsplit(self.path).query),
                }
                try:
                    self._respond(path, head, entry)
                finally:
                    server._record(entry)
                    if self.connection.fileno() != -1:  # a ``reset`` closed it already
                        self.connection.settimeout(IDLE_SECONDS)

            def _respond(self, path: str, head: bool, entry: dict) -> None:
                if path in server.answers:
                    entry["status"] = server.answers[path]
                    self.send_error(server.answers[path])
                    return
                if path in server.redirects:
                    status, location = server.redirects[path]
                    entry["status"] = status
                    self.send_response(status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                target = (server.root / path.lstrip("/")).resolve()
                if server.root.resolve() not in target.parents or not target.is_file():
                    entry["status"] = 404
                    self.send_error(404)
                    return
                fault = None
                if not head:
                    with server._lock:
                        queue = server.faults.get(path)
                        fault = queue.pop(0) if queue else None
                entry["fault"] = fault
                if fault == "429":
                    entry["status"] = 429
                    self.send_response(429)
                    self.send_header("Retry-After", str(server.retry_after))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fault and fault.isdigit():
                    entry["status"] = int(fault)
                    self.send_error(int(fault))
                    return
                if fault == "slow":
                    time.sleep(server.slow_seconds)
                size = target.stat().st_size
                start, end = 0, size - 1
                match = RANGE.match(self.headers.get("Range") or "")
                status = 200
                if match and fault != "norange":
                    start = int(match.group(1))
                    end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
                    if start >= size:
                        entry["status"] = 416
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                length = max(0, end - start + 1)
                promised = length + {"overstated": MISCOUNT, "understated": -MISCOUNT}.get(fault or "", 0)
                entry["status"] = status
                self.send_response(status)
                self.send_header("Content-Length", str(max(0, promised)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", f'"{int(target.stat().st_mtime_ns)}-{size}"')
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                self.end_headers()
                if head:
                    return
                # only the bytes asked for, read as they are sent (a HEAD or a genome's
                # first bytes must not wait for the whole file to be read)
                send = length // 2 if fault in CUT else length
                flip = start + length // 2 if fault == "corrupt" and length else -1
                with open(target, "rb") as handle:
                    handle.seek(start)
                    entry["bytes"] = self._send(handle, start, send, flip)
                if fault in (*CUT, "overstated", "understated"):
                    self.close_connection = True
                    self.wfile.flush()
                    if fault == "stall":
                        time.sleep(server.slow_seconds)
                    if fault == "reset":
                        self._reset()
                    else:  # a clean close: FIN after the last byte
                        self.connection.shutdown(socket.SHUT_RDWR)

            def _reset(self) -> None:
                """Abort the connection with a TCP RST once the client has every byte sent (so
                it knows exactly how many it got), instead of the FIN of a clean close."""
                deadline = time.monotonic() + 5
                while _unacknowledged(self.connection) and time.monotonic() < deadline:
                    time.sleep(0.005)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()  # before socketserver's shutdown(SHUT_WR), which would send a FIN

            def _send(self, handle, offset: int, length: int, flip: int) -> int:  # type: ignore[no-untyped-def]
                """Send ``length`` bytes of ``handle`` (at file offset ``offset``), the byte at ``flip``
                inverted; the bytes sent before the client hung up."""
                sent = 0
                chunk = 64 * 1024
                try:
                    while sent < length:
                        piece = handle.read(min(chunk, length - sent))
                        if not piece:
                            break
                        if offset <= flip < offset + len(piece):
                            i = flip - offset
                            piece = piece[:i] + bytes([piece[i] ^ 0xFF]) + piece[i + 1 :]
                        self.wfile.write(piece)
                        sent += len(piece)
                        offset += len(piece)
                        if server.throttle:
                            time.sleep(len(piece) / server.throttle)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return sent

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a folder on loopback, logging requests as JSON lines")
    parser.add_argument("root")
    parser.add_argument("--log", required=True, help="JSON-lines request log")
    parser.add_argument("--port-file", required=True, help="the chosen port is written here")
    parser.add_argument("--throttle", type=float, default=0, help="bytes/second per response")
    args = parser.parse_args()
    server = GenomeServer(args.root, args.throttle, args.log)
    Path(args.port_file).write_text(str(server.port))
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
