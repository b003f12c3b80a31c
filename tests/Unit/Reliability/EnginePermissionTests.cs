using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// Permission denied, made real although the tests run as root: the engine is called on a thread whose
/// file-system identity is nobody (<see cref="BadInput.AsNobody"/>), over files and directories of root
/// with no access for others.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class EnginePermissionTests
{
    private const UnixFileMode Closed = UnixFileMode.None;

    public static TheoryData<string> FileEntryPoints => BadInput.Names(BadInput.FileEntryPoints);

    public static TheoryData<string> DirectoryEntryPoints => BadInput.Names(BadInput.DirectoryEntryPoints, BadInput.AnyPathEntryPoints);

    [PermissionDeniedFact]
    public void The_thread_really_is_denied()
    {
        using var temp = new TempDirectory();
        string file = temp.File("secret");
        File.WriteAllText(file, "x");
        File.SetUnixFileMode(file, Closed);
        Assert.IsType<UnauthorizedAccessException>(BadInput.AsNobody(() => File.ReadAllBytes(file)));
        Assert.Null(Record.Exception(() => File.ReadAllBytes(file))); // the rest of the process is still root
    }

    [PermissionDeniedFact]
    public void An_unreadable_segment_is_WalAccessDenied_for_every_file_reader()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        string segment = Wal.SegmentPath(temp.Path, 0);
        File.SetUnixFileMode(segment, Closed);
        foreach ((string name, Action<string> open) in BadInput.FileEntryPoints)
        {
            Exception? e = BadInput.AsNobody(() => BadInput.Fails<WalAccessDeniedException>(() => open(segment), segment, "WalPathAccessDenied", "permission denied"));
            Assert.True(e is null, $"{name}: {e}");
        }

        Exception? verify = BadInput.AsNobody(() =>
        {
            VerificationReport report = SegmentVerifier.Verify(segment);
            Finding finding = Assert.Single(report.Findings);
            Assert.Equal(FindingCode.IoError, finding.Code);
            Assert.Equal(segment, finding.File);
            Assert.Contains("denied", finding.Message, StringComparison.OrdinalIgnoreCase);
        });
        Assert.Null(verify);
        File.SetUnixFileMode(segment, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        BadInput.AssertHolds(temp.Path, 20);
    }

    [PermissionDeniedFact]
    public void An_unreadable_walz_is_WalAccessDenied()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        string packed = CompressedSegment.Compress(Wal.SegmentPath(temp.Path, 0));
        File.SetUnixFileMode(packed, Closed);
        foreach ((string name, Action<string> open) in BadInput.FileEntryPoints)
        {
            Exception? e = BadInput.AsNobody(() => BadInput.Fails<WalAccessDeniedException>(() => open(packed), packed, "WalPathAccessDenied", "permission denied"));
            Assert.True(e is null, $"{name}: {e}");
        }

        Assert.Null(BadInput.AsNobody(() => BadInput.Fails<WalAccessDeniedException>(() => CompressedSegment.TryDecompress(packed, out _, out _), packed, "WalPathAccessDenied")));
    }

    [PermissionDeniedFact]
    public void An_unreadable_directory_is_WalAccessDenied_for_every_directory_reader()
    {
        using var temp = new TempDirectory();
        string wal = temp.Sub("wal");
        BadInput.Write(wal, 20);
        File.SetUnixFileMode(wal, Closed);
        try
        {
            foreach ((string name, Action<string> open) in BadInput.DirectoryEntryPoints.Concat(BadInput.AnyPathEntryPoints).Where(e => e.Key != "WalTailer.Open" && e.Key != "WalEventReader.Follow"))
            {
                Exception? e = BadInput.AsNobody(() => BadInput.Fails<WalAccessDeniedException>(() => open(wal), wal, "WalPathAccessDenied", "permission denied"));
                Assert.True(e is null, $"{name}: {e}");
            }

            Exception? tail = BadInput.AsNobody(() =>
            {
                using WalTailer tailer = WalTailer.Open(wal);
                BadInput.Fails<WalAccessDeniedException>(() => tailer.TryReadNext(out _), wal, "WalPathAccessDenied", "permission denied");
            });
            Assert.Null(tail);
        }
        finally
        {
            File.SetUnixFileMode(wal, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        BadInput.AssertHolds(wal, 20);
    }

    [PermissionDeniedFact]
    public void A_directory_that_cannot_be_written_is_WalDirectoryNotWritable_for_the_recorder_and_repair()
    {
        using var temp = new TempDirectory();
        string wal = temp.Sub("wal");
        BadInput.Write(wal, 20);
        File.WriteAllText(Path.Combine(wal, SegmentFileName.Format(9)), "garbage"); // work for repair
        File.SetUnixFileMode(wal, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (string file in Directory.EnumerateFiles(wal))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        }

        Exception? recorder = BadInput.AsNobody(() => BadInput.Fails<WalDirectoryNotWritableException>(() => WalRecorder.Open(wal, BadInput.Tiny).Dispose(), wal, "WalDirectoryNotWritable", "cannot be written", "denied"));
        Assert.Null(recorder);
        Exception? repair = BadInput.AsNobody(() =>
        {
            RepairPlan plan = WalRepair.Plan(wal); // planning only reads
            Assert.NotEmpty(plan.Actions);
            BadInput.Fails<WalDirectoryNotWritableException>(() => plan.Apply(), wal, "WalDirectoryNotWritable", "denied");
        });
        Assert.Null(repair);
        string fresh = Path.Combine(wal, "sub");
        Assert.Null(BadInput.AsNobody(() => BadInput.Fails<WalDirectoryNotWritableException>(() => WalRecorder.Open(fresh, BadInput.Tiny).Dispose(), fresh, "WalDirectoryNotWritable", "denied")));
        BadInput.AssertKept(wal, 20);
    }

    [PermissionDeniedFact]
    public void An_unreadable_checkpoint_is_a_finding_not_an_exception()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        string meta = temp.File(MetaCheckpoint.FileName);
        File.SetUnixFileMode(meta, Closed);
        File.SetUnixFileMode(temp.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Exception? e = BadInput.AsNobody(() =>
        {
            Assert.Null(MetaCheckpoint.Load(temp.Path, out string? problem));
            Assert.Contains("cannot be read", problem, StringComparison.Ordinal);
            WalCatalog catalog = WalCatalog.Open(temp.Path);
            Assert.Contains(catalog.Findings, f => f.File == meta && f.Message.Contains("denied", StringComparison.OrdinalIgnoreCase));
            Assert.Equal(20, catalog.LastEventId);
        });
        Assert.Null(e);
        BadInput.AssertHolds(temp.Path, 20);
    }

    [PermissionDeniedFact]
    public void An_unreadable_segment_inside_a_log_is_named_by_recovery_and_the_recorder_and_blocks_repair()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 60);
        var segments = WalDirectory.List(temp.Path).Segments;
        string middle = segments[1].Path;
        string last = segments[^1].Path;
        File.SetUnixFileMode(temp.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(middle, Closed);
        Exception? replay = BadInput.AsNobody(() =>
        {
            using WalRecovery recovery = WalRecovery.Open(temp.Path, new RecoveryOptions { UsePreloader = false });
            RecoveryReport report = recovery.Run(1);
            Assert.Equal(RecoveryOutcome.StoppedAtDamage, report.Outcome);
            Assert.Equal(middle, report.Failure!.File);
            Assert.Contains("denied", report.Failure.Message, StringComparison.OrdinalIgnoreCase);
            RepairPlan plan = WalRepair.Plan(temp.Path);
            Assert.Contains(plan.Blockers, b => b.File == middle);
        });
        Assert.Null(replay);

        foreach (string file in Directory.EnumerateFiles(temp.Path))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite); // nobody may record here...
        }

        File.SetUnixFileMode(last, Closed); // ...but not read the last segment
        Exception? open = BadInput.AsNobody(() =>
        {
            BadInput.Fails<WalAccessDeniedException>(() => WalRecorder.Open(temp.Path, BadInput.Tiny with { UsePreparer = false }).Dispose(), last, "WalPathAccessDenied", "permission denied");
        });
        Assert.Null(open);
        File.SetUnixFileMode(last, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        BadInput.AssertHolds(temp.Path, 60);
    }
}
