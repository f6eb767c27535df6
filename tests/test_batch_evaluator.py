"""BatchEvaluator: chunks under inference mode, failing items isolated, CUDA when present."""

import numpy as np
import pytest

from asktell import BatchEvaluator

torch = pytest.importorskip("torch")


def batch_norms(x):
    return (x**2).sum(dim=1)


def test_batch_evaluator_chunks_under_inference_mode():
    seen = []

    def f(x):
        seen.append((x.shape[0], torch.is_inference_mode_enabled(), x.dtype))
        return batch_norms(x)

    ev = BatchEvaluator(f, max_batch=8, device="cpu")
    xs = np.random.default_rng(0).normal(size=(20, 3))
    np.testing.assert_allclose(ev(xs), np.sum(xs**2, axis=1), rtol=1e-6)
    assert [s[0] for s in seen] == [8, 8, 4]
    assert all(s[1] for s in seen) and all(s[2] == torch.float32 for s in seen)


def test_batch_evaluator_isolates_a_failing_item():
    def f(x):
        if (x[:, 0] < 0).any():
            raise ValueError("negative in batch")
        return x[:, 0]

    ev = BatchEvaluator(f, max_batch=4, device="cpu", dtype=torch.float64)
    xs = np.array([[1.0], [2.0], [-3.0], [4.0], [5.0]])
    vals = ev(xs)
    np.testing.assert_array_equal(vals[[0, 1, 3, 4]], [1.0, 2.0, 4.0, 5.0])
    assert np.isnan(vals[2]) and [e.index for e in vals.errors] == [2]


def test_batch_evaluator_strings_and_wrong_length():
    ev = BatchEvaluator(lambda xs: [len(s) for s in xs], device="cpu")
    assert ev(("C", "CCC")).tolist() == [1.0, 3.0]
    bad = BatchEvaluator(lambda xs: torch.zeros(1), device="cpu")
    with pytest.raises(ValueError, match="returned 1 values for 3 candidates"):
        bad(np.zeros((3, 2)))


@pytest.mark.gpu
def test_batch_evaluator_on_cuda():
    model = torch.nn.Linear(3, 1).to("cuda")

    def f(x):
        assert x.device.type == "cuda"
        return model(x)[:, 0]

    ev = BatchEvaluator(f, max_batch=1024, device="cuda")
    xs = np.random.default_rng(0).normal(size=(5000, 3))
    expect = model(torch.as_tensor(xs, dtype=torch.float32, device="cuda"))[:, 0]
    np.testing.assert_allclose(ev(xs), expect.detach().cpu().numpy(), rtol=1e-5)


