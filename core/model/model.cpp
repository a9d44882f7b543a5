// Loading: every tensor the config needs is found, typed and made usable by
// the backend; nothing is expanded that the kernels can read as stored.
#include "core/model/model.h"

#include <omp.h>

#include <cmath>
#include <map>
#include <string>

#include "core/common/status.h"

namespace mixcon {
namespace {

double identity(double v) { return v; }
double neg_exp(double v) { return -std::exp(v); }                      // A = -exp(A_log)
double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }        // lambda
double half_sigmoid(double v) { return 0.5 / (1.0 + std::exp(-v)); }   // rho
double softplus(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }  // eta

}  // namespace

Model::~Model() {
  for (void* p : owned_) backend_->release(p);
}

const ModelConfig& Model::config() const { return file_->config(); }

std::shared_ptr<const Model> Model::create(std::unique_ptr<ModelFile> file,
                                           const ModelOptions& opts) {
  if (!file) fail(Status::InvalidArgument, "Model::create: no model file");
  if (opts.n_threads < 0)
    fail(Status::InvalidArgument,
         "n_threads: must be >= 0 (0 = all cores), got " + std::to_string(opts.n_threads));
  std::shared_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  m->backend_ = create_backend(opts.device, opts.device_index);
  m->load(opts);
  return m;
}

const TensorData& Model::tensor(const std::string& name) const {
  const TensorData* t = file_->find(name);
  if (!t) fail(Status::Format, file_->label() + ": tensor " + name + ": missing");
  return *t;
}

MatrixRef Model::matrix(const std::string& name) {
  const TensorData& t = tensor(name);
  if (t.shape.size() < 2)
    fail(Status::Format, file_->label() + ": tensor " + name + ": expected a matrix");
  MatrixRef m;
  m.dtype = t.dtype;
  m.cols = t.shape.back();
  m.rows = t.numel() / m.cols;
  m.row_bytes = dtype_row_bytes(t.dtype, m.cols);
  if (m.row_bytes < 0 || m.row_bytes * m.rows != t.nbytes)
    fail(Status::Format, file_->label() + ": tensor " + name + ": payload size does not match " +
                             dtype_name(t.dtype) + " rows");
  m.data = backend_->map_weight(t.data, t.nbytes);
  weights_.max_matrix_cols = std::max(weights_.max_matrix_cols, m.cols);
  return m;
}

const float* Model::upload_f32(const TensorData& t, double (*transform)(double)) {
  const int64_t n = t.numel();
  std::vector<float> host(static_cast<size_t>(n));
  dequantize_row(t.dtype, t.data, host.data(), n);
  for (float& v : host) v = static_cast<float>(transform(static_cast<double>(v)));
  void* p = backend_->alloc(n * static_cast<int64_t>(sizeof(float)));
  owned_.push_back(p);
  backend_->upload(nullptr, p, host.data(), n * static_cast<int64_t>(sizeof(float)));
  weight_bytes_ += n * static_cast<int64_t>(sizeof(float));
  return static_cast<const float*>(p);
}

void Model::load(const ModelOptions& opts) {
  const ModelConfig& c = file_->config();
  n_threads_ = opts.n_threads > 0 ? opts.n_threads : omp_get_num_procs();
  if (n_threads_ < 1) n_threads_ = 1;

  auto vec = [&](const std::string& name, double (*f)(double) = identity) {
    return upload_f32(tensor(name), f);
  };

  weights_.tok_embeddings = matrix("tok_embeddings");
  weights_.output_norm = vec("output_norm");
  weights_.lm_head = c.tie_embeddings ? weights_.tok_embeddings : matrix("lm_head");
  weights_.layers.resize(static_cast<size_t>(c.n_layers));
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    LayerWeights& w = weights_.layers[static_cast<size_t>(l)];
    w.mixer_norm = vec(p + "mixer_norm");
    w.ffn_norm = vec(p + "ffn_norm");
    if (c.layer_types[l] == LayerType::Attention) {
      w.attn.wq = matrix(p + "attn.wq");
      w.attn.wk = matrix(p + "attn.wk");
      w.attn.wv = matrix(p + "attn.wv");
      w.attn.wo = matrix(p + "attn.wo");
    } else {
      const ConbaFeatures& f = c.conba.features;
      ConbaWeights& cb = w.conba;
      cb.in_proj = matrix(p + "conba.in_proj");
      cb.conv_w = vec(p + "conba.conv_w");
      cb.conv_b = vec(p + "conba.conv_b");
      cb.sel_gate = matrix(p + "conba.sel_gate");
      cb.sel_up = matrix(p + "conba.sel_up");
      cb.dt_proj = matrix(p + "conba.dt_proj");
      cb.dt_bias = vec(p + "conba.dt_bias");
      cb.b_proj = matrix(p + "conba.b_proj");
      cb.c_proj = matrix(p + "conba.c_proj");
      if (f.scaling) {
        cb.scale_proj = matrix(p + "conba.scale_proj");
        cb.scale_bias = vec(p + "conba.scale_bias");
      }
      cb.a = vec(p + "conba.a_log", neg_exp);
      cb.d_skip = vec(p + "conba.d_skip");
      if (f.delay) cb.rho = vec(p + "conba.delay_logit", half_sigmoid);
      if (f.control) {
        cb.w_ref = vec(p + "conba.w_ref");
        cb.lambda = vec(p + "conba.gain_decay_logit", sigmoid);
        cb.eta = vec(p + "conba.gain_rate_raw", softplus);
        const TensorData& g = tensor(p + "conba.gain_init");
        cb.gain_init.resize(static_cast<size_t>(g.numel()));
        dequantize_row(g.dtype, g.data, cb.gain_init.data(), g.numel());
        weight_bytes_ += g.numel() * static_cast<int64_t>(sizeof(float));
      }
      cb.out_proj = matrix(p + "conba.out_proj");
    }
    if (c.ffn_types[l] == FfnType::Mlp) {
      w.mlp.w_gate = matrix(p + "mlp.w_gate");
      w.mlp.w_up = matrix(p + "mlp.w_up");
      w.mlp.w_down = matrix(p + "mlp.w_down");
    } else {
      w.moe.router = matrix(p + "moe.router");
      w.moe.w_gate = matrix(p + "moe.w_gate");
      w.moe.w_up = matrix(p + "moe.w_up");
      w.moe.w_down = matrix(p + "moe.w_down");
    }
  }

  // Parameter count and the bytes the matrices occupy as stored; the dtype
  // reported is the one holding most of those bytes.
  std::map<DType, int64_t> bytes_by_dtype;
  for (const TensorData& t : file_->tensors()) {
    n_params_ += t.numel();
    if (t.shape.size() >= 2) {
      bytes_by_dtype[t.dtype] += t.nbytes;
      // Converted tables ([D, K], [D, N]) were counted by upload_f32.
      const bool converted = t.name.find(".conv_w") != std::string::npos ||
                             t.name.find(".a_log") != std::string::npos;
      if (!converted) weight_bytes_ += t.nbytes;
    }
  }
  int64_t best = -1;
  for (const auto& kv : bytes_by_dtype)
    if (kv.second > best) {
      best = kv.second;
      weight_dtype_ = kv.first;
    }
}

}  // namespace mixcon
