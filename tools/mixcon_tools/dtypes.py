"""Weight dtypes of FORMAT.md (f32, f16, bf16, q8_0): exact encode/decode with numpy.

Every conversion is defined bit-exactly so the C++ engine can match it:
  f16   IEEE binary16, round to nearest even, overflow to inf (numpy astype).
  bf16  upper 16 bits of binary32, round to nearest even; NaN stays a quiet NaN.
  q8_0  per block of 32 values along the last dimension:
          amax = max|x| (float32), d = f16(amax / 127.0f) (float32 division, then
          round-to-nearest-even to binary16), q = roundf(x / float(d)) with the division
          in float32 and roundf rounding halves away from zero, clamped to [-127, 127];
          a block whose f16 scale is 0 stores q = 0.
"""
import numpy as np

DTYPES = ("f32", "f16", "bf16", "q8_0")
Q8_BLOCK = 32
Q8_BLOCK_BYTES = 34


def payload_size(dtype, shape):
    """Bytes a tensor of `shape` takes as `dtype` (None if q8_0 does not fit the shape)."""
    n = 1
    for s in shape:
        n *= s
    if dtype == "f32":
        return 4 * n
    if dtype in ("f16", "bf16"):
        return 2 * n
    if dtype == "q8_0":
        if not shape or shape[-1] % Q8_BLOCK != 0:
            return None
        return n // Q8_BLOCK * Q8_BLOCK_BYTES
    raise ValueError(f"unknown dtype {dtype!r}")


def f32_to_bf16_bits(x):
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    quiet = ((u >> 16).astype(np.uint16) | np.uint16(0x0040))
    return np.where(nan, quiet, rounded).astype(np.uint16)


def bf16_bits_to_f32(b):
    return (np.asarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def round_half_away(v):
    """C roundf on float32 values, exactly (the float64 sum cannot round)."""
    v64 = np.asarray(v, dtype=np.float64)
    return np.sign(v64) * np.floor(np.abs(v64) + 0.5)


def q8_0_quantize(x):
    """float32 array (last dim % 32 == 0) -> (d as float16 [..., nb], q as int8 [..., nb, 32])."""
    x = np.asarray(x, dtype=np.float32)
    blocks = x.reshape(*x.shape[:-1], x.shape[-1] // Q8_BLOCK, Q8_BLOCK)
    amax = np.max(np.abs(blocks), axis=-1)
    d16 = (amax / np.float32(127.0)).astype(np.float32).astype(np.float16)
    d32 = d16.astype(np.float32)
    safe = np.where(d32 == 0, np.float32(1.0), d32)
    with np.errstate(over="ignore", invalid="ignore"):
        v = (blocks / safe[..., None]).astype(np.float32)
    q = np.clip(round_half_away(v), -127, 127)
    q = np.where(d32[..., None] == 0, 0, q).astype(np.int8)
    return d16, q


def encode(x, dtype):
    """float array -> stored payload bytes of `dtype` (x is first rounded to float32)."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if dtype == "f32":
        return x.astype("<f4").tobytes()
    if dtype == "f16":
        return x.astype("<f2").tobytes()
    if dtype == "bf16":
        return f32_to_bf16_bits(x).astype("<u2").tobytes()
    if dtype == "q8_0":
        if x.ndim == 0 or x.shape[-1] % Q8_BLOCK != 0:
            raise ValueError(f"q8_0 needs a last dimension that is a multiple of 32, got {x.shape}")
        d16, q = q8_0_quantize(x)
        nb = d16.size
        out = np.empty((nb, Q8_BLOCK_BYTES), dtype=np.uint8)
        out[:, :2] = d16.reshape(nb).astype("<f2").view(np.uint8).reshape(nb, 2)
        out[:, 2:] = q.reshape(nb, Q8_BLOCK).view(np.uint8)
        return out.tobytes()
    raise ValueError(f"unknown dtype {dtype!r}")


def decode(data, dtype, shape, out_dtype=np.float64):
    """Stored payload bytes -> array of `shape` in out_dtype (exact: every stored value is
    representable in float32, and q8_0's d*q is computed in out_dtype)."""
    shape = tuple(shape)
    if dtype == "f32":
        a = np.frombuffer(data, dtype="<f4").astype(out_dtype)
    elif dtype == "f16":
        a = np.frombuffer(data, dtype="<f2").astype(out_dtype)
    elif dtype == "bf16":
        a = bf16_bits_to_f32(np.frombuffer(data, dtype="<u2")).astype(out_dtype)
    elif dtype == "q8_0":
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, Q8_BLOCK_BYTES)
        d = raw[:, :2].copy().view("<f2").reshape(-1, 1).astype(out_dtype)
        q = raw[:, 2:].copy().view(np.int8).astype(out_dtype)
        a = (d * q).reshape(-1)
    else:
        raise ValueError(f"unknown dtype {dtype!r}")
    return a.reshape(shape)


def roundtrip(x, dtype):
    """What a float array becomes once stored as `dtype` (float64)."""
    x = np.asarray(x, dtype=np.float32)
    return decode(encode(x, dtype), dtype, x.shape)
