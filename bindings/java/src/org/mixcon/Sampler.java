package org.mixcon;

import java.lang.ref.Reference;

/**
 * How the next token is picked from the logits. Settings not given keep the
 * library's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no
 * repetition penalty, window 64, seed 0); the library rejects out-of-range
 * values. Temperature 0 is greedy. The same seed, model and inputs give the
 * same tokens.
 *
 * <pre>{@code
 * try (Sampler s = Sampler.builder().temperature(0.8).topP(0.95).seed(42).build()) { ... }
 * }</pre>
 */
public final class Sampler implements AutoCloseable {
  private final NativeHandle<SWIGTYPE_p_mixcon_sampler> handle;

  private Sampler(Builder b) {
    handle = new NativeHandle<>(this, "Sampler",
        MixconNative.sampler_create(b.set, b.temperature, b.topK, b.topP, b.minP,
            b.repetitionPenalty, b.repetitionWindow, b.seed),
        MixconNative::sampler_free);
  }

  /** Always the most likely token. */
  public static Sampler greedy() {
    return builder().temperature(0).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  SWIGTYPE_p_mixcon_sampler ptr() {
    return handle.get();
  }

  void keepAlive() {
    Reference.reachabilityFence(this);
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  @Override
  public void close() {
    handle.close();
  }

  /** Sampler settings; each setter marks its field as given. */
  public static final class Builder {
    // Bits of the native `set` mask, pinned in mixcon_binding.h.
    private int set;
    private double temperature;
    private int topK;
    private double topP;
    private double minP;
    private double repetitionPenalty;
    private long repetitionWindow;
    private long seed;

    private Builder() {}

    /** >= 0; 0 = greedy. */
    public Builder temperature(double v) {
      temperature = v;
      set |= 1;
      return this;
    }

    /** >= 0; 0 = off. */
    public Builder topK(int v) {
      topK = v;
      set |= 2;
      return this;
    }

    /** In (0, 1]; 1 = off. */
    public Builder topP(double v) {
      topP = v;
      set |= 4;
      return this;
    }

    /** In [0, 1]; 0 = off. */
    public Builder minP(double v) {
      minP = v;
      set |= 8;
      return this;
    }

    /** > 0; 1 = off. */
    public Builder repetitionPenalty(double v) {
      repetitionPenalty = v;
      set |= 16;
      return this;
    }

    /** Tokens looked back: > 0 that many, 0 = off, -1 = the whole history. */
    public Builder repetitionWindow(long v) {
      repetitionWindow = v;
      set |= 32;
      return this;
    }

    /** Any value; its 64 bits seed the generator. */
    public Builder seed(long v) {
      seed = v;
      set |= 64;
      return this;
    }

    public Sampler build() {
      return new Sampler(this);
    }
  }
}
