using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Recording;

namespace FlashWal.Tests.Durability;

/// <summary>
/// Drives one run of a power-cut case on a <see cref="SimulatedDisk"/>: opens the log (a
/// <see cref="WalRecorder"/>, or a <see cref="WalRecorderHost"/> fed by producer threads), records
/// self-describing events into an <see cref="EventLedger"/>, optionally kills the recorder as a process
/// kill does (the page cache, i.e. the real files, stays) and reopens it on the same disk, and ends with
/// a cut before or after a clean close. Every wait is bounded.
/// </summary>
internal sealed class PowerCutRun
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>How long one submission may wait (far more than a healthy one takes on a loaded 2-core machine).</summary>
    private static readonly TimeSpan SubmitPatience = TimeSpan.FromSeconds(10);

    private readonly PowerCutCase _case;
    private readonly string _wal;
    private readonly SimulatedDisk _disk;
    private readonly ReportedDurable _reported;
    private readonly EventLedger _ledger;
    private readonly Random _random;
    private readonly List<(string Code, string Detail)> _problems = [];
    private int _epoch;
    private WalRecorder? _recorder;
    private WalRecorderHost? _host;
    private Exception? _stopped;

    public PowerCutRun(PowerCutCase config, string wal, SimulatedDisk disk, ReportedDurable reported, EventLedger ledger, int epoch, Random random)
    {
        _case = config;
        _wal = wal;
        _disk = disk;
        _reported = reported;
        _ledger = ledger;
        _epoch = epoch;
        _random = random;
    }

    /// <summary>Why the first open failed (an exception is the check's finding: a power cut must never stop an open).</summary>
    public Exception? OpenFailure { get; private set; }

    /// <summary>The id the first open hands out first: one past its last event.</summary>
    public long FirstId { get; private set; }

    /// <summary>What the first open found.</summary>
    public IReadOnlyList<Finding> OpenFindings { get; private set; } = [];

    /// <summary>Why recording stopped early: a failed sync halts the recorder (expected under <see cref="PowerCutModel.FailSync"/>).</summary>
    public Exception? Stopped => Volatile.Read(ref _stopped);

    /// <summary>What went wrong in the run itself, outside the cuts: a reopen after a kill that failed or reused committed ids, a hang.</summary>
    public IReadOnlyList<(string Code, string Detail)> Problems
    {
        get
        {
            lock (_problems)
            {
                return [.. _problems];
            }
        }
    }

    public int Kills { get; private set; }

    /// <summary>Opens the log. False when the open failed (<see cref="OpenFailure"/>).</summary>
    public bool Start()
    {
        try
        {
            if (_case.UsesHost)
            {
                _host = WalRecorderHost.Start(_wal, new WalRecorderHostOptions { Recorder = _case.RecorderOptions(_disk), QueueCapacity = 256 });
                WalRecorderHost host = _host;
                FirstId = host.LastEventId + 1;
                OpenFindings = host.OpenFindings;
                _reported.Live(() => host.DurableEventId);
            }
            else
            {
                _recorder = WalRecorder.Open(_wal, _case.RecorderOptions(_disk));
                WalRecorder recorder = _recorder;
                FirstId = recorder.LastEventId + 1;
                OpenFindings = recorder.OpenFindings;
                _reported.Live(() => recorder.DurableEventId);
            }

            return true;
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            OpenFailure = e;
            return false;
        }
    }

    /// <summary>Records <paramref name="events"/> events; after <paramref name="killAfter"/> of them (0: never) the recorder is killed and reopened.</summary>
    public void Record(int events, int killAfter)
    {
        if (_host is not null)
        {
            Produce(events);
            return;
        }

        int appended = 0;
        int commits = 0;
        for (int i = 0; i < events && _recorder is not null && Stopped is null; i++)
        {
            if (killAfter > 0 && i == killAfter)
            {
                Kill();
                if (_recorder is null)
                {
                    return;
                }
            }

            WalRecorder recorder = _recorder;
            long id = recorder.LastEventId + 1;
            byte[] payload = PowerCutPayload.Make(_case.CaseSeed, _epoch, id, _case.MinPayload, _case.MaxPayloadSize);
            _ledger.Wrote(id, _epoch, id);
            try
            {
                long got = recorder.Append(payload);
                if (got != id)
                {
                    Problem("AppendId", $"append handed out id {got} where {id} was next");
                }

                if (++appended % _case.CommitEvery == 0)
                {
                    recorder.Commit();
                    if (_case.FlushEvery > 0 && ++commits % _case.FlushEvery == 0)
                    {
                        recorder.Flush();
                    }
                }
            }
            catch (WalException e)
            {
                Volatile.Write(ref _stopped, e); // a failed sync stopped the recorder
            }

            if (_random.Next(256) == 0)
            {
                Thread.Sleep(1); // let the maintainer's interval flushes, closes and checkpoints interleave
            }
        }
    }

    /// <summary>Cuts the power now (with the recorder still open) or after its clean close, and closes it either way.</summary>
    public PowerCut End(PowerCutModel model, bool afterClose)
    {
        if (afterClose)
        {
            Close();
            return _disk.Cut(model);
        }

        PowerCut cut = _disk.Cut(model);
        Close();
        return cut;
    }

    /// <summary>A process kill: nothing sealed, flushed or closed; the real files (the page cache) stay. Then the reopen a restart does.</summary>
    private void Kill()
    {
        WalRecorder killed = _recorder!;
        if (killed.StopFailure is { } failure)
        {
            Volatile.Write(ref _stopped, failure); // a failed sync stopped it: no restart on this boot (see PowerCutFuzz)
            return;
        }

        long committed = killed.CommittedEventId;
        long durable = killed.DurableEventId;
        killed.Abandon();
        _reported.Carry(durable);
        _recorder = null;
        _epoch++;
        Kills++;
        if (killed.StopFailure is { } failedDuringKill)
        {
            // The kill stops the threads, and the maintainer finishes a close it had begun: its sync
            // can fail then, after the look above. That is a failed sync followed by a kill, so the
            // same rule holds: no restart on this boot (a recorder opened now would read the dropped
            // pages from the page cache and call them durable; see PowerCutFuzz). Seed 20261205,
            // case 2594 restarted here before this check and lost events the failed fsync dropped.
            Volatile.Write(ref _stopped, failedDuringKill);
            return;
        }
        try
        {
            WalRecorder reopened = WalRecorder.Open(_wal, _case.RecorderOptions(_disk));
            _reported.Live(() => reopened.DurableEventId);
            _recorder = reopened;
            if (reopened.LastEventId < committed)
            {
                Problem("KillReusesCommittedId", $"after the kill the reopened recorder continues at {reopened.LastEventId + 1}, but {committed} had been committed (the page cache keeps it)");
            }
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            if (!CausedByFailedSync(e))
            {
                Problem($"KillReopen {(e is WalCorruptionException c ? c.Finding.Code.ToString() : e.GetType().Name)}", $"the reopen after the kill failed: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private void Produce(int events)
    {
        WalRecorderHost host = _host!;
        int producers = _case.Producers;
        var threads = new List<Thread>();
        for (int p = 0; p < producers; p++)
        {
            int producer = 100 * _epoch + p;
            int count = events / producers;
            var random = new Random(PowerCutCase.Mix(_case.CaseSeed, producer));
            threads.Add(new Thread(() => ProduceOne(host, producer, count, random)) { IsBackground = true, Name = $"power-cut producer {producer}" });
        }

        threads.ForEach(t => t.Start());
        foreach (Thread thread in threads)
        {
            if (!thread.Join(Patience * 2))
            {
                Problem("ProducerHang", $"{thread.Name} did not finish within {Patience * 2}");
            }
        }
    }

    private void ProduceOne(WalRecorderHost host, int producer, int count, Random random)
    {
        for (long seq = 0; seq < count && Stopped is null; seq++)
        {
            byte[] payload = PowerCutPayload.Make(_case.CaseSeed, producer, seq, _case.MinPayload, _case.MaxPayloadSize);
            int draw = random.Next(10);
            SubmitWait wait = draw < 6 ? SubmitWait.Appended : draw < 9 ? SubmitWait.Committed : SubmitWait.Durable;
            try
            {
                long id = host.Submit(payload, 0, wait, SubmitPatience);
                _ledger.Wrote(id, producer, seq);
            }
            catch (Exception e) when (e is WalException or ObjectDisposedException)
            {
                // A failed sync stopped the recorder; the host fails what was queued and closes.
                Interlocked.CompareExchange(ref _stopped, e, null);
            }
            catch (TimeoutException)
            {
                Problem("SubmitTimeout", $"producer {producer}: a {wait} submission did not complete within {SubmitPatience}{(Stopped is { } stopped ? $" (the host had stopped: {stopped.Message})" : "")}");
                return;
            }
            catch (Exception e)
            {
                Problem($"Submit {e.GetType().Name}", $"producer {producer}: a {wait} submission threw {e}"); // never on a producer thread unhandled
                return;
            }
        }
    }

    private void Close()
    {
        try
        {
            if (_host is not null)
            {
                _host.Dispose();
                _reported.Carry(_host.DurableEventId);
            }
            else if (_recorder is not null)
            {
                _recorder.Dispose();
                _reported.Carry(_recorder.DurableEventId);
            }
        }
        catch (WalException e) when (Stopped is not null || CausedByFailedSync(e))
        {
            // A failed sync stopped it (or the close's own sync failed): disposing says so and leaves the files as a crash does.
            Interlocked.CompareExchange(ref _stopped, e, null);
        }
    }

    /// <summary>
    /// Whether a failed sync is somewhere in <paramref name="e"/>'s chain: a host whose final flush
    /// fails at its close reports "closing failed" around "recording stopped" around the sync's own
    /// error, two levels down.
    /// </summary>
    private static bool CausedByFailedSync(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause is WalSyncException)
            {
                return true;
            }
        }

        return false;
    }

    private void Problem(string code, string what)
    {
        lock (_problems)
        {
            _problems.Add((code, what));
        }
    }
}
