using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// What the power-cut fuzzer found wrong in the engine, each reproduced without chance.
/// Like the fuzzer, these fail until the engine is fixed (and <c>FullyQualifiedName!~PowerCutFuzz</c>
/// leaves them out with it).
/// </summary>
[Trait("Category", "PowerCut")]
public sealed class PowerCutFuzzFindingsTests
{
    private const int Seed = 20261121;

    /// <summary>
    /// Found as <c>FLASHWAL_POWERCUT_SEED=7</c> case 25 (<c>FailSync L1 ids:DurableEventsAbsent</c>): under
    /// the interval policy two threads sync the active segment, the maintainer every interval and the
    /// writer on <see cref="WalRecorder.Flush"/>. When one sync fails, Linux has dropped the pages it was
    /// writing, and a second sync of the same pages through the same file returns success (the error
    /// is reported once per file); the thread that made it advances the durable watermark before the
    /// failing thread's error reaches <see cref="WalRecorder"/>'s halt. Events reported durable are then
    /// lost at the next power cut, and a recorder reopened after it hands their ids out again. Here the
    /// failing fdatasync takes 200 ms to return, as a failing write takes the kernel time.
    /// </summary>
    [Fact]
    public void A_sync_that_succeeds_while_another_sync_of_the_same_pages_fails_claims_nothing_the_failure_dropped()
    {
        using var scratch = new ScratchDirectory();
        string root = Path.Combine(scratch.Path, "run");
        Directory.CreateDirectory(root);
        int armed = 0;
        var disk = new SimulatedDisk(root, new SimulatedDiskOptions
        {
            CutsDirectory = Path.Combine(scratch.Path, "cuts"),
            FailSync = call => call.Operation == "fdatasync" && Interlocked.Exchange(ref armed, 0) == 1,
            FailedSyncLatency = TimeSpan.FromMilliseconds(200),
        });
        string wal = Path.Combine(root, "wal");
        var recorder = WalRecorder.Open(wal, new WalRecorderOptions
        {
            SegmentSize = 64 * 1024,
            BlockSize = 4096,
            Durability = DurabilityPolicy.Interval,
            SyncInterval = TimeSpan.FromMilliseconds(1),
            UsePreparer = false,
            Disk = disk,
        });
        long durable;
        try
        {
            Append(recorder, 1, 20);
            recorder.Flush();
            Assert.Equal(20, recorder.DurableEventId);

            // The next fdatasync fails, whichever thread makes it: a sync is made only when blocks past
            // the synced end were written, so it is one that covers events past 20.
            Volatile.Write(ref armed, 1);
            Append(recorder, 21, 40);
            recorder.Commit();
            try
            {
                recorder.Flush();
            }
            catch (WalException)
            {
                // Halted by the failure: right, if nothing after it was claimed.
            }

            durable = recorder.DurableEventId;
            Assert.True(SpinWait.SpinUntil(() => recorder.StopFailure is not null, TimeSpan.FromSeconds(10)), "the failed fdatasync never stopped the recorder");
        }
        finally
        {
            try
            {
                recorder.Dispose();
            }
            catch (WalException)
            {
            }
        }

        SyncCall failed = Assert.Single(disk.FailedSyncs);
        PowerCut cut = disk.Cut(PowerCutModel.FailSync);
        Dictionary<long, HashSet<(int Producer, long Seq)>> onDisk = RawEventScan.Scan(Path.Combine(cut.Root, "wal"), Seed);
        List<long> lost = [.. Enumerable.Range(1, (int)durable).Select(i => (long)i).Where(id => !onDisk.ContainsKey(id))];
        Assert.True(lost.Count == 0,
            $"events up to {durable} were reported durable, but {PowerCutCheck.Ranges(lost)} are not on the disk after the cut: {failed} failed and dropped their pages, and another sync of them returned success first");
    }

    /// <summary>
    /// Found as <c>FLASHWAL_POWERCUT_REPLAY=20261121:40</c> (<c>Writeback L1 ids:DurableEventsSilentlySkipped</c>):
    /// the first segment's block 30 never reached the disk while block 31 did (writeback), and the next
    /// segment was prepared but none of its pages reached the disk. Strict recovery from event 1 says
    /// "the log ends at event 30: nothing from 1 on" and calls itself complete, replaying nothing; without
    /// segment 1 it replays 1..30 and stops at the damage. Whatever the torn-tail rule makes of block 31,
    /// the 30 events before the hole must be replayed.
    /// </summary>
    [Fact]
    public void Strict_recovery_replays_the_events_before_a_hole_even_when_an_all_zero_prepared_segment_follows()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        string first = Wal.SegmentPath(dir.Path, 0);
        SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 40, Wal.Small, sealEvery: 1);
        writer.Abandon();
        long hole = SegmentScanner.ScanFile(first).BlockOffsets[30];
        using (var file = new FileStream(first, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(file.SafeFileHandle, new byte[SegmentFormat.BlockHeaderSize], hole); // block 30's header page never written back
        }

        File.WriteAllBytes(Wal.SegmentPath(dir.Path, 1), new byte[Wal.Small.SegmentSize]); // prepared, none of it on disk

        var ids = new List<long>();
        using var strict = WalRecovery.Open(dir.Path, new RecoveryOptions { UsePreloader = false });
        try
        {
            if (strict.ResumeFrom(1))
            {
                WalRecoveryTests.Drain(strict, ids);
            }
        }
        catch (WalCorruptionException)
        {
            // Stopping at the hole is fine; skipping what lies before it is not.
        }

        Assert.True(ids.Count >= 30 && ids.Take(30).SequenceEqual(Enumerable.Range(1, 30).Select(i => (long)i)),
            $"strict recovery replayed {ids.Count} events ({strict.Report.Outcome}: {strict.Report.StartNote}); events 1..30 lie before the hole, in blocks that verify");
    }

    /// <summary>
    /// Found by the fuzzer's host runs with a failing sync (a producer's submission after the failure
    /// waited out its whole timeout): a failed sync halts the recorder, the host's writer thread fails
    /// what is queued and ends, but the host is not marked closed, so a later submission is queued where
    /// nobody takes it and waits for its timeout (forever without one), then says "not appended".
    /// </summary>
    [Fact]
    public void A_host_whose_recorder_stopped_on_a_failed_sync_refuses_later_submissions_at_once()
    {
        using var dir = new TempDirectory();
        var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions
        {
            Recorder = new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.EveryCommit, Disk = new FailingDisk((operation, _) => operation == "fdatasync") },
        });
        try
        {
            Assert.ThrowsAny<WalException>(() => host.Submit(new byte[10], 0, SubmitWait.Committed, TimeSpan.FromSeconds(10)));
            Thread.Sleep(100); // the writer thread has failed the queue and ended
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Exception? later = Record.Exception(() => host.Submit(new byte[10], 0, SubmitWait.Appended, TimeSpan.FromSeconds(3)));
            Assert.True(later is WalException or ObjectDisposedException && clock.Elapsed < TimeSpan.FromSeconds(1),
                $"a submission after the failure ended after {clock.ElapsedMilliseconds} ms with {later?.GetType().Name}: {later?.Message}");
        }
        finally
        {
            try
            {
                host.Dispose();
            }
            catch (WalException)
            {
            }
        }
    }

    private static void Append(WalRecorder recorder, long from, long to)
    {
        for (long id = from; id <= to; id++)
        {
            Assert.Equal(id, recorder.Append(PowerCutPayload.Make(Seed, 1, id, 80, 120)));
        }
    }
}
