using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace FlashWal.Storage;

/// <summary>
/// Anonymous memory made resident and writable in this process's page tables before its first use,
/// with the strategy checked by measurement: the recorder's staging ring (and, with no prefault, the
/// recovery's read buffers, for the alignment and huge pages).
/// </summary>
/// <remarks>
/// <para>Why a check: on a guest with shadow paging (a paravirtualised VM) a page that
/// <c>MADV_POPULATE_WRITE</c> made present still costs several microseconds at its first store from
/// user mode, because the hypervisor fills its own page table only then; on bare metal and with
/// nested paging populate is enough. <see cref="PrefaultMode.Auto"/> therefore populates, times one
/// store into each of a sample of pages, and when the median still looks like a fault, writes every
/// page (<see cref="PrefaultMode.Touch"/>) and times again. What it chose and why is
/// <see cref="Choice"/>.</para>
/// <para>The region is 2 MiB aligned and asked for transparent huge pages (<c>MADV_HUGEPAGE</c>,
/// honoured where the kernel's setting is <c>madvise</c> or <c>always</c>): fewer TLB entries, and
/// no later collapse by khugepaged under the writer.</para>
/// </remarks>
internal sealed unsafe class ResidentMemory : IDisposable
{
    /// <summary>A store slower than this (in ns, timer included) is a fault, not a cache miss.</summary>
    internal const double FaultThresholdNs = 500;

    private const int Alignment = 2 << 20;
    private const int SamplePages = 64;

    private byte* _pointer;

    private ResidentMemory(byte* pointer, long size)
    {
        _pointer = pointer;
        Size = size;
    }

    /// <summary>The first byte (2 MiB aligned).</summary>
    public byte* Pointer => _pointer != null ? _pointer : throw new ObjectDisposedException(nameof(ResidentMemory));

    /// <summary>Bytes.</summary>
    public long Size { get; }

    /// <summary>How the pages were made resident.</summary>
    public PrefaultMode Used { get; private set; }

    /// <summary>Median time of one store into a page nothing had stored into yet, after the prefault (ns, timer included); NaN when not measured (<see cref="PrefaultMode.None"/>).</summary>
    public double FirstWriteNs { get; private set; } = double.NaN;

    /// <summary>What was chosen and why, in a sentence.</summary>
    public string Choice { get; private set; } = "";

    /// <summary>Allocates <paramref name="size"/> bytes (a multiple of the page size) and makes them resident by <paramref name="mode"/>.</summary>
    /// <exception cref="IOException">The prefault failed (the message names the call and the error).</exception>
    public static ResidentMemory Allocate(long size, PrefaultMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, Environment.SystemPageSize);
        var memory = new ResidentMemory(Map(size), size);
        try
        {
            memory.Prefault(mode);
            return memory;
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    private void Prefault(PrefaultMode mode)
    {
        int page = Environment.SystemPageSize;
        long pages = Size / page;
        if (OperatingSystem.IsLinux())
        {
            _ = NativeMethods.madvise(_pointer, (nuint)Size, NativeMethods.MadvHugePage); // a hint: EINVAL without THP
        }

        if (mode == PrefaultMode.None)
        {
            Used = PrefaultMode.None;
            Choice = "none asked: each page faults at its first store (the staging ring: on the writer's first lap)";
            return;
        }

        if (mode is PrefaultMode.Auto or PrefaultMode.PopulateWrite && OperatingSystem.IsLinux())
        {
            if (NativeMethods.madvise(_pointer, (nuint)Size, NativeMethods.MadvPopulateWrite) == 0)
            {
                Used = PrefaultMode.PopulateWrite;
                FirstWriteNs = TimeFirstStores(0, pages);
                string populated = string.Create(CultureInfo.InvariantCulture, $"MADV_POPULATE_WRITE left {FirstWriteNs:F0} ns at a page's first store");
                if (mode == PrefaultMode.PopulateWrite || FirstWriteNs < FaultThresholdNs)
                {
                    Choice = populated;
                    return;
                }

                Touch(page);
                Used = PrefaultMode.Touch;
                FirstWriteNs = TimeFirstStores(1, pages);
                Choice = string.Create(CultureInfo.InvariantCulture, $"{populated} (a fault: this host fills its page tables lazily), so every page was written: {FirstWriteNs:F0} ns after");
                return;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (mode == PrefaultMode.PopulateWrite || errno != NativeMethods.EInval)
            {
                throw new IOException($"madvise(MADV_POPULATE_WRITE) of the staging ring failed: {new Win32Exception(errno).Message}");
            }
        }

        Touch(page);
        Used = PrefaultMode.Touch;
        FirstWriteNs = TimeFirstStores(0, pages);
        Choice = string.Create(CultureInfo.InvariantCulture, $"every page written{(mode == PrefaultMode.Touch ? "" : " (no MADV_POPULATE_WRITE here)")}: {FirstWriteNs:F0} ns at a page's next store");
    }

    private void Touch(int page)
    {
        for (long offset = 0; offset < Size; offset += page)
        {
            Volatile.Write(ref _pointer[offset], 0);
        }
    }

    /// <summary>
    /// Median time of one store into each of up to 64 pages spread over the region, at byte
    /// <paramref name="byteInPage"/> of each (a different byte for each measurement, so the stores
    /// are new ones).
    /// </summary>
    private double TimeFirstStores(int byteInPage, long pages)
    {
        int page = Environment.SystemPageSize;
        int samples = (int)Math.Min(SamplePages, pages);
        Span<long> ticks = stackalloc long[samples];
        for (int i = 0; i < samples; i++)
        {
            long offset = (pages * i / samples * page) + 64 + byteInPage;
            long start = Stopwatch.GetTimestamp();
            Volatile.Write(ref _pointer[offset], 0);
            ticks[i] = Stopwatch.GetTimestamp() - start;
        }

        ticks.Sort();
        return ticks[samples / 2] * 1e9 / Stopwatch.Frequency;
    }

    public void Dispose()
    {
        if (_pointer != null)
        {
            if (OperatingSystem.IsLinux())
            {
                _ = NativeMethods.munmap(_pointer, (nuint)Size); // only fails for a range that was never mapped
            }
            else
            {
                NativeMemory.AlignedFree(_pointer);
            }

            _pointer = null;
        }
    }

    /// <summary>
    /// <paramref name="size"/> bytes, 2 MiB aligned. On Linux an anonymous mapping of its own (mapped
    /// with 2 MiB to spare, the unaligned ends unmapped), not the C allocator's: its pages are fresh,
    /// so a prefault's measurement measures this memory (malloc may hand back a freed region whose pages
    /// are resident already), and disposing returns them to the system at once (a recovery's read
    /// buffers are three segments long).
    /// </summary>
    /// <exception cref="InsufficientMemoryException">The mapping failed.</exception>
    private static byte* Map(long size)
    {
        if (!OperatingSystem.IsLinux())
        {
            return (byte*)NativeMemory.AlignedAlloc((nuint)size, Alignment);
        }

        nuint span = (nuint)size + Alignment;
        byte* mapped = (byte*)NativeMethods.mmap(null, span, NativeMethods.ProtReadWrite, NativeMethods.MapPrivateAnonymous, -1, 0);
        if (mapped == (byte*)-1)
        {
            throw new InsufficientMemoryException($"mmap of {size} bytes failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }

        byte* aligned = (byte*)(((nuint)mapped + (Alignment - 1)) & ~(nuint)(Alignment - 1));
        nuint head = (nuint)(aligned - mapped);
        if (head > 0)
        {
            _ = NativeMethods.munmap(mapped, head);
        }

        nuint tail = span - head - (nuint)size;
        if (tail > 0)
        {
            _ = NativeMethods.munmap(aligned + size, tail);
        }

        return aligned;
    }
}
