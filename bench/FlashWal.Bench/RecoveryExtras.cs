using System.Diagnostics;
using FASTER.core;
using FlashWal.Reading;
using FlashWal.Recovery;
using FlashWal.Telemetry;

namespace FlashWal.Bench;

/// <summary>The recovery scenario's table beyond the preloader's: time to the first event after a seek.</summary>
internal static class RecoveryExtras
{
    public static void Add(ScenarioResult result, string dir, bool quick)
    {
        // Time to the first event after ResumeFrom a middle id: open (catalog), seek, first read.
        int seeks = quick ? 3 : 20;
        var open = new LatencyHistogram();
        var first = new LatencyHistogram();
        for (int i = -1; i < seeks; i++)
        {
            long a = Stopwatch.GetTimestamp();
            using WalRecovery recovery = WalRecovery.Open(dir, new RecoveryOptions { UsePreloader = true });
            long b = Stopwatch.GetTimestamp();
            long mid = recovery.Catalog.FirstEventId + ((recovery.Catalog.LastEventId - recovery.Catalog.FirstEventId) / 2) + i;
            if (!recovery.ResumeFrom(mid) || !recovery.TryReadNext(out WalEvent e) || e.EventId != mid)
            {
                throw new InvalidOperationException($"ResumeFrom({mid}) did not yield event {mid}");
            }

            long c = Stopwatch.GetTimestamp();
            if (i >= 0)
            {
                open.Record(Timing.Ns(b - a));
                first.Record(Timing.Ns(c - b));
            }
        }

        LatencySnapshot o = open.Snapshot();
        LatencySnapshot f = first.Snapshot();
        result.Tables.Add(new ResultTable($"time to the first event after ResumeFrom a middle id ({seeks} tries, µs)", ["step", "p50", "p99", "max"],
        [
            ["WalRecovery.Open (catalog of every segment)", Stats.F(o.P50 / 1e3, 0), Stats.F(o.P99 / 1e3, 0), Stats.F(o.Max / 1e3, 0)],
            ["ResumeFrom(middle) + first TryReadNext", Stats.F(f.P50 / 1e3, 0), Stats.F(f.P99 / 1e3, 0), Stats.F(f.Max / 1e3, 0)],
        ]));
    }
}

/// <summary>FasterLog written and scanned for <see cref="PeerScans"/>.</summary>
internal static class FasterScan
{
    private static FasterLogSettings Settings(string dir, long segmentSize, IDevice device)
    {
        int bits = System.Numerics.BitOperations.Log2((ulong)segmentSize);
        return new FasterLogSettings
        {
            LogDevice = device,
            SegmentSizeBits = bits,
            PageSizeBits = Math.Min(bits - 2, 22),
            MemorySizeBits = Math.Max(Math.Min(bits - 2, 22) + 2, Math.Min(bits + 1, 26)),
            LogChecksum = LogChecksumType.PerEntry,
            LogCommitDir = Path.Combine(dir, "commits"),
        };
    }

    public static long Write(string dir, int events, long segmentSize)
    {
        using IDevice device = Devices.CreateLogDevice(Path.Combine(dir, "faster.log"), preallocateFile: false, deleteOnClose: false);
        using var log = new FasterLog(Settings(dir, segmentSize, device));
        PeerLog.Fill(events, payload => log.Enqueue(payload), () => log.Commit(spinWait: false));

        log.Commit(spinWait: true);
        return log.TailAddress - log.BeginAddress;
    }

    public static unsafe long Scan(string dir, long segmentSize)
    {
        using IDevice device = Devices.CreateLogDevice(Path.Combine(dir, "faster.log"), preallocateFile: false, deleteOnClose: false);
        using var log = new FasterLog(Settings(dir, segmentSize, device));
        long n = 0;
        long sum = 0;
        using (FasterLogScanIterator iterator = log.Scan(log.BeginAddress, log.TailAddress))
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
