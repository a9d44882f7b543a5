package org.mixcon;

/**
 * How a session's products with q8_0 weights treat their input ({@code mixcon_dtype}; pinned
 * numbers). F32 is exact (the weights widened to float). Q8_0 rounds the activations to int8
 * as well (32-value blocks with a scale) and multiplies each block in integers: faster
 * prefill, and faster decode when memory is fast, for logits that move by about 1e-2 of the
 * largest logit. Products with f32, f16 or bf16 weights stay exact either way. CPU only.
 */
public enum Activations {
  F32(0),
  Q8_0(3);

  final int code;

  Activations(int code) {
    this.code = code;
  }
}
