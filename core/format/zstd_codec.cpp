#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_decompressBound
#include "core/format/zstd_codec.h"

#include <zstd.h>

#include <memory>

#include "core/common/status.h"

namespace mixcon {

std::vector<uint8_t> zstd_encode(const uint8_t* src, int64_t src_len, int level) {
  std::vector<uint8_t> out(ZSTD_compressBound(size_t(src_len)));
  // ZSTD_compress always writes the content size and uses one thread, so the
  // same bytes and level give the same frame.
  const size_t n = ZSTD_compress(out.data(), out.size(), src, size_t(src_len), level);
  if (ZSTD_isError(n)) fail(Status::Internal, std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

void zstd_check_frame(const uint8_t* src, int64_t src_len, int64_t expected, const std::string& what) {
  const unsigned long long declared = ZSTD_getFrameContentSize(src, size_t(src_len));
  if (declared == ZSTD_CONTENTSIZE_ERROR) fail(Status::Format, what + ": zstd frame header is invalid");
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
    fail(Status::Format, what + ": zstd frame does not declare its decoded size");
  if (declared != (unsigned long long)expected)
    fail(Status::Format, what + ": zstd frame declares decoded size " + std::to_string(declared) + ", expected " +
                             std::to_string(expected));
  const size_t frame = ZSTD_findFrameCompressedSize(src, size_t(src_len));
  if (ZSTD_isError(frame)) fail(Status::Format, what + ": zstd frame is damaged: " + ZSTD_getErrorName(frame));
  if (frame != size_t(src_len))
    fail(Status::Format, what + ": stored size " + std::to_string(src_len) + " holds more than one zstd frame");
  // A frame that claims a huge size but whose blocks cannot produce it would
  // make us allocate for nothing: the block headers bound what it can decode to.
  const unsigned long long bound = ZSTD_decompressBound(src, size_t(src_len));
  if (bound == ZSTD_CONTENTSIZE_ERROR || bound < declared)
    fail(Status::Format, what + ": zstd frame cannot decode to its declared size " + std::to_string(declared));
}

void zstd_decode(const uint8_t* src, int64_t src_len, uint8_t* dst, int64_t dst_len, const std::string& what) {
  // One context per call: loads may run on several threads at once.
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) throw std::bad_alloc();
  const size_t n = ZSTD_decompressDCtx(dctx.get(), dst, size_t(dst_len), src, size_t(src_len));
  if (ZSTD_isError(n)) fail(Status::Format, what + ": zstd frame fails to decode: " + ZSTD_getErrorName(n));
  if (n != size_t(dst_len))
    fail(Status::Format, what + ": zstd frame decoded size " + std::to_string(n) + " differs from the expected " +
                             std::to_string(dst_len));
}

}  // namespace mixcon
