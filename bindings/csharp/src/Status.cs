namespace Mixcon
{
    /// <summary>The C API's mixcon_status codes. The numbers are pinned forever by
    /// capi/mixcon.h (StatusTest checks each name against mixcon_status_string).</summary>
    public enum Status
    {
        Ok = 0,
        InvalidArgument = 1,
        BufferTooSmall = 2,
        Io = 3,
        Format = 4,
        Checksum = 5,
        Unsupported = 6,
        OutOfMemory = 7,
        ContextFull = 8,
        Cancelled = 9,
        Backend = 10,
        Internal = 11,
    }

    /// <summary>Where a model's weights live and its sessions compute (mixcon_device).</summary>
    public enum Device
    {
        Cpu = 0,
        Cuda = 1,
        /// <summary>CUDA when available, else the CPU (loading only).</summary>
        Auto = 2,
    }

    /// <summary>What a session's attention KV cache holds (mixcon_dtype; pinned numbers).
    /// F32 is exact; F16 and BF16 halve the cache memory and what a long-context decode
    /// step reads, at the cost of rounding each key and value once; Q8_0 takes about a
    /// quarter (32-value blocks with a scale; head_dim a multiple of 32; CPU only).</summary>
    public enum KvDtype
    {
        F32 = 0,
        F16 = 1,
        BF16 = 2,
        Q8_0 = 3,
    }

    /// <summary>What a session's products round their input to (mixcon_dtype; pinned
    /// numbers). F32: nothing, every product exact. Q8_0: products with q8_0 weights round
    /// their activations to int8 (32-value blocks with a scale) and multiply each block in
    /// integers: about 2x faster prefill with VNNI, about 1.2x with AVX2 alone, logits move by
    /// about 5e-3 of the largest.
    /// BF16: products with bf16 weights round them to bf16: faster prefill with AVX512_BF16,
    /// logits move by about 2e-3. Products with weights of other dtypes stay exact. Q8_0 is
    /// CPU only; BF16 also runs on CUDA (tensor cores).</summary>
    public enum Activations
    {
        F32 = 0,
        BF16 = 2,
        Q8_0 = 3,
    }
}
