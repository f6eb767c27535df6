"""A composite reward: a weighted arithmetic or geometric mean of registered rewards, sharing
one parse per molecule, one cache and one worker pool."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from asktell.evaluation import Evaluation

from .base import BatchTerm, Reward

__all__ = ["Composite", "reward_from_config"]


class _CallableTerm(BatchTerm):
    """A reward that is not built from terms (a third-party callable), scored on the batch's
    canonical SMILES (invalid strings are passed as "")."""

    def __init__(self, name: str, reward: Callable[[list[str]], Any]) -> None:
        self.name, self.reward = name, reward

    def compute_batch(self, canonical: Sequence[str | None]) -> np.ndarray:
        """The wrapped reward's values for the batch."""
        out = np.asarray(self.reward([c or "" for c in canonical]), dtype=float)
        if out.shape != (len(canonical),):
            raise ValueError(f"reward {self.name!r} returned shape {out.shape} for a batch of "
                             f"{len(canonical)}")
        return out


class Composite(Reward):
    """Weighted mean of rewards given by registered name.

    Parameters
    ----------
    terms : mapping
        ``name → weight`` or ``name → {"weight": w, **options}``; options go to the reward's
        factory (``asktell.get("reward", name)(**options)``), e.g.
        ``{"qed": 1, "novelty": {"weight": 0.5, "training_smiles": train}}``.
    mean : {"arithmetic", "geometric"}
        ``Σ wᵢ rᵢ / Σ wᵢ`` or ``Π rᵢ^(wᵢ/Σ w)``.
    n_workers, backend, cache_size
        See :class:`~asktell_chem.rewards.base.Reward`: one pool and one cache for all terms.

    Notes
    -----
    Every built-in reward contributes its term, so each SMILES is parsed once and the terms
    share the molecule (QED's Crippen logP is reused by ``logp``); a reward registered by a
    third party that is not built from terms is called on the batch's canonical SMILES.

    Examples
    --------
    >>> import asktell
    >>> r = Composite({"qed": 2, "logp": 1})
    >>> parts = [asktell.get("reward", n)()(["c1ccccc1O"])[0] for n in ("qed", "logp")]
    >>> bool(np.isclose(r(["c1ccccc1O"])[0], (2 * parts[0] + parts[1]) / 3))
    True
    """

    def __init__(self, terms: Mapping[str, float | Mapping[str, Any]], *,
                 mean: str = "arithmetic", n_workers: int = 1, backend: str = "loky",
                 cache_size: int = 100_000) -> None:
        import asktell

        if not isinstance(terms, Mapping) or not terms:
            raise ValueError("terms must be a non-empty mapping of reward name -> weight or "
                             "-> {weight = ..., options...}")
        built, weights = [], []
        for name, spec in terms.items():
            if isinstance(spec, Mapping):
                options = dict(spec)
                weight = options.pop("weight", 1.0)
            else:
                options, weight = {}, spec
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise ValueError(f"weight of reward {name!r} must be a number, got {weight!r}")
            reward = asktell.get("reward", name)(**options)
            if isinstance(reward, Reward) and len(reward.terms) == 1 and not reward.raw:
                built.append(reward.terms[0])
            elif callable(reward):
                built.append(_CallableTerm(name, reward))
            else:
                raise TypeError(f"reward {name!r} is not callable: {reward!r}")
            weights.append(float(weight))
        super().__init__(built, weights=weights, mean=mean, n_workers=n_workers,
                         backend=backend, cache_size=cache_size)


def reward_from_config(section: Mapping[str, Any]) -> Callable[[list[str]], Evaluation]:
    """Build a reward from a TOML section (a dict).

    Either one reward, ``{"name": "qed", **options}``, or a composite::

        [reward]
        mean = "geometric"        # or "arithmetic" (default)
        uniqueness = true         # ORGAN's duplicate penalty on the total
        n_workers = 2
        [reward.terms]
        qed = 1.0
        logp = 0.5
        sa = { weight = 1.0 }

    Returns
    -------
    callable
        ``reward(smiles) -> asktell.Evaluation`` (the values, the errors, the extras).
    """
    import asktell

    from .uniqueness import Uniqueness

    options = dict(section)
    unique = options.pop("uniqueness", False)
    if not isinstance(unique, bool):
        raise ValueError(f"reward.uniqueness must be true or false, got {unique!r}")
    if "terms" in options:
        if "name" in options:
            raise ValueError("give either reward.name (one reward) or reward.terms, not both")
        reward: Any = Composite(options.pop("terms"), **options)
    elif "name" in options:
        reward = asktell.get("reward", options.pop("name"))(**options)
    else:
        raise ValueError("a reward section needs name = \"...\" or a [reward.terms] table")
    return Uniqueness(reward) if unique else reward
