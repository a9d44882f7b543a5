// MODEL.md §1, one chunk at a time:
//   x_0 = E[token]
//   a   = x_l + Mixer_l(RMSNorm(x_l; g_mix_l))
//   x_{l+1} = a + FFN_l(RMSNorm(a; g_ffn_l))
//   logits = W_lm · RMSNorm(x_L; g_final)
#include "core/model/forward.h"

#include <algorithm>

#include "core/common/status.h"

namespace mixcon {
namespace {

void check_cancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed))
    fail(Status::Cancelled, "feed cancelled");
}

}  // namespace

void forward_chunk(const Model& model, const ExecContext& cx, const ForwardScratch& ws,
                   LayerState* states, const int32_t* tokens, int64_t n, int64_t pos0,
                   float* last_logits, float* all_logits, const std::atomic<bool>* cancel) {
  const ModelConfig& c = model.config();
  const ModelWeights& W = model.weights();
  const Backend& be = model.backend();
  const int64_t dm = c.d_model, V = c.vocab_size;
  const float eps = static_cast<float>(c.norm_eps);
  const ForwardStep step{model, be, cx, ws, n, pos0};

  auto network = [&] {
    be.embed(cx, W.tok_embeddings, tokens, n, ws.x);
    for (int64_t l = 0; l < c.n_layers; ++l) {
      check_cancel(cancel);
      const LayerWeights& lw = W.layers[static_cast<size_t>(l)];
      be.rmsnorm(cx, ws.x, lw.mixer_norm, n, dm, eps, ws.xn);
      if (c.layer_types[l] == LayerType::Attention)
        attention_layer(step, lw.attn, states[l]);
      else
        conba_layer(step, lw.conba, states[l]);
      be.add(cx, ws.x, ws.out, n * dm);

      be.rmsnorm(cx, ws.x, lw.ffn_norm, n, dm, eps, ws.xn);
      if (c.ffn_types[l] == FfnType::Mlp)
        mlp_layer(step, lw.mlp);
      else
        moe_layer(step, lw.moe);
      be.add(cx, ws.x, ws.out, n * dm);
    }
    check_cancel(cancel);
  };

  // The chunk's states h_t went into the ring slots after the head: the
  // heads move once the network has been enqueued.
  auto advance_ring_heads = [&] {
    const int64_t slots = c.conba_ring() + 1;
    for (int64_t l = 0; l < c.n_layers; ++l)
      if (c.layer_types[l] == LayerType::Conba) states[l].ring_head = (states[l].ring_head + n) % slots;
  };

  const int64_t vbytes = V * static_cast<int64_t>(sizeof(float));
  if (n == 1) {
    // A decode step: the network and the head as one unit (a CUDA graph on
    // the GPU), the logits copied out after it.
    auto decode = [&] {
      network();
      be.rmsnorm(cx, ws.x, W.output_norm, 1, dm, eps, ws.xn);
      be.matmul(cx, W.lm_head, ws.xn, 1, ws.logits);
    };
    be.run_graph(cx, decode);
    advance_ring_heads();
    be.download(cx.stream, last_logits, ws.logits, vbytes);
    if (all_logits) std::copy(last_logits, last_logits + V, all_logits);
    return;
  }
  network();
  advance_ring_heads();
  if (!all_logits) {
    // Only the last token's logits are wanted: one row through the head.
    be.rmsnorm(cx, ws.x + (n - 1) * dm, W.output_norm, 1, dm, eps, ws.xn);
    be.matmul(cx, W.lm_head, ws.xn, 1, ws.logits);
    be.download(cx.stream, last_logits, ws.logits, vbytes);
    return;
  }
  be.rmsnorm(cx, ws.x, W.output_norm, n, dm, eps, ws.xn);
  for (int64_t r0 = 0; r0 < n; r0 += ws.logits_rows) {
    const int64_t rows = std::min(ws.logits_rows, n - r0);
    be.matmul(cx, W.lm_head, ws.xn + r0 * dm, rows, ws.logits);
    be.download(cx.stream, all_logits + r0 * V, ws.logits, rows * vbytes);
    if (r0 + rows == n) be.download(cx.stream, last_logits, ws.logits + (rows - 1) * V, vbytes);
  }
}

}  // namespace mixcon
