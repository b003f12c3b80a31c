using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// One stress configuration: who records (the multi-producer <see cref="WalRecorderHost"/>, or one
/// thread on a <see cref="WalRecorder"/> directly), how, and which readers run beside it.
/// </summary>
public sealed record StressConfig(
    string Name,
    bool Direct,
    DurabilityPolicy Durability,
    long SegmentSize,
    int BlockSize,
    int QueueCapacity,
    QueueFullBehavior WhenFull,
    int? KeepSegments,
    int? CompressAfter,
    bool Tailer,
    bool Recoveries,
    bool Scans,
    double Share)
{
    public bool HasRetention => KeepSegments is not null || CompressAfter is not null;

    public int MaxPayload => SegmentFormat.MaxPayloadSize(BlockSize);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name} ({(Direct ? "WalRecorder, one writer thread" : $"WalRecorderHost, queue {QueueCapacity} {WhenFull}")}, {Durability}, segments {SegmentSize / 1024} KiB, blocks {BlockSize / 1024} KiB, max payload {MaxPayload}{(KeepSegments is { } k ? $", keep {k} segments" : "")}{(CompressAfter is { } c ? $", compress after {c}" : "")}; readers:{(Tailer ? " tailer" : "")}{(Recoveries ? " recoveries" : "")}{(Scans ? " segment scans + verifier" : "")})");
}

/// <summary>What one run did and found.</summary>
public sealed class StressRunResult
{
    public required StressConfig Config { get; init; }

    public int Producers { get; init; }

    public long Attempts { get; set; }

    public long Accepted { get; set; }

    public long Rejected { get; set; }

    public long Bytes { get; set; }

    public long Segments { get; set; }

    public long Rotations { get; set; }

    public long FinalEventsChecked { get; set; }

    public long TailerEvents { get; set; }

    public long Recoveries { get; set; }

    public long RecoveryEvents { get; set; }

    public long Scans { get; set; }

    public long ScanEvents { get; set; }

    public long Verifications { get; set; }

    /// <summary>Catalogs opened right after a live verification, which must agree with it.</summary>
    public long Catalogs { get; set; }

    public long IdsChecked { get; set; }

    /// <summary>Reads that returned an event above the committed watermark read just after (published a moment later).</summary>
    public long AheadOfWatermark { get; set; }

    public long MaxWatermarkLag { get; set; }

    /// <summary>Live recoveries that a retention deletion overtook (a segment they had not reached was deleted).</summary>
    public long OvertakenByRetention { get; set; }

    public SortedDictionary<string, int> LiveTailStates { get; } = new(StringComparer.Ordinal);

    public int Losses { get; set; }

    public int Duplicates { get; set; }

    public int OrderViolations { get; set; }

    public int PayloadErrors { get; set; }

    public MemoryPeaks Peaks { get; set; } = new();

    public string Bounds { get; set; } = "";

    public TimeSpan Elapsed { get; set; }

    public ConcurrentQueue<string> Failures { get; } = new();

    public void Fail(string message)
    {
        if (Failures.Count < 60)
        {
            Failures.Enqueue(message);
        }
    }

    public void Absorb(StressChecker checker)
    {
        Losses += checker.Losses;
        Duplicates += checker.Duplicates;
        OrderViolations += checker.OrderViolations;
        PayloadErrors += checker.PayloadErrors;
        if (checker.Violations > 0)
        {
            Fail(checker.Describe());
        }
    }
}

/// <summary>
/// Runs one stress configuration: P producer threads submitting seeded events through every path of
/// the host (or one thread appending to a recorder), while a tailer, repeated strict recoveries and
/// segment scans read the live directory and a sampler watches memory and handles; then checks the
/// closed log completely. Every finding lands in <see cref="StressRunResult.Failures"/>.
/// </summary>
public sealed class HostStress
{
    private const int MaxSamplesPerProducer = 50_000;
    private static readonly TimeSpan SyncInterval = TimeSpan.FromMilliseconds(5);

    private readonly StressConfig _config;
    private readonly StressWorkload _work;
    private readonly string _directory;
    private readonly TimeSpan _hangGuard;
    private readonly Action<string> _log;
    private readonly StressRunResult _result;
    private readonly List<(long Seq, long Id)>[] _samples;
    private volatile bool _recording = true;
    private Func<long> _committed = () => 0;
    private Func<long> _activeSegment = () => 0;

    public HostStress(StressConfig config, int seed, int producers, long events, string directory, TimeSpan hangGuard, Action<string> log)
    {
        _config = config;
        _work = new StressWorkload(seed, producers, events, config.MaxPayload);
        _directory = directory;
        _hangGuard = hangGuard;
        _log = log;
        _result = new StressRunResult { Config = config, Producers = producers };
        _samples = [.. Enumerable.Range(0, producers).Select(_ => new List<(long, long)>())];
    }

    public const int HostMaxBatch = 4096;

    /// <summary>How far back from the committed watermark a live replay of the log's end starts.</summary>
    private const long RecentEvents = 20_000;

    /// <summary>The mappings of segment files the recorder holds at most: the active one, the preparer's, and the maintainer's ring of rotated segments not closed yet.</summary>
    public const int RecorderMappings = 1 + SegmentPreparer.PrepareQueueCapacity + 64;

    /// <summary>What the readers map at most: the tailer's current and next, a recovery's preloader ring plus the segment being read and the one being opened, a scan's or verification's one.</summary>
    public const int ReaderMappings = 2 + SegmentPreloader.RingCapacity + 2 + 2;

    public StressRunResult Run()
    {
        var clock = Stopwatch.StartNew();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        MemoryPeaks baseline = MemorySampler.Sample(_directory, collect: true);
        var options = new WalRecorderOptions
        {
            SegmentSize = _config.SegmentSize,
            BlockSize = _config.BlockSize,
            Durability = _config.Durability,
            SyncInterval = SyncInterval,
            Retention = new RetentionPolicy { MaxSegments = _config.KeepSegments, CompressAfter = _config.CompressAfter },
        };

        var readers = new List<(string Name, Thread Thread, Func<string> Where)>();
        using var stopReaders = new CancellationTokenSource();
        using var sampler = new MemorySampler(_directory, TimeSpan.FromMilliseconds(50));
        WalRecorderHost? host = null;
        WalRecorder? recorder = null;
        if (_config.Direct)
        {
            recorder = WalRecorder.Open(_directory, options);
            _committed = () => recorder.CommittedEventId;
            _activeSegment = () => recorder.ActiveSegmentIndex;
        }
        else
        {
            host = WalRecorderHost.Start(_directory, new WalRecorderHostOptions { Recorder = options, QueueCapacity = _config.QueueCapacity, WhenFull = _config.WhenFull, MaxBatch = HostMaxBatch });
            _committed = () => host.CommittedEventId;
            _activeSegment = () => host.ActiveSegmentIndex;
        }

        if (_config.Tailer)
        {
            var tailer = new TailerReader(this, stopReaders.Token);
            readers.Add(("tailer", Start(tailer.Run, "stress tailer"), tailer.Where));
        }

        if (_config.Recoveries)
        {
            readers.Add(("recoveries", Start(() => RecoveryLoop(stopReaders.Token), "stress recoveries"), () => "recovery loop"));
        }

        if (_config.Scans)
        {
            readers.Add(("scans", Start(() => ScanLoop(stopReaders.Token), "stress scans"), () => "scan loop"));
        }

        try
        {
            if (recorder is not null)
            {
                Thread writer = Start(() => AppendDirect(recorder), "stress writer");
                JoinOrReport(writer, "the writer thread");
                recorder.Dispose();
                _result.Rotations = recorder.GetTelemetry().Rotations;
                _result.Segments = recorder.ActiveSegmentIndex + 1;
            }
            else
            {
                var producers = Enumerable.Range(0, _work.Producers).Select(p => Start(() => Produce(host!, p), "stress producer " + p)).ToList();
                for (int p = 0; p < producers.Count; p++)
                {
                    JoinOrReport(producers[p], $"producer {p}");
                }

                long submitted = host!.Submitted;
                _result.Segments = host.ActiveSegmentIndex + 1;
                _result.Rotations = host.GetTelemetry().Rotations;
                host.Dispose();
                if (host.Appended != _work.TotalAccepted || host.Failed != 0)
                {
                    _result.Fail($"the host appended {host.Appended} events and failed {host.Failed}; producers had {_work.TotalAccepted} accepted (submitted counter {submitted}, flush markers included)");
                }
            }
        }
        finally
        {
            _recording = false;
            host?.Dispose();
            recorder?.Dispose();
        }

        foreach ((string name, Thread thread, Func<string> where) in readers)
        {
            if (!thread.Join(_hangGuard))
            {
                _result.Fail($"HANG: the {name} did not finish within {_hangGuard.TotalSeconds:F0} s after the recorder closed; stuck at {where()}");
                stopReaders.Cancel();
                thread.Join(TimeSpan.FromSeconds(10));
            }
        }

        sampler.Dispose();
        _result.Peaks = sampler.Peaks;
        CheckBounds(baseline, _result.Peaks);
        _result.Attempts = _work.TotalAttempts;
        _result.Rejected = _work.TotalRejected;
        _result.Accepted = _work.TotalAccepted;
        CheckClosedLog();
        _result.Elapsed = clock.Elapsed;
        return _result;
    }

    private static Thread Start(Action body, string name)
    {
        var thread = new Thread(() => body()) { IsBackground = true, Name = name };
        thread.Start();
        return thread;
    }

    private void JoinOrReport(Thread thread, string what)
    {
        if (!thread.Join(_hangGuard))
        {
            _result.Fail($"HANG: {what} did not finish within {_hangGuard.TotalSeconds:F0} s (committed id {_committed()})");
            throw new TimeoutException($"{what} hung; the run cannot go on: {string.Join("\n", _result.Failures)}");
        }
    }

    /// <summary>
    /// A reader handed out <paramref name="id"/>: it must be committed. The recorder publishes its
    /// committed watermark just after it seals a block (a reader can see the sealed block first; at a
    /// rotation the watermark follows once the next segment is in place), so an id above the watermark
    /// read now is given until the watermark passes it: one it never reaches was never committed.
    /// </summary>
    private void CheckCommitted(string reader, long id)
    {
        long committed = _committed();
        if (id <= committed)
        {
            return;
        }

        lock (_result)
        {
            _result.AheadOfWatermark++;
            _result.MaxWatermarkLag = Math.Max(_result.MaxWatermarkLag, id - committed);
        }

        var clock = Stopwatch.StartNew();
        while (_committed() < id)
        {
            if (clock.Elapsed > _hangGuard)
            {
                _result.Fail($"{reader} handed out event {id}, which the recorder did not publish as committed within {_hangGuard.TotalSeconds:F0} s (committed {_committed()}): an uncommitted event");
                return;
            }

            Thread.Sleep(1);
        }
    }

    private string Where(Exception e) => $"{e.GetType().Name}: {e.Message} (committed id {_committed()})";

    // ---------------------------------------------------------------- producers

    private void Produce(WalRecorderHost host, int p)
    {
        bool failFast = _config.WhenFull == QueueFullBehavior.FailFast;
        var buffer = new byte[_work.MaxPayload];
        var pending = new Queue<(Task<long> Task, long Seq, SubmitWait Wait)>();
        List<(long Seq, long Id)> samples = _samples[p];
        long lastKnownId = 0;
        long attempts = _work.Attempts(p);
        try
        {
            for (long seq = 0; seq < attempts; seq++)
            {
                Span<byte> payload = buffer.AsSpan(0, _work.Length(p, seq));
                StressPayload.Fill(payload, _work.Seed, p, seq);
                ushort type = (ushort)(p + 1);
                ulong h = StressPayload.Key(_work.Seed ^ 0x5EED, p, seq);
                int path = (int)(h % 10_000);
                try
                {
                    if (failFast)
                    {
                        if (path < 6_000)
                        {
                            if (!host.TrySubmit(payload, type))
                            {
                                _work.Reject(p, seq);
                            }
                        }
                        else if (path < 8_000)
                        {
                            long id = host.Submit(payload, type, SubmitWait.Appended);
                            Sample(samples, seq, id, ref lastKnownId, SubmitWait.Appended);
                        }
                        else
                        {
                            pending.Enqueue((host.SubmitAsync(payload, type, SubmitWait.Committed).AsTask(), seq, SubmitWait.Committed));
                        }
                    }
                    else if (path < 4_500)
                    {
                        if (!host.TrySubmit(payload, type))
                        {
                            _result.Fail($"producer {p} seq {seq}: TrySubmit returned false on a queue that waits when full");
                            _work.Reject(p, seq);
                        }
                    }
                    else if (path < 6_000)
                    {
                        Assert.Equal(0, host.Submit(payload, type, SubmitWait.None));
                    }
                    else if (path < 7_500)
                    {
                        Sample(samples, seq, host.Submit(payload, type, SubmitWait.Appended), ref lastKnownId, SubmitWait.Appended);
                    }
                    else if (path < 8_500)
                    {
                        long id = host.Submit(payload, type, SubmitWait.Committed);
                        Sample(samples, seq, id, ref lastKnownId, SubmitWait.Committed);
                        if (host.CommittedEventId < id)
                        {
                            _result.Fail($"producer {p} seq {seq}: Submit(Committed) returned id {id} while the committed watermark is {host.CommittedEventId}");
                        }
                    }
                    else if (path < 8_505)
                    {
                        long id = host.Submit(payload, type, SubmitWait.Durable);
                        Sample(samples, seq, id, ref lastKnownId, SubmitWait.Durable);
                        if (host.DurableEventId < id)
                        {
                            _result.Fail($"producer {p} seq {seq}: Submit(Durable) returned id {id} while the durable watermark is {host.DurableEventId}");
                        }
                    }
                    else
                    {
                        SubmitWait wait = path < 8_510 ? SubmitWait.Durable : (path & 1) == 0 ? SubmitWait.Committed : SubmitWait.Appended;
                        pending.Enqueue((host.SubmitAsync(payload, type, wait).AsTask(), seq, wait));
                    }
                }
                catch (WalQueueFullException) when (failFast)
                {
                    _work.Reject(p, seq);
                }

                if (p == 0 && !failFast && seq % 50_000 == 49_999)
                {
                    long durable = host.Flush();
                    if (durable < lastKnownId)
                    {
                        _result.Fail($"producer 0 seq {seq}: Flush returned durable id {durable} below an id it already had, {lastKnownId}");
                    }
                }

                while (pending.Count > 0 && (pending.Peek().Task.IsCompleted || pending.Count >= 256))
                {
                    (Task<long> task, long s, SubmitWait w) = pending.Dequeue();
                    Settle(host, p, samples, task, s, w, ref lastKnownId);
                }
            }

            while (pending.Count > 0)
            {
                (Task<long> task, long s, SubmitWait w) = pending.Dequeue();
                Settle(host, p, samples, task, s, w, ref lastKnownId);
            }
        }
        catch (Exception e)
        {
            _result.Fail($"producer {p}: {Where(e)}\n{e}");
        }
    }

    private void Settle(WalRecorderHost host, int p, List<(long, long)> samples, Task<long> task, long seq, SubmitWait wait, ref long lastKnownId)
    {
        if (!SpinWait.SpinUntil(() => task.IsCompleted, _hangGuard))
        {
            _result.Fail($"HANG: producer {p} seq {seq}: SubmitAsync({wait}) did not complete within {_hangGuard.TotalSeconds:F0} s (queue {host.QueueLength}, committed {host.CommittedEventId})");
            return;
        }

        if (!task.IsCompletedSuccessfully)
        {
            Exception e = task.Exception?.InnerException ?? new OperationCanceledException();
            if (e is WalQueueFullException && _config.WhenFull == QueueFullBehavior.FailFast)
            {
                _result.Fail($"producer {p} seq {seq}: SubmitAsync failed with a full queue after it was accepted");
            }

            _result.Fail($"producer {p} seq {seq}: SubmitAsync({wait}) failed: {Where(e)}");
            return;
        }

#pragma warning disable xUnit1031 // completed above: reading the result does not block
        long id = task.Result;
#pragma warning restore xUnit1031
        Sample(samples, seq, id, ref lastKnownId, wait);
        if (wait == SubmitWait.Committed && host.CommittedEventId < id)
        {
            _result.Fail($"producer {p} seq {seq}: SubmitAsync(Committed) completed with id {id} above the committed watermark {host.CommittedEventId}");
        }
        else if (wait == SubmitWait.Durable && host.DurableEventId < id)
        {
            _result.Fail($"producer {p} seq {seq}: SubmitAsync(Durable) completed with id {id} above the durable watermark {host.DurableEventId}");
        }
    }

    private void Sample(List<(long Seq, long Id)> samples, long seq, long id, ref long lastKnownId, SubmitWait wait)
    {
        if (id <= 0)
        {
            _result.Fail($"seq {seq}: a submission waiting for {wait} returned id {id}");
        }

        lastKnownId = Math.Max(lastKnownId, id);
        if (samples.Count < MaxSamplesPerProducer)
        {
            samples.Add((seq, id));
        }
    }

    private void AppendDirect(WalRecorder recorder)
    {
        var buffer = new byte[_work.MaxPayload];
        var next = new long[_work.Producers];
        long total = _work.TotalAttempts;
        long lastId = recorder.LastEventId;
        int sinceCommit = 0;
        int commitEvery = 1;
        try
        {
            for (long i = 0; i < total; i++)
            {
                int p = (int)(StressPayload.Key(_work.Seed, -1, i) % (ulong)_work.Producers);
                while (next[p] >= _work.Attempts(p))
                {
                    p = (p + 1) % _work.Producers;
                }

                long seq = next[p]++;
                Span<byte> payload = buffer.AsSpan(0, _work.Length(p, seq));
                StressPayload.Fill(payload, _work.Seed, p, seq);
                long id = recorder.Append(payload, (ushort)(p + 1));
                if (id != lastId + 1)
                {
                    _result.Fail($"Append returned id {id} after {lastId}");
                }

                lastId = id;
                if ((i & 63) == 0 && _samples[p].Count < MaxSamplesPerProducer)
                {
                    _samples[p].Add((seq, id));
                }

                if (++sinceCommit >= commitEvery)
                {
                    long committed = recorder.Commit();
                    if (committed != id)
                    {
                        _result.Fail($"Commit after id {id} returned {committed}");
                    }

                    sinceCommit = 0;
                    commitEvery = 1 + (int)(StressPayload.Key(_work.Seed, -2, i) % 512);
                }

                if (i % 200_000 == 199_999 && recorder.Flush() != id)
                {
                    _result.Fail($"Flush after id {id} did not return it");
                }
            }
        }
        catch (Exception e)
        {
            _result.Fail($"writer: {Where(e)}\n{e}");
        }
    }

    // ---------------------------------------------------------------- live readers

    /// <summary>Follows the log from event 1; every event must be committed when handed out, and every accepted one must come once the recorder closes.</summary>
    private sealed class TailerReader(HostStress run, CancellationToken cancel)
    {
        private WalTailer? _tailer;

        public string Where() => _tailer is null ? "not started" : $"tailer at id {_tailer.LastEventId}, segment {_tailer.SegmentIndex}, state {_tailer.State}; committed id {run._committed()}";

        public void Run()
        {
            var checker = new StressChecker(run._work, "tailer", fromStart: true, expectedFirstId: 1);
            try
            {
                using WalTailer tailer = WalTailer.Open(run._directory, 1, new TailerOptions { MaxIdleSleep = TimeSpan.FromMilliseconds(2) });
                _tailer = tailer;
                while (tailer.ReadNext(out WalEvent e, cancel))
                {
                    checker.Check(e);
                    run.CheckCommitted("tailer", e.EventId);
                }

                if (tailer.State != TailerState.Closed)
                {
                    run._result.Fail($"tailer ended with state {tailer.State}, not Closed, at id {tailer.LastEventId}");
                }

                checker.CheckComplete();
                if (checker.Events != run._work.TotalAccepted)
                {
                    run._result.Fail($"tailer read {checker.Events} events; {run._work.TotalAccepted} were accepted");
                }
            }
            catch (Exception e)
            {
                run._result.Fail($"tailer: {run.Where(e)}; {Where()}\n{e}");
            }

            run._result.TailerEvents = checker.Events;
            lock (run._result)
            {
                run._result.IdsChecked += checker.Events;
                run._result.Absorb(checker);
            }
        }
    }

    private void RecoveryLoop(CancellationToken cancel)
    {
        for (int k = 0; _recording && !cancel.IsCancellationRequested; k++)
        {
            Thread.Sleep(1); // leave the recorder the processor now and then: this loop reads flat out
            long before = _committed();

            // Every eighth replay reads the whole log; the others the live end, where the races are
            // (a whole replay each time would make the loop quadratic in the log's length).
            bool whole = k % 8 == 0;
            long recent = whole ? 1 : Math.Max(1, before - RecentEvents);
            var checker = new StressChecker(_work, $"live recovery #{k}", fromStart: whole && !_config.HasRetention);
            RecoveryReport? report = null;
            string how = (k % 3) switch { 0 => "WalEventReader.Open", 1 => "WalRecovery with preloader", _ => "WalRecovery without preloader" } + (whole ? ", whole log" : $", from {recent}");
            try
            {
                if (k % 3 == 0)
                {
                    using WalEventReader reader = WalEventReader.Open(_directory, new EventFilter { FromEventId = recent });
                    while (reader.TryReadNext(out WalEvent e, cancel))
                    {
                        checker.Check(e);
                    }

                    report = reader.Report;
                }
                else
                {
                    using WalRecovery recovery = WalRecovery.Open(_directory, new RecoveryOptions { Mode = RecoveryMode.Strict, UsePreloader = k % 3 == 1 });
                    long from = Math.Max(recent, recovery.Catalog.FirstEventId);
                    report = recovery.Run(from, e => checker.Check(e), cancellation: cancel);
                }
            }
            catch (WalNoSegmentException) when (before == 0)
            {
                continue; // nothing written yet
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
            catch (WalCorruptionException e) when (OvertakenByRetention(e.Finding, checker))
            {
                continue;
            }
            catch (Exception e)
            {
                _result.Fail($"live recovery #{k} ({how}), committed id {before} before it: {Where(e)}\n{e}");
                if (_result.Failures.Count > 20)
                {
                    return;
                }

                continue;
            }

            long after = _committed();
            _result.Recoveries++;
            _result.RecoveryEvents += checker.Events;
            lock (_result)
            {
                _result.IdsChecked += checker.Events;
                _result.Absorb(checker);
                string tail = report?.Tail.ToString() ?? "no report";
                _result.LiveTailStates[tail] = _result.LiveTailStates.GetValueOrDefault(tail) + 1;
            }

            if (report is null || (report.Failure is { } stop && OvertakenByRetention(stop, checker)))
            {
                continue;
            }

            if (report.Failure is not null || report.Damage.Count > 0 || report.Gaps.Count > 0 || report.Outcome is not (RecoveryOutcome.Complete or RecoveryOutcome.NothingToReplay))
            {
                _result.Fail($"live recovery #{k} ({how}) reported damage on a healthy live log: outcome {report.Outcome}, failure {report.Failure}, damage [{string.Join("; ", report.Damage)}], gaps {report.Gaps.Count}, tail {report.Tail} {report.TailFinding}");
            }

            if (report.LastEventId > after)
            {
                CheckCommitted($"live recovery #{k} ({how})", report.LastEventId);
            }

            if (report.LastEventId < before)
            {
                _result.Fail($"live recovery #{k} ({how}) replayed up to id {report.LastEventId}, below the committed watermark read before it opened, {before}: a committed event missed (outcome {report.Outcome}, start note '{report.StartNote}', {report.EventsReplayed} events from {report.SegmentsOpened} segments)");
            }

            if (checker.Events > 0 && checker.LastId != report.LastEventId)
            {
                _result.Fail($"live recovery #{k} ({how}): the handler saw up to {checker.LastId}, the report says {report.LastEventId}");
            }
        }
    }

    /// <summary>
    /// A replay slower than retention: a segment it had not reached yet was deleted (compressed and
    /// deleted) after it had replayed events. Those events are gone for it, which it reports; the log
    /// itself is not damaged. Counted, not failed (docs/results/stress.md: left open).
    /// </summary>
    private bool OvertakenByRetention(Finding finding, StressChecker checker)
    {
        if (!_config.HasRetention || finding.Code != FindingCode.IoError || checker.Events == 0 || File.Exists(finding.File)
            || File.Exists(Path.ChangeExtension(finding.File, ".wal")) || File.Exists(Path.ChangeExtension(finding.File, ".walz")))
        {
            return false;
        }

        lock (_result)
        {
            _result.OvertakenByRetention++;
        }

        return true;
    }

    private void ScanLoop(CancellationToken cancel)
    {
        for (int k = 0; _recording && !cancel.IsCancellationRequested; k++)
        {
            Thread.Sleep(1);
            if (k % 8 == 0)
            {
                try
                {
                    VerificationReport verification = SegmentVerifier.VerifyDirectory(_directory);
                    _result.Verifications++;
                    if (!verification.IsIntact || verification.HasErrors)
                    {
                        _result.Fail($"live verification #{k} reported damage on a healthy live log: {string.Join("; ", verification.Findings.Where(f => f.Severity >= FindingSeverity.Damage))}");
                    }

                    // The catalog (Get-WalSegment, a replay's plan) must judge the live log as the
                    // verifier (Test-WalSegment) just did: no damage on a healthy log either.
                    WalCatalog catalog = WalCatalog.Open(_directory);
                    _result.Catalogs++;
                    if (catalog.HasDamage)
                    {
                        _result.Fail($"live catalog #{k} reported damage on a healthy live log the verifier found intact: {string.Join("; ", catalog.Findings.Where(f => f.Severity >= FindingSeverity.Damage))}");
                    }
                }
                catch (Exception e)
                {
                    _result.Fail($"live verification #{k}: {Where(e)}\n{e}");
                }
            }

            // Every sixteenth pass scans every segment; the others the last few, where the recorder
            // writes, rotates, closes and compresses.
            IReadOnlyList<(long Index, string Path)> segments = WalDirectory.List(_directory).Segments;
            foreach ((long index, string path) in k % 16 == 0 ? segments : segments.Skip(Math.Max(0, segments.Count - 4)))
            {
                if (!_recording)
                {
                    break;
                }

                SegmentReader reader;
                try
                {
                    reader = SegmentReader.Open(path);
                }
                catch (WalPathNotFoundException) when (!File.Exists(path) && (_config.HasRetention || index > _activeSegment()))
                {
                    continue; // retention deleted it, or compression replaced it, or it was prepared and the closing recorder discarded it
                }
                catch (Exception e)
                {
                    _result.Fail($"live scan #{k} of segment {index} ({Path.GetFileName(path)}): {Where(e)}\n{e}");
                    continue;
                }

                using (reader)
                {
                    var checker = new StressChecker(_work, $"live scan #{k} of segment {index}", fromStart: false, expectedFirstId: reader.FirstEventId);
                    if (reader.Scan.HasDamage)
                    {
                        _result.Fail($"live scan #{k} of segment {index} reported damage on a healthy live segment: {string.Join("; ", reader.Scan.Findings)}");
                    }

                    while (reader.TryReadNext(out WalEvent e))
                    {
                        checker.Check(e);
                    }

                    CheckCommitted($"live scan #{k} of segment {index}", checker.LastId);

                    _result.Scans++;
                    _result.ScanEvents += checker.Events;
                    lock (_result)
                    {
                        _result.IdsChecked += checker.Events;
                        _result.Absorb(checker);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- after the close

    private void CheckClosedLog()
    {
        VerificationReport verification = SegmentVerifier.VerifyDirectory(_directory);
        if (!verification.IsIntact || verification.HasErrors || verification.HasTornTail)
        {
            _result.Fail($"the closed log does not verify intact: {string.Join("; ", verification.Findings.Where(f => f.Severity >= FindingSeverity.TornTail))}");
        }

        var byId = new Dictionary<long, (int Producer, long Seq)>();
        for (int p = 0; p < _samples.Length; p++)
        {
            long previousId = 0;
            foreach ((long seq, long id) in _samples[p].OrderBy(s => s.Seq))
            {
                if (id <= previousId)
                {
                    _result.OrderViolations++;
                    _result.Fail($"producer {p}: seq {seq} got id {id}, not above the id {previousId} of an earlier seq: the host did not keep the producer's order");
                }

                previousId = id;
                byId[id] = (p, seq);
            }
        }

        using WalRecovery recovery = WalRecovery.Open(_directory, new RecoveryOptions { Mode = RecoveryMode.Strict });
        long from = Math.Max(1, recovery.Catalog.FirstEventId);
        if (!_config.HasRetention && from != 1)
        {
            _result.Fail($"the closed log starts at id {from}, not 1, without retention");
        }

        var checker = new StressChecker(_work, "final recovery", fromStart: from == 1, expectedFirstId: from);
        long sampled = 0;
        RecoveryReport report = recovery.Run(from, e =>
        {
            long seq = checker.Check(e);
            if (byId.TryGetValue(e.EventId, out (int Producer, long Seq) known) && seq >= 0)
            {
                sampled++;
                if (known.Producer != e.Type - 1 || known.Seq != seq)
                {
                    _result.OrderViolations++;
                    _result.Fail($"event {e.EventId} is producer {e.Type - 1} seq {seq}, but the id was returned to producer {known.Producer} for seq {known.Seq}");
                }
            }
        });
        checker.CheckComplete();
        if (!report.IsComplete || report.Tail != LogEnd.Closed)
        {
            _result.Fail($"strict recovery of the closed log is not complete: outcome {report.Outcome}, failure {report.Failure}, damage {report.Damage.Count}, gaps {report.Gaps.Count}, tail {report.Tail}");
        }

        if (report.LastEventId != _work.TotalAccepted)
        {
            _result.Fail($"the closed log ends at id {report.LastEventId}; {_work.TotalAccepted} events were accepted");
        }

        if (!_config.HasRetention && checker.Events != _work.TotalAccepted)
        {
            _result.Fail($"the closed log holds {checker.Events} events; {_work.TotalAccepted} were accepted");
        }

        _result.FinalEventsChecked = checker.Events;
        _result.IdsChecked += checker.Events + sampled;
        _result.Bytes = _config.HasRetention ? Enumerable.Range(0, _work.Producers).Sum(p => LengthSum(p)) : checker.Bytes;
        _result.Absorb(checker);
    }

    private long LengthSum(int producer)
    {
        long sum = 0;
        for (long s = 0; s < _work.Attempts(producer); s++)
        {
            if (!_work.IsRejected(producer, s))
            {
                sum += _work.Length(producer, s);
            }
        }

        return sum;
    }

    // ---------------------------------------------------------------- memory

    /// <summary>
    /// The bounds, from the configuration: the host's envelopes (at most the queue's capacity, one per
    /// producer being filled, a batch awaiting its commit, each with a buffer under twice the largest
    /// payload), plus fixed allowances for the runtime and the readers; segment mappings and files
    /// bounded by what the recorder and the readers hold at once. None grows with the events or
    /// segments written.
    /// </summary>
    private void CheckBounds(MemoryPeaks baseline, MemoryPeaks peaks)
    {
        const long MiB = 1024 * 1024;
        long envelopes = _config.Direct ? 0 : (long)(_config.QueueCapacity + _work.Producers + HostMaxBatch + 16) * ((2L * _work.MaxPayload) + 512);
        long bookkeeping = _work.TotalAttempts / 8 + (long)_work.Producers * MaxSamplesPerProducer * 48;
        long managed = baseline.LiveManagedBytes + envelopes + bookkeeping + (256 * MiB);
        long anon = baseline.RssAnonBytes + envelopes + bookkeeping + (512 * MiB);
        int mappings = RecorderMappings + ReaderMappings;
        long file = baseline.RssFileBytes + (mappings * _config.SegmentSize) + (128 * MiB);
        int handles = baseline.FileHandles + mappings + 64;
        _result.Bounds = string.Create(CultureInfo.InvariantCulture,
            $"managed ≤ {MemoryPeaks.Mb(managed)}, RssAnon ≤ {MemoryPeaks.Mb(anon)}, RssFile ≤ {MemoryPeaks.Mb(file)}, open files ≤ {handles}, .wal mappings ≤ {mappings} (envelopes {MemoryPeaks.Mb(envelopes)}, baseline {baseline})");
        void Over(string what, long peak, long bound)
        {
            if (peak > bound)
            {
                _result.Fail($"MEMORY: {what} peaked at {peak:N0}, over its bound {bound:N0} ({_result.Bounds})");
            }
        }

        // Live objects, not garbage: compressed segments are read and written through large buffers
        // (half a megabyte and more, on the large-object heap), whose garbage waits for a full
        // collection; the heap with its garbage is printed, and bounded through RssAnon.
        Over("the managed heap's live objects", peaks.LiveManagedBytes, managed);
        if (OperatingSystem.IsLinux())
        {
            Over("anonymous resident memory", peaks.RssAnonBytes, anon);
            Over("file-backed resident memory", peaks.RssFileBytes, file);
            Over("open file descriptors", peaks.FileHandles, handles);
            Over("mappings of segment files", peaks.WalMappings, mappings);
        }
    }
}

/// <summary>The stress set's totals: what docs/results/stress-long.txt holds.</summary>
public sealed class StressTally
{
    public required int Seed { get; init; }

    public required int Producers { get; init; }

    public required long EventsAsked { get; init; }

    public List<StressRunResult> Runs { get; } = [];

    public int Violations => Runs.Sum(r => r.Losses + r.Duplicates + r.OrderViolations + r.PayloadErrors);

    public int Failures => Runs.Sum(r => r.Failures.Count);

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"seed {Seed}, producers {Producers}, events asked {EventsAsked:N0}, {Environment.ProcessorCount} cores");
        text.AppendLine(CultureInfo.InvariantCulture, $"events accepted and recorded {Runs.Sum(r => r.Accepted):N0} (submissions {Runs.Sum(r => r.Attempts):N0}, rejected by a full fail-fast queue {Runs.Sum(r => r.Rejected):N0}), payload bytes {Runs.Sum(r => r.Bytes):N0}, segments {Runs.Sum(r => r.Segments):N0}, rotations {Runs.Sum(r => r.Rotations):N0}, elapsed {Runs.Sum(r => r.Elapsed.TotalSeconds):F1} s");
        text.AppendLine(CultureInfo.InvariantCulture, $"read concurrently with recording: tailer {Runs.Sum(r => r.TailerEvents):N0} events; {Runs.Sum(r => r.Recoveries):N0} strict recoveries ({Runs.Sum(r => r.RecoveryEvents):N0} events); {Runs.Sum(r => r.Scans):N0} segment scans ({Runs.Sum(r => r.ScanEvents):N0} events); {Runs.Sum(r => r.Verifications):N0} directory verifications, each followed by a catalog ({Runs.Sum(r => r.Catalogs):N0})");
        text.AppendLine(CultureInfo.InvariantCulture, $"events checked after the close (strict recovery, exact payloads): {Runs.Sum(r => r.FinalEventsChecked):N0}; events checked in all (every reader, every byte): {Runs.Sum(r => r.IdsChecked):N0}");
        text.AppendLine(CultureInfo.InvariantCulture, $"losses {Runs.Sum(r => r.Losses)}, duplicates {Runs.Sum(r => r.Duplicates)}, order violations {Runs.Sum(r => r.OrderViolations)}, payload errors {Runs.Sum(r => r.PayloadErrors)}, other failures (damage on a live log, uncommitted reads, bounds, hangs, exceptions) {Runs.Sum(r => r.Failures.Count) - Runs.Count(r => r.Losses + r.Duplicates + r.OrderViolations + r.PayloadErrors > 0)}");
        foreach (StressRunResult r in Runs)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {r.Config}");
            text.AppendLine(CultureInfo.InvariantCulture, $"    {r.Producers} producers, {r.Accepted:N0} events ({r.Rejected:N0} rejected), {r.Bytes:N0} payload bytes, {r.Segments} segments, {r.Rotations} rotations, {r.Elapsed.TotalSeconds:F1} s; live: tailer {r.TailerEvents:N0} events, {r.Recoveries} recoveries ({r.RecoveryEvents:N0} events, tails {string.Join(", ", r.LiveTailStates.Select(t => $"{t.Key} {t.Value}"))}), {r.Scans} scans ({r.ScanEvents:N0} events), {r.Verifications} verifications and {r.Catalogs} catalogs; reads ahead of the published watermark {r.AheadOfWatermark} (by up to {r.MaxWatermarkLag} events); recoveries overtaken by retention {r.OvertakenByRetention}");
            text.AppendLine(CultureInfo.InvariantCulture, $"    peaks: {r.Peaks}");
            text.AppendLine(CultureInfo.InvariantCulture, $"    bounds: {r.Bounds}");
            text.AppendLine(CultureInfo.InvariantCulture, $"    losses {r.Losses}, duplicates {r.Duplicates}, order violations {r.OrderViolations}, payload errors {r.PayloadErrors}, failures {r.Failures.Count}");
        }

        return text.ToString();
    }
}
