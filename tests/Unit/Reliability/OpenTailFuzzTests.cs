using System.Buffers.Binary;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Recovery;
using FlashWal.Tests.Support;
using Xunit.Abstractions;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// Seeded corruption fuzzing of the end of a log as a crash leaves it: three closed segments (ids
/// 1..90) and a last segment that was never closed, with three sealed blocks (91..120) followed by a
/// torn tail (five unsealed events). This is where damage and a crash look most alike: a sealed block
/// whose header no longer verifies and has nothing valid after it cannot be told from a seal the
/// crash interrupted (FORMAT.md §9 step 7), and after a power cut nothing written after the durable
/// point can be told from what the cut left unwritten (§9.1), so only the checkpoint's durable id can
/// tell damage from a torn end. The oracle says exactly that: damage wherever the format can see it
/// at or before the durable point, a torn tail (never damage) where it cannot, and
/// <c>DurableEventsMissing</c> when the checkpoint called lost events durable. A failure names the
/// seed and case (replay with <see cref="Replay_one_case"/>).
/// </summary>
public sealed class OpenTailFuzzTests : IDisposable
{
    private const int Closed = 3;
    private const int PerSegment = 30;
    private const long FirstOpenId = Closed * PerSegment + 1;   // 91
    private const long LastSealedId = FirstOpenId + 29;         // 120
    private const int Unsealed = 5;
    private const int HeaderSize = 128;

    /// <summary>One case in this many is then repaired, and a recorder continues it (<see cref="RepairCheck"/>).</summary>
    private const int RepairOneIn = 4;

    private readonly TempDirectory _pristine = new();
    private readonly byte[][] _closed = new byte[Closed][];
    private readonly byte[] _open;
    private readonly LogId _log;
    private readonly List<(long Start, long End, long First, long Last)> _blocks = [];
    private readonly ITestOutputHelper _output;

    public OpenTailFuzzTests(ITestOutputHelper output)
    {
        _output = output;
        _log = Wal.WriteLog(_pristine.Path, Closed, PerSegment, Wal.Small, sealEvery: 10);
        for (int s = 0; s < Closed; s++)
        {
            _closed[s] = File.ReadAllBytes(Wal.SegmentPath(_pristine.Path, s));
        }

        uint chain = SegmentScanner.ScanFile(Wal.SegmentPath(_pristine.Path, Closed - 1)).FinalChain!.Value;
        SegmentWriter open = Wal.Write(_pristine.Path, Closed, _log, chain, FirstOpenId, PerSegment + Unsealed, Wal.Small, sealEvery: 10);
        open.AbandonMidWrite(); // a recorder killed with five events in its open block
        _open = File.ReadAllBytes(Wal.SegmentPath(_pristine.Path, Closed));
        for (long at = SegmentFormat.DataOffset; BinaryPrimitives.ReadUInt32LittleEndian(_open.AsSpan((int)at)) == SegmentFormat.BlockMagic;)
        {
            ReadOnlySpan<byte> h = _open.AsSpan((int)at, 64);
            long end = at + BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            _blocks.Add((at, end, (long)BinaryPrimitives.ReadUInt64LittleEndian(h[16..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(h[24..])));
            at = end;
        }
    }

    public enum Kind
    {
        BitFlip,
        ByteRun,
        ZeroPage,
        Truncate,
        AppendGarbage,
    }

    public void Dispose() => _pristine.Dispose();

    [Fact]
    public void The_pristine_log_ends_in_a_torn_tail_and_nothing_else()
    {
        Assert.Equal([(91L, 100L), (101, 110), (111, 120)], _blocks.Select(b => (b.First, b.Last)));
        using var dir = new TempDirectory();
        Lay(dir.Path, _open, durable: LastSealedId);
        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.True(report.HasTornTail);
        Finding torn = Assert.Single(report.Findings);
        Assert.Equal((Wal.SegmentPath(dir.Path, Closed), _blocks[^1].End), (torn.File, torn.Offset));
    }

    /// <summary>
    /// Defect found by this fuzzing (seed 20261121 case 44): the last segment cut inside its second
    /// block, the checkpoint saying events up to 110 were durable (120 committed). Salvage reported
    /// "events 101..110 (10) lost", as if none had followed; where the lost events end is unknown.
    /// </summary>
    [Fact]
    public void A_cut_last_segment_loses_an_open_ended_range_even_when_the_checkpoint_bounds_the_durable_part()
    {
        using var dir = new TempDirectory();
        Lay(dir.Path, _open.AsSpan(0, (int)_blocks[1].Start + 100).ToArray(), durable: 110);
        using var salvage = WalRecovery.Open(dir.Path, new RecoveryOptions { Mode = RecoveryMode.Salvage, UsePreloader = false });
        var ids = new List<long>();
        Assert.True(salvage.ResumeFrom(1));
        WalRecoveryTests.Drain(salvage, ids);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), ids);
        LostRange gap = Assert.Single(salvage.Report.Gaps);
        Assert.Equal((101L, (long?)null, FindingCode.FileTruncated), (gap.FirstEventId, gap.LastEventId, gap.Cause.Code));
        Assert.Contains(salvage.Report.Damage, f => f.Code == FindingCode.DurableEventsMissing);
        Assert.Equal("0 event(s) in 1 range(s) and an unknown number at the end", LostRange.Total(salvage.Report.Gaps));
    }

    /// <summary>The CI run: four fixed seeds of 250 cases each (1000).</summary>
    [Theory]
    [InlineData(20261121, 250)]
    [InlineData(7, 250)]
    [InlineData(424242, 250)]
    [InlineData(1, 250)]
    public void Seeded_damage_to_a_torn_log_end_is_told_from_the_crash(int seed, int cases) =>
        FuzzRun.Seed(_output, seed, cases, (index, tally) => RunCase(seed, index, tally));

    /// <summary>Runs one case again: put a failing seed and case index here.</summary>
    [Theory]
    [InlineData(20261121, 0)]
    public void Replay_one_case(int seed, int index) => Assert.Null(RunCase(seed, index, []));

    private void Lay(string dir, byte[] open, long durable)
    {
        for (int s = 0; s < Closed; s++)
        {
            File.WriteAllBytes(Wal.SegmentPath(dir, s), _closed[s]);
        }

        File.WriteAllBytes(Wal.SegmentPath(dir, Closed), open);
        new MetaCheckpoint(_log, Closed, _blocks[^1].End, LastSealedId, durable, 1_700_000_000_000_000_000).Save(dir);
    }

    private string? RunCase(int seed, int index, Dictionary<string, int> tally)
    {
        int caseSeed = FuzzRun.CaseSeed(seed, index, fuzzer: 1);
        var random = new Random(caseSeed);
        var kind = (Kind)random.Next(Enum.GetValues<Kind>().Length);
        long durable = random.Next(3) switch { 0 => FirstOpenId - 1, 1 => 110, _ => LastSealedId };
        string what = $"seed {seed} case {index} ({kind}, durable {durable}, case seed {caseSeed})";
        using var dir = new TempDirectory();
        return FuzzRun.Bounded(
            () =>
            {
                byte[] open = Mutate(kind, random, ref what);
                Lay(dir.Path, open, durable);
                Expectation expect = Expect(open, durable);
                FuzzRun.Count(tally, $"{kind} ({(expect.Damage ? "damage" : expect.TornLost.Count > 0 ? "torn, loss invisible" : "no damage")})");
                return Check(dir.Path, expect, repair: random.Next(RepairOneIn) == 0);
            },
            () => what);
    }

    private byte[] Mutate(Kind kind, Random random, ref string what)
    {
        byte[] bytes = (byte[])_open.Clone();
        long tornEnd = _blocks[^1].End + 64 * Unsealed * 4;
        (long From, long To)[] targets =
        [
            (0, HeaderSize), (HeaderSize, 512), (512, 576), (576, SegmentFormat.DataOffset),
            .. _blocks.SelectMany(b => new[] { (b.Start, b.Start + 64), (b.Start + 64, b.End) }),
            (_blocks[^1].End, _blocks[^1].End + 64), (_blocks[^1].End, tornEnd), (tornEnd, bytes.Length),
        ];
        int Offset()
        {
            (long from, long to) = random.Next(3) > 0 ? targets[random.Next(targets.Length)] : (0, bytes.Length);
            return (int)random.NextInt64(from, to);
        }

        switch (kind)
        {
            case Kind.BitFlip:
            {
                int at = Offset();
                int bit = random.Next(8);
                bytes[at] ^= (byte)(1 << bit);
                what += $" offset {at} bit {bit}";
                return bytes;
            }

            case Kind.ByteRun:
            {
                int at = Offset();
                int length = Math.Min(random.Next(1, 65), bytes.Length - at);
                random.NextBytes(bytes.AsSpan(at, length));
                what += $" offset {at} length {length}";
                return bytes;
            }

            case Kind.ZeroPage:
            {
                int page = random.Next((int)(tornEnd / 4096) + 2);
                bytes.AsSpan(page * 4096, 4096).Clear();
                what += $" page {page}";
                return bytes;
            }

            case Kind.Truncate:
            {
                int length = random.Next(2) == 0 ? random.Next(0, (int)tornEnd) : random.Next(0, bytes.Length);
                what += $" to {length} bytes";
                return bytes.AsSpan(0, length).ToArray();
            }

            default:
            {
                byte[] garbage = new byte[random.Next(1, 5000)];
                if (random.Next(4) > 0)
                {
                    random.NextBytes(garbage);
                }

                what += $" {garbage.Length} bytes appended";
                return [.. bytes, .. garbage];
            }
        }
    }

    private sealed class Expectation
    {
        /// <summary>Events lost to damage the segment shows: salvage reports them as gaps.</summary>
        public SortedSet<long> DamageLost { get; } = [];

        /// <summary>Events lost behind what looks like a torn tail: a gap only when the checkpoint called them durable.</summary>
        public SortedSet<long> TornLost { get; } = [];

        public bool SegmentDamage { get; set; }

        public long Durable { get; init; }

        /// <summary>
        /// The last event the segments are known to hold (FORMAT.md §10): the last of the last
        /// segment's blocks that are intact (its valid prefix, or blocks salvage verifies after its
        /// damage), else the last closed segment's, 90.
        /// </summary>
        public long KnownEnd { get; set; } = FirstOpenId - 1;

        /// <summary>Events reported durable past <see cref="KnownEnd"/>: only the checkpoint can tell they were there.</summary>
        public bool DurableMissing => Durable > KnownEnd;

        /// <summary>Events committed (120) but not durable past <see cref="KnownEnd"/>: information.</summary>
        public bool CommittedLost => !DurableMissing && LastSealedId > KnownEnd;

        public bool Damage => SegmentDamage || DamageLost.Count > 0 || DurableMissing;

        /// <summary>Non-zero bytes after the valid prefix of the last segment: a torn tail (when nothing is damaged).</summary>
        public bool Torn { get; set; }

        public long LastPresent => Enumerable.Range(1, (int)LastSealedId).Select(i => (long)i).Where(i => !DamageLost.Contains(i) && !TornLost.Contains(i)).DefaultIfEmpty().Max();
    }

    /// <summary>What the format can and cannot see in the mutated last segment (FORMAT.md §9).</summary>
    private Expectation Expect(byte[] open, long durable)
    {
        var expect = new Expectation { Durable = durable };
        int capacity = _open.Length;
        bool Changed(long from, long to)
        {
            for (long i = from; i < to; i++)
            {
                if (i >= open.Length || open[i] != _open[i])
                {
                    return true;
                }
            }

            return false;
        }

        if (open.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            // Empty or all zeros: what a creation that never reached the disk leaves (FORMAT.md §14
            // step 4); like a torn tail, only the checkpoint can show that events were lost with it.
            for (long id = FirstOpenId; id <= LastSealedId; id++)
            {
                expect.TornLost.Add(id);
            }

            return expect;
        }

        if (open.Length != capacity)
        {
            expect.SegmentDamage = true; // a segment is preallocated: a crash never changes its length
        }

        // Beyond the durable point a failure is a torn end, not damage (FORMAT.md §9.1): the log ends
        // at the first block that no longer verifies (or before the segment, when its header page is
        // zeros), as long as everything before it already reaches the checkpoint's durable id. Blocks
        // after that point are not part of the log (a power cut can leave them behind a hole).
        bool headerNeverWritten = open.Length == capacity && open.AsSpan(0, SegmentFormat.DataOffset).IndexOfAnyExcept((byte)0) < 0;
        int firstChanged = headerNeverWritten ? 0 : _blocks.FindIndex(b => Changed(b.Start, b.End));
        if (open.Length == capacity && firstChanged >= 0 && (headerNeverWritten || !Changed(0, SegmentFormat.DataOffset)))
        {
            long intact = firstChanged == 0 ? FirstOpenId - 1 : _blocks[firstChanged - 1].Last;
            if (intact >= durable)
            {
                for (long id = intact + 1; id <= LastSealedId; id++)
                {
                    expect.TornLost.Add(id);
                }

                expect.Torn = true;
                expect.KnownEnd = intact;
                return expect;
            }
        }

        if (open.Length < HeaderSize || Changed(0, HeaderSize))
        {
            // An unreadable header: nothing in the file can be trusted.
            expect.SegmentDamage = true;
            for (long id = FirstOpenId; id <= LastSealedId; id++)
            {
                expect.DamageLost.Add(id);
            }

            return expect;
        }

        if (Changed(HeaderSize, Math.Min(capacity, SegmentFormat.DataOffset)))
        {
            expect.SegmentDamage = true; // reserved bytes or a summary that is neither zero nor valid
        }

        // The torn suffix: the sealed blocks from the first whose header is broken with no intact
        // header after it. A reader cannot tell those from a seal the crash cut short.
        int torn = _blocks.Count;
        while (torn > 0 && Changed(_blocks[torn - 1].Start, _blocks[torn - 1].Start + 64))
        {
            torn--;
        }

        for (int k = 0; k < _blocks.Count; k++)
        {
            (long start, long end, long first, long last) = _blocks[k];
            SortedSet<long>? lost = k >= torn ? expect.TornLost : Changed(start, end) ? expect.DamageLost : null;
            for (long id = first; lost is not null && id <= last; id++)
            {
                lost.Add(id);
            }
        }

        // A file cut inside the blocks loses what is cut, as damage (the file's length already says so).
        if (open.Length < capacity)
        {
            foreach (long id in expect.TornLost)
            {
                expect.DamageLost.Add(id);
            }

            expect.TornLost.Clear();
        }

        expect.KnownEnd = _blocks.Where(b => !Changed(b.Start, b.End)).Select(b => b.Last).DefaultIfEmpty(FirstOpenId - 1).Max();
        long validEnd = torn == 0 ? SegmentFormat.DataOffset : _blocks[torn - 1].End;
        expect.Torn = open.AsSpan((int)Math.Min(validEnd, open.Length), (int)Math.Max(0, Math.Min(open.Length, capacity) - validEnd)).IndexOfAnyExcept((byte)0) >= 0;
        return expect;
    }

    private static string? Check(string dir, Expectation expect, bool repair)
    {
        string segment = Wal.SegmentPath(dir, Closed);
        string meta = Path.Combine(dir, MetaCheckpoint.FileName);

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir);
        string findings = string.Join(" | ", report.Findings);
        if (report.IsIntact == expect.Damage)
        {
            return $"verifier: expected {(expect.Damage ? "damage" : "no damage")}: {findings}";
        }

        if (expect.SegmentDamage || expect.DamageLost.Count > 0)
        {
            if (!report.Findings.Any(f => f.Severity >= FindingSeverity.Damage && f.File == segment))
            {
                return $"verifier: no damage named in {segment}: {findings}";
            }
        }
        else if (expect.DurableMissing && !report.Findings.Any(f => f.Code == FindingCode.DurableEventsMissing && f.File == meta))
        {
            return $"verifier: no DurableEventsMissing at {meta}: {findings}";
        }

        if (!expect.Damage && report.HasTornTail != expect.Torn)
        {
            return $"verifier: expected {(expect.Torn ? "a torn tail" : "no torn tail")}: {findings}";
        }

        // Nothing the oracle did not expect: no finding about the three closed segments, and on the
        // checkpoint exactly what it says beyond the last event the segments are known to hold.
        FindingCode[] metaCodes = expect.DurableMissing ? [FindingCode.DurableEventsMissing] : expect.CommittedLost ? [FindingCode.NonDurableEventsLost] : [];
        if (report.Findings.FirstOrDefault(f => f.File != segment && (f.File != meta || !metaCodes.Contains(f.Code))) is { } unexpected)
        {
            return $"verifier: unexpected finding {unexpected} (the log is known to end at {expect.KnownEnd}, durable {expect.Durable}); all: {findings}";
        }

        foreach (FindingCode code in metaCodes.Where(code => !report.Findings.Any(f => f.File == meta && f.Code == code)))
        {
            return $"verifier: no {code} at {meta} (the log is known to end at {expect.KnownEnd}, durable {expect.Durable}): {findings}";
        }

        // Strict: complete (a torn tail is not damage) or stopped at the first event lost or at the end.
        var ids = new List<long>();
        WalCorruptionException? error = null;
        using (var strict = WalRecovery.Open(dir, new RecoveryOptions { Mode = RecoveryMode.Strict, UsePreloader = false }))
        {
            error = FuzzRun.ReplayStrict(strict, ids);

            if (expect.Damage != (error is not null))
            {
                return $"strict: expected {(expect.Damage ? "a failure" : "no failure")}, got {error?.Finding.ToString() ?? "none"} after {ids.Count} events";
            }

            var lost = new SortedSet<long>(expect.DamageLost.Concat(expect.TornLost.Where(id => id <= expect.Durable)));
            long stop = lost.Count > 0 ? lost.Min : expect.LastPresent + 1;
            if (expect.Damage && !ids.SequenceEqual(Enumerable.Range(1, (int)stop - 1).Select(i => (long)i)))
            {
                return $"strict: replayed {ids.Count} events (last {(ids.Count > 0 ? ids[^1] : 0)}), expected 1..{stop - 1}; failure {error!.Finding}";
            }

            if (!expect.Damage)
            {
                if (!ids.SequenceEqual(Enumerable.Range(1, (int)expect.LastPresent).Select(i => (long)i)))
                {
                    return $"strict: replayed {ids.Count} events, expected 1..{expect.LastPresent}";
                }

                if ((strict.Report.Tail == LogEnd.TornTail) != expect.Torn || !strict.Report.IsComplete)
                {
                    return $"strict: tail {strict.Report.Tail}, complete {strict.Report.IsComplete}, expected {(expect.Torn ? "a torn tail" : "no torn tail")}";
                }
            }
        }

        // Salvage: every event that survives, and exactly the lost ones it can know of as gaps.
        using var salvage = WalRecovery.Open(dir, new RecoveryOptions { Mode = RecoveryMode.Salvage, UsePreloader = false });
        var salvaged = new List<long>();
        if (salvage.ResumeFrom(1))
        {
            WalRecoveryTests.Drain(salvage, salvaged);
        }

        List<long> kept = [.. Enumerable.Range(1, (int)LastSealedId).Select(i => (long)i).Where(i => !expect.DamageLost.Contains(i) && !expect.TornLost.Contains(i))];
        if (!salvaged.SequenceEqual(kept))
        {
            return $"salvage: replayed {salvaged.Count} events, expected {kept.Count}; gaps {string.Join(" | ", salvage.Report.Gaps)}";
        }

        // A range left open (damage that nothing verified follows) runs to the end of the log, over
        // what looked torn after the damage too: nothing can say where the lost events ended.
        bool openEnded = salvage.Report.Gaps.Any(g => g.LastEventId is null);
        var expectedGaps = new SortedSet<long>(expect.DamageLost.Concat(expect.TornLost.Where(id => openEnded || id <= expect.Durable)));
        var reported = new List<long>();
        foreach (LostRange gap in salvage.Report.Gaps)
        {
            for (long id = gap.FirstEventId; id <= (gap.LastEventId ?? LastSealedId); id++)
            {
                reported.Add(id);
            }
        }

        if (salvage.Report.Damage.FirstOrDefault(f => f.File != segment && (f.File != meta || !expect.DurableMissing || f.Code != FindingCode.DurableEventsMissing)) is { } unexpectedDamage)
        {
            return $"salvage: unexpected damage {unexpectedDamage}; all: {string.Join(" | ", salvage.Report.Damage)}";
        }

        if (expect.DurableMissing != salvage.Report.Damage.Any(f => f.Code == FindingCode.DurableEventsMissing))
        {
            return $"salvage: expected {(expect.DurableMissing ? "" : "no ")}DurableEventsMissing (the log is known to end at {expect.KnownEnd}, durable {expect.Durable}): {string.Join(" | ", salvage.Report.Damage)}";
        }

        if (!reported.Order().SequenceEqual(expectedGaps))
        {
            return $"salvage: gaps [{string.Join(" | ", salvage.Report.Gaps)}], expected lost {(expectedGaps.Count > 0 ? $"{expectedGaps.Min}..{expectedGaps.Max} ({expectedGaps.Count})" : "none")}";
        }

        if (repair)
        {
            IReadOnlyList<LostRange> gaps = [.. salvage.Report.Gaps];
            salvage.Dispose();
            return RepairCheck.Run(dir, kept, gaps);
        }

        return null;
    }
}
