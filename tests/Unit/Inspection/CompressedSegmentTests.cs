using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Tests.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Inspection;

public class CompressedSegmentTests
{
    [Fact]
    public void A_compressed_segment_reads_and_verifies_like_the_original()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, 3, 200, Wal.Small);
        Wal.Checkpoint(dir.Path);
        string plain = Wal.SegmentPath(dir.Path, 1);
        var before = Wal.ReadAll(plain);
        string packed = CompressedSegment.Compress(plain);

        Assert.False(File.Exists(plain));
        Assert.Equal(Path.Combine(dir.Path, "0000000000000001.walz"), packed);
        Assert.True(new FileInfo(packed).Length < Wal.Small.SegmentSize / 2);
        var after = Wal.ReadAll(packed);
        Assert.Equal(before.Select(e => (e.Id, e.Timestamp, e.Type)), after.Select(e => (e.Id, e.Timestamp, e.Type)));
        Assert.All(after.Zip(before), pair => Assert.Equal(pair.Second.Payload, pair.First.Payload));

        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Empty(report.Findings);
        Assert.Equal(600, report.Events);
        Assert.Equal(packed, report.Segments[1].Path);
        Assert.Equal(SegmentState.Closed, report.Segments[1].State);
        Assert.Equal(400, SegmentFile.ReadSummary(packed)!.Value.LastEventId);
    }

    [Fact]
    public void A_container_under_another_index_name_is_judged_by_the_segment_inside_it_and_its_events_are_kept()
    {
        // FORMAT.md §18.7: the container's own index field is not compared with the name; the segment
        // inside it is (§9), so the renamed file is misnamed, not corrupt, and recovery replays it.
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, 3, 200, Wal.Small);
        string packed = CompressedSegment.Compress(Wal.SegmentPath(dir.Path, 2));
        string renamed = Path.Combine(dir.Path, CompressedSegment.FileName(5));
        File.Move(packed, renamed);

        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.Contains(report.Findings, f => f.File == renamed && f.Code == FindingCode.SegmentNameMismatch);
        Assert.DoesNotContain(report.Findings, f => f.Code == FindingCode.CompressedSegmentCorrupt);
        Assert.Equal(600, report.Events);

        using var recovery = FlashWal.Recovery.WalRecovery.Open(dir.Path, new FlashWal.Recovery.RecoveryOptions { Mode = FlashWal.Recovery.RecoveryMode.Salvage });
        FlashWal.Recovery.RecoveryReport replayed = recovery.Run(1);
        Assert.Equal(600, replayed.EventsReplayed);
        Assert.Empty(replayed.Gaps);
    }

    [Fact]
    public void Damage_in_a_container_is_found_and_named()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, 3, 200, Wal.Small);
        string packed = CompressedSegment.Compress(Wal.SegmentPath(dir.Path, 1));
        byte[] bytes = File.ReadAllBytes(packed);
        foreach (int offset in new[] { 20, 60, CompressedSegment.HeaderSize + 10, bytes.Length - 1 })
        {
            byte[] damaged = (byte[])bytes.Clone();
            damaged[offset] ^= 0x08;
            File.WriteAllBytes(packed, damaged);
            VerificationReport report = SegmentVerifier.Verify(dir.Path);
            Finding finding = Assert.Single(report.Findings, f => f.Severity == FindingSeverity.Damage && f.File == packed);
            Assert.Equal(FindingCode.CompressedSegmentCorrupt, finding.Code);
            Assert.Throws<WalCorruptionException>(() => SegmentReader.Open(packed));
        }
    }

    [Fact]
    public void Only_closed_segments_are_compressed_and_a_failure_keeps_the_original()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        SegmentWriter open = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 10, Wal.Small);
        open.Seal();
        var e = Assert.Throws<WalException>(() => CompressedSegment.Compress(open.Path));
        Assert.Contains("not closed", e.Message, StringComparison.Ordinal);
        open.Close();

        Directory.CreateDirectory(Path.Combine(dir.Path, "0000000000000000.walz.tmp")); // the temporary file cannot be created
        Assert.ThrowsAny<SystemException>(() => CompressedSegment.Compress(open.Path)); // IOException or UnauthorizedAccessException
        Assert.True(File.Exists(open.Path));
        Assert.Equal(10, Wal.ReadAll(open.Path).Count);
    }

    [Fact]
    public void An_interrupted_compression_is_reported_and_finished_by_the_recorder()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, 3, 100, Wal.Small);
        string plain = Wal.SegmentPath(dir.Path, 0);
        byte[] original = File.ReadAllBytes(plain);
        CompressedSegment.Compress(plain);
        File.WriteAllBytes(plain, original); // as if the crash came before the original was deleted

        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact);
        Assert.Contains(report.Findings, f => f.Code == FindingCode.CompressedDuplicate);
        Assert.Equal(plain, report.Segments[0].Path);

        using (WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = Wal.Small.SegmentSize, BlockSize = 4096, Retention = new RetentionPolicy { CompressAfter = 1 } }))
        {
            WalRecorderTests.AppendRange(recorder, 301, 800);
        }

        Assert.False(File.Exists(plain));
        report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.DoesNotContain(report.Findings, f => f.Code == FindingCode.CompressedDuplicate);
    }

    [Fact]
    public void The_recorder_compresses_cold_segments_and_the_log_stays_whole()
    {
        using var dir = new TempDirectory();
        RecorderTelemetrySnapshotProbe probe;
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 8192, BlockSize = 4096, Retention = new RetentionPolicy { CompressAfter = 2 } }))
        {
            WalRecorderTests.AppendRange(recorder, 1, 3000);
            recorder.Flush();
            long active = recorder.ActiveSegmentIndex;
            SegmentPreparerTests.Eventually(() => WalDirectory.List(dir.Path).Segments.Count(s => s.Path.EndsWith(".walz", StringComparison.Ordinal)) >= active - 3);
            probe = new(recorder.GetTelemetry().Compressions, recorder.GetTelemetry().CompressionFailures);
        }

        Assert.True(probe.Compressions > 10);
        Assert.Equal(0, probe.Failures);
        Assert.Equal(Enumerable.Range(1, 3000).Select(i => (long)i), WalRecorderTests.ReadLog(dir.Path));
        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(3000, report.Events);
    }

    private sealed record RecorderTelemetrySnapshotProbe(long Compressions, long Failures);

    [Fact]
    public void Retention_deletes_compressed_segments_too_and_keeps_the_newest()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 8192, BlockSize = 4096, Retention = new RetentionPolicy { CompressAfter = 1, MaxSegments = 6 } }))
        {
            WalRecorderTests.AppendRange(recorder, 1, 3000);
            recorder.Flush();
            SegmentPreparerTests.Eventually(() => WalDirectory.List(dir.Path).Segments.Count <= 6 + SegmentPreparer.PrepareQueueCapacity);
        }

        List<long> ids = WalRecorderTests.ReadLog(dir.Path);
        Assert.Equal(3000, ids[^1]);
        Assert.True(ids[0] > 1);
        Assert.True(SegmentVerifier.Verify(dir.Path).IsIntact);
    }
}
