// Reading a .mixc file. Where FORMAT.md is silent, this reader (and the
// Python one in tools/mixcon_tools/mixc_format.py, which makes the same calls
// and checks in the same order) chooses:
// - any duplicate JSON key anywhere in the header is an error (ambiguous);
// - `tokenizer` may be absent (kind "none"); its special ids are optional
//   (-1), and must lie in [-1, vocab_size) for both kinds (the Python reader
//   checks them for sentencepiece only);
// - `metadata` may be absent ("{}"); when present it must be an object;
// - `blobs` may be absent; unknown top-level keys are ignored;
// - a zstd frame need not declare its content size (decoding checks it);
// - bytes between and after payloads are not inspected;
// - a raw payload is served in place from the mapping (or the aligned copy);
//   if the file changes on disk while mapped, those bytes change too, as with
//   any mmap-based loader.
#include "core/format/model_file.h"

#include <omp.h>
#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <new>

#include <nlohmann/json.hpp>

#include "core/common/status.h"
#include "core/format/aligned_buffer.h"
#include "core/format/checked_math.h"
#include "core/format/checksum.h"
#include "core/format/file_mapping.h"
#include "core/format/header_json.h"
#include "core/format/zstd_codec.h"

namespace mixcon {

using json = nlohmann::json;

namespace {

constexpr uint8_t kMagic[8] = {0x4D, 0x49, 0x58, 0x43, 0x0D, 0x0A, 0x1A, 0x0A};
constexpr int64_t kFileHeaderBytes = 32;
constexpr int64_t kMaxHeaderBytes = int64_t(64) << 20;
constexpr uint32_t kMajor = 1;

uint32_t read_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

uint64_t read_u64(const uint8_t* p) { return uint64_t(read_u32(p)) | uint64_t(read_u32(p + 4)) << 32; }

std::string shape_string(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// One record of `tensors` or `blobs`, validated against the file.
struct Payload {
  std::string what;  // "tensor 'x'" / "blob 'x'", for messages
  std::string name;
  bool is_blob = false;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  int64_t offset = 0;       // from data_start
  int64_t stored_size = 0;  // bytes in the file
  int64_t size = 0;         // decoded bytes
  bool zstd = false;
  uint64_t xxh = 0;
};

}  // namespace

int64_t TensorData::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

struct ModelFile::Impl {
  std::string label;
  std::unique_ptr<FileMapping> file;  // kept only while a tensor points into it
  int64_t file_size = 0;
  ModelConfig config;
  TokenizerSpec tokenizer;
  std::string metadata = "{}";
  std::vector<TensorData> tensors;
  std::vector<AlignedBuffer> owned;  // decoded (or realigned) tensor payloads
  std::map<std::string, std::vector<uint8_t>> blobs;
  uint64_t fingerprint = 0;

  [[noreturn]] void bad(const std::string& reason) const { fail(Status::Format, label + ": " + reason); }

  void load(const ReadOptions& opts);
  int64_t read_file_header(int64_t* header_size);
  Payload parse_payload(const json& rec, const std::string& name, bool is_blob, const TensorSpec* spec);
  void check_placement(const std::vector<Payload>& payloads, int64_t data_start) const;
  void parse_tokenizer(const json& root);
  void check_tokenizer_model();
  // Thread-safe: decodes (or copies, or points at) one payload and checks its
  // XXH64. A tensor lands in *buffer unless served in place (*data == src).
  void decode_payload(const Payload& p, const uint8_t* src, bool verify, const uint8_t** data,
                      AlignedBuffer* buffer, std::vector<uint8_t>* blob) const;
};

void ModelFile::Impl::decode_payload(const Payload& p, const uint8_t* src, bool verify, const uint8_t** data,
                                     AlignedBuffer* buffer, std::vector<uint8_t>* blob) const {
  const std::string what = label + ": " + p.what;
  // The frame is checked before its output is allocated.
  if (p.zstd) zstd_check_frame(src, p.stored_size, p.size, what);
  uint8_t* dst = nullptr;
  if (p.is_blob) {
    blob->resize(size_t(p.size));
    dst = blob->data();
  } else if (p.zstd || reinterpret_cast<uintptr_t>(src) % kPayloadAlignment != 0) {
    *buffer = AlignedBuffer(p.size);
    dst = buffer->data();
  }
  *data = src;
  if (dst) {
    if (p.zstd) zstd_decode(src, p.stored_size, dst, p.size, what);
    else if (p.size > 0) std::memcpy(dst, src, size_t(p.size));
    *data = dst;
  }
  if (verify) {
    const uint64_t h = xxh64(*data, p.size);
    if (h != p.xxh)
      fail(Status::Checksum, what + ": checksum mismatch (file says " + xxh64_hex(p.xxh) + ", payload hashes to " +
                                 xxh64_hex(h) + ")");
  }
}

int64_t ModelFile::Impl::read_file_header(int64_t* header_size) {
  const uint8_t* p = file->data();
  const int64_t n = file_size;
  if (n < kFileHeaderBytes)
    bad("truncated: the file has " + std::to_string(n) + " bytes, fewer than the 32-byte file header");
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) bad("bad magic: not a .mixc file");
  const uint32_t major = read_u32(p + 8);
  if (major != kMajor)
    fail(Status::Unsupported, label + ": major version " + std::to_string(major) +
                                  " is not supported (this reader reads major version 1)");
  const uint64_t hs = read_u64(p + 16);
  if (hs > uint64_t(kMaxHeaderBytes))
    bad("header size " + std::to_string(hs) + " is larger than the 64 MiB limit");
  if (int64_t(hs) > n - kFileHeaderBytes)
    bad("header size " + std::to_string(hs) + " is larger than the file: " + std::to_string(n - kFileHeaderBytes) +
        " bytes follow the 32-byte file header (truncated?)");
  *header_size = int64_t(hs);
  const uint64_t stored = read_u64(p + 24);
  fingerprint = xxh64(p + kFileHeaderBytes, *header_size);
  if (fingerprint != stored)
    fail(Status::Checksum, label + ": header checksum mismatch (file says " + xxh64_hex(stored) +
                               ", header hashes to " + xxh64_hex(fingerprint) + ")");
  return (kFileHeaderBytes + *header_size + kPayloadAlignment - 1) / kPayloadAlignment * kPayloadAlignment;
}

namespace {

bool get_nonneg_int(const json& rec, const char* key, int64_t* out) {
  auto it = rec.find(key);
  if (it == rec.end() || !it->is_number_integer()) return false;
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u > uint64_t(INT64_MAX)) return false;
    *out = int64_t(u);
    return true;
  }
  *out = it->get<int64_t>();
  return *out >= 0;
}

}  // namespace

Payload ModelFile::Impl::parse_payload(const json& rec, const std::string& name, bool is_blob,
                                       const TensorSpec* spec) {
  Payload p;
  p.name = name;
  p.is_blob = is_blob;
  p.what = (is_blob ? "blob '" : "tensor '") + name + "'";
  const std::string& w = p.what;
  if (!rec.is_object()) bad(w + ": must be an object");

  auto codec = rec.find("codec");
  if (codec == rec.end() || !codec->is_string()) bad(w + ": codec must be \"raw\" or \"zstd\"");
  if (*codec == "zstd") p.zstd = true;
  else if (*codec != "raw") bad(w + ": unknown codec '" + codec->get<std::string>() + "'");

  if (is_blob) {
    if (!get_nonneg_int(rec, "size", &p.size)) bad(w + ": size must be a non-negative integer");
  } else {
    auto dt = rec.find("dtype");
    if (dt == rec.end() || !dt->is_string()) bad(w + ": dtype must be a string");
    if (!dtype_from_name(dt->get<std::string>(), &p.dtype))
      bad(w + ": unknown dtype '" + dt->get<std::string>() + "'");
    auto sh = rec.find("shape");
    if (sh == rec.end() || !sh->is_array()) bad(w + ": shape must be an array of integers");
    for (const json& d : *sh) {
      int64_t v;
      if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(INT64_MAX)))
        bad(w + ": shape must be an array of integers");
      v = d.get<int64_t>();
      p.shape.push_back(v);
    }
    if (p.shape != spec->shape)
      bad(w + ": shape " + shape_string(p.shape) + " differs from the expected " + shape_string(spec->shape));
    if (p.dtype == DType::Q8_0 && !spec->q8_allowed)
      bad(w + ": dtype q8_0 is not allowed here (only large matrices whose last dimension is a multiple of 32)");
    // parse_config has checked that numel * 4 fits; the row form keeps q8_0 exact.
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < p.shape.size(); ++i) rows *= p.shape[i];
    const int64_t row_bytes = dtype_row_bytes(p.dtype, p.shape.back());
    if (row_bytes < 0 || !checked_mul(rows, row_bytes, &p.size)) bad(w + ": payload size overflows 64 bits");
  }

  if (!get_nonneg_int(rec, "offset", &p.offset)) bad(w + ": offset must be a non-negative integer");
  if (!get_nonneg_int(rec, "stored_size", &p.stored_size)) bad(w + ": stored_size must be a non-negative integer");
  auto xx = rec.find("xxh64");
  if (xx == rec.end() || !xx->is_string() || !parse_xxh64_hex(xx->get<std::string>(), &p.xxh))
    bad(w + ": xxh64 must be 16 lowercase hex digits");
  return p;
}

void ModelFile::Impl::check_placement(const std::vector<Payload>& payloads, int64_t data_start) const {
  // The order of the checks (every record, then alignment and bounds, then
  // overlap, then raw sizes) is the Python reader's, so a damaged file gets
  // the same verdict from both.
  for (const Payload& p : payloads) {
    if (p.offset % kPayloadAlignment != 0)
      bad(p.what + ": offset " + std::to_string(p.offset) + " is not 64-byte aligned");
    int64_t begin = 0, end = 0;
    if (!checked_add(data_start, p.offset, &begin) || !checked_add(begin, p.stored_size, &end) || end > file_size)
      bad(p.what + ": payload at offset " + std::to_string(p.offset) + " (" + std::to_string(p.stored_size) +
          " bytes) lies outside the file of " + std::to_string(file_size) + " bytes (truncated?)");
  }
  std::vector<const Payload*> order;
  for (const Payload& p : payloads)
    if (p.stored_size > 0) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(), [](const Payload* a, const Payload* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->stored_size < b->stored_size;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    const Payload& a = *order[i - 1];
    const Payload& b = *order[i];
    if (a.offset + a.stored_size > b.offset)
      bad(b.what + ": payload at offset " + std::to_string(b.offset) + " overlaps " + a.what + " [" +
          std::to_string(a.offset) + ", " + std::to_string(a.offset + a.stored_size) + ")");
  }
  for (const Payload& p : payloads) {
    if (!p.zstd && p.stored_size != p.size)
      bad(p.what + ": stored_size " + std::to_string(p.stored_size) + " differs from its payload size " +
          std::to_string(p.size) + " (a raw payload's stored size is its size)");
  }
}

void ModelFile::Impl::parse_tokenizer(const json& root) {
  auto it = root.find("tokenizer");
  if (it == root.end()) return;  // token ids only
  const json& t = *it;
  if (!t.is_object()) bad("tokenizer: must be an object");
  auto kind = t.find("kind");
  if (kind == t.end() || !kind->is_string()) bad("tokenizer.kind: must be \"sentencepiece\" or \"none\"");
  tokenizer.kind = kind->get<std::string>();
  if (tokenizer.kind != "sentencepiece" && tokenizer.kind != "none")
    bad("tokenizer.kind: unknown tokenizer kind '" + tokenizer.kind + "' (sentencepiece, none)");
  const int64_t vocab = config.vocab_size;
  auto id = [&](const char* key, int32_t* out) {
    auto v = t.find(key);
    if (v == t.end()) return;
    if (!v->is_number_integer()) bad(std::string("tokenizer.") + key + ": must be an integer");
    const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX
                                                                                           : v->get<int64_t>();
    if (x < -1 || x >= vocab)
      bad(std::string("tokenizer.") + key + ": special id " + std::to_string(x) +
          " does not fit the vocabulary (-1 for none, or 0.." + std::to_string(vocab - 1) + ")");
    *out = int32_t(x);
  };
  id("bos_id", &tokenizer.bos_id);
  id("eos_id", &tokenizer.eos_id);
  id("unk_id", &tokenizer.unk_id);
  id("pad_id", &tokenizer.pad_id);
  if (auto ab = t.find("add_bos"); ab != t.end()) {
    if (!ab->is_boolean()) bad("tokenizer.add_bos: must be true or false");
    tokenizer.add_bos = ab->get<bool>();
  }
  if (tokenizer.kind == "sentencepiece") {
    auto b = t.find("blob");
    if (b == t.end() || !b->is_string()) bad("tokenizer.blob: a sentencepiece tokenizer needs a blob name");
    tokenizer.blob = b->get<std::string>();
    auto blobs_it = root.find("blobs");
    if (blobs_it == root.end() || !blobs_it->is_object() || !blobs_it->contains(tokenizer.blob))
      bad("tokenizer.blob: blob '" + tokenizer.blob + "' is not in blobs");
  }
}

void ModelFile::Impl::check_tokenizer_model() {
  if (tokenizer.kind != "sentencepiece") return;
  const std::vector<uint8_t>& bytes = blobs.at(tokenizer.blob);
  sentencepiece::SentencePieceProcessor sp;
  const auto st = sp.LoadFromSerializedProto(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!st.ok())
    bad("tokenizer blob '" + tokenizer.blob + "' is not a SentencePiece model (" + st.ToString() + ")");
  const int64_t pieces = sp.GetPieceSize();
  if (pieces != config.vocab_size)
    bad("tokenizer piece count " + std::to_string(pieces) + " differs from vocab_size " +
        std::to_string(config.vocab_size));
}

void ModelFile::Impl::load(const ReadOptions& opts) {
  file_size = file->size();
  int64_t header_size = 0;
  const int64_t data_start = read_file_header(&header_size);
  const json root = parse_header_json(file->data() + kFileHeaderBytes, header_size, label);
  if (!root.is_object()) bad("json: header JSON is not an object");

  auto cfg = root.find("config");
  if (cfg == root.end()) bad("config: missing");
  config = parse_config(*cfg, label);
  parse_tokenizer(root);
  if (auto md = root.find("metadata"); md != root.end()) {
    if (!md->is_object()) bad("metadata: must be an object");
    metadata = md->dump();
  }

  // Structure first: every record is checked against the table and the file
  // before any payload is touched or any memory is taken for it.
  auto tj = root.find("tensors");
  if (tj == root.end() || !tj->is_object()) bad("tensors: missing or not an object");
  const std::vector<TensorSpec> specs = expected_tensors(config);
  std::map<std::string, const TensorSpec*> by_name;
  for (const TensorSpec& s : specs) by_name[s.name] = &s;
  for (auto it = tj->begin(); it != tj->end(); ++it) {
    if (!by_name.count(it.key()))
      bad("unknown tensor '" + it.key() + "' (not in the config's tensor table)");
  }
  for (const TensorSpec& s : specs) {
    if (!tj->contains(s.name)) bad("missing tensor '" + s.name + "'");
  }
  std::vector<Payload> payloads;
  for (auto it = tj->begin(); it != tj->end(); ++it)
    payloads.push_back(parse_payload(it.value(), it.key(), false, by_name.at(it.key())));
  if (auto bj = root.find("blobs"); bj != root.end()) {
    if (!bj->is_object()) bad("blobs: must be an object");
    for (auto it = bj->begin(); it != bj->end(); ++it)
      payloads.push_back(parse_payload(it.value(), it.key(), true, nullptr));
  }
  check_placement(payloads, data_start);

  // Payloads are decoded and hashed on several threads, a batch at a time;
  // results are then committed in order on this thread, so errors, progress
  // calls and cancellation behave exactly as in a one-thread load.
  int64_t total = 0, done = 0;
  for (const Payload& p : payloads) total += p.stored_size;  // each is inside the file: no overflow
  const int threads = opts.n_threads > 0 ? opts.n_threads : omp_get_max_threads();
  const size_t batch = size_t(std::max(1, threads)) * 4;
  bool in_place = false;
  struct Work {
    const uint8_t* data = nullptr;
    AlignedBuffer buffer;
    std::vector<uint8_t> blob;
    std::exception_ptr error;
  };
  for (size_t b = 0; b < payloads.size(); b += batch) {
    const size_t e = std::min(payloads.size(), b + batch);
    std::vector<Work> work(e - b);
    // Threads only pay off on large payloads; waking them for a few kilobytes
    // costs more than the work, especially on busy cores.
    int64_t batch_bytes = 0;
    for (size_t i = b; i < e; ++i) batch_bytes += std::max(payloads[i].stored_size, payloads[i].size);
    const bool parallel = threads > 1 && batch_bytes >= (int64_t(8) << 20);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (parallel)
    for (size_t i = b; i < e; ++i) {
      Work& w = work[i - b];
      try {
        decode_payload(payloads[i], file->data() + data_start + payloads[i].offset, opts.verify_checksums, &w.data,
                       &w.buffer, &w.blob);
      } catch (...) {
        w.error = std::current_exception();
      }
    }
    for (size_t i = b; i < e; ++i) {
      Work& w = work[i - b];
      const Payload& p = payloads[i];
      if (w.error) std::rethrow_exception(w.error);
      if (p.is_blob) {
        blobs[p.name] = std::move(w.blob);
      } else {
        if (w.buffer.data() == nullptr && p.size > 0) in_place = true;
        tensors.push_back(TensorData{p.name, p.dtype, p.shape, w.data, p.size});
        owned.push_back(std::move(w.buffer));
      }
      done += p.stored_size;
      if (opts.progress && !opts.progress(total > 0 ? double(done) / double(total) : 1.0))
        fail(Status::Cancelled, label + ": load cancelled by the progress callback");
    }
  }
  check_tokenizer_model();
  // Nothing points into the file any more when every tensor was decoded or
  // copied: give the mapping (or the copy) back.
  if (!in_place) file.reset();
}

ModelFile::ModelFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelFile::~ModelFile() = default;

namespace {

std::unique_ptr<ModelFile::Impl> load_impl(std::unique_ptr<FileMapping> file, const std::string& label,
                                           const ReadOptions& opts) {
  auto impl = std::make_unique<ModelFile::Impl>();
  impl->label = label;
  impl->file = std::move(file);
  impl->load(opts);
  return impl;
}

[[noreturn]] void out_of_memory(const std::string& label) {
  fail(Status::OutOfMemory, label + ": out of memory while loading the model");
}

}  // namespace

std::unique_ptr<ModelFile> ModelFile::open(const std::string& path, const ReadOptions& opts) {
  try {
    return std::unique_ptr<ModelFile>(new ModelFile(load_impl(FileMapping::open(path, opts.use_mmap), path, opts)));
  } catch (const std::bad_alloc&) {
    out_of_memory(path);
  }
}

std::unique_ptr<ModelFile> ModelFile::from_memory(const void* data, int64_t size, const ReadOptions& opts,
                                                  const std::string& label) {
  if (size < 0 || (size > 0 && data == nullptr))
    fail(Status::InvalidArgument, label + ": from_memory needs a buffer and a non-negative size");
  try {
    return std::unique_ptr<ModelFile>(new ModelFile(load_impl(FileMapping::copy_of(data, size), label, opts)));
  } catch (const std::bad_alloc&) {
    out_of_memory(label);
  }
}

const std::string& ModelFile::label() const { return impl_->label; }
const ModelConfig& ModelFile::config() const { return impl_->config; }
const TokenizerSpec& ModelFile::tokenizer() const { return impl_->tokenizer; }
const std::string& ModelFile::metadata_json() const { return impl_->metadata; }
const std::vector<TensorData>& ModelFile::tensors() const { return impl_->tensors; }
uint64_t ModelFile::fingerprint() const { return impl_->fingerprint; }
int64_t ModelFile::file_size() const { return impl_->file_size; }

const TensorData* ModelFile::find(const std::string& name) const {
  auto it = std::lower_bound(impl_->tensors.begin(), impl_->tensors.end(), name,
                             [](const TensorData& t, const std::string& n) { return t.name < n; });
  return it != impl_->tensors.end() && it->name == name ? &*it : nullptr;
}

const std::vector<uint8_t>* ModelFile::blob(const std::string& name) const {
  auto it = impl_->blobs.find(name);
  return it == impl_->blobs.end() ? nullptr : &it->second;
}

std::vector<std::string> ModelFile::blob_names() const {
  std::vector<std::string> out;
  for (const auto& kv : impl_->blobs) out.push_back(kv.first);
  return out;
}

}  // namespace mixcon
