using System.Diagnostics;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Telemetry;

namespace FlashWal.Recovery;

/// <summary>
/// Where a replay's segments come from and go back to: the plan's segments in order, opened and
/// verified ahead by a <see cref="SegmentPreloader"/> thread, or on the replaying thread without one;
/// each reader handed back once read (to the preloader, which closes it off the replaying thread).
/// Both ways are timed into the same <see cref="PreloaderTelemetry"/>, which the report shows.
/// </summary>
internal sealed class ReplaySource : IDisposable
{
    private readonly List<SegmentScan> _plan;
    private readonly bool _salvage;
    private readonly PreloaderTelemetry _telemetry;
    private readonly SegmentPreloader? _preloader;
    private int _next;

    public ReplaySource(List<SegmentScan> plan, bool salvage, bool preload, PreloaderTelemetry telemetry)
    {
        _plan = plan;
        _salvage = salvage;
        _telemetry = telemetry;
        if (preload)
        {
            _preloader = new SegmentPreloader(salvage, telemetry);
            _preloader.Start(plan);
        }
    }

    /// <summary>The next segment of the plan, opened and verified; null after the last.</summary>
    public PreloadedSegment? TakeNext()
    {
        if (_preloader is not null)
        {
            return _preloader.Take();
        }

        if (_next >= _plan.Count)
        {
            return null;
        }

        long start = Stopwatch.GetTimestamp();
        PreloadedSegment next = PreloadedSegment.Load(_plan[_next++], _salvage);
        _telemetry.Open.RecordSince(start);
        return next;
    }

    /// <summary>Releases a reader this source (or a re-read) opened.</summary>
    public void HandBack(SegmentReader reader)
    {
        if (_preloader is not null)
        {
            _preloader.Finish(reader);
            return;
        }

        long start = Stopwatch.GetTimestamp();
        reader.Dispose();
        _telemetry.Close.RecordSince(start);
    }

    /// <summary>Stops the preloader and closes what it holds.</summary>
    public void Dispose() => _preloader?.Dispose();
}
