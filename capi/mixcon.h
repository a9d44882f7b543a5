/*
 * mixcon.h — the C interface of the MixCon inference engine.
 *
 * This header is the API: a function, type or constant that is not declared
 * and documented here is not part of it. It is C99 and compiles cleanly as C
 * and as C++.
 *
 * ---------------------------------------------------------------------------
 * Conventions that hold for every function below
 * ---------------------------------------------------------------------------
 *
 * Status.  Every call that can fail returns a mixcon_status. MIXCON_OK (0)
 *   means success; any other value is a failure, and mixcon_last_error()
 *   then returns a human-readable message naming what was wrong. The numeric
 *   values are pinned forever.
 *
 * Atomic failure.  A call that fails changes nothing: a session keeps its
 *   state and position, out-parameters other than documented size reports are
 *   left untouched, a sampler keeps its random state.
 *
 * Misuse is a status, never a crash.  A NULL handle, a NULL required pointer,
 *   a negative count, an out-of-range token id, an options struct whose
 *   struct_size is too small, all return MIXCON_ERR_INVALID_ARGUMENT.
 *
 * Sizes.  Token ids are int32_t. Every size, count, length and position is
 *   int64_t (never size_t, long or unsigned 64-bit: language bindings map
 *   those to the wrong width).
 *
 * Text.  Text is UTF-8 with an explicit byte length; it need not be
 *   NUL-terminated, and may be NULL when its length is 0.
 *
 * Caller-owned buffers.  A function that fills a buffer takes (dst, cap) and
 *   an out-parameter for the length it wrote. When cap is too small it
 *   returns MIXCON_ERR_BUFFER_TOO_SMALL, writes nothing to dst, and stores
 *   the needed size in the length out-parameter, so a caller can query with
 *   (NULL, 0) and call again. dst may be NULL only when cap is 0.
 *
 * Handle-owned memory.  A pointer returned into a handle's memory stays valid
 *   until the call documented next to it (at the latest, until the handle is
 *   freed).
 *
 * Options structs.  Every options/info struct begins with
 *   `uint32_t struct_size`. Fill it with the matching *_init() function, then
 *   change the fields you need. Fields are only ever appended in later
 *   versions; the library reads (or, for info structs, writes) only the fields
 *   that the caller's struct_size covers, so a program compiled against an
 *   older header keeps working. A struct_size too small to hold the first
 *   field after struct_size is MIXCON_ERR_INVALID_ARGUMENT. Where a function
 *   accepts NULL options, NULL means "all defaults".
 *
 * Threads.  A model is immutable after load and may be used by any number of
 *   sessions on any threads at once. A session and a sampler are used by one
 *   thread at a time (calls on different sessions run in parallel freely);
 *   mixcon_session_cancel() is the one call that may target a session another
 *   thread is using. Library-wide functions (version, status strings,
 *   mixcon_set_log_callback, mixcon_backend_available) may be called from any
 *   thread.
 *
 * Lifetimes.  Every *_free(NULL) is a harmless no-op. A session holds a
 *   reference to its model: mixcon_model_free() may be called while sessions
 *   of the model are alive; the model's memory goes when its last session
 *   goes. Handles may therefore be finalized in any order.
 *
 * Since.  Everything in this header exists since ABI version 1 (library
 *   version 0.1.0).
 */
#ifndef MIXCON_H
#define MIXCON_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MIXCON_API marks the exported functions. The library is built with hidden
 * visibility (and a symbol list), so only these leave libmixcon.so. */
#if defined(MIXCON_BUILDING_LIBRARY) && defined(__GNUC__)
#define MIXCON_API __attribute__((visibility("default")))
#else
#define MIXCON_API
#endif

/* The ABI version this header describes. Compare it with
 * mixcon_abi_version() to detect a mismatched shared library at run time. */
#define MIXCON_HEADER_ABI_VERSION 1

/* ========================================================================= */
/* Types                                                                     */
/* ========================================================================= */

/* Opaque handles. */
typedef struct mixcon_model mixcon_model;     /* loaded weights + tokenizer   */
typedef struct mixcon_session mixcon_session; /* one sequence's state         */
typedef struct mixcon_sampler mixcon_sampler; /* token choice + its RNG state */

/* Status codes. The values are pinned forever. */
typedef enum mixcon_status {
  MIXCON_OK = 0,
  MIXCON_ERR_INVALID_ARGUMENT = 1, /* misuse: NULL, negative count, bad id, bad option */
  MIXCON_ERR_BUFFER_TOO_SMALL = 2, /* the needed size was reported */
  MIXCON_ERR_IO = 3,               /* a file cannot be opened or read */
  MIXCON_ERR_FORMAT = 4,           /* a model file or state buffer is malformed */
  MIXCON_ERR_CHECKSUM = 5,         /* a checksum does not match */
  MIXCON_ERR_UNSUPPORTED = 6,      /* valid but not supported here (version, device, no tokenizer) */
  MIXCON_ERR_OUT_OF_MEMORY = 7,
  MIXCON_ERR_CONTEXT_FULL = 8,     /* the session's max_context would be exceeded */
  MIXCON_ERR_CANCELLED = 9,        /* mixcon_session_cancel() or a progress callback stopped it */
  MIXCON_ERR_BACKEND = 10,         /* the compute device failed */
  MIXCON_ERR_INTERNAL = 11         /* a bug in the library; the message says where */
} mixcon_status;

/* Compute devices, for mixcon_model_options.device and
 * mixcon_backend_available(). On CUDA the weights are uploaded once per model;
 * each session gets its own CUDA stream and ~80 MiB of device scratch (in
 * mixcon_session_memory_bytes), so sessions fed from different threads run on
 * the GPU side by side, and each decode step is launched as one CUDA graph
 * (environment MIXCON_CUDA_GRAPHS=0, read at model load: kernel by kernel). */
typedef enum mixcon_device {
  MIXCON_DEVICE_CPU = 0,
  MIXCON_DEVICE_CUDA = 1,
  MIXCON_DEVICE_AUTO = 2 /* CUDA when available, else CPU (load options only) */
} mixcon_device;

/* Weight storage types (FORMAT.md "dtypes"). */
typedef enum mixcon_dtype {
  MIXCON_DTYPE_F32 = 0,
  MIXCON_DTYPE_F16 = 1,
  MIXCON_DTYPE_BF16 = 2,
  MIXCON_DTYPE_Q8_0 = 3
} mixcon_dtype;

/* Log levels, most severe first. */
typedef enum mixcon_log_level {
  MIXCON_LOG_ERROR = 0,
  MIXCON_LOG_WARN = 1,
  MIXCON_LOG_INFO = 2,
  MIXCON_LOG_DEBUG = 3
} mixcon_log_level;

/* Called with the fraction of a model load done (0 to 1, non-decreasing).
 * Return 0 to continue; any other value cancels the load, which then returns
 * MIXCON_ERR_CANCELLED. Called on the loading thread. */
typedef int (*mixcon_progress_callback)(float fraction, void* user);

/* Receives one log line (UTF-8, NUL-terminated, no trailing newline; the
 * pointer is valid only during the call). level is a mixcon_log_level. May be
 * called from any thread that calls into the library, concurrently when
 * several threads do; it must not call back into the library. */
typedef void (*mixcon_log_callback)(int level, const char* message, void* user);

/* ========================================================================= */
/* Library                                                                   */
/* ========================================================================= */

/* mixcon_abi_version() :
 * @return the ABI version of the loaded library (the number in
 *   libmixcon.so.<abi>). It changes only on a breaking change; compare with
 *   MIXCON_HEADER_ABI_VERSION. */
MIXCON_API int32_t mixcon_abi_version(void);

/* mixcon_version() :
 * @return the library's semantic version, e.g. "0.1.0" (static storage,
 *   never NULL). */
MIXCON_API const char* mixcon_version(void);

/* mixcon_status_string() :
 * @return the name of a status code without its prefix: "OK",
 *   "INVALID_ARGUMENT", "BUFFER_TOO_SMALL", "IO", "FORMAT", "CHECKSUM",
 *   "UNSUPPORTED", "OUT_OF_MEMORY", "CONTEXT_FULL", "CANCELLED", "BACKEND",
 *   "INTERNAL", or "UNKNOWN" for any other value (static storage, never
 *   NULL). */
MIXCON_API const char* mixcon_status_string(mixcon_status status);

/* mixcon_last_error() :
 * @return the detailed message of the most recent failed call made by the
 *   calling thread, e.g. "mixcon_session_feed: tokens[3] = 70000 is out of
 *   range [0, 512)"; "" if no call has failed on this thread. Successful calls
 *   do not clear it. Thread-local: other threads' failures never show here.
 *   The pointer is valid until this thread's next call into the library;
 *   never NULL. */
MIXCON_API const char* mixcon_last_error(void);

/* mixcon_set_log_callback() :
 * Routes the library's log lines (load summaries at INFO, recoverable
 * oddities at WARN, every failed call's message at DEBUG) to `callback`.
 * Nothing is printed by default. NULL turns logging off again. Process-wide;
 * safe to call from any thread, but a callback may still receive a line that
 * another thread was emitting at the moment it was replaced. */
MIXCON_API void mixcon_set_log_callback(mixcon_log_callback callback, void* user);

/* mixcon_backend_available() :
 * @return 1 if models can be placed on `device` in this build on this
 *   machine (MIXCON_DEVICE_CPU: always; MIXCON_DEVICE_CUDA: the library was
 *   built with CUDA and a CUDA device is present; MIXCON_DEVICE_AUTO: always,
 *   since it falls back to the CPU), 0 otherwise (including unknown values).
 */
MIXCON_API int32_t mixcon_backend_available(int32_t device);

/* ========================================================================= */
/* Model                                                                     */
/* ========================================================================= */

typedef struct mixcon_model_options {
  uint32_t struct_size;     /* sizeof(mixcon_model_options), set by _init */
  int32_t device;           /* a mixcon_device; default MIXCON_DEVICE_CPU */
  int32_t device_index;     /* which GPU, for CUDA; default 0 */
  int32_t n_threads;        /* CPU threads for compute; 0 (default) = all cores */
  int32_t verify_checksums; /* non-zero (default 1): check every payload's XXH64 */
  int32_t use_mmap;         /* non-zero (default 1): map raw payloads of a path load
                               instead of copying them, where the compute dtype allows */
  mixcon_progress_callback progress; /* default NULL: no progress reports */
  void* progress_user;               /* passed to `progress` */
} mixcon_model_options;

/* mixcon_model_options_init() :
 * Fills *opts with the defaults above and sets struct_size.
 * @return MIXCON_OK, or MIXCON_ERR_INVALID_ARGUMENT if opts is NULL. */
MIXCON_API mixcon_status mixcon_model_options_init(mixcon_model_options* opts);

/* mixcon_model_load() :
 * Reads, validates and prepares the .mixc model file at `path` (a
 * NUL-terminated UTF-8 path) and stores a new handle in *out_model.
 * `opts` may be NULL for defaults.
 * Ownership: free the model with mixcon_model_free().
 * Threads: any thread; the progress callback runs on this thread.
 * @return MIXCON_OK;
 *   MIXCON_ERR_INVALID_ARGUMENT  path or out_model NULL, bad option value;
 *   MIXCON_ERR_IO                the file cannot be opened or read;
 *   MIXCON_ERR_FORMAT            the file breaks a rule of FORMAT.md;
 *   MIXCON_ERR_CHECKSUM          a header or payload checksum mismatch;
 *   MIXCON_ERR_UNSUPPORTED       newer format major version, or the device is
 *                                not available in this build/machine;
 *   MIXCON_ERR_CANCELLED         the progress callback returned non-zero;
 *   MIXCON_ERR_OUT_OF_MEMORY, MIXCON_ERR_BACKEND, MIXCON_ERR_INTERNAL.
 *   On failure *out_model is left unchanged. */
MIXCON_API mixcon_status mixcon_model_load(const char* path, const mixcon_model_options* opts,
                                           mixcon_model** out_model);

/* mixcon_model_load_memory() :
 * As mixcon_model_load(), from the `size` bytes of a whole .mixc file at
 * `data`. The bytes are copied where needed: the caller's buffer may be
 * freed as soon as the call returns. use_mmap is ignored.
 * @return as mixcon_model_load() (MIXCON_ERR_INVALID_ARGUMENT also for data
 *   NULL or size < 0). */
MIXCON_API mixcon_status mixcon_model_load_memory(const uint8_t* data, int64_t size,
                                                  const mixcon_model_options* opts,
                                                  mixcon_model** out_model);

/* mixcon_model_free() :
 * Releases the caller's reference. Sessions created from the model keep
 * their own reference, so it is safe to free the model before them. NULL is
 * a no-op. Must not race with other calls on the same model handle from other
 * threads (sessions of the model may keep running). */
MIXCON_API void mixcon_model_free(mixcon_model* model);

/* The type carries a _t suffix (and its tag an _s) because mixcon_model_info()
 * (a name CAPI.md fixes) is the function that fills it; a tag of the same
 * name would make C++ users' -Wshadow warn about this header. */
typedef struct mixcon_model_info_s {
  uint32_t struct_size;       /* set by mixcon_model_info_init */
  int32_t weight_dtype;       /* a mixcon_dtype: the dtype of the large matrices */
  int64_t n_vocab;            /* vocabulary size */
  int64_t d_model;
  int64_t n_layers;
  int64_t n_attention_layers; /* layers of each mixer kind (sum = n_layers) */
  int64_t n_conba_layers;
  int64_t n_moe_layers;       /* layers whose FFN is a mixture of experts (rest MLP) */
  int64_t max_context;        /* the largest context the model was built for */
  int64_t n_params;           /* number of weight values */
  int64_t weight_bytes;       /* bytes the weights occupy in memory */
  int64_t max_piece_bytes;    /* the most bytes one mixcon_session_next_text() or
                                 mixcon_token_to_piece() call can return (0 without
                                 a tokenizer) */
  int32_t device;             /* a mixcon_device (CPU or CUDA) the model runs on */
  int32_t n_threads;          /* the CPU thread count the model was loaded with */
  int32_t bos_id;             /* special token ids; -1 where the model has none */
  int32_t eos_id;
  int32_t unk_id;
  int32_t pad_id;
  int32_t has_tokenizer;      /* 1 if text calls work, 0 for tokenizer kind "none" */
  int32_t add_bos;            /* 1 if the tokenizer's default is to prepend BOS */
} mixcon_model_info_t;

/* mixcon_model_info_init() :
 * Zero-fills *info and sets struct_size.
 * @return MIXCON_OK, or MIXCON_ERR_INVALID_ARGUMENT if info is NULL. */
MIXCON_API mixcon_status mixcon_model_info_init(mixcon_model_info_t* info);

/* mixcon_model_info() :
 * Fills the fields of *info that info->struct_size covers (call
 * mixcon_model_info_init() first).
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT if model or info is NULL or
 *   info->struct_size is too small. */
MIXCON_API mixcon_status mixcon_model_info(const mixcon_model* model, mixcon_model_info_t* info);

/* mixcon_model_n_vocab() :
 * @return the vocabulary size (the length of a logits row), or -1 if model is
 *   NULL. */
MIXCON_API int64_t mixcon_model_n_vocab(const mixcon_model* model);

/* mixcon_model_metadata_json() :
 * @return the file's free-form `metadata` object as compact JSON text
 *   (NUL-terminated UTF-8; "{}" when the file has none), owned by the model
 *   handle and valid until mixcon_model_free(model); NULL if model is NULL. */
MIXCON_API const char* mixcon_model_metadata_json(const mixcon_model* model);

/* mixcon_model_config_json() :
 * @return the model's `config` object (FORMAT.md) as compact JSON text with
 *   sorted keys, owned by the model handle and valid until
 *   mixcon_model_free(model); NULL if model is NULL. */
MIXCON_API const char* mixcon_model_config_json(const mixcon_model* model);

/* ========================================================================= */
/* Tokenizer                                                                 */
/* ========================================================================= */

/* Text calls need a model with a SentencePiece tokenizer; on a model whose
 * tokenizer kind is "none" they return MIXCON_ERR_UNSUPPORTED. They are
 * read-only on the model and safe from any number of threads. */

/* mixcon_tokenize() :
 * Splits `text_len` bytes of UTF-8 `text` into token ids, written to
 * tokens[0 .. *n_tokens). add_bos: 1 = prepend the BOS token (when the
 * model has one), 0 = do not, -1 = the tokenizer's default (info.add_bos).
 * Size query: pass tokens = NULL, cap = 0.
 * @return MIXCON_OK;
 *   MIXCON_ERR_BUFFER_TOO_SMALL  cap < needed; *n_tokens = needed;
 *   MIXCON_ERR_INVALID_ARGUMENT  model or n_tokens NULL, text NULL with
 *                                text_len > 0, negative length/cap,
 *                                add_bos not in {-1, 0, 1}, text not valid
 *                                UTF-8 (the message gives the byte offset);
 *   MIXCON_ERR_UNSUPPORTED       the model has no tokenizer. */
MIXCON_API mixcon_status mixcon_tokenize(const mixcon_model* model, const char* text,
                                         int64_t text_len, int32_t add_bos, int32_t* tokens,
                                         int64_t cap, int64_t* n_tokens);

/* mixcon_detokenize() :
 * Turns n token ids into UTF-8 text, exactly as SentencePiece decodes them:
 * control tokens (BOS, EOS, ...) vanish, "▁" becomes a space and the leading
 * space of the text is dropped, byte-fallback tokens become their bytes (a
 * byte sequence that is not valid UTF-8 becomes U+FFFD per byte).
 * Writes *text_len bytes to buf, plus a terminating NUL when cap > *text_len
 * (a convenience for C; the NUL is not counted and not required).
 * @return MIXCON_OK;
 *   MIXCON_ERR_BUFFER_TOO_SMALL  cap < needed; *text_len = needed;
 *   MIXCON_ERR_INVALID_ARGUMENT  model or text_len NULL, tokens NULL with
 *                                n > 0, negative n/cap, a token id outside
 *                                [0, n_vocab);
 *   MIXCON_ERR_UNSUPPORTED       the model has no tokenizer. */
MIXCON_API mixcon_status mixcon_detokenize(const mixcon_model* model, const int32_t* tokens,
                                           int64_t n, char* buf, int64_t cap,
                                           int64_t* text_len);

/* mixcon_token_to_piece() :
 * The bytes one token contributes in the middle of a text: its piece with
 * "▁" as a space, a byte-fallback token's single byte (which alone may be an
 * incomplete UTF-8 sequence), nothing for control tokens, " ⁇ " for the
 * unknown token. Buffer and NUL rules as mixcon_detokenize().
 * @return MIXCON_OK; MIXCON_ERR_BUFFER_TOO_SMALL (*len = needed);
 *   MIXCON_ERR_INVALID_ARGUMENT (NULL model/len, negative cap, token out of
 *   range); MIXCON_ERR_UNSUPPORTED (no tokenizer). */
MIXCON_API mixcon_status mixcon_token_to_piece(const mixcon_model* model, int32_t token,
                                               char* buf, int64_t cap, int64_t* len);

/* ========================================================================= */
/* Sampler                                                                   */
/* ========================================================================= */

/* A sampler picks the next token from a session's logits. Order of the
 * transformations (each skipped when "off"):
 *   1. repetition penalty over the last repetition_window tokens of the
 *      session (CTRL-style: a positive logit is divided by the penalty, a
 *      negative one multiplied; each distinct token is penalized once);
 *   2. temperature == 0: greedy — the highest logit wins, the lowest id on
 *      ties; steps 3-6 are skipped and the random state is not used;
 *   3. logits divided by the temperature;
 *   4. top-k: keep the k highest (ties broken by lower id);
 *   5. top-p: keep the smallest prefix (by descending probability) whose
 *      probability reaches top_p; at least one token;
 *   6. min-p: drop tokens whose probability is below min_p times the largest;
 *   then one draw from the renormalized distribution.
 * Determinism: the random generator is a portable xoshiro256** seeded from
 * `seed` with splitmix64, and every sum runs in a fixed order on one thread,
 * so the same seed, model and inputs give the same tokens on every run,
 * machine and thread count. Each non-greedy sample advances the state by one
 * draw; a failed call restores it.
 * Memory: the working buffers are sized to the vocabulary on the first use
 * with a given vocabulary size; later samples allocate nothing. */

typedef struct mixcon_sampler_options {
  uint32_t struct_size;       /* set by _init */
  float temperature;          /* >= 0; 0 = greedy. Default 0.8 */
  int32_t top_k;              /* >= 0; 0 = off. Default 40 */
  float top_p;                /* in (0, 1]; 1 = off. Default 0.95 */
  float min_p;                /* in [0, 1]; 0 = off. Default 0.05 */
  float repetition_penalty;   /* > 0; 1 = off. Default 1 */
  int64_t repetition_window;  /* tokens looked back: > 0 that many, 0 = off,
                                 -1 = the whole history since reset. Default 64 */
  int64_t seed;               /* any value (its 64 bits seed the generator).
                                 Default 0; pick your own for varied output */
} mixcon_sampler_options;

/* mixcon_sampler_options_init() :
 * Fills *opts with the defaults above and sets struct_size.
 * @return MIXCON_OK, or MIXCON_ERR_INVALID_ARGUMENT if opts is NULL. */
MIXCON_API mixcon_status mixcon_sampler_options_init(mixcon_sampler_options* opts);

/* mixcon_sampler_create() :
 * Creates a sampler (NULL opts = defaults) and stores it in *out_sampler.
 * A sampler is not tied to a model or session; one thread at a time.
 * Ownership: free with mixcon_sampler_free().
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT (out_sampler NULL,
 *   struct_size too small, an option out of its range or NaN);
 *   MIXCON_ERR_OUT_OF_MEMORY. */
MIXCON_API mixcon_status mixcon_sampler_create(const mixcon_sampler_options* opts,
                                               mixcon_sampler** out_sampler);

/* mixcon_sampler_free() : NULL is a no-op. */
MIXCON_API void mixcon_sampler_free(mixcon_sampler* sampler);

/* ========================================================================= */
/* Session                                                                   */
/* ========================================================================= */

typedef struct mixcon_session_options {
  uint32_t struct_size; /* set by _init */
  int32_t n_threads;    /* CPU threads for this session; 0 (default) = the model's */
  int64_t max_context;  /* tokens the session can hold; 0 (default) = the
                           model's max_context; at most the model's */
  int32_t kv_dtype;     /* a mixcon_dtype: what the attention layers' KV cache
                           holds. MIXCON_DTYPE_F32 (default) is exact;
                           MIXCON_DTYPE_F16 or MIXCON_DTYPE_BF16 halve the
                           cache, its share of the state, and what each
                           decode step reads at long contexts (each key and
                           value is rounded once, to nearest even; logits
                           move by ~1e-4 of the largest logit with F16,
                           ~1e-3 with BF16); MIXCON_DTYPE_Q8_0 takes 8.5 bits
                           per value (blocks of 32 with an f16 scale; logits
                           move by ~2e-3) and needs head_dim % 32 == 0 and
                           the CPU device, else MIXCON_ERR_UNSUPPORTED. */
  int64_t prefill_chunk; /* tokens per prefill pass; 0 (default) = 512. A feed
                            of more tokens runs in passes of this many. Larger
                            is faster (weights are converted once per pass)
                            and needs more workspace (~110 KiB per token for
                            bench-small). Results agree across chunk sizes
                            within MODEL.md's prefill/decode tolerance, mostly
                            bit for bit (not where a pass gives a MoE expert
                            one token: that product runs as in decode).
                            Clipped to max_context. */
  int32_t activation_dtype; /* a mixcon_dtype: what products round their
                            input to. MIXCON_DTYPE_F32 (default): nothing,
                            every product exact float32 (narrow weights are
                            widened exactly).
                            MIXCON_DTYPE_Q8_0: products with q8_0 weights
                            round their activations to int8 as well (blocks
                            of 32, scale max|x|/127) and multiply each block
                            in integers (VNNI where the CPU has it, else AVX2;
                            llama.cpp does the same for q8_0): ~2x faster
                            prefill with VNNI, ~1.2x with AVX2 alone, decode
                            about the same. Logits move by
                            ~5e-3 of the largest logit on average (bundled
                            model: worst 7e-2, greedy choice the same for 197
                            of 200 tokens, perplexity 414.45 -> 414.39).
                            MIXCON_DTYPE_BF16: products with bf16 weights
                            round their activations to bf16 (nearest even)
                            and multiply by vdpbf16ps where the CPU has
                            AVX512_BF16 (~1.5x faster prefill; elsewhere the
                            float kernels on the rounded values, same speed);
                            logits move by ~2e-3 of the largest logit. On
                            CUDA the same rounding, and prefill products
                            with bf16 weights run on the tensor cores
                            (cublasGemmEx, bf16 x bf16 summed in float32).
                            Products with weights of other dtypes stay exact;
                            prefill and decode agree within ~1e-3 (not
                            MODEL.md §5's 1e-4: a rounding boundary amplifies
                            float-order noise). Q8_0 is CPU only (else
                            MIXCON_ERR_UNSUPPORTED); F16 is unsupported. */
} mixcon_session_options;

/* mixcon_session_options_init() :
 * Fills *opts with the defaults above and sets struct_size.
 * @return MIXCON_OK, or MIXCON_ERR_INVALID_ARGUMENT if opts is NULL. */
MIXCON_API mixcon_status mixcon_session_options_init(mixcon_session_options* opts);

/* mixcon_session_create() :
 * Creates an empty session (position 0) over `model` and plans all of its
 * memory (KV cache for max_context tokens, Conba state, workspace) now, so
 * that feeding allocates nothing per token. opts may be NULL for defaults.
 * The session keeps a reference to the model.
 * Ownership: free with mixcon_session_free().
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT (model or out_session NULL,
 *   max_context < 0 or above the model's, n_threads < 0, kv_dtype not a
 *   mixcon_dtype, prefill_chunk < 0, activation_dtype not a mixcon_dtype);
 *   MIXCON_ERR_UNSUPPORTED (kv_dtype Q8_0 on CUDA or with head_dim not a
 *   multiple of 32; activation_dtype F16, or Q8_0 on CUDA);
 *   MIXCON_ERR_OUT_OF_MEMORY; MIXCON_ERR_BACKEND. */
MIXCON_API mixcon_status mixcon_session_create(mixcon_model* model,
                                               const mixcon_session_options* opts,
                                               mixcon_session** out_session);

/* mixcon_session_free() :
 * NULL is a no-op. Must not race with calls on the same session (not even
 * mixcon_session_cancel()). */
MIXCON_API void mixcon_session_free(mixcon_session* session);

/* mixcon_session_reset() :
 * Back to position 0 with an empty history and text stream; drops a pending
 * cancel request. Keeps the planned memory.
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT (session NULL). */
MIXCON_API mixcon_status mixcon_session_reset(mixcon_session* session);

/* Cancellation, for every call documented "cancellable":
 * mixcon_session_cancel() raises a flag on the session. A cancellable call
 * that is running observes it promptly (between chunks of work); if none is
 * running, the next cancellable call to start observes it at once. The call
 * that observes it returns MIXCON_ERR_CANCELLED with the session unchanged
 * and lowers the flag. So a cancel is never lost to a race with the start
 * of a call — e.g. a "stop" button pressed between two steps of a generation
 * loop stops the next step. mixcon_session_reset() also lowers it. */

/* mixcon_session_feed() :
 * Appends n tokens to the session (a whole prompt is processed as one chunk,
 * with matrix-matrix work); afterwards the logits of the last token are
 * available through mixcon_session_logits(). n == 0 is a no-op. Cancellable.
 * @return MIXCON_OK;
 *   MIXCON_ERR_INVALID_ARGUMENT  session NULL, tokens NULL with n > 0, n < 0,
 *                                a token id outside [0, n_vocab) (the message
 *                                names its index);
 *   MIXCON_ERR_CONTEXT_FULL      position + n > max_context;
 *   MIXCON_ERR_CANCELLED; MIXCON_ERR_OUT_OF_MEMORY; MIXCON_ERR_BACKEND.
 *   On failure the session is exactly as before the call. */
MIXCON_API mixcon_status mixcon_session_feed(mixcon_session* session, const int32_t* tokens,
                                             int64_t n);

/* mixcon_session_feed_all_logits() :
 * As mixcon_session_feed(), and also writes the logits after every one of
 * the n tokens: row i (n_vocab floats, at logits_out + i * n_vocab) is what
 * mixcon_session_logits() would show after feeding tokens[0..i]. cap is in
 * floats and must be at least n * n_vocab; nothing is fed otherwise.
 * Cancellable.
 * @return as mixcon_session_feed(), plus MIXCON_ERR_BUFFER_TOO_SMALL when
 *   cap < n * n_vocab (the message gives the needed count), and
 *   MIXCON_ERR_INVALID_ARGUMENT for logits_out NULL with n > 0. */
MIXCON_API mixcon_status mixcon_session_feed_all_logits(mixcon_session* session,
                                                        const int32_t* tokens, int64_t n,
                                                        float* logits_out, int64_t cap);

/* mixcon_session_feed_text() :
 * Tokenizes text_len bytes of UTF-8 text and feeds the tokens. When the
 * session is at position 0 the BOS token is prepended if the tokenizer's
 * default says so (info.add_bos); later text is appended without BOS.
 * Cancellable.
 * @return as mixcon_session_feed() and mixcon_tokenize() (invalid UTF-8 is
 *   MIXCON_ERR_INVALID_ARGUMENT; no tokenizer is MIXCON_ERR_UNSUPPORTED; text
 *   that tokenizes to nothing is a no-op). */
MIXCON_API mixcon_status mixcon_session_feed_text(mixcon_session* session, const char* text,
                                                  int64_t text_len);

/* mixcon_session_logits() :
 * Stores in *logits a pointer to the n_vocab logits after the last token fed,
 * and the count in *n_vocab (which may be NULL). The floats belong to the
 * session and are valid until the next call that changes it (feed, step,
 * next_text, reset, state_load, free).
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT (session or logits NULL, or
 *   no logits yet: nothing fed since create/reset). */
MIXCON_API mixcon_status mixcon_session_logits(const mixcon_session* session,
                                               const float** logits, int64_t* n_vocab);

/* mixcon_session_sample() :
 * Picks a token from the current logits with `sampler` (the repetition
 * penalty looks at the session's history) and stores it in *token, without
 * feeding it. Advances the sampler's random state (unless greedy).
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT (a NULL argument, or no
 *   logits yet); MIXCON_ERR_OUT_OF_MEMORY (first use only). */
MIXCON_API mixcon_status mixcon_session_sample(mixcon_session* session,
                                               mixcon_sampler* sampler, int32_t* token);

/* mixcon_session_step() :
 * One decode step: sample a token as mixcon_session_sample() does, feed it,
 * store it in *token. The sampled token is fed even when it is the EOS token
 * (compare with info.eos_id to stop). Cancellable.
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT (a NULL argument, no logits
 *   yet); MIXCON_ERR_CONTEXT_FULL (position == max_context);
 *   MIXCON_ERR_CANCELLED; MIXCON_ERR_OUT_OF_MEMORY; MIXCON_ERR_BACKEND.
 *   On failure neither the session nor the sampler's random state changed. */
MIXCON_API mixcon_status mixcon_session_step(mixcon_session* session, mixcon_sampler* sampler,
                                             int32_t* token);

/* mixcon_session_next_text() :
 * One decode step (as mixcon_session_step()) that also returns the text the
 * token adds, writing *text_len bytes to buf (plus a NUL when cap >
 * *text_len) and the token to *token (token may be NULL).
 * The text stream: the session's text is the detokenization of every token
 * since reset (prompt included). Each call returns exactly the bytes by which
 * that text grew, except that the bytes of a UTF-8 character still
 * incomplete are held back until it completes (or until a token shows it
 * never will; then each stray byte becomes U+FFFD, as in detokenization). So
 * the pieces never split a character, a piece may be empty (an EOS token, a
 * held-back byte), and mixcon_detokenize() of the tokens before the first
 * call, plus the pieces, plus mixcon_session_flush_text() at the end, equals
 * mixcon_detokenize() of the whole history (when those earlier tokens do not
 * end inside a character, whose held bytes then come with the first piece).
 * In particular the first piece after a prompt keeps its leading space.
 * info.max_piece_bytes is always enough for cap. Cancellable.
 * @return as mixcon_session_step(), plus MIXCON_ERR_UNSUPPORTED (no
 *   tokenizer) and MIXCON_ERR_BUFFER_TOO_SMALL (the piece does not fit:
 *   *text_len = needed, and nothing was fed or drawn, so a retry with a
 *   larger buffer gives the same token). */
MIXCON_API mixcon_status mixcon_session_next_text(mixcon_session* session,
                                                  mixcon_sampler* sampler, char* buf,
                                                  int64_t cap, int64_t* text_len,
                                                  int32_t* token);

/* mixcon_session_flush_text() :
 * Ends the text stream: returns the bytes still held back (an incomplete
 * UTF-8 character at the end of the history, as U+FFFD per byte, which is
 * how mixcon_detokenize() shows them) and forgets them. Usually returns
 * nothing. Buffer rules as mixcon_detokenize().
 * @return MIXCON_OK; MIXCON_ERR_BUFFER_TOO_SMALL (*text_len = needed);
 *   MIXCON_ERR_INVALID_ARGUMENT (session or text_len NULL, negative cap);
 *   MIXCON_ERR_UNSUPPORTED (no tokenizer). */
MIXCON_API mixcon_status mixcon_session_flush_text(mixcon_session* session, char* buf,
                                                   int64_t cap, int64_t* text_len);

/* mixcon_session_position() :
 * @return the number of tokens fed since create/reset, or -1 if session is
 *   NULL. */
MIXCON_API int64_t mixcon_session_position(const mixcon_session* session);

/* mixcon_session_max_context() :
 * @return the most tokens the session can hold, or -1 if session is NULL. */
MIXCON_API int64_t mixcon_session_max_context(const mixcon_session* session);

/* mixcon_session_memory_bytes() :
 * @return the bytes of state and workspace the session planned at create
 *   (not counting the shared weights), or -1 if session is NULL. */
MIXCON_API int64_t mixcon_session_memory_bytes(const mixcon_session* session);

/* mixcon_session_tokens() :
 * Copies the token history since reset (position tokens) to dst.
 * @return MIXCON_OK; MIXCON_ERR_BUFFER_TOO_SMALL (*n = needed);
 *   MIXCON_ERR_INVALID_ARGUMENT (session or n NULL, negative cap). */
MIXCON_API mixcon_status mixcon_session_tokens(const mixcon_session* session, int32_t* dst,
                                               int64_t cap, int64_t* n);

/* mixcon_session_state_size() :
 * @return the exact number of bytes mixcon_session_state_save() writes for
 *   the current state (it grows with the position), or -1 if session is
 *   NULL. */
MIXCON_API int64_t mixcon_session_state_size(const mixcon_session* session);

/* mixcon_session_state_save() :
 * Serializes the session's state (position, history, KV cache, Conba state,
 * logits) into buf: a versioned, checksummed buffer bound to the model's
 * fingerprint. *n_written receives the size written.
 * @return MIXCON_OK; MIXCON_ERR_BUFFER_TOO_SMALL (*n_written = needed);
 *   MIXCON_ERR_INVALID_ARGUMENT (session or n_written NULL, negative cap). */
MIXCON_API mixcon_status mixcon_session_state_save(const mixcon_session* session, uint8_t* buf,
                                                   int64_t cap, int64_t* n_written);

/* mixcon_session_state_load() :
 * Replaces the session's state with one saved by mixcon_session_state_save()
 * from a session of the same model (same file contents); the text stream
 * continues from the loaded history. A state keeps the KV dtype of the
 * session that saved it and loads into a session of any KV dtype (the cache
 * rows are converted: widening is exact, narrowing rounds to nearest even).
 * @return MIXCON_OK;
 *   MIXCON_ERR_INVALID_ARGUMENT  session NULL, buf NULL with n > 0, n < 0,
 *                                a state from another model;
 *   MIXCON_ERR_FORMAT            not a state buffer, truncated, unknown version;
 *   MIXCON_ERR_CHECKSUM          the buffer is damaged;
 *   MIXCON_ERR_CONTEXT_FULL      the state holds more tokens than this
 *                                session's max_context.
 *   On failure the session is unchanged. */
MIXCON_API mixcon_status mixcon_session_state_load(mixcon_session* session, const uint8_t* buf,
                                                   int64_t n);

/* mixcon_session_fork() :
 * Creates an independent session with the same model, options, state,
 * history and text stream; what either does afterwards does not affect the
 * other. A pending cancel request is not copied.
 * Ownership: free the copy with mixcon_session_free().
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT (session or out_copy NULL);
 *   MIXCON_ERR_OUT_OF_MEMORY; MIXCON_ERR_BACKEND. */
MIXCON_API mixcon_status mixcon_session_fork(const mixcon_session* session,
                                             mixcon_session** out_copy);

/* mixcon_session_cancel() :
 * Asks the running (or next) cancellable call on the session to stop with
 * MIXCON_ERR_CANCELLED (see "Cancellation" above). Returns at once; callable
 * from any thread while another thread uses the session.
 * @return MIXCON_OK; MIXCON_ERR_INVALID_ARGUMENT (session NULL). */
MIXCON_API mixcon_status mixcon_session_cancel(mixcon_session* session);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MIXCON_H */
