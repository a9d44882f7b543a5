using System;
using System.IO;
using NUnit.Framework;

namespace Mixcon.Tests
{
    [TestFixture]
    public class ModelTests
    {
        [Test]
        public void LoadsAndDisposes()
        {
            var m = new Model(TestModels.TestModel);
            Assert.IsFalse(m.IsClosed);
            Assert.AreEqual(8, m.Layers);
            Assert.Greater(m.VocabSize, 256);
            Assert.IsTrue(m.HasTokenizer);
            Assert.AreEqual(Device.Cpu, m.Device);
            StringAssert.Contains("\"binding tests\"", m.MetadataJson);
            m.Dispose();
            Assert.IsTrue(m.IsClosed);
            m.Dispose(); // idempotent
        }

        [Test]
        public void LoadsFromBytes()
        {
            using (var a = Model.FromBytes(File.ReadAllBytes(TestModels.TestModel)))
            using (var b = new Model(TestModels.TestModel))
                Assert.AreEqual(b.ParamCount, a.ParamCount);
        }

        [Test]
        public void MissingFileThrowsIoWithMessage()
        {
            string missing = Path.Combine(Path.GetTempPath(), "mixcon-no-such-model.mixc");
            var e = Assert.Throws<MixconException>(() => new Model(missing));
            Assert.AreEqual(Status.Io, e.Status);
            Assert.AreEqual((int)Status.Io, e.Code);
            StringAssert.Contains("mixcon-no-such-model.mixc", e.Detail);
            StringAssert.StartsWith("Io: ", e.Message);
        }

        [Test]
        public void BadOptionsThrowInvalidArgument()
        {
            var e = Assert.Throws<MixconException>(() => new Sampler(temperature: -1));
            Assert.AreEqual(Status.InvalidArgument, e.Status);
            Assert.IsNotEmpty(e.Detail);
            Assert.Throws<MixconException>(() => new Model(TestModels.TestModel, threads: -2));
        }

        [Test]
        public void StatusNamesMatchTheLibrary()
        {
            foreach (Status s in Enum.GetValues(typeof(Status)))
            {
                // The library spells INVALID_ARGUMENT; the enum InvalidArgument.
                string upper = MixconNative.status_name((int)s).Replace("_", "");
                Assert.AreEqual(upper, s.ToString().ToUpperInvariant());
            }
        }

        [Test]
        public void UseAfterDisposeThrows()
        {
            var m = new Model(TestModels.TestModel);
            m.Dispose();
            var e = Assert.Throws<MixconException>(() => { var unused = m.VocabSize; });
            Assert.AreEqual(Status.InvalidArgument, e.Status);
            StringAssert.Contains("closed", e.Detail);
            Assert.Throws<MixconException>(() => m.Tokenize("x"));
            Assert.Throws<MixconException>(() => m.NewSession());
        }

        [Test]
        public void ModelDisposedBeforeItsSessions()
        {
            var m = new Model(TestModels.TestModel);
            using (var s = m.NewSession())
            using (var greedy = Sampler.Greedy())
            {
                m.Dispose(); // the session keeps the native model alive
                s.Feed(1, 5, 6);
                Assert.GreaterOrEqual(s.Step(greedy), 0);
                Assert.Greater(s.Logits().Length, 0);
                using (var child = s.Fork())
                    foreach (string piece in child.Generate(greedy, 3))
                        Assert.IsNotEmpty(piece);
            }
        }

        [Test]
        public void FinalizersFreeUndisposedHandles()
        {
            for (int i = 0; i < 5; i++)
            {
                var m = new Model(TestModels.TestModel, threads: 1);
                m.NewSession(64).Feed(1, 2);
            }
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
