package org.mixcon;

/**
 * What a session's attention KV cache holds ({@code mixcon_dtype}; pinned numbers). F32 is
 * exact; F16 and BF16 halve the cache memory and what a long-context decode step reads, at
 * the cost of rounding each key and value once.
 */
public enum KvDtype {
  F32(0),
  F16(1),
  BF16(2);

  final int code;

  KvDtype(int code) {
    this.code = code;
  }
}
