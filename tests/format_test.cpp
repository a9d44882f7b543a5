// The .mixc reader and writer: round trips for every dtype and codec,
// determinism, load options, and every reject rule of FORMAT.md.
#include "core/format/model_file.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>

#include "core/common/status.h"
#include "core/format/model_writer.h"
#include "format_fixtures.h"

using namespace mixcon;
using namespace mixcon_test;

namespace {

std::vector<uint8_t> small_file(DType dtype = DType::F32, Codec codec = Codec::Raw) {
  return write_model(small_model(dtype, 7, codec));
}

std::unique_ptr<ModelFile> load(const std::vector<uint8_t>& f, const ReadOptions& o = ReadOptions()) {
  return ModelFile::from_memory(f.data(), int64_t(f.size()), o, "m.mixc");
}

std::string temp_path(const std::string& name) { return testing::TempDir() + "/format_test_" + name; }

void write_file(const std::string& path, const std::vector<uint8_t>& f) {
  std::ofstream o(path, std::ios::binary);
  o.write(reinterpret_cast<const char*>(f.data()), std::streamsize(f.size()));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

// The load must fail with `status` and a message naming the file and holding `needle`.
void expect_reject(const std::vector<uint8_t>& f, Status status, const std::string& needle,
                   const ReadOptions& o = ReadOptions()) {
  try {
    load(f, o);
    ADD_FAILURE() << "accepted a file that should fail with " << status_name(status) << " / " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_NE(lower(e.what()).find(lower(needle)), std::string::npos) << "message: " << e.what()
                                                                        << "\nexpected: " << needle;
    EXPECT_EQ(std::string(e.what()).rfind("m.mixc", 0), 0u) << e.what();
  }
}

json record(const std::vector<uint8_t>& f, const std::string& tensor) {
  return json::parse(header_text(f))["tensors"][tensor];
}

void expect_same_content(const ModelFile& a, const WriterInput& in) {
  EXPECT_EQ(config_to_json(a.config()), config_to_json(in.config));
  ASSERT_EQ(a.tensors().size(), in.tensors.size());
  for (const WriterTensor& t : in.tensors) {
    const TensorData* d = a.find(t.name);
    ASSERT_NE(d, nullptr) << t.name;
    EXPECT_EQ(d->dtype, t.dtype);
    EXPECT_EQ(d->shape, t.shape);
    ASSERT_EQ(d->nbytes, int64_t(t.bytes.size()));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(d->data) % 64, 0u) << t.name;
    EXPECT_EQ(std::memcmp(d->data, t.bytes.data(), t.bytes.size()), 0) << t.name;
  }
  for (const WriterBlob& b : in.blobs) {
    ASSERT_NE(a.blob(b.name), nullptr);
    EXPECT_EQ(*a.blob(b.name), b.bytes);
  }
  EXPECT_EQ(json::parse(a.metadata_json()), json::parse(in.metadata_json));
}

}  // namespace

// ---------------------------------------------------------------- round trips

TEST(Format, RoundTripEveryDtypeAndCodec) {
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::Q8_0}) {
    for (Codec codec : {Codec::Raw, Codec::Zstd}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + (codec == Codec::Raw ? " raw" : " zstd"));
      const WriterInput in = small_model(dt, 11, codec);
      const std::vector<uint8_t> f = write_model(in);
      auto m = load(f);
      expect_same_content(*m, in);
      EXPECT_EQ(m->tokenizer().kind, "sentencepiece");
      EXPECT_EQ(m->tokenizer().bos_id, 1);
      EXPECT_TRUE(m->tokenizer().add_bos);
      EXPECT_EQ(m->file_size(), int64_t(f.size()));
      EXPECT_EQ(m->find("layers.0.conba.in_proj")->dtype, dt);
      EXPECT_EQ(m->find("layers.0.conba.a_log")->dtype, DType::F32);
      EXPECT_EQ(m->find("no.such.tensor"), nullptr);
      EXPECT_EQ(m->blob("no.such.blob"), nullptr);
      EXPECT_EQ(m->blob_names(), std::vector<std::string>{"tokenizer.model"});
      EXPECT_EQ(m->label(), "m.mixc");
      EXPECT_EQ(m->find("output_norm")->numel(), 32);
    }
  }
}

TEST(Format, LayoutFollowsTheWriterRules) {
  const std::vector<uint8_t> f = small_file();
  const std::string h = header_text(f);
  EXPECT_EQ(h.find('\n'), std::string::npos);
  const json j = json::parse(h);
  EXPECT_EQ(j.dump(), h);  // keys sorted, no whitespace: nlohmann's canonical dump
  // Tensors by name, then blobs by name, each at the next 64-aligned offset.
  int64_t expect = 0;
  for (const auto& section : {"tensors", "blobs"}) {
    for (auto it = j[section].begin(); it != j[section].end(); ++it) {
      EXPECT_EQ((*it)["offset"].get<int64_t>(), expect) << it.key();
      expect = ((*it)["offset"].get<int64_t>() + (*it)["stored_size"].get<int64_t>() + 63) / 64 * 64;
    }
  }
  const int64_t last_end = j["blobs"]["tokenizer.model"]["offset"].get<int64_t>() +
                           j["blobs"]["tokenizer.model"]["stored_size"].get<int64_t>();
  EXPECT_EQ(int64_t(f.size()), int64_t(data_start_of(h.size())) + last_end);
  EXPECT_EQ(f[8], 1);
  EXPECT_EQ(f[12], 0);
}

TEST(Format, Deterministic) {
  for (DType dt : {DType::F16, DType::Q8_0}) {
    EXPECT_EQ(write_model(small_model(dt, 5)), write_model(small_model(dt, 5)));
    EXPECT_NE(write_model(small_model(dt, 5)), write_model(small_model(dt, 6)));
    EXPECT_EQ(write_model(small_model(dt, 5, Codec::Zstd)), write_model(small_model(dt, 5, Codec::Zstd)));
  }
  // Tensor order in the input does not matter.
  WriterInput in = small_model();
  std::reverse(in.tensors.begin(), in.tensors.end());
  EXPECT_EQ(write_model(in), small_file());
}

TEST(Format, RawZstdRawIsByteIdentical) {
  for (DType dt : {DType::F32, DType::BF16, DType::Q8_0}) {
    const std::vector<uint8_t> raw = write_model(small_model(dt, 9));
    WriterInput a = writer_input_from(*load(raw));
    a.codec = Codec::Zstd;
    const std::vector<uint8_t> z = write_model(a);
    WriterInput b = writer_input_from(*load(z));
    b.codec = Codec::Raw;
    EXPECT_EQ(write_model(b), raw) << dtype_name(dt);
    EXPECT_EQ(write_model(small_model(dt, 9, Codec::Zstd)), z);
  }
}

TEST(Format, OpenMatchesFromMemoryWithAndWithoutMmap) {
  for (Codec codec : {Codec::Raw, Codec::Zstd}) {
    const std::vector<uint8_t> f = small_file(DType::F16, codec);
    const std::string path = temp_path(codec == Codec::Raw ? "raw.mixc" : "zstd.mixc");
    write_file(path, f);
    auto mem = load(f);
    for (bool mmap : {true, false}) {
      ReadOptions o;
      o.use_mmap = mmap;
      auto m = ModelFile::open(path, o);
      EXPECT_EQ(m->label(), path);
      EXPECT_EQ(m->fingerprint(), mem->fingerprint());
      EXPECT_EQ(m->file_size(), mem->file_size());
      ASSERT_EQ(m->tensors().size(), mem->tensors().size());
      for (size_t i = 0; i < m->tensors().size(); ++i) {
        const TensorData& a = m->tensors()[i];
        const TensorData& b = mem->tensors()[i];
        EXPECT_EQ(a.name, b.name);
        ASSERT_EQ(a.nbytes, b.nbytes);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data) % 64, 0u);
        EXPECT_EQ(std::memcmp(a.data, b.data, size_t(a.nbytes)), 0) << a.name;
      }
      EXPECT_EQ(*m->blob("tokenizer.model"), *mem->blob("tokenizer.model"));
    }
    std::remove(path.c_str());
  }
}

TEST(Format, FromMemoryCopiesTheCallersBytes) {
  std::vector<uint8_t> f = small_file();
  auto m = load(f);
  const std::vector<uint8_t> before(m->find("lm_head")->data, m->find("lm_head")->data + m->find("lm_head")->nbytes);
  std::fill(f.begin(), f.end(), 0xAB);
  f.clear();
  f.shrink_to_fit();
  EXPECT_EQ(std::vector<uint8_t>(m->find("lm_head")->data, m->find("lm_head")->data + m->find("lm_head")->nbytes),
            before);
}

TEST(Format, FingerprintIdentifiesTheHeader) {
  EXPECT_EQ(load(small_file())->fingerprint(), load(small_file())->fingerprint());
  EXPECT_NE(load(small_file())->fingerprint(), load(write_model(small_model(DType::F32, 8)))->fingerprint());
}

TEST(Format, VerifyChecksumsOffSkipsPayloadChecks) {
  std::vector<uint8_t> f = small_file();
  const size_t at = data_start_of(le64(f, 16)) + size_t(record(f, "output_norm")["offset"].get<int64_t>());
  f[at] ^= 0x40;
  expect_reject(f, Status::Checksum, "checksum");
  ReadOptions o;
  o.verify_checksums = false;
  auto m = load(f, o);
  EXPECT_NE(m->find("output_norm"), nullptr);
  // The header checksum is always checked.
  std::vector<uint8_t> g = small_file();
  g[40] ^= 1;
  expect_reject(g, Status::Checksum, "header checksum", o);
}

TEST(Format, ProgressIsReportedAndCanCancel) {
  const std::vector<uint8_t> f = small_file(DType::F32, Codec::Zstd);
  std::vector<double> seen;
  ReadOptions o;
  o.progress = [&](double x) {
    seen.push_back(x);
    return true;
  };
  auto m = load(f, o);
  EXPECT_EQ(seen.size(), m->tensors().size() + 1);  // each tensor and the blob
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_GT(seen.front(), 0.0);
  EXPECT_DOUBLE_EQ(seen.back(), 1.0);
  int calls = 0;
  o.progress = [&](double) { return ++calls < 3; };
  expect_reject(f, Status::Cancelled, "cancelled", o);
  EXPECT_EQ(calls, 3);
}

TEST(Format, ParallelDecodeMatchesOneThread) {
  // Large enough (2 x 8 MiB) that the loader uses several threads.
  ModelConfig c = small_config();
  c.vocab_size = 32768;
  c.d_model = 64;
  WriterInput in = random_model(c, DType::F32, 4);
  in.codec = Codec::Zstd;
  std::vector<uint8_t> f = write_model(in);
  ReadOptions one, many;
  one.n_threads = 1;
  many.n_threads = 4;
  auto a = load(f, one);
  auto b = load(f, many);
  expect_same_content(*b, in);
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  // With two damaged tensors, the first one in name order is reported, as in a serial load.
  in.codec = Codec::Raw;
  f = write_model(in);
  const size_t start = data_start_of(le64(f, 16));
  for (const char* name : {"lm_head", "tok_embeddings"})
    f[start + size_t(record(f, name)["offset"].get<int64_t>()) + 1000] ^= 1;
  expect_reject(f, Status::Checksum, "tensor 'lm_head'", many);
  expect_reject(f, Status::Checksum, "tensor 'lm_head'", one);
}

TEST(Format, TokenizerNoneAndTiedEmbeddings) {
  ModelConfig c = small_config();
  c.tie_embeddings = true;
  c.layer_types = {LayerType::Conba, LayerType::Conba, LayerType::Conba, LayerType::Conba};
  c.conba.features = {true, false, false};
  WriterInput in = random_model(c, DType::BF16, 3);
  auto m = load(write_model(in));
  EXPECT_EQ(m->tokenizer().kind, "none");
  EXPECT_EQ(m->tokenizer().bos_id, -1);
  EXPECT_EQ(m->find("lm_head"), nullptr);
  EXPECT_EQ(m->find("layers.0.conba.delay_logit"), nullptr);
  EXPECT_NE(m->find("layers.0.conba.scale_bias"), nullptr);
  EXPECT_FALSE(json::parse(header_text(write_model(in)))["config"].contains("attention"));
  expect_same_content(*m, in);
}

TEST(Format, RandomModelRanges) {
  WriterInput in = random_model(small_config(), DType::F32, 1);
  auto values = [&](const std::string& name) {
    for (const WriterTensor& t : in.tensors)
      if (t.name == name) {
        std::vector<float> v(t.bytes.size() / 4);
        std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
        return v;
      }
    ADD_FAILURE() << name;
    return std::vector<float>();
  };
  for (float x : values("layers.0.mixer_norm")) EXPECT_NEAR(x, 1.0f, 0.06f);
  const std::vector<float> a = values("layers.0.conba.a_log");  // [D, N] = [64, 4]
  EXPECT_FLOAT_EQ(a[0], 0.0f);
  EXPECT_FLOAT_EQ(a[3], std::log(4.0f));
  EXPECT_FLOAT_EQ(a[4], 0.0f);
  for (float b : values("layers.0.conba.dt_bias")) {
    const double dt = std::log1p(std::exp(double(b)));
    EXPECT_GE(dt, 0.00099);
    EXPECT_LE(dt, 0.1001);
  }
  for (float s : values("layers.2.conba.scale_bias")) EXPECT_GT(1 / (1 + std::exp(-s)), 0.85);
  const double bound = 1 / std::sqrt(32.0);
  for (float w : values("layers.1.attn.wq")) EXPECT_LE(std::fabs(w), bound);
  // The same seed gives the same model on every platform: pin a few values.
  const std::vector<float> e = values("tok_embeddings");
  EXPECT_EQ(random_model(small_config(), DType::F32, 1).tensors[0].bytes,
            random_model(small_config(), DType::F32, 1).tensors[0].bytes);
  EXPECT_GE(*std::min_element(e.begin(), e.end()), -1.0f);
  EXPECT_LE(*std::max_element(e.begin(), e.end()), 1.0f);
}

TEST(Format, WriterRejectsInconsistentInput) {
  WriterInput in = small_model();
  in.tensors[0].bytes.pop_back();
  EXPECT_THROW(write_model(in), Error);
  in = small_model();
  in.tensors.push_back(in.tensors[0]);
  EXPECT_THROW(write_model(in), Error);
  in = small_model();
  in.metadata_json = "[1,2]";
  EXPECT_THROW(write_model(in), Error);
  in.metadata_json = "{bad";
  EXPECT_THROW(write_model(in), Error);
}

// ------------------------------------------------------------- reject rules

TEST(FormatReject, Io) {
  try {
    ModelFile::open("/nonexistent/dir/model.mixc", ReadOptions());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.mixc"), std::string::npos);
  }
  try {
    ModelFile::open(testing::TempDir(), ReadOptions());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Io);
  }
}

TEST(FormatReject, FileHeader) {
  const std::vector<uint8_t> good = small_file();
  std::vector<uint8_t> f = good;
  f[1] = 'Y';
  expect_reject(f, Status::Format, "magic");
  expect_reject(std::vector<uint8_t>{'G', 'I', 'F'}, Status::Format, "truncated");
  expect_reject(std::vector<uint8_t>(good.begin(), good.begin() + 20), Status::Format, "truncated");
  expect_reject(std::vector<uint8_t>(), Status::Format, "truncated");
  f = good;
  set_le(&f, 8, 2, 4);
  expect_reject(f, Status::Unsupported, "major version");
  f = good;
  set_le(&f, 12, 7, 4);  // any minor is fine
  EXPECT_NO_THROW(load(f));
  f = good;
  set_le(&f, 16, (uint64_t(64) << 20) + 1, 8);
  expect_reject(f, Status::Format, "larger than");
  f = good;
  set_le(&f, 16, ~uint64_t(0), 8);
  expect_reject(f, Status::Format, "header size");
  f = good;
  set_le(&f, 16, good.size(), 8);
  expect_reject(f, Status::Format, "larger than the file");
  f = good;
  f[24] ^= 1;
  expect_reject(f, Status::Checksum, "header checksum");
}

TEST(FormatReject, Json) {
  const std::vector<uint8_t> good = small_file();
  expect_reject(with_header_text(good, "{\"config\":"), Status::Format, "json");
  expect_reject(with_header_text(good, "[]"), Status::Format, "json");
  std::string h = header_text(good);
  h.replace(h.find("\"metadata\":{"), 12, "\"metadata\":{\"x\":\"\xff\xfe\",");
  expect_reject(with_header_text(good, h), Status::Format, "utf-8");
  h = header_text(good);
  h.replace(h.find("\"metadata\":{"), 12, "\"metadata\":{\"x\":\"\xc0\xaf\",");  // overlong '/'
  expect_reject(with_header_text(good, h), Status::Format, "utf-8");
  h = header_text(good);
  h.replace(h.find("\"metadata\":{"), 12, "\"metadata\":{\"x\":" + std::string(100, '[') + std::string(100, ']') + ",");
  expect_reject(with_header_text(good, h), Status::Format, "json");
  h = header_text(good);
  h.replace(h.find("\"metadata\":{"), 12, "\"metadata\":{\"a\":1,\"a\":2,");
  expect_reject(with_header_text(good, h), Status::Format, "duplicate key 'a' in metadata");
  // Valid UTF-8 outside ASCII is fine.
  h = header_text(good);
  h.replace(h.find("\"metadata\":{"), 12, "\"metadata\":{\"title\":\"Modèle ✓\",");
  auto m = load(with_header_text(good, h));
  EXPECT_NE(m->metadata_json().find("Modèle ✓"), std::string::npos);
  expect_reject(with_header(good, [](json& j) { j["metadata"] = 3; }), Status::Format, "metadata");
  expect_reject(with_header(good, [](json& j) { j.erase("config"); }), Status::Format, "config");
  // Unknown keys outside config are ignored.
  EXPECT_NO_THROW(load(with_header(good, [](json& j) { j["future_key"] = {1, 2}; })));
}

TEST(FormatReject, Config) {
  const std::vector<uint8_t> good = small_file();
  expect_reject(with_header(good, [](json& j) { j["config"]["d_model"] = 65537; }), Status::Format,
                "config.d_model");
  expect_reject(with_header(good, [](json& j) { j["config"]["rotary"] = 1; }), Status::Format,
                "unknown config key");
  expect_reject(with_header(good, [](json& j) { j["config"]["conba"]["features"]["noise"] = true; }),
                Status::Format, "unknown conba feature");
}

TEST(FormatReject, TensorSet) {
  const std::vector<uint8_t> good = small_file();
  expect_reject(with_header(good, [](json& j) { j["tensors"].erase("output_norm"); }), Status::Format,
                "missing tensor 'output_norm'");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["layers.0.extra"] = j["tensors"]["output_norm"]; }),
                Status::Format, "unknown tensor 'layers.0.extra'");
  std::string h = header_text(good);
  const std::string rec = "\"output_norm\":" + record(good, "output_norm").dump();
  h.replace(h.find("\"tensors\":{"), 11, "\"tensors\":{" + rec + ",");
  expect_reject(with_header_text(good, h), Status::Format, "duplicate tensor name 'output_norm'");
  h = header_text(good);
  const std::string brec = "\"tokenizer.model\":" + json::parse(h)["blobs"]["tokenizer.model"].dump();
  h.replace(h.find("\"blobs\":{"), 9, "\"blobs\":{" + brec + ",");
  expect_reject(with_header_text(good, h), Status::Format, "duplicate blob");
  expect_reject(with_header(good, [](json& j) { j["tensors"] = json::array(); }), Status::Format, "tensors");
}

TEST(FormatReject, ShapeAndDtype) {
  const std::vector<uint8_t> good = small_file();
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["shape"] = {16, 2}; }), Status::Format,
                "shape");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["layers.0.conba.in_proj"]["shape"] = {32, 128}; }),
                Status::Format, "tensor 'layers.0.conba.in_proj': shape");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["shape"] = "32"; }), Status::Format,
                "shape");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["dtype"] = "f64"; }), Status::Format,
                "dtype");
  // f32 -> q8_0 keeps the byte count for no tensor, so use a file that is
  // already q8_0 and move the dtype to a small tensor: it is the dtype rule
  // that must fire, before any size rule.
  expect_reject(with_header(good, [](json& j) { j["tensors"]["layers.0.conba.a_log"]["dtype"] = "q8_0"; }),
                Status::Format, "dtype q8_0");
  // f16 for a small tensor is allowed by the table; here the stored size then mismatches.
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["dtype"] = "f16"; }), Status::Format,
                "stored size");
}

TEST(FormatReject, Offsets) {
  const std::vector<uint8_t> good = small_file();
  const int64_t norm_off = record(good, "output_norm")["offset"].get<int64_t>();
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["offset"] = 1; }), Status::Format,
                "aligned");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["offset"] = -64; }), Status::Format,
                "offset");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["offset"] = int64_t(1) << 40; }),
                Status::Format, "outside the file");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["offset"] = INT64_MAX - 63; }),
                Status::Format, "outside the file");
  expect_reject(with_header(good, [&](json& j) { j["tensors"]["lm_head"]["offset"] = norm_off; }), Status::Format,
                "overlap");
  // Truncation anywhere in the payloads.
  expect_reject(std::vector<uint8_t>(good.begin(), good.end() - 1), Status::Format, "outside the file");
  expect_reject(std::vector<uint8_t>(good.begin(), good.begin() + long(data_start_of(le64(good, 16)) + 100)),
                Status::Format, "truncated");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["stored_size"] = 64; }),
                Status::Format, "stored size");
  // A raw stored size that also runs into the next payload: overlap is reported first.
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["stored_size"] = 192; }),
                Status::Format, "overlap");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["codec"] = "lz4"; }), Status::Format,
                "codec");
  expect_reject(with_header(good, [](json& j) { j["blobs"]["tokenizer.model"]["size"] = 3; }), Status::Format,
                "stored size");
}

TEST(FormatReject, Zstd) {
  const std::vector<uint8_t> good = small_file(DType::F32, Codec::Zstd);
  const size_t start = data_start_of(le64(good, 16));
  const json a = record(good, "layers.0.conba.in_proj");
  std::vector<uint8_t> f = good;
  f[start + size_t(a["offset"].get<int64_t>())] ^= 0xff;  // frame magic
  expect_reject(f, Status::Format, "zstd");
  // Another tensor's frame: it declares the wrong decoded size.
  const json b = record(good, "layers.0.conba.out_proj");
  expect_reject(with_header(good,
                            [&](json& j) {
                              j["tensors"]["layers.0.conba.in_proj"]["offset"] = b["offset"];
                              j["tensors"]["layers.0.conba.in_proj"]["stored_size"] = b["stored_size"];
                              j["tensors"]["layers.0.conba.out_proj"]["offset"] = a["offset"];
                              j["tensors"]["layers.0.conba.out_proj"]["stored_size"] = a["stored_size"];
                            }),
                Status::Format, "decoded size");
  // A frame cut short.
  expect_reject(with_header(good,
                            [&](json& j) {
                              j["tensors"]["layers.0.conba.in_proj"]["stored_size"] =
                                  a["stored_size"].get<int64_t>() - 5;
                            }),
                Status::Format, "zstd");
  // A frame that declares the right size but whose blocks cannot produce it
  // (one 100-byte RLE block for an 8 KiB tensor) is refused before allocating.
  {
    std::vector<uint8_t> frame = {0x28, 0xB5, 0x2F, 0xFD, 0xE0};  // magic; single segment, 8-byte size
    const uint64_t size = 64 * 32 * 4;                            // lm_head
    for (int i = 0; i < 8; ++i) frame.push_back(uint8_t(size >> (8 * i)));
    const uint32_t block = (100u << 3) | (1u << 1) | 1u;  // RLE, last block
    frame.push_back(uint8_t(block));
    frame.push_back(uint8_t(block >> 8));
    frame.push_back(uint8_t(block >> 16));
    frame.push_back(0x42);
    f = good;
    f.resize((f.size() + 63) / 64 * 64, 0);
    const int64_t off = int64_t(f.size() - start);
    f.insert(f.end(), frame.begin(), frame.end());
    expect_reject(with_header(f,
                              [&](json& j) {
                                j["tensors"]["lm_head"]["offset"] = off;
                                j["tensors"]["lm_head"]["stored_size"] = frame.size();
                              }),
                  Status::Format, "zstd frame cannot decode");
  }
  // A frame without a declared size (as streaming writers make) is accepted
  // when it decodes to exactly the payload size, and rejected when it decodes
  // to more.
  auto without_size = [&](const std::vector<uint8_t>& payload) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    std::vector<uint8_t> frame(ZSTD_compressBound(payload.size()));
    const size_t n = ZSTD_compress2(cctx, frame.data(), frame.size(), payload.data(), payload.size());
    ZSTD_freeCCtx(cctx);
    EXPECT_FALSE(ZSTD_isError(n));
    frame.resize(n);
    EXPECT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);
    std::vector<uint8_t> g = good;
    g.resize((g.size() + 63) / 64 * 64, 0);
    const int64_t off = int64_t(g.size() - start);
    g.insert(g.end(), frame.begin(), frame.end());
    return with_header(g, [&](json& j) {
      j["tensors"]["lm_head"]["offset"] = off;
      j["tensors"]["lm_head"]["stored_size"] = frame.size();
    });
  };
  {
    auto m = load(good);
    const TensorData* lm = m->find("lm_head");
    std::vector<uint8_t> payload(lm->data, lm->data + lm->nbytes);
    auto m2 = load(without_size(payload));
    EXPECT_EQ(std::memcmp(m2->find("lm_head")->data, payload.data(), payload.size()), 0);
    payload.resize(payload.size() + 64);
    expect_reject(without_size(payload), Status::Format, "decoded size");
    payload.resize(payload.size() - 128);
    expect_reject(without_size(payload), Status::Format, "decoded size");
  }
  // Damage inside the compressed blocks: decoding fails or the checksum does.
  bool failed_all = true;
  for (int i = 20; i < 60; ++i) {
    f = good;
    f[start + size_t(a["offset"].get<int64_t>()) + size_t(i)] ^= 0x55;
    try {
      load(f);
      failed_all = false;
    } catch (const Error& e) {
      EXPECT_TRUE(e.status() == Status::Format || e.status() == Status::Checksum) << e.what();
    }
  }
  EXPECT_TRUE(failed_all);
}

TEST(FormatReject, Checksums) {
  const std::vector<uint8_t> good = small_file();
  expect_reject(
      with_header(good, [](json& j) { j["tensors"]["output_norm"]["xxh64"] = "0123456789abcdef"; }),
      Status::Checksum, "tensor 'output_norm': checksum");
  expect_reject(
      with_header(good, [](json& j) { j["blobs"]["tokenizer.model"]["xxh64"] = "0123456789abcdef"; }),
      Status::Checksum, "blob 'tokenizer.model': checksum");
  expect_reject(with_header(good, [](json& j) { j["tensors"]["output_norm"]["xxh64"] = "0123456789ABCDEF"; }),
                Status::Format, "xxh64");
}

TEST(FormatReject, Tokenizer) {
  const std::vector<uint8_t> good = small_file();
  expect_reject(with_header(good, [](json& j) { j["tokenizer"]["kind"] = "bpe"; }), Status::Format, "tokenizer");
  expect_reject(with_header(good, [](json& j) { j["tokenizer"]["bos_id"] = 64; }), Status::Format,
                "tokenizer.bos_id");
  expect_reject(with_header(good, [](json& j) { j["tokenizer"]["eos_id"] = -2; }), Status::Format,
                "tokenizer.eos_id");
  expect_reject(with_header(good, [](json& j) { j["tokenizer"]["blob"] = "other.model"; }), Status::Format,
                "tokenizer.blob");
  expect_reject(with_header(good, [](json& j) { j["tokenizer"].erase("blob"); }), Status::Format, "tokenizer");
  // A tokenizer with 63 pieces for a 64-token vocabulary.
  WriterInput in = small_model();
  in.blobs[0].bytes = sentencepiece_model(63);
  expect_reject(write_model(in), Status::Format, "piece count");
  in.blobs[0].bytes = {1, 2, 3, 4};
  expect_reject(write_model(in), Status::Format, "tokenizer");
  // kind none needs no blob, and ids are still checked.
  EXPECT_NO_THROW(load(with_header(good, [](json& j) { j["tokenizer"] = {{"kind", "none"}}; })));
  expect_reject(with_header(good, [](json& j) { j["tokenizer"] = {{"kind", "none"}, {"unk_id", 99}}; }),
                Status::Format, "tokenizer.unk_id");
}
