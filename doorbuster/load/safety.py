"""Where load may go: loopback, or hosts the user names explicitly."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from doorbuster.load.errors import UnsafeTargetError

__all__ = ["check_target", "is_loopback"]


def is_loopback(hostname: str) -> bool:
    if hostname.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def check_target(url: str | None, allowed: Iterable[str] = ()) -> str:
    """Return the target's host name, or raise UnsafeTargetError when load may not go there."""
    if not url:
        raise UnsafeTargetError("no target host: pass --host http://127.0.0.1:PORT (the shop's storefront URL)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTargetError(f"target {url!r} is not an http(s) URL like http://127.0.0.1:8080")
    host = parts.hostname
    allowed_hosts = {h.strip().lower() for h in allowed if h and h.strip()}
    if is_loopback(host) or host.lower() in allowed_hosts:
        return host
    raise UnsafeTargetError(
        f"refusing to send load to {host!r} ({url}): only loopback targets are allowed unless you name "
        f"the host explicitly with --allow-host {host} (a load test can take down production)"
    )
