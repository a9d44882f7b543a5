package org.mixcon;

/**
 * What a session's products round their input to ({@code mixcon_dtype}; pinned numbers). F32:
 * nothing, every product exact. Q8_0: products with q8_0 weights round their activations to
 * int8 (32-value blocks with a scale) and multiply each block in integers: about 2x faster
 * prefill with VNNI, about 1.2x with AVX2 alone, logits move by about 5e-3 of the largest.
 * BF16: products with bf16 weights round them to bf16: faster prefill with AVX512_BF16,
 * logits move by about 2e-3.
 * Products with weights of other dtypes stay exact. Q8_0 is CPU only; on CUDA, BF16 runs the
 * prefill's bf16 products on the tensor cores.
 */
public enum Activations {
  F32(0),
  BF16(2),
  Q8_0(3);

  final int code;

  Activations(int code) {
    this.code = code;
  }
}
