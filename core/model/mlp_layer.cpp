// Dense SwiGLU FFN (MODEL.md §2): W_down (SiLU(W_gate x) ⊙ (W_up x)).
#include "core/model/forward.h"

namespace mixcon {

void mlp_layer(const ForwardStep& s, const MlpWeights& w) {
  const int64_t d_ff = w.w_gate.rows;
  const MatrixRef m[] = {w.w_gate, w.w_up};
  float* const y[] = {s.ws.ff_gate, s.ws.ff_up};
  s.be.matmul_group(s.cx, m, 2, s.ws.xn, s.n, y);
  s.be.swiglu(s.cx, s.ws.ff_gate, s.ws.ff_up, s.ws.ff_act, s.n * d_ff);
  s.be.matmul(s.cx, w.w_down, s.ws.ff_act, s.n, s.ws.out);
}

}  // namespace mixcon
