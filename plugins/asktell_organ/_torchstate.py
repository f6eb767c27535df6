"""Torch modules, optimisers and generators as plain data (numpy arrays, JSON values) for
:meth:`asktell.Optimiser.state_dict`: no pickle in a run directory."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["load_module", "load_optimizer", "module_state", "optimizer_state"]


def module_state(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A module's ``state_dict`` as numpy arrays (copies, on the CPU)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def load_module(module: torch.nn.Module, state: dict[str, Any]) -> None:
    """Inverse of :func:`module_state` (tensors go to the module's device)."""
    dev = next(module.parameters()).device
    module.load_state_dict({k: torch.as_tensor(np.asarray(v), device=dev)
                            for k, v in state.items()})


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
    return _plain(opt.state_dict())


def load_optimizer(opt: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Inverse of :func:`optimizer_state`."""
    dev = opt.param_groups[0]["params"][0].device
    sd = _torch(state, dev)
    sd["state"] = {int(k): v for k, v in sd["state"].items()}
    opt.load_state_dict(sd)
