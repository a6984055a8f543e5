#!/usr/bin/env python3
"""Container health probe for the dematflow image (exit 0 healthy, 1 unhealthy, 2 misuse).

    dematflow-healthcheck http URL   GET URL (loopback only), healthy on HTTP 200
    dematflow-healthcheck broker     PING the Celery broker (Redis) named by
                                     DEMATFLOW_BROKER__URL or DEMATFLOW_BROKER__URL_FILE

Health checks run beside the main process, not through the entrypoint, so *_FILE secrets are
read here again. Nothing secret is printed.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

TIMEOUT_S = 4.0
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_http(url: str) -> tuple[bool, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("only http://127.0.0.1… URLs are probed")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (checked above)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except OSError as exc:
        return False, f"{url}: {exc.__class__.__name__}"
    return status == 200, f"{url}: HTTP {status}"


def broker_url(environ: dict[str, str]) -> str:
    url = environ.get("DEMATFLOW_BROKER__URL")
    path = environ.get("DEMATFLOW_BROKER__URL_FILE")
    if not url and path:
        url = Path(path).read_text(encoding="utf-8").strip()
    if not url:
        raise ValueError("DEMATFLOW_BROKER__URL(_FILE) is not set")
    return url


def check_broker(url: str) -> tuple[bool, str]:
    import redis

    where = urlsplit(url).hostname or "?"
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
    try:
        ok = bool(client.ping())
    except redis.RedisError as exc:
        return False, f"broker {where}: {exc.__class__.__name__}"
    finally:
        client.close()
    return ok, f"broker {where}: {'PONG' if ok else 'no answer'}"


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 2 and argv[0] == "http":
            ok, message = check_http(argv[1])
        elif argv == ["broker"]:
            ok, message = check_broker(broker_url(dict(os.environ)))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (ValueError, OSError) as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 2
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
