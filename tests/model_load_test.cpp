// Model::create: what it reports about a loaded model and what it refuses.
#include <gtest/gtest.h>

#include <thread>

#include "core/common/status.h"
#include "model_test_util.h"

namespace mixcon {
namespace {

TEST(ModelLoad, ReportsSizesAndDtype) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0}) {
    const ModelConfig c = testutil::variant_config(testutil::Variant{"x", t});
    const WriterInput in = random_model(c, t, 3);
    const std::vector<uint8_t> bytes = write_model(in);
    auto m = testutil::load_model(bytes, 2);
    int64_t params = 0, large = 0;
    for (const WriterTensor& wt : in.tensors) {
      int64_t n = 1;
      for (int64_t d : wt.shape) n *= d;
      params += n;
      if (wt.dtype == t && t != DType::F32) large += int64_t(wt.bytes.size());
    }
    EXPECT_EQ(m->n_params(), params) << dtype_name(t);
    EXPECT_EQ(m->weight_dtype(), t);
    // Nothing is held wider than float32, and the large matrices stay as
    // stored: an f16/bf16/q8_0 model holds clearly less than its f32 size.
    EXPECT_LE(m->weight_bytes(), params * 4) << dtype_name(t);
    EXPECT_GE(m->weight_bytes(), large) << dtype_name(t);
    if (t != DType::F32) EXPECT_LT(m->weight_bytes(), params * 3) << dtype_name(t);
    EXPECT_EQ(m->n_threads(), 2);
    EXPECT_EQ(m->device(), Device::Cpu);
    EXPECT_EQ(m->fingerprint(), m->file().fingerprint());
    EXPECT_EQ(&m->config(), &m->file().config());
  }
}

TEST(ModelLoad, DefaultThreadsAreTheCores) {
  const auto bytes = testutil::model_bytes(testutil::variant_config({"f32", DType::F32}), DType::F32, 1);
  auto m = testutil::load_model(bytes, 0);
  EXPECT_GE(m->n_threads(), 1);
}

// Without the CUDA backend in the build, Device::Cuda is Unsupported; with it
// but no usable GPU (this machine), the backend reports Backend/Unsupported.
// Either way the error names CUDA and nothing crashes.
TEST(ModelLoad, CudaWithoutGpuIsAClearError) {
  const auto bytes = testutil::model_bytes(testutil::variant_config({"f32", DType::F32}), DType::F32, 1);
  ModelOptions o;
  o.device = Device::Cuda;
  try {
    auto m = Model::create(ModelFile::from_memory(bytes.data(), int64_t(bytes.size()), ReadOptions{}), o);
#ifdef MIXCON_HAVE_CUDA
    EXPECT_EQ(m->device(), Device::Cuda);  // a GPU is present
#else
    FAIL() << "expected Unsupported";
#endif
  } catch (const Error& e) {
#ifdef MIXCON_HAVE_CUDA
    EXPECT_TRUE(e.status() == Status::Backend || e.status() == Status::Unsupported) << e.what();
#else
    EXPECT_EQ(e.status(), Status::Unsupported);
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
#endif
  }
}

TEST(ModelLoad, BadOptionsAreRejected) {
  const auto bytes = testutil::model_bytes(testutil::variant_config({"f32", DType::F32}), DType::F32, 1);
  ModelOptions o;
  o.n_threads = -1;
  try {
    Model::create(ModelFile::from_memory(bytes.data(), int64_t(bytes.size()), ReadOptions{}), o);
    FAIL() << "expected InvalidArgument";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument);
  }
  try {
    Model::create(nullptr, ModelOptions{});
    FAIL() << "expected InvalidArgument";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument);
  }
}

TEST(ModelLoad, SessionsShareOneModelAcrossThreads) {
  auto m = testutil::make_model(testutil::all_variants()[3], 4, 1);
  const auto toks = testutil::random_tokens(30, m->config().vocab_size, 2);
  Session ref(m, {});
  ref.feed(toks.data(), 30);
  std::vector<std::vector<float>> got(4);
  std::vector<std::thread> th;
  for (int i = 0; i < 4; ++i)
    th.emplace_back([&, i] {
      Session s(m, {});
      s.feed(toks.data(), 30);
      got[size_t(i)].assign(s.logits(), s.logits() + s.n_vocab());
    });
  for (auto& t : th) t.join();
  for (const auto& g : got)
    EXPECT_EQ(0, std::memcmp(g.data(), ref.logits(), g.size() * sizeof(float)));
}

}  // namespace
}  // namespace mixcon
