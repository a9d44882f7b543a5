#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_frameHeaderSize, ZSTD_BLOCKSIZE_MAX
#include "core/format/zstd_codec.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <memory>

#include "core/common/status.h"

namespace mixcon {

namespace {

// The most bytes the blocks of one frame can produce, from their headers
// alone: a raw or RLE block gives exactly its size, a compressed block at most
// ZSTD_BLOCKSIZE_MAX. (ZSTD_decompressBound trusts the declared content size,
// so it cannot catch a frame that lies about it.) -1 if the blocks are malformed.
int64_t frame_output_bound(const uint8_t* src, int64_t src_len) {
  const size_t header = ZSTD_frameHeaderSize(src, size_t(src_len));
  if (ZSTD_isError(header)) return -1;
  int64_t at = int64_t(header), bound = 0;
  for (;;) {
    if (src_len - at < 3) return -1;
    const uint32_t bh = uint32_t(src[at]) | uint32_t(src[at + 1]) << 8 | uint32_t(src[at + 2]) << 16;
    at += 3;
    const bool last = bh & 1;
    const uint32_t type = (bh >> 1) & 3;
    const int64_t size = int64_t(bh >> 3);
    if (type == 3) return -1;  // reserved
    if (type == 0) bound += size, at += size;
    else if (type == 1) bound += size, at += 1;
    else bound += ZSTD_BLOCKSIZE_MAX, at += size;
    if (at > src_len) return -1;
    if (last) return bound;
  }
}

}  // namespace

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
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    fail(Status::Format, what + ": zstd frame does not decode (bad frame header)");
  // A frame may leave its size out (streaming writers do): the output buffer
  // is sized from the config anyway and decoding checks the size it reaches.
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != (unsigned long long)expected)
    fail(Status::Format, what + ": zstd frame decoded size " + std::to_string(declared) +
                             " differs from the payload size " + std::to_string(expected));
  const size_t frame = ZSTD_findFrameCompressedSize(src, size_t(src_len));
  if (ZSTD_isError(frame))
    fail(Status::Format, what + ": zstd frame does not decode (" + ZSTD_getErrorName(frame) + ")");
  if (frame != size_t(src_len))
    fail(Status::Format, what + ": stored size " + std::to_string(src_len) + " holds more than one zstd frame");
  // A frame that claims a huge size but whose blocks cannot produce it would
  // make us allocate for nothing: the block headers bound what it can decode to.
  const int64_t bound = frame_output_bound(src, src_len);
  if (bound < expected)
    fail(Status::Format, what + ": zstd frame cannot decode to the payload size " + std::to_string(expected));
}

void zstd_decode(const uint8_t* src, int64_t src_len, uint8_t* dst, int64_t dst_len, const std::string& what) {
  // One context per call: loads may run on several threads at once.
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) throw std::bad_alloc();
  const size_t n = ZSTD_decompressDCtx(dctx.get(), dst, size_t(dst_len), src, size_t(src_len));
  if (ZSTD_isError(n)) {
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
      fail(Status::Format, what + ": zstd frame decoded size exceeds the payload size " + std::to_string(dst_len));
    fail(Status::Format, what + ": zstd frame does not decode (" + ZSTD_getErrorName(n) + ")");
  }
  if (n != size_t(dst_len))
    fail(Status::Format, what + ": zstd frame decoded size " + std::to_string(n) + " differs from the payload size " +
                             std::to_string(dst_len));
}

}  // namespace mixcon
