import numpy as np
import pytest

from mixcon_tools import dtypes


def test_f16_bf16_exact_roundtrip_of_representable_values():
    x = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1035156e-05, 0.333251953125], dtype=np.float32)
    assert np.array_equal(dtypes.roundtrip(x, "f16"), x.astype(np.float64))
    y = np.array([1.0, -3.0, 0.5, 1.5 * 2.0 ** 100, -2.0 ** -100], dtype=np.float32)
    assert np.array_equal(dtypes.roundtrip(y, "bf16"), y.astype(np.float64))


def test_bf16_rounds_to_nearest_even_and_keeps_nan():
    # 1 + 2^-8 lies exactly between two bf16 values: ties go to the even one (1.0)
    # 1 + 3*2^-8 ties between 1+2^-7 and 1+2^-6: even is 1+2^-6
    x = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20], dtype=np.float32)
    got = dtypes.roundtrip(x, "bf16")
    assert got.tolist() == [1.0, 1 + 2 ** -6, 1 + 2 ** -7]
    assert np.isnan(dtypes.roundtrip(np.array([np.nan], dtype=np.float32), "bf16")[0])


def test_q8_0_error_bound():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((16, 256)) * rng.uniform(1e-3, 10, (16, 1))).astype(np.float32)
    x[3, :32] = 0.0                               # an all-zero block
    x[4, 32:64] = 1e-9                            # a block whose scale underflows in f16
    d16, q = dtypes.q8_0_quantize(x)
    back = dtypes.roundtrip(x, "q8_0")
    blocks = x.reshape(16, 8, 32).astype(np.float64)
    err = np.abs(blocks - back.reshape(16, 8, 32))
    d = d16.astype(np.float64)[..., None]
    amax = np.abs(blocks).max(-1, keepdims=True)
    # |x - d q| <= d/2 inside the range d covers, plus what the f16 rounding of d (rel.
    # error <= 2^-11) loses at the clamp edge: amax - 127 d
    bound = d / 2 + np.maximum(0.0, amax - 127 * d) + 1e-12
    assert np.all(err <= bound)
    assert np.all(back.reshape(16, 8, 32)[3, 0] == 0) and np.all(q[3, 0] == 0)
    assert np.all(np.abs(q) <= 127)


def test_q8_0_rounding_rule_is_half_away_from_zero():
    # d = f16(127/127) = 1: x/d = 2.5 -> 3, -2.5 -> -3, 127 stays
    x = np.zeros(32, dtype=np.float32)
    x[0], x[1], x[2] = 127.0, 2.5, -2.5
    d16, q = dtypes.q8_0_quantize(x)
    assert float(d16[0]) == 1.0
    assert q[0, :3].tolist() == [127, 3, -3]


def test_q8_0_needs_multiple_of_32():
    with pytest.raises(ValueError):
        dtypes.encode(np.zeros((2, 48), dtype=np.float32), "q8_0")
    assert dtypes.payload_size("q8_0", [2, 48]) is None
    assert dtypes.payload_size("q8_0", [2, 64]) == 4 * 34
