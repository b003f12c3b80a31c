using System.Buffers.Binary;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recovery;
using FlashWal.Tests.Recovery;
using FlashWal.Tests.Support;
using Xunit.Abstractions;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// Seeded corruption fuzzing on a real log: four closed segments of 30 events (ids 1..120), three
/// blocks of ten events each, and a metadata checkpoint. Every case copies the pristine log, applies
/// one mutation drawn from a per-case seed, and checks the verifier, strict recovery and salvage
/// recovery against an oracle computed from the pristine layout and the bytes actually changed.
/// A failure names the seed and case so that <see cref="Replay_one_case"/> can run it again.
/// </summary>
public sealed class CorruptionFuzzTests : IDisposable
{
    private const int Segments = 4;
    private const int PerSegment = 30;
    private const long LastId = Segments * PerSegment;

    /// <summary>One case in this many is then repaired, and a recorder continues it (<see cref="RepairCheck"/>).</summary>
    private const int RepairOneIn = 8;
    private static readonly RecoveryOptions Strict = new() { Mode = RecoveryMode.Strict, UsePreloader = false };
    private static readonly RecoveryOptions Salvage = new() { Mode = RecoveryMode.Salvage, UsePreloader = false };

    private readonly TempDirectory _pristine = new();
    private readonly byte[][] _files = new byte[Segments][];
    private readonly SegmentLayout[] _layout = new SegmentLayout[Segments];
    private readonly byte[] _meta = new byte[MetaCheckpoint.Size];
    private readonly byte[] _foreign;
    private readonly byte[][] _compressed = new byte[Segments][]; // each segment's .walz container

    private readonly ITestOutputHelper _output;
    private bool _lastDamaged;

    public CorruptionFuzzTests(ITestOutputHelper output)
    {
        _output = output;
        LogId log = Wal.WriteLog(_pristine.Path, Segments, PerSegment, Wal.Small, sealEvery: 10);
        for (int s = 0; s < Segments; s++)
        {
            _files[s] = File.ReadAllBytes(Wal.SegmentPath(_pristine.Path, s));
            _layout[s] = SegmentLayout.Parse(_files[s]);
        }

        new MetaCheckpoint(log, Segments - 1, _layout[^1].DataEnd, LastId, LastId, 1_700_000_000_000_000_000).WriteTo(_meta);
        using var other = new TempDirectory();
        Wal.WriteLog(other.Path, segments: Segments + 1, perSegment: 10, Wal.Small);
        _foreign = File.ReadAllBytes(Wal.SegmentPath(other.Path, Segments));
        for (int s = 0; s < Segments; s++)
        {
            using var packing = new TempDirectory();
            File.WriteAllBytes(Wal.SegmentPath(packing.Path, s), _files[s]);
            _compressed[s] = File.ReadAllBytes(CompressedSegment.Compress(Wal.SegmentPath(packing.Path, s)));
        }
    }

    public enum Kind
    {
        BitFlip,
        ByteRun,
        ZeroPage,
        Truncate,
        AppendGarbage,
        RemoveSegment,
        DuplicateSegment,
        SwapSegments,
        RenameSegment,
        ForeignSegment,
        MetaDamaged,
        MetaMissing,
        CompressedDamage,
    }

    public void Dispose() => _pristine.Dispose();

    /// <summary>The CI run: four fixed seeds of 500 cases each (2000), about two in three byte-level.</summary>
    [Theory]
    [InlineData(20261121, 500)]
    [InlineData(7, 500)]
    [InlineData(424242, 500)]
    [InlineData(1, 500)]
    public void Seeded_damage_is_found_located_and_salvaged_exactly(int seed, int cases) =>
        FuzzRun.Seed(_output, seed, cases, (index, tally) => RunCase(seed, index, tally)); // FLASHWAL_FUZZ_SCALE=N: N times as many

    /// <summary>Runs one case again: put a failing seed and case index here.</summary>
    [Theory]
    [InlineData(20261121, 0)]
    public void Replay_one_case(int seed, int index) => Assert.Null(RunCase(seed, index, []));

    /// <summary>
    /// Defect found by the fuzzing (seed 20261121): a segment whose every block verifies but which has
    /// damage outside them (here a non-zero byte in its zero tail, and a reserved byte) was replayed by
    /// strict recovery without a failure, and salvage did not report it.
    /// </summary>
    [Theory]
    [InlineData(40_000)] // the zero tail after the data end
    [InlineData(1_000)]  // reserved bytes [576, 4096)
    public void Damage_outside_the_blocks_of_a_fully_replayed_segment_stops_strict_and_is_reported(int offset)
    {
        using var dir = new TempDirectory();
        for (int s = 0; s < Segments; s++)
        {
            File.WriteAllBytes(Wal.SegmentPath(dir.Path, s), _files[s]);
        }

        string path = Wal.SegmentPath(dir.Path, 1);
        byte[] bytes = (byte[])_files[1].Clone();
        bytes[offset] = 0x40;
        File.WriteAllBytes(path, bytes);

        using (var strict = WalRecovery.Open(dir.Path, Strict))
        {
            var ids = new List<long>();
            Assert.True(strict.ResumeFrom(1));
            var error = Assert.Throws<WalCorruptionException>(() => WalRecoveryTests.Drain(strict, ids));
            Assert.Equal(Enumerable.Range(1, 2 * PerSegment).Select(i => (long)i), ids);
            Assert.Equal((path, (long)offset), (error.Finding.File, error.Finding.Offset));
            Assert.Equal(RecoveryOutcome.StoppedAtDamage, strict.Report.Outcome);
        }

        using var salvage = WalRecovery.Open(dir.Path, Salvage);
        Assert.True(salvage.ResumeFrom(1));
        var all = new List<long>();
        WalRecoveryTests.Drain(salvage, all);
        Assert.Equal(LastId, all.Count);
        Assert.Empty(salvage.Report.Gaps);
        Assert.Equal([path], salvage.Report.DamagedSegments);
        Assert.False(salvage.Report.IsComplete);
    }

    /// <summary>
    /// Defect found by the fuzzing (seed 20261121, ZeroPage cases): zeroed blocks of a closed segment
    /// were reported at the summary's data end field (offset 520), whose CRC verifies, instead of where
    /// the data stops.
    /// </summary>
    [Fact]
    public void Zeroed_blocks_of_a_closed_segment_are_located_where_the_data_stops()
    {
        using var dir = new TempDirectory();
        string path = Wal.SegmentPath(dir.Path, 0);
        byte[] bytes = (byte[])_files[0].Clone();
        BlockLayout second = _layout[0].Blocks[1];
        bytes.AsSpan((int)second.Start, (int)(_layout[0].DataEnd - second.Start)).Clear();
        File.WriteAllBytes(path, bytes);
        Finding damage = Assert.Single(SegmentVerifier.Verify(path).Findings, f => f.Severity >= FindingSeverity.Damage);
        Assert.Equal((FindingCode.SummaryMismatch, second.Start, 1L), (damage.Code, damage.Offset, damage.BlockIndex));
    }

    /// <summary>
    /// Defect found by the fuzzing (seed 7 case 64): with segments 0 and 1 swapped, salvage resumed
    /// from 57 replayed 31..56 too: the seek was spent on the file met first, whose events all precede
    /// the start, and the next one was replayed from its beginning.
    /// </summary>
    [Fact]
    public void A_resume_after_swapped_segments_never_replays_events_before_the_start()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(Wal.SegmentPath(dir.Path, 0), _files[1]);
        File.WriteAllBytes(Wal.SegmentPath(dir.Path, 1), _files[0]);
        for (int s = 2; s < Segments; s++)
        {
            File.WriteAllBytes(Wal.SegmentPath(dir.Path, s), _files[s]);
        }

        using var salvage = WalRecovery.Open(dir.Path, Salvage);
        var ids = new List<long>();
        Assert.True(salvage.ResumeFrom(57));
        WalRecoveryTests.Drain(salvage, ids);

        Assert.Equal(Enumerable.Range(57, (int)LastId - 56).Select(i => (long)i), ids);
        Assert.Empty(salvage.Report.Gaps);
    }

    /// <summary>
    /// Defect found by the fuzzing (seed 7 case 202): the last segment removed, the checkpoint saying
    /// events up to 120 were durable; a resume from 116 (past the segments' last event, 90) answered
    /// "nothing to replay" in both modes, hiding the loss that a resume from 1 reports.
    /// </summary>
    [Fact]
    public void A_resume_inside_durable_events_that_are_gone_reports_them_lost()
    {
        using var dir = new TempDirectory();
        for (int s = 0; s < Segments - 1; s++)
        {
            File.WriteAllBytes(Wal.SegmentPath(dir.Path, s), _files[s]);
        }

        File.WriteAllBytes(Path.Combine(dir.Path, MetaCheckpoint.FileName), _meta);
        using (var strict = WalRecovery.Open(dir.Path, Strict))
        {
            Assert.True(strict.ResumeFrom(116));
            var error = Assert.Throws<WalCorruptionException>(() => strict.TryReadNext(out _));
            Assert.Equal(FindingCode.DurableEventsMissing, error.Finding.Code);
            Assert.Equal(RecoveryOutcome.StoppedAtDamage, strict.Report.Outcome);
        }

        using var salvage = WalRecovery.Open(dir.Path, Salvage);
        Assert.True(salvage.ResumeFrom(116));
        Assert.False(salvage.TryReadNext(out _));
        LostRange gap = Assert.Single(salvage.Report.Gaps);
        Assert.Equal((116L, (long?)LastId, FindingCode.DurableEventsMissing), (gap.FirstEventId, gap.LastEventId, gap.Cause.Code));
        Assert.False(salvage.ResumeFrom(121)); // past the durable id as well: nothing to replay, nothing lost
        Assert.Empty(salvage.Report.Gaps);
    }

    private string? RunCase(int seed, int index, Dictionary<string, int> kinds)
    {
        int caseSeed = FuzzRun.CaseSeed(seed, index, fuzzer: 0);
        var random = new Random(caseSeed);
        Kind kind = (Kind)random.Next(0, Enum.GetValues<Kind>().Length);
        if (random.Next(3) > 0 && kind > Kind.AppendGarbage)
        {
            kind = (Kind)random.Next(0, (int)Kind.AppendGarbage + 1); // mostly byte-level damage
        }

        string what = $"seed {seed} case {index} ({kind}, case seed {caseSeed})";
        using var dir = new TempDirectory();
        return FuzzRun.Bounded(
            () =>
            {
                string? problem = Check(dir.Path, kind, random, ref what);
                FuzzRun.Count(kinds, $"{kind}{(problem is null && kind <= Kind.AppendGarbage ? (_lastDamaged ? " (damage)" : " (no change)") : "")}");
                return problem;
            },
            () => what);
    }

    private string? Check(string dir, Kind kind, Random random, ref string what)
    {
        for (int s = 0; s < Segments; s++)
        {
            File.WriteAllBytes(Wal.SegmentPath(dir, s), _files[s]);
        }

        File.WriteAllBytes(Path.Combine(dir, MetaCheckpoint.FileName), _meta);
        Expectation expect = kind <= Kind.AppendGarbage ? MutateBytes(dir, kind, random, ref what) : MutateSet(dir, kind, random, ref what);
        if (expect.Segment >= 0)
        {
            ExpectAround(dir, expect);
        }

        _lastDamaged = expect.Damage;
        return Verify(dir, expect, preload: random.Next(4) == 0, resumeFrom: random.NextInt64(1, LastId + 2), repair: random.Next(RepairOneIn) == 0);
    }

    private sealed class Expectation
    {
        public HashSet<long> Lost { get; } = [];
        public HashSet<long> Absent { get; } = [];
        public bool Damage { get; set; }
        public string? File { get; set; }
        public List<(long From, long To)> Ranges { get; } = [];
        public FindingCode? Code { get; set; }
        public long StrictStopsBefore { get; set; } = long.MaxValue;
        public bool SkipStrictPrefix { get; set; }

        /// <summary>The segment a byte-level mutation changed (-1: none).</summary>
        public int Segment { get; init; } = -1;

        /// <summary>Files whose findings, of any kind, the mutation explains. No other file may have one, except <see cref="Neighbours"/>.</summary>
        public HashSet<string> Touched { get; } = [];

        /// <summary>Later segments whose link to the log before them the mutation hides (their predecessor gone or unreadable): chain and id-order findings only.</summary>
        public HashSet<string> Neighbours { get; } = [];

        /// <summary>Exactly the findings expected on <c>wal.meta</c>: <c>DurableEventsMissing</c> only when the checkpoint's durable id (120) lies past every id the segments are known to hold (FORMAT.md §10).</summary>
        public HashSet<FindingCode> MetaCodes { get; } = [];
    }

    private Expectation MutateBytes(string dir, Kind kind, Random random, ref string what)
    {
        int s = random.Next(Segments);
        string path = Wal.SegmentPath(dir, s);
        byte[] bytes = (byte[])_files[s].Clone();
        SegmentLayout layout = _layout[s];
        long capacity = bytes.Length;
        var expect = new Expectation { File = path, Segment = s };

        // A third of the offsets fall in a structure picked uniformly (header, reserved bytes, summary,
        // a block header, a block's records, the zero tail), a third where the data is, a third anywhere.
        int Offset()
        {
            switch (random.Next(3))
            {
                case 0:
                    (long From, long To) range = layout.Targets[random.Next(layout.Targets.Count)];
                    return (int)random.NextInt64(range.From, Math.Min(range.To, capacity));
                case 1:
                    return random.Next(0, (int)layout.DataEnd + 128);
                default:
                    return random.Next(0, (int)capacity);
            }
        }

        switch (kind)
        {
            case Kind.BitFlip:
            {
                int at = Offset();
                int bit = random.Next(8);
                bytes[at] ^= (byte)(1 << bit);
                what += $" segment {s} offset {at} bit {bit}";
                break;
            }

            case Kind.ByteRun:
            {
                int at = Offset();
                int length = Math.Min(random.Next(1, 65), (int)capacity - at);
                random.NextBytes(bytes.AsSpan(at, length));
                what += $" segment {s} offset {at} length {length}";
                break;
            }

            case Kind.ZeroPage:
            {
                int page = random.Next(2) == 0 ? random.Next(0, (int)(layout.DataEnd / 4096) + 1) : random.Next(0, (int)(capacity / 4096));
                bytes.AsSpan(page * 4096, 4096).Clear();
                what += $" segment {s} page {page}";
                break;
            }

            case Kind.Truncate:
            {
                int length = random.Next(2) == 0 ? random.Next(0, (int)layout.DataEnd + 64) : random.Next(0, (int)capacity);
                what += $" segment {s} to {length} bytes";
                File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
                expect.Damage = true;
                expect.Ranges.Add((Math.Min(length, capacity - 1), capacity));
                if (length < SegmentLayout.HeaderSize)
                {
                    LoseSegment(expect, s);
                    expect.Ranges.Add((0, SegmentLayout.HeaderSize));
                }
                else
                {
                    foreach (BlockLayout block in layout.Blocks.Where(b => b.End > length))
                    {
                        Lose(expect, block);
                    }
                }

                SetStrict(expect, s);
                return expect;
            }

            case Kind.AppendGarbage:
            {
                int length = random.Next(1, 5000);
                byte[] garbage = new byte[length];
                random.NextBytes(garbage);
                if (random.Next(4) == 0)
                {
                    Array.Clear(garbage); // zeros appended: still too long
                }

                what += $" segment {s} {length} bytes";
                File.WriteAllBytes(path, [.. bytes, .. garbage]);
                expect.Damage = true;
                expect.Ranges.Add((capacity, capacity + length));
                SetStrict(expect, s);
                return expect;
            }
        }

        File.WriteAllBytes(path, bytes);
        var changed = new List<long>();
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != _files[s][i])
            {
                changed.Add(i);
            }
        }

        if (changed.Count == 0)
        {
            return new Expectation(); // zeros over zeros: nothing changed, nothing to find
        }

        expect.Damage = true;
        foreach (long at in changed)
        {
            (long from, long to, BlockLayout? block) = layout.Structure(at);
            if (!expect.Ranges.Contains((from, to)))
            {
                expect.Ranges.Add((from, to));
            }

            if (from == 0)
            {
                LoseSegment(expect, s);
            }
            else if (block is not null)
            {
                Lose(expect, block);
            }
        }

        SetStrict(expect, s);
        return expect;
    }

    private static void SetStrict(Expectation expect, int s)
    {
        // Strict replays every event before the first lost one; when the damage loses no event (reserved
        // bytes, summary, zero tail, length) it replays the whole damaged segment and stops at its end.
        expect.StrictStopsBefore = expect.Lost.Count > 0 ? expect.Lost.Min() : (long)(s + 1) * PerSegment + 1;
    }

    private void LoseSegment(Expectation expect, int s)
    {
        foreach (BlockLayout block in _layout[s].Blocks)
        {
            Lose(expect, block);
        }
    }

    private static void Lose(Expectation expect, BlockLayout block)
    {
        for (long id = block.First; id <= block.Last; id++)
        {
            expect.Lost.Add(id);
        }
    }

    private Expectation MutateSet(string dir, Kind kind, Random random, ref string what)
    {
        int s = random.Next(Segments);
        string path = Wal.SegmentPath(dir, s);
        var expect = new Expectation();
        switch (kind)
        {
            case Kind.RemoveSegment:
                File.Delete(path);
                what += $" segment {s}";
                LoseSegment(expect, s);

                // Segment 0 too: the checkpoint's first segment index (0, FORMAT.md §13) says retention
                // deleted nothing, so a missing head is a loss, never taken for retention.

                if (s == Segments - 1)
                {
                    // Only the checkpoint knows the log went further (FORMAT.md §10, §13).
                    expect.StrictStopsBefore = LastId + 1;
                    expect.SkipStrictPrefix = false;
                    expect.MetaCodes.Add(FindingCode.DurableEventsMissing);
                }
                else
                {
                    expect.Touched.Add(path); // SegmentMissing names the missing file
                    expect.Neighbours.Add(Wal.SegmentPath(dir, s + 1));
                }

                expect.Damage = true;
                expect.File = s == Segments - 1 ? Path.Combine(dir, MetaCheckpoint.FileName) : path;
                expect.Code = s == Segments - 1 ? FindingCode.DurableEventsMissing : FindingCode.SegmentMissing;
                expect.StrictStopsBefore = Math.Min(expect.StrictStopsBefore, s * PerSegment + 1);
                break;
            case Kind.DuplicateSegment:
            {
                string copy = Wal.SegmentPath(dir, Segments);
                File.Copy(path, copy);
                what += $" segment {s} as {Segments}";
                Misnamed(expect, copy);
                expect.Touched.Add(copy);
                break;
            }

            case Kind.SwapSegments:
            {
                s = random.Next(Segments - 1);
                string a = Wal.SegmentPath(dir, s);
                string b = Wal.SegmentPath(dir, s + 1);
                what += $" segments {s} and {s + 1}";
                File.Move(a, a + ".x");
                File.Move(b, a);
                File.Move(a + ".x", b);
                expect.Damage = true;
                expect.File = b; // the file holding segment s, met first
                expect.Code = FindingCode.SegmentNameMismatch;
                expect.Touched.UnionWith([a, b]);
                expect.Neighbours.Add(Wal.SegmentPath(dir, s + 2)); // follows the file holding segment s
                expect.StrictStopsBefore = s * PerSegment + 1;
                break;
            }

            case Kind.RenameSegment:
            {
                string to = Wal.SegmentPath(dir, Segments);
                File.Move(path, to);
                what += $" segment {s} to {Segments}";
                Misnamed(expect, to);
                expect.Touched.UnionWith([path, to]); // its index missing, and the file in the wrong place
                expect.Neighbours.Add(Wal.SegmentPath(dir, s + 1));
                break;
            }

            case Kind.ForeignSegment:
            {
                string foreign = Wal.SegmentPath(dir, Segments);
                File.WriteAllBytes(foreign, _foreign);
                what += $" at {Segments}";
                expect.Damage = true;
                expect.File = foreign;
                expect.Code = FindingCode.ForeignSegment;
                expect.Touched.Add(foreign);
                expect.StrictStopsBefore = LastId + 1;
                break;
            }

            case Kind.MetaDamaged:
            {
                string meta = Path.Combine(dir, MetaCheckpoint.FileName);
                byte[] bytes = (byte[])_meta.Clone();
                int at = random.Next(bytes.Length);
                bytes[at] ^= (byte)(1 << random.Next(8));
                File.WriteAllBytes(meta, random.Next(4) == 0 ? bytes.AsSpan(0, at).ToArray() : bytes);
                what += $" byte {at}";
                expect.File = meta;
                expect.Code = FindingCode.CheckpointCorrupt;
                expect.MetaCodes.Add(FindingCode.CheckpointCorrupt);
                break;
            }

            case Kind.MetaMissing:
                File.Delete(Path.Combine(dir, MetaCheckpoint.FileName));
                expect.File = Path.Combine(dir, MetaCheckpoint.FileName);
                expect.Code = FindingCode.CheckpointMissing;
                expect.MetaCodes.Add(FindingCode.CheckpointMissing);
                break;
            case Kind.CompressedDamage:
            {
                // The segment replaced by its container (retention's compression), then one byte-level
                // mutation of the container: every byte of it is covered (FORMAT.md §15), and a damaged
                // container loses its whole segment, since nothing of it can be decompressed.
                File.Delete(path);
                string packed = Path.Combine(dir, CompressedSegment.FileName(s));
                byte[] bytes = (byte[])_compressed[s].Clone();
                int at = random.Next(2) == 0 ? random.Next(0, 128) : random.Next(0, bytes.Length);
                switch (random.Next(4))
                {
                    case 0:
                        bytes[at] ^= (byte)(1 << random.Next(8));
                        what += $" segment {s} container offset {at} bit flip";
                        break;
                    case 1:
                        Span<byte> run = bytes.AsSpan(at, Math.Min(random.Next(1, 33), bytes.Length - at));
                        byte[] before = run.ToArray();
                        random.NextBytes(run);
                        if (run.SequenceEqual(before))
                        {
                            run[0] ^= 0xFF;
                        }

                        what += $" segment {s} container offset {at} run of {run.Length}";
                        break;
                    case 2:
                        bytes = bytes.AsSpan(0, at).ToArray();
                        what += $" segment {s} container cut to {at} bytes";
                        break;
                    default:
                        bytes = [.. bytes, .. new byte[random.Next(1, 200)]];
                        what += $" segment {s} container with {bytes.Length - _compressed[s].Length} zero bytes appended";
                        break;
                }

                File.WriteAllBytes(packed, bytes);
                LoseSegment(expect, s);
                expect.Damage = true;
                expect.File = packed;
                expect.Touched.Add(packed);
                expect.Neighbours.Add(Wal.SegmentPath(dir, s + 1)); // its predecessor's chain cannot be followed through it
                if (s == Segments - 1)
                {
                    expect.MetaCodes.Add(FindingCode.DurableEventsMissing); // nothing readable says the log went past 90
                }
                expect.StrictStopsBefore = s * PerSegment + 1;
                break;
            }
        }

        return expect;
    }

    /// <summary>
    /// What else a byte-level mutation of one segment may be found with: its own findings only; the
    /// next segment's chain when nothing of the segment's data is left to continue (an unreadable
    /// header, or neither block 0 nor the summary: the chain is then followed from the segment before
    /// it, as after a missing one); and <c>DurableEventsMissing</c> exactly when the last segment no
    /// longer says it held 120: its summary is not intact and no intact block of it holds 120
    /// (FORMAT.md §10: the summary, the valid prefix and the blocks that verify after damage say where
    /// the log ends).
    /// </summary>
    private void ExpectAround(string dir, Expectation expect)
    {
        int s = expect.Segment;
        byte[] original = _files[s];
        byte[] now = File.ReadAllBytes(Wal.SegmentPath(dir, s));
        bool Intact(long from, long to) => now.Length >= to && now.AsSpan((int)from, (int)(to - from)).SequenceEqual(original.AsSpan((int)from, (int)(to - from)));

        expect.Touched.Add(Wal.SegmentPath(dir, s));
        bool header = Intact(0, SegmentLayout.HeaderSize);
        bool summary = header && Intact(512, 576);
        BlockLayout first = _layout[s].Blocks[0];
        if ((!header || (!summary && !Intact(first.Start, first.End))) && s + 1 < Segments)
        {
            expect.Neighbours.Add(Wal.SegmentPath(dir, s + 1));
        }

        if (s != Segments - 1)
        {
            return;
        }

        long known = summary
            ? LastId
            : header ? _layout[s].Blocks.Where(b => Intact(b.Start, b.End)).Select(b => b.Last).DefaultIfEmpty().Max() : 0;
        if (known < LastId)
        {
            expect.MetaCodes.Add(FindingCode.DurableEventsMissing);
        }
    }

    /// <summary>
    /// The first of <paramref name="findings"/> (of at least <paramref name="severity"/>) that the
    /// oracle did not expect, or null: one in a file the mutation did not touch, a chain finding in a
    /// neighbour that is not about the chain, or a finding on <c>wal.meta</c> other than those expected.
    /// </summary>
    private static Finding? Unexpected(IEnumerable<Finding> findings, Expectation expect, string dir, FindingSeverity severity)
    {
        string meta = Path.Combine(dir, MetaCheckpoint.FileName);
        return findings.FirstOrDefault(f => f.Severity >= severity && !(f.File == meta
            ? expect.MetaCodes.Contains(f.Code)
            : expect.Touched.Contains(f.File) || (expect.Neighbours.Contains(f.File) && f.Code is FindingCode.ChainBrokenAcrossSegments or FindingCode.EventIdOrder or FindingCode.EventIdJump)));
    }

    /// <summary>
    /// Null when a tailer reads what strict recovery replayed and then fails as it did (code, file,
    /// offset, block), or ends where it ended. Two differences are known and let through, both open in
    /// issue 16: a segment-named file whose header is not a segment's is the tailer's
    /// <see cref="WalFormatException"/> (the bad-input contract, error id WalNotASegment) where
    /// recovery reports <see cref="FindingCode.NotASegment"/> damage; and a copy of a segment under a
    /// later index's name is reported on the same file by both, but the tailer, which follows names,
    /// reads the segments between the two first.
    /// </summary>
    private static string? TailerDisagrees(string dir, List<long> strictIds, WalCorruptionException? strictError)
    {
        var tailed = new List<long>();
        WalException? error = null;
        using (var tailer = WalTailer.Open(dir, options: new TailerOptions { LockProbeInterval = TimeSpan.FromMilliseconds(1), MaxIdleSleep = TimeSpan.FromMilliseconds(1) }))
        using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            try
            {
                while (tailer.ReadNext(out WalEvent e, patience.Token))
                {
                    tailed.Add(e.EventId);
                }
            }
            catch (Exception e) when (e is WalCorruptionException or WalFormatException)
            {
                error = (WalException)e;
            }
        }

        Finding? found = (error as WalCorruptionException)?.Finding;
        Finding? expected = strictError?.Finding;
        bool agree = (found, expected) switch
        {
            (null, null) => error is null && tailed.SequenceEqual(strictIds),
            ({ } f, { } x) => (f.Code, f.File, f.Offset, f.BlockIndex) == (x.Code, x.File, x.Offset, x.BlockIndex)
                && (tailed.SequenceEqual(strictIds) || (f.Code == FindingCode.SegmentNameMismatch && tailed.Take(strictIds.Count).SequenceEqual(strictIds))),
            (null, { } x) => error is WalFormatException && x.Code is FindingCode.NotASegment or FindingCode.FileEmpty && error.Path == x.File && tailed.SequenceEqual(strictIds),
            _ => false,
        };
        if (agree)
        {
            return null;
        }

        string Describe(WalException? e) => e switch
        {
            null => "no failure",
            WalCorruptionException c => $"{c.Finding.Code} in {Path.GetFileName(c.Finding.File)} at {c.Finding.Offset} (block {c.Finding.BlockIndex})",
            _ => $"{e.GetType().Name} on {Path.GetFileName(e.Path)}",
        };
        return $"tailer: read {tailed.Count} events ({(tailed.Count > 0 ? tailed[^1] : 0)} last) then {Describe(error)}; strict: {strictIds.Count} events then {Describe(strictError)}";
    }

    /// <summary>A file named after an index its header does not hold: all its events are replayed in their place.</summary>
    private static void Misnamed(Expectation expect, string file)
    {
        expect.Damage = true;
        expect.File = file;
        expect.Code = FindingCode.SegmentNameMismatch;
        expect.SkipStrictPrefix = true;
    }

    // A quarter of the cases replay through the preloader's thread (preload), the rest on the caller's.
    private static string? Verify(string dir, Expectation expect, bool preload, long resumeFrom, bool repair)
    {
        // The verifier: damage exactly when the mutation changed something the format covers, in the right file and place.
        VerificationReport report = SegmentVerifier.VerifyDirectory(dir);
        List<Finding> damage = [.. report.Findings.Where(f => f.Severity >= FindingSeverity.Damage)];
        string findings = string.Join(" | ", report.Findings);
        if (expect.Damage != (damage.Count > 0))
        {
            return $"verifier: expected {(expect.Damage ? "damage" : "no damage")}, found: {findings}";
        }

        // ... and nothing the oracle did not expect: no finding in a file the mutation left alone, no
        // DurableEventsMissing while the segments still say where the log ends.
        if (Unexpected(report.Findings, expect, dir, FindingSeverity.Info) is { } unexpected)
        {
            return $"verifier: unexpected finding {unexpected}; all: {findings}";
        }

        foreach (FindingCode code in expect.MetaCodes)
        {
            if (!report.Findings.Any(f => f.Code == code && f.File == Path.Combine(dir, MetaCheckpoint.FileName)))
            {
                return $"verifier: no {code} finding on {MetaCheckpoint.FileName}: {findings}";
            }
        }

        if (expect.File is not null && expect.Damage)
        {
            bool located = damage.Any(f => f.File == expect.File
                && (expect.Ranges.Count == 0 || expect.Ranges.Any(r => f.Offset >= r.From && f.Offset < r.To))
                && (expect.Code is null || f.Code == expect.Code));
            if (!located)
            {
                return $"verifier: no {expect.Code?.ToString() ?? "damage"} finding in {expect.File} within [{string.Join(", ", expect.Ranges.Select(r => $"{r.From}..{r.To}"))}): {findings}";
            }
        }

        // Strict: fails closed naming the file, after exactly the events before the damage.
        var ids = new List<long>();
        WalCorruptionException? error = null;
        using (var strict = WalRecovery.Open(dir, new RecoveryOptions { Mode = RecoveryMode.Strict, UsePreloader = preload }))
        {
            if (!expect.Damage && expect.Code is { } info && !strict.Catalog.Findings.Any(f => f.Code == info && f.File == expect.File))
            {
                return $"catalog: no {info} finding for {expect.File}: {string.Join(" | ", strict.Catalog.Findings)}";
            }

            error = FuzzRun.ReplayStrict(strict, ids);

            if (expect.Damage != (error is not null))
            {
                return $"strict: expected {(expect.Damage ? "a failure" : "no failure")}, got {error?.Finding.ToString() ?? "none"} after {ids.Count} events";
            }

            if (error is not null)
            {
                if (strict.Report.Outcome != RecoveryOutcome.StoppedAtDamage)
                {
                    return $"strict: outcome {strict.Report.Outcome}";
                }

                if (expect.File is not null && error.Finding.File != expect.File && expect.Code is not FindingCode.DurableEventsMissing)
                {
                    return $"strict: failure names {error.Finding}, expected file {expect.File}";
                }

                long stop = Math.Min(expect.StrictStopsBefore, LastId + 1);
                long first = expect.Absent.Count > 0 ? expect.Absent.Max() + 1 : 1;
                bool prefix = ids.SequenceEqual(ids.Select((_, i) => first + i));
                long last = ids.Count > 0 ? ids[^1] : first - 1;
                if (!prefix || last > stop - 1 || (!expect.SkipStrictPrefix && last != stop - 1))
                {
                    return $"strict: replayed {ids.Count} events ({(ids.Count > 0 ? ids[^1] : 0)} last), expected {(expect.SkipStrictPrefix ? "at most " : "")}1..{stop - 1}; failure {error.Finding}";
                }
            }
            else if (!ids.SequenceEqual(Enumerable.Range(1, (int)LastId).Select(i => (long)i).Where(i => !expect.Lost.Contains(i) && !expect.Absent.Contains(i))))
            {
                return $"strict: replayed {ids.Count} events without failing";
            }
        }

        // The tailer (dump --follow, Get-WalEvent -Wait) on the same log at rest: the same events as
        // strict recovery, then the same first damage, or the same end.
        if (TailerDisagrees(dir, ids, error) is { } tailer)
        {
            return tailer;
        }

        // Salvage: exactly the undamaged events, and the lost ones as exact ranges.
        using var salvage = WalRecovery.Open(dir, new RecoveryOptions { Mode = RecoveryMode.Salvage, UsePreloader = preload });
        var salvaged = new List<long>();
        if (salvage.ResumeFrom(1))
        {
            WalRecoveryTests.Drain(salvage, salvaged);
        }

        List<long> kept = [.. Enumerable.Range(1, (int)LastId).Select(i => (long)i).Where(i => !expect.Lost.Contains(i) && !expect.Absent.Contains(i))];
        if (!salvaged.SequenceEqual(kept))
        {
            return $"salvage: replayed [{Ranges(salvaged)}], expected [{Ranges(kept)}]; gaps {string.Join(" | ", salvage.Report.Gaps)}";
        }

        if (expect.Damage && expect.File is { } file && !salvage.Report.DamagedSegments.Contains(file) && !salvage.Report.Damage.Any(f => f.File == file))
        {
            return $"salvage: the damage in {file} is not reported: {string.Join(" | ", salvage.Report.Damage)}";
        }

        if (Unexpected(salvage.Report.Damage, expect, dir, FindingSeverity.Damage) is { } unexpectedDamage)
        {
            return $"salvage: unexpected damage {unexpectedDamage}; all: {string.Join(" | ", salvage.Report.Damage)}";
        }

        var reported = new HashSet<long>();
        foreach (LostRange gap in salvage.Report.Gaps)
        {
            for (long id = gap.FirstEventId; id <= (gap.LastEventId ?? LastId); id++)
            {
                reported.Add(id);
            }
        }

        if (!reported.SetEquals(expect.Lost) || salvage.Report.Gaps.Sum(g => (g.LastEventId ?? LastId) - g.FirstEventId + 1) != expect.Lost.Count)
        {
            return $"salvage: gaps [{string.Join(" | ", salvage.Report.Gaps)}], expected lost [{Ranges([.. expect.Lost.Order()])}]";
        }

        // Salvage again from an id drawn per case: what follows it, and the lost ranges cut at it.
        var later = new List<long>();
        if (salvage.ResumeFrom(resumeFrom))
        {
            WalRecoveryTests.Drain(salvage, later);
        }

        if (!later.SequenceEqual(kept.Where(id => id >= resumeFrom)))
        {
            return $"salvage from {resumeFrom}: replayed [{Ranges(later)}], expected [{Ranges([.. kept.Where(id => id >= resumeFrom)])}]";
        }

        var lostLater = new HashSet<long>(expect.Lost.Where(id => id >= resumeFrom));
        var reportedLater = new HashSet<long>(salvage.Report.Gaps.SelectMany(g => Enumerable.Range((int)g.FirstEventId, (int)((g.LastEventId ?? LastId) - g.FirstEventId + 1)).Select(i => (long)i)));
        if (!reportedLater.SetEquals(lostLater))
        {
            return $"salvage from {resumeFrom}: gaps [{string.Join(" | ", salvage.Report.Gaps)}], expected lost [{Ranges([.. lostLater.Order()])}]";
        }

        if (repair)
        {
            salvage.ResumeFrom(1);
            WalRecoveryTests.Drain(salvage, []);
            IReadOnlyList<LostRange> gaps = [.. salvage.Report.Gaps];
            salvage.Dispose();
            return RepairCheck.Run(dir, kept, gaps);
        }

        return null;
    }

    private static string Ranges(List<long> ids)
    {
        var parts = new List<string>();
        for (int i = 0; i < ids.Count;)
        {
            int j = i;
            while (j + 1 < ids.Count && ids[j + 1] == ids[j] + 1)
            {
                j++;
            }

            parts.Add($"{ids[i]}..{ids[j]}");
            i = j + 1;
        }

        return string.Join(", ", parts);
    }

    private sealed record BlockLayout(long Start, long End, long First, long Last);

    private sealed record SegmentLayout(long DataEnd, IReadOnlyList<BlockLayout> Blocks)
    {
        public const int HeaderSize = 128;

        public static SegmentLayout Parse(byte[] file)
        {
            var blocks = new List<BlockLayout>();
            long dataEnd = (long)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(512 + 8));
            for (long at = 4096; at < dataEnd;)
            {
                ReadOnlySpan<byte> h = file.AsSpan((int)at, 64);
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
                blocks.Add(new BlockLayout(at, at + length, (long)BinaryPrimitives.ReadUInt64LittleEndian(h[16..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(h[24..])));
                at += length;
            }

            return new SegmentLayout(dataEnd, blocks);
        }

        /// <summary>Ranges to aim damage at: each structure of FORMAT.md §4, each block's header and records apart.</summary>
        public IReadOnlyList<(long From, long To)> Targets =>
            [(0, HeaderSize), (HeaderSize, 512), (512, 576), (576, 4096), .. Blocks.SelectMany(b => new[] { (b.Start, b.Start + 64), (b.Start + 64, b.End) }), (DataEnd, long.MaxValue)];

        /// <summary>The structure a byte belongs to (FORMAT.md §4): its range, and its block if it is in one.</summary>
        public (long From, long To, BlockLayout? Block) Structure(long at)
        {
            if (at < HeaderSize)
            {
                return (0, HeaderSize, null);
            }

            if (at < 512)
            {
                return (HeaderSize, 512, null);
            }

            if (at < 576)
            {
                return (512, 576, null);
            }

            if (at < 4096)
            {
                return (576, 4096, null);
            }

            BlockLayout? block = Blocks.FirstOrDefault(b => at >= b.Start && at < b.End);
            return block is not null ? (block.Start, block.End, block) : (DataEnd, long.MaxValue, null);
        }
    }
}
