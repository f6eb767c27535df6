"""Summary networks h_ψ(x) that embed a data set into a fixed-size vector, trained jointly with
the invertible network (Radev et al. 2020, Sec. 3.3, doi:10.1109/TNNLS.2020.3042395).

Every summary network takes a padded batch ``x`` of shape (n, M, *features)`` and the number of
valid rows of each data set, ``lengths`` (n,), and returns (n, out_dim).

* :class:`IdentitySummary`: the flattened data set (fixed size).
* :class:`DeepSetSummary`: permutation-invariant pooling over iid observations, any number of
  them (Zaheer et al. 2017, "Deep Sets", NeurIPS, arXiv:1703.06114).
* :class:`LSTMSummary`: a recurrent network over a time series (Hochreiter & Schmidhuber 1997,
  "Long short-term memory", Neural Computation 9(8), doi:10.1162/neco.1997.9.8.1735), as used
  for the time-series models of Radev et al. (2020).
* :class:`ConvSummary`: a 1-D convolutional network over a time series, pooled over time; the
  paper's summary networks include convolutional ones for time series.

They are registered in the ``summary`` family (``identity``, ``deepset``, ``lstm``,
``conv1d``) through the factories below; :func:`make_summary` looks any registered name up,
so a summary network another plugin registers works by name (``CINN(summary="its-name")``).
"""

from __future__ import annotations

import torch
from torch import nn

from asktell.plugins import PluginUnavailableError, UnknownNameError, registry

__all__ = ["ConvSummary", "DeepSetSummary", "IdentitySummary", "LSTMSummary", "check_summary",
           "conv1d_summary", "deepset_summary", "identity_summary", "lstm_summary",
           "make_summary"]


def _mlp(n_in: int, hidden: int, n_out: int, n_layers: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    w = n_in
    for _ in range(n_layers):
        layers += [nn.Linear(w, hidden), nn.ReLU()]
        w = hidden
    layers.append(nn.Linear(w, n_out))
    return nn.Sequential(*layers)


class IdentitySummary(nn.Module):
    """The data set itself, flattened: ``h(x) = vec(x)`` (fixed-size data only).

    Parameters
    ----------
    n_obs : int
        Rows per data set.
    n_features : int
        Features per row.

    Examples
    --------
    >>> h = IdentitySummary(2, 3)
    >>> h(torch.ones(4, 2, 3), torch.full((4,), 2)).shape
    torch.Size([4, 6])
    """

    def __init__(self, n_obs: int, n_features: int) -> None:
        super().__init__()
        self.n_obs, self.out_dim = int(n_obs), int(n_obs * n_features)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Flatten ``x`` (n, M, f) to (n, M·f)."""
        if x.shape[1] != self.n_obs:
            raise ValueError(
                f"the identity summary takes data sets of {self.n_obs} rows, got {x.shape[1]}; "
                "use summary='deepset' for a variable number of observations"
            )
        return x.reshape(x.shape[0], -1)


class DeepSetSummary(nn.Module):
    """Permutation-invariant summary of iid observations (Zaheer et al. 2017).

    ``h(x) = ρ(p) + W p`` with ``p = [mean_i φ(x_i), mean_i x_i, log m]`` over the ``m`` valid
    rows of each data set: any number of observations is accepted, padded rows are masked out.
    The raw mean and ``log m`` let ρ see the first moment and the sample size directly, and the
    linear path ``W`` keeps summaries that are linear in them exact.

    Parameters
    ----------
    n_features : int
        Features per observation.
    out_dim : int
        Summary size.
    hidden : int
        Width of φ and ρ.

    Examples
    --------
    >>> h = DeepSetSummary(2, out_dim=4, hidden=8)
    >>> x = torch.randn(1, 5, 2)
    >>> a = h(x, torch.tensor([5]))
    >>> b = h(x[:, torch.randperm(5)], torch.tensor([5]))
    >>> bool(torch.allclose(a, b, atol=1e-6))
    True
    """

    def __init__(self, n_features: int, out_dim: int = 16, hidden: int = 64) -> None:
        super().__init__()
        self.out_dim = int(out_dim)
        self.phi = _mlp(n_features, hidden, hidden)
        self.rho = _mlp(hidden + n_features + 1, hidden, out_dim)
        self.skip = nn.Linear(hidden + n_features + 1, out_dim, bias=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Pool over the valid rows of each padded data set."""
        n, m = x.shape[0], x.shape[1]
        mask = (torch.arange(m, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)
        count = mask.sum(1, keepdim=True).clamp_min(1.0)
        feat = self.phi(x.reshape(n * m, -1)).reshape(n, m, -1)
        pooled = (feat * mask[..., None]).sum(1) / count
        xmean = (x.reshape(n, m, -1) * mask[..., None]).sum(1) / count
        z = torch.cat((pooled, xmean, torch.log(count)), dim=-1)
        return self.rho(z) + self.skip(z)


class LSTMSummary(nn.Module):
    """A one-layer LSTM over a (possibly variable-length) time series; its last hidden state,
    through a linear layer, is the summary.

    Parameters
    ----------
    n_features : int
        Features per time step.
    out_dim : int
        Summary size.
    hidden : int
        LSTM width.

    Examples
    --------
    >>> h = LSTMSummary(1, out_dim=4, hidden=8)
    >>> h(torch.randn(3, 10, 1), torch.tensor([10, 7, 3])).shape
    torch.Size([3, 4])
    """

    def __init__(self, n_features: int, out_dim: int = 16, hidden: int = 64) -> None:
        super().__init__()
        self.out_dim = int(out_dim)
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden + 1, out_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Run the LSTM to each series' last valid step."""
        n, m = x.shape[0], x.shape[1]
        x = x.reshape(n, m, -1)
        if bool((lengths == m).all()):
            _, (h, _) = self.lstm(x)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(
                x, lengths.cpu().clamp_min(1), batch_first=True, enforce_sorted=False
            )
            _, (h, _) = self.lstm(packed)
        logm = torch.log(lengths.to(x.dtype).clamp_min(1.0))[:, None]
        return self.head(torch.cat((h[-1], logm), dim=-1))


class ConvSummary(nn.Module):
    """A 1-D convolutional summary of a (possibly variable-length) time series.

    ``n_conv`` layers of ``Conv1d(kernel 5, padding 2) → ReLU`` (the second onwards with stride
    2), then the mean and the maximum over each series' valid steps, and ``log m``, through an
    MLP: h(x) = ρ([mean_t φ(x)_t, max_t φ(x)_t, log m]). Padded steps are zero at the input
    and every layer's output is zeroed past each series' valid steps, so what the caller pads
    with does not matter; both poolings skip the padded steps.

    Parameters
    ----------
    n_features : int
        Features per time step.
    out_dim : int
        Summary size.
    hidden : int
        Channels of each convolution and width of ρ.
    n_conv : int
        Convolution layers.

    Examples
    --------
    >>> h = ConvSummary(1, out_dim=4, hidden=8)
    >>> h(torch.randn(3, 20, 1), torch.tensor([20, 11, 4])).shape
    torch.Size([3, 4])
    """

    def __init__(self, n_features: int, out_dim: int = 16, hidden: int = 64,
                 n_conv: int = 3) -> None:
        super().__init__()
        if n_conv < 1:
            raise ValueError(f"n_conv must be >= 1, got {n_conv}")
        self.out_dim = int(out_dim)
        self.strides = [1] + [2] * (n_conv - 1)
        self.convs = nn.ModuleList(
            nn.Conv1d(n_features if k == 0 else hidden, hidden, 5, stride=st, padding=2)
            for k, st in enumerate(self.strides))
        self.rho = _mlp(2 * hidden + 1, hidden, out_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Convolve, pool over each series' valid steps, map to the summary."""
        n, m = x.shape[0], x.shape[1]
        h = x.reshape(n, m, -1).transpose(1, 2)  # (n, F, m)
        valid = lengths.clamp_min(1)

        def mask_of(h: torch.Tensor) -> torch.Tensor:
            steps = torch.arange(h.shape[2], device=x.device)
            return (steps[None, :] < valid[:, None]).to(h.dtype)[:, None, :]

        h = h * mask_of(h)  # padded steps are zeros, whatever the caller put there
        for conv, st in zip(self.convs, self.strides):
            h = torch.relu(conv(h))
            if st > 1:  # output step j starts at input j·st
                valid = torch.div(valid - 1, st, rounding_mode="floor") + 1
            h = h * mask_of(h)
        mask = mask_of(h)
        mean = (h * mask).sum(2) / mask.sum(2).clamp_min(1.0)
        peak = h.masked_fill(mask == 0, float("-inf")).amax(2)
        logm = torch.log(lengths.to(x.dtype).clamp_min(1.0))[:, None]
        return self.rho(torch.cat((mean, peak, logm), dim=-1))


def identity_summary(n_obs: int, n_features: int, out_dim: int, hidden: int) -> nn.Module:
    """The ``identity`` summary factory: :class:`IdentitySummary` (``out_dim``, ``hidden``
    ignored)."""
    return IdentitySummary(n_obs, n_features)


def conv1d_summary(n_obs: int, n_features: int, out_dim: int, hidden: int) -> nn.Module:
    """The ``conv1d`` summary factory: :class:`ConvSummary` (time series)."""
    return ConvSummary(n_features, out_dim, hidden)


def deepset_summary(n_obs: int, n_features: int, out_dim: int, hidden: int) -> nn.Module:
    """The ``deepset`` summary factory: :class:`DeepSetSummary` (any number of rows)."""
    return DeepSetSummary(n_features, out_dim, hidden)


def lstm_summary(n_obs: int, n_features: int, out_dim: int, hidden: int) -> nn.Module:
    """The ``lstm`` summary factory: :class:`LSTMSummary` (time series)."""
    return LSTMSummary(n_features, out_dim, hidden)


def check_summary(kind: str) -> None:
    """Raise ``ValueError`` unless ``kind`` is a registered summary network (nothing is
    imported).

    Parameters
    ----------
    kind : str
        A name in the registry's ``summary`` family.
    """
    reg = registry()
    try:
        reg.entry("summary", kind)
    except UnknownNameError as e:
        raise ValueError(f"summary must be one of {reg.names('summary')}, got {kind!r} "
                         f"({e})") from None


def make_summary(kind: str, n_obs: int, n_features: int, out_dim: int, hidden: int) -> nn.Module:
    """Build the summary network registered as ``kind``.

    Parameters
    ----------
    kind : str
        A name in the ``summary`` family: ``"identity"``, ``"deepset"``, ``"lstm"``,
        ``"conv1d"``, or one a plugin registered.
    n_obs, n_features : int
        Rows per data set (the largest, for variable sizes) and features per row.
    out_dim, hidden : int
        Summary size and hidden width (ignored by ``"identity"``).

    Returns
    -------
    torch.nn.Module
        With an ``out_dim`` attribute.

    Raises
    ------
    ValueError
        If no summary network is registered as ``kind``.

    Examples
    --------
    >>> make_summary("deepset", 10, 5, 8, 16).out_dim
    8
    """
    try:
        factory = registry().get("summary", kind)
    except PluginUnavailableError:
        raise
    except UnknownNameError:
        check_summary(kind)
        raise
    net = factory(n_obs, n_features, out_dim, hidden)
    if not isinstance(net, nn.Module) or not isinstance(getattr(net, "out_dim", None), int):
        raise TypeError(f"summary {kind!r} must build a torch.nn.Module with an int out_dim, "
                        f"got {type(net).__name__}")
    return net
