package org.mixcon;

import java.lang.ref.Cleaner;
import java.util.function.Consumer;

/**
 * One owned native pointer, freed exactly once: by close() or, if the owner
 * is garbage-collected first, by the shared Cleaner thread (the C API's frees
 * are thread-safe and order-independent: a session keeps its model alive).
 * Callers keep the owner reachable across native calls with
 * Reference.reachabilityFence, so the Cleaner cannot run mid-call.
 */
final class NativeHandle<T> {
  private static final Cleaner CLEANER = Cleaner.create();

  private static final class Release<T> implements Runnable {
    private final Consumer<T> free;
    private volatile T ptr;

    Release(T ptr, Consumer<T> free) {
      this.ptr = ptr;
      this.free = free;
    }

    @Override
    public void run() {
      T p = ptr;
      ptr = null;
      if (p != null) {
        free.accept(p);
      }
    }
  }

  private final String what;
  private final Release<T> release;
  private final Cleaner.Cleanable cleanable;

  NativeHandle(Object owner, String what, T ptr, Consumer<T> free) {
    this.what = what;
    this.release = new Release<>(ptr, free);
    this.cleanable = CLEANER.register(owner, release);
  }

  /** The pointer, or MixconException(INVALID_ARGUMENT) once closed. */
  T get() {
    T p = release.ptr;
    if (p == null) {
      throw MixconException.closed(what);
    }
    return p;
  }

  boolean isClosed() {
    return release.ptr == null;
  }

  /** Idempotent; Cleanable.clean runs the release at most once. */
  void close() {
    cleanable.clean();
  }
}
