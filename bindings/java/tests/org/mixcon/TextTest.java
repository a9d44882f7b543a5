package org.mixcon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TextTest {
  private static final String[] TEXTS = {
    "The jury said that the city", "Grüße aus Köln, naïve café", "東京 and Москва",
    "emoji: 😀🎉 done", ""
  };

  @Test
  void roundTripOnTestModel() {
    try (Model m = Model.load(TestModels.testModel())) {
      for (String text : TEXTS) {
        int[] tokens = m.tokenize(text, false);
        for (int t : tokens) {
          assertTrue(t >= 0 && t < m.vocabSize());
        }
        assertEquals(text, m.detokenize(tokens));
      }
    }
  }

  @Test
  void roundTripOnDefaultModel() {
    try (Model m = Model.load(TestModels.defaultModel())) {
      for (String text : TEXTS) {
        assertEquals(text, m.detokenize(m.tokenize(text, false)));
      }
    }
  }

  @Test
  void addBos() {
    try (Model m = Model.load(TestModels.testModel())) {
      assertEquals(m.bosId(), m.tokenize("hello", true)[0]);
      assertNotEquals(m.bosId(), m.tokenize("hello", false)[0]);
    }
  }

  @Test
  void streamedPiecesConcatenateToTheDetokenizedHistory() {
    try (Model m = Model.load(TestModels.testModel());
        Session s = m.newSession();
        Sampler sampler = Sampler.builder().seed(7).build()) {
      int[] prompt = m.tokenize("The river rose", true);
      s.feed(prompt);
      StringBuilder text = new StringBuilder(m.detokenize(prompt));
      int steps = 0;
      while (steps < 40) {
        text.append(s.nextText(sampler));
        steps++;
      }
      text.append(s.flushText());
      assertEquals(m.detokenize(s.tokens()), text.toString());
      assertEquals(prompt.length + 40, s.position());
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {5, 20})
  void generateStopsAfterMaxTokens(int n) {
    try (Model m = Model.load(TestModels.testModel());
        Session s = m.newSession();
        Sampler sampler = Sampler.builder().seed(1).build()) {
      s.feedText("The letter arrived");
      long start = s.position();
      StringBuilder out = new StringBuilder();
      for (String piece : s.generate(sampler, n)) {
        assertTrue(!piece.isEmpty());
        out.append(piece);
      }
      assertTrue(s.position() - start <= n);
    }
  }

  @Test
  void feedTextEqualsFeedTokens() {
    try (Model m = Model.load(TestModels.testModel());
        Session a = m.newSession();
        Session b = m.newSession()) {
      a.feedText("The letter arrived");
      b.feed(m.tokenize("The letter arrived"));
      assertArrayEquals(a.tokens(), b.tokens());
      assertArrayEquals(a.logits(), b.logits());
    }
  }
}
