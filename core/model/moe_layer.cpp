// Mixture of SwiGLU experts (MODEL.md §2): route every token to its top_k
// experts, then run each expert once over the tokens routed to it, so only
// chosen experts are computed. Each token's output is Σ_e w_e·MLP_e(x),
// summed in ascending expert order whatever the chunk size, so a prefill
// equals the same tokens fed one at a time. A single token may instead be
// routed on the device (Backend::moe_token), with the same arithmetic.
#include "core/model/forward.h"

namespace mixcon {

void moe_layer(const ForwardStep& s, const MoeWeights& w) {
  const MoeConfig& m = s.model.config().moe;
  const int64_t dm = s.model.config().d_model;
  const int64_t E = m.n_experts, k = m.top_k, d_ff = m.d_ff;
  const ForwardScratch& ws = s.ws;

  s.be.matmul(s.cx, w.router, ws.xn, s.n, ws.router);
  if (s.n == 1) {
    // One token: routed on the device where the backend can (a decode step
    // captured as a graph cannot stop for the host).
    MoeTokenArgs a;
    a.n_experts = E;
    a.top_k = k;
    a.d_model = dm;
    a.d_ff = d_ff;
    a.router = ws.router;
    a.w_gate = w.w_gate;
    a.w_up = w.w_up;
    a.w_down = w.w_down;
    a.x = ws.xn;
    a.gate = ws.ff_gate;
    a.up = ws.ff_up;
    a.act = ws.ff_act;
    a.y = ws.moe_y;
    a.out = ws.out;
    if (s.be.moe_token(s.cx, a)) return;
  }
  s.be.moe_route(s.cx, ws.router, s.n, E, k, ws.route_ids, ws.route_w);
  s.be.zero(s.cx.stream, ws.out, s.n * dm * static_cast<int64_t>(sizeof(float)));

  for (int64_t e = 0; e < E; ++e) {
    int64_t count = 0;
    for (int64_t t = 0; t < s.n; ++t)
      for (int64_t j = 0; j < k; ++j)
        if (ws.route_ids[t * k + j] == e) {
          ws.expert_rows[count] = static_cast<int32_t>(t);
          ws.expert_w[count] = ws.route_w[t * k + j];
          ++count;
        }
    if (count == 0) continue;
    // All tokens of the chunk chose this expert: read them in place.
    const float* xin = ws.xn;
    if (count != s.n) {
      s.be.gather_rows(s.cx, ws.xn, dm, ws.expert_rows, count, ws.moe_x);
      xin = ws.moe_x;
    }
    const MatrixRef m[] = {w.w_gate.rows_slice(e * d_ff, d_ff), w.w_up.rows_slice(e * d_ff, d_ff)};
    float* const y[] = {ws.ff_gate, ws.ff_up};
    s.be.matmul_group(s.cx, m, 2, xin, count, y);
    s.be.swiglu(s.cx, ws.ff_gate, ws.ff_up, ws.ff_act, count * d_ff);
    s.be.matmul(s.cx, w.w_down.rows_slice(e * dm, dm), ws.ff_act, count, ws.moe_y);
    s.be.scatter_add_rows(s.cx, ws.moe_y, dm, ws.expert_rows, ws.expert_w, count, ws.out);
  }
}

}  // namespace mixcon
