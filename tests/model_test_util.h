// Shared by the engine tests: random models of every MODEL.md variant, built
// in memory, and a plain float64 reference of MODEL.md to check them against.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/format/config.h"
#include "core/format/dtype.h"
#include "core/format/model_file.h"
#include "core/format/model_writer.h"
#include "core/model/model.h"
#include "core/session/session.h"

namespace mixcon {
namespace testutil {

// A variant of the tiny-random preset.
struct Variant {
  std::string name;
  DType dtype = DType::F32;
  bool scaling = true, delay = true, control = true;
  double rope_theta = 0.0;
  bool tied = false;
  int64_t delay_len = 2;
  // Shape edge cases (0 = the preset's).
  int64_t d_conv = 0, n_kv_heads = 0, top_k = 0, head_dim = 0;
};

inline std::vector<Variant> all_variants() {
  std::vector<Variant> v;
  v.push_back({"f32", DType::F32});
  v.push_back({"f16", DType::F16});
  v.push_back({"bf16", DType::BF16});
  v.push_back({"q8_0", DType::Q8_0});
  Variant off{"features_off", DType::F32, false, false, false};
  v.push_back(off);
  Variant no_scaling{"no_scaling", DType::F32, false, true, true};
  v.push_back(no_scaling);
  Variant no_delay{"no_delay", DType::F32, true, false, true};
  v.push_back(no_delay);
  Variant no_control{"no_control", DType::F32, true, true, false};
  v.push_back(no_control);
  Variant rope{"rope", DType::F32};
  rope.rope_theta = 10000.0;
  v.push_back(rope);
  Variant tied{"tied", DType::F16};
  tied.tied = true;
  v.push_back(tied);
  Variant delay3{"delay3", DType::F32};
  delay3.delay_len = 3;
  v.push_back(delay3);
  // K = 1 (no conv window), multi-head attention (no grouping), every
  // expert chosen, RoPE with bf16 weights.
  Variant edges{"edges", DType::BF16};
  edges.d_conv = 1;
  edges.n_kv_heads = 4;
  edges.top_k = 4;
  edges.rope_theta = 500.0;
  v.push_back(edges);
  return v;
}

inline ModelConfig variant_config(const Variant& v, int64_t max_context = 256) {
  ModelConfig c = preset_config("tiny-random");
  c.max_context = max_context;
  c.conba.features.scaling = v.scaling;
  c.conba.features.delay = v.delay;
  c.conba.features.control = v.control;
  c.conba.delay = v.delay_len;
  c.attention.rope_theta = v.rope_theta;
  c.tie_embeddings = v.tied;
  if (v.d_conv) c.conba.d_conv = v.d_conv;
  if (v.n_kv_heads) c.attention.n_kv_heads = v.n_kv_heads;
  if (v.top_k) c.moe.top_k = v.top_k;
  if (v.head_dim) c.attention.head_dim = v.head_dim;
  return c;
}

inline std::vector<uint8_t> model_bytes(const ModelConfig& c, DType dtype, uint64_t seed) {
  return write_model(random_model(c, dtype, seed));
}

inline std::shared_ptr<const Model> load_model(const std::vector<uint8_t>& bytes,
                                               int n_threads = 1) {
  ModelOptions o;
  o.n_threads = n_threads;
  return Model::create(ModelFile::from_memory(bytes.data(), int64_t(bytes.size()), ReadOptions{}),
                       o);
}

inline std::shared_ptr<const Model> make_model(const Variant& v, uint64_t seed = 1,
                                               int n_threads = 1, int64_t max_context = 256) {
  return load_model(model_bytes(variant_config(v, max_context), v.dtype, seed), n_threads);
}

inline std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& x : t) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(vocab));
  }
  return t;
}

inline std::vector<uint8_t> state_of(const Session& s) {
  std::vector<uint8_t> b(static_cast<size_t>(s.state_size()));
  s.save_state(b.data(), int64_t(b.size()));
  return b;
}

inline double max_abs(const float* p, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(p[i])));
  return m;
}
inline double max_abs_diff(const float* a, const float* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

// ---- float64 reference of MODEL.md, one token at a time -----------------------
class Reference {
 public:
  explicit Reference(const ModelFile& f) : f_(f), c_(f.config()) {
    for (const TensorData& t : f.tensors()) {
      std::vector<float> tmp(static_cast<size_t>(t.numel()));
      dequantize_row(t.dtype, t.data, tmp.data(), t.numel());
      w_[t.name] = std::vector<double>(tmp.begin(), tmp.end());
    }
    layers_.resize(size_t(c_.n_layers));
    for (int64_t l = 0; l < c_.n_layers; ++l)
      if (c_.layer_types[l] == LayerType::Conba && c_.conba.features.control)
        layers_[size_t(l)].k = w("layers." + std::to_string(l) + ".conba.gain_init");
  }

  std::vector<double> step(int32_t token) {
    const int64_t dm = c_.d_model;
    const std::vector<double>& E = w("tok_embeddings");
    std::vector<double> x(E.begin() + token * dm, E.begin() + (token + 1) * dm);
    for (int64_t l = 0; l < c_.n_layers; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      std::vector<double> h = rmsnorm(x, w(p + "mixer_norm"));
      std::vector<double> m = c_.layer_types[l] == LayerType::Attention
                                  ? attention(p, h, layers_[size_t(l)])
                                  : conba(p, h, layers_[size_t(l)]);
      for (int64_t i = 0; i < dm; ++i) x[size_t(i)] += m[size_t(i)];
      h = rmsnorm(x, w(p + "ffn_norm"));
      std::vector<double> ff;
      if (c_.ffn_types[l] == FfnType::Mlp) {
        ff = mlp(w(p + "mlp.w_gate"), w(p + "mlp.w_up"), w(p + "mlp.w_down"), 0, c_.mlp.d_ff, h);
      } else {
        ff = moe(p, h);
      }
      for (int64_t i = 0; i < dm; ++i) x[size_t(i)] += ff[size_t(i)];
    }
    std::vector<double> hn = rmsnorm(x, w("output_norm"));
    const std::vector<double>& head = c_.tie_embeddings ? E : w("lm_head");
    ++pos_;
    return matvec(head, 0, c_.vocab_size, dm, hn);
  }

 private:
  struct LayerState {
    std::vector<std::vector<double>> K, V;
    std::deque<std::vector<double>> u_hist;  // last K-1 values of u
    std::deque<std::vector<double>> h_hist;  // h_{t-1}, h_{t-2}, ...
    std::vector<double> k;
  };

  const std::vector<double>& w(const std::string& n) const { return w_.at(n); }

  static double sigmoid(double a) { return 1.0 / (1.0 + std::exp(-a)); }
  static double silu(double a) { return a * sigmoid(a); }
  static double softplus(double a) { return a > 20 ? a : std::log1p(std::exp(a)); }

  std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& g) const {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / double(x.size()) + c_.norm_eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * g[i];
    return y;
  }
  // rows [row0, row0+rows) of a [*, cols] matrix times x.
  static std::vector<double> matvec(const std::vector<double>& W, int64_t row0, int64_t rows,
                                    int64_t cols, const std::vector<double>& x) {
    std::vector<double> y(size_t(rows), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (int64_t j = 0; j < cols; ++j) s += W[size_t((row0 + r) * cols + j)] * x[size_t(j)];
      y[size_t(r)] = s;
    }
    return y;
  }
  std::vector<double> mlp(const std::vector<double>& g, const std::vector<double>& u,
                          const std::vector<double>& d, int64_t e, int64_t d_ff,
                          const std::vector<double>& x) const {
    const int64_t dm = c_.d_model;
    std::vector<double> a = matvec(g, e * d_ff, d_ff, dm, x), b = matvec(u, e * d_ff, d_ff, dm, x);
    for (int64_t i = 0; i < d_ff; ++i) a[size_t(i)] = silu(a[size_t(i)]) * b[size_t(i)];
    return matvec(d, e * dm, dm, d_ff, a);
  }
  std::vector<double> moe(const std::string& p, const std::vector<double>& x) const {
    const int64_t E = c_.moe.n_experts, k = c_.moe.top_k, dm = c_.d_model;
    std::vector<double> r = matvec(w(p + "moe.router"), 0, E, dm, x);
    std::vector<int64_t> idx(static_cast<size_t>(E));
    for (int64_t e = 0; e < E; ++e) idx[size_t(e)] = e;
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return r[size_t(a)] > r[size_t(b)]; });
    double mx = -1e300, sum = 0;
    for (int64_t j = 0; j < k; ++j) mx = std::max(mx, r[size_t(idx[size_t(j)])]);
    for (int64_t j = 0; j < k; ++j) sum += std::exp(r[size_t(idx[size_t(j)])] - mx);
    std::vector<double> y(size_t(dm), 0.0);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t e = idx[size_t(j)];
      const double we = std::exp(r[size_t(e)] - mx) / sum;
      std::vector<double> o = mlp(w(p + "moe.w_gate"), w(p + "moe.w_up"), w(p + "moe.w_down"), e,
                                  c_.moe.d_ff, x);
      for (int64_t i = 0; i < dm; ++i) y[size_t(i)] += we * o[size_t(i)];
    }
    return y;
  }
  void rope(std::vector<double>& v, int64_t heads) const {
    const int64_t hd = c_.attention.head_dim, half = hd / 2;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const double th = double(pos_) * std::pow(c_.attention.rope_theta, -2.0 * double(i) / double(hd));
        double& a = v[size_t(h * hd + i)];
        double& b = v[size_t(h * hd + i + half)];
        const double na = a * std::cos(th) - b * std::sin(th), nb = a * std::sin(th) + b * std::cos(th);
        a = na;
        b = nb;
      }
  }
  std::vector<double> attention(const std::string& p, const std::vector<double>& x, LayerState& st) const {
    const AttentionConfig& a = c_.attention;
    const int64_t dm = c_.d_model, hd = a.head_dim;
    std::vector<double> q = matvec(w(p + "attn.wq"), 0, a.n_heads * hd, dm, x);
    std::vector<double> k = matvec(w(p + "attn.wk"), 0, a.n_kv_heads * hd, dm, x);
    std::vector<double> v = matvec(w(p + "attn.wv"), 0, a.n_kv_heads * hd, dm, x);
    if (a.rope_theta > 0) {
      rope(q, a.n_heads);
      rope(k, a.n_kv_heads);
    }
    st.K.push_back(k);
    st.V.push_back(v);
    std::vector<double> cat(size_t(a.n_heads * hd), 0.0);
    const int64_t group = a.n_heads / a.n_kv_heads;
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t j = h / group;
      std::vector<double> sc(st.K.size());
      double mx = -1e300;
      for (size_t s = 0; s < st.K.size(); ++s) {
        double d = 0;
        for (int64_t i = 0; i < hd; ++i) d += q[size_t(h * hd + i)] * st.K[s][size_t(j * hd + i)];
        sc[s] = d / std::sqrt(double(hd));
        mx = std::max(mx, sc[s]);
      }
      double sum = 0;
      for (double& s : sc) sum += (s = std::exp(s - mx));
      for (size_t s = 0; s < st.K.size(); ++s)
        for (int64_t i = 0; i < hd; ++i)
          cat[size_t(h * hd + i)] += sc[s] / sum * st.V[s][size_t(j * hd + i)];
    }
    return matvec(w(p + "attn.wo"), 0, dm, a.n_heads * hd, cat);
  }
  std::vector<double> conba(const std::string& p, const std::vector<double>& x, LayerState& st) const {
    const ConbaConfig& cc = c_.conba;
    const int64_t D = cc.d_inner, N = cc.d_state, K = cc.d_conv, r = cc.sel_rank, dm = c_.d_model;
    const int64_t tau = cc.features.delay ? cc.delay : 1;
    std::vector<double> uz = matvec(w(p + "conba.in_proj"), 0, 2 * D, dm, x);
    std::vector<double> u(uz.begin(), uz.begin() + D), z(uz.begin() + D, uz.end());
    // (2)
    std::vector<double> ub(static_cast<size_t>(D));
    const std::vector<double>& cw = w(p + "conba.conv_w");
    const std::vector<double>& cb = w(p + "conba.conv_b");
    for (int64_t i = 0; i < D; ++i) {
      double c = cb[size_t(i)];
      for (int64_t j = 0; j < K; ++j) {
        const int64_t back = K - 1 - j;  // u_{t-back}
        double v = 0;
        if (back == 0) v = u[size_t(i)];
        else if (back <= int64_t(st.u_hist.size())) v = st.u_hist[size_t(back - 1)][size_t(i)];
        c += cw[size_t(i * K + j)] * v;
      }
      ub[size_t(i)] = silu(c);
    }
    st.u_hist.push_front(u);
    while (int64_t(st.u_hist.size()) > K - 1) st.u_hist.pop_back();
    // (3)
    std::vector<double> gg = matvec(w(p + "conba.sel_gate"), 0, r, D, ub);
    std::vector<double> gu = matvec(w(p + "conba.sel_up"), 0, r, D, ub);
    for (int64_t i = 0; i < r; ++i) gg[size_t(i)] = silu(gg[size_t(i)]) * gu[size_t(i)];
    // (4)
    std::vector<double> dt = matvec(w(p + "conba.dt_proj"), 0, D, r, gg);
    std::vector<double> B = matvec(w(p + "conba.b_proj"), 0, N, r, gg);
    std::vector<double> C = matvec(w(p + "conba.c_proj"), 0, N, r, gg);
    std::vector<double> s(size_t(D), 1.0);
    if (cc.features.scaling) {
      s = matvec(w(p + "conba.scale_proj"), 0, D, r, gg);
      for (int64_t i = 0; i < D; ++i) s[size_t(i)] = sigmoid(s[size_t(i)] + w(p + "conba.scale_bias")[size_t(i)]);
    }
    for (int64_t i = 0; i < D; ++i) dt[size_t(i)] = softplus(dt[size_t(i)] + w(p + "conba.dt_bias")[size_t(i)]);
    // (5)-(6)
    std::vector<double> zero(size_t(D * N), 0.0);
    const std::vector<double>& h1 = st.h_hist.size() >= 1 ? st.h_hist[0] : zero;
    const std::vector<double>& ht = int64_t(st.h_hist.size()) >= tau ? st.h_hist[size_t(tau - 1)] : zero;
    std::vector<double> h(static_cast<size_t>(D * N));
    std::vector<double> y(size_t(D), 0.0);
    for (int64_t i = 0; i < D; ++i) {
      const double rho = cc.features.delay ? 0.5 * sigmoid(w(p + "conba.delay_logit")[size_t(i)]) : 0.0;
      for (int64_t n = 0; n < N; ++n) {
        const double A = -std::exp(w(p + "conba.a_log")[size_t(i * N + n)]);
        const double Ab = std::exp(dt[size_t(i)] * A);
        const size_t k = size_t(i * N + n);
        h[k] = s[size_t(i)] * Ab * ((1 - rho) * h1[k] + rho * ht[k]) + dt[size_t(i)] * B[size_t(n)] * ub[size_t(i)];
        y[size_t(i)] += C[size_t(n)] * h[k];
      }
      y[size_t(i)] += w(p + "conba.d_skip")[size_t(i)] * ub[size_t(i)];
    }
    st.h_hist.push_front(h);
    while (int64_t(st.h_hist.size()) > tau) st.h_hist.pop_back();
    // (8)
    if (cc.features.control) {
      std::vector<double> e(static_cast<size_t>(D));
      double ss = 0;
      for (int64_t i = 0; i < D; ++i) {
        e[size_t(i)] = w(p + "conba.w_ref")[size_t(i)] * ub[size_t(i)] - y[size_t(i)];
        ss += e[size_t(i)] * e[size_t(i)];
      }
      const double en = std::sqrt(ss) / std::sqrt(double(D));
      for (int64_t i = 0; i < D; ++i) {
        const double lam = sigmoid(w(p + "conba.gain_decay_logit")[size_t(i)]);
        const double eta = softplus(w(p + "conba.gain_rate_raw")[size_t(i)]);
        st.k[size_t(i)] = lam * st.k[size_t(i)] + eta * en;
        y[size_t(i)] += st.k[size_t(i)] * e[size_t(i)];
      }
    }
    // (9)
    for (int64_t i = 0; i < D; ++i) y[size_t(i)] *= silu(z[size_t(i)]);
    return matvec(w(p + "conba.out_proj"), 0, dm, D, y);
  }

  const ModelFile& f_;
  const ModelConfig& c_;
  std::map<std::string, std::vector<double>> w_;
  std::vector<LayerState> layers_;
  int64_t pos_ = 0;
};

}  // namespace testutil
}  // namespace mixcon
