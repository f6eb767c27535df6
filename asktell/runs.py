"""Configured runs: start one from a TOML file, resume it, summarise and export it."""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .config import (
    ConfigError,
    RunConfig,
    apply_overrides,
    build_evaluator,
    build_optimiser,
    build_problem,
    build_scorer,
    load_config,
    parse_config,
)
from .controller import Controller, RunResult
from .evaluators import Evaluator
from .protocol import AsyncAskTell, Closeable, Reporter
from .store import STORE_FILE, RunStore
from .trust import UntrustedRunError, check_same_run, code_references, sign, verify

__all__ = ["export_history", "resume", "run", "summary"]

log = logging.getLogger(__name__)


def _plugin_versions() -> dict[str, str | None]:
    from .plugins import registry

    return registry().versions()


def _finish(ctl: Controller, run_dir: Path, plot: bool, problem: Any) -> RunResult:
    try:
        result = ctl.run()
        export_history(run_dir, run_dir / "history.csv")
        if plot:
            try:
                from .plotting import plot_convergence

                plot_convergence(run_dir, run_dir / "convergence.png")
            except ImportError as e:
                log.warning("no convergence plot: %s", e)
            # End-of-run reports through the declared hook: the method's own figures (a cINN's
            # calibration) and the problem's (the logistic fit), when it has one.
            for reporter in (ctl.optimiser, problem):
                if isinstance(reporter, Reporter):
                    reporter.write_report(run_dir, result)
    finally:
        if isinstance(ctl.evaluate, Closeable):
            ctl.evaluate.close()
        # The writer closes last, so SQLite folds the write-ahead log back into run.sqlite.
        ctl.store.close()  # type: ignore[union-attr]
    return result


def _build(cfg: RunConfig) -> tuple[Any, Any, Any]:
    """The method, what scores its batches, and the problem (None for a reward); a bad value
    is a ConfigError naming the source and the key."""
    optimiser = build_optimiser(cfg)
    if cfg.reward is not None:
        return optimiser, build_scorer(cfg), None
    problem = build_problem(cfg)
    evaluator = build_evaluator(cfg, problem)
    _check_mode(cfg, optimiser, evaluator)
    return optimiser, evaluator, problem


def run(
    config: str | Path | dict[str, Any] | RunConfig,
    *,
    out: str | Path | None = None,
    overrides: Iterable[str] = (),
    progress: bool | None = None,
) -> RunResult:
    """Run a configuration to its stop, in a new run directory.

    Parameters
    ----------
    config : path-like, dict or RunConfig
        A TOML file (see :mod:`asktell.config`), a configuration as plain data, or one parsed
        by :func:`asktell.config.load_config`.
    out : path-like, optional
        Run directory; default ``[run] out``, else ``runs/<config name>-<timestamp>``.
    overrides : iterable of str
        ``section.key=value`` items.
    progress : bool or None
        Progress bar; None: ``[run] progress``, else only on a terminal.

    Returns
    -------
    RunResult
        With ``run_dir`` holding ``run.sqlite`` (history and checkpoint), ``history.csv`` and
        ``convergence.png`` (when matplotlib is installed).
    """
    if isinstance(config, RunConfig):
        cfg = config.with_overrides(overrides) if overrides else config
        stem = "run" if config.source.startswith("<") else Path(config.source).stem
    elif isinstance(config, dict):
        cfg = parse_config(apply_overrides(config, overrides, "<dict>"), "<dict>")
        stem = "run"
    else:
        cfg = load_config(config, overrides)
        stem = Path(config).stem
    if out is None:
        out = cfg.run.out or Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(out)
    optimiser, evaluator, problem = _build(cfg)
    plain = cfg.to_dict()
    store = RunStore.create(
        run_dir,
        {"config": plain, "config_source": cfg.source, "asktell_version": __version__,
         "plugins": _plugin_versions(), "optimiser": optimiser.name, "status": "created",
         "direction": optimiser.direction.value, "config_signature": sign(plain)},
    )
    ctl = Controller(
        optimiser, evaluator, stop=cfg.stop, store=store,
        progress=cfg.run.progress if progress is None else progress,
        **cfg.run.controller_kwargs(),
    )
    return _finish(ctl, run_dir, cfg.run.plot, problem)


def resume(
    run_dir: str | Path,
    *,
    overrides: Iterable[str] = (),
    progress: bool | None = None,
    trust: bool = False,
    config: str | Path | None = None,
) -> RunResult:
    """Continue a configured run from its last committed batch.

    Parameters
    ----------
    run_dir : path-like
        A directory made by :func:`run` (or ``asktell run``), killed or finished.
    overrides : iterable of str
        Only ``stop.*`` keys may change (to extend a finished run); anything else would break
        reproducibility and is refused.
    progress : bool or None
        Progress bar.
    trust : bool
        Consent to import the code the stored configuration names outside the plugin registry
        (``[problem] callable``/``path``) although this user did not run it (see
        :mod:`asktell.trust`); the run is then signed as this user's.
    config : path-like, optional
        Resume with this TOML file instead of the stored configuration (consent to import what
        it names); it must describe the same run (:func:`asktell.trust.check_same_run`), and
        its ``[run]``, ``[stop]`` and ``[evaluator]`` settings then apply.

    Returns
    -------
    RunResult
        The next asks equal those of an uninterrupted run with the same configuration.

    Raises
    ------
    UntrustedRunError
        If the stored configuration names code outside the registry that this user did not
        run, without ``trust`` or ``config``; nothing is imported.
    RunLockedError
        If another process is writing the run directory.
    """
    from .lock import RunLockedError, holder

    run_dir = Path(run_dir)
    with RunStore.open(run_dir, readonly=True) as store:
        stored = store.get_meta("config")
        signature = store.get_meta("config_signature")
    if stored is None:
        raise ValueError(f"{run_dir} was not made from a configuration; use Controller.resume")
    held = holder(run_dir)  # fail before building anything (the store checks again, atomically)
    if held is not None:
        raise RunLockedError(run_dir, held)
    overrides = list(overrides)
    for item in overrides:
        if not item.strip().startswith("stop."):
            raise ConfigError(str(run_dir), item.split("=")[0],
                              "only stop.* settings can change when resuming")
    if config is not None:
        cfg = load_config(config, overrides)
        check_same_run(stored, cfg.to_dict(), cfg.source)
    else:
        refs = code_references(stored)
        if refs and not trust and not verify(stored, signature):
            raise UntrustedRunError(run_dir, refs)
        cfg = parse_config(apply_overrides(stored, overrides, str(run_dir)), str(run_dir))
    optimiser, evaluator, problem = _build(cfg)
    try:
        ctl = Controller.resume(
            run_dir, optimiser, evaluator, stop=cfg.stop,
            progress=cfg.run.progress if progress is None else progress,
            **cfg.run.controller_kwargs(),
        )
    except BaseException:
        if isinstance(evaluator, Closeable):
            evaluator.close()
        raise
    plain = cfg.to_dict()
    signed = sign(plain)
    if signed != signature or config is not None or overrides:
        extra = {} if config is None else {"config_source": cfg.source}
        ctl.store.set_meta(  # type: ignore[union-attr]
            config=plain, config_signature=signed, **extra)
    log.info("resuming %s at iteration %d", run_dir, optimiser.iterations)
    return _finish(ctl, run_dir, cfg.run.plot, problem)


def _check_mode(cfg: RunConfig, optimiser: Any, evaluator: Any) -> None:
    """``[run] mode = "async"`` needs a method that declares it and a streaming evaluator."""
    if cfg.run.mode != "async":
        return
    source = cfg.source
    if not isinstance(optimiser, AsyncAskTell):
        raise ConfigError(source, "run.mode", f"{optimiser.name} does not support asynchronous "
                          "evaluation (it cannot use results out of order); use mode = \"sync\"")
    if not isinstance(evaluator, Evaluator):
        raise ConfigError(source, "run.mode", "mode = \"async\" needs an [evaluator] (a "
                          f"streaming asktell.Evaluator), got {type(evaluator).__name__}")


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def summary(run_dir: str | Path) -> dict[str, Any]:
    """A plain summary of a run directory (what ``asktell show --json`` prints).

    Parameters
    ----------
    run_dir : path-like
        The run directory. Opened read-only; no code from it is run.

    Returns
    -------
    dict
        ``iterations``, ``evaluations``, ``failures``, ``xbest``, ``fbest``, ``stop_reason``,
        ``status``, ``optimiser``, ``elapsed`` and ``run_dir``; ``writer`` (the process writing
        the run now, or None); ``imports`` (what ``asktell resume`` would import from outside
        the plugin registry, as ``{"key", "value"}``) and ``trusted`` (whether it would do so
        without ``--trust``, see :mod:`asktell.trust`); ``warnings`` (sentences).
    """
    from .lock import holder

    had_wal = (Path(run_dir) / (STORE_FILE + "-wal")).exists()  # before opening makes one
    with RunStore.open(run_dir, readonly=True) as store:
        meta = store.meta()
        totals = store.totals()
        writer = holder(run_dir)
        cfg = meta.get("config")
        refs = code_references(cfg)
        warnings = []
        if (meta.get("status") in ("created", "running") and totals["iterations"] == 0
                and writer is None and not had_wal):
            warnings.append(
                f"{run_dir} says it is {meta.get('status')} with 0 batches, but no process "
                f"writes it: if it was copied from a live or crashed run without its "
                f"{STORE_FILE}-wal file, its latest batches are missing (copy run directories "
                "with `asktell export RUN_DIR --copy NEW_DIR`)")
        last = store.last_batch()
        xbest: Any = None
        latest = store.latest_checkpoint()
        if latest is not None and latest[0] == totals["iterations"]:
            xbest = latest[1].get("best_candidate")
        elif last is not None and np.isfinite(last.best):
            for b in store.batches():  # the first batch that reached the final best
                if b.batch_best == last.best:
                    vals = np.where(np.isfinite(b.values), b.values, np.nan)
                    xbest = b.candidates[int(np.nanargmin(vals) if meta.get(
                        "direction", "minimise") == "minimise" else np.nanargmax(vals))]
                    break
        return {
            "run_dir": str(Path(run_dir)),
            "optimiser": meta.get("optimiser"),
            "status": meta.get("status"),
            **totals,
            "xbest": _jsonable(xbest),
            "fbest": _jsonable(float("nan") if last is None else last.best),
            "stop_reason": meta.get("stop_reason"),
            "elapsed": meta.get("elapsed"),
            "asktell_version": meta.get("asktell_version"),
            "writer": writer,
            "imports": [{"key": k, "value": v} for k, v in refs],
            "trusted": not refs or verify(cfg, meta.get("config_signature")),
            "warnings": warnings,
        }


def export_history(run_dir: str | Path, path: str | Path) -> Path:
    """Write every evaluation of a run to CSV (``.csv``) or JSON (``.json``).

    Parameters
    ----------
    run_dir : path-like
        The run directory.
    path : path-like
        Output file; the format follows its suffix.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    One row per evaluation: ``iteration``, ``index``, the candidate (``x0``, ``x1``, ... for
    numeric candidates, else ``candidate``), ``value`` (the recorded value, empty/None when
    failed), ``error``, then the method's per-batch extras (``restart``, ``kl``, ...) and the
    evaluation's extra columns.
    """
    path = Path(path)
    with RunStore.open(run_dir, readonly=True) as store:
        rows: list[dict[str, Any]] = []
        for b in store.batches():
            errs = {e["index"]: e["error"] for e in b.errors}
            for i, v in enumerate(b.values):
                row: dict[str, Any] = {"iteration": b.iteration, "index": i}
                c = b.candidates[i]
                if isinstance(c, np.ndarray) and c.ndim == 1:
                    row.update({f"x{j}": float(cj) for j, cj in enumerate(c)})
                else:
                    row["candidate"] = _jsonable(c)
                row["value"] = float(v) if np.isfinite(v) else None
                row["error"] = errs.get(i, "")
                row.update(b.extras)
                row.update({k: _jsonable(float(c[i])) for k, c in b.columns.items()})
                rows.append(row)
    if path.suffix == ".json":
        path.write_text(json.dumps(rows, indent=1))
    elif path.suffix == ".csv":
        fields: list[str] = []
        for r in rows:
            for k in r:
                if k not in fields:
                    fields.append(k)
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
    else:
        raise ValueError(f"export format follows the suffix: .csv or .json, got {path.name!r}")
    return path
