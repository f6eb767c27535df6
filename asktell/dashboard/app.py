"""The dashboard's web application (Starlette), its pages and its JSON and CSV end points."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from . import data
from .data import RunInfo, RunProblem, RunRef

__all__ = ["create_app"]

log = logging.getLogger(__name__)

HERE = Path(__file__).parent


def _plotly_js() -> Path:
    """plotly.js as shipped inside the ``plotly`` package (no network needed)."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():  # pragma: no cover - a plotly without its bundled JavaScript
        raise RuntimeError(f"plotly's bundled plotly.min.js is missing (looked in {path})")
    return path


def _fmt_best(x: float | None) -> str:
    return "" if x is None else f"{x:.6g}"


def create_app(roots: Sequence[str | Path], *, refresh: float = 1.0) -> Starlette:
    """The dashboard for the runs under ``roots``.

    Parameters
    ----------
    roots : sequence of path-like
        Folders holding run directories (each found at any depth up to four levels), or run
        directories themselves.
    refresh : float
        Seconds between the page's polls of a live run.

    Returns
    -------
    starlette.applications.Starlette
        An ASGI application; serve it with uvicorn (:func:`asktell.dashboard.serve` does).
    """
    dirs: list[Path] = [Path(r) for r in roots]
    if refresh <= 0:
        raise ValueError(f"refresh must be a positive number of seconds, got {refresh!r}")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["best"] = _fmt_best
    templates.env.filters["when"] = data.format_time
    plotly_js = _plotly_js()

    def lookup(request: Request) -> RunRef:
        key = request.path_params["key"]
        ref = data.resolve(dirs, key)
        if ref is None:
            raise HTTPException(404, f"No run {key!r} under {', '.join(map(str, dirs))}.")
        return ref

    def page(request: Request, name: str, status_code: int = 200, **ctx: Any) -> Response:
        ctx.setdefault("roots", dirs)
        ctx.setdefault("refresh", refresh)
        return templates.TemplateResponse(request, name, ctx, status_code=status_code)

    def runs_context() -> dict[str, Any]:
        refs = data.find_runs(dirs)
        return {"rows": data.summaries(refs),
                "missing_roots": [r for r in dirs if not r.is_dir()]}

    async def index(request: Request) -> Response:
        return page(request, "index.html", **runs_context())

    async def runs_fragment(request: Request) -> Response:
        return page(request, "_runs.html", **runs_context())

    async def api_runs(request: Request) -> Response:
        out = []
        for ref, info in data.summaries(data.find_runs(dirs)):
            row: dict[str, Any] = {"key": ref.key, "name": ref.name, "path": str(ref.path)}
            if isinstance(info, RunInfo):
                row.update(method=info.method, status=info.status, iterations=info.iterations,
                           evaluations=info.evaluations, failures=info.failures,
                           best=info.best, stop_reason=info.stop_reason,
                           created=info.created)
            else:
                row.update(problem=info.kind, message=info.message)
            out.append(row)
        return JSONResponse({"roots": [str(r) for r in dirs], "runs": out})

    async def run_page(request: Request) -> Response:
        ref = lookup(request)
        info = data.read_summary(ref.path)
        return page(request, "run.html", ref=ref, info=info,
                    problem=info if isinstance(info, RunProblem) else None)

    async def summary_fragment(request: Request) -> Response:
        ref = lookup(request)
        info = data.read_summary(ref.path)
        return page(request, "_summary.html", ref=ref, info=info)

    async def batches_fragment(request: Request) -> Response:
        ref = lookup(request)
        batches = data.read_batches(ref.path)
        return page(request, "_batches.html", ref=ref, batches=batches)

    async def api_trace(request: Request) -> Response:
        ref = lookup(request)
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            raise HTTPException(400, "since must be an integer") from None
        trace = data.read_trace(ref.path, since=since)
        if isinstance(trace, RunProblem):
            return JSONResponse({"problem": trace.kind, "message": trace.message})
        return JSONResponse({"name": ref.name, "columns": trace})

    async def csv_history(request: Request) -> Response:
        return _csv(lookup(request), "history", data.history_csv)

    async def csv_trace(request: Request) -> Response:
        return _csv(lookup(request), "trace", data.trace_csv)

    def _csv(ref: RunRef, what: str, reader: Any) -> Response:
        text = reader(ref.path)
        if isinstance(text, RunProblem):
            raise HTTPException(409, text.message)
        stem = ref.name.replace("/", "_") or "run"
        return Response(text, media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{stem}-{what}.csv"'})

    async def compare(request: Request) -> Response:
        keys = request.query_params.getlist("run")
        refs = [data.resolve(dirs, k) for k in keys]
        unknown = [k for k, r in zip(keys, refs) if r is None]
        chosen = [r for r in refs if r is not None]
        return page(request, "compare.html", runs=chosen, unknown=unknown,
                    runs_list=[{"key": r.key, "name": r.name} for r in chosen])

    async def plotly(request: Request) -> Response:
        return FileResponse(plotly_js, media_type="application/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", "")
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": detail}, status_code=status)
        return page(request, "error.html", status_code=status, status=status, detail=detail)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("dashboard: error serving %s", request.url.path)
        return page(request, "error.html", status_code=500, status=500,
                    detail=f"The dashboard failed on this page: {type(exc).__name__}: {exc}")

    routes = [
        Route("/", index),
        Route("/fragment/runs", runs_fragment),
        Route("/api/runs", api_runs),
        Route("/run/{key:path}", run_page),
        Route("/fragment/summary/{key:path}", summary_fragment),
        Route("/fragment/batches/{key:path}", batches_fragment),
        Route("/api/trace/{key:path}", api_trace),
        Route("/csv/history/{key:path}", csv_history),
        Route("/csv/trace/{key:path}", csv_trace),
        Route("/compare", compare),
        Route("/static/plotly.min.js", plotly),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes,
                     exception_handlers={HTTPException: http_error, Exception: server_error})
