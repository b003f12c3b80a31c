using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Inspection;

/// <summary>
/// <see cref="SegmentSequence"/>: what a reader going forward remembers between two segments and how it
/// judges the next one, fed one segment at a time from real files.
/// </summary>
public sealed class SegmentSequenceTests
{
    [Fact]
    public void A_missing_index_is_judged_against_the_last_one_met_and_the_checkpoints_head_only_for_the_first()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 4, perSegment: 20, Wal.Tiny);
        File.Delete(Wal.SegmentPath(dir.Path, 2));
        WalCatalog catalog = WalCatalog.Open(dir.Path);

        var fromStart = new SegmentSequence(catalog, previous: null, previousIndex: -1, headFloor: null, live: false);
        Assert.Null(fromStart.MissingBefore(1)); // nothing met and no head floor: where the log starts is not known
        fromStart.Met(1);
        Finding? missing = fromStart.MissingBefore(3);
        Assert.NotNull(missing);
        Assert.Equal((FindingSeverity.Damage, FindingCode.SegmentMissing), (missing.Severity, missing.Code));
        Assert.Equal(Wal.SegmentPath(dir.Path, 2), missing.File);
        fromStart.Met(3);
        Assert.Equal(3, fromStart.PreviousIndex);
        fromStart.Met(2); // met out of order: the highest stays
        Assert.Equal(3, fromStart.PreviousIndex);

        var withFloor = new SegmentSequence(catalog, previous: null, previousIndex: -1, headFloor: 0, live: false);
        Finding? head = withFloor.MissingBefore(1);
        Assert.NotNull(head); // the checkpoint says the log starts at 0: segment 0 is missing at the head
        Assert.Contains("at the head of the log", head.Message, StringComparison.Ordinal);
        Assert.Null(withFloor.MissingBefore(5)); // the floor judges only the first segment met

        withFloor.MetUpTo(4);
        Assert.Equal(4, withFloor.PreviousIndex);
        Assert.Null(withFloor.MissingBefore(5));
    }

    [Fact]
    public void A_segment_joins_by_name_chain_fence_and_id_order_in_that_order_and_only_segments_with_data_are_continued()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        uint chain;
        using (SegmentWriter first = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), firstId: 1, count: 10, Wal.Tiny))
        {
            first.Close();
            chain = first.ChainValue;
        }

        // Segment 1 does not continue segment 0's chain and repeats ids 6 to 10.
        using (SegmentWriter second = Wal.Write(dir.Path, 1, log, chain ^ 0xDEAD, firstId: 6, count: 10, Wal.Tiny))
        {
            second.Close();
        }

        WalCatalog catalog = WalCatalog.Open(dir.Path);
        SegmentScan zero = catalog.Segments[0];
        SegmentScan one = catalog.Segments[1];
        var sequence = new SegmentSequence(catalog, previous: null, previousIndex: -1, headFloor: null, live: false);
        Assert.Empty(sequence.Joins(zero, lastId: 0, from: 1, lossOpen: () => false));
        Assert.True(sequence.Finish(zero));
        Assert.Same(zero, sequence.Previous);

        SegmentJoin[] joins = [.. sequence.Joins(one, lastId: 10, from: 1, lossOpen: () => false)];
        Assert.Equal([FindingCode.ChainBrokenAcrossSegments, FindingCode.EventIdOrder], joins.Select(j => j.Cause.Code));
        Assert.True(joins[0].LosesEvents); // a broken chain: what lay between is lost
        Assert.False(joins[1].LosesEvents); // repeated ids are skipped, not lost
        Assert.True(SegmentSequence.RepeatsIds(one, lastId: 10));
        Assert.False(SegmentSequence.RepeatsIds(one, lastId: 5));
        Assert.Null(sequence.Foreign(one));

        var empty = new SegmentScan(Wal.SegmentPath(dir.Path, 2), 0) { SegmentIndex = 2, State = SegmentState.Empty };
        Assert.False(sequence.Finish(empty)); // an empty segment is no one's predecessor
        Assert.Same(zero, sequence.Previous);
    }

    [Fact]
    public void Another_logs_segment_is_foreign_and_damage_ending_a_closed_segment_takes_ids_up_to_its_summary()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 2, perSegment: 40, Wal.Small, sealEvery: 10);
        Wal.DamageBlock(dir.Path, 0, block: 1);
        LogId other = LogId.NewId();
        using (SegmentWriter stranger = Wal.Write(dir.Path, 2, other, SegmentFormat.GenesisChainSeed(other), firstId: 81, count: 5, Wal.Small))
        {
            stranger.Close();
        }

        WalCatalog catalog = WalCatalog.Open(dir.Path);
        var sequence = new SegmentSequence(catalog, previous: null, previousIndex: -1, headFloor: null, live: false);
        Finding? foreign = sequence.Foreign(catalog.Segments[2]);
        Assert.NotNull(foreign);
        Assert.Equal((FindingCode.ForeignSegment, SegmentHeader.OffLogId), (foreign.Code, foreign.Offset));
        Assert.Null(sequence.Foreign(catalog.Segments[1]));

        SegmentScan damaged = SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 0), salvage: true);
        Assert.Equal(SegmentState.Damaged, damaged.State);
        SegmentJoin? ending = SegmentSequence.DamageEnding(damaged, lastId: 10, met: _ => false);
        Assert.NotNull(ending);
        Assert.Equal(40, ending.Value.LostTo); // the summary says the segment held ids to 40
        Assert.True(ending.Value.LosesEvents);
        Assert.Null(SegmentSequence.DamageEnding(damaged, lastId: 40, met: _ => true)); // all read, the damage already met
    }
}
