"""The browser node: what ``createNode()`` (``js/index.mjs``) starts inside Pyodide.

Only the JS side touches browser objects (RTCPeerConnection, IndexedDB, the wallet); this
package adapts them to the shared core: :mod:`.node` boots a :class:`~rings_web.client.Client`
and exposes it to JS (or, :func:`start_in_page`, to Python in a plain Pyodide page where the
wheel came from micropip), :mod:`.storage` mirrors VNodes into IndexedDB.  Import it only in Pyodide.
"""

from .bridge import JsBridge, boot, start, start_in_page

__all__ = ["JsBridge", "boot", "start", "start_in_page"]
