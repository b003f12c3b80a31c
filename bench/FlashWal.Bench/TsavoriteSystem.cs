using Tsavorite.core;

namespace FlashWal.Bench;

/// <summary>
/// TsavoriteLog (Microsoft.Garnet 2.2.12's Tsavorite.core, FasterLog's maintained successor), set up
/// as FasterLog is here, with the FileStream device for the log and for its commit records: the native
/// device needs a newer glibc than these machines have.
/// </summary>
/// <remarks>
/// The commit manager must be given: the default one opens its files on <c>DeviceType.Default</c>,
/// the native device here, fails to, and no commit ever completes (CommittedUntilAddress stays at the
/// log's start and <c>Commit(spinWait: true)</c> never returns), silently. Rows measured before
/// 2026-12-05 16:40 UTC had TsavoriteLog commits that did nothing.
/// </remarks>
internal sealed class TsavoriteLogSystem : ILogSystem
{
    private readonly TsavoriteFiles _files;
    private readonly TsavoriteLog _log;
    private readonly int _segmentBits;

    public TsavoriteLogSystem(string dir, long segmentSize, string name)
    {
        Name = name;
        _segmentBits = System.Numerics.BitOperations.Log2((ulong)segmentSize);
        if (1L << _segmentBits != segmentSize)
        {
            throw new ArgumentException($"TsavoriteLog segments are powers of two; {segmentSize} is not.", nameof(segmentSize));
        }

        _files = new TsavoriteFiles(dir, deleteOnClose: true);
        _log = new TsavoriteLog(_files.Settings(segmentSize), logger: null);
    }

    public const string Settings =
        "TsavoriteLog (Microsoft.Garnet 2.2.12), Devices.CreateLogDevice(DeviceType.FileStream, preallocateFile: false) defaults, commit records through DeviceLogCommitCheckpointManager on DeviceType.FileStream, SegmentSizeBits = log2(segment size), PageSizeBits = segment/4 (max 4 MiB), MemorySizeBits = 4 pages min, LogChecksum = PerEntry; Commit = Commit(spinWait: false), durable = Commit(spinWait: true)";

    public string Name { get; }

    public long Segment => _log.TailAddress >> _segmentBits;

    public long DurableLag => 0;

    public void Append(ReadOnlySpan<byte> payload) => _log.Enqueue(payload);

    public void Commit() => _log.Commit(spinWait: false);

    public void Flush() => _log.Commit(spinWait: true);

    public void Dispose()
    {
        _log.Dispose();
        _files.Dispose();
    }
}

/// <summary>A TsavoriteLog's device and commit manager in a directory, both on the FileStream device, and the settings every use here shares.</summary>
internal sealed class TsavoriteFiles(string dir, bool deleteOnClose) : IDisposable
{
    private readonly IDevice _device = Devices.CreateLogDevice(Path.Combine(dir, "tsavorite.log"), DeviceType.FileStream, preallocateFile: false, deleteOnClose: deleteOnClose);
    private readonly DeviceLogCommitCheckpointManager _commits = new(
        new LocalStorageNamedDeviceFactoryCreator(deviceType: DeviceType.FileStream),
        new DefaultCheckpointNamingScheme(Path.Combine(dir, "commits")));

    public TsavoriteLogSettings Settings(long segmentSize)
    {
        int bits = System.Numerics.BitOperations.Log2((ulong)segmentSize);
        int pageBits = Math.Min(bits - 2, 22);
        return new TsavoriteLogSettings
        {
            LogDevice = _device,
            LogCommitManager = _commits,
            SegmentSizeBits = bits,
            PageSizeBits = pageBits,
            MemorySizeBits = Math.Max(pageBits + 2, Math.Min(bits + 1, 26)),
            LogChecksum = LogChecksumType.PerEntry,
        };
    }

    public void Dispose()
    {
        _commits.Dispose();
        _device.Dispose();
    }
}

/// <summary>TsavoriteLog written and scanned for <see cref="PeerScans"/>, set up as <see cref="TsavoriteLogSystem"/> is.</summary>
internal static class TsavoriteScan
{
    public static long Write(string dir, int events, long segmentSize)
    {
        using var files = new TsavoriteFiles(dir, deleteOnClose: false);
        using var log = new TsavoriteLog(files.Settings(segmentSize), logger: null);
        PeerLog.Fill(events, payload => log.Enqueue(payload), () => log.Commit(spinWait: false));

        log.Commit(spinWait: true);
        return log.TailAddress - log.BeginAddress;
    }

    public static unsafe long Scan(string dir, long segmentSize)
    {
        using var files = new TsavoriteFiles(dir, deleteOnClose: false);
        using var log = new TsavoriteLog(files.Settings(segmentSize), logger: null);
        long n = 0;
        long sum = 0;
        using (TsavoriteLogScanIterator iterator = log.Scan(log.BeginAddress, log.TailAddress))
        {
            while (iterator.UnsafeGetNext(out byte* entry, out int length, out _, out _))
            {
                sum += PeerLog.Sum(entry, length);

                iterator.UnsafeRelease();
                n++;
            }
        }

        GC.KeepAlive(sum);
        return n;
    }
}
