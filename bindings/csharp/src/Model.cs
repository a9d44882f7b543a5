using System;
using System.Text;

namespace Mixcon
{
    /// <summary>A loaded .mixc model: immutable, thread-safe, shared by any number of
    /// sessions. Dispose it (using); the weights stay until the model and all its
    /// sessions are disposed or collected.</summary>
    public sealed class Model : IDisposable
    {
        readonly NativeHandle<SWIGTYPE_p_mixcon_model> handle;

        Model(SWIGTYPE_p_mixcon_model ptr)
        {
            handle = new NativeHandle<SWIGTYPE_p_mixcon_model>("Model", ptr, MixconNative.model_free);
        }

        /// <summary>Loads a model file. Arguments left null keep the library's defaults
        /// (CPU, all cores, checksums verified, mmap); the library validates the rest.</summary>
        public Model(string path, Device? device = null, int? deviceIndex = null, int? threads = null,
                     bool? verifyChecksums = null, bool? useMmap = null)
            : this(Load(Encoding.UTF8.GetBytes(path), false, device, deviceIndex, threads, verifyChecksums, useMmap))
        {
        }

        /// <summary>Loads from the bytes of a .mixc file (copied where needed).</summary>
        public static Model FromBytes(byte[] data, Device? device = null, int? deviceIndex = null,
                                      int? threads = null, bool? verifyChecksums = null)
        {
            return new Model(Load(data, true, device, deviceIndex, threads, verifyChecksums, null));
        }

        static SWIGTYPE_p_mixcon_model Load(byte[] bytes, bool fromMemory, Device? device, int? deviceIndex,
                                            int? threads, bool? verifyChecksums, bool? useMmap)
        {
            // Bits of the native `set` mask, pinned in mixcon_binding.h.
            int set = (device.HasValue ? 1 : 0) | (deviceIndex.HasValue ? 2 : 0) | (threads.HasValue ? 4 : 0)
                | (verifyChecksums.HasValue ? 8 : 0) | (useMmap.HasValue ? 16 : 0);
            int dev = device.HasValue ? (int)device.Value : 0;
            int verify = verifyChecksums.GetValueOrDefault() ? 1 : 0;
            if (fromMemory)
                return MixconNative.model_load_memory(bytes, bytes.Length, set, dev, deviceIndex.GetValueOrDefault(),
                    threads.GetValueOrDefault(), verify);
            return MixconNative.model_load(bytes, bytes.Length, set, dev, deviceIndex.GetValueOrDefault(),
                threads.GetValueOrDefault(), verify, useMmap.GetValueOrDefault() ? 1 : 0);
        }

        internal SWIGTYPE_p_mixcon_model Ptr { get { return handle.Get(); } }

        /// <summary>Vocabulary size.</summary>
        public long VocabSize
        {
            get { try { return MixconNative.model_n_vocab(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Model width.</summary>
        public long DModel
        {
            get { try { return MixconNative.model_d_model(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Number of layers.</summary>
        public long Layers
        {
            get { try { return MixconNative.model_n_layers(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Layers whose mixer is attention.</summary>
        public long AttentionLayers
        {
            get { try { return MixconNative.model_n_attention_layers(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Layers whose mixer is Conba.</summary>
        public long ConbaLayers
        {
            get { try { return MixconNative.model_n_conba_layers(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Layers whose FFN is a mixture of experts.</summary>
        public long MoeLayers
        {
            get { try { return MixconNative.model_n_moe_layers(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>The largest context the model was built for.</summary>
        public long MaxContext
        {
            get { try { return MixconNative.model_max_context(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Number of weight values.</summary>
        public long ParamCount
        {
            get { try { return MixconNative.model_n_params(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Bytes the weights occupy in memory.</summary>
        public long WeightBytes
        {
            get { try { return MixconNative.model_weight_bytes(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>The most bytes one NextText piece can have.</summary>
        public long MaxPieceBytes
        {
            get { try { return MixconNative.model_max_piece_bytes(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>CPU threads the model was loaded with.</summary>
        public int Threads
        {
            get { try { return MixconNative.model_n_threads(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Beginning-of-sequence token id, -1 if none.</summary>
        public int BosId
        {
            get { try { return MixconNative.model_bos_id(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>End-of-sequence token id, -1 if none.</summary>
        public int EosId
        {
            get { try { return MixconNative.model_eos_id(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Unknown-piece token id, -1 if none.</summary>
        public int UnkId
        {
            get { try { return MixconNative.model_unk_id(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Padding token id, -1 if none.</summary>
        public int PadId
        {
            get { try { return MixconNative.model_pad_id(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Whether text calls work (the file has a SentencePiece tokenizer).</summary>
        public bool HasTokenizer
        {
            get { try { return MixconNative.model_has_tokenizer(Ptr) != 0; } finally { GC.KeepAlive(this); } }
        }

        /// <summary>The device the model runs on.</summary>
        public Device Device
        {
            get { try { return (Device)MixconNative.model_device(Ptr); } finally { GC.KeepAlive(this); } }
        }

        /// <summary>Whether models can be placed on the device in this build, on this machine.</summary>
        public static bool BackendAvailable(Device device)
        {
            return MixconNative.backend_available((int)device) != 0;
        }

        /// <summary>The file's metadata object as JSON text.</summary>
        public string MetadataJson
        {
            get
            {
                try
                {
                    return Sized.Text(buf => MixconNative.model_metadata_json(Ptr, buf, buf.Length), 4096);
                }
                finally { GC.KeepAlive(this); }
            }
        }

        /// <summary>The file's config object (architecture and sizes) as JSON text.</summary>
        public string ConfigJson
        {
            get
            {
                try { return Sized.Text(buf => MixconNative.model_config_json(Ptr, buf, buf.Length), 4096); }
                finally { GC.KeepAlive(this); }
            }
        }

        /// <summary>The token ids of text, preceded by BOS if addBos (null: the
        /// tokenizer's default).</summary>
        public int[] Tokenize(string text, bool? addBos = null)
        {
            int bos = addBos.HasValue ? (addBos.Value ? 1 : 0) : -1;
            try
            {
                byte[] utf8 = Encoding.UTF8.GetBytes(text);
                // At most one token per byte plus the dummy prefix for SentencePiece;
                // the size query covers any tokenizer that needs more.
                var tokens = new int[utf8.Length + 2];
                long n = MixconNative.tokenize(Ptr, utf8, utf8.Length, bos, tokens, tokens.Length);
                if (n > tokens.Length)
                {
                    tokens = new int[n];
                    n = MixconNative.tokenize(Ptr, utf8, utf8.Length, bos, tokens, tokens.Length);
                }
                Array.Resize(ref tokens, (int)n);
                return tokens;
            }
            finally { GC.KeepAlive(this); }
        }

        /// <summary>The text of a token sequence.</summary>
        public string Detokenize(params int[] tokens)
        {
            try
            {
                return Sized.Text(buf => MixconNative.detokenize(Ptr, tokens, tokens.Length, buf, buf.Length),
                                  8 * tokens.Length + 16);
            }
            finally { GC.KeepAlive(this); }
        }

        /// <summary>The bytes one token adds in the middle of a text (a byte-fallback
        /// token's single byte may be an incomplete UTF-8 sequence, hence bytes).</summary>
        public byte[] TokenToPiece(int token)
        {
            try { return Sized.Bytes(buf => MixconNative.token_to_piece(Ptr, token, buf, buf.Length), 64); }
            finally { GC.KeepAlive(this); }
        }

        /// <summary>A new session; 0 for maxContext or threads means the model's value;
        /// kvDtype F16 or BF16 halves the KV cache; prompts are fed in passes of
        /// prefillChunk tokens (0 = 512; more is faster and plans more memory);
        /// activations Q8_0 rounds the input of products with q8_0 weights to int8 and
        /// multiplies in integers, BF16 that of products with bf16 weights to bf16 (faster
        /// prefill, logits within a few 1e-3 of the largest; F32, the default, is
        /// exact).</summary>
        public Session NewSession(long maxContext = 0, int threads = 0, KvDtype kvDtype = KvDtype.F32,
                                  long prefillChunk = 0, Activations activations = Activations.F32)
        {
            return new Session(this, maxContext, threads, kvDtype, prefillChunk, activations);
        }

        public bool IsClosed { get { return handle.IsClosed; } }

        public void Dispose()
        {
            handle.Release();
            GC.SuppressFinalize(this);
        }

        ~Model()
        {
            // null when the constructor threw before owning anything
            if (handle != null)
                handle.Release();
        }
    }
}
