using Tsavorite.core;

namespace FlashWal.Bench;

/// <summary>
/// TsavoriteLog (Microsoft.Garnet 2.2.12's Tsavorite.core, FasterLog's maintained successor), set up
/// as FasterLog is here, with the FileStream device: its native device needs a newer glibc than
/// these machines have.
/// </summary>
internal sealed class TsavoriteLogSystem : ILogSystem
{
    private readonly IDevice _device;
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

        int pageBits = Math.Min(_segmentBits - 2, 22);
        _device = Devices.CreateLogDevice(Path.Combine(dir, "tsavorite.log"), DeviceType.FileStream, preallocateFile: false, deleteOnClose: true);
        var settings = new TsavoriteLogSettings
        {
            LogDevice = _device,
            LogChecksum = LogChecksumType.PerEntry,
            LogCommitDir = Path.Combine(dir, "commits"),
        };
        settings.SegmentSizeBits = _segmentBits;
        settings.PageSizeBits = pageBits;
        settings.MemorySizeBits = Math.Max(pageBits + 2, Math.Min(_segmentBits + 1, 26));
        _log = new TsavoriteLog(settings, logger: null);
    }

    public const string Settings =
        "TsavoriteLog (Microsoft.Garnet 2.2.12), Devices.CreateLogDevice(DeviceType.FileStream, preallocateFile: false) defaults, SegmentSizeBits = log2(segment size), PageSizeBits = segment/4 (max 4 MiB), MemorySizeBits = 4 pages min, LogChecksum = PerEntry; Commit = Commit(spinWait: false), durable = Commit(spinWait: true)";

    public string Name { get; }

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
