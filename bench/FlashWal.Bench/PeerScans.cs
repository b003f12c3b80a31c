using System.Diagnostics;

namespace FlashWal.Bench;

/// <summary>
/// The recovery scenario's peers: the same events written once into a FasterLog and a TsavoriteLog,
/// each then reopened (recovering its latest commit) and scanned from begin to tail, summing every
/// payload as FlashWal's replay does, once per repetition, interleaved with FlashWal's replays.
/// </summary>
internal sealed class PeerScans : IDisposable
{
    private readonly List<Peer> _peers = [];

    public PeerScans(int events, long segmentSize)
    {
        _peers.Add(new Peer("FasterLog 2.6.5", Stats.TempDir(), segmentSize, FasterScan.Write, FasterScan.Scan));
        _peers.Add(new Peer("TsavoriteLog (Garnet 2.2.12)", Stats.TempDir(), segmentSize, TsavoriteScan.Write, TsavoriteScan.Scan));
        foreach (Peer peer in _peers)
        {
            peer.Bytes = peer.Write(peer.Directory, events, segmentSize);
        }

        Events = events;
    }

    public int Events { get; }

    /// <summary>One scan of each peer; recorded unless <paramref name="measured"/> is false (the warm-up).</summary>
    public void ScanAll(bool measured)
    {
        foreach (Peer peer in _peers)
        {
            long start = Stopwatch.GetTimestamp();
            long n = peer.Scan(peer.Directory, peer.SegmentSize);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (n != Events)
            {
                throw new InvalidOperationException($"{peer.Name} scan read {n} of {Events} entries");
            }

            if (measured)
            {
                peer.Rates.Add(n / seconds);
                peer.Gbps.Add(peer.Bytes / seconds / 1e9);
            }
        }
    }

    /// <summary>The peers' table, bars and the goal: FlashWal's verify-and-replay at least twice each peer's scan.</summary>
    public void Report(ScenarioResult result, double flashWalGbps, double flashWalEventsPerSecond)
    {
        result.Tables.Add(new ResultTable("the peers: recover and scan the same events (interleaved with FlashWal's replays)", ["system", "log bytes (GB)", "M events/s", "GB/s of log"],
            [.. _peers.Select(p => new[] { $"{p.Name} (PerEntry checksums, payload summed)", Stats.F(p.Bytes / 1e9, 2), Stats.F(Stats.Median(p.Rates) / 1e6, 2), Stats.F(Stats.Median(p.Gbps), 2) })]));
        foreach (Peer peer in _peers)
        {
            result.Bars.Add(new Bar($"{peer.Name} scan", Math.Round(Stats.Median(peer.Gbps), 3)));
            double ratio = flashWalEventsPerSecond / Stats.Median(peer.Rates);
            result.Goals.Add($"recovery (verify + replay, events/s) / {peer.Name} scan = {ratio:F2}× (goal ≥ 2×: {(ratio >= 2 ? "met" : "missed")}); in GB/s of log {flashWalGbps:F2} vs {Stats.Median(peer.Gbps):F2}");
        }

        result.Notes.Add("The peers' scans: a new log object over the closed log's files (recovering its latest commit), then Scan(BeginAddress, TailAddress) with UnsafeGetNext, summing each payload as the FlashWal replay does; their files were just written, so they are in the page cache, as FlashWal's are. They have no event ids: a 'resume from id' has no equivalent there. Events per second compare the same work; GB/s differ with each format's overhead per event.");
    }

    public void Dispose()
    {
        foreach (Peer peer in _peers)
        {
            Directory.Delete(peer.Directory, recursive: true);
        }
    }

    private sealed class Peer(string name, string directory, long segmentSize, Func<string, int, long, long> write, Func<string, long, long> scan)
    {
        public string Name => name;

        public string Directory => directory;

        public long SegmentSize => segmentSize;

        public Func<string, int, long, long> Write => write;

        public Func<string, long, long> Scan => scan;

        public long Bytes { get; set; }

        public List<double> Rates { get; } = [];

        public List<double> Gbps { get; } = [];
    }
}

/// <summary>Enqueues one payload into a peer log.</summary>
internal delegate void EnqueuePayload(ReadOnlySpan<byte> payload);

/// <summary>What both peers' writes and scans do alike.</summary>
internal static class PeerLog
{
    /// <summary>Enqueues <paramref name="events"/> 64-byte payloads (the index in the first bytes), a <paramref name="commit"/> every 1,024.</summary>
    public static void Fill(int events, EnqueuePayload enqueue, Action commit)
    {
        Span<byte> payload = stackalloc byte[64];
        for (int i = 0; i < events; i++)
        {
            BitConverter.TryWriteBytes(payload, i);
            enqueue(payload);
            if (i % 1024 == 1023)
            {
                commit();
            }
        }
    }

    /// <summary>The byte sum a scan takes of each payload, the same work FlashWal's replay does.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inside the timed scan: no call per entry
    public static unsafe long Sum(byte* entry, int length)
    {
        long sum = 0;
        for (int i = 0; i < length; i++)
        {
            sum += entry[i];
        }

        return sum;
    }
}
