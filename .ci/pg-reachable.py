"""Exit 0 when the PostgreSQL server of the URL given accepts TCP connections, 1 (with a reason) otherwise."""

import socket
import sys
from urllib.parse import urlsplit


def main(url: str) -> int:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        print(f"PostgreSQL at {host}:{port} is unreachable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
