import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _trust_key(tmp_path_factory):
    """Runs sign their configuration with a key of the test session, not the user's own."""
    os.environ["ASKTELL_TRUST_KEY"] = str(tmp_path_factory.mktemp("trust") / "trust.key")


@pytest.fixture
def logistic_config(tmp_path):
    """A small copy of the main job's configuration, sequential and short."""
    text = (Path(__file__).parents[1] / "examples" / "logistic_xnes.toml").read_text()
    p = tmp_path / "logistic.toml"
    p.write_text(text)
    return p


os.environ.setdefault("MPLBACKEND", "Agg")

try:  # small models: one intra-op thread is fastest, and never oversubscribes a shared machine
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass
