// Attention mixer (MODEL.md §3): project, rotate (when rope_theta > 0),
// store k and v into the (head-major) cache at the chunk's positions, attend
// causally over the cache, project out.
//
// A narrower cache (f16/bf16) is written once, rounded from the f32 keys and
// values, and the chunk's own queries read the rounded rows like every later
// token does — so a prompt fed at once and fed token by token still agree.
#include "core/model/forward.h"

namespace mixcon {

void attention_layer(const ForwardStep& s, const AttentionWeights& w, LayerState& st) {
  const AttentionConfig& a = s.model.config().attention;
  const int64_t q_dim = a.n_heads * a.head_dim;
  const int64_t kv_dim = a.n_kv_heads * a.head_dim;

  {
    const MatrixRef m[] = {w.wq, w.wk, w.wv};
    float* const y[] = {s.ws.q, s.ws.k, s.ws.v};
    s.be.matmul_group(s.cx, m, 3, s.ws.xn, s.n, y);
  }
  if (a.rope_theta > 0.0) {
    s.be.rope(s.cx, s.ws.q, s.n, q_dim, a.n_heads, a.head_dim, s.pos0, a.rope_theta);
    s.be.rope(s.cx, s.ws.k, s.n, kv_dim, a.n_kv_heads, a.head_dim, s.pos0, a.rope_theta);
  }
  s.be.store_kv(s.cx, s.ws.k, s.n, a.n_kv_heads, a.head_dim, s.pos0, st.kv_head_stride,
                st.kv_dtype, st.k_cache);
  s.be.store_kv(s.cx, s.ws.v, s.n, a.n_kv_heads, a.head_dim, s.pos0, st.kv_head_stride,
                st.kv_dtype, st.v_cache);

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
  args.kv_stride = a.head_dim;
  args.kv_head_stride = st.kv_head_stride;
  args.kv_dtype = st.kv_dtype;
  args.out = s.ws.att;
  args.out_stride = q_dim;
  s.be.attention(s.cx, args);

  s.be.matmul(s.cx, w.wo, s.ws.att, s.n, s.ws.out);
}

}  // namespace mixcon
