using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;
using Xunit.Abstractions;

namespace FlashWal.Tests.Reliability;

/// <summary>Defects the stress set found, each reproduced on its own.</summary>
[Trait("Category", "Stress")]
[Collection(StressSet.Name)]
public sealed class StressRegressionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Stress seed 20261121 (host-interval and direct-interval): a segment read while the recorder
    /// sealed blocks in it was reported damaged ("BlocksLost: a valid block starts after damage"): the
    /// scanner saw the open block's header still zero, then, looking for later blocks, found the ones
    /// sealed meanwhile.
    /// </summary>
    [Fact]
    public void A_segment_scanned_while_the_recorder_seals_blocks_in_it_is_never_reported_damaged()
    {
        using var dir = new TempDirectory();
        var options = new WalRecorderOptions { SegmentSize = 64 * 1024 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None };
        using var recorder = WalRecorder.Open(dir.Path, options);
        using var stop = new CancellationTokenSource(Run);
        var writer = new Thread(() =>
        {
            var payload = new byte[600];
            long i = 0;
            while (!stop.IsCancellationRequested && i < 120_000)
            {
                recorder.Append(payload.AsSpan(0, (int)(i++ * 37 % 600)));
                Thread.SpinWait(50); // sealing often enough to race the scan of the zeros after the prefix (64 MiB)
                if (i % 3 == 0)
                {
                    recorder.Commit();
                }
            }
        }) { IsBackground = true };
        writer.Start();
        int scans = 0;
        var damage = new List<string>();
        while (!stop.IsCancellationRequested && damage.Count < 5 && writer.IsAlive)
        {
            using SegmentReader reader = SegmentReader.Open(Wal.SegmentPath(dir.Path, 0)); // 120,000 events fill 40 of its 64 MiB
            scans++;
            if (reader.Scan.HasDamage)
            {
                damage.Add($"scan {scans}: valid end {reader.Scan.ValidEnd}, {reader.Scan.BlockOffsets.Count} blocks: {string.Join("; ", reader.Scan.Findings)}");
            }
        }

        stop.Cancel();
        writer.Join();
        output.WriteLine($"{scans} scans of segments being written, {recorder.LastEventId} events");
        Assert.True(damage.Count == 0, string.Join("\n", damage));
    }

    /// <summary>
    /// Stress seed 20261121 (host-interval, host-commit-retention): a strict recovery of a live log
    /// read segment i while the recorder still wrote it, then segment i + 1, which the recorder began
    /// after sealing i's last blocks: "ChainBrokenAcrossSegments", damage on a healthy log (and the
    /// events sealed in i after it was read would have been skipped). Now segment i is read again.
    /// </summary>
    [Fact]
    public void A_recovery_that_read_a_segment_before_the_recorder_finished_it_reads_it_again_before_the_next()
    {
        using var dir = new TempDirectory();
        var options = new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None };
        using var recorder = WalRecorder.Open(dir.Path, options);
        var payload = new byte[100];
        for (int i = 0; i < 50; i++)
        {
            recorder.Append(payload);
        }

        recorder.Commit();
        using var recovery = WalRecovery.Open(dir.Path, new RecoveryOptions { Mode = RecoveryMode.Strict, UsePreloader = false });
        Assert.True(recovery.ResumeFrom(1));
        Assert.True(recovery.TryReadNext(out WalEvent first)); // segment 0 is read now: 50 events
        Assert.Equal(1, first.EventId);
        while (recorder.ActiveSegmentIndex == 0)
        {
            recorder.Append(payload); // fills segment 0 and begins segment 1
        }

        recorder.Commit();
        long committed = recorder.CommittedEventId;
        long last = 1;
        while (recovery.TryReadNext(out WalEvent e))
        {
            Assert.Equal(last + 1, e.EventId);
            last = e.EventId;
        }

        RecoveryReport report = recovery.Report;
        Assert.True(report.IsComplete, $"{report.Outcome}: {report.Failure}");
        Assert.Equal(committed, last);
    }

    /// <summary>
    /// Stress seed 20261121 (host-commit-retention, direct-none-compress): a recovery planned from the
    /// catalog met a segment that retention deleted, or compression replaced by its container, since
    /// the catalog was read: "IoError: the segment cannot be opened", damage on a healthy log. Now a
    /// replaced segment is read from its container, and segments deleted before the replay reached
    /// any event move its start.
    /// </summary>
    [Fact]
    public void A_recovery_reads_a_segment_compressed_since_its_catalog_and_starts_after_segments_deleted_since()
    {
        using var dir = new TempDirectory();
        using (var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 }))
        {
            var payload = new byte[100];
            while (recorder.ActiveSegmentIndex < 4)
            {
                recorder.Append(payload);
            }
        }

        using var recovery = WalRecovery.Open(dir.Path, new RecoveryOptions { Mode = RecoveryMode.Strict, UsePreloader = false });
        long firstOfSegment1 = recovery.Catalog.Segments[1].FirstEventId;
        long lastId = recovery.Catalog.LastEventId;
        File.Delete(Wal.SegmentPath(dir.Path, 0)); // retention
        CompressedSegment.Compress(Wal.SegmentPath(dir.Path, 2));
        File.Delete(Wal.SegmentPath(dir.Path, 2)); // compression replaces the original with its container
        long expected = firstOfSegment1;
        RecoveryReport report = recovery.Run(1, e => Assert.Equal(expected++, e.EventId));
        Assert.True(report.IsComplete, $"{report.Outcome}: {report.Failure}");
        Assert.Equal(lastId, report.LastEventId);
        Assert.Contains("0000000000000000.wal was deleted", report.StartNote, StringComparison.Ordinal);
    }

    /// <summary>
    /// Stress seed 20261121: verifying a live log while the recorder rotates, compresses and deletes
    /// segments reported damage: a segment read before the recorder finished it against its successor
    /// read after ("ChainBrokenAcrossSegments", or a torn tail "that later segments follow"), and files
    /// deleted or compressed since the listing ("IoError", "SegmentMissing").
    /// </summary>
    [Fact]
    public void Verifying_a_live_log_while_it_rotates_compresses_and_deletes_segments_never_reports_damage()
    {
        using var dir = new TempDirectory();
        var options = new WalRecorderOptions
        {
            SegmentSize = 64 * 1024,
            BlockSize = 4096,
            Durability = DurabilityPolicy.None,
            Retention = new RetentionPolicy { MaxSegments = 6, CompressAfter = 2 },
        };
        using var recorder = WalRecorder.Open(dir.Path, options);
        using var stop = new CancellationTokenSource(Run);
        var writer = new Thread(() =>
        {
            var payload = new byte[300];
            long i = 0;
            while (!stop.IsCancellationRequested)
            {
                recorder.Append(payload.AsSpan(0, (int)(i++ * 37 % 300)));
                if (i % 5 == 0)
                {
                    recorder.Commit();
                    Thread.SpinWait(200);
                }
            }
        }) { IsBackground = true };
        writer.Start();
        int verifications = 0;
        var damage = new List<string>();
        while (!stop.IsCancellationRequested && damage.Count < 5)
        {
            VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
            verifications++;
            if (!report.IsIntact || report.HasErrors)
            {
                damage.Add($"verification {verifications} (files now: {string.Join(",", Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal))}; segments {string.Join(",", report.Segments.Select(x => x.Index))}): {string.Join("; ", report.Findings.Where(f => f.Severity >= FindingSeverity.Damage))}");
            }
        }

        stop.Cancel();
        writer.Join();
        output.WriteLine($"{verifications} verifications of a live log, {recorder.LastEventId} events, segment {recorder.ActiveSegmentIndex}");
        Assert.True(damage.Count == 0, string.Join("\n", damage));
    }

    /// <summary>
    /// Stress seed 20261121 (direct-interval, the first live replay): the catalog read segment 0 before
    /// the recorder sealed a block in it, and segment 1 after the recorder moved on to it; the replay
    /// from event 1 started in segment 1, and strict recovery called it complete while events 1..2738,
    /// committed, were never handed out ("event 1 precedes the log's first event"). Now the empty
    /// segments before the start are read again on a live log.
    /// </summary>
    [Fact]
    public void A_replay_of_a_live_log_from_its_first_event_reads_segments_the_catalog_found_empty()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        uint chain;
        using (SegmentWriter first = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 30, Wal.Small, sealEvery: 10))
        {
            chain = first.ChainValue; // its summary is cleared below: the segment a recorder was writing
        }

        using (SegmentWriter second = Wal.Write(dir.Path, 1, log, chain, 31, 30, Wal.Small, sealEvery: 10))
        {
            second.Seal();
        }

        string path = Wal.SegmentPath(dir.Path, 0);
        byte[] written = File.ReadAllBytes(path);
        Array.Clear(written, SegmentFormat.SummaryOffset, SegmentFormat.SummarySize); // never closed
        byte[] empty = (byte[])written.Clone();
        Array.Clear(empty, SegmentFormat.DataOffset, empty.Length - SegmentFormat.DataOffset);
        using var held = DirectoryLock.Acquire(dir.Path); // a live log: a recorder holds it
        File.WriteAllBytes(path, empty); // as the catalog reads it: no block sealed yet
        using var recovery = WalRecovery.Open(dir.Path, new RecoveryOptions { Mode = RecoveryMode.Strict, UsePreloader = false });
        Assert.Equal(0, recovery.Catalog.Segments[0].RecordCount);
        File.WriteAllBytes(path, written); // as the recorder went on: sealed, and segment 1 begun
        long expected = 1;
        RecoveryReport report = recovery.Run(1, e => Assert.Equal(expected++, e.EventId));
        Assert.True(report.IsComplete, $"{report.Outcome}: {report.Failure}");
        Assert.Equal(1, report.FirstEventId);
        Assert.Equal(60, report.LastEventId);
    }

    /// <summary>
    /// Stress long run (seed 20261121, direct-interval and direct-none-compress): a catalog of a live
    /// log read the checkpoint after the segments, so a checkpoint written in between named durable
    /// events the (earlier) segment scans did not hold yet: "DurableEventsMissing", and strict recovery
    /// stopped on a healthy log. The catalog now reads the checkpoint first.
    /// </summary>
    [Fact]
    public void A_catalog_of_a_live_log_never_finds_durable_events_missing()
    {
        using var dir = new TempDirectory();
        var options = new WalRecorderOptions
        {
            SegmentSize = 64 * 1024,
            BlockSize = 4096,
            Durability = DurabilityPolicy.EveryCommit,
            CheckpointInterval = TimeSpan.FromMilliseconds(10),
        };
        using var recorder = WalRecorder.Open(dir.Path, options);
        using var stop = new CancellationTokenSource(Run);
        var writer = new Thread(() =>
        {
            var payload = new byte[200];
            while (!stop.IsCancellationRequested)
            {
                for (int i = 0; i < 20; i++)
                {
                    recorder.Append(payload);
                }

                recorder.Commit();
            }
        }) { IsBackground = true };
        writer.Start();
        int catalogs = 0;
        var missing = new List<string>();
        while (!stop.IsCancellationRequested && missing.Count < 5)
        {
            WalCatalog catalog = WalCatalog.Open(dir.Path);
            catalogs++;
            missing.AddRange(catalog.Findings.Where(f => f.Code == FindingCode.DurableEventsMissing).Select(f => $"catalog {catalogs}: {f}"));
        }

        stop.Cancel();
        writer.Join();
        output.WriteLine($"{catalogs} catalogs of a live log, {recorder.LastEventId} events, segment {recorder.ActiveSegmentIndex}");
        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }
}
