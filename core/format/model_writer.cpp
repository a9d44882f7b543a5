#include "core/format/model_writer.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "core/common/status.h"
#include "core/format/checked_math.h"
#include "core/format/checksum.h"
#include "core/format/zstd_codec.h"

namespace mixcon {

using json = nlohmann::json;

namespace {

constexpr uint8_t kMagic[8] = {0x4D, 0x49, 0x58, 0x43, 0x0D, 0x0A, 0x1A, 0x0A};
constexpr int64_t kAlign = 64;

void put_le(uint8_t* dst, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) dst[i] = uint8_t(v >> (8 * i));
}

int64_t align_up(int64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

struct Encoded {
  const std::vector<uint8_t>* decoded = nullptr;
  bool use_zstd = false;
  std::vector<uint8_t> zstd;  // the frame, when use_zstd
  int64_t offset = 0;         // from data_start
  const std::vector<uint8_t>& stored() const { return use_zstd ? zstd : *decoded; }
};

json payload_record(const Encoded& e) {
  return {{"codec", e.use_zstd ? "zstd" : "raw"},
          {"offset", e.offset},
          {"stored_size", int64_t(e.stored().size())},
          {"xxh64", xxh64_hex(xxh64(e.decoded->data(), int64_t(e.decoded->size())))}};
}

json tokenizer_json(const TokenizerSpec& t) {
  // A plain "none" tokenizer is written as the Python writer writes it.
  if (t.kind == "none" && t.bos_id == -1 && t.eos_id == -1 && t.unk_id == -1 && t.pad_id == -1 && !t.add_bos)
    return {{"kind", "none"}};
  json j = {{"kind", t.kind},       {"bos_id", t.bos_id}, {"eos_id", t.eos_id},
            {"unk_id", t.unk_id},   {"pad_id", t.pad_id}, {"add_bos", t.add_bos}};
  if (t.kind == "sentencepiece") j["blob"] = t.blob;
  return j;
}

}  // namespace

std::vector<uint8_t> write_model(const WriterInput& in) {
  std::vector<const WriterTensor*> tensors;
  for (const WriterTensor& t : in.tensors) tensors.push_back(&t);
  std::sort(tensors.begin(), tensors.end(),
            [](const WriterTensor* a, const WriterTensor* b) { return a->name < b->name; });
  std::vector<const WriterBlob*> blobs;
  for (const WriterBlob& b : in.blobs) blobs.push_back(&b);
  std::sort(blobs.begin(), blobs.end(), [](const WriterBlob* a, const WriterBlob* b) { return a->name < b->name; });
  for (size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i]->name == tensors[i - 1]->name)
      fail(Status::InvalidArgument, "write_model: duplicate tensor '" + tensors[i]->name + "'");
  for (size_t i = 1; i < blobs.size(); ++i)
    if (blobs[i]->name == blobs[i - 1]->name)
      fail(Status::InvalidArgument, "write_model: duplicate blob '" + blobs[i]->name + "'");

  const bool zstd = in.codec == Codec::Zstd;
  json tj = json::object(), bj = json::object();
  std::vector<Encoded> enc;
  enc.reserve(tensors.size() + blobs.size());
  int64_t offset = 0;
  auto encode = [&](const std::vector<uint8_t>& bytes) -> Encoded& {
    Encoded e;
    e.decoded = &bytes;
    e.use_zstd = zstd;
    if (zstd) e.zstd = zstd_encode(bytes.data(), int64_t(bytes.size()), in.zstd_level);
    e.offset = offset;
    enc.push_back(std::move(e));
    offset = align_up(offset + int64_t(enc.back().stored().size()));
    return enc.back();
  };
  for (const WriterTensor* t : tensors) {
    int64_t rows = 1;
    bool ok = !t->shape.empty();
    for (size_t i = 0; ok && i + 1 < t->shape.size(); ++i) ok = checked_mul(rows, t->shape[i], &rows);
    const int64_t row = ok ? dtype_row_bytes(t->dtype, t->shape.back()) : -1;
    int64_t size = 0;
    if (row < 0 || !checked_mul(rows, row, &size) || size != int64_t(t->bytes.size()))
      fail(Status::InvalidArgument, "write_model: tensor '" + t->name + "' has " + std::to_string(t->bytes.size()) +
                                        " bytes, which does not match its dtype and shape");
    json rec = payload_record(encode(t->bytes));
    rec["dtype"] = dtype_name(t->dtype);
    rec["shape"] = t->shape;
    tj[t->name] = std::move(rec);
  }
  for (const WriterBlob* b : blobs) {
    json rec = payload_record(encode(b->bytes));
    rec["size"] = int64_t(b->bytes.size());
    bj[b->name] = std::move(rec);
  }

  json root = json::object();
  root["config"] = config_to_json(in.config);
  root["tokenizer"] = tokenizer_json(in.tokenizer);
  root["tensors"] = std::move(tj);
  root["blobs"] = std::move(bj);
  try {
    json md = json::parse(in.metadata_json);
    if (!md.is_object()) fail(Status::InvalidArgument, "write_model: metadata_json must be a JSON object");
    root["metadata"] = std::move(md);
  } catch (const json::exception& e) {
    fail(Status::InvalidArgument, std::string("write_model: metadata_json does not parse: ") + e.what());
  }
  std::string header;
  try {
    // An object's keys are kept in a std::map, so dump() sorts them; no
    // indent means no insignificant whitespace; doubles print in the shortest
    // form that reads back to the same value.
    header = root.dump();
  } catch (const json::exception& e) {
    fail(Status::InvalidArgument, std::string("write_model: a name or string is not valid UTF-8: ") + e.what());
  }

  const int64_t data_start = align_up(32 + int64_t(header.size()));
  int64_t end = data_start;
  if (!enc.empty()) end = data_start + enc.back().offset + int64_t(enc.back().stored().size());
  std::vector<uint8_t> out(size_t(end), 0);  // zero padding everywhere nothing is written
  std::memcpy(out.data(), kMagic, 8);
  put_le(out.data() + 8, 1, 4);   // major
  put_le(out.data() + 12, 0, 4);  // minor
  put_le(out.data() + 16, header.size(), 8);
  put_le(out.data() + 24, xxh64(header.data(), int64_t(header.size())), 8);
  std::memcpy(out.data() + 32, header.data(), header.size());
  for (const Encoded& e : enc) {
    if (!e.stored().empty())
      std::memcpy(out.data() + data_start + e.offset, e.stored().data(), e.stored().size());
  }
  return out;
}

WriterInput writer_input_from(const ModelFile& file) {
  WriterInput in;
  in.config = file.config();
  in.tokenizer = file.tokenizer();
  in.metadata_json = file.metadata_json();
  for (const TensorData& t : file.tensors())
    in.tensors.push_back(WriterTensor{t.name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  for (const std::string& name : file.blob_names()) in.blobs.push_back(WriterBlob{name, *file.blob(name)});
  return in;
}

}  // namespace mixcon
