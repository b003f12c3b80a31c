using FlashWal.Errors;
using FlashWal.Reading;

namespace FlashWal.Recovery;

/// <summary>
/// Reads the events of a log that an <see cref="EventFilter"/> selects: a log at rest (a WAL
/// directory or one segment file, replayed by <see cref="WalRecovery"/> with its strict or salvage
/// rules), or a live log followed as it is written (<see cref="WalTailer"/>). What <c>flashwal dump</c>
/// and the PowerShell module's <c>Get-WalEvent</c> both read events with.
/// </summary>
/// <remarks>
/// <para>Events come in place (<see cref="TryReadNext"/>: valid until the next call) or copied
/// (<see cref="ReadNext"/>). Damage is thrown as <see cref="WalCorruptionException"/> in strict mode
/// and while following, after every event before it; in salvage mode the lost ranges are in
/// <see cref="Report"/>.</para>
/// <para>One thread reads; the object is not thread-safe. Disposing it releases every file; the
/// report stays readable.</para>
/// </remarks>
public sealed class WalEventReader : IDisposable
{
    private readonly WalRecovery? _recovery;
    private readonly WalTailer? _tailer;
    private bool _done;
    private bool _disposed;

    private WalEventReader(string path, EventFilter filter, WalRecovery? recovery, WalTailer? tailer)
    {
        Path = path;
        Filter = filter;
        _recovery = recovery;
        _tailer = tailer;
    }

    /// <summary>What is read: the full path of the directory or segment file.</summary>
    public string Path { get; }

    /// <summary>Which events are handed out.</summary>
    public EventFilter Filter { get; }

    /// <summary>Whether the log is followed live (<see cref="Follow"/>) rather than read at rest.</summary>
    public bool IsFollowing => _tailer is not null;

    /// <summary>Events handed out so far.</summary>
    public long EventsRead { get; private set; }

    /// <summary>The segment file the last event handed out came from; null when not known.</summary>
    public string? CurrentSegment => _recovery?.CurrentSegment ?? _tailer?.SegmentPath;

    /// <summary>
    /// At rest: the replay so far (start note, gaps, damage, tail), final once the reading ended or the
    /// reader was disposed. Null while following.
    /// </summary>
    public RecoveryReport? Report => _recovery?.Report;

    /// <summary>While following: following, or how the log ended. Null at rest.</summary>
    public TailerState? TailerState => _tailer?.State;

    /// <summary>
    /// Reads a log at rest: <paramref name="path"/> is a WAL directory, or one segment file (plain or
    /// compressed), replayed with the rules of <paramref name="mode"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The filter is not valid (<see cref="EventFilter.Validate"/>).</exception>
    /// <exception cref="WalPathNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="WalNoSegmentException">The directory holds no segment.</exception>
    /// <exception cref="WalFormatException">The file is not a FlashWal segment.</exception>
    /// <exception cref="WalVersionException">The segment uses a newer format version.</exception>
    public static WalEventReader Open(string path, EventFilter? filter = null, RecoveryMode mode = RecoveryMode.Strict)
    {
        ArgumentNullException.ThrowIfNull(path);
        filter ??= EventFilter.All;
        filter.Validate();
        WalRecovery recovery = WalRecovery.OpenPath(path, new RecoveryOptions { Mode = mode });
        if (recovery.Catalog.Segments.Count == 0)
        {
            recovery.Dispose();
            throw new WalNoSegmentException(recovery.Catalog.Directory);
        }

        string full = System.IO.Path.GetFullPath(path);
        var reader = new WalEventReader(full, filter, recovery, tailer: null);
        reader._done = !recovery.ResumeFrom(filter.FromEventId);
        return reader;
    }

    /// <summary>
    /// Follows the live log in <paramref name="directory"/>: each event is handed out once it is
    /// committed, until the recorder closes the log or goes away (<see cref="TailerState"/>) or the
    /// filter is satisfied. A directory without segments yet is waited on.
    /// </summary>
    /// <exception cref="ArgumentException">The filter is not valid (<see cref="EventFilter.Validate"/>).</exception>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    /// <exception cref="WalNotADirectoryException">The path is a file.</exception>
    public static WalEventReader Follow(string directory, EventFilter? filter = null, TailerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        filter ??= EventFilter.All;
        filter.Validate();
        WalTailer tailer = WalTailer.Open(directory, Math.Max(filter.FromEventId, 1), options);
        return new WalEventReader(tailer.Directory, filter, recovery: null, tailer);
    }

    /// <summary>
    /// The next event the filter selects, in place: valid until the next call. False when the filter
    /// can take no more, or the log has ended (following: the recorder closed it or went away).
    /// Following, it waits for the next event to be committed.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="WalCorruptionException">Strict mode, or following, met damage or a gap (at rest, <see cref="Report"/> says where).</exception>
    public bool TryReadNext(out WalEvent walEvent, CancellationToken cancellationToken = default)
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(WalEventReader), $"The event reader of '{Path}' has been disposed.");
        }

        while (!_done)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool read = _tailer is not null ? _tailer.ReadNext(out walEvent, cancellationToken) : _recovery!.TryReadNext(out walEvent);
            if (!read || Filter.IsBeyond(walEvent.EventId))
            {
                break;
            }

            bool wanted = Filter.Accepts(walEvent.Type);
            if (wanted)
            {
                EventsRead++;
            }

            // Reaching the last id ends the reading even when that event's type is not wanted, so that
            // following never waits for an event beyond it. A wanted event stays valid: the files are
            // released at the next call.
            _done = Filter.IsLast(walEvent.EventId, EventsRead);
            if (wanted)
            {
                return true;
            }
        }

        End();
        walEvent = default;
        return false;
    }

    /// <summary>The next event the filter selects, copied out of the log; null when <see cref="TryReadNext"/> would return false.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="WalCorruptionException">Strict mode, or following, met damage or a gap.</exception>
    public WalEventRecord? ReadNext(CancellationToken cancellationToken = default) =>
        TryReadNext(out WalEvent e, cancellationToken) ? WalEventRecord.From(e, CurrentSegment) : null;

    /// <summary>Stops the reading and releases every file; <see cref="Report"/> stays readable.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _recovery?.Dispose();
        _tailer?.Dispose();
    }

    /// <summary>Nothing more is read: a replay that the filter cut short is stopped, so that its report is final.</summary>
    private void End()
    {
        _done = true;
        _recovery?.Dispose();
    }
}
