// Model entry points: options, load, info, metadata.
#include <cstring>
#include <nlohmann/json.hpp>

#include "errors.h"
#include "handles.h"
#include "log.h"
#include "struct_size.h"

using mixcon::capi::guard;
using mixcon::capi::require;

namespace {

mixcon_model_options default_model_options() {
  mixcon_model_options o;
  std::memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.device = MIXCON_DEVICE_CPU;
  o.device_index = 0;
  o.n_threads = 0;
  o.verify_checksums = 1;
  o.use_mmap = 1;
  o.progress = nullptr;
  o.progress_user = nullptr;
  return o;
}

// The caller's options over the defaults, field by field as struct_size allows.
mixcon_model_options read_model_options(const mixcon_model_options* in) {
  mixcon_model_options o = default_model_options();
  if (!in) return o;
  using T = mixcon_model_options;
  mixcon::capi::check_struct_size(in, offsetof(T, device) + sizeof(int32_t), "mixcon_model_options");
  if (MIXCON_COVERS(in, T, device)) o.device = in->device;
  if (MIXCON_COVERS(in, T, device_index)) o.device_index = in->device_index;
  if (MIXCON_COVERS(in, T, n_threads)) o.n_threads = in->n_threads;
  if (MIXCON_COVERS(in, T, verify_checksums)) o.verify_checksums = in->verify_checksums;
  if (MIXCON_COVERS(in, T, use_mmap)) o.use_mmap = in->use_mmap;
  if (MIXCON_COVERS(in, T, progress)) o.progress = in->progress;
  if (MIXCON_COVERS(in, T, progress_user)) o.progress_user = in->progress_user;
  require(o.device == MIXCON_DEVICE_CPU || o.device == MIXCON_DEVICE_CUDA ||
              o.device == MIXCON_DEVICE_AUTO,
          "mixcon_model_options.device must be MIXCON_DEVICE_CPU, _CUDA or _AUTO");
  require(o.device_index >= 0, "mixcon_model_options.device_index must be >= 0");
  require(o.n_threads >= 0, "mixcon_model_options.n_threads must be >= 0 (0 = all cores)");
  return o;
}

mixcon::ReadOptions read_options(const mixcon_model_options& o) {
  mixcon::ReadOptions r;
  r.verify_checksums = o.verify_checksums != 0;
  r.use_mmap = o.use_mmap != 0;
  if (o.progress) {
    const mixcon_progress_callback cb = o.progress;
    void* user = o.progress_user;
    r.progress = [cb, user](double fraction) { return cb(static_cast<float>(fraction), user) == 0; };
  }
  return r;
}

mixcon_model* make_model(std::unique_ptr<mixcon::ModelFile> file, const mixcon_model_options& o) {
  auto handle = std::make_unique<mixcon_model>();
  const mixcon::TokenizerSpec& spec = file->tokenizer();
  if (spec.kind == "sentencepiece") {
    const std::vector<uint8_t>* blob = file->blob(spec.blob);
    if (!blob)
      mixcon::fail(mixcon::Status::Format,
                   file->label() + ": tokenizer.blob '" + spec.blob + "' is not in the file");
    handle->tokenizer = std::make_shared<const mixcon::Tokenizer>(
        blob->data(), static_cast<int64_t>(blob->size()), spec, file->config().vocab_size,
        file->label());
  }
  handle->config_json = mixcon::config_to_json(file->config()).dump();
  // Re-dumped so the text is compact whatever spacing the file used.
  handle->metadata_json = nlohmann::json::parse(file->metadata_json()).dump();

  mixcon::ModelOptions mo;
  mo.device_index = o.device_index;
  mo.n_threads = o.n_threads;
  if (o.device == MIXCON_DEVICE_CUDA ||
      (o.device == MIXCON_DEVICE_AUTO && mixcon_backend_available(MIXCON_DEVICE_CUDA)))
    mo.device = mixcon::Device::Cuda;
  else
    mo.device = mixcon::Device::Cpu;
  const std::string label = file->label();
  handle->model = mixcon::Model::create(std::move(file), mo);

  if (mixcon::capi::log_enabled()) {
    const auto& m = *handle->model;
    const std::string line =
        "loaded " + label + ": " + std::to_string(m.n_params()) + " parameters, " +
        std::to_string(m.weight_bytes()) + " bytes of " + mixcon::dtype_name(m.weight_dtype()) +
        " weights on " + (m.device() == mixcon::Device::Cuda ? "CUDA" : "CPU") + ", " +
        std::to_string(m.n_threads()) + " threads";
    mixcon::capi::log_line(MIXCON_LOG_INFO, line.c_str());
  }
  return handle.release();
}

}  // namespace

extern "C" {

MIXCON_API mixcon_status mixcon_model_options_init(mixcon_model_options* opts) {
  return guard("mixcon_model_options_init", [&] {
    require(opts != nullptr, "opts is NULL");
    *opts = default_model_options();
  });
}

MIXCON_API mixcon_status mixcon_model_load(const char* path, const mixcon_model_options* opts,
                                           mixcon_model** out_model) {
  return guard("mixcon_model_load", [&] {
    require(path != nullptr, "path is NULL");
    require(out_model != nullptr, "out_model is NULL");
    const mixcon_model_options o = read_model_options(opts);
    *out_model = make_model(mixcon::ModelFile::open(path, read_options(o)), o);
  });
}

MIXCON_API mixcon_status mixcon_model_load_memory(const uint8_t* data, int64_t size,
                                                  const mixcon_model_options* opts,
                                                  mixcon_model** out_model) {
  return guard("mixcon_model_load_memory", [&] {
    require(data != nullptr, "data is NULL");
    require(size >= 0, "size is negative");
    require(out_model != nullptr, "out_model is NULL");
    const mixcon_model_options o = read_model_options(opts);
    *out_model = make_model(mixcon::ModelFile::from_memory(data, size, read_options(o)), o);
  });
}

MIXCON_API void mixcon_model_free(mixcon_model* model) { delete model; }

MIXCON_API mixcon_status mixcon_model_info_init(mixcon_model_info_t* info) {
  return guard("mixcon_model_info_init", [&] {
    require(info != nullptr, "info is NULL");
    std::memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
  });
}

MIXCON_API mixcon_status mixcon_model_info(const mixcon_model* model, mixcon_model_info_t* info) {
  return guard("mixcon_model_info", [&] {
    require(model != nullptr, "model is NULL");
    require(info != nullptr, "info is NULL");
    using T = mixcon_model_info_t;
    mixcon::capi::check_struct_size(info, offsetof(T, weight_dtype) + sizeof(int32_t),
                                    "mixcon_model_info_t");
    const mixcon::Model& m = *model->model;
    const mixcon::ModelConfig& c = m.config();
    const mixcon::Tokenizer* tok = model->tokenizer.get();
    const mixcon::TokenizerSpec& spec = m.file().tokenizer();
    mixcon_model_info_t v;
    std::memset(&v, 0, sizeof v);
    v.weight_dtype = static_cast<int32_t>(m.weight_dtype());
    v.n_vocab = c.vocab_size;
    v.d_model = c.d_model;
    v.n_layers = c.n_layers;
    v.n_attention_layers = c.count_layers(mixcon::LayerType::Attention);
    v.n_conba_layers = c.count_layers(mixcon::LayerType::Conba);
    v.n_moe_layers = c.count_ffn(mixcon::FfnType::Moe);
    v.max_context = c.max_context;
    v.n_params = m.n_params();
    v.weight_bytes = m.weight_bytes();
    v.max_piece_bytes = tok ? tok->max_piece_bytes() : 0;
    v.device = m.device() == mixcon::Device::Cuda ? MIXCON_DEVICE_CUDA : MIXCON_DEVICE_CPU;
    v.n_threads = m.n_threads();
    v.bos_id = spec.bos_id;
    v.eos_id = spec.eos_id;
    v.unk_id = spec.unk_id;
    v.pad_id = spec.pad_id;
    v.has_tokenizer = tok ? 1 : 0;
    v.add_bos = spec.add_bos ? 1 : 0;
    // Copy field by field what the caller's struct holds.
#define MIXCON_PUT(field) \
  if (MIXCON_COVERS(info, T, field)) info->field = v.field
    MIXCON_PUT(weight_dtype);
    MIXCON_PUT(n_vocab);
    MIXCON_PUT(d_model);
    MIXCON_PUT(n_layers);
    MIXCON_PUT(n_attention_layers);
    MIXCON_PUT(n_conba_layers);
    MIXCON_PUT(n_moe_layers);
    MIXCON_PUT(max_context);
    MIXCON_PUT(n_params);
    MIXCON_PUT(weight_bytes);
    MIXCON_PUT(max_piece_bytes);
    MIXCON_PUT(device);
    MIXCON_PUT(n_threads);
    MIXCON_PUT(bos_id);
    MIXCON_PUT(eos_id);
    MIXCON_PUT(unk_id);
    MIXCON_PUT(pad_id);
    MIXCON_PUT(has_tokenizer);
    MIXCON_PUT(add_bos);
#undef MIXCON_PUT
  });
}

MIXCON_API int64_t mixcon_model_n_vocab(const mixcon_model* model) {
  if (!model) {
    mixcon::capi::record_error("mixcon_model_n_vocab", mixcon::Status::InvalidArgument,
                               "model is NULL");
    return -1;
  }
  return model->model->config().vocab_size;
}

MIXCON_API const char* mixcon_model_metadata_json(const mixcon_model* model) {
  if (!model) {
    mixcon::capi::record_error("mixcon_model_metadata_json", mixcon::Status::InvalidArgument,
                               "model is NULL");
    return nullptr;
  }
  return model->metadata_json.c_str();
}

MIXCON_API const char* mixcon_model_config_json(const mixcon_model* model) {
  if (!model) {
    mixcon::capi::record_error("mixcon_model_config_json", mixcon::Status::InvalidArgument,
                               "model is NULL");
    return nullptr;
  }
  return model->config_json.c_str();
}

}  // extern "C"
