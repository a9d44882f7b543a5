package org.mixcon;

/**
 * What a session's attention KV cache holds ({@code mixcon_dtype}; pinned numbers). F32 is
 * exact; F16 and BF16 halve the cache memory and what a long-context decode step reads, at
 * the cost of rounding each key and value once; Q8_0 takes about a quarter (32-value blocks
 * with a scale; the model's head_dim must be a multiple of 32; CPU only).
 */
public enum KvDtype {
  F32(0),
  F16(1),
  BF16(2),
  Q8_0(3);

  final int code;

  KvDtype(int code) {
    this.code = code;
  }
}
