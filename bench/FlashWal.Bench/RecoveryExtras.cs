using System.Diagnostics;
using FASTER.core;
using FlashWal.Reading;
using FlashWal.Recovery;
using FlashWal.Telemetry;

namespace FlashWal.Bench;

/// <summary>The recovery scenario's comparisons beyond the preloader table: time to the first event after a seek, and FasterLog's scan.</summary>
internal static class RecoveryExtras
{
    public static void Add(ScenarioResult result, string dir, int events, long segmentSize, int repetitions, bool quick)
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

        // FasterLog: the same events written into it, recovered and scanned.
        string fdir = Stats.TempDir();
        try
        {
            long bytes = WriteFaster(fdir, events, segmentSize);
            var rates = new List<double>();
            var gbps = new List<double>();
            for (int rep = -1; rep < repetitions; rep++)
            {
                (long n, double seconds) = ScanFaster(fdir, segmentSize);
                if (n != events)
                {
                    throw new InvalidOperationException($"FasterLog scan read {n} of {events} entries");
                }

                if (rep >= 0)
                {
                    rates.Add(n / seconds);
                    gbps.Add(bytes / seconds / 1e9);
                }
            }

            result.Tables.Add(new ResultTable("FasterLog: recover and scan the same events", ["system", "log bytes (GB)", "M events/s", "GB/s of log"],
                [["FasterLog 2.6.5 (PerEntry checksums, payload summed)", Stats.F(bytes / 1e9, 2), Stats.F(Stats.Median(rates) / 1e6, 2), Stats.F(Stats.Median(gbps), 2)]]));
            result.Bars.Add(new Bar("FasterLog scan", Math.Round(Stats.Median(gbps), 3)));
            result.Notes.Add("FasterLog's scan: a new FasterLog over the closed log's files (recovering its latest commit), then Scan(BeginAddress, TailAddress) with UnsafeGetNext, summing each payload as the FlashWal replay does; its files were just written, so they are in the page cache. It has no event ids: a 'resume from id' has no equivalent there.");
        }
        finally
        {
            Directory.Delete(fdir, recursive: true);
        }
    }

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

    private static long WriteFaster(string dir, int events, long segmentSize)
    {
        using IDevice device = Devices.CreateLogDevice(Path.Combine(dir, "faster.log"), preallocateFile: false, deleteOnClose: false);
        using var log = new FasterLog(Settings(dir, segmentSize, device));
        Span<byte> payload = stackalloc byte[64];
        for (int i = 0; i < events; i++)
        {
            BitConverter.TryWriteBytes(payload, i);
            log.Enqueue(payload);
            if (i % 1024 == 1023)
            {
                log.Commit(spinWait: false);
            }
        }

        log.Commit(spinWait: true);
        return log.TailAddress - log.BeginAddress;
    }

    private static unsafe (long Events, double Seconds) ScanFaster(string dir, long segmentSize)
    {
        long start = Stopwatch.GetTimestamp();
        using IDevice device = Devices.CreateLogDevice(Path.Combine(dir, "faster.log"), preallocateFile: false, deleteOnClose: false);
        using var log = new FasterLog(Settings(dir, segmentSize, device));
        long n = 0;
        long sum = 0;
        using (FasterLogScanIterator iterator = log.Scan(log.BeginAddress, log.TailAddress))
        {
            while (iterator.UnsafeGetNext(out byte* entry, out int length, out _, out _))
            {
                for (int i = 0; i < length; i++)
                {
                    sum += entry[i];
                }

                iterator.UnsafeRelease();
                n++;
            }
        }

        GC.KeepAlive(sum);
        return (n, (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency);
    }
}
