using System.Diagnostics;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Telemetry;

namespace FlashWal.Recovery;

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
    private ReplaySource? _source;
    private SegmentReader? _reader;
    private bool _live; // a recorder held the directory when the replay was positioned: it may change under it
    private readonly LiveRereads _rereads = new();           // a live log: segments to read again (they grew), and the next one held meanwhile
    private SegmentSequence _sequence;   // the segments met so far: how the next one must join them
    private bool _seekPending;
    private ReplayTally _tally = new(0); // what the replay delivered so far: the report's content
    private bool _active;
    private bool _disposed;

    private WalRecovery(WalCatalog catalog, RecoveryOptions options)
    {
        Catalog = catalog;
        Options = options;
        _salvage = options.Mode == RecoveryMode.Salvage;
        _sequence = new SegmentSequence(catalog, previous: null, previousIndex: -1, headFloor: null, live: false);
    }

    /// <summary>What the directory holds, read when the recovery was opened.</summary>
    public WalCatalog Catalog { get; }

    /// <summary>The options.</summary>
    public RecoveryOptions Options { get; }

    /// <summary>Reads the catalog of <paramref name="directory"/>.</summary>
    /// <exception cref="WalPathNotFoundException">The directory does not exist.</exception>
    public static WalRecovery Open(string directory, RecoveryOptions? options = null)
    {
        options = RecoveryOptions.Checked(options);
        return new(WalCatalog.Open(directory), options);
    }

    /// <summary>A recovery of a log known to be at rest (a repair that holds the directory's lock itself).</summary>
    internal static WalRecovery OpenAtRest(string directory, RecoveryOptions options) =>
        new(WalCatalog.Open(directory, live: false), RecoveryOptions.Checked(options)) { _atRest = true };

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
        options = RecoveryOptions.Checked(options);
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
        options = RecoveryOptions.Checked(options);
        return new(WalCatalog.OpenPath(path), options);
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
            _tally.StartBeyond(Catalog.LastEventId);
            EndOfLog(outcome: RecoveryOutcome.NothingToReplay);
            return false;
        }

        _live = !_atRest && LiveLog.IsLive(Catalog.Directory);
        ReplayPlan plan = ReplayPlan.From(Catalog, start, _live);
        _source = new ReplaySource(plan.Segments, _salvage, Options.UsePreloader, _telemetry);
        _sequence = new SegmentSequence(Catalog, plan.Previous, plan.PreviousIndex, plan.HeadFloor, _live);

        _seekPending = true;
        _active = true;
        _tally.Begin();
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
                if (progress is not null && (handler is not null || (_tally.Events & 4095) == 0) && Stopwatch.GetTimestamp() is long now && now >= next)
                {
                    next = now + interval;
                    progress(new RecoveryProgress(_tally.LastId, _tally.Events, first, last, _tally.ElapsedUntil(now)));
                }
            }
        }
        catch (WalCorruptionException) when (_tally.Outcome == RecoveryOutcome.StoppedAtDamage)
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
    public RecoveryReport Report => _tally.ToReport(Catalog.Directory, Options, _active, _losses, _telemetry);

    /// <summary>Stops a replay under way and releases every file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Stop(_active ? RecoveryOutcome.Stopped : _tally.Outcome);
        _disposed = true;
    }

    /// <summary>
    /// Opens the next segment to read (false at the end of the log): one read again, or the next of
    /// the plan, judged against those before it. Damage it meets goes to <see cref="MeetDamage"/>.
    /// </summary>
    private bool EnterNextSegment()
    {
        long switchStart = Stopwatch.GetTimestamp();
        if (_rereads.TryReadAgain(_sequence.Previous, _salvage) is { } grown)
        {
            _reader = grown;
            _tally.SegmentsOpened++;
            grown.SeekTo(Math.Max(_tally.LastId + 1, _tally.From));
            _seekPending = _seekPending && grown.LastEventId < _tally.From;
            return true;
        }

        bool held = _rereads.HoldsNext;
        PreloadedSegment? next = held ? _rereads.TakeHeld() : _source!.TakeNext();
        if (next is null)
        {
            EndOfLog(RecoveryOutcome.Complete);
            return false;
        }

        if (MeetIndexGap(next, held))
        {
            return true; // segments that appeared since the catalog was read come first
        }

        _sequence.Met(next.Entry.SegmentIndex);
        if (next.Vanished && VanishedWithoutLoss(next.Entry))
        {
            return true;
        }

        if (next.Failure is { } failure)
        {
            // The sequence's previous segment stays: the next one's chain must still continue the last one replayed.
            MeetDamage(failure, next.Entry.Path, lostTo: null);
            return true;
        }

        SegmentReader reader = next.Reader!;
        _sequence.DeclareTornEnd(reader.Scan);

        if (IsForeign(reader) || (!held && _rereads.HoldBehindReadsAgain(Catalog.Directory, _live, _sequence.Previous, next)))
        {
            return true;
        }

        Enter(reader, switchStart);
        return true;
    }

    /// <summary>
    /// Judges the indices missing before <paramref name="next"/> (<see cref="SegmentSequence.MissingBefore"/>):
    /// a loss, except on a live log where they exist now (true: they are read first, <paramref name="next"/>
    /// is held back) or where <paramref name="next"/> holds nothing yet (<see cref="LiveLog.GapBeforeIsNoLossYet"/>).
    /// </summary>
    private bool MeetIndexGap(PreloadedSegment next, bool held)
    {
        if (_sequence.MissingBefore(next.Entry.SegmentIndex) is not { } missing || (_live && next.Failure is null && LiveLog.GapBeforeIsNoLossYet(next.Reader!.Scan)))
        {
            return false;
        }

        if (_live && next.Failure is null && !held && _rereads.ReadAppearedFirst(Catalog.Directory, _sequence.Previous, next))
        {
            _sequence.MetUpTo(next.Entry.SegmentIndex - 1); // met now: the held segment finds no gap before it
            return true;
        }

        MeetDamage(missing, missing.File, lostTo: null);
        return false;
    }

    /// <summary>Whether <paramref name="listed"/>, in the catalog and gone now, took no event of this replay with it (<see cref="LiveLog.WhyVanished"/>).</summary>
    private bool VanishedWithoutLoss(SegmentScan listed)
    {
        VanishedCause cause = LiveLog.WhyVanished(listed, nothingMetYet: _tally.Events == 0 && !_losses.IsOpen && _tally.Failure is null && _sequence.Previous is null);
        if (cause == VanishedCause.DeletedByRetention)
        {
            _tally.StartDeleted(listed.Path); // after the catalog was read: the replay starts at the first event still held
        }

        return cause != VanishedCause.Lost;
    }

    /// <summary>Whether the segment belongs to another log: damage, none of this log's events in it; it is not read.</summary>
    private bool IsForeign(SegmentReader reader)
    {
        if (_sequence.Foreign(reader.Scan) is not { } foreign)
        {
            return false;
        }

        HandBack(reader);
        MeetDamage(foreign, foreign.File, lostTo: null, losesEvents: false);
        return true;
    }

    /// <summary>Reads <paramref name="reader"/>'s segment next: judged against the one before it, positioned at the start or after the last id replayed.</summary>
    private void Enter(SegmentReader reader, long switchStart)
    {
        SegmentScan scan = reader.Scan;
        _tally.SegmentsOpened++;
        _reader = reader;
        foreach (SegmentJoin join in _sequence.Joins(scan, _tally.LastId, _tally.From, () => _losses.IsOpen))
        {
            MeetDamage(join.Cause, join.Path, join.LostTo, join.LosesEvents);
        }

        if (SegmentSequence.RepeatsIds(scan, _tally.LastId))
        {
            // Replayed ids only ever increase: what repeats or goes back (a segment out of place) is skipped.
            reader.SeekTo(_tally.LastId + 1);
            _seekPending = false;
        }

        if (!_seekPending)
        {
            _telemetry.Switch.RecordSince(switchStart);
            return;
        }

        // A segment whose every event precedes the start (one out of place, e.g. misnamed) leaves the
        // seek pending for the next one, which must not be replayed from its start.
        _seekPending = scan.Summary is { } summary ? summary.LastEventId < _tally.From : scan.State != SegmentState.Damaged && scan.LastEventId < _tally.From;
        reader.SeekTo(_tally.From);
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
        _tally.ReadTo(scan);

        if (scan.State == SegmentState.Damaged && SegmentSequence.DamageEnding(scan, _tally.LastId, _losses.Met) is { } ending)
        {
            MeetDamage(ending.Cause, ending.Path, ending.LostTo, ending.LosesEvents);
        }

        if (_sequence.Finish(scan))
        {
            _rereads.MeetData();
        }
        else if (scan.State == SegmentState.Empty)
        {
            _rereads.MeetEmpty(scan);
        }
    }

    private void HandBack(SegmentReader reader) => _source!.HandBack(reader);

    private void Deliver(long id, int payloadLength)
    {
        if (_losses.IsOpen)
        {
            CloseLoss(id - 1);
        }

        if (_tally.Events == 0)
        {
            _tally.First(id, Catalog.FirstEventId, _losses.AnyGap);
        }

        _tally.Count(id, payloadLength);
    }

    /// <summary>Strict: stop and throw. Salvage: remember the damage; the next event replayed bounds the loss.</summary>
    private void MeetDamage(Finding cause, string path, long? lostTo, bool losesEvents = true)
    {
        _losses.Record(cause, path);
        if (!_salvage)
        {
            _tally.Failure = cause;
            Stop(RecoveryOutcome.StoppedAtDamage);
            throw new WalCorruptionException(cause);
        }

        if (losesEvents)
        {
            _losses.Open(cause, Math.Max(_tally.LastId + 1, Math.Max(_tally.From, 1)), lostTo);
        }
    }

    private void CloseLoss(long? to)
    {
        if (_losses.Close(to) && _tally.Events == 0)
        {
            _tally.StartLost();
        }
    }

    private void EndOfLog(RecoveryOutcome outcome)
    {
        if (outcome == RecoveryOutcome.Complete && _tally.Failure is null && _sequence.TornEndBeforeSegment is { } torn)
        {
            // The log ends before a segment a power cut left unwritten or cut off (FORMAT.md §9.1).
            _tally.Tail = LogEnd.TornTail;
            _tally.TailFinding = torn.Finding;
        }

        if (outcome == RecoveryOutcome.Complete)
        {
            // Events reported durable that the segments do not hold are lost at the end of the log.
            if (_sequence.DurableLost(_tally.LastId, _tally.From, _losses.IsOpenEnded) is { } lost)
            {
                MeetDamage(lost.Cause, lost.Path, lost.LostTo, lost.LosesEvents);
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
        _tally.End(outcome);
        _active = false;
        if (_reader is not null)
        {
            SegmentReader reader = _reader;
            _reader = null;
            HandBack(reader);
        }

        _rereads.Clear(HandBack);
        _source?.Dispose();
        _source = null;
    }

    private void Reset(long from)
    {
        if (_active)
        {
            Stop(RecoveryOutcome.Stopped);
        }

        _telemetry = new PreloaderTelemetry();
        _losses.Clear();
        _tally = new ReplayTally(from); // the segment sequence is made anew where a replay is planned
    }
}
