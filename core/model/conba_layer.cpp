// Conba mixer (MODEL.md §4): input projection, causal conv, SwiGLU selection
// bottleneck, the projections of g, the fused scan (state, output, control,
// gate), output projection.
#include "core/model/forward.h"

namespace mixcon {

void conba_layer(const ForwardStep& s, const ConbaWeights& w, LayerState& st) {
  const ConbaConfig& c = s.model.config().conba;
  const int64_t D = c.d_inner, r = c.sel_rank;
  const int64_t ring = s.model.config().conba_ring();  // the ring holds ring + 1 slots
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
  {
    const MatrixRef m[] = {w.sel_gate, w.sel_up};
    float* const y[] = {ws.sel_g, ws.sel_u};
    s.be.matmul_group(s.cx, m, 2, ws.ubar, s.n, y);
  }
  s.be.swiglu(s.cx, ws.sel_g, ws.sel_u, ws.g, s.n * r);
  // (4) the projections of g; softplus / sigmoid / biases are fused into the scan
  const bool scaling = w.scale_bias != nullptr;
  {
    const MatrixRef m[] = {w.dt_proj, w.b_proj, w.c_proj, w.scale_proj};
    float* const y[] = {ws.dt, ws.B, ws.C, ws.scale};
    s.be.matmul_group(s.cx, m, scaling ? 4 : 3, ws.g, s.n, y);
  }

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
  // st.ring_head moves in forward_chunk, after the whole chunk: a layer
  // changes no host state, so a decode step may be run again (run_graph).

  // (9) out = W_out (ŷ ⊙ SiLU(z))
  s.be.matmul(s.cx, w.out_proj, ws.y, s.n, ws.out);
}

}  // namespace mixcon
