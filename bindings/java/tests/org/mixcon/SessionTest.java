package org.mixcon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SessionTest {
  private static final int[] PROMPT = {1, 17, 42, 99, 123, 7};
  private static Model model;

  @BeforeAll
  static void load() {
    model = Model.load(TestModels.testModel(), new Model.Options().threads(1));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static int[] steps(Session s, Sampler sampler, int n) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = s.step(sampler);
    }
    return out;
  }

  @Test
  void greedyEqualsTheCApi() throws Exception {
    int[] expected = TestModels.cGreedyTokens(TestModels.testModel(), 12, PROMPT);
    try (Session s = model.newSession(); Sampler greedy = Sampler.greedy()) {
      s.feed(PROMPT);
      assertArrayEquals(expected, steps(s, greedy, 12));
    }
  }

  @Test
  void greedyEqualsTheCApiOnTheDefaultModel() throws Exception {
    String path = TestModels.defaultModel();
    try (Model m = Model.load(path); Session s = m.newSession(); Sampler greedy = Sampler.greedy()) {
      int[] prompt = m.tokenize("The jury said that the city", true);
      int[] expected = TestModels.cGreedyTokens(path, 8, prompt);
      s.feed(prompt);
      assertArrayEquals(expected, steps(s, greedy, 8));
    }
  }

  @Test
  void greedyTokenIsArgmaxOfLogits() {
    try (Session s = model.newSession(); Sampler greedy = Sampler.greedy()) {
      s.feed(PROMPT);
      float[] logits = s.logits();
      assertEquals(model.vocabSize(), logits.length);
      int best = 0;
      for (int i = 1; i < logits.length; i++) {
        assertTrue(Float.isFinite(logits[i]));
        if (logits[i] > logits[best]) {
          best = i;
        }
      }
      assertEquals(best, s.sample(greedy));
      assertEquals(PROMPT.length, s.position());
    }
  }

  private static int[] sampled(long seed) {
    try (Session s = model.newSession();
        Sampler sampler = Sampler.builder().temperature(1.5).topK(0).topP(1.0).minP(0.0).seed(seed).build()) {
      s.feed(PROMPT);
      return steps(s, sampler, 16);
    }
  }

  @Test
  void seedKeepsAll64Bits() {
    // Seeds equal in their low 32 bits: a binding that narrowed the int64
    // would give the same tokens.
    long big = (1L << 40) + 1;
    assertTrue(!java.util.Arrays.equals(sampled(1), sampled(big)));
    assertArrayEquals(sampled(big), sampled(big));
  }

  @Test
  void stateRoundTrip() {
    try (Session s = model.newSession(); Sampler greedy = Sampler.greedy()) {
      s.feed(PROMPT);
      byte[] state = s.saveState();
      assertTrue(state.length > 0);
      float[] logits = s.logits();
      int[] first = steps(s, greedy, 6);
      s.loadState(state);
      assertEquals(PROMPT.length, s.position());
      assertArrayEquals(logits, s.logits());
      assertArrayEquals(first, steps(s, greedy, 6));
      try (Session other = model.newSession()) {
        other.loadState(state);
        assertArrayEquals(first, steps(other, greedy, 6));
      }
    }
  }

  @Test
  void f16KvCacheIsSmallerAndItsStateLoadsIntoAnF32Session() {
    try (Session half = model.newSession(1024, 0, KvDtype.F16);
        Session exact = model.newSession(1024, 0)) {
      assertTrue(half.memoryBytes() < exact.memoryBytes());
      half.feed(PROMPT);
      byte[] state = half.saveState();
      exact.loadState(state);
      assertEquals(PROMPT.length, exact.position());
      assertArrayEquals(half.logits(), exact.logits());
      assertThrows(MixconException.class, () -> model.newSession(0, 0, null));
      // The test model's heads of 16 are half a q8_0 block.
      MixconException e =
          assertThrows(MixconException.class, () -> model.newSession(0, 0, KvDtype.Q8_0));
      assertEquals(Status.UNSUPPORTED, e.status());
    }
  }

  @Test
  void smallPrefillChunkPlansLessMemoryAndNegativeIsRejected() {
    try (Session whole = model.newSession(256, 0, KvDtype.F32, 0);
        Session small = model.newSession(256, 0, KvDtype.F32, 4)) {
      assertTrue(small.memoryBytes() < whole.memoryBytes());
      small.feed(PROMPT);
      assertEquals(PROMPT.length, small.position());
      MixconException e =
          assertThrows(MixconException.class, () -> model.newSession(0, 0, KvDtype.F32, -1));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("prefill_chunk"), e.getMessage());
    }
  }

  @Test
  void int8ActivationsLeaveF32WeightsExact() {
    // The test model's weights are all f32 (bindings/testing/make_test_model.cpp), and
    // Activations.Q8_0 only changes products with q8_0 weights: the logits must be identical.
    try (Session exact = model.newSession(256, 0, KvDtype.F32, 0, Activations.F32);
        Session int8 = model.newSession(256, 0, KvDtype.F32, 0, Activations.Q8_0);
        Sampler greedy = Sampler.greedy()) {
      exact.feed(PROMPT);
      int8.feed(PROMPT);
      assertArrayEquals(exact.logits(), int8.logits());
      assertArrayEquals(steps(exact, greedy, 4), steps(int8, greedy, 4));
      MixconException e =
          assertThrows(
              MixconException.class, () -> model.newSession(0, 0, KvDtype.F32, 0, null));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("activations"), e.getMessage());
    }
    // Nor does Activations.BF16, which only changes products with bf16 weights.
    try (Session exact = model.newSession(256, 0, KvDtype.F32, 0, Activations.F32);
        Session bf16 = model.newSession(256, 0, KvDtype.F32, 0, Activations.BF16)) {
      exact.feed(PROMPT);
      bf16.feed(PROMPT);
      assertArrayEquals(exact.logits(), bf16.logits());
    }
  }

  @Test
  void int8ActivationsMoveQ8LogitsALittleOnTheDefaultModel() {
    // models/mixcon-brown.mixc has q8_0 weights: Activations.Q8_0 rounds their products' input
    // to int8, so the logits move, by a few 1e-3 of the largest.
    try (Model m = Model.load(TestModels.defaultModel());
        Session exact = m.newSession();
        Session int8 = m.newSession(0, 0, KvDtype.F32, 0, Activations.Q8_0)) {
      int[] prompt = m.tokenize("The jury said that the city", true);
      exact.feed(prompt);
      int8.feed(prompt);
      float[] a = exact.logits();
      float[] b = int8.logits();
      float scale = 0;
      float diff = 0;
      for (int i = 0; i < a.length; i++) {
        scale = Math.max(scale, Math.abs(a[i]));
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
      }
      assertTrue(diff > 0, "int8 activations gave the exact logits");
      assertTrue(diff <= 0.05f * scale, "max diff " + diff + " vs max |logit| " + scale);
    }
  }

  @Test
  void damagedStateIsRejectedAndChangesNothing() {
    try (Session s = model.newSession()) {
      s.feed(PROMPT);
      byte[] state = s.saveState();
      s.feed(5);
      state[state.length / 2] ^= (byte) 0xFF;
      MixconException e = assertThrows(MixconException.class, () -> s.loadState(state));
      assertTrue(e.status() == Status.CHECKSUM || e.status() == Status.FORMAT, e.toString());
      assertEquals(PROMPT.length + 1, s.position());
    }
  }

  @Test
  void forkIsIndependent() {
    try (Session s = model.newSession(); Sampler greedy = Sampler.greedy()) {
      s.feed(PROMPT);
      try (Session child = s.fork()) {
        assertArrayEquals(s.tokens(), child.tokens());
        int[] a = steps(child, greedy, 5);
        assertEquals(PROMPT.length, s.position());
        assertArrayEquals(a, steps(s, greedy, 5));
        child.feed(3, 3, 3);
        assertEquals(s.position() + 3, child.position());
      }
    }
  }

  @Test
  void badTokenThrowsAndChangesNothing() {
    try (Session s = model.newSession()) {
      s.feed(PROMPT);
      MixconException e = assertThrows(MixconException.class,
          () -> s.feed(1, (int) model.vocabSize() + 5));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertEquals(PROMPT.length, s.position());
    }
  }

  @Test
  void cancelStopsTheNextCall() {
    try (Session s = model.newSession()) {
      s.feed(PROMPT);
      s.cancel();
      MixconException e = assertThrows(MixconException.class, () -> s.feed(4, 5));
      assertEquals(Status.CANCELLED, e.status());
      assertEquals(PROMPT.length, s.position());
      s.feed(4, 5);
      assertEquals(PROMPT.length + 2, s.position());
    }
  }

  @Test
  void cancelFromAnotherThreadStopsGeneration() throws Exception {
    try (Session s = model.newSession(); Sampler greedy = Sampler.greedy()) {
      s.feed(PROMPT);
      java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
      java.util.concurrent.atomic.AtomicReference<MixconException> error =
          new java.util.concurrent.atomic.AtomicReference<>();
      Thread worker = new Thread(() -> {
        try {
          for (long i = 0; i < model.maxContext() - PROMPT.length; i++) {
            s.step(greedy);
            if (i == 5) {
              running.countDown();
            }
          }
        } catch (MixconException e) {
          error.set(e);
        }
        running.countDown();
      });
      worker.start();
      assertTrue(running.await(60, java.util.concurrent.TimeUnit.SECONDS));
      s.cancel(); // the one call documented as safe from another thread
      worker.join(60_000);
      assertTrue(!worker.isAlive());
      assertEquals(Status.CANCELLED, error.get().status());
    }
  }

  @Test
  void useAfterCloseThrowsInsteadOfCrashing() {
    Session s = model.newSession();
    Sampler greedy = Sampler.greedy();
    s.feed(PROMPT);
    s.close();
    for (Runnable call : List.<Runnable>of(() -> s.step(greedy), () -> s.feed(1), s::saveState,
        s::fork, s::position, () -> s.generate(greedy, 3).iterator().hasNext())) {
      MixconException e = assertThrows(MixconException.class, call::run);
      assertEquals(Status.INVALID_ARGUMENT, e.status());
    }
    greedy.close();
    try (Session live = model.newSession()) {
      live.feed(PROMPT);
      assertThrows(MixconException.class, () -> live.step(greedy));
    }
  }

  private static long rssBytes() throws Exception {
    String[] statm = new String(Files.readAllBytes(Paths.get("/proc/self/statm"))).trim().split(" ");
    return Long.parseLong(statm[1]) * 4096;
  }

  @Test
  void manySessionsDoNotLeak() throws Exception {
    for (int i = 0; i < 50; i++) {
      try (Session s = model.newSession(256)) {
        s.feed(1, 2, 3);
      }
    }
    long before = rssBytes();
    for (int i = 0; i < 500; i++) {
      try (Session s = model.newSession(256)) {
        s.feed(1, 2, 3);
      }
    }
    long growth = rssBytes() - before;
    // The JVM's own heap may grow a little; a leaked session is ~100 KB, so a
    // leak would show as 50 MB here.
    assertTrue(growth < 16L * 1024 * 1024, "RSS grew by " + growth + " bytes over 500 sessions");
  }
}
