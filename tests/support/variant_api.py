"""A loopback stand-in for the Alliance variant API (``GET /api/variant/<id>``).

Answers in either real shape: ``legacy`` (top-level ``location``,
``genomicReferenceSequence``, ``genomicVariantSequence``; PAVI's reader) or ``v9``
(``variantList[].curatedVariantGenomicLocations[]``, the live API since 2026). Unknown
ids get 404; ``down`` makes every answer 500; ``raw`` serves any body; ``agent_shapes`` answers
a client (by User-Agent) in its own shape. Every request is
logged (the variant id, unquoted), so tests can count API calls.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

PREFIX = "/api/variant/"


def legacy_answer(variant_id: str, seq_id: str, start: int, end: int, ref: str, alt: str) -> dict[str, Any]:
    """The legacy shape (as ../shared/pavi/variant-api-example.json); an empty allele is left out."""
    body: dict[str, Any] = {
        "id": variant_id,
        "location": {"chromosome": seq_id, "start": start, "end": end, "assembly": "test"},
        "variantType": {"name": "test"},
    }
    if ref:
        body["genomicReferenceSequence"] = ref
    if alt:
        body["genomicVariantSequence"] = alt
    return body


def v9_answer(variant_id: str, seq_id: str, start: int, end: int, ref: str, alt: str) -> dict[str, Any]:
    """The current shape (as ../shared/pavi/variant-api-v9-example.json)."""
    place: dict[str, Any] = {
        "variantGenomicLocationAssociationObject": {"name": seq_id},
        "start": start,
        "end": end,
        "mostSevereConsequence": {"hgvsCodingNomenclature": variant_id},
    }
    if ref:
        place["referenceSequence"] = ref
    if alt:
        place["variantSequence"] = alt
    return {"geneIds": ["TEST:1"], "variantList": [{"curatedVariantGenomicLocations": [place]}]}


class FakeVariantApi:
    """Serve variant answers on 127.0.0.1; ``log`` lists the requested variant ids."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.log: list[str] = []
        self.down = False
        self.delay = 0.0  # seconds before each answer (concurrency tests)
        # User-Agent prefix -> shape, e.g. {"python-requests": "legacy"}: PAVI reads only the legacy one
        self.agent_shapes: dict[str, str] = {}
        self.shaped: dict[tuple[str, str], bytes] = {}
        self.default_shape: dict[str, str] = {}
        self.served: list[tuple[str, str]] = []  # (User-Agent, shape) of each answer from add()
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    def add(
        self, variant_id: str, seq_id: str, start: int, end: int, ref: str, alt: str, shape: str = "legacy"
    ) -> None:
        """Answer ``variant_id`` in ``shape``; a client listed in ``agent_shapes`` gets its own shape."""
        for name, make in (("legacy", legacy_answer), ("v9", v9_answer)):
            self.shaped[(variant_id, name)] = json.dumps(
                make(variant_id, seq_id, start, end, ref, alt)
            ).encode()
        self.raw(variant_id, self.shaped[(variant_id, shape)])
        self.default_shape[variant_id] = shape

    def raw(self, variant_id: str, body: bytes, status: int = 200) -> None:
        self.answers[variant_id] = (status, body)

    def calls(self, variant_id: str | None = None) -> int:
        return sum(1 for v in self.log if variant_id is None or v == variant_id)

    def __enter__(self) -> FakeVariantApi:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                variant_id = unquote(path[len(PREFIX) :]) if path.startswith(PREFIX) else None
                with api._lock:
                    api.log.append(variant_id or path)
                time.sleep(api.delay)
                if api.down:
                    status, body = 500, b'{"error": "down"}'
                elif variant_id is None or variant_id not in api.answers:
                    status, body = 404, b'{"error": "not found"}'
                else:
                    status, body = api.answers[variant_id]
                    agent = self.headers.get("User-Agent") or ""
                    shape = api.default_shape.get(variant_id, "raw")
                    for prefix, wanted in api.agent_shapes.items():
                        if agent.startswith(prefix) and (variant_id, wanted) in api.shaped:
                            body, shape = api.shaped[(variant_id, wanted)], wanted
                    with api._lock:
                        api.served.append((agent, shape))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
