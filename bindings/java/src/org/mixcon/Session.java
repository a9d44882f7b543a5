package org.mixcon;

import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * One generation stream over a model: its state (KV cache, Conba state,
 * logits), the decode loop, state bytes and fork. Use a session from one
 * thread at a time; {@link #cancel()} may be called from any thread.
 */
public final class Session implements AutoCloseable {
  private final Model model;
  // Copied at creation, not asked of the model later: a session outlives a closed model.
  private final int vocabSize;
  private final int eos;
  private final NativeHandle<SWIGTYPE_p_mixcon_session> handle;
  // Reused by every nextText call, so the decode loop allocates no arrays per token.
  private byte[] textBuf = new byte[256];
  private final int[] tokenBuf = new int[1];
  private int lastToken = -1;

  Session(
      Model model,
      long maxContext,
      int threads,
      KvDtype kvDtype,
      long prefillChunk,
      Activations activations) {
    if (kvDtype == null) {
      throw new MixconException(Status.INVALID_ARGUMENT, "kvDtype is null");
    }
    if (activations == null) {
      throw new MixconException(Status.INVALID_ARGUMENT, "activations is null");
    }
    this.model = model;
    this.vocabSize = Math.toIntExact(model.vocabSize());
    this.eos = model.eosId();
    try {
      handle =
          own(
              MixconNative.session_create(
                  model.ptr(), threads, maxContext, kvDtype.code, prefillChunk, activations.code));
    } finally {
      model.keepAlive();
    }
  }

  private Session(Session parent, SWIGTYPE_p_mixcon_session ptr) {
    this.model = parent.model;
    this.vocabSize = parent.vocabSize;
    this.eos = parent.eos;
    handle = own(ptr);
  }

  private NativeHandle<SWIGTYPE_p_mixcon_session> own(SWIGTYPE_p_mixcon_session ptr) {
    return new NativeHandle<>(this, "Session", ptr, MixconNative::session_free);
  }

  private SWIGTYPE_p_mixcon_session ptr() {
    return handle.get();
  }

  public Model model() {
    return model;
  }

  /** Tokens seen since the last reset. */
  public long position() {
    try {
      return MixconNative.session_position(ptr());
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The most tokens this session can hold. */
  public long maxContext() {
    try {
      return MixconNative.session_max_context(ptr());
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Bytes of state and workspace planned at creation (weights not counted). */
  public long memoryBytes() {
    try {
      return MixconNative.session_memory_bytes(ptr());
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The token history since the last reset. */
  public int[] tokens() {
    try {
      int[] out = new int[Math.toIntExact(MixconNative.session_position(ptr()))];
      long n = MixconNative.session_tokens(ptr(), out);
      if (n > out.length) {
        out = new int[Math.toIntExact(n)];
        n = MixconNative.session_tokens(ptr(), out);
      }
      return n == out.length ? out : java.util.Arrays.copyOf(out, (int) n);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  public void reset() {
    try {
      MixconNative.session_reset(ptr());
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Appends tokens (prefill); the last one's logits become current. */
  public void feed(int... tokens) {
    try {
      MixconNative.session_feed(ptr(), tokens);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Tokenizes {@code text} and feeds it. */
  public void feedText(String text) {
    try {
      MixconNative.session_feed_text(ptr(), text.getBytes(StandardCharsets.UTF_8));
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** A copy of the current logits (vocabSize floats). */
  public float[] logits() {
    try {
      float[] out = new float[vocabSize];
      long n = MixconNative.session_logits(ptr(), out);
      if (n != out.length) {
        out = new float[(int) n];
        MixconNative.session_logits(ptr(), out);
      }
      return out;
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Picks a token from the current logits without feeding it. */
  public int sample(Sampler sampler) {
    try {
      return MixconNative.session_sample(ptr(), sampler.ptr());
    } finally {
      sampler.keepAlive();
      Reference.reachabilityFence(this);
    }
  }

  /** One decode step: samples a token, feeds it, returns it. */
  public int step(Sampler sampler) {
    try {
      return MixconNative.session_step(ptr(), sampler.ptr());
    } finally {
      sampler.keepAlive();
      Reference.reachabilityFence(this);
    }
  }

  /**
   * One decode step returning the token's text. Pieces never split a UTF-8
   * character, so a piece may be empty while bytes are held back; the token
   * itself is then {@link #lastToken()}.
   */
  public String nextText(Sampler sampler) {
    try {
      long n = MixconNative.session_next_text(ptr(), sampler.ptr(), textBuf, tokenBuf);
      if (n > textBuf.length) {
        textBuf = new byte[(int) n];
        n = MixconNative.session_next_text(ptr(), sampler.ptr(), textBuf, tokenBuf);
      }
      lastToken = tokenBuf[0];
      return new String(textBuf, 0, (int) n, StandardCharsets.UTF_8);
    } finally {
      sampler.keepAlive();
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Ends the text stream: the bytes still held back (an incomplete character
   * at the end, as U+FFFD); usually "".
   */
  public String flushText() {
    try {
      return Sized.text(buf -> MixconNative.session_flush_text(ptr(), buf), 64);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The token of the last {@link #nextText} call (-1 before the first). */
  public int lastToken() {
    return lastToken;
  }

  /**
   * The text pieces of up to {@code maxTokens} decode steps, lazily: each
   * {@code next()} runs one step. Stops after the end-of-sequence token.
   */
  public Iterable<String> generate(Sampler sampler, int maxTokens) {
    return () -> new Pieces(sampler, maxTokens);
  }

  private final class Pieces implements Iterator<String> {
    private final Sampler sampler;
    private int left;
    private String next;
    private boolean done;

    Pieces(Sampler sampler, int maxTokens) {
      this.sampler = sampler;
      this.left = maxTokens;
    }

    @Override
    public boolean hasNext() {
      while (next == null && !done) {
        if (left-- <= 0) {
          done = true;
          break;
        }
        String piece = nextText(sampler);
        if (lastToken == eos) {
          done = true;
        }
        if (!piece.isEmpty()) {
          next = piece;
        }
      }
      return next != null;
    }

    @Override
    public String next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      String piece = next;
      next = null;
      return piece;
    }
  }

  /** The state as bytes (versioned, checksummed, tied to the model). */
  public byte[] saveState() {
    try {
      byte[] buf = new byte[(int) MixconNative.session_state_size(ptr())];
      long n = MixconNative.session_state_save(ptr(), buf);
      if (n > buf.length) {
        buf = new byte[(int) n];
        n = MixconNative.session_state_save(ptr(), buf);
      }
      return n == buf.length ? buf : java.util.Arrays.copyOf(buf, (int) n);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Restores a saved state; a state of another model or damaged bytes throw and change nothing. */
  public void loadState(byte[] state) {
    try {
      MixconNative.session_state_load(ptr(), state);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** An independent session with the same state. */
  public Session fork() {
    try {
      return new Session(this, MixconNative.session_fork(ptr()));
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Makes a feed or step running on another thread throw CANCELLED, the session unchanged. */
  public void cancel() {
    try {
      MixconNative.session_cancel(ptr());
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  @Override
  public void close() {
    handle.close();
  }
}
