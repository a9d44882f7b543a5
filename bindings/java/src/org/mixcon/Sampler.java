package org.mixcon;

import java.lang.ref.Reference;

/**
 * How the next token is picked from the logits. Settings not given keep the
 * library's defaults; temperature 0 is greedy. The same seed, model and inputs
 * give the same tokens.
 *
 * <pre>{@code
 * try (Sampler s = Sampler.builder().temperature(0.8).topP(0.95).seed(42).build()) { ... }
 * }</pre>
 */
public final class Sampler implements AutoCloseable {
  final NativeHandle<SWIGTYPE_p_mixcon_sampler> handle;

  private Sampler(Builder b) {
    handle = new NativeHandle<>(this, "Sampler",
        MixconNative.sampler_create(b.temperature, b.topK, b.topP, b.minP, b.repetitionPenalty,
            b.repetitionWindow, b.seed),
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

  /** Sampler settings; -1 inside means "library default". */
  public static final class Builder {
    private double temperature = -1;
    private int topK = -1;
    private double topP = -1;
    private double minP = -1;
    private double repetitionPenalty = -1;
    private int repetitionWindow = -1;
    private long seed = -1;

    private Builder() {}

    private static double nonNegative(String name, double v) {
      if (!(v >= 0)) {
        throw new MixconException(Status.INVALID_ARGUMENT, "Sampler: " + name + " must be >= 0, got " + v);
      }
      return v;
    }

    public Builder temperature(double v) {
      temperature = nonNegative("temperature", v);
      return this;
    }

    public Builder topK(int v) {
      topK = (int) nonNegative("topK", v);
      return this;
    }

    public Builder topP(double v) {
      topP = nonNegative("topP", v);
      return this;
    }

    public Builder minP(double v) {
      minP = nonNegative("minP", v);
      return this;
    }

    public Builder repetitionPenalty(double v) {
      repetitionPenalty = nonNegative("repetitionPenalty", v);
      return this;
    }

    public Builder repetitionWindow(int v) {
      repetitionWindow = (int) nonNegative("repetitionWindow", v);
      return this;
    }

    public Builder seed(long v) {
      if (v < 0) {
        throw new MixconException(Status.INVALID_ARGUMENT, "Sampler: seed must be >= 0, got " + v);
      }
      seed = v;
      return this;
    }

    public Sampler build() {
      return new Sampler(this);
    }
  }
}
