"""The native node's HTTP client: one JSON POST (what ``connectPeerViaHttp`` sends)."""

from __future__ import annotations

import asyncio
import json

__all__ = ["http_post_json"]


async def http_post_json(url: str, body: dict, timeout: float = 30.0):
    """POST ``body`` as JSON to ``url``; the decoded JSON reply (the CPython HTTP client).

    Raises:
        LocalError: the request failed or the reply is not JSON.
    """
    import urllib.error
    import urllib.request

    from ..errors import LocalError

    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json", "accept": "application/json"})
    try:
        raw = await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=timeout).read())
        return json.loads(raw)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise LocalError(f"POST {url} failed: {e}") from None
