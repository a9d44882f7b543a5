// Weight dtypes of the .mixc format (FORMAT.md "dtypes") and exact conversions.
#pragma once

#include <cstdint>
#include <string>

namespace mixcon {

enum class DType : int { F32 = 0, F16 = 1, BF16 = 2, Q8_0 = 3 };

// q8_0: 32 values share one f16 scale; value = d * q.
constexpr int64_t kQ8BlockValues = 32;
struct BlockQ8_0 {
  uint16_t d;  // IEEE binary16 bits
  int8_t qs[kQ8BlockValues];
};
static_assert(sizeof(BlockQ8_0) == 34, "q8_0 block is 34 bytes in the file");

const char* dtype_name(DType t);                            // "f32", "f16", "bf16", "q8_0"
bool dtype_from_name(const std::string& name, DType* out);  // false if unknown

// Bytes that n values of one row take (for q8_0, n must be a multiple of 32;
// returns -1 otherwise or on overflow).
int64_t dtype_row_bytes(DType t, int64_t n);

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);   // round to nearest even, overflow to inf
float bf16_to_f32(uint16_t b);
uint16_t f32_to_bf16(float f);  // round to nearest even, NaN stays NaN

// Decode n values of `src` (stored as t) to float32. For q8_0 n % 32 == 0.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
// Encode n float32 values as t (q8_0: d = max|x|/127 rounded to f16, q = round(x/d)).
void quantize_row(DType t, const float* src, void* dst, int64_t n);

}  // namespace mixcon
