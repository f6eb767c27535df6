"""The binarised digits data set shipped with the plugin (no download, no scikit-learn)."""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_digits_binary"]


def load_digits_binary() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8×8 handwritten digits of ``sklearn.datasets.load_digits``, binarised at ≥ 8.

    The images are the UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin &
    Kaynak 1998, doi:10.24432/C50P49, CC BY 4.0) as scikit-learn ships them, with grey levels
    0-16; a pixel is 1 when its level is at least 8. Stored bit-packed as package data; a test
    checks it against scikit-learn's copy when scikit-learn is installed.

    Returns
    -------
    images : numpy.ndarray, uint8, shape (1797, 64)
        0/1 pixels, row-major.
    labels : numpy.ndarray, uint8, shape (1797,)
        The digit shown.

    Examples
    --------
    >>> x, y = load_digits_binary()
    >>> x.shape, int(x.max()), int(y[0])
    ((1797, 64), 1, 0)
    """
    with resources.files("asktell_rbm").joinpath("data/digits_ge8.npz").open("rb") as fh:
        d = np.load(fh)
        n, m = (int(s) for s in d["shape"])
        bits = np.unpackbits(d["bits"], axis=1)[:, :m].astype(np.uint8)
        return bits[:n], d["target"].astype(np.uint8)
