using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;

namespace FlashWal.Tests.Durability;

/// <summary>One thing a cut's check found wrong: which check (verify, recover, ids, open, …), a code (a finding code where there is one) and what exactly.</summary>
internal sealed record CutProblem(string Check, string Code, string Detail)
{
    /// <summary>An id reported durable is absent or wrong even to salvage: the write side lost it.</summary>
    public bool Loss { get; init; }

    /// <summary>An open hands out an id that was reported durable or that the log holds.</summary>
    public bool Reuse { get; init; }

    public string Class => $"{Check}:{Code}";

    public override string ToString() => $"{Class}{(Loss ? " (LOSS)" : Reuse ? " (ID REUSED)" : "")}: {Detail}";
}

/// <summary>What the checks of one cut found, and what the log held (for the restart's ledger).</summary>
internal sealed class CutVerdict
{
    public List<CutProblem> Problems { get; } = [];

    /// <summary>The events strict recovery replayed: id → source.</summary>
    public Dictionary<long, (int Producer, long Seq)> Events { get; } = [];

    /// <summary>The highest event id the verifier or recovery saw.</summary>
    public long LastId { get; set; }

    public bool TornTail { get; set; }

    /// <summary>Ids at or below the reported durable id found with their exact payload.</summary>
    public int DurableChecked { get; set; }

    public bool Passed => Problems.Count == 0;
}

/// <summary>
/// The checks after a power cut (issue 14): (a) the verifier finds no damage and no error (a torn tail
/// is fine); (b) a strict replay from event 1 is complete; (c) every id the lineage holds from past
/// retention's deletions up to the reported durable id is there exactly once, in order, with its exact
/// payload (and no event that was never written is); (d) a recorder opens the directory without an
/// exception or a damage finding and hands out first an id above the reported durable id and above every
/// id the log holds.
/// </summary>
internal static class PowerCutCheck
{
    /// <summary>Checks (a) to (c) on the log in <paramref name="wal"/>.</summary>
    public static CutVerdict Log(string wal, long durable, EventLedger ledger, long deletedThrough, int payloadSeed)
    {
        var verdict = new CutVerdict();
        if (!Directory.Exists(wal))
        {
            if (durable > 0)
            {
                verdict.Problems.Add(new CutProblem("directory", "WalDirectoryMissing", $"the WAL directory is gone; events up to {durable} were reported durable") { Loss = true });
            }

            return verdict;
        }

        Verify(wal, verdict);
        ReplayStrict(wal, durable, ledger, payloadSeed, verdict);
        CheckDurable(wal, durable, ledger, deletedThrough, payloadSeed, verdict);
        return verdict;
    }

    /// <summary>Check (d) on what an open did: <paramref name="firstId"/> is the first id it hands out.</summary>
    public static void Open(CutVerdict verdict, long durable, long firstId, Exception? failure, IReadOnlyList<Finding> findings)
    {
        if (failure is not null)
        {
            string code = failure is WalCorruptionException corrupt ? corrupt.Finding.Code.ToString() : failure.GetType().Name;
            verdict.Problems.Add(new CutProblem("open", code, $"{failure.GetType().Name}: {failure.Message}"));
            return;
        }

        if (firstId <= durable)
        {
            verdict.Problems.Add(new CutProblem("open", "ReusesDurableId", $"the reopened recorder hands out {firstId} first, but events up to {durable} were reported durable") { Reuse = true });
        }
        else if (firstId <= verdict.LastId)
        {
            verdict.Problems.Add(new CutProblem("open", "ReusesPresentId", $"the reopened recorder hands out {firstId} first, but the log holds events up to {verdict.LastId}") { Reuse = true });
        }

        foreach (Finding finding in findings.Where(f => f.Severity >= FindingSeverity.Damage).DistinctBy(f => f.Code))
        {
            verdict.Problems.Add(new CutProblem("open", finding.Code.ToString(), $"the open reported {finding}"));
        }
    }

    /// <summary>Opens <paramref name="wal"/> with an ordinary recorder (no simulated disk) and closes it: (d) for a cut nothing follows.</summary>
    public static (long FirstId, Exception? Failure, IReadOnlyList<Finding> Findings) OpenPlain(string wal, long segmentSize)
    {
        try
        {
            using var recorder = WalRecorder.Open(wal, new WalRecorderOptions { SegmentSize = segmentSize, BlockSize = PowerCutCase.BlockSize, UsePreparer = false, Durability = DurabilityPolicy.None, SyncInterval = TimeSpan.FromMilliseconds(1) });
            return (recorder.LastEventId + 1, null, recorder.OpenFindings);
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return (0, e, []);
        }
    }

    private static void Verify(string wal, CutVerdict verdict)
    {
        try
        {
            VerificationReport report = SegmentVerifier.VerifyDirectory(wal);
            foreach (IGrouping<FindingCode, Finding> code in report.Findings.Where(f => f.Severity >= FindingSeverity.Damage).GroupBy(f => f.Code))
            {
                verdict.Problems.Add(new CutProblem("verify", code.Key.ToString(), $"{code.First()}{(code.Count() > 1 ? $" (and {code.Count() - 1} more)" : "")}"));
            }

            verdict.TornTail = report.HasTornTail;
            verdict.LastId = Math.Max(verdict.LastId, report.LastEventId);
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException)
        {
            verdict.Problems.Add(new CutProblem("verify", e.GetType().Name, e.Message));
        }
    }

    private static void ReplayStrict(string wal, long durable, EventLedger ledger, int payloadSeed, CutVerdict verdict)
    {
        var foreign = new List<long>();
        var wrong = new List<string>();
        try
        {
            using var strict = WalRecovery.Open(wal, new RecoveryOptions { Mode = RecoveryMode.Strict, UsePreloader = false });
            long previous = 0;
            try
            {
                if (strict.ResumeFrom(1))
                {
                    while (strict.TryReadNext(out WalEvent e))
                    {
                        if (e.EventId <= previous)
                        {
                            verdict.Problems.Add(new CutProblem("recover", "Order", $"event {e.EventId} replayed after {previous}"));
                            break;
                        }

                        previous = e.EventId;
                        if (!PowerCutPayload.TryRead(e.Payload, payloadSeed, out int producer, out long seq))
                        {
                            foreign.Add(e.EventId);
                            continue;
                        }

                        if (ledger.TryGet(e.EventId, out (int Producer, long Seq) source) && source != (producer, seq))
                        {
                            wrong.Add(string.Create(CultureInfo.InvariantCulture, $"{e.EventId} holds ({producer}, {seq}) instead of ({source.Producer}, {source.Seq})"));
                        }

                        verdict.Events[e.EventId] = (producer, seq);
                    }
                }
            }
            catch (WalCorruptionException e)
            {
                verdict.Problems.Add(new CutProblem("recover", e.Finding.Code.ToString(), $"strict recovery stopped after event {previous}: {e.Finding}"));
            }

            RecoveryReport report = strict.Report;
            if (!report.IsComplete && !verdict.Problems.Exists(p => p.Check == "recover"))
            {
                string code = report.Failure?.Code.ToString() ?? (report.Gaps.Count > 0 ? "Gap" : (report.Damage.Count > 0 ? report.Damage[0].Code.ToString() : null) ?? report.Outcome.ToString());
                verdict.Problems.Add(new CutProblem("recover", code,
                    $"strict recovery is not complete: {report.Outcome}, gaps {string.Join("; ", report.Gaps)}, damage {string.Join("; ", report.Damage)}"));
            }
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException)
        {
            verdict.Problems.Add(new CutProblem("recover", e.GetType().Name, e.Message));
        }

        if (foreign.Count > 0)
        {
            verdict.Problems.Add(new CutProblem("ids", "ForeignPayload", $"events {Ranges(foreign)} hold payloads this run never wrote") { Loss = foreign[0] <= durable });
        }

        if (wrong.Count > 0)
        {
            verdict.Problems.Add(new CutProblem("ids", "WrongSource", $"{wrong.Count} events hold another append's payload: {string.Join("; ", wrong.Take(3))}") { Loss = true });
        }

        if (verdict.Events.Count > 0)
        {
            verdict.LastId = Math.Max(verdict.LastId, verdict.Events.Keys.Max());
        }
    }

    /// <summary>
    /// (c): every id the lineage holds past retention's deletions and up to <paramref name="durable"/>
    /// must have been replayed. One strict recovery did not replay is looked for on the disk
    /// (<see cref="RawEventScan"/>), to tell a reader's refusal (the bytes are there) from a loss (they are
    /// not); a refusal that recovery did not even report (it called itself complete) is its own class.
    /// </summary>
    private static void CheckDurable(string wal, long durable, EventLedger ledger, long deletedThrough, int payloadSeed, CutVerdict verdict)
    {
        List<long> required = [.. ledger.Known.Where(id => id > deletedThrough && id <= durable).Order()];
        List<long> missing = required.FindAll(id => !verdict.Events.ContainsKey(id));
        verdict.DurableChecked = required.Count - missing.Count;
        if (missing.Count == 0)
        {
            return;
        }

        Dictionary<long, HashSet<(int Producer, long Seq)>> onDisk = RawEventScan.Scan(wal, payloadSeed);
        bool Present(long id) => onDisk.TryGetValue(id, out HashSet<(int Producer, long Seq)>? sources)
            && (!ledger.TryGet(id, out (int Producer, long Seq) source) || sources.Contains(source));
        List<long> absent = missing.FindAll(id => !Present(id));
        if (absent.Count > 0)
        {
            verdict.Problems.Add(new CutProblem("ids", "DurableEventsAbsent",
                $"{absent.Count} of the {required.Count} events from {deletedThrough + 1} to the reported durable {durable} are not on the disk (no block that verifies holds them with their payload): {Ranges(absent)}") { Loss = true });
        }

        if (absent.Count < missing.Count)
        {
            var gone = new HashSet<long>(absent);
            List<long> unreachable = missing.FindAll(id => !gone.Contains(id));
            bool reported = verdict.Problems.Exists(p => p.Check == "recover");
            verdict.Problems.Add(new CutProblem("ids", reported ? "DurableEventsUnreachable" : "DurableEventsSilentlySkipped",
                $"{unreachable.Count} events reported durable are on the disk (in blocks that verify, exact) but strict recovery did not replay them{(reported ? "" : ", and called itself complete")}: {Ranges(unreachable)}"));
        }
    }

    /// <summary>Sorted ids as ranges, the first few: "3..7, 12, 20..25 (and 4 more ranges)".</summary>
    public static string Ranges(IEnumerable<long> ids)
    {
        var ranges = new List<(long From, long To)>();
        foreach (long id in ids.Order())
        {
            if (ranges.Count > 0 && ranges[^1].To + 1 == id)
            {
                ranges[^1] = (ranges[^1].From, id);
            }
            else if (ranges.Count == 0 || ranges[^1].To != id)
            {
                ranges.Add((id, id));
            }
        }

        string text = string.Join(", ", ranges.Take(4).Select(r => r.From == r.To ? $"{r.From}" : $"{r.From}..{r.To}"));
        return ranges.Count > 4 ? $"{text} (and {ranges.Count - 4} more ranges)" : text;
    }
}
