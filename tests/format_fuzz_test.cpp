// Hostile bytes: random mutations and truncations of small valid files must
// either load or throw mixcon::Error — never crash, hang or over-allocate.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "core/common/status.h"
#include "core/format/model_file.h"
#include "core/format/model_writer.h"
#include "format_fixtures.h"

using namespace mixcon;
using namespace mixcon_test;

namespace {

struct Outcome {
  int loaded = 0;
  int rejected = 0;
};

void try_load(const std::vector<uint8_t>& f, Outcome* out) {
  try {
    ReadOptions o;
    auto m = ModelFile::from_memory(f.data(), int64_t(f.size()), o, "fuzz.mixc");
    // Whatever loaded must be usable: touch every byte of every tensor.
    uint64_t sum = 0;
    for (const TensorData& t : m->tensors())
      for (int64_t i = 0; i < t.nbytes; i += 61) sum += t.data[i];
    (void)sum;
    ++out->loaded;
  } catch (const Error& e) {
    EXPECT_NE(e.status(), Status::Ok);
    EXPECT_NE(std::string(e.what()).find("fuzz.mixc"), std::string::npos) << e.what();
    ++out->rejected;
  }
  // Any other exception type escapes and fails the test.
}

// Values that stress size and offset arithmetic.
json nasty_number(std::mt19937_64& rng) {
  static const int64_t values[] = {0, 1, -1, 63, 64, 65, 4096, 1 << 20, int64_t(1) << 31, int64_t(1) << 32,
                                   int64_t(1) << 40, int64_t(1) << 62, INT64_MAX, INT64_MIN};
  const size_t n = sizeof(values) / sizeof(values[0]);
  const uint64_t pick = rng() % (n + 2);
  if (pick == n) return json(~uint64_t(0));
  if (pick == n + 1) return json(1e300);
  return json(values[pick]);
}

// Replaces one randomly chosen number anywhere in the header by a nasty one.
void mutate_a_number(json& j, std::mt19937_64& rng) {
  std::vector<json*> numbers;
  std::vector<json*> stack{&j};
  while (!stack.empty()) {
    json* v = stack.back();
    stack.pop_back();
    if (v->is_number()) numbers.push_back(v);
    if (v->is_structured())
      for (auto& child : *v) stack.push_back(&child);
  }
  if (!numbers.empty()) *numbers[rng() % numbers.size()] = nasty_number(rng);
}

}  // namespace

TEST(FormatFuzz, MutationsAndTruncationsNeverCrash) {
  const auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(12345);
  Outcome out;
  int cases = 0;
  for (Codec codec : {Codec::Raw, Codec::Zstd}) {
    const std::vector<uint8_t> good = write_model(small_model(DType::Q8_0, 3, codec));
    const size_t header_end = 32 + size_t(le64(good, 16));
    const std::string header = header_text(good);
    for (int i = 0; i < 1000; ++i, ++cases) {
      std::vector<uint8_t> f;
      switch (i % 5) {
        case 0: {  // one byte anywhere
          f = good;
          f[rng() % f.size()] ^= uint8_t(1 + rng() % 255);
          break;
        }
        case 1: {  // one byte of the 32-byte file header or the JSON, checksum fixed
          std::string h = header;
          const size_t at = rng() % (header_end);
          if (at < 32) {
            f = good;
            f[at] ^= uint8_t(1 + rng() % 255);
          } else {
            h[at - 32] = char(rng() % 256);
            f = with_header_text(good, h);
          }
          break;
        }
        case 2: {  // a truncation
          f.assign(good.begin(), good.begin() + long(rng() % good.size()));
          break;
        }
        case 3: {  // a nasty number in the JSON, checksum fixed
          json j = json::parse(header);
          mutate_a_number(j, rng);
          f = with_header_text(good, j.dump());
          break;
        }
        default: {  // one byte inside the payloads
          f = good;
          const size_t start = data_start_of(header.size());
          f[start + rng() % (f.size() - start)] ^= uint8_t(1 + rng() % 255);
          break;
        }
      }
      try_load(f, &out);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(cases, 2000);
  EXPECT_EQ(out.loaded + out.rejected, cases);
  EXPECT_GT(out.rejected, cases / 2);  // most mutations must be caught
  EXPECT_LT(secs, 30.0);  // about 1.5 s in a Release build; the bound catches hangs, not jitter
  std::printf("loaded %d, rejected %d, %.2f s\n", out.loaded, out.rejected, secs);
}
