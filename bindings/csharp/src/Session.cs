using System;
using System.Collections.Generic;
using System.Text;

namespace Mixcon
{
    /// <summary>One generation stream over a model: its state (KV cache, Conba state,
    /// logits), the decode loop, state bytes and fork. Use a session from one thread
    /// at a time; Cancel may be called from any thread.</summary>
    public sealed class Session : IDisposable
    {
        readonly NativeHandle<SWIGTYPE_p_mixcon_session> handle;
        // Copied at creation, not asked of the model later: a session outlives a disposed model.
        readonly long vocabSize;
        readonly int eos;
        // Reused by every NextText call, so the decode loop allocates no arrays per token.
        byte[] textBuf = new byte[256];
        readonly int[] tokenBuf = new int[1];

        internal Session(Model model, long maxContext, int threads, KvDtype kvDtype, long prefillChunk,
                         Activations activations)
        {
            Model = model;
            vocabSize = model.VocabSize;
            eos = model.EosId;
            try
            {
                handle = Own(MixconNative.session_create(model.Ptr, threads, maxContext, (int)kvDtype, prefillChunk,
                                                         (int)activations));
            }
            finally { GC.KeepAlive(model); }
        }

        Session(Session parent, SWIGTYPE_p_mixcon_session ptr)
        {
            Model = parent.Model;
            vocabSize = parent.vocabSize;
            eos = parent.eos;
            handle = Own(ptr);
        }

        static NativeHandle<SWIGTYPE_p_mixcon_session> Own(SWIGTYPE_p_mixcon_session ptr)
        {
            return new NativeHandle<SWIGTYPE_p_mixcon_session>("Session", ptr, MixconNative.session_free);
        }

        SWIGTYPE_p_mixcon_session Ptr { get { return handle.Get(); } }

        public Model Model { get; private set; }

        /// <summary>The token of the last NextText call (-1 before the first).</summary>
        public int LastToken { get; private set; } = -1;

        /// <summary>Tokens seen since the last reset.</summary>
        public long Position
        {
            get { try { return MixconNative.session_position(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>The most tokens this session can hold.</summary>
        public long MaxContext
        {
            get { try { return MixconNative.session_max_context(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Bytes of state and workspace planned at creation (weights not counted).</summary>
        public long MemoryBytes
        {
            get { try { return MixconNative.session_memory_bytes(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>The token history since the last reset.</summary>
        public int[] Tokens()
        {
            try
            {
                var tokens = new int[MixconNative.session_position(Ptr)];
                long n = MixconNative.session_tokens(Ptr, tokens, tokens.Length);
                if (n > tokens.Length)
                {
                    tokens = new int[n];
                    n = MixconNative.session_tokens(Ptr, tokens, tokens.Length);
                }
                Array.Resize(ref tokens, (int)n);
                return tokens;
            }
            finally { GC.KeepAlive(this); }
        }

        /// <summary>Resets to position 0 (an empty history).</summary>
        public void Reset()
        {
            try { MixconNative.session_reset(Ptr); } finally { GC.KeepAlive(this); }
        }

        /// <summary>Appends tokens (prefill); the last one's logits become current.</summary>
        public void Feed(params int[] tokens)
        {
            try { MixconNative.session_feed(Ptr, tokens, tokens.Length); } finally { GC.KeepAlive(this); }
        }

        /// <summary>Tokenizes text and feeds it.</summary>
        public void FeedText(string text)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            try { MixconNative.session_feed_text(Ptr, utf8, utf8.Length); } finally { GC.KeepAlive(this); }
        }

        /// <summary>A copy of the current logits (VocabSize floats).</summary>
        public float[] Logits()
        {
            try
            {
                var logits = new float[vocabSize];
                long n = MixconNative.session_logits(Ptr, logits, logits.Length);
                if (n != logits.Length)
                {
                    logits = new float[n];
                    MixconNative.session_logits(Ptr, logits, logits.Length);
                }
                return logits;
            }
            finally { GC.KeepAlive(this); }
        }

        /// <summary>Picks a token from the current logits without feeding it.</summary>
        public int Sample(Sampler sampler)
        {
            try { return MixconNative.session_sample(Ptr, sampler.Ptr); }
            finally { GC.KeepAlive(sampler); GC.KeepAlive(this); }
        }

        /// <summary>One decode step: samples a token, feeds it, returns it.</summary>
        public int Step(Sampler sampler)
        {
            try { return MixconNative.session_step(Ptr, sampler.Ptr); }
            finally { GC.KeepAlive(sampler); GC.KeepAlive(this); }
        }

        /// <summary>One decode step returning the token's text. Pieces never split a
        /// UTF-8 character, so a piece may be empty while bytes are held back.</summary>
        public string NextText(Sampler sampler)
        {
            try
            {
                long n = MixconNative.session_next_text(Ptr, sampler.Ptr, textBuf, textBuf.Length, tokenBuf, 1);
                if (n > textBuf.Length)
                {
                    textBuf = new byte[n];
                    n = MixconNative.session_next_text(Ptr, sampler.Ptr, textBuf, textBuf.Length, tokenBuf, 1);
                }
                LastToken = tokenBuf[0];
                return Encoding.UTF8.GetString(textBuf, 0, (int)n);
            }
            finally { GC.KeepAlive(sampler); GC.KeepAlive(this); }
        }

        /// <summary>Ends the text stream: the bytes still held back (an incomplete
        /// character at the end, as U+FFFD); usually "".</summary>
        public string FlushText()
        {
            try { return Sized.Text(buf => MixconNative.session_flush_text(Ptr, buf, buf.Length), 64); }
            finally { GC.KeepAlive(this); }
        }

        /// <summary>The text pieces of up to maxTokens decode steps, lazily; stops after
        /// the end-of-sequence token.</summary>
        public IEnumerable<string> Generate(Sampler sampler, int maxTokens)
        {
            for (int i = 0; i < maxTokens; i++)
            {
                string piece = NextText(sampler);
                if (piece.Length > 0)
                    yield return piece;
                if (LastToken == eos)
                    yield break;
            }
        }

        /// <summary>The state as bytes (versioned, checksummed, tied to the model).</summary>
        public byte[] SaveState()
        {
            try
            {
                var buf = new byte[MixconNative.session_state_size(Ptr)];
                long n = MixconNative.session_state_save(Ptr, buf, buf.Length);
                if (n > buf.Length)
                {
                    buf = new byte[n];
                    n = MixconNative.session_state_save(Ptr, buf, buf.Length);
                }
                if (n != buf.Length)
                    Array.Resize(ref buf, (int)n);
                return buf;
            }
            finally { GC.KeepAlive(this); }
        }

        /// <summary>Restores a saved state; a state of another model or damaged bytes
        /// throw and change nothing.</summary>
        public void LoadState(byte[] state)
        {
            try { MixconNative.session_state_load(Ptr, state, state.Length); } finally { GC.KeepAlive(this); }
        }

        /// <summary>An independent session with the same state.</summary>
        public Session Fork()
        {
            try { return new Session(this, MixconNative.session_fork(Ptr)); } finally { GC.KeepAlive(this); }
        }

        /// <summary>Makes a Feed or Step running on another thread throw Cancelled,
        /// leaving the session unchanged.</summary>
        public void Cancel()
        {
            try { MixconNative.session_cancel(Ptr); } finally { GC.KeepAlive(this); }
        }

        public bool IsClosed { get { return handle.IsClosed; } }

        public void Dispose()
        {
            handle.Release();
            GC.SuppressFinalize(this);
        }

        ~Session()
        {
            // null when the constructor threw before owning anything
            if (handle != null)
                handle.Release();
        }
    }
}
