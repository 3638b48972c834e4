"""A throw-away HTTP server on 127.0.0.1 for tests that download: no test ever touches the internet.

    from local_server import refused_url, serve

    with serve({"/data/file.bin": payload}) as server:
        path = fetch(Resource("toy", server.url("/data/file.bin"), sha256, "file.bin"))
        assert server.requests == ["/data/file.bin"]

`serve` also takes a folder (every file under it, at its relative path), and can misbehave on purpose:
`truncate={"/path": n}` announces the full Content-Length but sends only the first n bytes and then
closes the connection; `stall={"/path"}` sends the headers and half the body, then goes silent
until the server stops (for timeout tests). `refused_url()` is a URL where nothing listens.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class LocalServer:
    """A running server: build URLs with `url`, see what was asked in `requests`, `stop` it early."""

    base_url: str
    requests: list[str] = field(default_factory=list)  # request paths, in arrival order
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def stop(self) -> None:
        """Stop serving (idempotent); later requests to its URLs are refused."""
        self._release.set()  # let stalled handlers finish
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None


def _read_folder(root: Path) -> dict[str, bytes]:
    files = (path for path in root.rglob("*") if path.is_file())
    return {"/" + path.relative_to(root).as_posix(): path.read_bytes() for path in files}


@contextmanager
def serve(
    content: Mapping[str, bytes] | Path,
    *,
    truncate: Mapping[str, int] | None = None,
    stall: Collection[str] = (),
) -> Iterator[LocalServer]:
    """Serve `content` ({"/path": bytes} or a folder) over HTTP on 127.0.0.1 at a free port.

    Args:
        content: the files; unknown paths get 404.
        truncate: path -> bytes actually sent; the Content-Length still announces the full size.
        stall: paths whose response stops half-way and hangs until the server stops.
    """
    files = _read_folder(content) if isinstance(content, Path) else {
        "/" + path.lstrip("/"): body for path, body in content.items()
    }
    cut = {"/" + path.lstrip("/"): size for path, size in (truncate or {}).items()}
    stalled = {"/" + path.lstrip("/") for path in stall}
    server_state = LocalServer(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the method name http.server dispatches GET to
            server_state.requests.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.path in stalled:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                server_state._release.wait()
            elif self.path in cut:
                self.wfile.write(body[: cut[self.path]])
                self.wfile.flush()
                self.close_connection = True
            else:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: pytest output stays readable."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    server_state._server = server
    server_state._thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True  # quick to stop
    )
    server_state._thread.start()
    try:
        yield server_state
    finally:
        server_state.stop()


def refused_url(path: str = "/file.bin") -> str:
    """A URL on 127.0.0.1 at a port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path.lstrip('/')}"
