"""The conditional affine coupling block of BayesFlow's cINN.

Radev, S. T., Mertens, U. K., Voss, A., Ardizzone, L. & Köthe, U. (2020). "BayesFlow: Learning
complex stochastic models with invertible neural networks." IEEE Transactions on Neural Networks
and Learning Systems 33(4), 1452-1466. doi:10.1109/TNNLS.2020.3042395 (arXiv:2003.06281).

The block follows Dinh, Sohl-Dickstein & Bengio (2017), "Density estimation using Real NVP",
ICLR (arXiv:1605.08803), with the two-sided update and soft clamping of Ardizzone et al. (2019),
"Analyzing inverse problems with invertible neural networks", ICLR (arXiv:1808.04730).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ConditionalAffineCoupling", "soft_clamp"]


def soft_clamp(s: torch.Tensor, alpha: float) -> torch.Tensor:
    """Soft clamp of log-scales, ``(2α/π)·atan(s/α)``, into ``(-α, α)``.

    Parameters
    ----------
    s : Tensor
        Raw log-scales.
    alpha : float
        Bound (1.9 in the original cINN code, Ardizzone et al. 2019).

    Returns
    -------
    Tensor
        Same shape; about ``(2/π)·s`` for ``|s| << α`` (as in FrEIA, ``0.636·α·atan(s/α)``).

    Examples
    --------
    >>> float(soft_clamp(torch.tensor(1e3), 1.9)) < 1.9
    True
    """
    return (2.0 * alpha / math.pi) * torch.atan(s / alpha)


class _Subnet(nn.Module):
    """An MLP plus a linear skip path; both output layers start at zero (identity block)."""

    def __init__(self, n_in: int, n_out: int, hidden: int, n_layers: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        last = nn.Linear(width, n_out)
        layers.append(last)
        self.mlp = nn.Sequential(*layers)
        self.skip = nn.Linear(n_in, n_out, bias=False)
        for p in (last.weight, last.bias, self.skip.weight):
            nn.init.zeros_(p)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.mlp(h) + self.skip(h)


class _Pair(nn.Module):
    """Two separate subnetworks s and t; their outputs side by side, as one (s, t) network's."""

    def __init__(self, s: nn.Module, t: nn.Module) -> None:
        super().__init__()
        self.s, self.t = s, t

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.s(h), self.t(h)), dim=-1)


class ConditionalAffineCoupling(nn.Module):
    """One conditional affine coupling block (Radev et al. 2020, eqs. 9-12).

    ``u`` is split into ``(u1, u2)`` and, with the condition ``c`` (the summary of a data set),

    ``v1 = u1 ⊙ exp(s1(u2, c)) + t1(u2, c)``, ``v2 = u2 ⊙ exp(s2(v1, c)) + t2(v1, c)``;

    ``log|det J| = Σ s1 + Σ s2``. The scales are soft-clamped (:func:`soft_clamp`) and the last
    layer of each subnetwork (an MLP plus a linear skip path) is zero, so a fresh block is the
    identity.

    Two parametrisations of the four functions (``subnets``):

    * ``2`` (the default, as FrEIA's ``GLOWCouplingBlock`` and BayesFlow's later code): one
      subnetwork per half computes (s1, t1) jointly, another (s2, t2); s and t share hidden
      layers;
    * ``4`` (the paper's form, eqs. 9-12: "s1, t1, s2, t2 ... arbitrarily complex mappings"
      each represented by its own network): four separate subnetworks, each with the same
      width and depth, twice the parameters and twice the hidden-layer work.

    Parameters
    ----------
    dim : int
        Dimension of ``u`` (at least 2).
    cond_dim : int
        Dimension of the condition ``c`` (0 for an unconditional block).
    hidden : int
        Width of the subnetworks' hidden layers.
    n_layers : int
        Hidden layers per subnetwork.
    clamp : float
        Soft-clamp bound α of the log-scales.
    subnets : {2, 4}
        Two subnetworks that each output (s, t), or four, one per function (the paper's form).

    Examples
    --------
    >>> block = ConditionalAffineCoupling(4, 3)
    >>> u, c = torch.randn(8, 4), torch.randn(8, 3)
    >>> v, log_det = block(u, c)
    >>> bool(torch.allclose(v, u)), float(log_det.detach().abs().max())
    (True, 0.0)
    """

    def __init__(
        self, dim: int, cond_dim: int, hidden: int = 128, n_layers: int = 2, clamp: float = 1.9,
        subnets: int = 2,
    ) -> None:
        super().__init__()
        if dim < 2:
            raise ValueError(f"a coupling block needs dim >= 2, got {dim}")
        if clamp <= 0:
            raise ValueError(f"clamp must be positive, got {clamp}")
        self.dim, self.cond_dim, self.clamp = int(dim), int(cond_dim), float(clamp)
        if subnets not in (2, 4):
            raise ValueError(f"subnets must be 2 or 4, got {subnets!r}")
        self.subnets = int(subnets)
        self.d1 = dim // 2
        self.d2 = dim - self.d1
        if subnets == 2:
            self.net1: _Subnet | _Pair = _Subnet(self.d2 + cond_dim, 2 * self.d1, hidden,
                                                 n_layers)
            self.net2: _Subnet | _Pair = _Subnet(self.d1 + cond_dim, 2 * self.d2, hidden,
                                                 n_layers)
        else:
            self.net1 = _Pair(_Subnet(self.d2 + cond_dim, self.d1, hidden, n_layers),
                              _Subnet(self.d2 + cond_dim, self.d1, hidden, n_layers))
            self.net2 = _Pair(_Subnet(self.d1 + cond_dim, self.d2, hidden, n_layers),
                              _Subnet(self.d1 + cond_dim, self.d2, hidden, n_layers))

    def _st(self, net: nn.Module, h: torch.Tensor, c: torch.Tensor | None) -> tuple:
        out = net(h if c is None or self.cond_dim == 0 else torch.cat((h, c), dim=-1))
        s, t = out.chunk(2, dim=-1)
        return soft_clamp(s, self.clamp), t

    def forward(
        self, u: torch.Tensor, c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``u`` to ``v``; return ``(v, log|det ∂v/∂u|)`` with ``log_det`` of shape (n,)."""
        u1, u2 = u[..., : self.d1], u[..., self.d1 :]
        s1, t1 = self._st(self.net1, u2, c)
        v1 = u1 * torch.exp(s1) + t1
        s2, t2 = self._st(self.net2, v1, c)
        v2 = u2 * torch.exp(s2) + t2
        return torch.cat((v1, v2), dim=-1), s1.sum(-1) + s2.sum(-1)

    def inverse(
        self, v: torch.Tensor, c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``v`` back to ``u``; return ``(u, log|det ∂u/∂v|)`` (minus the forward one)."""
        v1, v2 = v[..., : self.d1], v[..., self.d1 :]
        s2, t2 = self._st(self.net2, v1, c)
        u2 = (v2 - t2) * torch.exp(-s2)
        s1, t1 = self._st(self.net1, u2, c)
        u1 = (v1 - t1) * torch.exp(-s1)
        return torch.cat((u1, u2), dim=-1), -(s1.sum(-1) + s2.sum(-1))
