using System.Linq;
using System.Text;
using NUnit.Framework;

namespace Mixcon.Tests
{
    [TestFixture]
    public class TextTests
    {
        static readonly string[] Texts =
        {
            "The jury said that the city", "Grüße aus Köln, naïve café", "東京 and Москва",
            "emoji: 😀🎉 done", "",
        };

        [Test]
        public void RoundTripOnTestModel()
        {
            using (var m = new Model(TestModels.TestModel))
            {
                foreach (string text in Texts)
                {
                    int[] tokens = m.Tokenize(text, false);
                    Assert.IsTrue(tokens.All(t => t >= 0 && t < m.VocabSize));
                    Assert.AreEqual(text, m.Detokenize(tokens));
                }
            }
        }

        [Test]
        public void RoundTripOnDefaultModel()
        {
            using (var m = new Model(TestModels.DefaultModel))
                foreach (string text in Texts)
                    Assert.AreEqual(text, m.Detokenize(m.Tokenize(text, false)));
        }

        [Test]
        public void AddBos()
        {
            using (var m = new Model(TestModels.TestModel))
            {
                Assert.AreEqual(m.BosId, m.Tokenize("hello", true)[0]);
                Assert.AreNotEqual(m.BosId, m.Tokenize("hello", false)[0]);
            }
        }

        [Test]
        public void StreamedPiecesConcatenateToTheDetokenizedHistory()
        {
            using (var m = new Model(TestModels.TestModel))
            using (var s = m.NewSession())
            using (var sampler = new Sampler(seed: 7))
            {
                int[] prompt = m.Tokenize("The river rose", true);
                s.Feed(prompt);
                var text = new StringBuilder(m.Detokenize(prompt));
                for (int i = 0; i < 40; i++)
                    text.Append(s.NextText(sampler));
                text.Append(s.FlushText());
                Assert.AreEqual(m.Detokenize(s.Tokens()), text.ToString());
                Assert.AreEqual(prompt.Length + 40, s.Position);
            }
        }

        [TestCase(5)]
        [TestCase(20)]
        public void GenerateStopsAfterMaxTokens(int n)
        {
            using (var m = new Model(TestModels.TestModel))
            using (var s = m.NewSession())
            using (var sampler = new Sampler(seed: 1))
            {
                s.FeedText("The letter arrived");
                long start = s.Position;
                foreach (string piece in s.Generate(sampler, n))
                    Assert.IsNotEmpty(piece);
                Assert.LessOrEqual(s.Position - start, n);
            }
        }

        [Test]
        public void FeedTextEqualsFeedTokens()
        {
            using (var m = new Model(TestModels.TestModel))
            using (var a = m.NewSession())
            using (var b = m.NewSession())
            {
                a.FeedText("The letter arrived");
                b.Feed(m.Tokenize("The letter arrived"));
                CollectionAssert.AreEqual(a.Tokens(), b.Tokens());
                CollectionAssert.AreEqual(a.Logits(), b.Logits());
            }
        }
    }
}
