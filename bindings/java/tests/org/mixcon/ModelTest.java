package org.mixcon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ModelTest {
  @Test
  void loadsAndCloses() {
    Model m = Model.load(TestModels.testModel());
    assertFalse(m.isClosed());
    assertEquals(8, m.layers());
    assertTrue(m.vocabSize() > 256);
    assertTrue(m.hasTokenizer());
    assertTrue(m.metadataJson().contains("\"binding tests\""));
    m.close();
    assertTrue(m.isClosed());
    m.close(); // idempotent
  }

  @Test
  void tryWithResourcesCloses() {
    Model kept;
    try (Model m = Model.load(TestModels.testModel())) {
      kept = m;
      assertTrue(m.maxContext() > 0);
    }
    assertTrue(kept.isClosed());
  }

  @Test
  void loadsFromBytes() throws Exception {
    byte[] data = Files.readAllBytes(Path.of(TestModels.testModel()));
    try (Model a = Model.fromBytes(data, new Model.Options()); Model b = Model.load(TestModels.testModel())) {
      assertEquals(b.paramCount(), a.paramCount());
    }
  }

  @Test
  void missingFileThrowsIoWithMessage() throws Exception {
    String missing = TestModels.missingFile().toString();
    MixconException e = assertThrows(MixconException.class, () -> Model.load(missing));
    assertEquals(Status.IO, e.status());
    assertEquals(Status.IO.code(), e.code());
    assertTrue(e.detail().contains("no-such-model.mixc"), e.detail());
    assertTrue(e.getMessage().startsWith("IO: "), e.getMessage());
  }

  @Test
  void badOptionsThrowInvalidArgument() {
    MixconException e = assertThrows(MixconException.class,
        () -> Sampler.builder().temperature(-1).build());
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertFalse(e.detail().isEmpty());
    assertThrows(MixconException.class,
        () -> Model.load(TestModels.testModel(), new Model.Options().threads(-2)));
  }

  @Test
  void statusNamesMatchTheLibrary() {
    for (Status s : Status.values()) {
      if (s != Status.UNKNOWN) {
        assertEquals(s.name(), MixconNative.status_name(s.code()));
      }
    }
  }

  @Test
  void useAfterCloseThrows() {
    Model m = Model.load(TestModels.testModel());
    m.close();
    MixconException e = assertThrows(MixconException.class, m::vocabSize);
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertTrue(e.detail().contains("closed"));
    assertThrows(MixconException.class, () -> m.tokenize("x"));
    assertThrows(MixconException.class, m::newSession);
  }

  @Test
  void modelClosedBeforeItsSessions() {
    Model m = Model.load(TestModels.testModel());
    try (Session s = m.newSession(); Sampler greedy = Sampler.greedy()) {
      m.close(); // the session keeps the native model alive
      s.feed(1, 5, 6);
      assertTrue(s.step(greedy) >= 0);
      assertTrue(s.logits().length > 0);
      try (Session child = s.fork()) {
        for (String piece : child.generate(greedy, 3)) {
          assertFalse(piece.isEmpty());
        }
      }
    }
  }

  @Test
  void unclosedHandlesAreFreedByTheCleaner() throws Exception {
    for (int i = 0; i < 5; i++) {
      Model m = Model.load(TestModels.testModel(), new Model.Options().threads(1));
      m.newSession(64).feed(1, 2);
    }
    System.gc();
    Thread.sleep(100); // let the Cleaner thread run the frees
  }
}
