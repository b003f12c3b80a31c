using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// The repair half of the fuzzers' oracle (FORMAT.md §16): on a damaged directory whose salvage the
/// fuzzer has already checked, a repair must plan exactly the losses salvage reports, apply
/// completely, leave every readable event readable, let a recorder continue with ids above every id
/// the log is known to have held, and leave nothing more to repair; once a recorder has continued,
/// nothing is reported that was not before (no new lost id below the ids it skipped, no damage
/// outside the files damaged before but the fence's <c>FencedLoss</c>).
/// </summary>
internal static class RepairCheck
{
    private static readonly WalRecorderOptions Small = new() { SegmentSize = 64 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None, UsePreparer = false };
    private static readonly RecoveryOptions Salvage = new() { Mode = RecoveryMode.Salvage, UsePreloader = false };
    private const int Appended = 3;

    /// <param name="dir">The damaged directory.</param>
    /// <param name="kept">The ids salvage replays from it (already checked against the fuzzer's oracle).</param>
    /// <param name="gaps">The ranges salvage reports lost (also checked).</param>
    /// <returns>What went wrong, or null.</returns>
    public static string? Run(string dir, IReadOnlyCollection<long> kept, IReadOnlyList<LostRange> gaps)
    {
        HashSet<long> lost = [.. gaps.Where(g => g.LastEventId is not null).SelectMany(g => Ids(g.FirstEventId, g.LastEventId!.Value))];
        HashSet<string> damagedBefore = [.. SegmentVerifier.VerifyDirectory(dir).Findings.Where(f => f.Severity >= FindingSeverity.Damage).Select(f => Where(f.File))];
        damagedBefore.Remove(Where(Path.Combine(dir, MetaCheckpoint.FileName))); // the recorder's checkpoint replaces it
        RepairPlan plan = WalRepair.Plan(dir);
        if (plan.Blockers.Count > 0)
        {
            return $"repair: blocked: {string.Join(" | ", plan.Blockers)}";
        }

        var planned = new HashSet<long>();
        foreach (LostRange range in plan.Losses.Where(r => r.LastEventId is not null))
        {
            for (long id = range.FirstEventId; id <= range.LastEventId; id++)
            {
                planned.Add(id);
            }
        }

        if (!planned.SetEquals(lost))
        {
            return $"repair: plans losses [{string.Join(" | ", plan.Losses)}], salvage lost {lost.Count} ids";
        }

        RepairReport report = plan.Apply();
        if (!report.IsComplete)
        {
            return $"repair: not complete: {string.Join(" | ", report.NotApplied)}";
        }

        List<long> after = Replay(dir);
        if (!after.SequenceEqual(kept))
        {
            return $"repair: salvage replays {after.Count} events after it, {kept.Count} before";
        }

        long highest = Math.Max(kept.DefaultIfEmpty().Max(), lost.DefaultIfEmpty().Max());
        long next;
        using (WalRecorder recorder = WalRecorder.Open(dir, Small))
        {
            next = recorder.LastEventId + 1;
            if (next != plan.NextEventId || next <= highest)
            {
                return $"repair: the recorder continues at {next}; the plan said {plan.NextEventId}, and the log held ids up to {highest}";
            }

            for (int i = 0; i < Appended; i++)
            {
                recorder.Append(Wal.Payload(next + i, Wal.PayloadLength(next + i)));
            }
        }

        List<long> continued = Replay(dir, out RecoveryReport replay);
        if (!continued.SequenceEqual(kept.Concat(Enumerable.Range(0, Appended).Select(i => next + i))))
        {
            return $"repair: after a recorder continued, salvage replays {continued.Count} events, expected {kept.Count} + {Appended} from {next}";
        }

        var stillLost = replay.Gaps.SelectMany(g => Ids(g.FirstEventId, g.LastEventId ?? next - 1)).ToHashSet();
        if (!stillLost.IsSupersetOf(lost))
        {
            return $"repair: losses no longer reported once a recorder continued: [{string.Join(" | ", replay.Gaps)}]";
        }

        // Besides those, only ids above every id the log held (open-ended before, or skipped by the recorder) may be lost now.
        if (stillLost.FirstOrDefault(id => !lost.Contains(id) && id <= highest && !gaps.Any(g => g.LastEventId is null && id >= g.FirstEventId)) is long falselyLost and > 0)
        {
            return $"repair: event {falselyLost} reported lost once a recorder continued, which salvage did not report lost before: [{string.Join(" | ", replay.Gaps)}]";
        }

        if (SegmentVerifier.VerifyDirectory(dir).Findings.FirstOrDefault(f => f.Severity >= FindingSeverity.Damage && f.Code != FindingCode.FencedLoss && !damagedBefore.Contains(Where(f.File))) is { } unexpected)
        {
            return $"repair: once a recorder continued, damage the log did not have before: {unexpected}";
        }

        RepairPlan again = WalRepair.Plan(dir);
        return again.Actions.Count > 0 ? $"repair: a second plan still has actions: {string.Join(" | ", again.Actions)}" : null;
    }

    /// <summary>A segment file by its index (a quarantined container's index is then reported missing under the plain name), any other file by its path.</summary>
    private static string Where(string file) =>
        SegmentFileName.TryParseAny(Path.GetFileName(file), out long index, out _) ? $"segment {index}" : file;

    private static IEnumerable<long> Ids(long from, long to)
    {
        for (long id = from; id <= to; id++)
        {
            yield return id;
        }
    }

    private static List<long> Replay(string dir) => Replay(dir, out _);

    private static List<long> Replay(string dir, out RecoveryReport report)
    {
        using var salvage = WalRecovery.Open(dir, Salvage);
        List<long> ids = WalRecoveryTests.Replay(salvage, 1);
        report = salvage.Report;
        return ids;
    }
}
