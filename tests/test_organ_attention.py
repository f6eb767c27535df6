"""SA-ORGAN's attention placements: the discriminator's SAGAN block is the identity at γ = 0,
trains, and the ``attention`` option puts the blocks where it says."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("rdkit")

from asktell_chem import qm9_5k  # noqa: E402
from asktell_organ import ORGAN, SAORGAN, CNNDiscriminator  # noqa: E402
from asktell_organ.attention import SelfAttention  # noqa: E402
from asktell_organ.discriminator import ORGAN_FILTERS  # noqa: E402

TRAIN = qm9_5k()[:100]
TINY = dict(embedding_dim=8, hidden_dim=16, batch_size=8, rollouts=2, pretrain_epochs=1,
            d_pretrain_rounds=1, d_samples=16)


def _tokens(rows: int = 6, length: int = 25, vocab: int = 20) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(3, vocab, (rows, length), generator=gen)
    for r, n in enumerate(torch.randint(1, length, (rows,), generator=gen).tolist()):
        x[r, n:] = 0  # <pad> after n tokens
    return x


@pytest.mark.parametrize("filters", [((2, 8), (3, 8), (5, 4)), ORGAN_FILTERS])
def test_discriminator_block_is_the_identity_at_gamma_zero(filters):
    torch.manual_seed(4)
    plain = CNNDiscriminator(20, 16, filters)
    torch.manual_seed(4)
    att = CNNDiscriminator(20, 16, filters, attention=True)
    assert att.attention is not None and att.attention.gamma.item() == 0.0
    x = _tokens()
    # same weights (the block is created last) and γ = 0: the same P(real), bit for bit
    assert torch.equal(plain.logits(x), att.logits(x))
    assert torch.equal(plain(x[:, :3]), att(x[:, :3]))  # shorter than the widest filter
    with torch.no_grad():
        att.attention.gamma.fill_(0.7)
    assert not torch.allclose(plain.logits(x), att.logits(x))


def test_discriminator_attention_sees_the_whole_sequence_but_not_padding():
    torch.manual_seed(0)
    d = CNNDiscriminator(20, 16, ((2, 8), (3, 8)), attention=True)
    with torch.no_grad():
        d.attention.gamma.fill_(1.0)
    x = _tokens(rows=1, length=12)
    x[0, :10], x[0, 10:] = torch.arange(4, 14), 0
    block = d.attention
    feats = torch.randn(1, 12, block.f.in_features)
    mask = x != 0
    base = block(feats, key_mask=mask)
    moved = feats.clone()
    moved[0, 11] += 5.0  # a change at a padded position reaches no other position ...
    assert torch.allclose(base[0, :11], block(moved, key_mask=mask)[0, :11])
    late = feats.clone()
    late[0, 8] += 5.0  # ... a change at a late token reaches the first one (not causal)
    assert not torch.allclose(base[0, 0], block(late, key_mask=mask)[0, 0])
    assert d.logits(x).shape == (1,)
    with pytest.raises(TypeError, match="not causal"):
        SelfAttention(8).step()


def test_gamma_of_the_discriminator_block_trains():
    gen = SAORGAN(TRAIN, attention="discriminator", seed=0, **TINY)
    assert gen.generator.attention is None and gen.discriminator.attention is not None
    gamma = gen.discriminator.attention.gamma
    assert gamma.item() == 0.0
    gen.train_discriminator(epochs=2)
    assert gamma.item() != 0.0 and np.isfinite(gamma.item())
    assert gamma.grad is not None and float(gamma.grad.abs()) > 0


@pytest.mark.parametrize("cls, attention, in_g, in_d", [
    (ORGAN, None, False, False), (SAORGAN, None, True, False),
    (SAORGAN, "generator", True, False), (SAORGAN, "discriminator", False, True),
    (SAORGAN, "both", True, True), (ORGAN, "both", True, True)])
def test_attention_option_places_the_blocks(cls, attention, in_g, in_d):
    gen = cls(TRAIN, attention=attention, seed=0, **TINY)
    assert (gen.generator.attention is not None) is in_g
    assert (gen.rollout_net.attention is not None) is in_g
    assert (gen.discriminator.attention is not None) is in_d
    assert gen.attention == (attention or cls.default_attention)


def test_discriminator_placement_runs_ask_tell_and_resumes():
    gen = SAORGAN(TRAIN, attention="both", seed=2, **TINY)
    xs = gen.ask()
    gen.tell(np.ones(len(xs)) * 0.5)
    state = gen.state_dict()
    other = SAORGAN(TRAIN, attention="both", seed=2, **TINY)
    other.load_state_dict(state)
    assert other.ask() == gen.ask()
    with pytest.raises(ValueError, match="attention must be one of"):
        SAORGAN(TRAIN, attention="decoder", **TINY)
