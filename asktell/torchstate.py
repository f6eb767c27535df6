"""Torch state as plain data, for :meth:`asktell.Optimiser.state_dict` of torch-based plugins.

Modules, optimisers and random generators become numpy arrays and JSON values (run directories
hold no pickles), and come back exactly. torch is imported by the plugins that use this module;
the core itself never needs it.

Examples
--------
>>> import torch
>>> from asktell import torchstate
>>> net = torch.nn.Linear(2, 1)
>>> state = torchstate.module_state(net)
>>> sorted(state), type(state["weight"]).__name__
(['bias', 'weight'], 'ndarray')
>>> torchstate.load_module(torch.nn.Linear(2, 1), state)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "generator_from_state",
    "generator_state",
    "load_module",
    "load_optimizer",
    "module_state",
    "optimizer_state",
    "resolve_device",
]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The torch device named by ``device`` (None: the CPU); a clear error where CUDA is asked
    for and torch sees none."""
    dev = torch.device("cpu" if device is None else device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} asked for, but torch sees no CUDA device")
    return dev


def generator_state(gen: torch.Generator) -> np.ndarray:
    """A torch generator's state as a uint8 array."""
    return gen.get_state().cpu().numpy().copy()


def generator_from_state(state: Any, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on ``device`` restored from :func:`generator_state`."""
    gen = torch.Generator(device=device)
    try:
        gen.set_state(torch.from_numpy(np.asarray(state, dtype=np.uint8).copy()))
    except RuntimeError as e:
        raise ValueError(
            f"the saved random-generator state does not fit a {torch.device(device).type} "
            f"generator (a state saved on another device type cannot continue the same random "
            f"stream): {e}"
        ) from None
    return gen


def module_state(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A module's ``state_dict`` as numpy arrays (copies, on the CPU)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def load_module(module: torch.nn.Module, state: dict[str, Any]) -> None:
    """Load arrays made by :func:`module_state` into ``module``, exactly (each tensor takes the
    dtype and device of the module's own); a clear error if the keys differ."""
    ref = module.state_dict()
    missing, extra = sorted(set(ref) - set(state)), sorted(set(state) - set(ref))
    if missing or extra:
        raise ValueError(f"state does not match the module: missing {missing[:5]}, "
                         f"unexpected {extra[:5]}")
    module.load_state_dict({k: torch.as_tensor(np.asarray(state[k])).to(
        device=ref[k].device, dtype=ref[k].dtype) for k in ref})


def _plain(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return {"__tensor__": x.detach().cpu().numpy().copy()}
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _torch(x: Any, dev: torch.device) -> Any:
    if isinstance(x, dict):
        if set(x) == {"__tensor__"}:
            arr = np.asarray(x["__tensor__"])
            # Adam keeps its step count on the CPU (unless capturable), moments on the device.
            return torch.as_tensor(arr, device="cpu" if arr.ndim == 0 else dev)
        return {k: _torch(v, dev) for k, v in x.items()}
    if isinstance(x, list):
        return [_torch(v, dev) for v in x]
    return x


def optimizer_state(opt: torch.optim.Optimizer) -> dict[str, Any]:
    """An optimiser's ``state_dict`` as plain data (tensors marked ``{"__tensor__": array}``)."""
    state: dict[str, Any] = _plain(opt.state_dict())
    return state


def load_optimizer(opt: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Inverse of :func:`optimizer_state`."""
    dev = opt.param_groups[0]["params"][0].device
    sd = _torch(state, dev)
    sd["state"] = {int(k): v for k, v in sd["state"].items()}
    opt.load_state_dict(sd)
