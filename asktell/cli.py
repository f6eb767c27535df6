"""The ``asktell`` command line: run, resume, show, export, recover, plugins, dashboard."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _fmt(x: Any) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_fmt(v) for v in x) + "]"
    if isinstance(x, float):
        return f"{x:.10g}"
    return str(x)


def _print_result(summary: dict[str, Any]) -> None:
    print(f"run directory: {summary['run_dir']}")
    print(f"stopped:       {summary['stop_reason']} after {summary['iterations']} iterations, "
          f"{summary['evaluations']} evaluations ({summary['failures']} failed)")
    print(f"x_best:        {_fmt(summary['xbest'])}")
    print(f"f_best:        {_fmt(summary['fbest'])}")


def _cmd_run(args: argparse.Namespace) -> int:
    from .runs import run, summary

    result = run(args.config, out=args.out, overrides=args.set or (),
                 progress=False if args.no_progress else None)
    assert result.run_dir is not None
    assert result.run_dir is not None
    _print_result(summary(result.run_dir))
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from .runs import resume, summary

    result = resume(args.run_dir, overrides=args.set or (),
                    progress=False if args.no_progress else None, trust=args.trust,
                    config=args.config)
    assert result.run_dir is not None
    _print_result(summary(result.run_dir))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .runs import summary

    s = summary(args.run_dir)
    for w in s["warnings"]:
        print(f"asktell: warning: {w}", file=sys.stderr)
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        writer = s["writer"]
        by = "" if writer is None else (f", written now by pid {writer.get('pid', '?')} on "
                                        f"host {writer.get('host', '?')}")
        print(f"optimiser:     {s['optimiser']} ({s['status']}{by})")
        _print_result(s)
        if s["imports"]:
            names = ", ".join(f"{i['key']} = {i['value']}" for i in s["imports"])
            print(f"resume runs:   {names} ("
                  + ("run by you; `asktell resume` imports it" if s["trusted"] else
                     "NOT run by you: `asktell resume` asks for --trust or --config") + ")")
    if not args.no_plot:
        from .plotting import plot_convergence

        out = Path(args.plot or Path(args.run_dir) / "convergence.png")
        try:
            plot_convergence(args.run_dir, out)
        except ImportError as e:
            print(f"asktell: no plot: {e}", file=sys.stderr)
            return 0
        if not args.json:
            print(f"plot:          {out}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .runs import export_history

    if args.output is None and args.copy is None:
        raise ValueError("export needs an OUTPUT file (.csv or .json) or --copy NEW_DIR")
    if args.output is not None:
        print(export_history(args.run_dir, args.output))
    if args.copy is not None:
        from .recover import copy_run

        print(copy_run(args.run_dir, args.copy))
    return 0


def _cmd_recover(args: argparse.Namespace) -> int:
    from .recover import recover

    print(recover(args.run_dir, args.out).describe())
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import registry

    d = registry().describe()
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    rows = [(e["family"], e["name"], e["plugin"],
             f"{e['distribution'] or '-'} {e['version'] or ''}".strip(),
             "ok" if e["available"] else f"needs {', '.join(e['missing'])}: {e['hint']}",
             e["source"])
            for e in d["entries"]]
    head = ("family", "name", "plugin", "distribution", "status", "source")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(5)]
    for r in [head, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + str(r[5]))
    for f in d["failures"]:
        print(f"FAILED  {f['plugin']} ({f['distribution'] or '-'} {f['version'] or ''}): "
              f"{f['error']}\n        fix: {f['hint']}")
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from .dashboard import MissingExtraError, serve

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {args.port}")
    if args.refresh <= 0:
        raise ValueError(f"--refresh must be a positive number of seconds, got {args.refresh}")
    for d in args.runs_dir:
        if not Path(d).is_dir():
            print(f"asktell: warning: {d} does not exist (yet); the page will say so",
                  file=sys.stderr)
    url = f"http://{args.host}:{args.port}/"
    print(f"asktell dashboard: {url}  (Ctrl-C stops it)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        serve(args.runs_dir, host=args.host, port=args.port, refresh=args.refresh,
              stop_after=args.stop_after)
    except MissingExtraError as e:
        print(f"asktell: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = argparse.ArgumentParser(prog="asktell", description="ask/tell optimisation runs")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a TOML configuration in a new run directory")
    r.add_argument("config", help="TOML file")
    r.add_argument("--out", help="run directory (default: [run] out, else runs/NAME-TIME)")
    r.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override a configuration value (repeatable)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("resume", help="continue a run from its last committed batch")
    s.add_argument("run_dir")
    s.add_argument("--set", action="append", metavar="stop.KEY=VALUE",
                   help="change a stopping rule (e.g. stop.max_iterations=2000)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--trust", action="store_true",
                   help="import the code the run directory names (problem.callable) although "
                   "you did not run it (asktell show RUN_DIR prints it)")
    s.add_argument("--config", metavar="CONFIG.toml",
                   help="resume with your own configuration file for the same run")
    s.set_defaults(func=_cmd_resume)

    sh = sub.add_parser("show", help="summarise a run directory")
    sh.add_argument("run_dir")
    sh.add_argument("--json", action="store_true", help="print the summary as JSON")
    sh.add_argument("--plot", metavar="PATH",
                    help="where to write the convergence plot (default RUN_DIR/convergence.png)")
    sh.add_argument("--no-plot", action="store_true", help="do not write the plot")
    sh.set_defaults(func=_cmd_show)

    e = sub.add_parser("export", help="write every evaluation to CSV or JSON, or copy the run")
    e.add_argument("run_dir")
    e.add_argument("output", nargs="?", help="file ending in .csv or .json")
    e.add_argument("--copy", metavar="NEW_DIR",
                   help="write a self-contained copy of the run directory (safe while it runs)")
    e.set_defaults(func=_cmd_export)

    rc = sub.add_parser("recover", help="copy the intact batches of a damaged run directory")
    rc.add_argument("run_dir")
    rc.add_argument("--out", metavar="NEW_DIR",
                    help="new run directory (default RUN_DIR-recovered)")
    rc.set_defaults(func=_cmd_recover)

    pl = sub.add_parser("plugins", help="list plugins, their factories and failures")
    pl.add_argument("--json", action="store_true")
    pl.set_defaults(func=_cmd_plugins)

    d = sub.add_parser("dashboard", help="watch runs live in the browser (asktell[dashboard])")
    d.add_argument("runs_dir", nargs="*", default=["runs"],
                   help="folders holding run directories, or run directories (default: runs)")
    d.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    d.add_argument("--port", type=int, default=8050, help="TCP port (default 8050)")
    d.add_argument("--refresh", type=float, default=1.0,
                   help="seconds between the page's polls of a live run (default 1)")
    d.add_argument("--stop-after", type=float, metavar="SECONDS",
                   help="stop serving by itself after this many seconds")
    d.add_argument("--open", action="store_true", help="open the page in a web browser")
    d.set_defaults(func=_cmd_dashboard)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``asktell`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 for a bad configuration or argument (a damaged store, a
        run that needs ``--trust``), 1 otherwise (a run directory in use by another process).
    """
    import sqlite3

    from .config import ConfigError
    from .controller import ReplayError
    from .lock import RunLockedError

    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.func(args)
        return code
    except ConfigError as e:
        print(f"asktell: configuration error: {e}", file=sys.stderr)
        return 2
    except (RunLockedError, ReplayError) as e:
        print(f"asktell: {e}", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as e:  # the store wraps what it reads; this is the rest
        where = getattr(args, "run_dir", None)
        print(f"asktell: {where or 'the run store'}: {e}"
              + (f"; if the file is damaged, `asktell recover {where}` copies its intact "
                 "batches into a new run directory" if where else ""), file=sys.stderr)
        return 1
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        print(f"asktell: {e}", file=sys.stderr)
        return 2
    except (PermissionError, IsADirectoryError, NotADirectoryError) as e:
        print(f"asktell: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("asktell: interrupted; resume with `asktell resume RUN_DIR`", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
