using System.Diagnostics;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Telemetry;

namespace FlashWal.Recovery;

/// <summary>Receives each replayed event. The payload is valid only during the call.</summary>
/// <param name="walEvent">The event, in place in the mapped segment.</param>
public delegate void ReplayHandler(WalEvent walEvent);

/// <summary>
/// Replays a log from any event id: finds the start through the catalog (segments by id range), the
/// segment's block index (binary search) and the block (a scan), then hands events to the caller in
/// place while a <see cref="SegmentPreloader"/> opens, verifies and closes segments in the background.
/// </summary>
/// <remarks>
/// <para><b>Where a replay starts.</b> An id the log holds starts at that event. An id the log does
/// not hold starts at the next event it does hold; when damage or a missing segment took that id,
/// the lost range is reported as a gap (strict mode stops there instead). An id beyond the last event
/// gives "nothing to replay" at once, without waiting.</para>
/// <para><b>Strict and salvage.</b> Strict replays up to the first integrity failure or gap and then
/// throws <see cref="WalCorruptionException"/> naming file, offset, block, expected and found; the
/// report stays available. Salvage replays every event that verifies, skips damaged blocks (their
/// verified successors in the same segment are replayed) and unreadable segments, and reports each
/// lost id range. Both replay a torn tail (a killed recorder's last, uncommitted writes) up to the
/// last sealed block and report it as a torn tail, not as damage.</para>
/// <para><b>Cost per event.</b> <see cref="TryReadNext"/> reads a record header from the mapping and
/// updates a few counters: no allocation, no lock, no system call. Segment switches take a reader
/// that the preloader already opened and verified.</para>
/// <para>One thread replays; the object is not thread-safe.</para>
/// </remarks>
public sealed class WalRecovery : IDisposable
{
    private readonly bool _salvage;
    private readonly ReplayLosses _losses = new();
    private PreloaderTelemetry _telemetry = new();
    private SegmentPreloader? _preloader;
    private List<SegmentScan> _plan = [];
    private int _nextInPlan;
    private SegmentReader? _reader;
    private bool _live; // a recorder held the directory when the replay was positioned: it may change under it
    private long? _headFloor; // from the log's start: the checkpoint's first segment index, until the first segment is met
    private readonly LiveRereads _rereads = new();           // a live log: segments to read again (they grew), and the next one held meanwhile
    private SegmentScan? _previous;      // the last segment of the log with data delivered: its chain must continue
    private long _previousIndex = -1;    // the last segment index met, whatever it held
    private bool _seekPending;
    private long _from;
    private long _events;
    private long _bytes;
    private long _firstId;
    private long _lastId;
    private int _segmentsOpened;
    private LogEnd _tail;
    private Finding? _tailFinding;
    private Finding? _failure;
    private string? _startNote;
    private RecoveryOutcome _outcome = RecoveryOutcome.NothingToReplay;
    private long _started;
    private long _ended;
    private bool _active;
    private bool _disposed;

    private WalRecovery(WalCatalog catalog, RecoveryOptions options)
    {
        Catalog = catalog;
        Options = options;
        _salvage = options.Mode == RecoveryMode.Salvage;
    }

    /// <summary>What the directory holds, read when the recovery was opened.</summary>
    public WalCatalog Catalog { get; }

    /// <summary>The options.</summary>
    public RecoveryOptions Options { get; }

    /// <summary>Reads the catalog of <paramref name="directory"/>.</summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    public static WalRecovery Open(string directory, RecoveryOptions? options = null)
    {
        options = Checked(options);
        return new(WalCatalog.Open(directory), options);
    }

    /// <summary>A recovery of a log known to be at rest (a repair that holds the directory's lock itself).</summary>
    internal static WalRecovery OpenAtRest(string directory, RecoveryOptions options) =>
        new(WalCatalog.Open(directory, live: false), Checked(options)) { _atRest = true };

    private bool _atRest;

    /// <summary>
    /// Replays one segment file (plain or compressed) on its own, with the same rules as a directory:
    /// <see cref="ResumeFrom"/> seeks within it, strict stops at its damage, salvage replays its
    /// verified blocks after the damage and reports each lost range (<see cref="WalCatalog.OpenSegment"/>).
    /// </summary>
    /// <exception cref="WalPathNotFoundException">The file does not exist.</exception>
    /// <exception cref="WalFormatException">The file is not a FlashWal segment.</exception>
    /// <exception cref="WalVersionException">The segment uses a newer format version.</exception>
    public static WalRecovery OpenSegment(string path, RecoveryOptions? options = null)
    {
        options = Checked(options);
        return new(WalCatalog.OpenSegment(path), options);
    }

    /// <summary>
    /// Opens <paramref name="path"/> as what it is (<see cref="WalCatalog.OpenPath"/>): a WAL directory
    /// (<see cref="Open"/>), or else one segment file (<see cref="OpenSegment"/>).
    /// </summary>
    /// <exception cref="WalPathNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="WalFormatException">The file is not a FlashWal segment.</exception>
    /// <exception cref="WalVersionException">The segment uses a newer format version.</exception>
    public static WalRecovery OpenPath(string path, RecoveryOptions? options = null)
    {
        options = Checked(options);
        return new(WalCatalog.OpenPath(path), options);
    }

    /// <summary>The options, validated before anything is read (the defaults when none are given).</summary>
    private static RecoveryOptions Checked(RecoveryOptions? options)
    {
        options ??= new RecoveryOptions();
        options.Validate();
        return options;
    }

    /// <summary>How often <see cref="Run"/> tells its progress callback where it stands, unless told otherwise: every 250 ms.</summary>
    public static TimeSpan DefaultProgressInterval { get; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The segment file the last event read came from; null before the first and after the end.</summary>
    public string? CurrentSegment => _reader?.Path;

    /// <summary>
    /// Positions the replay at <paramref name="eventId"/> (see the remarks for ids the log does not
    /// hold). False when there is nothing to replay. A replay under way is stopped first; a recovery can
    /// replay as many times as wanted.
    /// </summary>
    public bool ResumeFrom(long eventId)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(eventId);
        Reset(eventId);
        int start = ReplayPlan.StartOf(Catalog, eventId);
        if (start < 0)
        {
            _startNote = Catalog.LastEventId == 0
                ? "the log holds no event"
                : string.Create(CultureInfo.InvariantCulture, $"the log ends at event {Catalog.LastEventId}: nothing from {eventId} on");
            EndOfLog(outcome: RecoveryOutcome.NothingToReplay);
            return false;
        }

        _live = !_atRest && LiveLog.IsLive(Catalog.Directory);
        ReplayPlan plan = ReplayPlan.From(Catalog, start, _live);
        _plan = plan.Segments;
        _previous = plan.Previous;
        _previousIndex = plan.PreviousIndex;
        _headFloor = plan.HeadFloor;
        if (Options.UsePreloader)
        {
            _preloader = new SegmentPreloader(_salvage, _telemetry);
            _preloader.Start(_plan);
        }

        _seekPending = true;
        _active = true;
        _outcome = RecoveryOutcome.InProgress;
        return true;
    }

    /// <summary>
    /// The next event, in place: valid until the next call. False at the end of the log (or when no
    /// replay is positioned).
    /// </summary>
    /// <exception cref="WalCorruptionException">Strict mode met damage or a gap (the report says where).</exception>
    public bool TryReadNext(out WalEvent walEvent)
    {
        while (_active)
        {
            if (_reader is null)
            {
                if (!EnterNextSegment())
                {
                    break;
                }

                continue;
            }

            if (_reader.TryReadNext(out walEvent))
            {
                Deliver(walEvent.EventId, walEvent.Payload.Length);
                return true;
            }

            if (_reader.Damage is { } damage)
            {
                MeetDamage(damage, _reader.Path, lostTo: null); // salvage only: strict readers have no runs
                _reader.SkipDamage();
                continue;
            }

            FinishSegment();
        }

        ThrowIfDisposed(); // off the hot path: a disposed recovery is never active
        walEvent = default;
        return false;
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(WalRecovery), $"The recovery of '{Catalog.Directory}' has been disposed; its report stays readable.");
        }
    }

    /// <summary>Replays from <paramref name="eventId"/> to the end, handing each event to <paramref name="handler"/>.</summary>
    /// <exception cref="WalCorruptionException">Strict mode met damage or a gap (<see cref="Report"/> says where).</exception>
    public RecoveryReport Replay(long eventId, ReplayHandler handler, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        RecoveryReport report = Run(eventId, handler, progress: null, cancellation: cancellation);
        return report.Outcome == RecoveryOutcome.StoppedAtDamage ? throw new WalCorruptionException(report.Failure!) : report;
    }

    /// <summary>
    /// Replays from <paramref name="eventId"/> to the end of the log and returns the report: each event
    /// goes to <paramref name="handler"/> when there is one (without, the events are only counted and
    /// verified), and <paramref name="progress"/> hears where the replay stands at the start and then
    /// about every <paramref name="progressInterval"/> (<see cref="DefaultProgressInterval"/>).
    /// </summary>
    /// <remarks>
    /// Strict mode's stop at damage or a gap is not thrown: the report says it
    /// (<see cref="RecoveryOutcome.StoppedAtDamage"/>, <see cref="RecoveryReport.Failure"/>). A cancelled
    /// <paramref name="cancellation"/> ends the replay after the event in hand
    /// (<see cref="RecoveryOutcome.Stopped"/>). What the handler or the progress callback throws ends the
    /// replay too, releases every file and is thrown on. Without a handler the clock is read every 4,096
    /// events, so a replay that only verifies pays nothing per event for its progress; with one, at
    /// every event, since a handler's work may take longer than the interval.
    /// </remarks>
    public RecoveryReport Run(long eventId, ReplayHandler? handler = null, Action<RecoveryProgress>? progress = null, TimeSpan? progressInterval = null, CancellationToken cancellation = default)
    {
        ThrowIfDisposed();
        long interval = (long)((progressInterval ?? DefaultProgressInterval).TotalSeconds * Stopwatch.Frequency);
        try
        {
            if (!ResumeFrom(eventId))
            {
                return Report;
            }

            long first = Math.Max(eventId, Catalog.FirstEventId);
            long last = Catalog.LastEventId;
            progress?.Invoke(new RecoveryProgress(0, 0, first, last, TimeSpan.Zero));
            long next = Stopwatch.GetTimestamp() + interval;
            while (!cancellation.IsCancellationRequested && TryReadNext(out WalEvent e))
            {
                handler?.Invoke(e);
                if (progress is not null && (handler is not null || (_events & 4095) == 0) && Stopwatch.GetTimestamp() is long now && now >= next)
                {
                    next = now + interval;
                    progress(new RecoveryProgress(_lastId, _events, first, last, Stopwatch.GetElapsedTime(_started, now)));
                }
            }
        }
        catch (WalCorruptionException) when (_outcome == RecoveryOutcome.StoppedAtDamage)
        {
            // strict mode stopped: the report holds the finding
        }
        finally
        {
            if (_active)
            {
                Stop(RecoveryOutcome.Stopped); // cancelled, or the handler threw
            }
        }

        return Report;
    }

    /// <summary>The replay so far (final once it ended).</summary>
    public RecoveryReport Report => new()
    {
        Directory = Catalog.Directory,
        Mode = Options.Mode,
        Outcome = _outcome,
        RequestedFrom = _from,
        StartNote = _startNote,
        SegmentsOpened = _segmentsOpened,
        EventsReplayed = _events,
        FirstEventId = _firstId,
        LastEventId = _lastId,
        PayloadBytes = _bytes,
        Elapsed = Stopwatch.GetElapsedTime(_started, _active || _ended == 0 ? Stopwatch.GetTimestamp() : _ended),
        // Arrays, not collection expressions: those build a compiler-made type that PowerShell cannot
        // index ($report.Gaps[0] would be the whole list).
        Gaps = _losses.Gaps(),
        Damage = _losses.Damage(),
        DamagedSegments = _losses.DamagedSegments(),
        Tail = _tail,
        TailFinding = _tailFinding,
        Failure = _failure,
        SegmentOpen = _telemetry.Open.Snapshot(),
        ReplayWait = _telemetry.Wait.Snapshot(),
        SegmentSwitch = _telemetry.Switch.Snapshot(),
        SegmentClose = _telemetry.Close.Snapshot(),
        Preloaded = Options.UsePreloader,
    };

    /// <summary>Stops a replay under way and releases every file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Stop(_active ? RecoveryOutcome.Stopped : _outcome);
        _disposed = true;
    }

    /// <summary>
    /// Opens the next segment to read (false at the end of the log): one read again, or the next of
    /// the plan, judged against those before it. Damage it meets goes to <see cref="MeetDamage"/>.
    /// </summary>
    private bool EnterNextSegment()
    {
        long switchStart = Stopwatch.GetTimestamp();
        if (_rereads.TryReadAgain(_previous, _salvage) is { } grown)
        {
            _reader = grown;
            _segmentsOpened++;
            grown.SeekTo(Math.Max(_lastId + 1, _from));
            _seekPending = _seekPending && grown.LastEventId < _from;
            return true;
        }

        bool held = _rereads.HoldsNext;
        PreloadedSegment? next = held ? _rereads.TakeHeld() : TakeNext();
        if (next is null)
        {
            EndOfLog(RecoveryOutcome.Complete);
            return false;
        }

        if (MeetIndexGap(next, held))
        {
            return true; // segments that appeared since the catalog was read come first
        }

        _previousIndex = Math.Max(_previousIndex, next.Entry.SegmentIndex);
        if (next.Vanished && VanishedWithoutLoss(next.Entry))
        {
            return true;
        }

        if (next.Failure is { } failure)
        {
            // _previous stays: the next segment's chain must still continue the last one replayed.
            MeetDamage(failure, next.Entry.Path, lostTo: null);
            return true;
        }

        SegmentReader reader = next.Reader!;
        DeclareTornEnd(reader.Scan);
        if (IsForeign(reader) || (!held && HoldBehindReadsAgain(next)))
        {
            return true;
        }

        Enter(reader, switchStart);
        return true;
    }

    /// <summary>The next segment of the plan, from the preloader or opened here; null after the last.</summary>
    private PreloadedSegment? TakeNext()
    {
        if (_preloader is not null)
        {
            return _preloader.Take();
        }

        if (_nextInPlan >= _plan.Count)
        {
            return null;
        }

        long start = Stopwatch.GetTimestamp();
        PreloadedSegment next = PreloadedSegment.Load(_plan[_nextInPlan++], _salvage);
        _telemetry.Open.RecordSince(start);
        return next;
    }

    /// <summary>
    /// Judges the indices missing before <paramref name="next"/>: a loss, except on a live log where
    /// they exist now (true: they are read first, <paramref name="next"/> is held back) or where
    /// <paramref name="next"/> holds nothing yet (<see cref="LiveLog.GapBeforeIsNoLossYet"/>).
    /// </summary>
    private bool MeetIndexGap(PreloadedSegment next, bool held)
    {
        long index = next.Entry.SegmentIndex;
        long before = _previousIndex >= 0 ? _previousIndex : _headFloor is long floor ? floor - 1 : -1;
        bool checkIndices = _previousIndex >= 0 || _headFloor is not null;
        _headFloor = null;
        if (!checkIndices || index < 0 || SegmentLink.CheckIndices(Catalog.Directory, before, index) is not { } missing || Catalog.NeverWrittenBetween(before, index))
        {
            return false;
        }

        if (_live && next.Failure is null && LiveLog.GapBeforeIsNoLossYet(next.Reader!.Scan))
        {
            return false;
        }

        if (_live && next.Failure is null && !held && _previous is not null && _rereads.Between(Catalog.Directory, _previous.SegmentIndex, index) is { } appeared)
        {
            // The missing ones exist now (created since the catalog was read): they are read first,
            // after the previous segment's new events if it was still being written.
            _rereads.ReadFirst(LiveLog.MayStillGrow(_previous) ? _previous : null, appeared, next);
            _previousIndex = index - 1; // met now: the held segment finds no gap before it
            return true;
        }

        MeetDamage(missing, missing.File, lostTo: null);
        return false;
    }

    /// <summary>Whether a segment listed in the catalog and gone now took no event of this replay with it.</summary>
    private bool VanishedWithoutLoss(SegmentScan listed)
    {
        if (LiveLog.VanishedEmpty(listed))
        {
            return true; // a prepared segment a closing recorder discarded: it held no event
        }

        if (_events == 0 && !_losses.IsOpen && _failure is null && _previous is null)
        {
            // Retention deleted it after the catalog was read, before the replay reached it: the log
            // now starts later, which is no loss (the replay starts at the first event still held).
            _startNote ??= string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(listed.Path)} was deleted (retention) after the replay was planned; the replay starts after it");
            return true;
        }

        return false;
    }

    /// <summary>At rest, the segment where the catalog found the log's torn end ends after its valid prefix.</summary>
    private void DeclareTornEnd(SegmentScan scan)
    {
        if (Catalog.TornEnd is { InSegment: true } torn && !_live && scan.SegmentIndex == Catalog.Segments[torn.Position].SegmentIndex && scan.HasDamage)
        {
            torn.DeclareIn(scan);
        }
    }

    /// <summary>Whether the segment belongs to another log: damage, none of this log's events in it; it is not read.</summary>
    private bool IsForeign(SegmentReader reader)
    {
        SegmentScan scan = reader.Scan;
        if (scan.Header?.LogId == Catalog.LogId)
        {
            return false;
        }

        Finding foreign = SegmentLink.Foreign(scan.Path, Catalog.LogId, scan.Header?.LogId);
        HandBack(reader);
        MeetDamage(foreign, scan.Path, lostTo: null, losesEvents: false);
        return true;
    }

    /// <summary>
    /// A live log: whether <paramref name="next"/> must wait while segments before it are read again
    /// (true: they are queued). The previous segment was read while the recorder still wrote it, or
    /// segments after it were read while still empty (or created since the catalog was read), and
    /// <paramref name="next"/> began after the recorder sealed their last blocks.
    /// </summary>
    private bool HoldBehindReadsAgain(PreloadedSegment next)
    {
        SegmentScan scan = next.Reader!.Scan;
        long index = next.Entry.SegmentIndex;
        bool previousGrew = LiveLog.MustReadAgain(_previous, scan);
        if (scan.RecordCount == 0 || !(previousGrew || _rereads.AnyMetEmpty || (_live && _previous is not null && index > _previous.SegmentIndex + 1)))
        {
            return false;
        }

        List<SegmentScan>? between = _live && _previous is not null ? _rereads.Between(Catalog.Directory, _previous.SegmentIndex, index) : _rereads.MetEmpty();
        if (between is null)
        {
            return false;
        }

        _rereads.ReadFirst(previousGrew ? _previous : null, between, next);
        return true;
    }

    /// <summary>Reads <paramref name="reader"/>'s segment next: judged against the one before it, positioned at the start or after the last id replayed.</summary>
    private void Enter(SegmentReader reader, long switchStart)
    {
        SegmentScan scan = reader.Scan;
        _segmentsOpened++;
        _reader = reader;
        if (scan.Findings.FirstOrDefault(f => f.Code == FindingCode.SegmentNameMismatch) is { } misnamed)
        {
            // Its events are intact and replayed in their place (the header's index): only the name is wrong.
            MeetDamage(misnamed, scan.Path, lostTo: null, losesEvents: false);
        }

        if (_previous is not null && !_previous.HasDamage && SegmentLink.CheckChain(_previous, scan) is { Severity: >= FindingSeverity.Damage } broken)
        {
            MeetDamage(broken, scan.Path, lostTo: null);
        }

        if (_previous is { IsFence: true } && !_losses.IsOpen && SegmentLink.CheckFence(_previous, Math.Max(_lastId, _from - 1), scan) is { } fenced)
        {
            // Unless damage before the fence already opened the gap, the jump across it is the loss.
            MeetDamage(fenced, _previous.Path, lostTo: scan.FirstEventId - 1);
        }

        if (_lastId > 0 && scan.RecordCount > 0 && scan.FirstEventId <= _lastId)
        {
            // Replayed ids only ever increase: what repeats or goes back (a segment out of place) is skipped.
            MeetDamage(SegmentLink.RepeatsReplayedIds(scan, _lastId), scan.Path, lostTo: null, losesEvents: false);
            reader.SeekTo(_lastId + 1);
            _seekPending = false;
        }

        if (!_seekPending)
        {
            _telemetry.Switch.RecordSince(switchStart);
            return;
        }

        // A segment whose every event precedes the start (one out of place, e.g. misnamed) leaves the
        // seek pending for the next one, which must not be replayed from its start.
        _seekPending = scan.Summary is { } summary ? summary.LastEventId < _from : scan.State != SegmentState.Damaged && scan.LastEventId < _from;
        reader.SeekTo(_from);
        if (reader.SkippedDamage is { } skipped)
        {
            MeetDamage(skipped, scan.Path, lostTo: null);
        }
    }

    /// <summary>The segment read is done: what it says of the log's end, the damage that ended it, and whose chain the next continues.</summary>
    private void FinishSegment()
    {
        SegmentReader reader = _reader!;
        SegmentScan scan = reader.Scan;
        _reader = null;
        HandBack(reader);
        if (scan.RecordCount > 0 || scan.Summary is not null || scan.State == SegmentState.TornTail || _tail == LogEnd.None)
        {
            // Empty segments a recorder prepared ahead of the one it writes say nothing about the tail.
            (_tail, _tailFinding) = TailOf(scan);
        }

        if (scan.State == SegmentState.Damaged)
        {
            MeetSegmentDamage(scan);
        }

        if (scan.RecordCount > 0 || scan.Summary is not null)
        {
            _previous = scan;
            _rereads.MeetData();
        }
        else if (scan.State == SegmentState.Empty)
        {
            _rereads.MeetEmpty(scan);
        }
    }

    /// <summary>
    /// How the log ends if <paramref name="scan"/> is its last segment. A valid summary closes a segment
    /// even when a block of it is damaged (that damage is reported on its own): the recorder closed the
    /// log, and its end is the summary's.
    /// </summary>
    private static (LogEnd Tail, Finding? Finding) TailOf(SegmentScan scan) => scan.State switch
    {
        SegmentState.Closed => (LogEnd.Closed, null),
        SegmentState.Damaged when scan.Summary is not null => (LogEnd.Closed, null),
        SegmentState.TornTail => (LogEnd.TornTail, scan.Findings.FirstOrDefault(f => f.Code == FindingCode.TornTail)),
        _ => (LogEnd.Open, null),
    };

    /// <summary>
    /// Damage ended <paramref name="scan"/>'s readable data (after its salvaged runs, if any). What it
    /// took: up to the summary's last id when the summary is valid, else up to the next event replayed.
    /// </summary>
    private void MeetSegmentDamage(SegmentScan scan)
    {
        long? summaryLast = scan.Summary?.LastEventId;
        if (summaryLast is null || _lastId < summaryLast)
        {
            Finding cause = scan.SalvagedRuns.Count == 0
                ? scan.Findings.First(f => f.Severity >= FindingSeverity.Damage)
                : new Finding(FindingSeverity.Damage, FindingCode.BlocksLost, scan.Path, scan.SalvagedRuns[^1].BlockOffsets[^1], -1,
                    "the blocks after the last block that verifies (at this offset) do not verify: their events are lost");
            MeetDamage(cause, scan.Path, summaryLast);
        }
        else if (scan.Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage && !_losses.Met(f)) is { } outside)
        {
            // Every event of the segment was replayed, but damage outside its blocks (reserved bytes,
            // the zero tail, the file's length) is damage all the same: strict stops, salvage reports it.
            MeetDamage(outside, scan.Path, lostTo: null, losesEvents: false);
        }
    }

    private void HandBack(SegmentReader reader)
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

    private void Deliver(long id, int payloadLength)
    {
        if (_losses.IsOpen)
        {
            CloseLoss(id - 1);
        }

        if (_events == 0)
        {
            _firstId = id;
            if (id > _from && _from > 0 && !_losses.AnyGap && _startNote is null)
            {
                _startNote = _from < Catalog.FirstEventId
                    ? string.Create(CultureInfo.InvariantCulture, $"event {_from} precedes the log's first event; the replay starts at {id}")
                    : string.Create(CultureInfo.InvariantCulture, $"the log holds no event {_from} (its ids jump there); the replay starts at {id}");
            }
        }

        _events++;
        _bytes += payloadLength;
        _lastId = id;
    }

    /// <summary>Strict: stop and throw. Salvage: remember the damage; the next event replayed bounds the loss.</summary>
    private void MeetDamage(Finding cause, string path, long? lostTo, bool losesEvents = true)
    {
        _losses.Record(cause, path);
        if (!_salvage)
        {
            _failure = cause;
            Stop(RecoveryOutcome.StoppedAtDamage);
            throw new WalCorruptionException(cause);
        }

        if (losesEvents)
        {
            _losses.Open(cause, Math.Max(_lastId + 1, Math.Max(_from, 1)), lostTo);
        }
    }

    private void CloseLoss(long? to)
    {
        if (_losses.Close(to) && _events == 0)
        {
            _startNote = string.Create(CultureInfo.InvariantCulture, $"event {_from} was lost to damage; the replay starts after the gap");
        }
    }

    private void EndOfLog(RecoveryOutcome outcome)
    {
        if (outcome == RecoveryOutcome.Complete && Catalog.TornEnd is { InSegment: false } torn && !_live && _failure is null)
        {
            // The log ends before a segment a power cut left unwritten or cut off (FORMAT.md §9.1).
            _tail = LogEnd.TornTail;
            _tailFinding = torn.Finding;
        }

        if (outcome == RecoveryOutcome.Complete)
        {
            // Events reported durable that the segments do not hold are lost at the end of the log.
            Finding? durableLost = Catalog.Findings.FirstOrDefault(f => f.Code == FindingCode.DurableEventsMissing);
            if (durableLost is not null && Catalog.Checkpoint is { } meta && meta.DurableEventId > _lastId && meta.DurableEventId >= _from)
            {
                // After damage that nothing verified follows (an unreadable or cut last segment), where
                // the lost events end is unknown: the durable id is only a lower bound, so the range stays open.
                bool openEnded = _losses.IsOpenEnded;
                MeetDamage(durableLost, durableLost.File, openEnded ? null : meta.DurableEventId);
            }

            if (_losses.IsOpen)
            {
                CloseLoss(_losses.OpenTo);
            }
        }

        Stop(outcome);
    }

    private void Stop(RecoveryOutcome outcome)
    {
        _outcome = outcome;
        _active = false;
        _ended = Stopwatch.GetTimestamp();
        if (_reader is not null)
        {
            SegmentReader reader = _reader;
            _reader = null;
            HandBack(reader);
        }

        if (_rereads.TakeHeld()?.Reader is { } held)
        {
            HandBack(held);
        }

        _rereads.Clear();
        _preloader?.Dispose();
        _preloader = null;
    }

    private void Reset(long from)
    {
        if (_active)
        {
            Stop(RecoveryOutcome.Stopped);
        }

        _telemetry = new PreloaderTelemetry();
        _losses.Clear();
        _plan = [];
        _nextInPlan = 0;
        _previous = null;
        _rereads.Clear();
        _previousIndex = -1;
        _from = from;
        _events = 0;
        _bytes = 0;
        _firstId = 0;
        _lastId = 0;
        _segmentsOpened = 0;
        _tail = LogEnd.None;
        _tailFinding = null;
        _failure = null;
        _startNote = null;
        _started = Stopwatch.GetTimestamp();
        _ended = 0;
    }
}
