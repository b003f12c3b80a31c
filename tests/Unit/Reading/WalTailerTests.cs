using System.Diagnostics;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reading;

public class WalTailerTests
{
    /// <summary>8 KiB segments: a rotation every few dozen events.</summary>
    private static readonly WalRecorderOptions Tiny = new() { SegmentSize = 8192, BlockSize = 4096 };

    /// <summary>No test waits longer than this for anything.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static long AppendNext(WalRecorder recorder)
    {
        long id = recorder.LastEventId + 1;
        return recorder.Append(Wal.Payload(id, Wal.PayloadLength(id)), (ushort)(id % 7));
    }

    private static void AssertEvent(long id, in WalEvent e)
    {
        Assert.Equal(id, e.EventId);
        Assert.Equal((ushort)(id % 7), e.Type);
        Assert.True(e.Payload.SequenceEqual(Wal.Payload(id, Wal.PayloadLength(id))), $"payload of event {id}");
    }

    /// <summary>Reads with ReadNext until the log ends; returns the ids seen.</summary>
    private static List<long> ReadToEnd(WalTailer tailer, Action<long>? onEvent = null)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var ids = new List<long>();
        while (tailer.ReadNext(out WalEvent e, timeout.Token))
        {
            ids.Add(e.EventId);
            onEvent?.Invoke(e.EventId);
        }

        return ids;
    }

    /// <summary>
    /// The log read to its first damage twice, by strict recovery from event 1 and by a tailer; both
    /// must fail. What each read before it, and the finding each reported.
    /// </summary>
    private static (List<long> StrictIds, Finding Strict, List<long> Tailed, Finding Tailer) StrictAndTailerToDamage(string dir)
    {
        var strictIds = new List<long>();
        WalCorruptionException strict;
        using (var recovery = WalRecovery.Open(dir, new RecoveryOptions { Mode = RecoveryMode.Strict }))
        {
            strict = Assert.Throws<WalCorruptionException>(() =>
            {
                if (recovery.ResumeFrom(1))
                {
                    Tests.Recovery.WalRecoveryTests.Drain(recovery, strictIds);
                }
            });
        }

        using WalTailer tailer = WalTailer.Open(dir);
        var tailed = new List<long>();
        WalCorruptionException error = Assert.Throws<WalCorruptionException>(() => ReadToEnd(tailer, tailed.Add));
        return (strictIds, strict.Finding, tailed, error.Finding);
    }

    /// <remarks>
    /// "Never an uncommitted event" cannot be checked as "every id read is at most
    /// <see cref="WalRecorder.CommittedEventId"/> read just after": that watermark is a lower bound
    /// that follows the seal (Commit seals, then publishes it; a rotation seals the full segment's last
    /// block and publishes it after switching segments), so a fast reader can legitimately be a few
    /// nanoseconds ahead of it. The exact check is made at quiet points instead: the writer commits,
    /// appends a few more events that it leaves uncommitted, waits until the tailer has read every
    /// committed one, waits a little longer, and then the tailer must be exactly at the watermark.
    /// </remarks>
    [Fact]
    public void Follows_a_recorder_across_many_rotations_seeing_each_committed_event_once_and_ends_when_it_closes()
    {
        using var dir = new TempDirectory();
        const int Events = 6000;
        WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny);
        try
        {
            using WalTailer tailer = WalTailer.Open(dir.Path);
            var seen = new List<long>();
            long lastSeen = 0;
            long unappended = 0;
            Exception? failure = null;
            var reader = new Thread(() =>
            {
                try
                {
                    using var timeout = new CancellationTokenSource(Patience);
                    while (tailer.ReadNext(out WalEvent e, timeout.Token))
                    {
                        if (e.EventId > recorder.LastEventId)
                        {
                            Interlocked.Increment(ref unappended);
                        }

                        AssertEvent(seen.Count + 1, e);
                        seen.Add(e.EventId);
                        Volatile.Write(ref lastSeen, e.EventId);
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            reader.Start();

            // At most 5 events of at most 224 bytes between commits: a block never fills up, so only
            // Commit and the rotations seal blocks (a record that does not fit in the segment seals
            // its open block before the recorder moves on), and the watermark is exact at quiet points.
            var random = new Random(7);
            int pending = 0;
            int quietPoints = 0;
            for (int i = 0; i < Events; i++)
            {
                AppendNext(recorder);
                if (++pending == 5 || random.Next(3) == 0)
                {
                    recorder.Commit();
                    pending = 0;
                }

                if (i % 250 == 249 && pending > 0)
                {
                    // A block a rotation sealed is written (committed) by the flusher within about a
                    // millisecond, so the watermark is read once the tailer has caught up with it and
                    // had time to misread the pending events, if it could.
                    Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref lastSeen) >= recorder.CommittedEventId || failure is not null, Patience), "the tailer did not catch up");
                    Thread.Sleep(20);
                    long committed = recorder.CommittedEventId;
                    Assert.Equal(committed, Volatile.Read(ref lastSeen));
                    Assert.True(committed < recorder.LastEventId, "the pending events were committed");
                    quietPoints++;
                }
            }

            recorder.Commit();
            long rotations = recorder.ActiveSegmentIndex;
            recorder.Dispose();
            Assert.True(reader.Join(Patience), "the tailer did not end after the recorder closed");
            Assert.Null(failure);
            Assert.Equal(0, Interlocked.Read(ref unappended));
            Assert.Equal(Enumerable.Range(1, Events).Select(i => (long)i), seen);
            Assert.Equal(TailerState.Closed, tailer.State);
            Assert.Equal(Events, tailer.LastEventId);
            Assert.True(rotations > 50, $"only {rotations} rotations");
            Assert.True(quietPoints > 10, $"only {quietPoints} quiet points");
            Assert.False(tailer.TryReadNext(out _));
        }
        finally
        {
            recorder.Dispose();
        }
    }

    [Fact]
    public void Starts_from_an_event_in_the_middle_of_the_log()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            for (int i = 0; i < 1000; i++)
            {
                AppendNext(recorder);
            }

            recorder.Commit();
            using WalTailer tailer = WalTailer.Open(dir.Path, fromEventId: 617);
            for (long id = 617; id <= 1000; id++)
            {
                Assert.True(tailer.TryReadNext(out WalEvent e));
                AssertEvent(id, e);
            }

            Assert.False(tailer.TryReadNext(out _));
            Assert.Equal(TailerState.Following, tailer.State);
            Assert.True(tailer.SegmentIndex > 0);
        }
    }

    [Fact]
    public void Starts_beyond_the_end_waits_and_then_sees_the_new_events()
    {
        using var dir = new TempDirectory();
        WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny);
        try
        {
            for (int i = 0; i < 300; i++)
            {
                AppendNext(recorder);
            }

            recorder.Commit();
            using WalTailer tailer = WalTailer.Open(dir.Path, fromEventId: 400);
            Assert.False(tailer.WaitForNext(TimeSpan.FromMilliseconds(50)));
            Assert.Equal(TailerState.Following, tailer.State);

            for (int i = 0; i < 200; i++)
            {
                AppendNext(recorder);
            }

            recorder.Commit();
            Assert.True(tailer.WaitForNext(Patience));
            var ids = new List<long>();
            while (tailer.TryReadNext(out WalEvent e))
            {
                AssertEvent(400 + ids.Count, e);
                ids.Add(e.EventId);
            }

            Assert.Equal(101, ids.Count);
            recorder.Dispose();
            Assert.Empty(ReadToEnd(tailer));
            Assert.Equal(TailerState.Closed, tailer.State);
        }
        finally
        {
            recorder.Dispose();
        }
    }

    [Fact]
    public void Never_sees_appended_events_before_their_commit()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 1 << 20, BlockSize = 65536 });
        using WalTailer tailer = WalTailer.Open(dir.Path);
        for (int i = 0; i < 50; i++)
        {
            AppendNext(recorder);
        }

        Assert.False(tailer.WaitForNext(TimeSpan.FromMilliseconds(30)));
        recorder.Commit();
        Assert.True(tailer.WaitForNext(Patience));
        for (long id = 1; id <= 50; id++)
        {
            Assert.True(tailer.TryReadNext(out WalEvent e));
            AssertEvent(id, e);
        }

        Assert.False(tailer.TryReadNext(out _));
    }

    [Fact]
    public void A_recorder_that_dies_without_closing_ends_the_tailer_as_writer_gone()
    {
        using var dir = new TempDirectory();
        WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny with { Durability = DurabilityPolicy.None });
        using WalTailer tailer = WalTailer.Open(dir.Path);
        for (int i = 0; i < 500; i++)
        {
            AppendNext(recorder);
        }

        recorder.Commit();
        for (int i = 0; i < 3; i++)
        {
            AppendNext(recorder); // appended, never committed: a torn tail once the writer is gone
        }

        recorder.AbandonMidWrite();
        List<long> ids = ReadToEnd(tailer);
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), ids);
        Assert.Equal(TailerState.WriterGone, tailer.State);
        Assert.Equal("the recorder went away without closing the log (its process ended); every committed event was read", RecoveryText.FollowEnded(tailer.State));
    }

    /// <summary>
    /// At rest, a segment that was never closed and holds a valid block after a damaged block header
    /// has lost blocks: the verifier and strict recovery say damage, and so must the tailer, rather
    /// than end at the damaged header as if it were a killed writer's unfinished seal.
    /// </summary>
    [Fact]
    public void A_damaged_block_header_with_valid_blocks_after_it_in_an_abandoned_log_is_the_damage_recovery_reports()
    {
        using var dir = new TempDirectory();
        WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 1 << 20, BlockSize = 4096, CheckpointInterval = TimeSpan.FromMilliseconds(10) });
        for (int block = 0; block < 3; block++)
        {
            for (int i = 0; i < 10; i++)
            {
                AppendNext(recorder);
            }

            recorder.Commit(); // one sealed block of 10 events
        }

        // All 30 durable, and the checkpoint says so: a failure before them is damage, not what a power
        // cut left (FORMAT.md §9.1).
        recorder.Flush();
        var patience = Stopwatch.StartNew();
        while (MetaCheckpoint.Load(dir.Path, out _)?.DurableEventId != 30)
        {
            Assert.True(patience.Elapsed < Patience, "the checkpoint never said 30 events were durable");
            Thread.Sleep(5);
        }

        recorder.Abandon(); // the writer dies: the segment stays open, without a summary
        string path = Wal.SegmentPath(dir.Path, 0);
        long second = SegmentScanner.ScanCurrent(path, quick: false).BlockOffsets[1];
        using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = second + BlockHeader.OffCrc;
            int b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 0x01));
        }

        Finding damage = SegmentVerifier.VerifyDirectory(dir.Path).Findings.First(f => f.Severity >= FindingSeverity.Damage);
        Assert.Equal((FindingCode.BlockHeaderCorrupt, path, second + BlockHeader.OffCrc), (damage.Code, damage.File, damage.Offset));
        (List<long> ids, Finding strict, List<long> tailed, Finding error) = StrictAndTailerToDamage(dir.Path);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), ids);
        Assert.Equal(ids, tailed);
        Assert.Equal((strict.Code, strict.File, strict.Offset, strict.BlockIndex), (error.Code, error.File, error.Offset, error.BlockIndex));
    }

    [Fact]
    public void A_closed_log_is_read_to_its_end_and_ends_at_once()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 5, perSegment: 40, Wal.Small);
        using WalTailer tailer = WalTailer.Open(dir.Path, fromEventId: 75);
        List<long> ids = ReadToEnd(tailer);
        Assert.Equal(Enumerable.Range(75, 126).Select(i => (long)i), ids);
        Assert.Equal(TailerState.Closed, tailer.State);
        Assert.Equal(4, tailer.SegmentIndex);
    }

    [Fact]
    public void Compressed_segments_are_read_like_plain_ones()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 4, perSegment: 40, Wal.Small);
        CompressedSegment.Compress(Wal.SegmentPath(dir.Path, 1));
        CompressedSegment.Compress(Wal.SegmentPath(dir.Path, 2));
        using WalTailer tailer = WalTailer.Open(dir.Path, fromEventId: 100);
        Assert.Equal(Enumerable.Range(100, 61).Select(i => (long)i), ReadToEnd(tailer));
        Assert.Equal(TailerState.Closed, tailer.State);
    }

    [Fact]
    public void A_recorder_that_reopens_the_log_after_a_crash_before_the_tailer_notices_is_followed_on()
    {
        using var dir = new TempDirectory();
        WalRecorder crashed = WalRecorder.Open(dir.Path, Tiny with { Durability = DurabilityPolicy.None });
        using WalTailer tailer = WalTailer.Open(dir.Path);
        for (int i = 0; i < 300; i++)
        {
            AppendNext(crashed);
        }

        crashed.Commit();
        AppendNext(crashed); // never committed: the torn tail
        long id = 0;
        while (tailer.TryReadNext(out WalEvent e))
        {
            AssertEvent(++id, e);
        }

        Assert.Equal(300, id);
        crashed.AbandonMidWrite();

        // The tailer makes no call between the crash and the reopening, so it never sees the lock free.
        using (WalRecorder reopened = WalRecorder.Open(dir.Path, Tiny))
        {
            Assert.Equal(300, reopened.LastEventId);
            for (int i = 0; i < 200; i++)
            {
                AppendNext(reopened);
            }

            reopened.Commit();
            Assert.True(tailer.WaitForNext(Patience));
            while (tailer.TryReadNext(out WalEvent e))
            {
                AssertEvent(++id, e);
            }

            Assert.Equal(500, id);
        }

        Assert.Empty(ReadToEnd(tailer));
        Assert.Equal(TailerState.Closed, tailer.State);
    }

    [Fact]
    public void A_crash_just_after_a_rotation_and_a_reopening_are_followed_on()
    {
        using var dir = new TempDirectory();
        WalRecorder crashed = WalRecorder.Open(dir.Path, Tiny with { Durability = DurabilityPolicy.None });
        using WalTailer tailer = WalTailer.Open(dir.Path);
        AppendNext(crashed);
        while (crashed.ActiveSegmentIndex == 0)
        {
            AppendNext(crashed); // the rotation seals segment 0; the event that caused it stays unsealed in segment 1
        }

        long sealedLast = crashed.LastEventId - 1;
        Assert.True(SpinWait.SpinUntil(() => crashed.CommittedEventId == sealedLast, Patience), "the flusher did not write segment 0's last block");
        long id = 0;
        while (tailer.TryReadNext(out WalEvent e))
        {
            AssertEvent(++id, e);
        }

        Assert.Equal(sealedLast, id);
        // Once the maintainer has closed segment 0, the tailer moves on to segment 1, which holds no
        // block. The reopening recorder leaves segment 1 as it is (never closed, no block), deletes the
        // prepared segments 2.. and creates segment 2 again, whose block 0 continues segment 0's chain.
        Assert.True(SpinWait.SpinUntil(() => !tailer.TryReadNext(out _) && tailer.SegmentIndex == 1, Patience));
        crashed.Abandon(); // the unsealed event is lost with the process: segment 1 holds no block

        using (WalRecorder reopened = WalRecorder.Open(dir.Path, Tiny))
        {
            Assert.Equal(sealedLast, reopened.LastEventId);
            for (int i = 0; i < 100; i++)
            {
                AppendNext(reopened);
            }

            reopened.Commit();
            Assert.True(tailer.WaitForNext(Patience), $"the tailer stayed in segment {tailer.SegmentIndex}, {tailer.State}");
            while (tailer.TryReadNext(out WalEvent e))
            {
                AssertEvent(++id, e);
            }

            Assert.Equal(sealedLast + 100, id);
        }

        Assert.Empty(ReadToEnd(tailer));
        Assert.Equal(TailerState.Closed, tailer.State);
    }

    [Fact]
    public void A_damaged_sealed_block_is_reported_with_file_and_offset()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 3, perSegment: 40, Wal.Small);
        string path = Wal.SegmentPath(dir.Path, 1);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = SegmentFormat.DataOffset + 100; // inside block 0's records
            int b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 0x40));
        }

        using WalTailer tailer = WalTailer.Open(dir.Path);
        var corrupt = Assert.Throws<WalCorruptionException>(() => ReadToEnd(tailer));
        Assert.Equal(path, corrupt.Finding.File);
        Assert.Equal(FindingCode.BlockChecksumMismatch, corrupt.Finding.Code);
        Assert.Equal(0, corrupt.Finding.BlockIndex);
        Assert.Equal(40, tailer.LastEventId);
    }

    /// <summary>
    /// TryReadNext never waits, not even on a damaged block: the call that meets it returns false, and
    /// a later call, once the block has failed its checks long enough, throws.
    /// </summary>
    [Fact]
    public void TryReadNext_meets_a_damaged_block_without_waiting_and_a_later_call_reports_it()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 3, perSegment: 40, Wal.Small);
        string path = Wal.SegmentPath(dir.Path, 1);
        Tests.Recovery.WalRecoveryTests.FlipByte(path, SegmentFormat.DataOffset + 100); // inside block 0's records

        using WalTailer tailer = WalTailer.Open(dir.Path);
        for (long id = 1; id <= 40; id++)
        {
            Assert.True(tailer.TryReadNext(out WalEvent e), $"event {id}");
            Assert.Equal(id, e.EventId);
        }

        Assert.False(tailer.TryReadNext(out _)); // the damaged block: looked at once, not judged yet
        Assert.Equal(TailerState.Following, tailer.State);
        var patience = Stopwatch.StartNew();
        WalCorruptionException? corrupt = null;
        while (corrupt is null && patience.Elapsed < Patience)
        {
            try
            {
                Assert.False(tailer.TryReadNext(out _));
            }
            catch (WalCorruptionException e)
            {
                corrupt = e;
            }
        }

        Assert.NotNull(corrupt);
        Assert.Equal((path, FindingCode.BlockChecksumMismatch, 0), (corrupt.Finding.File, corrupt.Finding.Code, corrupt.Finding.BlockIndex));
        Assert.Equal(40, tailer.LastEventId);
    }

    /// <summary>
    /// Damage outside a segment's blocks, which loses no event, is damage to the tailer as it is to
    /// verify and strict recovery: the tailer reads every event of the segment and then reports the
    /// same finding, where it used to read on and say nothing.
    /// </summary>
    [Theory]
    [InlineData("garbage after the capacity", FindingCode.FileTooLong)]
    [InlineData("a reserved header byte", FindingCode.ReservedBytesNotZero)]
    [InlineData("a byte after the data end", FindingCode.DataAfterEnd)]
    public void Damage_outside_the_blocks_of_a_closed_segment_is_reported_after_its_events(string what, FindingCode code)
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 3, perSegment: 40, Wal.Small);
        string path = Wal.SegmentPath(dir.Path, 1);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            long at = what switch
            {
                "garbage after the capacity" => file.Length,
                "a reserved header byte" => SegmentFormat.HeaderSize + 10,
                _ => SegmentFile.ReadSummary(path)!.Value.DataEnd + 100,
            };
            file.Position = at;
            file.WriteByte(0x5A);
        }

        (List<long> strictIds, Finding strict, List<long> tailed, Finding error) = StrictAndTailerToDamage(dir.Path);
        Assert.Equal(Enumerable.Range(1, 80).Select(i => (long)i), tailed); // every event of segments 0 and 1
        Assert.Equal(strictIds, tailed);
        Assert.Equal((code, path), (error.Code, error.File));
        Assert.Equal((strict.Code, strict.Offset, strict.BlockIndex), (error.Code, error.Offset, error.BlockIndex));
    }

    /// <summary>
    /// At rest, what only the directory as a whole shows is reported as strict recovery reports it:
    /// durable events gone with a removed last segment (the checkpoint says so), a segment under
    /// another index's name (where the tailer alone would call the index missing), and the head of
    /// the log renamed away.
    /// </summary>
    [Theory]
    [InlineData("last segment removed", FindingCode.DurableEventsMissing)]
    [InlineData("segment 2 renamed 4", FindingCode.SegmentNameMismatch)]
    [InlineData("segment 0 renamed 4", FindingCode.SegmentNameMismatch)]
    public void At_rest_the_directory_as_a_whole_is_judged_as_strict_recovery_judges_it(string what, FindingCode code)
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 4, perSegment: 30, Wal.Small);
        Wal.Checkpoint(dir.Path); // 120 events durable
        switch (what)
        {
            case "last segment removed":
                File.Delete(Wal.SegmentPath(dir.Path, 3));
                break;
            case "segment 2 renamed 4":
                File.Move(Wal.SegmentPath(dir.Path, 2), Wal.SegmentPath(dir.Path, 4));
                break;
            default:
                File.Move(Wal.SegmentPath(dir.Path, 0), Wal.SegmentPath(dir.Path, 4));
                break;
        }

        (List<long> strictIds, Finding strict, List<long> tailed, Finding error) = StrictAndTailerToDamage(dir.Path);
        Assert.Equal(strictIds, tailed);
        Assert.Equal(code, error.Code);
        Assert.Equal((strict.Code, strict.File, strict.Offset), (error.Code, error.File, error.Offset));
    }

    [Fact]
    public void A_segment_that_does_not_continue_the_chain_is_corruption()
    {
        using var dir = new TempDirectory();
        LogId log = Wal.WriteLog(dir.Path, segments: 1, perSegment: 40, Wal.Small);
        using (SegmentWriter foreign = Wal.Write(dir.Path, 1, log, seed: 12345, firstId: 41, count: 10, Wal.Small))
        {
            foreign.Close();
        }

        using WalTailer tailer = WalTailer.Open(dir.Path);
        var corrupt = Assert.Throws<WalCorruptionException>(() => ReadToEnd(tailer));
        Assert.Equal(FindingCode.ChainBrokenAcrossSegments, corrupt.Finding.Code);
        Assert.Equal(Wal.SegmentPath(dir.Path, 1), corrupt.Finding.File);
    }

    [Fact]
    public void Cancellation_ends_a_blocked_read_promptly()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny);
        AppendNext(recorder);
        recorder.Commit();
        using WalTailer tailer = WalTailer.Open(dir.Path);
        Assert.True(tailer.TryReadNext(out _));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var clock = Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => tailer.ReadNext(out _, cancel.Token));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(90), TimeSpan.FromSeconds(5));
        Assert.Equal(TailerState.Following, tailer.State);
    }

    [Fact]
    public void A_tailer_on_an_empty_directory_waits_for_the_first_segment()
    {
        using var dir = new TempDirectory();
        using WalTailer tailer = WalTailer.Open(dir.Path);
        Assert.False(tailer.WaitForNext(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(TailerState.Following, tailer.State);
        Assert.Equal(-1, tailer.SegmentIndex);

        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            AppendNext(recorder);
            recorder.Commit();
            Assert.True(tailer.WaitForNext(Patience));
            Assert.True(tailer.TryReadNext(out WalEvent e));
            AssertEvent(1, e);
            Assert.Equal(0, tailer.SegmentIndex);
        }

        Assert.Empty(ReadToEnd(tailer));
        Assert.Equal(TailerState.Closed, tailer.State);
    }

    [Fact]
    public void A_recorder_that_closes_without_writing_ends_the_tailer_as_closed()
    {
        using var dir = new TempDirectory();
        using WalTailer tailer = WalTailer.Open(dir.Path);
        WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny);
        Assert.False(tailer.WaitForNext(TimeSpan.FromMilliseconds(30)));
        Assert.Equal(0, tailer.SegmentIndex);
        recorder.Dispose(); // discards its empty segment
        Assert.Empty(ReadToEnd(tailer));
        Assert.Equal(TailerState.Closed, tailer.State);
    }

    [Fact]
    public void Reading_committed_events_allocates_nothing()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 4 << 20, BlockSize = 4096 });
        for (int i = 0; i < 5000; i++)
        {
            AppendNext(recorder);
            if (i % 10 == 0)
            {
                recorder.Commit();
            }
        }

        recorder.Commit();
        using WalTailer tailer = WalTailer.Open(dir.Path);
        long sum = 0;
        for (int i = 0; i < 500; i++)
        {
            Assert.True(tailer.TryReadNext(out WalEvent e)); // warm-up: first segment mapped, code compiled
            sum += e.Payload.Length;
        }

        long allocated = AllocationCounter.Least(() =>
        {
            for (int i = 0; i < 1333; i++)
            {
                if (!tailer.TryReadNext(out WalEvent e))
                {
                    Assert.Fail($"event {tailer.LastEventId + 1} not readable");
                }

                sum += e.Payload.Length + e.EventId;
            }
        });

        Assert.True(tailer.TryReadNext(out _)); // the 4,500th
        Assert.Equal(0, allocated);
        Assert.Equal(4500, tailer.LastEventId);
        Assert.True(sum > 0);
    }

    [LinuxFact("kills a recorder process and relies on flock being released by the kernel")]
    public void Follows_a_recorder_in_another_process_that_is_killed_midway()
    {
        using var dir = new TempDirectory();
        string wal = dir.Sub("wal");
        string cli = Path.Combine(AppContext.BaseDirectory, "flashwal.dll");
        Assert.True(File.Exists(cli), $"{cli} is missing");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { cli, "record", wal, "--events", "10000000", "--rate", "50000", "--segment-size", "64KiB", "--block-size", "4KiB", "--commit-every", "7", "--report-durable" })
        {
            start.ArgumentList.Add(argument);
        }

        long durable = 0;
        using Process recorder = Process.Start(start)!;

        // Dedicated threads, not the thread pool's async reads: on a busy machine those can lag the
        // recorder by seconds, and the durable watermark must be known when the process is killed.
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var outputReader = new Thread(() =>
        {
            while (recorder.StandardOutput.ReadLine() is { } text)
            {
                if (text.StartsWith("durable ", StringComparison.Ordinal)
                    && long.TryParse(text.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out long id))
                {
                    Interlocked.Exchange(ref durable, id); // the reporter prints an increasing watermark
                }
            }
        }) { IsBackground = true };
        var errorReader = new Thread(() =>
        {
            while (recorder.StandardError.ReadLine() is { } text)
            {
                errors.Enqueue(text);
            }
        }) { IsBackground = true };
        outputReader.Start();
        errorReader.Start();
        try
        {
            using WalTailer tailer = WalTailer.Open(wal);
            using var timeout = new CancellationTokenSource(Patience);
            long expected = 1;
            long durableAtKill = -1;
            long segmentAtKill = -1;
            while (tailer.ReadNext(out WalEvent e, timeout.Token))
            {
                Assert.Equal(expected, e.EventId); // contiguous from 1, in order, no duplicates
                Assert.True(e.Payload.SequenceEqual(Wal.Payload(e.EventId, 64)), $"payload of event {e.EventId}");
                expected++;
                if (durableAtKill < 0 && e.EventId >= 30_000 && Interlocked.Read(ref durable) > 0)
                {
                    recorder.Kill();
                    Assert.True(recorder.WaitForExit(Patience));
                    durableAtKill = Interlocked.Read(ref durable);
                    segmentAtKill = tailer.SegmentIndex;
                }
            }

            Assert.True(durableAtKill > 0,
                $"the recorder was never killed (or never reported durable events): the tailer ended {tailer.State} at {tailer.LastEventId}, segment {tailer.SegmentIndex}; recorder exited: {recorder.HasExited}; its errors: {string.Join("\n", errors)}");
            Assert.Equal(TailerState.WriterGone, tailer.State);
            Assert.True(tailer.LastEventId >= durableAtKill, $"the tailer ended at {tailer.LastEventId}, below durable event {durableAtKill}");
            Assert.True(segmentAtKill > 5, $"only {segmentAtKill} rotations before the kill");

            // Everything committed survived the kill, and the tailer saw all of it.
            VerificationReport report = SegmentVerifier.VerifyDirectory(wal);
            Assert.True(report.IsIntact, string.Join("\n", report.Findings));
            Assert.Equal(report.Segments.Max(s => s.LastEventId), tailer.LastEventId);
        }
        finally
        {
            if (!recorder.HasExited)
            {
                recorder.Kill();
                recorder.WaitForExit(Patience);
            }
        }
    }
}
