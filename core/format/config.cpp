// The `config` object. Where FORMAT.md is silent (as tools/mixcon_tools/config.py):
// every key of a used section is required, `conba.features` holds exactly the
// three booleans, integers must be JSON integers (not 64.0, not true),
// norm_eps > 0, rope_theta >= 0, and every per-layer size is <= 65536.
#include "core/format/config.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/common/status.h"
#include "core/format/checked_math.h"
#include "core/format/dtype.h"

namespace mixcon {

namespace {

using json = nlohmann::json;

constexpr int64_t kMaxWidth = 65536;         // d_model, d_inner, d_ff
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxVocab = 16777216;
constexpr int64_t kMaxContext = 16777216;
constexpr int64_t kMaxExperts = 1024;

// Reads one `config` object, naming every failure "<label>: config.<path>: <reason>".
class ConfigReader {
 public:
  explicit ConfigReader(const std::string& label) : label_(label) {}

  [[noreturn]] void bad(const std::string& path, const std::string& reason) const {
    fail(Status::Format, label_ + ": config." + path + ": " + reason);
  }

  // Every key of `obj` must be one of `known`: an unknown key would change the math.
  void only_keys(const json& obj, const std::string& prefix, std::initializer_list<const char*> known) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool ok = false;
      for (const char* k : known) ok = ok || it.key() == k;
      if (!ok) {
        const std::string where = prefix.empty() ? "config." : "config." + prefix + ".";
        fail(Status::Format, label_ + ": " + where + it.key() + ": unknown config key '" + it.key() +
                                 "' (an unknown key would change the math)");
      }
    }
  }

  const json& member(const json& obj, const std::string& prefix, const char* key) const {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    auto it = obj.find(key);
    if (it == obj.end()) bad(path, "missing");
    return *it;
  }

  const json& object(const json& obj, const std::string& prefix, const char* key) const {
    const json& v = member(obj, prefix, key);
    if (!v.is_object()) bad(prefix.empty() ? key : prefix + "." + key, "must be an object");
    return v;
  }

  int64_t integer(const json& obj, const std::string& prefix, const char* key, int64_t lo, int64_t hi) const {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const json& v = member(obj, prefix, key);
    if (!v.is_number_integer()) bad(path, "must be an integer");
    int64_t x;
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > uint64_t(std::numeric_limits<int64_t>::max())) bad(path, "value " + std::to_string(u) + " out of range");
      x = int64_t(u);
    } else {
      x = v.get<int64_t>();
    }
    if (x < lo || x > hi)
      bad(path, "value " + std::to_string(x) + " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return x;
  }

  double number(const json& obj, const std::string& prefix, const char* key) const {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const json& v = member(obj, prefix, key);
    if (!v.is_number()) bad(path, "must be a number");
    const double x = v.get<double>();
    if (!std::isfinite(x)) bad(path, "must be finite");
    return x;
  }

  bool boolean(const json& obj, const std::string& prefix, const char* key) const {
    const json& v = member(obj, prefix, key);
    if (!v.is_boolean()) bad(prefix.empty() ? key : prefix + "." + key, "must be true or false");
    return v.get<bool>();
  }

  std::string string(const json& obj, const std::string& prefix, const char* key) const {
    const json& v = member(obj, prefix, key);
    if (!v.is_string()) bad(prefix.empty() ? key : prefix + "." + key, "must be a string");
    return v.get<std::string>();
  }

 private:
  std::string label_;
};

// FORMAT.md bounds d_model, d_inner and d_ff; the other per-layer sizes get
// the same bound (as the Python reader does), which also keeps every session
// buffer they size far from overflow.
constexpr int64_t kMaxDim = 65536;

void parse_attention(const ConfigReader& r, const json& a, AttentionConfig* out) {
  r.only_keys(a, "attention", {"n_heads", "n_kv_heads", "head_dim", "rope_theta"});
  out->n_heads = r.integer(a, "attention", "n_heads", 1, kMaxDim);
  out->n_kv_heads = r.integer(a, "attention", "n_kv_heads", 1, kMaxDim);
  out->head_dim = r.integer(a, "attention", "head_dim", 1, kMaxDim);
  // Divisibility also gives n_kv_heads <= n_heads.
  if (out->n_heads % out->n_kv_heads != 0)
    r.bad("attention.n_heads", std::to_string(out->n_heads) + " is not a multiple of attention.n_kv_heads " +
                                   std::to_string(out->n_kv_heads));
  out->rope_theta = r.number(a, "attention", "rope_theta");
  if (out->rope_theta < 0) r.bad("attention.rope_theta", "must be >= 0");
  // RoPE rotates pairs (v_i, v_{i+head_dim/2}): an odd head_dim has no partner for one lane.
  if (out->rope_theta > 0 && out->head_dim % 2 != 0) r.bad("attention.head_dim", "must be even when rope_theta > 0");
  if (!checked_mul(out->n_heads, out->head_dim, nullptr))
    r.bad("attention.head_dim", "n_heads * head_dim overflows 64 bits");
}

void parse_conba(const ConfigReader& r, const json& c, ConbaConfig* out) {
  r.only_keys(c, "conba", {"d_inner", "d_state", "d_conv", "sel_rank", "delay", "features"});
  out->d_inner = r.integer(c, "conba", "d_inner", 1, kMaxWidth);
  out->d_state = r.integer(c, "conba", "d_state", 1, kMaxDim);
  out->d_conv = r.integer(c, "conba", "d_conv", 1, kMaxDim);
  out->sel_rank = r.integer(c, "conba", "sel_rank", 1, kMaxDim);
  out->delay = r.integer(c, "conba", "delay", 1, kMaxDim);
  const json& f = r.object(c, "conba", "features");
  for (auto it = f.begin(); it != f.end(); ++it) {
    if (it.key() != "scaling" && it.key() != "delay" && it.key() != "control")
      r.bad("conba.features." + it.key(),
            "unknown conba feature '" + it.key() + "' (an unknown feature would change the math)");
  }
  out->features.scaling = r.boolean(f, "conba.features", "scaling");
  out->features.delay = r.boolean(f, "conba.features", "delay");
  out->features.control = r.boolean(f, "conba.features", "control");
  // The session keeps tau states of D*N floats per layer; the product must be representable.
  int64_t ring = 0;
  if (!checked_mul(out->delay, out->d_inner, &ring) || !checked_mul(ring, out->d_state, &ring) ||
      !checked_mul(ring, 4, nullptr))
    r.bad("conba.delay", "delay * d_inner * d_state overflows 64 bits");
}

void parse_moe(const ConfigReader& r, const json& m, MoeConfig* out) {
  r.only_keys(m, "moe", {"n_experts", "top_k", "d_ff", "router"});
  out->n_experts = r.integer(m, "moe", "n_experts", 1, kMaxExperts);
  out->top_k = r.integer(m, "moe", "top_k", 1, out->n_experts);
  out->d_ff = r.integer(m, "moe", "d_ff", 1, kMaxWidth);
  out->router = r.string(m, "moe", "router");
  if (out->router != "topk_softmax") r.bad("moe.router", "unknown router '" + out->router + "'");
}

const char* layer_name(LayerType t) { return t == LayerType::Attention ? "attention" : "conba"; }
const char* ffn_name(FfnType t) { return t == FfnType::Mlp ? "mlp" : "moe"; }

}  // namespace

int64_t ModelConfig::count_layers(LayerType t) const {
  int64_t n = 0;
  for (LayerType x : layer_types) n += x == t;
  return n;
}

int64_t ModelConfig::count_ffn(FfnType t) const {
  int64_t n = 0;
  for (FfnType x : ffn_types) n += x == t;
  return n;
}

int64_t ModelConfig::conba_ring() const { return conba.features.delay ? conba.delay : 1; }

ModelConfig parse_config(const json& j, const std::string& label) {
  ConfigReader r(label);
  if (!j.is_object()) fail(Status::Format, label + ": config: must be an object");
  r.only_keys(j, "", {"arch", "vocab_size", "d_model", "n_layers", "norm_eps", "tie_embeddings", "max_context",
                      "layer_types", "ffn_types", "attention", "conba", "mlp", "moe"});
  ModelConfig c;
  c.arch = r.string(j, "", "arch");
  if (c.arch != "mixcon") r.bad("arch", "unknown architecture '" + c.arch + "' (expected 'mixcon')");
  c.vocab_size = r.integer(j, "", "vocab_size", 1, kMaxVocab);
  c.d_model = r.integer(j, "", "d_model", 1, kMaxWidth);
  c.n_layers = r.integer(j, "", "n_layers", 1, kMaxLayers);
  c.norm_eps = r.number(j, "", "norm_eps");
  // norm_eps is not a size, but 0 would divide by zero on an all-zero row.
  if (!(c.norm_eps > 0)) r.bad("norm_eps", "must be > 0");
  c.tie_embeddings = r.boolean(j, "", "tie_embeddings");
  c.max_context = r.integer(j, "", "max_context", 1, kMaxContext);

  const json& lt = r.member(j, "", "layer_types");
  if (!lt.is_array()) r.bad("layer_types", "must be an array");
  if (int64_t(lt.size()) != c.n_layers)
    r.bad("layer_types", "has " + std::to_string(lt.size()) + " entries, n_layers is " + std::to_string(c.n_layers));
  for (size_t i = 0; i < lt.size(); ++i) {
    const std::string path = "layer_types[" + std::to_string(i) + "]";
    if (!lt[i].is_string()) r.bad(path, "must be a string");
    const std::string s = lt[i].get<std::string>();
    if (s == "attention") c.layer_types.push_back(LayerType::Attention);
    else if (s == "conba") c.layer_types.push_back(LayerType::Conba);
    else r.bad(path, "unknown layer type '" + s + "'");
  }
  const json& ft = r.member(j, "", "ffn_types");
  if (!ft.is_array()) r.bad("ffn_types", "must be an array");
  if (int64_t(ft.size()) != c.n_layers)
    r.bad("ffn_types", "has " + std::to_string(ft.size()) + " entries, n_layers is " + std::to_string(c.n_layers));
  for (size_t i = 0; i < ft.size(); ++i) {
    const std::string path = "ffn_types[" + std::to_string(i) + "]";
    if (!ft[i].is_string()) r.bad(path, "must be a string");
    const std::string s = ft[i].get<std::string>();
    if (s == "mlp") c.ffn_types.push_back(FfnType::Mlp);
    else if (s == "moe") c.ffn_types.push_back(FfnType::Moe);
    else r.bad(path, "unknown ffn type '" + s + "'");
  }

  // A section is required when a layer uses it; one that no layer uses is
  // still validated (a reader must not accept nonsense it merely ignores).
  const bool need_attn = c.count_layers(LayerType::Attention) > 0;
  const bool need_conba = c.count_layers(LayerType::Conba) > 0;
  const bool need_mlp = c.count_ffn(FfnType::Mlp) > 0;
  const bool need_moe = c.count_ffn(FfnType::Moe) > 0;
  if (need_attn || j.contains("attention")) parse_attention(r, r.object(j, "", "attention"), &c.attention);
  if (need_conba || j.contains("conba")) parse_conba(r, r.object(j, "", "conba"), &c.conba);
  if (need_mlp || j.contains("mlp")) {
    const json& m = r.object(j, "", "mlp");
    r.only_keys(m, "mlp", {"d_ff"});
    c.mlp.d_ff = r.integer(m, "mlp", "d_ff", 1, kMaxWidth);
  }
  if (need_moe || j.contains("moe")) parse_moe(r, r.object(j, "", "moe"), &c.moe);

  // Every tensor's element count and byte size must fit in 64 bits.
  for (const TensorSpec& t : expected_tensors(c)) {
    int64_t n = 1;
    for (int64_t d : t.shape) {
      if (!checked_mul(n, d, &n)) r.bad("d_model", "the size of tensor '" + t.name + "' overflows 64 bits");
    }
    if (!checked_mul(n, 4, nullptr)) r.bad("d_model", "the size of tensor '" + t.name + "' overflows 64 bits");
  }
  return c;
}

json config_to_json(const ModelConfig& c) {
  json j = json::object();
  j["arch"] = c.arch;
  j["vocab_size"] = c.vocab_size;
  j["d_model"] = c.d_model;
  j["n_layers"] = c.n_layers;
  j["norm_eps"] = c.norm_eps;
  j["tie_embeddings"] = c.tie_embeddings;
  j["max_context"] = c.max_context;
  json lt = json::array(), ft = json::array();
  for (LayerType t : c.layer_types) lt.push_back(layer_name(t));
  for (FfnType t : c.ffn_types) ft.push_back(ffn_name(t));
  j["layer_types"] = lt;
  j["ffn_types"] = ft;
  if (c.count_layers(LayerType::Attention) > 0) {
    j["attention"] = {{"n_heads", c.attention.n_heads},
                      {"n_kv_heads", c.attention.n_kv_heads},
                      {"head_dim", c.attention.head_dim},
                      {"rope_theta", c.attention.rope_theta}};
  }
  if (c.count_layers(LayerType::Conba) > 0) {
    j["conba"] = {{"d_inner", c.conba.d_inner},
                  {"d_state", c.conba.d_state},
                  {"d_conv", c.conba.d_conv},
                  {"sel_rank", c.conba.sel_rank},
                  {"delay", c.conba.delay},
                  {"features",
                   {{"scaling", c.conba.features.scaling},
                    {"delay", c.conba.features.delay},
                    {"control", c.conba.features.control}}}};
  }
  if (c.count_ffn(FfnType::Mlp) > 0) j["mlp"] = {{"d_ff", c.mlp.d_ff}};
  if (c.count_ffn(FfnType::Moe) > 0) {
    j["moe"] = {{"n_experts", c.moe.n_experts},
                {"top_k", c.moe.top_k},
                {"d_ff", c.moe.d_ff},
                {"router", c.moe.router}};
  }
  return j;
}

bool is_large_matrix(const std::string& name) {
  auto ends_with = [&](const char* s) {
    const std::string suf(s);
    return name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (name == "tok_embeddings" || name == "lm_head") return true;
  for (const char* s : {".attn.wq", ".attn.wk", ".attn.wv", ".attn.wo", ".conba.in_proj", ".conba.out_proj",
                        ".mlp.w_gate", ".mlp.w_up", ".mlp.w_down", ".moe.w_gate", ".moe.w_up", ".moe.w_down"}) {
    if (ends_with(s)) return true;
  }
  return false;
}

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  std::vector<TensorSpec> out;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    const bool q8 = is_large_matrix(name) && shape.back() % kQ8BlockValues == 0;
    out.push_back(TensorSpec{std::move(name), std::move(shape), q8});
  };
  const int64_t dm = c.d_model;
  add("tok_embeddings", {c.vocab_size, dm});
  add("output_norm", {dm});
  if (!c.tie_embeddings) add("lm_head", {c.vocab_size, dm});
  const int64_t n_layers = std::min<int64_t>(c.n_layers, int64_t(std::min(c.layer_types.size(), c.ffn_types.size())));
  for (int64_t l = 0; l < n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    add(p + "mixer_norm", {dm});
    add(p + "ffn_norm", {dm});
    if (c.layer_types[size_t(l)] == LayerType::Attention) {
      const auto& a = c.attention;
      add(p + "attn.wq", {a.n_heads * a.head_dim, dm});
      add(p + "attn.wk", {a.n_kv_heads * a.head_dim, dm});
      add(p + "attn.wv", {a.n_kv_heads * a.head_dim, dm});
      add(p + "attn.wo", {dm, a.n_heads * a.head_dim});
    } else {
      const auto& k = c.conba;
      const int64_t D = k.d_inner, N = k.d_state, K = k.d_conv, r = k.sel_rank;
      add(p + "conba.in_proj", {2 * D, dm});
      add(p + "conba.conv_w", {D, K});
      add(p + "conba.conv_b", {D});
      add(p + "conba.sel_gate", {r, D});
      add(p + "conba.sel_up", {r, D});
      add(p + "conba.dt_proj", {D, r});
      add(p + "conba.dt_bias", {D});
      add(p + "conba.b_proj", {N, r});
      add(p + "conba.c_proj", {N, r});
      if (k.features.scaling) {
        add(p + "conba.scale_proj", {D, r});
        add(p + "conba.scale_bias", {D});
      }
      add(p + "conba.a_log", {D, N});
      add(p + "conba.d_skip", {D});
      if (k.features.delay) add(p + "conba.delay_logit", {D});
      if (k.features.control) {
        add(p + "conba.w_ref", {D});
        add(p + "conba.gain_init", {D});
        add(p + "conba.gain_decay_logit", {D});
        add(p + "conba.gain_rate_raw", {D});
      }
      add(p + "conba.out_proj", {dm, D});
    }
    if (c.ffn_types[size_t(l)] == FfnType::Mlp) {
      const int64_t f = c.mlp.d_ff;
      add(p + "mlp.w_gate", {f, dm});
      add(p + "mlp.w_up", {f, dm});
      add(p + "mlp.w_down", {dm, f});
    } else {
      const int64_t E = c.moe.n_experts, f = c.moe.d_ff;
      add(p + "moe.router", {E, dm});
      add(p + "moe.w_gate", {E, f, dm});
      add(p + "moe.w_up", {E, f, dm});
      add(p + "moe.w_down", {E, dm, f});
    }
  }
  std::sort(out.begin(), out.end(), [](const TensorSpec& a, const TensorSpec& b) { return a.name < b.name; });
  return out;
}

}  // namespace mixcon
