"""Small torch helpers shared by the cINN modules: devices, seeded generators and state dicts as
numpy arrays (asktell stores plain data, never pickles)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["module_from_numpy", "module_to_numpy", "resolve_device", "torch_generator"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The torch device named by ``device`` (``None`` means the CPU).

    Parameters
    ----------
    device : str, torch.device or None
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If a CUDA device is asked for and torch sees none.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    dev = torch.device("cpu" if device is None else device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} asked for, but torch sees no CUDA device")
    return dev


def torch_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (all torch randomness in asktell_cinn is
    drawn on the CPU, so results do not depend on the device)."""
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def module_to_numpy(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A module's ``state_dict`` as numpy arrays (copies, on the CPU)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def module_from_numpy(module: torch.nn.Module, state: dict[str, Any]) -> None:
    """Load numpy arrays made by :func:`module_to_numpy` into ``module`` (exactly)."""
    ref = module.state_dict()
    missing = sorted(set(ref) - set(state))
    extra = sorted(set(state) - set(ref))
    if missing or extra:
        raise ValueError(
            f"state does not match the network: missing {missing[:5]}, unexpected {extra[:5]}"
        )
    module.load_state_dict(
        {k: torch.as_tensor(np.asarray(state[k])).to(ref[k].dtype) for k in ref}
    )
