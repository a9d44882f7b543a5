package org.mixcon;

import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A loaded .mixc model: immutable, thread-safe, shared by any number of
 * sessions. Close it with try-with-resources; the weights stay until the model
 * and all its sessions are closed (or collected).
 *
 * <pre>{@code
 * try (Model model = Model.load("models/mixcon-brown.mixc");
 *      Session session = model.newSession();
 *      Sampler sampler = Sampler.builder().temperature(0.8).seed(1).build()) {
 *   session.feed(model.tokenize("The jury said", true));
 *   for (String piece : session.generate(sampler, 40)) System.out.print(piece);
 * }
 * }</pre>
 */
public final class Model implements AutoCloseable {
  private final NativeHandle<SWIGTYPE_p_mixcon_model> handle;

  /**
   * Load settings; anything not set keeps the library's default (CPU, all
   * cores, checksums verified, mmap). The library validates every value.
   */
  public static final class Options {
    // Bits of the native `set` mask, pinned in mixcon_binding.h.
    private static final int DEVICE = 1, DEVICE_INDEX = 2, THREADS = 4, VERIFY = 8, MMAP = 16;
    private int set;
    private int device;
    private int deviceIndex;
    private int threads;
    private int verifyChecksums;
    private int useMmap;

    public Options device(Device d) {
      device = d.code;
      set |= DEVICE;
      return this;
    }

    public Options deviceIndex(int i) {
      deviceIndex = i;
      set |= DEVICE_INDEX;
      return this;
    }

    /** CPU threads; 0 = one per core. */
    public Options threads(int n) {
      threads = n;
      set |= THREADS;
      return this;
    }

    public Options verifyChecksums(boolean on) {
      verifyChecksums = on ? 1 : 0;
      set |= VERIFY;
      return this;
    }

    public Options useMmap(boolean on) {
      useMmap = on ? 1 : 0;
      set |= MMAP;
      return this;
    }
  }

  private Model(SWIGTYPE_p_mixcon_model ptr) {
    handle = new NativeHandle<>(this, "Model", ptr, MixconNative::model_free);
  }

  public static Model load(String path) {
    return load(path, new Options());
  }

  public static Model load(Path path) {
    return load(path.toString(), new Options());
  }

  public static Model load(String path, Options o) {
    return new Model(MixconNative.model_load(path.getBytes(StandardCharsets.UTF_8), o.set,
        o.device, o.deviceIndex, o.threads, o.verifyChecksums, o.useMmap));
  }

  /** Loads from the bytes of a .mixc file (read during the call only). */
  public static Model fromBytes(byte[] data, Options o) {
    return new Model(MixconNative.model_load_memory(data, o.set & ~Options.MMAP, o.device,
        o.deviceIndex, o.threads, o.verifyChecksums));
  }

  SWIGTYPE_p_mixcon_model ptr() {
    return handle.get();
  }

  void keepAlive() {
    Reference.reachabilityFence(this);
  }

  /** Vocabulary size. */
  public long vocabSize() {
    try {
      return MixconNative.model_n_vocab(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Model width. */
  public long dModel() {
    try {
      return MixconNative.model_d_model(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Number of layers. */
  public long layers() {
    try {
      return MixconNative.model_n_layers(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Layers whose mixer is attention. */
  public long attentionLayers() {
    try {
      return MixconNative.model_n_attention_layers(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Layers whose mixer is Conba. */
  public long conbaLayers() {
    try {
      return MixconNative.model_n_conba_layers(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Layers whose FFN is a mixture of experts. */
  public long moeLayers() {
    try {
      return MixconNative.model_n_moe_layers(ptr());
    } finally {
      keepAlive();
    }
  }

  /** The largest context the model was built for. */
  public long maxContext() {
    try {
      return MixconNative.model_max_context(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Number of weight values. */
  public long paramCount() {
    try {
      return MixconNative.model_n_params(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Bytes the weights occupy in memory. */
  public long weightBytes() {
    try {
      return MixconNative.model_weight_bytes(ptr());
    } finally {
      keepAlive();
    }
  }

  /** The most bytes one nextText piece can have. */
  public long maxPieceBytes() {
    try {
      return MixconNative.model_max_piece_bytes(ptr());
    } finally {
      keepAlive();
    }
  }

  /** CPU threads the model was loaded with. */
  public int threads() {
    try {
      return MixconNative.model_n_threads(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Beginning-of-sequence token id, -1 if none. */
  public int bosId() {
    try {
      return MixconNative.model_bos_id(ptr());
    } finally {
      keepAlive();
    }
  }

  /** End-of-sequence token id, -1 if none. */
  public int eosId() {
    try {
      return MixconNative.model_eos_id(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Unknown-piece token id, -1 if none. */
  public int unkId() {
    try {
      return MixconNative.model_unk_id(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Padding token id, -1 if none. */
  public int padId() {
    try {
      return MixconNative.model_pad_id(ptr());
    } finally {
      keepAlive();
    }
  }

  /** Whether text calls work (the file has a SentencePiece tokenizer). */
  public boolean hasTokenizer() {
    try {
      return MixconNative.model_has_tokenizer(ptr()) != 0;
    } finally {
      keepAlive();
    }
  }

  /** The device the model runs on. */
  public Device device() {
    try {
      return Device.fromCode(MixconNative.model_device(ptr()));
    } finally {
      keepAlive();
    }
  }

  /** The file's metadata object as JSON text. */
  public String metadataJson() {
    try {
      return Sized.text(buf -> MixconNative.model_metadata_json(ptr(), buf), 4096);
    } finally {
      keepAlive();
    }
  }

  /** The file's config object (architecture and sizes) as JSON text. */
  public String configJson() {
    try {
      return Sized.text(buf -> MixconNative.model_config_json(ptr(), buf), 4096);
    } finally {
      keepAlive();
    }
  }

  /** The token ids of {@code text}, with BOS as the tokenizer's default says. */
  public int[] tokenize(String text) {
    return tokenize(text, -1);
  }

  /** The token ids of {@code text}, preceded by BOS if {@code addBos}. */
  public int[] tokenize(String text, boolean addBos) {
    return tokenize(text, addBos ? 1 : 0);
  }

  private int[] tokenize(String text, int addBos) {
    try {
      byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
      // At most one token per byte plus the dummy prefix for SentencePiece;
      // the size query covers any tokenizer that needs more.
      int[] out = new int[utf8.length + 2];
      long n = MixconNative.tokenize(ptr(), utf8, addBos, out);
      if (n > out.length) {
        out = new int[(int) n];
        n = MixconNative.tokenize(ptr(), utf8, addBos, out);
      }
      return Arrays.copyOf(out, (int) n);
    } finally {
      keepAlive();
    }
  }

  /** The text of a token sequence. */
  public String detokenize(int... tokens) {
    try {
      return Sized.text(buf -> MixconNative.detokenize(ptr(), tokens, buf), 8 * tokens.length + 16);
    } finally {
      keepAlive();
    }
  }

  /**
   * The bytes one token adds in the middle of a text (a byte-fallback token's
   * single byte may be an incomplete UTF-8 sequence, hence bytes).
   */
  public byte[] tokenToPiece(int token) {
    try {
      return Sized.bytes(buf -> MixconNative.token_to_piece(ptr(), token, buf), 64);
    } finally {
      keepAlive();
    }
  }

  /** A new session with the model's full context and thread count. */
  public Session newSession() {
    return new Session(this, 0, 0, KvDtype.F32, 0, Activations.F32);
  }

  /** A new session holding at most {@code maxContext} tokens (0 = the model's). */
  public Session newSession(long maxContext) {
    return new Session(this, maxContext, 0, KvDtype.F32, 0, Activations.F32);
  }

  /** A new session; 0 for either argument means the model's value. */
  public Session newSession(long maxContext, int threads) {
    return new Session(this, maxContext, threads, KvDtype.F32, 0, Activations.F32);
  }

  /**
   * A new session whose KV cache holds {@code kvDtype} values: {@link KvDtype#F16} or
   * {@link KvDtype#BF16} halve the cache; 0 for maxContext or threads means the model's value.
   */
  public Session newSession(long maxContext, int threads, KvDtype kvDtype) {
    return new Session(this, maxContext, threads, kvDtype, 0, Activations.F32);
  }

  /**
   * As {@link #newSession(long, int, KvDtype)}, feeding prompts in passes of {@code
   * prefillChunk} tokens (0 = 512): more is faster and plans more memory; the logits agree
   * within the engine's prefill tolerance.
   */
  public Session newSession(long maxContext, int threads, KvDtype kvDtype, long prefillChunk) {
    return new Session(this, maxContext, threads, kvDtype, prefillChunk, Activations.F32);
  }

  /**
   * As {@link #newSession(long, int, KvDtype, long)}, with products rounding their input to
   * {@code activations}: {@link Activations#F32} is exact (the other overloads' choice);
   * {@link Activations#Q8_0} rounds the input of products with q8_0 weights to int8 per
   * 32-value block and multiplies in integers, {@link Activations#BF16} that of products with
   * bf16 weights to bf16: a faster prefill, logits that move by a few 1e-3 of the largest.
   * Products with weights of other dtypes stay exact. Q8_0 is CPU only; BF16 also runs on CUDA
   * (tensor cores).
   */
  public Session newSession(
      long maxContext, int threads, KvDtype kvDtype, long prefillChunk, Activations activations) {
    return new Session(this, maxContext, threads, kvDtype, prefillChunk, activations);
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  @Override
  public void close() {
    handle.close();
  }
}
