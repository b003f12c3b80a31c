using FASTER.core;
using FlashWal.Recording;

namespace FlashWal.Bench;

/// <summary>One log under test, driven the same way whatever it is: append, commit, durable flush.</summary>
/// <remarks>
/// Every system is called through this interface (one interface call per operation, the same for all).
/// <see cref="Segment"/> is read after each timed append to find the appends that rotated segments.
/// </remarks>
internal interface ILogSystem : IDisposable
{
    string Name { get; }

    /// <summary>A number that changes when the log moves to a new segment (file).</summary>
    long Segment { get; }

    void Append(ReadOnlySpan<byte> payload);

    /// <summary>Asks for the appended events to be committed (FlashWal: RequestCommit; FasterLog and TsavoriteLog: Commit(spinWait: false); none waits for it; FileStream: Flush(), which writes).</summary>
    void Commit();

    /// <summary>Makes appended events durable and returns when they are.</summary>
    void Flush();

    /// <summary>Events committed but not yet durable (0 where every commit is durable or unknown).</summary>
    long DurableLag { get; }

    /// <summary>How many events one <see cref="AppendBatch"/> call takes (1: the system appends one at a time).</summary>
    int BatchSize => 1;

    /// <summary>Appends <paramref name="count"/> events of <paramref name="size"/> bytes each, laid out one after another in <paramref name="payloads"/>.</summary>
    void AppendBatch(ReadOnlySpan<byte> payloads, int size, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Append(payloads.Slice(i * size, size));
        }
    }
}

/// <summary>Which system, and how it is configured; <see cref="Open"/> makes one in a fresh directory.</summary>
internal sealed record SystemSpec(string Name, string Settings, Func<string, long, ILogSystem> Factory)
{
    public ILogSystem Open(string dir, long segmentSize) => Factory(dir, segmentSize);

    public static SystemSpec FlashWal(DurabilityPolicy durability = DurabilityPolicy.None, bool preparer = true, string? name = null, TimeSpan? syncInterval = null, Threading.ThreadPlacement? background = null) =>
        new(name ?? (preparer ? "FlashWal" : "FlashWal (no preparer)"),
            $"WalRecorder, UsePreparer={preparer}, Durability={durability}{(syncInterval is { } s ? $", SyncInterval={s.TotalMilliseconds} ms" : "")}, block 64 KiB, prefault Auto, CRC-32C per block by the thread that writes it into the file{(background is { IsAnywhere: false } ? $", background threads on {background}" : "")}",
            (dir, size) => new FlashWalSystem(dir, new WalRecorderOptions
            {
                SegmentSize = size,
                UsePreparer = preparer,
                Durability = durability,
                SyncInterval = syncInterval ?? TimeSpan.FromMilliseconds(10),
                BackgroundThreads = background ?? Threading.ThreadPlacement.Anywhere,
            }, name ?? (preparer ? "FlashWal" : "FlashWal (no preparer)")));

    /// <summary>FlashWal whose commits wait until their blocks are in the file (<see cref="WalRecorder.Commit"/>), where the peers' commits return at once.</summary>
    public static SystemSpec FlashWalWaitingCommit() =>
        new("FlashWal (Commit waits)", "as FlashWal, committing with WalRecorder.Commit, which returns once the blocks are in the file (survive a killed process); the peers' Commit(spinWait: false) and FlashWal's RequestCommit return at once",
            (dir, size) => new FlashWalSystem(dir, new WalRecorderOptions { SegmentSize = size, Durability = DurabilityPolicy.None }, "FlashWal (Commit waits)") { WaitingCommit = true });

    /// <summary>FlashWal appending <paramref name="batch"/> events a call (<see cref="WalRecorder.AppendBatch{T}"/>).</summary>
    public static SystemSpec FlashWalBatch(int batch) =>
        new($"FlashWal (batch of {batch})", $"WalRecorder.AppendBatch, {batch} events a call (one clock read, one CRC update per block's run), otherwise as FlashWal",
            (dir, size) => new FlashWalSystem(dir, new WalRecorderOptions { SegmentSize = size, Durability = DurabilityPolicy.None }, $"FlashWal (batch of {batch})") { BatchSize = batch });

    /// <summary>FlashWal appending through <see cref="WalRecorder.Claim"/> and <see cref="WalRecorder.Publish"/> (the payload written into the claimed span).</summary>
    public static SystemSpec FlashWalClaim() =>
        new("FlashWal (claim)", "WalRecorder.Claim + Publish, the payload copied into the claimed span (what a serializer writing in place costs at least), otherwise as FlashWal",
            (dir, size) => new FlashWalSystem(dir, new WalRecorderOptions { SegmentSize = size, Durability = DurabilityPolicy.None }, "FlashWal (claim)") { UseClaim = true });

    public static SystemSpec Faster(string name = "FasterLog") =>
        new(name, "FasterLog 2.6.5, Devices.CreateLogDevice(preallocateFile: false) defaults, SegmentSizeBits = log2(segment size), PageSizeBits = segment/4 (max 4 MiB), MemorySizeBits = 4 pages min, LogChecksum = PerEntry, AutoRefreshSafeTailAddress off; Commit = Commit(spinWait: false), durable = Commit(spinWait: true)",
            (dir, size) => new FasterLogSystem(dir, size, name));

    public static SystemSpec Tsavorite(string name = "TsavoriteLog") =>
        new(name, TsavoriteLogSystem.Settings, (dir, size) => new TsavoriteLogSystem(dir, size, name));

    public static SystemSpec FileStream(string name = "FileStream") =>
        new(name, "FileStream append, 4-byte length + payload, 64 KiB buffer, a new file at the same segment size; Commit = Flush(), durable = Flush(flushToDisk: true)",
            (dir, size) => new FileStreamSystem(dir, size, name));
}

internal sealed class FlashWalSystem(string dir, WalRecorderOptions options, string name) : ILogSystem
{
    private readonly WalRecorder _recorder = WalRecorder.Open(dir, options);
    private readonly bool _everyCommit = options.Durability == DurabilityPolicy.EveryCommit;
    private readonly bool _interval = options.Durability == DurabilityPolicy.Interval;

    public string Name => name;

    public WalRecorder Recorder => _recorder;

    public long Segment => _recorder.ActiveSegmentIndex;

    public long DurableLag => _recorder.CommittedEventId - _recorder.DurableEventId;

    public void Append(ReadOnlySpan<byte> payload)
    {
        if (UseClaim)
        {
            payload.CopyTo(_recorder.Claim(payload.Length, out _, 1));
            _recorder.Publish();
        }
        else
        {
            _recorder.Append(payload, 1);
        }
    }

    /// <summary>Append through Claim and Publish.</summary>
    public bool UseClaim { get; init; }

    public int BatchSize { get; init; } = 1;

    /// <summary>One <see cref="WalRecorder.AppendBatch{T}"/> call, the payloads seen as fixed-size structs of their size.</summary>
    public void AppendBatch(ReadOnlySpan<byte> payloads, int size, int count)
    {
        ReadOnlySpan<byte> bytes = payloads[..(size * count)];
        _ = size switch
        {
            64 => _recorder.AppendBatch(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Bytes64>(bytes), 1),
            4096 => _recorder.AppendBatch(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Bytes4096>(bytes), 1),
            _ => throw new ArgumentOutOfRangeException(nameof(size), size, "The batch rows use 64- and 4096-byte events."),
        };
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Size = 64)]
    private struct Bytes64
    {
        public long First;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Size = 4096)]
    private struct Bytes4096
    {
        public long First;
    }

    /// <summary>
    /// <see cref="WalRecorder.RequestCommit"/> (seal; the flusher writes the block), as FasterLog's and
    /// TsavoriteLog's <c>Commit(spinWait: false)</c>; with <see cref="WaitingCommit"/>,
    /// <see cref="WalRecorder.Commit"/>, which returns once the blocks are in the file. Under
    /// EveryCommit durability always <see cref="WalRecorder.Commit"/>: that is the policy's meaning.
    /// </summary>
    public void Commit()
    {
        if (WaitingCommit || _everyCommit)
        {
            _recorder.Commit();
        }
        else
        {
            _recorder.RequestCommit();
        }
    }

    /// <summary>Commit through <see cref="WalRecorder.Commit"/> (waits for the file) rather than <see cref="WalRecorder.RequestCommit"/>.</summary>
    public bool WaitingCommit { get; init; }

    /// <summary>The durable flush each policy implies: EveryCommit commits; Interval commits and waits for the background flush; None flushes.</summary>
    public void Flush()
    {
        if (_everyCommit)
        {
            _recorder.Commit();
        }
        else if (_interval)
        {
            long id = _recorder.Commit();
            _recorder.WaitForDurable(id, TimeSpan.FromSeconds(30));
        }
        else
        {
            _recorder.Flush();
        }
    }

    public void Dispose() => _recorder.Dispose();
}

internal sealed class FasterLogSystem : ILogSystem
{
    private readonly IDevice _device;
    private readonly FasterLog _log;
    private readonly int _segmentBits;

    public FasterLogSystem(string dir, long segmentSize, string name)
    {
        Name = name;
        _segmentBits = System.Numerics.BitOperations.Log2((ulong)segmentSize);
        if (1L << _segmentBits != segmentSize)
        {
            throw new ArgumentException($"FasterLog segments are powers of two; {segmentSize} is not.", nameof(segmentSize));
        }

        int pageBits = Math.Min(_segmentBits - 2, 22);
        _device = Devices.CreateLogDevice(Path.Combine(dir, "faster.log"), preallocateFile: false, deleteOnClose: true);
        _log = new FasterLog(new FasterLogSettings
        {
            LogDevice = _device,
            SegmentSizeBits = _segmentBits,
            PageSizeBits = pageBits,
            MemorySizeBits = Math.Max(pageBits + 2, Math.Min(_segmentBits + 1, 26)),
            LogChecksum = LogChecksumType.PerEntry,
            LogCommitDir = Path.Combine(dir, "commits"),
        });
    }

    public string Name { get; }

    public FasterLog Log => _log;

    public long Segment => _log.TailAddress >> _segmentBits;

    public long DurableLag => 0;

    public void Append(ReadOnlySpan<byte> payload) => _log.Enqueue(payload);

    public void Commit() => _log.Commit(spinWait: false);

    public void Flush() => _log.Commit(spinWait: true);

    public void Dispose()
    {
        _log.Dispose();
        _device.Dispose();
    }
}

internal sealed class FileStreamSystem(string dir, long segmentSize, string name) : ILogSystem
{
    private System.IO.FileStream _file = Create(dir, 0);
    private long _segment;
    private long _position;

    public string Name => name;

    public long Segment => _segment;

    public long DurableLag => 0;

    public void Append(ReadOnlySpan<byte> payload)
    {
        int length = payload.Length + 4;
        if (_position + length > segmentSize)
        {
            _file.Flush(flushToDisk: true);
            _file.Dispose();
            _file = Create(dir, ++_segment);
            _position = 0;
        }

        Span<byte> header = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header, payload.Length);
        _file.Write(header);
        _file.Write(payload);
        _position += length;
    }

    public void Commit() => _file.Flush();

    public void Flush() => _file.Flush(flushToDisk: true);

    public void Dispose() => _file.Dispose();

    private static System.IO.FileStream Create(string dir, long index) =>
        new(Path.Combine(dir, $"{index:D8}.log"), FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
}

/// <summary>
/// Appends nothing: the paced loop, the two clock reads and the interface call alone. Its tail is what
/// the host (timer interrupts, the hypervisor, other threads) does to any thread, whatever it runs, so
/// no system's percentile below it can be asked of the code.
/// </summary>
internal sealed class HostFloorSystem : ILogSystem
{
    public const string SystemName = "host floor (nothing appended)";

    public static SystemSpec Spec { get; } = new(SystemName, "an Append that returns at once: the loop, clock reads and interface call every row pays, and the host's interruptions", (_, _) => new HostFloorSystem());

    public string Name => SystemName;

    public long Segment => 0;

    public long DurableLag => 0;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public void Append(ReadOnlySpan<byte> payload)
    {
    }

    public void Commit()
    {
    }

    public void Flush()
    {
    }

    public void Dispose()
    {
    }
}
