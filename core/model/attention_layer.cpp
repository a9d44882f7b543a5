// Attention mixer (MODEL.md §3): project, rotate (when rope_theta > 0),
// append k and v to the cache at the chunk's positions, attend causally over
// the cache, project out.
#include "core/model/forward.h"

namespace mixcon {

void attention_layer(const ForwardStep& s, const AttentionWeights& w, LayerState& st) {
  const AttentionConfig& a = s.model.config().attention;
  const int64_t q_dim = a.n_heads * a.head_dim;
  const int64_t kv_dim = a.n_kv_heads * a.head_dim;
  float* k_rows = st.k_cache + s.pos0 * kv_dim;
  float* v_rows = st.v_cache + s.pos0 * kv_dim;

  s.be.matmul(s.cx, w.wq, s.ws.xn, s.n, s.ws.q);
  // The cache rows of this chunk are contiguous: k and v land there directly.
  s.be.matmul(s.cx, w.wk, s.ws.xn, s.n, k_rows);
  s.be.matmul(s.cx, w.wv, s.ws.xn, s.n, v_rows);
  if (a.rope_theta > 0.0) {
    s.be.rope(s.cx, s.ws.q, s.n, q_dim, a.n_heads, a.head_dim, s.pos0, a.rope_theta);
    s.be.rope(s.cx, k_rows, s.n, kv_dim, a.n_kv_heads, a.head_dim, s.pos0, a.rope_theta);
  }

  AttentionArgs args;
  args.n_tokens = s.n;
  args.pos0 = s.pos0;
  args.n_heads = a.n_heads;
  args.n_kv_heads = a.n_kv_heads;
  args.head_dim = a.head_dim;
  args.q = s.ws.q;
  args.q_stride = q_dim;
  args.k_cache = st.k_cache;
  args.v_cache = st.v_cache;
  args.kv_stride = kv_dim;
  args.out = s.ws.att;
  args.out_stride = q_dim;
  s.be.attention(s.cx, args);

  s.be.matmul(s.cx, w.wo, s.ws.att, s.n, s.ws.out);
}

}  // namespace mixcon
