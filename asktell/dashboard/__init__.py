"""``asktell dashboard``: watch runs live in the browser.

A local web page that lists the runs under one or more folders (name, method, status,
iterations, evaluations, best value, stop reason, start time) and, for a chosen run, plots its
convergence curve and every numeric per-batch column its store keeps, refreshing while the run
is live; overlays several runs on one plot; shows the batch table with failures and their errors;
and downloads the history as CSV.

It reads each store read-only, one short transaction per request, so a running writer is never
blocked (``benchmarks/dashboard_overhead.py`` measures the writer's cost of being watched).
Built on Starlette and uvicorn; the plots use plotly.js as shipped inside the ``plotly`` PyPI
package, so the page works with no internet. Install with ``pip install "asktell[dashboard]"``.

Examples
--------
From a shell::

    asktell dashboard runs/ --port 8050      # then open http://127.0.0.1:8050

or from Python (blocks until interrupted)::

    from asktell.dashboard import serve
    serve(["runs"], port=8050)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "MissingExtraError", "create_app", "serve"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
_REQUIRES = ("starlette", "uvicorn", "jinja2", "plotly")


class MissingExtraError(ImportError):
    """The dashboard's dependencies are not installed; the message names the install command."""


def _check_extra() -> None:
    import importlib.util

    missing = [m for m in _REQUIRES if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(
            f"asktell dashboard needs {', '.join(missing)}: "
            "pip install \"asktell[dashboard]\"")


def create_app(roots: Sequence[str | Path], *, refresh: float = 1.0) -> Any:
    """The dashboard's ASGI application (see :func:`asktell.dashboard.app.create_app`).

    Parameters
    ----------
    roots : sequence of path-like
        Folders holding run directories, or run directories.
    refresh : float
        Seconds between the page's polls of a live run.

    Returns
    -------
    starlette.applications.Starlette

    Raises
    ------
    MissingExtraError
        Without the ``dashboard`` extra.
    """
    _check_extra()
    from .app import create_app as _create

    return _create(roots, refresh=refresh)


def serve(
    roots: Sequence[str | Path],
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    refresh: float = 1.0,
    stop_after: float | None = None,
) -> None:
    """Serve the dashboard until interrupted (or for ``stop_after`` seconds).

    Parameters
    ----------
    roots : sequence of path-like
        Folders holding run directories, or run directories.
    host : str
        Address to bind; the default, 127.0.0.1, serves this machine only.
    port : int
        TCP port (0: any free one).
    refresh : float
        Seconds between the page's polls of a live run.
    stop_after : float, optional
        Stop by itself after this many seconds (for tests and scripts).

    Raises
    ------
    MissingExtraError
        Without the ``dashboard`` extra.
    """
    app = create_app(roots, refresh=refresh)
    import uvicorn

    if host not in {"127.0.0.1", "localhost", "::1"}:
        log.warning("dashboard bound to %s: every machine that reaches it can read these runs",
                    host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           access_log=False))
    timer = None
    if stop_after is not None:
        timer = threading.Timer(stop_after, lambda: setattr(server, "should_exit", True))
        timer.daemon = True
        timer.start()
    log.info("asktell dashboard on http://%s:%d (Ctrl-C stops it)", host, port)
    try:
        server.run()
    finally:
        if timer is not None:
            timer.cancel()
