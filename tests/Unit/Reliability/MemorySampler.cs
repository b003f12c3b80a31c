using System.Diagnostics;
using System.Globalization;

namespace FlashWal.Tests.Reliability;

/// <summary>The largest of each figure the sampler saw.</summary>
public sealed record MemoryPeaks
{
    public long ManagedBytes { get; init; }

    /// <summary>The managed heap after a full collection (live objects only), sampled every 2 s.</summary>
    public long LiveManagedBytes { get; init; }

    public long GcHeapBytes { get; init; }

    public long WorkingSetBytes { get; init; }

    public long PrivateBytes { get; init; }

    public long RssAnonBytes { get; init; }

    public long RssFileBytes { get; init; }

    public int FileHandles { get; init; }

    public int WalMappings { get; init; }

    public int Samples { get; init; }

    public static MemoryPeaks Max(MemoryPeaks a, MemoryPeaks b) => new()
    {
        ManagedBytes = Math.Max(a.ManagedBytes, b.ManagedBytes),
        LiveManagedBytes = Math.Max(a.LiveManagedBytes, b.LiveManagedBytes),
        GcHeapBytes = Math.Max(a.GcHeapBytes, b.GcHeapBytes),
        WorkingSetBytes = Math.Max(a.WorkingSetBytes, b.WorkingSetBytes),
        PrivateBytes = Math.Max(a.PrivateBytes, b.PrivateBytes),
        RssAnonBytes = Math.Max(a.RssAnonBytes, b.RssAnonBytes),
        RssFileBytes = Math.Max(a.RssFileBytes, b.RssFileBytes),
        FileHandles = Math.Max(a.FileHandles, b.FileHandles),
        WalMappings = Math.Max(a.WalMappings, b.WalMappings),
        Samples = a.Samples + b.Samples,
    };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"managed {Mb(ManagedBytes)} (live after a full collection {Mb(LiveManagedBytes)}), GC heap {Mb(GcHeapBytes)}, working set {Mb(WorkingSetBytes)}, private {Mb(PrivateBytes)}, RssAnon {Mb(RssAnonBytes)}, RssFile {Mb(RssFileBytes)}, open files {FileHandles}, .wal mappings {WalMappings} ({Samples} samples)");

    public static string Mb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F1} MiB");
}

/// <summary>
/// Samples, every <c>interval</c> on its own thread, the process's memory and handles: the managed
/// heap (<see cref="GC.GetTotalMemory(bool)"/>, garbage included), the GC's heap size after its last
/// collection, the working set and private bytes, anonymous and file-backed resident memory
/// (<c>/proc/self/status</c>), open file descriptors (<c>/proc/self/fd</c>), and mappings of segment
/// files (<c>/proc/self/maps</c> lines naming a <c>.wal</c> or <c>.walz</c> file of the directory).
/// </summary>
public sealed class MemorySampler : IDisposable
{
    private readonly string _directory;
    private readonly TimeSpan _interval;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly Lock _gate = new();
    private MemoryPeaks _peaks = new();

    public MemorySampler(string directory, TimeSpan interval)
    {
        _directory = directory;
        _interval = interval;
        _thread = new Thread(Run) { IsBackground = true, Name = "stress memory sampler" };
        _thread.Start();
    }

    public MemoryPeaks Peaks
    {
        get
        {
            lock (_gate)
            {
                return _peaks;
            }
        }
    }

    public static MemoryPeaks Sample(string directory, bool collect = false)
    {
        long live = collect ? GC.GetTotalMemory(forceFullCollection: true) : 0;
        using var process = Process.GetCurrentProcess();
        long anon = 0;
        long file = 0;
        int handles = 0;
        int mappings = 0;
        if (OperatingSystem.IsLinux())
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    anon = Kilobytes(line);
                }
                else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
                {
                    file = Kilobytes(line);
                }
            }

            handles = Directory.GetFileSystemEntries("/proc/self/fd").Length;
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                if (line.Contains(directory, StringComparison.Ordinal) && (line.EndsWith(".wal", StringComparison.Ordinal) || line.EndsWith(".walz", StringComparison.Ordinal) || line.EndsWith(".wal (deleted)", StringComparison.Ordinal)))
                {
                    mappings++;
                }
            }
        }

        return new MemoryPeaks
        {
            ManagedBytes = GC.GetTotalMemory(false),
            LiveManagedBytes = live,
            GcHeapBytes = GC.GetGCMemoryInfo().HeapSizeBytes,
            WorkingSetBytes = process.WorkingSet64,
            PrivateBytes = process.PrivateMemorySize64,
            RssAnonBytes = anon,
            RssFileBytes = file,
            FileHandles = handles,
            WalMappings = mappings,
            Samples = 1,
        };
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), NumberStyles.None, CultureInfo.InvariantCulture) * 1024;

    private void Run()
    {
        int n = 0;
        do
        {
            MemoryPeaks sample = Sample(_directory, collect: n++ % 40 == 0);
            lock (_gate)
            {
                _peaks = MemoryPeaks.Max(_peaks, sample);
            }
        }
        while (!_stop.Wait(_interval));
    }
}
