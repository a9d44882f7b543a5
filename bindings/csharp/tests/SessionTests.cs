using System;
using System.IO;
using NUnit.Framework;

namespace Mixcon.Tests
{
    [TestFixture]
    public class SessionTests
    {
        static readonly int[] Prompt = { 1, 17, 42, 99, 123, 7 };
        Model model;

        [TestFixtureSetUp]
        public void Load()
        {
            model = new Model(TestModels.TestModel, threads: 1);
        }

        [TestFixtureTearDown]
        public void Close()
        {
            model.Dispose();
        }

        static int[] Steps(Session s, Sampler sampler, int n)
        {
            var tokens = new int[n];
            for (int i = 0; i < n; i++)
                tokens[i] = s.Step(sampler);
            return tokens;
        }

        [Test]
        public void GreedyEqualsTheCApi()
        {
            int[] expected = TestModels.CGreedyTokens(TestModels.TestModel, 12, Prompt);
            using (var s = model.NewSession())
            using (var greedy = Sampler.Greedy())
            {
                s.Feed(Prompt);
                CollectionAssert.AreEqual(expected, Steps(s, greedy, 12));
            }
        }

        [Test]
        public void GreedyEqualsTheCApiOnTheDefaultModel()
        {
            string path = TestModels.DefaultModel;
            using (var m = new Model(path))
            using (var s = m.NewSession())
            using (var greedy = Sampler.Greedy())
            {
                int[] prompt = m.Tokenize("The jury said that the city", true);
                int[] expected = TestModels.CGreedyTokens(path, 8, prompt);
                s.Feed(prompt);
                CollectionAssert.AreEqual(expected, Steps(s, greedy, 8));
            }
        }

        [Test]
        public void GreedyTokenIsArgmaxOfLogits()
        {
            using (var s = model.NewSession())
            using (var greedy = Sampler.Greedy())
            {
                s.Feed(Prompt);
                float[] logits = s.Logits();
                Assert.AreEqual(model.VocabSize, logits.Length);
                int best = 0;
                for (int i = 1; i < logits.Length; i++)
                {
                    Assert.IsFalse(float.IsNaN(logits[i]) || float.IsInfinity(logits[i]));
                    if (logits[i] > logits[best])
                        best = i;
                }
                Assert.AreEqual(best, s.Sample(greedy));
                Assert.AreEqual(Prompt.Length, s.Position);
            }
        }

        int[] Sampled(long seed)
        {
            using (var s = model.NewSession())
            using (var sampler = new Sampler(temperature: 1.5, topK: 0, topP: 1.0, minP: 0.0, seed: seed))
            {
                s.Feed(Prompt);
                return Steps(s, sampler, 16);
            }
        }

        [Test]
        public void SeedKeepsAll64Bits()
        {
            // Seeds equal in their low 32 bits: a binding that narrowed the int64
            // would give the same tokens.
            long big = (1L << 40) + 1;
            CollectionAssert.AreNotEqual(Sampled(1), Sampled(big));
            CollectionAssert.AreEqual(Sampled(big), Sampled(big));
        }

        [Test]
        public void StateRoundTrip()
        {
            using (var s = model.NewSession())
            using (var greedy = Sampler.Greedy())
            {
                s.Feed(Prompt);
                byte[] state = s.SaveState();
                Assert.Greater(state.Length, 0);
                float[] logits = s.Logits();
                int[] first = Steps(s, greedy, 6);
                s.LoadState(state);
                Assert.AreEqual(Prompt.Length, s.Position);
                CollectionAssert.AreEqual(logits, s.Logits());
                CollectionAssert.AreEqual(first, Steps(s, greedy, 6));
                using (var other = model.NewSession())
                {
                    other.LoadState(state);
                    CollectionAssert.AreEqual(first, Steps(other, greedy, 6));
                }
            }
        }

        [Test]
        public void F16KvCacheIsSmallerAndItsStateLoadsIntoAnF32Session()
        {
            using (var half = model.NewSession(1024, kvDtype: KvDtype.F16))
            using (var exact = model.NewSession(1024))
            {
                Assert.Less(half.MemoryBytes, exact.MemoryBytes);
                half.Feed(Prompt);
                byte[] state = half.SaveState();
                exact.LoadState(state);
                Assert.AreEqual(Prompt.Length, exact.Position);
                CollectionAssert.AreEqual(half.Logits(), exact.Logits());
                var e = Assert.Throws<MixconException>(() => model.NewSession(kvDtype: KvDtype.Q8_0));  // heads of 16: half a block
                Assert.AreEqual(Status.Unsupported, e.Status);
            }
        }

        [Test]
        public void SmallPrefillChunkPlansLessMemoryAndNegativeIsRejected()
        {
            using (var whole = model.NewSession(256))
            using (var small = model.NewSession(256, prefillChunk: 4))
            {
                Assert.Less(small.MemoryBytes, whole.MemoryBytes);
                small.Feed(Prompt);
                Assert.AreEqual(Prompt.Length, small.Position);
                var e = Assert.Throws<MixconException>(() => model.NewSession(prefillChunk: -1));
                Assert.AreEqual(Status.InvalidArgument, e.Status);
                StringAssert.Contains("prefill_chunk", e.Message);
            }
        }

        [Test]
        public void Int8ActivationsLeaveF32WeightsExact()
        {
            // The test model's weights are all f32 (bindings/testing/make_test_model.cpp), and
            // Activations.Q8_0 only changes products with q8_0 weights: the logits must be identical.
            using (var exact = model.NewSession(256, activations: Activations.F32))
            using (var int8 = model.NewSession(256, activations: Activations.Q8_0))
            using (var greedy = Sampler.Greedy())
            {
                exact.Feed(Prompt);
                int8.Feed(Prompt);
                CollectionAssert.AreEqual(exact.Logits(), int8.Logits());
                CollectionAssert.AreEqual(Steps(exact, greedy, 4), Steps(int8, greedy, 4));
                // A number that is no Activations member reaches the library, which names the option.
                var e = Assert.Throws<MixconException>(() => model.NewSession(activations: (Activations)1));
                Assert.AreEqual(Status.Unsupported, e.Status);
                StringAssert.Contains("activation", e.Message);
            }
            // Nor does Activations.BF16, which only changes products with bf16 weights.
            using (var exact = model.NewSession(256, activations: Activations.F32))
            using (var bf16 = model.NewSession(256, activations: Activations.BF16))
            {
                exact.Feed(Prompt);
                bf16.Feed(Prompt);
                CollectionAssert.AreEqual(exact.Logits(), bf16.Logits());
            }
        }

        [Test]
        public void Int8ActivationsMoveQ8LogitsALittleOnTheDefaultModel()
        {
            // models/mixcon-brown.mixc has q8_0 weights: Activations.Q8_0 rounds their products'
            // input to int8, so the logits move, by a few 1e-3 of the largest.
            using (var m = new Model(TestModels.DefaultModel))
            using (var exact = m.NewSession())
            using (var int8 = m.NewSession(activations: Activations.Q8_0))
            {
                int[] prompt = m.Tokenize("The jury said that the city", true);
                exact.Feed(prompt);
                int8.Feed(prompt);
                float[] a = exact.Logits(), b = int8.Logits();
                float scale = 0, diff = 0;
                for (int i = 0; i < a.Length; i++)
                {
                    scale = Math.Max(scale, Math.Abs(a[i]));
                    diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
                }
                Assert.Greater(diff, 0f, "int8 activations gave the exact logits");
                Assert.LessOrEqual(diff, 0.05f * scale);
            }
        }

        [Test]
        public void DamagedStateIsRejectedAndChangesNothing()
        {
            using (var s = model.NewSession())
            {
                s.Feed(Prompt);
                byte[] state = s.SaveState();
                s.Feed(5);
                state[state.Length / 2] ^= 0xFF;
                var e = Assert.Throws<MixconException>(() => s.LoadState(state));
                Assert.IsTrue(e.Status == Status.Checksum || e.Status == Status.Format, e.Message);
                Assert.AreEqual(Prompt.Length + 1, s.Position);
            }
        }

        [Test]
        public void ForkIsIndependent()
        {
            using (var s = model.NewSession())
            using (var greedy = Sampler.Greedy())
            {
                s.Feed(Prompt);
                using (var child = s.Fork())
                {
                    CollectionAssert.AreEqual(s.Tokens(), child.Tokens());
                    int[] a = Steps(child, greedy, 5);
                    Assert.AreEqual(Prompt.Length, s.Position);
                    CollectionAssert.AreEqual(a, Steps(s, greedy, 5));
                    child.Feed(3, 3, 3);
                    Assert.AreEqual(s.Position + 3, child.Position);
                }
            }
        }

        [Test]
        public void BadTokenThrowsAndChangesNothing()
        {
            using (var s = model.NewSession())
            {
                s.Feed(Prompt);
                var e = Assert.Throws<MixconException>(() => s.Feed(1, (int)model.VocabSize + 5));
                Assert.AreEqual(Status.InvalidArgument, e.Status);
                Assert.AreEqual(Prompt.Length, s.Position);
            }
        }

        [Test]
        public void CancelStopsTheNextCall()
        {
            using (var s = model.NewSession())
            {
                s.Feed(Prompt);
                s.Cancel();
                var e = Assert.Throws<MixconException>(() => s.Feed(4, 5));
                Assert.AreEqual(Status.Cancelled, e.Status);
                Assert.AreEqual(Prompt.Length, s.Position);
                s.Feed(4, 5);
                Assert.AreEqual(Prompt.Length + 2, s.Position);
            }
        }

        [Test]
        public void CancelFromAnotherThreadStopsGeneration()
        {
            using (var s = model.NewSession())
            using (var greedy = Sampler.Greedy())
            using (var running = new System.Threading.ManualResetEventSlim())
            {
                s.Feed(Prompt);
                MixconException error = null;
                var worker = new System.Threading.Thread(() =>
                {
                    try
                    {
                        for (long i = 0; i < model.MaxContext - Prompt.Length; i++)
                        {
                            s.Step(greedy);
                            if (i == 5)
                                running.Set();
                        }
                    }
                    catch (MixconException e)
                    {
                        error = e;
                    }
                    running.Set();
                });
                worker.Start();
                Assert.IsTrue(running.Wait(60000));
                s.Cancel(); // the one call documented as safe from another thread
                Assert.IsTrue(worker.Join(60000));
                Assert.IsNotNull(error);
                Assert.AreEqual(Status.Cancelled, error.Status);
            }
        }

        [Test]
        public void UseAfterDisposeThrowsInsteadOfCrashing()
        {
            var s = model.NewSession();
            var greedy = Sampler.Greedy();
            s.Feed(Prompt);
            s.Dispose();
            var calls = new TestDelegate[]
            {
                () => s.Step(greedy), () => s.Feed(1), () => s.SaveState(), () => s.Fork(),
                () => { var unused = s.Position; },
                () => { foreach (var piece in s.Generate(greedy, 3)) { } },
            };
            foreach (var call in calls)
                Assert.AreEqual(Status.InvalidArgument, Assert.Throws<MixconException>(call).Status);
            greedy.Dispose();
            using (var live = model.NewSession())
            {
                live.Feed(Prompt);
                Assert.Throws<MixconException>(() => live.Step(greedy));
            }
        }

        static long RssBytes()
        {
            string[] statm = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(statm[1]) * 4096;
        }

        [Test]
        public void ManySessionsDoNotLeak()
        {
            for (int i = 0; i < 50; i++)
                using (var s = model.NewSession(256))
                    s.Feed(1, 2, 3);
            long before = RssBytes();
            for (int i = 0; i < 500; i++)
                using (var s = model.NewSession(256))
                    s.Feed(1, 2, 3);
            long growth = RssBytes() - before;
            // A leaked session is ~100 KB, so a leak would show as 50 MB here.
            Assert.Less(growth, 16L * 1024 * 1024, "RSS grew by " + growth + " bytes over 500 sessions");
        }
    }
}
