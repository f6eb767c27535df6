import numpy as np
import pytest

from asktell import serialization


def test_round_trip_is_bit_exact():
    rng = np.random.default_rng(0)
    data = {
        "a": rng.normal(size=(3, 4)),
        "f32": rng.normal(size=5).astype(np.float32),
        "ints": np.arange(5, dtype=np.int16),
        "bits": rng.integers(0, 2, size=(2, 8)).astype(bool),
        "x": 0.1 + 0.2,
        "inf": float("inf"),
        "nan": float("nan"),
        "big": 2**100,
        "s": ["CCO", "c1ccccc1"],
        "large": rng.normal(size=(40, 30)),
        "negzero": np.array([-0.0, 1e-310, np.nextafter(1.0, 2.0)]),
        "none": None,
        "nested": [{"k": np.float64(1.5)}],
        "rng": np.random.default_rng(3).bit_generator.state,
    }
    back = serialization.loads(serialization.dumps(data))
    assert back["a"].tobytes() == data["a"].tobytes() and back["f32"].dtype == np.float32
    assert back["bits"].dtype == bool and back["ints"].dtype == np.int16
    assert back["x"] == 0.1 + 0.2 and back["big"] == 2**100
    assert back["s"] == ["CCO", "c1ccccc1"]
    assert back["large"].tobytes() == data["large"].tobytes()
    assert back["negzero"].tobytes() == data["negzero"].tobytes()
    assert serialization.loads(serialization.dumps(("a", "b"))) == ["a", "b"]
    assert np.isnan(back["nan"]) and back["inf"] == float("inf")
    rng = np.random.default_rng()
    rng.bit_generator.state = back["rng"]
    assert rng.random() == np.random.default_rng(3).random()
    assert serialization.plain_equal(data, back)


@pytest.mark.parametrize("bad", [object(), np.array([object()]), {1: 2}, {"k": {3}},
                                 np.datetime64("2020-01-01")])
def test_refuses_non_plain_data(bad):
    with pytest.raises(TypeError, match=r"plain data|keys must be strings|dtype"):
        serialization.dumps(bad)


def test_decoding_refuses_object_arrays():
    text = '{"__ndarray__": "", "dtype": "|O", "shape": [0]}'
    with pytest.raises(TypeError, match="refusing"):
        serialization.loads(text)


def test_pack_round_trips_every_layout_of_one_shape():
    """pack() caches an array's header by dtype and shape: arrays of one shape but another
    dtype, byte order or memory layout must still come back bit for bit, with their dtype."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 2))
    cases = [a, a.astype(np.float32), a.astype(">f8"), (a > 0), a.astype(np.int8),
             np.asfortranarray(a), a.T.copy().T, a[::-1], a + 1j * a, np.float64(2.5),
             np.array(7.0), np.zeros((0, 2)), a, np.arange(6.0).reshape(3, 2)]
    for x in cases:
        for _ in range(2):  # the second pack reads the cached header
            back = serialization.unpack(serialization.pack(x))
            assert np.asarray(back).tobytes() == np.ascontiguousarray(x).astype(
                np.asarray(x).dtype.newbyteorder("=")).tobytes()
            assert np.asarray(back).shape == np.shape(x)
            assert np.asarray(back).dtype == np.asarray(x).dtype.newbyteorder("=")
    assert isinstance(serialization.pack(a), bytes)
    assert isinstance(serialization.pack(a.astype(">f8")), str), "non-native order: JSON"
    with pytest.raises(TypeError, match="plain data"):
        serialization.pack(np.array(["x", "y"]))


def test_pack_rows_is_pack_of_each_row():
    """pack_rows() writes a stacked array's rows with one copy: each item must be the bytes
    pack() gives that row (its JSON text where pack() falls back to it)."""
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5, 3, 2))
    cases = [a, a.astype(np.float32), a > 0, a.astype(np.int16), np.asfortranarray(a),
             a[:, ::-1, :], a[::2], a + 1j * a, a.astype(">f8"), np.zeros((4, 0)),
             np.arange(7.0), a[:1]]
    for x in cases:
        got = serialization.pack_rows(x)
        assert [bytes(g) if not isinstance(g, str) else g for g in got] == \
            [serialization.pack(r) for r in x]
        for g, r in zip(got, x):
            assert np.array_equal(serialization.unpack(g if isinstance(g, str) else bytes(g)), r)
    assert serialization.pack_rows(np.zeros((0, 3))) == []
    with pytest.raises(ValueError, match="array of rows"):
        serialization.pack_rows(np.float64(1.0))
