"""A summary network for asktell_cinn's posterior estimator: per-feature mean and standard
deviation over the valid rows, then a linear map (needs torch)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MeanStdSummary", "mean_std_summary"]


class MeanStdSummary(nn.Module):
    """``h(x) = W [mean_i x_i, sd_i x_i] + b`` over the valid rows of each data set.

    Parameters
    ----------
    n_features : int
        Features per row.
    out_dim : int
        Summary size.
    """

    def __init__(self, n_features: int, out_dim: int) -> None:
        super().__init__()
        self.out_dim = int(out_dim)
        self.linear = nn.Linear(2 * n_features, self.out_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Summaries (n, out_dim) of a padded batch ``x`` (n, M, features)."""
        m = x.shape[1]
        mask = (torch.arange(m, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)
        count = mask.sum(1, keepdim=True).clamp_min(1.0)
        mean = (x * mask[..., None]).sum(1) / count
        var = (((x - mean[:, None, :]) ** 2) * mask[..., None]).sum(1) / count
        return self.linear(torch.cat((mean, var.clamp_min(0.0).sqrt()), dim=-1))


def mean_std_summary(n_obs: int, n_features: int, out_dim: int, hidden: int) -> MeanStdSummary:
    """The registered factory (the ``summary`` family's signature; ``hidden`` is not used)."""
    return MeanStdSummary(n_features, out_dim)
