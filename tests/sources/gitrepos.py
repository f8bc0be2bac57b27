"""Real git repositories for the tests: a site's bare "origin" that authors push to from
a working clone, served over a local path, over ``git://`` or over http with a password
(``git http-backend``) on 127.0.0.1.

Every git command here runs with the developer's own git configuration shut out, so a
global hook, signing key or default branch cannot change what a test sees.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import os
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote

from tests.sources.helpers import write

# For the test's own git commands (the bot's run in its process, with its own settings).
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Desk",
    "GIT_AUTHOR_EMAIL": "desk@example.org",
    "GIT_COMMITTER_NAME": "Test Desk",
    "GIT_COMMITTER_EMAIL": "desk@example.org",
}


def git(*args: str | Path, cwd: Path | None = None) -> str:
    """Run git for the test; fails the test with git's words if git fails."""
    result = subprocess.run(
        ["git", *map(str, args)],
        cwd=cwd,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"git {args[0]}: {result.stderr}"
    return result.stdout.strip()


class Site:
    """A site's repository: ``origin`` (bare, branch ``main``) and ``work``, an
    author's clone of it with a ``content/`` folder."""

    def __init__(self, root: Path, branch: str = "main") -> None:
        self.origin = root / "origin.git"
        self.work = root / "work"
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", self.origin)
        git("init", "--quiet", f"--initial-branch={branch}", self.work)
        git("remote", "add", "origin", self.origin, cwd=self.work)
        self.branch = branch

    def write(self, rel: str, text: str | bytes) -> Path:
        return write(self.work, rel, text)

    def remove(self, rel: str) -> None:
        git("rm", "--quiet", rel, cwd=self.work)

    def commit(self, message: str = "update") -> str:
        """Commit everything in the working clone; returns the commit id."""
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self, *, force: bool = False, branch: str | None = None) -> None:
        target = branch or self.branch
        flags = ["--force"] if force else []
        git("push", "--quiet", *flags, "origin", f"HEAD:{target}", cwd=self.work)

    def publish(self, rel: str, text: str, message: str = "publish") -> str:
        """Write, commit and push one file; returns the commit id."""
        self.write(rel, text)
        commit = self.commit(message)
        self.push()
        return commit

    def reset(self, commit: str) -> None:
        """Move the working clone back to ``commit`` (to rewrite history after it)."""
        git("reset", "--quiet", "--hard", commit, cwd=self.work)


class _Handler(socketserver.BaseRequestHandler):
    server: GitDaemon

    def handle(self) -> None:
        self.server.connections += 1
        # git daemon in inetd mode serves the one connection on its stdin and stdout.
        subprocess.run(
            [
                "git",
                "daemon",
                "--inetd",
                "--export-all",
                f"--base-path={self.server.base}",
                str(self.server.base),
            ],
            stdin=self.request.fileno(),
            stdout=self.request.fileno(),
            stderr=subprocess.DEVNULL,
            env=GIT_ENV,
            timeout=60,
            check=False,
        )


class GitDaemon(socketserver.ThreadingTCPServer):
    """``git://127.0.0.1:PORT/<name>`` for the repositories under ``base`` (port 0:
    a free one), counting connections: every fetch is one."""

    daemon_threads = True

    def __init__(self, base: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = base
        self.connections = 0

    def url(self, repository: Path) -> str:
        return f"git://127.0.0.1:{self.server_address[1]}/{repository.relative_to(self.base)}"


_Server = TypeVar("_Server", bound=socketserver.BaseServer)


@contextlib.contextmanager
def _serving(server: _Server) -> Iterator[_Server]:
    """Run ``server`` in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, name=type(server).__name__)
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def git_daemon(base: Path) -> contextlib.AbstractContextManager[GitDaemon]:
    """Serve ``base`` over ``git://`` until the block ends."""
    return _serving(GitDaemon(base))


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    server: GitHttp

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if self.headers.get("Authorization") != self.server.authorization:
            self.server.refused += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="site"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.served += 1
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.server.base),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": self.server.user,
            "REMOTE_ADDR": "127.0.0.1",
        }
        for header in ("Content-Encoding", "Git-Protocol"):
            if header in self.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
        result = subprocess.run(
            ["git", "http-backend"],
            input=body,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        # A CGI answer: headers (a "Status" among them, or 200), a blank line, the body.
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        fields = [line.split(": ", 1) for line in head.decode("latin-1").split("\r\n") if line]
        status = next((int(value.split()[0]) for name, value in fields if name == "Status"), 200)
        self.send_response(status)
        for name, value in fields:
            if name != "Status":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the counters say what the tests need


class GitHttp(http.server.ThreadingHTTPServer):
    """``http://USER:PASSWORD@127.0.0.1:PORT/<name>`` for the repositories under
    ``base``, through ``git http-backend``: only requests with that user and password
    (HTTP Basic) are served; ``refused`` and ``served`` count requests."""

    daemon_threads = True

    def __init__(self, base: Path, user: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _HttpHandler)
        self.base = base
        self.user = user
        self.password = password
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.authorization = f"Basic {basic}"
        self.refused = 0
        self.served = 0

    def url(self, repository: Path) -> str:
        userinfo = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        path = repository.relative_to(self.base)
        return f"http://{userinfo}@127.0.0.1:{self.server_address[1]}/{path}"


def git_http(base: Path, user: str, password: str) -> contextlib.AbstractContextManager[GitHttp]:
    """Serve ``base`` over http to ``user`` with ``password`` until the block ends."""
    return _serving(GitHttp(base, user, password))
