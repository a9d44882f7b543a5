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

  /** Load settings; anything not set keeps the library's default. */
  public static final class Options {
    private int device = -1;
    private int deviceIndex = -1;
    private int threads = -1;
    private int verifyChecksums = -1;
    private int useMmap = -1;

    public Options device(Device d) {
      device = d.code;
      return this;
    }

    public Options deviceIndex(int i) {
      deviceIndex = nonNegative("deviceIndex", i);
      return this;
    }

    /** CPU threads; 0 = one per core. */
    public Options threads(int n) {
      threads = nonNegative("threads", n);
      return this;
    }

    public Options verifyChecksums(boolean on) {
      verifyChecksums = on ? 1 : 0;
      return this;
    }

    public Options useMmap(boolean on) {
      useMmap = on ? 1 : 0;
      return this;
    }

    private static int nonNegative(String name, int v) {
      if (v < 0) {
        throw new MixconException(Status.INVALID_ARGUMENT, name + " must be >= 0, got " + v);
      }
      return v;
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
    return new Model(MixconNative.model_load(path.getBytes(StandardCharsets.UTF_8), o.device,
        o.deviceIndex, o.threads, o.verifyChecksums, o.useMmap));
  }

  /** Loads from the bytes of a .mixc file (read during the call only). */
  public static Model fromBytes(byte[] data, Options o) {
    return new Model(MixconNative.model_load_memory(data, o.device, o.deviceIndex, o.threads,
        o.verifyChecksums));
  }

  SWIGTYPE_p_mixcon_model ptr() {
    return handle.get();
  }

  void keepAlive() {
    Reference.reachabilityFence(this);
  }

  public long vocabSize() {
    try {
      return MixconNative.model_vocab_size(ptr());
    } finally {
      keepAlive();
    }
  }

  public long maxContext() {
    try {
      return MixconNative.model_max_context(ptr());
    } finally {
      keepAlive();
    }
  }

  public int bosId() {
    try {
      return MixconNative.model_bos_id(ptr());
    } finally {
      keepAlive();
    }
  }

  public int eosId() {
    try {
      return MixconNative.model_eos_id(ptr());
    } finally {
      keepAlive();
    }
  }

  /** The file's metadata object as JSON text. */
  public String metadataJson() {
    try {
      byte[] buf = new byte[4096];
      long n = MixconNative.model_metadata_json(ptr(), buf);
      if (n > buf.length) {
        buf = new byte[(int) n];
        n = MixconNative.model_metadata_json(ptr(), buf);
      }
      return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
    } finally {
      keepAlive();
    }
  }

  /** The token ids of {@code text}, optionally preceded by BOS. */
  public int[] tokenize(String text, boolean addBos) {
    try {
      byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
      // At most one token per byte plus the dummy prefix for SentencePiece;
      // the size query covers any tokenizer that needs more.
      int[] out = new int[utf8.length + 2];
      long n = MixconNative.tokenize(ptr(), utf8, addBos ? 1 : 0, out);
      if (n > out.length) {
        out = new int[(int) n];
        n = MixconNative.tokenize(ptr(), utf8, addBos ? 1 : 0, out);
      }
      return Arrays.copyOf(out, (int) n);
    } finally {
      keepAlive();
    }
  }

  /** The text of a token sequence. */
  public String detokenize(int[] tokens) {
    try {
      byte[] buf = new byte[8 * tokens.length + 16];
      long n = MixconNative.detokenize(ptr(), tokens, buf);
      if (n > buf.length) {
        buf = new byte[(int) n];
        n = MixconNative.detokenize(ptr(), tokens, buf);
      }
      return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
    } finally {
      keepAlive();
    }
  }

  /** A new session with the model's full context. */
  public Session newSession() {
    return new Session(this, 0);
  }

  /** A new session whose context is capped at {@code maxContext} tokens (0 = the model's). */
  public Session newSession(long maxContext) {
    return new Session(this, maxContext);
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  @Override
  public void close() {
    handle.close();
  }
}
