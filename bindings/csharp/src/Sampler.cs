using System;

namespace Mixcon
{
    /// <summary>How the next token is picked from the logits. Settings left null keep
    /// the library's defaults; temperature 0 is greedy. The same seed, model and
    /// inputs give the same tokens.</summary>
    public sealed class Sampler : IDisposable
    {
        readonly NativeHandle<SWIGTYPE_p_mixcon_sampler> handle;

        /// <summary>Arguments left null keep the library's defaults (temperature 0.8,
        /// top-k 40, top-p 0.95, min-p 0.05, no repetition penalty, window 64, seed 0);
        /// the library rejects out-of-range values. repetitionWindow -1 looks back over
        /// the whole history; any seed is valid.</summary>
        public Sampler(double? temperature = null, int? topK = null, double? topP = null,
                       double? minP = null, double? repetitionPenalty = null,
                       long? repetitionWindow = null, long? seed = null)
        {
            // Bits of the native `set` mask, pinned in mixcon_binding.h.
            int set = (temperature.HasValue ? 1 : 0) | (topK.HasValue ? 2 : 0) | (topP.HasValue ? 4 : 0)
                | (minP.HasValue ? 8 : 0) | (repetitionPenalty.HasValue ? 16 : 0)
                | (repetitionWindow.HasValue ? 32 : 0) | (seed.HasValue ? 64 : 0);
            handle = new NativeHandle<SWIGTYPE_p_mixcon_sampler>("Sampler",
                MixconNative.sampler_create(set, temperature.GetValueOrDefault(), topK.GetValueOrDefault(),
                    topP.GetValueOrDefault(), minP.GetValueOrDefault(), repetitionPenalty.GetValueOrDefault(),
                    repetitionWindow.GetValueOrDefault(), seed.GetValueOrDefault()),
                MixconNative.sampler_free);
        }

        /// <summary>Always the most likely token.</summary>
        public static Sampler Greedy()
        {
            return new Sampler(temperature: 0);
        }

        internal SWIGTYPE_p_mixcon_sampler Ptr { get { return handle.Get(); } }

        public bool IsClosed { get { return handle.IsClosed; } }

        public void Dispose()
        {
            handle.Release();
            GC.SuppressFinalize(this);
        }

        ~Sampler()
        {
            // null when the constructor threw before owning anything
            if (handle != null)
                handle.Release();
        }
    }
}
