"""Consent before ``asktell resume`` imports code named in a run directory.

A run directory stores the configuration it was run with, and ``asktell resume`` rebuilds the
objective from it. Names in the plugin registry (``[problem] name = "logistic"``,
``[optimiser] name = "xnes"``) resolve to installed plugins only, but ``[problem] callable =
"module:attribute"`` (with ``path``, a folder put on ``sys.path``) imports and calls whatever it
names: ``{"callable": "os:system", "command": "..."}`` would run a shell command. So resume
imports such code only when one of these holds:

* **you ran this configuration yourself**: ``asktell run`` and ``asktell resume`` sign the
  stored configuration with an HMAC-SHA256 under a key private to your user account
  (``~/.config/asktell/trust.key``, made on first use, mode 0600; ``$ASKTELL_TRUST_KEY`` names
  another file). A run directory from someone else, or a stored configuration edited by hand,
  does not carry a valid signature;
* **you consent**: ``asktell resume RUN_DIR --trust`` (``trust=True`` in
  :func:`asktell.resume`), after which the run is signed as yours;
* **you pass your own configuration**: ``asktell resume RUN_DIR --config MY.toml``; it must
  describe the same run (see :func:`check_same_run`).

This is the scheme of Jupyter's notebook trust (a signature of what the user ran, under a
per-user secret). Without a writable key file nothing is signed and every such resume needs
consent. ``asktell show RUN_DIR`` prints what resume would import.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from . import serialization

__all__ = [
    "UntrustedRunError",
    "check_same_run",
    "code_references",
    "key_path",
    "sign",
    "verify",
]

log = logging.getLogger(__name__)

KEY_ENV = "ASKTELL_TRUST_KEY"
_CONTEXT = b"asktell run configuration v1\0"
#: Sections that define the run: a configuration passed to resume must agree on them.
SAME_RUN_SECTIONS = ("problem", "reward", "optimiser", "boundaries")


class UntrustedRunError(ValueError):
    """``resume`` would import code a run directory names, without the user's consent.

    Attributes
    ----------
    run_dir : str
        The run directory.
    references : list of (key, value)
        What would be imported, e.g. ``[("problem.callable", "os:system")]``.
    """

    def __init__(self, run_dir: str | Path, references: list[tuple[str, str]]) -> None:
        self.run_dir, self.references = str(run_dir), references
        names = ", ".join(f"{k} = {v!r}" for k, v in references)
        super().__init__(
            f"{run_dir} names code outside the plugin registry that resume would import and run "
            f"({names}), and its configuration was not run by you on this machine (written "
            f"elsewhere, or edited). Check it (asktell show {run_dir}), then resume with --trust, "
            "or with --config YOUR.toml (your own file for the same run)"
        )


def code_references(config: Any) -> list[tuple[str, str]]:
    """What resuming ``config`` would import from outside the plugin registry.

    Parameters
    ----------
    config : dict
        A run configuration (as stored in a run directory).

    Returns
    -------
    list of (key, value)
        ``("problem.callable", "module:attribute")`` and ``("problem.path", folder)`` where
        present; empty when the configuration names registered plugins only.
    """
    problem = config.get("problem") if isinstance(config, dict) else None
    if not isinstance(problem, dict):
        return []
    return [(f"problem.{k}", str(problem[k])) for k in ("callable", "path") if k in problem]


def key_path() -> Path:
    """The file holding this user's signing key.

    Returns
    -------
    Path
        ``$ASKTELL_TRUST_KEY`` if set, else ``$XDG_CONFIG_HOME/asktell/trust.key`` (default
        ``~/.config/asktell/trust.key``).
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "asktell" / "trust.key"


def _key(create: bool) -> bytes | None:
    path = key_path()
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        if not create:
            return None
    except (OSError, ValueError) as e:
        log.warning("cannot read the signing key %s (%s): run directories are not signed",
                    path, e)
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it just now
        return _key(create=False)
    except OSError as e:
        log.info("cannot create the signing key %s (%s): resuming a run that imports your "
                 "own code will need --trust", path, e)
        return None
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


def _canonical(config: Any) -> bytes:
    # The stored form (what a later verify reads back), as sorted, compact JSON.
    plain = serialization.loads(serialization.dumps(config))
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), default=repr).encode()


def sign(config: dict[str, Any]) -> str | None:
    """This user's signature of a configuration (made when the user runs it).

    Parameters
    ----------
    config : dict
        The configuration as run.

    Returns
    -------
    str or None
        Hex HMAC-SHA256, or None when no key can be read or made.
    """
    key = _key(create=True)
    if key is None:
        return None
    return hmac.new(key, _CONTEXT + _canonical(config), hashlib.sha256).hexdigest()


def verify(config: Any, signature: Any) -> bool:
    """Whether ``signature`` is this user's signature of ``config``.

    Parameters
    ----------
    config : dict
        A stored configuration.
    signature : str or None
        The signature stored with it.

    Returns
    -------
    bool
    """
    if not isinstance(signature, str):
        return False
    key = _key(create=False)
    if key is None:
        return False
    want = hmac.new(key, _CONTEXT + _canonical(config), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, signature)


def check_same_run(stored: dict[str, Any], given: dict[str, Any], source: str) -> None:
    """Refuse a configuration that does not describe the stored run.

    The sections that define the run (``[problem]`` but its ``path``, ``[reward]``,
    ``[optimiser]``, ``[boundaries]``) must be equal; ``[run]``, ``[stop]`` and ``[evaluator]``
    (workers, backend) may differ.

    Parameters
    ----------
    stored : dict
        The run directory's configuration.
    given : dict
        The user's configuration.
    source : str
        The user's file, for messages.

    Raises
    ------
    ConfigError
        Naming the first key that differs, with both values.
    """
    from .config import ConfigError

    for section in SAME_RUN_SECTIONS:
        a, b = dict(stored.get(section) or {}), dict(given.get(section) or {})
        if section == "problem":
            a.pop("path", None)
            b.pop("path", None)
        for k in sorted(set(a) | set(b)):
            if not serialization.plain_equal(a.get(k), b.get(k)):
                raise ConfigError(
                    source, f"{section}.{k}",
                    f"describes another run than the run directory's: the run has "
                    f"{a.get(k)!r}, this file {b.get(k)!r}; only [run], [stop] and [evaluator] "
                    "may change on resume")
