// Conba mixer (MODEL.md §4): input projection, causal conv, SwiGLU selection
// bottleneck, the projections of g, the fused scan (state, output, control,
// gate), output projection.
#include "core/model/forward.h"

namespace mixcon {

void conba_layer(const ForwardStep& s, const ConbaWeights& w, LayerState& st) {
  const ConbaConfig& c = s.model.config().conba;
  const int64_t D = c.d_inner, r = c.sel_rank;
  const int64_t ring = s.model.config().conba_ring();
  const ForwardScratch& ws = s.ws;

  // (1) [u ; z] = W_in x
  s.be.matmul(s.cx, w.in_proj, ws.xn, s.n, ws.uz);
  // (2) ū = SiLU(causal conv of u)
  CausalConvArgs conv;
  conv.n_tokens = s.n;
  conv.channels = D;
  conv.kernel = c.d_conv;
  conv.x = ws.uz;
  conv.x_stride = 2 * D;
  conv.window = st.conv_window;
  conv.w = w.conv_w;
  conv.b = w.conv_b;
  conv.out = ws.ubar;
  s.be.causal_conv(s.cx, conv);
  // (3) g = SiLU(W_sg ū) ⊙ (W_su ū)
  s.be.matmul(s.cx, w.sel_gate, ws.ubar, s.n, ws.sel_g);
  s.be.matmul(s.cx, w.sel_up, ws.ubar, s.n, ws.sel_u);
  s.be.swiglu(s.cx, ws.sel_g, ws.sel_u, ws.g, s.n * r);
  // (4) the projections of g; softplus / sigmoid / biases are fused into the scan
  s.be.matmul(s.cx, w.dt_proj, ws.g, s.n, ws.dt);
  s.be.matmul(s.cx, w.b_proj, ws.g, s.n, ws.B);
  s.be.matmul(s.cx, w.c_proj, ws.g, s.n, ws.C);
  const bool scaling = w.scale_bias != nullptr;
  if (scaling) s.be.matmul(s.cx, w.scale_proj, ws.g, s.n, ws.scale);

  // (4)-(9): the scan, ŷ ⊙ SiLU(z)
  ConbaScanArgs a;
  a.n_tokens = s.n;
  a.d_inner = D;
  a.d_state = c.d_state;
  a.ring = ring;
  a.u = ws.ubar;
  a.dt_raw = ws.dt;
  a.B = ws.B;
  a.C = ws.C;
  a.scale_raw = scaling ? ws.scale : nullptr;
  a.z = ws.uz + D;
  a.z_stride = 2 * D;
  a.dt_bias = w.dt_bias;
  a.a = w.a;
  a.d_skip = w.d_skip;
  a.scale_bias = w.scale_bias;
  a.rho = w.rho;
  a.w_ref = w.w_ref;
  a.lambda = w.lambda;
  a.eta = w.eta;
  a.h_ring = st.h_ring;
  a.head = st.ring_head;
  a.gain = st.gain;
  a.err = ws.err;
  a.err_norm = ws.err_norm;
  a.out = ws.y;
  s.be.conba_scan(s.cx, a);
  st.ring_head = (st.ring_head + s.n) % (ring + 1);

  // (9) out = W_out (ŷ ⊙ SiLU(z))
  s.be.matmul(s.cx, w.out_proj, ws.y, s.n, ws.out);
}

}  // namespace mixcon
