// parse_config / config_to_json / expected_tensors: every range rule of
// FORMAT.md, section presence, unknown keys and features.
#include "core/format/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/common/status.h"
#include "core/format/model_writer.h"
#include "format_fixtures.h"

using namespace mixcon;
using nlohmann::json;

namespace {

json valid() { return config_to_json(mixcon_test::small_config()); }

// Expects parse_config to reject the edited config with a Format error whose
// message contains `needle` (case-insensitive).
void expect_reject(const std::function<void(json&)>& edit, const std::string& needle) {
  json j = valid();
  edit(j);
  try {
    parse_config(j, "m.mixc");
    ADD_FAILURE() << "accepted: " << j.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Format) << e.what();
    std::string msg = e.what(), lower = msg;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    EXPECT_NE(lower.find(needle), std::string::npos) << "message: " << msg << "\nexpected: " << needle;
    EXPECT_EQ(msg.rfind("m.mixc: ", 0), 0u) << msg;
  }
}

}  // namespace

TEST(Config, RoundTripsThroughJson) {
  const ModelConfig c = mixcon_test::small_config();
  const json j = config_to_json(c);
  const ModelConfig back = parse_config(j, "x");
  EXPECT_EQ(config_to_json(back), j);
  EXPECT_EQ(back.count_layers(LayerType::Attention), 1);
  EXPECT_EQ(back.count_layers(LayerType::Conba), 3);
  EXPECT_EQ(back.count_ffn(FfnType::Moe), 2);
  EXPECT_EQ(back.conba_ring(), 2);
  EXPECT_EQ(j.dump().find(' '), std::string::npos);
}

TEST(Config, NormEpsRoundTripsExactly) {
  ModelConfig c = mixcon_test::small_config();
  for (double eps : {1e-6, 1e-5, 3.0e-7, 0.1 + 0.2}) {
    c.norm_eps = eps;
    c.attention.rope_theta = 10000.0 / 3.0;
    const ModelConfig back = parse_config(json::parse(config_to_json(c).dump()), "x");
    EXPECT_EQ(back.norm_eps, eps);
    EXPECT_EQ(back.attention.rope_theta, 10000.0 / 3.0);
  }
}

TEST(Config, Presets) {
  for (const char* name : {"paper", "bench-small", "tiny-random"}) {
    const ModelConfig c = preset_config(name);
    EXPECT_NO_THROW(parse_config(config_to_json(c), name)) << name;
  }
  const ModelConfig tiny = preset_config("tiny-random");
  EXPECT_EQ(tiny.vocab_size, 512);
  EXPECT_EQ(tiny.layer_types[2], LayerType::Attention);
  EXPECT_EQ(tiny.layer_types[6], LayerType::Attention);
  EXPECT_EQ(tiny.count_layers(LayerType::Attention), 2);
  EXPECT_EQ(tiny.ffn_types[1], FfnType::Moe);
  EXPECT_EQ(tiny.ffn_types[0], FfnType::Mlp);
  EXPECT_EQ(tiny.moe.d_ff, 96);
  const ModelConfig bench = preset_config("bench-small");
  EXPECT_EQ(bench.vocab_size, 32000);
  EXPECT_FALSE(bench.tie_embeddings);
  EXPECT_EQ(bench.layer_types[4], LayerType::Attention);
  EXPECT_EQ(bench.layer_types[12], LayerType::Attention);
  EXPECT_EQ(bench.count_layers(LayerType::Attention), 2);
  const ModelConfig paper = preset_config("paper");
  EXPECT_EQ(paper.n_layers, 32);
  EXPECT_EQ(paper.count_layers(LayerType::Attention), 8);
  EXPECT_EQ(paper.count_ffn(FfnType::Moe), 16);
  EXPECT_EQ(paper.conba.d_inner, 8192);
  try {
    preset_config("huge");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument);
  }
}

TEST(Config, ExpectedTensors) {
  ModelConfig c = mixcon_test::small_config();
  std::vector<TensorSpec> t = expected_tensors(c);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end(), [](const TensorSpec& a, const TensorSpec& b) { return a.name < b.name; }));
  auto find = [&](const std::string& n) -> const TensorSpec* {
    for (const TensorSpec& s : t)
      if (s.name == n) return &s;
    return nullptr;
  };
  ASSERT_NE(find("lm_head"), nullptr);
  EXPECT_EQ(find("layers.1.attn.wk")->shape, (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(find("layers.0.conba.in_proj")->shape, (std::vector<int64_t>{128, 32}));
  EXPECT_EQ(find("layers.1.moe.w_down")->shape, (std::vector<int64_t>{4, 32, 32}));
  EXPECT_TRUE(find("layers.0.conba.in_proj")->q8_allowed);
  EXPECT_FALSE(find("layers.0.conba.a_log")->q8_allowed);
  EXPECT_FALSE(find("layers.1.moe.router")->q8_allowed);  // not a large matrix
  ASSERT_NE(find("layers.0.conba.gain_init"), nullptr);
  c.tie_embeddings = true;
  c.conba.features = {false, false, false};
  t = expected_tensors(c);
  EXPECT_EQ(find("lm_head"), nullptr);
  EXPECT_EQ(find("layers.0.conba.scale_proj"), nullptr);
  EXPECT_EQ(find("layers.0.conba.delay_logit"), nullptr);
  EXPECT_EQ(find("layers.0.conba.w_ref"), nullptr);
  EXPECT_NE(find("layers.0.conba.a_log"), nullptr);
  EXPECT_EQ(c.conba_ring(), 1);
}

TEST(Config, SizesAtLeastOne) {
  for (const char* k : {"vocab_size", "d_model", "n_layers", "max_context"})
    expect_reject([&](json& j) { j[k] = 0; }, std::string("config.") + k);
  expect_reject([](json& j) { j["attention"]["n_heads"] = 0; }, "config.attention.n_heads");
  expect_reject([](json& j) { j["attention"]["n_kv_heads"] = 0; }, "config.attention.n_kv_heads");
  expect_reject([](json& j) { j["attention"]["head_dim"] = -1; }, "config.attention.head_dim");
  for (const char* k : {"d_inner", "d_state", "d_conv", "sel_rank", "delay"})
    expect_reject([&](json& j) { j["conba"][k] = 0; }, std::string("config.conba.") + k);
  expect_reject([](json& j) { j["mlp"]["d_ff"] = 0; }, "config.mlp.d_ff");
  for (const char* k : {"n_experts", "top_k", "d_ff"})
    expect_reject([&](json& j) { j["moe"][k] = 0; }, std::string("config.moe.") + k);
}

TEST(Config, UpperLimits) {
  json j = valid();
  j["d_model"] = 65536;
  j["conba"]["d_inner"] = 65536;
  j["mlp"]["d_ff"] = 65536;
  j["vocab_size"] = 16777216;
  j["max_context"] = 16777216;
  j["n_layers"] = 4;
  EXPECT_NO_THROW(parse_config(j, "x"));
  expect_reject([](json& j) { j["d_model"] = 65537; }, "config.d_model");
  expect_reject([](json& j) { j["conba"]["d_inner"] = 65537; }, "config.conba.d_inner");
  expect_reject([](json& j) { j["mlp"]["d_ff"] = 65537; }, "config.mlp.d_ff");
  expect_reject([](json& j) { j["moe"]["d_ff"] = 65537; }, "config.moe.d_ff");
  expect_reject([](json& j) { j["vocab_size"] = 16777217; }, "config.vocab_size");
  expect_reject([](json& j) { j["max_context"] = 16777217; }, "config.max_context");
  expect_reject([](json& j) { j["moe"]["n_experts"] = 1025; }, "config.moe.n_experts");
  expect_reject(
      [](json& j) {
        j["n_layers"] = 1025;
        j["layer_types"] = json::array();
        j["ffn_types"] = json::array();
        for (int i = 0; i < 1025; ++i) j["layer_types"].push_back("conba"), j["ffn_types"].push_back("mlp");
      },
      "config.n_layers");
  expect_reject([](json& j) { j["d_model"] = uint64_t(1) << 63; }, "config.d_model");
}

TEST(Config, RelationsBetweenFields) {
  expect_reject([](json& j) { j["moe"]["top_k"] = 5; }, "config.moe.top_k");
  expect_reject([](json& j) { j["attention"]["n_kv_heads"] = 3; }, "is not a multiple of attention.n_kv_heads");
  expect_reject([](json& j) { j["attention"]["n_kv_heads"] = 8; }, "is not a multiple of attention.n_kv_heads");
  expect_reject([](json& j) { j["layer_types"].push_back("conba"); }, "config.layer_types");
  expect_reject([](json& j) { j["ffn_types"].erase(0); }, "config.ffn_types");
  expect_reject(
      [](json& j) {
        j["attention"]["rope_theta"] = 10000.0;
        j["attention"]["head_dim"] = 7;
      },
      "config.attention.head_dim");
  json ok = valid();
  ok["attention"]["rope_theta"] = 10000.0;
  EXPECT_NO_THROW(parse_config(ok, "x"));
  expect_reject([](json& j) { j["attention"]["rope_theta"] = -1.0; }, "config.attention.rope_theta");
  expect_reject([](json& j) { j["norm_eps"] = 0.0; }, "config.norm_eps");
  // Every other size has the same 65536 bound (as the Python reader), which
  // keeps every size product far below 2^63.
  for (const char* k : {"n_heads", "n_kv_heads", "head_dim"})
    expect_reject([&](json& j) { j["attention"][k] = 65537; }, std::string("config.attention.") + k);
  for (const char* k : {"d_state", "d_conv", "sel_rank", "delay"})
    expect_reject([&](json& j) { j["conba"][k] = 65537; }, std::string("config.conba.") + k);
  expect_reject([](json& j) { j["conba"]["delay"] = int64_t(1) << 60; }, "config.conba.delay");
}

TEST(Config, TypesAndValues) {
  expect_reject([](json& j) { j["arch"] = "llama"; }, "config.arch");
  expect_reject([](json& j) { j["d_model"] = 32.0; }, "config.d_model");
  expect_reject([](json& j) { j["d_model"] = "32"; }, "config.d_model");
  expect_reject([](json& j) { j["tie_embeddings"] = 0; }, "config.tie_embeddings");
  expect_reject([](json& j) { j["norm_eps"] = "small"; }, "config.norm_eps");
  expect_reject([](json& j) { j["layer_types"][0] = "mamba"; }, "config.layer_types[0]");
  expect_reject([](json& j) { j["ffn_types"][3] = "dense"; }, "config.ffn_types[3]");
  expect_reject([](json& j) { j["layer_types"] = "conba"; }, "config.layer_types");
  expect_reject([](json& j) { j["moe"]["router"] = "sinkhorn"; }, "config.moe.router");
  expect_reject([](json& j) { j.erase("vocab_size"); }, "config.vocab_size");
  expect_reject([](json& j) { j["conba"]["features"].erase("delay"); }, "config.conba.features.delay");
}

TEST(Config, UnknownKeysAndFeatures) {
  expect_reject([](json& j) { j["sliding_window"] = 4; }, "unknown config key 'sliding_window'");
  expect_reject([](json& j) { j["conba"]["bias"] = true; }, "unknown config key 'bias'");
  expect_reject([](json& j) { j["attention"]["qk_norm"] = true; }, "unknown config key");
  expect_reject([](json& j) { j["conba"]["features"]["noise"] = true; }, "unknown conba feature 'noise'");
}

TEST(Config, SectionsFollowTheLayers) {
  expect_reject([](json& j) { j.erase("attention"); }, "config.attention");
  expect_reject([](json& j) { j.erase("conba"); }, "config.conba");
  expect_reject([](json& j) { j.erase("mlp"); }, "config.mlp");
  expect_reject([](json& j) { j.erase("moe"); }, "config.moe");
  // With no MoE layer, the moe section may go; if present it is still checked.
  json j = valid();
  j["ffn_types"] = {"mlp", "mlp", "mlp", "mlp"};
  EXPECT_NO_THROW(parse_config(j, "x"));
  const ModelConfig c = parse_config(j, "x");
  EXPECT_EQ(c.moe.n_experts, 4);
  EXPECT_FALSE(config_to_json(c).contains("moe"));
  j["moe"]["top_k"] = 9;
  EXPECT_THROW(parse_config(j, "x"), Error);
  j.erase("moe");
  EXPECT_NO_THROW(parse_config(j, "x"));
  EXPECT_THROW(parse_config(json::array(), "x"), Error);
}
