"""ORGAN and SA-ORGAN as ask/tell optimisers: an LSTM SMILES generator pretrained by maximum
likelihood, then trained by policy gradient with Monte Carlo rollouts on the reward
R_T(X) = λ·D(X) + (1 − λ)·R(X), D a CNN discriminator and R the user's objective.

References
----------
.. [ORGAN] Guimaraes, Sanchez-Lengeling, Outeiral, Farias & Aspuru-Guzik (2017).
   Objective-Reinforced Generative Adversarial Networks (ORGAN) for Sequence Generation Models.
   arXiv:1705.10843.
.. [SeqGAN] Yu, Zhang, Wang & Yu (2017). SeqGAN: Sequence Generative Adversarial Nets with
   Policy Gradient. AAAI-17, 2852–2858. arXiv:1609.05473.
.. [SAGAN] Zhang, Goodfellow, Metaxas & Odena (2019). Self-Attention Generative Adversarial
   Networks. ICML. arXiv:1805.08318 (the attention block of the SA-ORGAN variant).
.. [KL] Jaques, Gu, Bahdanau, Hernández-Lobato, Turner & Eck (2017). Sequence Tutor:
   Conservative Fine-Tuning of Sequence Generation Models with KL-control. ICML, PMLR 70,
   1645–1654. arXiv:1611.02796 (the KL penalty towards the pretrained generator).
"""

from __future__ import annotations

import copy
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from asktell.protocol import Optimiser
from asktell.torchstate import (
    generator_from_state,
    generator_state,
    load_module,
    load_optimizer,
    module_state,
    optimizer_state,
    resolve_device,
)

from .discriminator import ORGAN_FILTERS, SMALL_FILTERS, CNNDiscriminator
from .generator import BOS, PAD, SmilesGenerator
from .rollout import rollout

__all__ = ["ATTENTION_PLACEMENTS", "ORGAN", "PRESETS", "SAORGAN"]

#: Values of ``attention``: no block, after the generator's LSTM, after the discriminator's
#: convolutions, or both.
ATTENTION_PLACEMENTS = ("none", "generator", "discriminator", "both")

log = logging.getLogger(__name__)

#: Settings by preset. "paper" is ORGAN's (``organ/__init__.py`` defaults); "default" is
#: asktell's, chosen for quality and speed on QM9 5k (see docs/organ.md).
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(embedding_dim=32, hidden_dim=32, pretrain_epochs=240, early_stopping=False,
                  discriminator="organ", rollouts=16, objective_weight=0.5, batch_size=64,
                  lr=1e-3, baseline=False, kl_weight=0.0, d_pretrain_rounds=50, d_every=4,
                  d_epochs=3, d_samples=None),
    "default": dict(embedding_dim=64, hidden_dim=256, pretrain_epochs=40, early_stopping=True,
                    discriminator="small", rollouts=16, objective_weight=0.5, batch_size=64,
                    lr=1e-3, baseline=True, kl_weight=0.1, d_pretrain_rounds=2, d_every=1,
                    d_epochs=1, d_samples=256),
}


def _default_training() -> list[str]:
    from asktell_chem import qm9_5k

    return qm9_5k()


class ORGAN(Optimiser):
    """ORGAN [ORGAN]_: SMILES generation by adversarial and objective-reinforced policy gradient.

    ``ask()`` returns the distinct SMILES whose objective values the next policy-gradient step
    needs: a batch of sampled molecules and the Monte Carlo completions of each of their
    prefixes; ``tell(values)`` takes R(x) ∈ [0, 1] for each (an invalid SMILES should get 0).
    The generator adds the discriminator term itself, takes the policy-gradient step, moves the
    rollout network towards the generator and trains the discriminator on its schedule. The
    first ``ask()`` pretrains the generator by maximum likelihood and the discriminator (or call
    :meth:`pretrain`).

    Parameters
    ----------
    training_smiles : sequence of str, optional
        Training molecules (default: the shipped QM9 5k set).
    objective_weight : float
        1 − λ: 0 is SeqGAN (R ignored), 1 is naive RL (D ignored).
    preset : {"default", "paper"}
        Settings to start from; keywords below override them. "paper" is ORGAN's: embedding
        32, hidden 32, 240 MLE epochs, ORGAN-size discriminator, N = 16 rollouts, λ = 0.5,
        batch 64, Adam 1e-3, no baseline.
    embedding_dim, hidden_dim, num_layers : int
        Generator sizes.
    max_length : int, optional
        Tokens per sequence at most (``<eos>`` included); default 1.5 × the longest training
        sequence, as ORGAN. A sequence that reaches it without ending is invalid (R = 0).
    batch_size : int
        Sequences per policy-gradient step.
    rollouts : int
        Monte Carlo completions per prefix (ORGAN: 16).
    rollout_update : float
        The rollout network follows the generator: w ← u·w + (1 − u)·w_G (ORGAN: 0.8).
    lr : float
        Adam learning rate of the generator (pretraining and policy gradient).
    baseline : bool
        Subtract the batch mean of Q at each position (variance reduction; not in ORGAN; on in
        the default preset).
    grad_clip : float
        Gradient-norm clip of the policy-gradient step (SeqGAN: 5).
    kl_weight : float
        β of a KL penalty towards the pretrained generator [KL]_: the policy-gradient loss gets
        β·Σ_t KL(G_θ(· | Y_{1:t−1}) ‖ G_MLE(· | Y_{1:t−1})), exact over the vocabulary at each
        position of the batch, so the generator keeps the diversity it learned by maximum
        likelihood (not in ORGAN; the default preset uses 0.1, "paper" 0).
    entropy_weight : float
        Weight of an entropy bonus, −w·Σ_t H(G_θ(· | Y_{1:t−1})) in the loss (not in ORGAN).
    pretrain_epochs : int
        Maximum-likelihood epochs.
    early_stopping : bool
        Hold out ``validation_fraction`` of the training set and keep the generator with the
        lowest held-out NLL, stopping after ``patience`` epochs without improvement.
    validation_fraction, patience
        See ``early_stopping``.
    discriminator : {"small", "organ"}
        The discriminator's filters (:data:`SMALL_FILTERS` or ORGAN's).
    d_lr, d_l2 : float
        Discriminator Adam learning rate (ORGAN: 1e-4) and L2 penalty on its output layer
        (ORGAN: 0.2).
    d_pretrain_rounds : int
        Discriminator training rounds after MLE pretraining (ORGAN: 50).
    d_every, d_epochs, d_samples
        Every ``d_every`` policy-gradient steps, ``d_epochs`` epochs over ``d_samples`` fresh
        samples against as many training molecules (``None``: the training set's size, ORGAN).
    attention : {"none", "generator", "discriminator", "both"}, optional
        Where SAGAN self-attention blocks (y = γ·o + x, γ = 0 at the start) go: after the
        generator's LSTM (causal), after the discriminator's convolutions (the SA-ORGAN paper's
        §3.4: self-attention "enabling the discriminator to efficiently model relationships
        between widely separated" positions), or both. Default: the class's, "none" for
        ``"organ"`` and "generator" for ``"sa-organ"``.
    duplicate_penalty : bool
        ORGAN's ``batch_reward``: R × fraction_unique / count within each batch of sequences
        scored together.
    tokenizer : SmilesTokenizer, optional
        Default: built from the training set.
    device : str
        Torch device ("cpu", "cuda").
    seed : int, optional
        Seed of everything random (model initialisation, sampling, minibatches).
    direction : str
        "maximise" (the default for generators).

    Attributes
    ----------
    history : list of dict
        One entry per policy-gradient step: mean objective, discriminator and total reward of
        the batch, fraction valid (told a positive value) and truncated.
    pretrain_history : list of dict
        Per MLE epoch: training and held-out NLL.
    """

    name = "organ"
    #: Placement of the self-attention blocks when ``attention`` is not given.
    default_attention = "none"
    told_as = "values"  # rewards as told: the policy gradient uses them, not losses

    def __init__(
        self,
        training_smiles: Sequence[str] | None = None,
        *,
        preset: str = "default",
        objective_weight: float | None = None,
        embedding_dim: int | None = None,
        hidden_dim: int | None = None,
        num_layers: int = 1,
        max_length: int | None = None,
        batch_size: int | None = None,
        rollouts: int | None = None,
        rollout_update: float = 0.8,
        lr: float | None = None,
        baseline: bool | None = None,
        grad_clip: float = 5.0,
        kl_weight: float | None = None,
        entropy_weight: float = 0.0,
        pretrain_epochs: int | None = None,
        early_stopping: bool | None = None,
        validation_fraction: float = 0.1,
        patience: int = 3,
        discriminator: str | None = None,
        d_lr: float = 1e-4,
        d_l2: float = 0.2,
        d_pretrain_rounds: int | None = None,
        d_every: int | None = None,
        d_epochs: int | None = None,
        d_samples: int | None = -1,
        attention: str | None = None,
        duplicate_penalty: bool = True,
        tokenizer: Any = None,
        device: str = "cpu",
        seed: int | None = None,
        direction: str = "maximise",
    ) -> None:
        super().__init__(seed=seed, direction=direction)
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        cfg = dict(PRESETS[preset])
        given = dict(objective_weight=objective_weight, embedding_dim=embedding_dim,
                     hidden_dim=hidden_dim, batch_size=batch_size, rollouts=rollouts, lr=lr,
                     baseline=baseline, kl_weight=kl_weight, pretrain_epochs=pretrain_epochs,
                     early_stopping=early_stopping, discriminator=discriminator,
                     d_pretrain_rounds=d_pretrain_rounds, d_every=d_every, d_epochs=d_epochs)
        cfg.update({k: v for k, v in given.items() if v is not None})
        if d_samples != -1:
            cfg["d_samples"] = d_samples
        lam_r = float(cfg["objective_weight"])
        if not 0.0 <= lam_r <= 1.0:
            raise ValueError(f"objective_weight (1 - λ) must be in [0, 1], got {lam_r}")
        for key in ("batch_size", "d_every"):
            if not isinstance(cfg[key], int) or cfg[key] < 1:
                raise ValueError(f"{key} must be a positive int, got {cfg[key]!r}")
        for key in ("rollouts", "pretrain_epochs", "d_pretrain_rounds", "d_epochs"):
            if not isinstance(cfg[key], int) or cfg[key] < 0:
                raise ValueError(f"{key} must be a non-negative int, got {cfg[key]!r}")
        if cfg["discriminator"] not in ("small", "organ"):
            raise ValueError(f"discriminator must be 'small' or 'organ', got "
                             f"{cfg['discriminator']!r}")
        for key, v in (("kl_weight", cfg["kl_weight"]), ("entropy_weight", entropy_weight)):
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, got {v!r}")
        if not 0.0 <= rollout_update <= 1.0:
            raise ValueError(f"rollout_update must be in [0, 1], got {rollout_update}")
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
        attention = self.default_attention if attention is None else attention
        if attention not in ATTENTION_PLACEMENTS:
            raise ValueError(f"attention must be one of {ATTENTION_PLACEMENTS}, got "
                             f"{attention!r}")
        self.attention = attention
        self.cfg = cfg
        self.lam = 1.0 - lam_r  # weight of D
        self.rollout_update, self.grad_clip = float(rollout_update), float(grad_clip)
        self.kl_weight, self.entropy_weight = float(cfg["kl_weight"]), float(entropy_weight)
        self.validation_fraction, self.patience = float(validation_fraction), int(patience)
        self.d_lr, self.d_l2 = float(d_lr), float(d_l2)
        self.duplicate_penalty = bool(duplicate_penalty)
        self.device = resolve_device(device)

        from asktell_chem import SmilesTokenizer
        from asktell_chem.rewards.base import check_smiles

        train = check_smiles(_default_training() if training_smiles is None else training_smiles)
        if len(train) < 2:
            raise ValueError("training_smiles needs at least 2 molecules")
        self.tokenizer = tokenizer or SmilesTokenizer.from_smiles(train)
        ids = self.tokenizer.encode(train, bos=False)  # tokens + <eos>
        lengths = (ids != PAD).sum(1)
        longest = int(lengths.max())
        self.max_length = int(max_length) if max_length is not None else int(1.5 * longest)
        if self.max_length < 2:
            raise ValueError(f"max_length must be at least 2, got {self.max_length}")
        keep = lengths <= self.max_length
        if not keep.any():
            raise ValueError(f"no training SMILES fits max_length={self.max_length} tokens")
        if (~keep).any():
            log.warning("%d training SMILES longer than max_length=%d tokens are left out",
                        int((~keep).sum()), self.max_length)
        width = self.max_length
        data = np.zeros((int(keep.sum()), width), dtype=np.int64)
        kept = ids[keep][:, :width]
        data[:, : kept.shape[1]] = kept
        self._train = data  # (N, max_length) tokens after <bos>
        self.training_smiles = [s for s, k in zip(train, keep) if k]

        seed_torch = int(self._rng.integers(2**62))
        vocab = len(self.tokenizer)
        with torch.random.fork_rng(devices=[]):  # initialise from our seed, not the global RNG
            torch.manual_seed(seed_torch)
            g_att = attention in ("generator", "both")
            self.generator = SmilesGenerator(vocab, cfg["embedding_dim"], cfg["hidden_dim"],
                                             num_layers, attention=g_att)
            self.rollout_net = SmilesGenerator(vocab, cfg["embedding_dim"], cfg["hidden_dim"],
                                               num_layers, attention=g_att)
            filters = SMALL_FILTERS if cfg["discriminator"] == "small" else ORGAN_FILTERS
            self.discriminator = CNNDiscriminator(
                vocab, 64, filters, attention=attention in ("discriminator", "both"))
        # the generator as maximum likelihood left it: the anchor of the KL penalty
        self.prior = copy.deepcopy(self.generator).requires_grad_(False)
        for m in (self.generator, self.rollout_net, self.prior, self.discriminator):
            m.to(self.device)
        self.rollout_net.load_state_dict(self.generator.state_dict())
        fused = self.device.type == "cuda"  # one kernel per step for all parameters
        self.g_opt = torch.optim.Adam(self.generator.parameters(), lr=cfg["lr"], fused=fused)
        self.d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=self.d_lr,
                                      fused=fused)
        self._gen = torch.Generator(device=self.device)
        self._gen.manual_seed(seed_torch + 1)
        self.pretrained = False
        self.steps = 0
        self.history: list[dict[str, float]] = []
        self.pretrain_history: list[dict[str, float]] = []
        self._batch: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ pretraining
    def _progress(self, total: int, desc: str) -> Any:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="epoch", disable=not sys.stderr.isatty())

    def _nll(self, data: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(data, device=self.device)
        bos = torch.full((x.shape[0], 1), BOS, dtype=torch.long, device=self.device)
        logits = self.generator(torch.cat([bos, x[:, :-1]], dim=1))
        return F.cross_entropy(logits.transpose(1, 2), x, ignore_index=PAD)

    def pretrain(self) -> list[dict[str, float]]:
        """Maximum-likelihood pretraining of the generator, then of the discriminator.

        Runs once (the first :meth:`ask` calls it). Returns :attr:`pretrain_history`.
        """
        if self.pretrained:
            return self.pretrain_history
        cfg = self.cfg
        n = len(self._train)
        order = self._rng.permutation(n)
        n_val = round(self.validation_fraction * n) if cfg["early_stopping"] else 0
        val, train = self._train[order[:n_val]], self._train[order[n_val:]]
        bs = cfg["batch_size"]
        best, best_state, since = np.inf, None, 0
        self.generator.train()
        with self._progress(cfg["pretrain_epochs"], "MLE pretraining") as bar:
            for epoch in range(cfg["pretrain_epochs"]):
                perm = self._rng.permutation(len(train))
                total = torch.zeros((), device=self.device)  # summed on the device: no sync
                for a in range(0, len(train), bs):
                    loss = self._nll(train[perm[a:a + bs]])
                    self.g_opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.generator.parameters(), self.grad_clip)
                    self.g_opt.step()
                    total += loss.detach() * len(perm[a:a + bs])
                entry = {"epoch": epoch + 1, "train_nll": total.item() / len(train)}
                if n_val:
                    with torch.no_grad():
                        entry["val_nll"] = float(self._nll(val))
                    if entry["val_nll"] < best - 1e-6:
                        best, since = entry["val_nll"], 0
                        best_state = module_state(self.generator)
                    else:
                        since += 1
                self.pretrain_history.append(entry)
                log.info("MLE epoch %d: %s", epoch + 1, entry)
                bar.update(1)
                bar.set_postfix({k: round(v, 4) for k, v in entry.items() if k != "epoch"})
                if n_val and since >= self.patience:
                    break
        if best_state is not None:
            load_module(self.generator, best_state)
        self.rollout_net.load_state_dict(self.generator.state_dict())
        self.prior.load_state_dict(self.generator.state_dict())
        if self.lam > 0:
            for _ in range(cfg["d_pretrain_rounds"]):
                self.train_discriminator()
        self.pretrained = True
        return self.pretrain_history

    def train_discriminator(self, epochs: int | None = None) -> float:
        """``epochs`` epochs of the discriminator on fresh samples against training molecules.

        Returns the mean cross-entropy of the last epoch.
        """
        cfg = self.cfg
        m = cfg["d_samples"] or len(self._train)
        neg, _, _ = self.generator.sample(m, self.max_length, self._gen)
        pos = torch.as_tensor(self._train[self._rng.choice(len(self._train), size=m,
                                                           replace=m > len(self._train))],
                              device=self.device)
        x = torch.cat([pos, neg])
        y = torch.cat([torch.ones(m, device=self.device), torch.zeros(m, device=self.device)])
        d, bs = self.discriminator, cfg["batch_size"]
        mean = 0.0
        for _ in range(cfg["d_epochs"] if epochs is None else epochs):
            perm = torch.as_tensor(self._rng.permutation(2 * m), device=self.device)
            total = torch.zeros((), device=self.device)  # summed on the device: no sync
            for a in range(0, 2 * m, bs):
                idx = perm[a:a + bs]
                logits = d.logits(x[idx], self._gen, train=True)
                loss = F.binary_cross_entropy_with_logits(logits, y[idx])
                loss = loss + self.d_l2 * 0.5 * (d.out.weight.square().sum()
                                                 + d.out.bias.square().sum())
                self.d_opt.zero_grad()
                loss.backward()
                self.d_opt.step()
                total += loss.detach() * len(idx)
            mean = total.item() / (2 * m)
        return mean

    # ------------------------------------------------------------------ ask / tell
    def _decode(self, tokens: torch.Tensor) -> list[str]:
        return self.tokenizer.decode(tokens.cpu().numpy())

    def _ask(self) -> tuple[str, ...]:
        if not self.pretrained:
            self.pretrain()
        cfg = self.cfg
        self.generator.eval()
        seqs, lengths, truncated = self.generator.sample(cfg["batch_size"], self.max_length,
                                                         self._gen)
        parts = [seqs]
        roll_seq = roll_prefix = np.zeros(0, dtype=np.int64)
        lens, truncs = [lengths], [truncated]
        if cfg["rollouts"] > 0:
            r = rollout(self.rollout_net, seqs, lengths, cfg["rollouts"], self.max_length,
                        self._gen)
            parts.append(r.tokens)
            lens.append(r.lengths)
            truncs.append(r.truncated)
            roll_seq, roll_prefix = r.seq.cpu().numpy(), r.prefix.cpu().numpy()
        tokens = torch.cat(parts).cpu().numpy()
        trunc = torch.cat(truncs).cpu().numpy()
        # Decode each distinct sequence once (a rollout step repeats 23-39% of them), in the
        # order of first appearance; equal strings from different sequences share an index.
        first, codes = self._row_codes(tokens)
        smiles = self.tokenizer.decode(tokens[first])
        asked: dict[str, int] = {}
        distinct = np.array([-1 if t else asked.setdefault(s, len(asked))
                             for s, t in zip(smiles, trunc[first])], dtype=np.int64)
        if not asked:  # every sequence truncated: ask the batch anyway, its values are ignored
            for c in codes[:cfg["batch_size"]]:
                asked.setdefault(smiles[c], len(asked))
        self._batch = {"tokens": tokens, "lengths": torch.cat(lens).cpu().numpy(),
                       "truncated": trunc, "index": distinct[codes], "codes": codes,
                       "roll_seq": roll_seq, "roll_prefix": roll_prefix}
        return tuple(asked)

    @staticmethod
    def _row_codes(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Number the distinct rows of ``tokens`` in order of first appearance: returns the
        first row of each and every row's number (equal rows, equal numbers)."""
        rows = np.ascontiguousarray(tokens)
        keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return first[order], rank[inverse.reshape(-1)]

    @staticmethod
    def _duplicate_weights(codes: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """ORGAN's fraction_unique / count_in_batch within each group of sequences, ``codes``
        numbering the distinct sequences (equal token rows are equal strings, so no decoding
        is needed)."""
        key = groups * (codes.max() + 1) + codes
        _, first, inv, counts = np.unique(key, return_index=True, return_inverse=True,
                                          return_counts=True)
        group_size = np.bincount(groups)
        distinct = np.bincount(groups[first], minlength=len(group_size))
        return (distinct / group_size)[groups] / counts[inv]

    def _tell(self, rewards: np.ndarray) -> None:
        assert self._batch is not None
        b = self._batch
        cfg = self.cfg
        B, n_roll = cfg["batch_size"], max(cfg["rollouts"], 1)
        values = np.where(np.isfinite(rewards), rewards, 0.0)  # a failed reward counts 0
        index = b["index"]
        r_obj = np.where(index >= 0, values[np.maximum(index, 0)], 0.0)
        if self.duplicate_penalty and len(r_obj):
            k = np.arange(len(b["roll_seq"])) % n_roll
            groups = np.concatenate([np.zeros(B, dtype=np.int64),
                                     1 + (b["roll_prefix"] - 1) * n_roll + k])
            codes = b["codes"] if "codes" in b else self._row_codes(b["tokens"])[1]  # older state
            r_obj = r_obj * self._duplicate_weights(codes, groups)
        tokens = torch.as_tensor(b["tokens"], device=self.device)
        if self.lam > 0:
            self.discriminator.eval()
            with torch.no_grad():
                d = torch.cat([self.discriminator(tokens[a:a + 8192])
                               for a in range(0, len(tokens), 8192)]).cpu().numpy()
        else:
            d = np.zeros(len(tokens))
        total = self.lam * d + (1.0 - self.lam) * r_obj
        # Q: mean over completions for each proper prefix, the sequence's own reward at its end
        width = self.max_length
        lengths = b["lengths"][:B]
        q = np.zeros((B, width))
        if len(b["roll_seq"]):
            flat = b["roll_seq"] * width + (b["roll_prefix"] - 1)
            q.flat[:] += np.bincount(flat, weights=total[B:], minlength=B * width)
            q /= n_roll
        q[np.arange(B), lengths - 1] = total[:B]
        mask = np.arange(width)[None, :] < lengths[:, None]
        if cfg["baseline"]:
            counts = np.maximum(mask.sum(0), 1)
            q = np.where(mask, q - (q * mask).sum(0) / counts, 0.0)
        self.generator.train()
        seqs = tokens[:B]
        inputs = torch.cat([torch.full((B, 1), BOS, dtype=seqs.dtype, device=self.device),
                            seqs[:, :-1]], dim=1)
        logp_all = self.generator(inputs).log_softmax(-1)  # (B, T, V)
        logp = logp_all.gather(-1, seqs.unsqueeze(-1)).squeeze(-1)
        adv = torch.as_tensor(q, dtype=logp.dtype, device=self.device)
        m = torch.as_tensor(mask, device=self.device)
        loss = -(adv * logp * m).sum() / B
        extra: dict[str, float] = {}
        if self.kl_weight > 0 or self.entropy_weight > 0:
            p = logp_all.exp()
            if self.kl_weight > 0:
                self.prior.eval()
                with torch.no_grad():
                    prior = self.prior(inputs).log_softmax(-1)
                kl = ((p * (logp_all - prior)).sum(-1) * m).sum() / B
                loss = loss + self.kl_weight * kl
                extra["kl"] = kl.item()
            if self.entropy_weight > 0:
                ent = (-(p * logp_all).sum(-1) * m).sum() / B
                loss = loss - self.entropy_weight * ent
                extra["entropy"] = ent.item()
        self.g_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.generator.parameters(), self.grad_clip)
        self.g_opt.step()
        with torch.no_grad():  # the rollout network follows the generator (ORGAN: 0.8)
            u = self.rollout_update
            rolls: list[torch.Tensor] = list(self.rollout_net.parameters())
            gens: list[torch.Tensor] = list(self.generator.parameters())
            torch._foreach_mul_(rolls, u)
            torch._foreach_add_(rolls, gens, alpha=1.0 - u)
        self.steps += 1
        entry = {"step": self.steps, "objective": float(r_obj[:B].mean()),
                 "discriminator": float(d[:B].mean()), "reward": float(total[:B].mean()),
                 "valid": self._valid_fraction(b["tokens"][:B], b["truncated"][:B]),
                 "truncated": float(b["truncated"][:B].mean()), **extra}
        if self.lam > 0 and self.steps % cfg["d_every"] == 0:
            entry["d_loss"] = self.train_discriminator()
        self.history.append(entry)
        self._batch = None

    def _valid_fraction(self, tokens: np.ndarray, truncated: np.ndarray) -> float:
        """RDKit validity of a batch (a truncated sequence is invalid)."""
        from asktell_chem._rdkit import parse

        smiles = self.tokenizer.decode(tokens)
        return float(np.mean([not t and parse(s) is not None
                              for s, t in zip(smiles, truncated)]))

    def sample(self, n: int) -> list[str]:
        """Draw ``n`` finished SMILES from the generator (truncated sequences are dropped and
        drawn again, at most 10 rounds)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        self.generator.eval()
        out: list[str] = []
        for _ in range(10):
            seqs, _, truncated = self.generator.sample(max(n - len(out), 1), self.max_length,
                                                       self._gen)
            out += [s for s, t in zip(self._decode(seqs), truncated.tolist()) if not t]
            if len(out) >= n:
                break
        return out[:n]

    def write_report(self, run_dir: Any, result: Any = None) -> dict[str, Path]:
        """Write ``generator_history.csv`` (per policy-gradient step: mean objective,
        discriminator and total reward, validity, truncation, and the KL, entropy and
        discriminator loss where they are computed) and ``reward_curves.png`` into a run
        directory; ``asktell run`` calls it at the end of a run (the :class:`asktell.Reporter`
        hook).

        Returns
        -------
        dict
            Name → path of each file written.
        """
        import csv
        from pathlib import Path

        if not self.history:
            return {}
        out = Path(run_dir)
        written = {"generator_history": out / "generator_history.csv"}
        keys = ["step", "objective", "discriminator", "reward", "valid", "truncated"]
        keys += [k for k in ("kl", "entropy", "d_loss") if k in self.history[-1]]
        with open(out / "generator_history.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(keys)
            w.writerows([[h.get(k, "") for k in keys] for h in self.history])
        from asktell.plotting import figure

        try:
            fig = figure("organ", figsize=(6.5, 3.8))
        except ImportError as e:
            log.warning("no reward curves: %s", e)
            return written
        ax = fig.subplots()
        steps = [h["step"] for h in self.history]
        for k in ("objective", "discriminator", "reward", "valid"):
            ax.plot(steps, [h[k] for h in self.history], label=k, lw=1)
        ax.set_xlabel("policy-gradient step")
        ax.set_ylabel("batch mean")
        ax.set_ylim(0, 1)
        ax.set_title(f"{self.name}, λ = {self.lam:g}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "reward_curves.png", dpi=120)
        written["reward_curves"] = out / "reward_curves.png"
        return written

    def _batch_extras(self) -> dict[str, float]:
        """The policy-gradient step of this batch: mean objective, discriminator and total
        reward, validity, truncation, and KL, entropy and discriminator loss where computed."""
        if not self.history:
            return {}
        return {k: float(v) for k, v in self.history[-1].items()
                if k != "step" and isinstance(v, (int, float))}

    # ------------------------------------------------------------------ checkpoints
    def _get_state(self) -> dict[str, Any]:
        return {
            "pretrained": self.pretrained,
            "steps": self.steps,
            "generator": module_state(self.generator),
            "rollout": module_state(self.rollout_net),
            "prior": module_state(self.prior),
            "discriminator": module_state(self.discriminator),
            "g_opt": optimizer_state(self.g_opt),
            "d_opt": optimizer_state(self.d_opt),
            "torch_rng": generator_state(self._gen),
            "history": list(self.history),
            "pretrain_history": list(self.pretrain_history),
            "batch": None if self._batch is None else dict(self._batch),
            "vocabulary": self.tokenizer.to_dict()["tokens"],
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        if list(state["vocabulary"]) != self.tokenizer.tokens:
            raise ValueError("the state's vocabulary differs from this generator's: build it "
                             "with the same training set or tokenizer")
        load_module(self.generator, state["generator"])
        load_module(self.rollout_net, state["rollout"])
        load_module(self.prior, state["prior"])
        load_module(self.discriminator, state["discriminator"])
        load_optimizer(self.g_opt, state["g_opt"])
        load_optimizer(self.d_opt, state["d_opt"])
        self._gen = generator_from_state(state["torch_rng"], self.device)
        self.pretrained = bool(state["pretrained"])
        self.steps = int(state["steps"])
        self.history = [dict(e) for e in state["history"]]
        self.pretrain_history = [dict(e) for e in state["pretrain_history"]]
        batch = state["batch"]
        self._batch = None if batch is None else {k: np.asarray(v) for k, v in batch.items()}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_gen"] = (str(self._gen.device), self._gen.get_state())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        device, rng = state["_gen"]
        self.__dict__.update(state)
        self._gen = torch.Generator(device=device)
        self._gen.set_state(rng)

    def _default_xbest(self) -> Any:
        return None


class SAORGAN(ORGAN):
    """SA-ORGAN: ORGAN with SAGAN self-attention blocks (y = γ·o + x, γ initialised to 0, so
    training starts as plain ORGAN). By default (``attention="generator"``) one causal block
    follows the generator's LSTM; ``attention="discriminator"`` puts one after the
    discriminator's convolutions instead, as the SA-ORGAN paper's §3.4 describes, and
    ``"both"`` does both. See :class:`ORGAN`.
    """

    name = "sa-organ"
    default_attention = "generator"
