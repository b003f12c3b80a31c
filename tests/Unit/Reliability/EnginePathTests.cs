using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>Missing paths, a file where a directory is expected and the reverse, for every engine entry point that takes a path.</summary>
public class EnginePathTests
{
    public static TheoryData<string> ReadingEntryPoints => BadInput.Names(BadInput.DirectoryEntryPoints, BadInput.AnyPathEntryPoints, BadInput.FileEntryPoints);

    public static TheoryData<string> DirectoryOnly => BadInput.Names(BadInput.DirectoryEntryPoints);

    public static TheoryData<string> FileOnly => BadInput.Names(new Dictionary<string, Action<string>>(
        BadInput.FileEntryPoints.Where(e => !BadInput.AnyPathEntryPoints.ContainsKey(e.Key)), StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(ReadingEntryPoints))]
    public void A_missing_path_is_WalPathNotFound_naming_it(string entryPoint)
    {
        using var temp = new TempDirectory();
        string missing = temp.File("no-such-wal");
        BadInput.Fails<WalPathNotFoundException>(() => BadInput.Find(entryPoint, BadInput.DirectoryEntryPoints, BadInput.AnyPathEntryPoints, BadInput.FileEntryPoints)(missing),
            missing, "WalPathNotFound", "does not exist");
        Assert.False(Path.Exists(missing)); // a reader creates nothing
    }

    [Theory]
    [MemberData(nameof(ReadingEntryPoints))]
    public void A_path_under_a_missing_parent_is_WalPathNotFound_naming_it(string entryPoint)
    {
        using var temp = new TempDirectory();
        string missing = Path.Combine(temp.Path, "gone", "deeper", "0000000000000000.wal");
        BadInput.Fails<WalPathNotFoundException>(() => BadInput.Find(entryPoint, BadInput.DirectoryEntryPoints, BadInput.AnyPathEntryPoints, BadInput.FileEntryPoints)(missing),
            missing, "WalPathNotFound", "does not exist");
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "gone")));
    }

    [Theory]
    [InlineData("WalRecorder.Open")]
    [InlineData("WalRecorderHost.Start")]
    public void The_recorder_creates_a_missing_directory_and_its_missing_parents(string entryPoint)
    {
        // Deliberate (like mkdir -p): recording into a new path needs no separate step. Kept and documented.
        using var temp = new TempDirectory();
        string wal = Path.Combine(temp.Path, "new-parent", "wal");
        BadInput.WriterEntryPoints[entryPoint](wal);
        Assert.True(Directory.Exists(wal));
        BadInput.Write(wal, 25);
        BadInput.AssertHolds(wal, 25);
    }

    [Fact]
    public void Repair_of_a_missing_directory_is_WalPathNotFound_and_creates_nothing()
    {
        using var temp = new TempDirectory();
        string missing = temp.File("no-such-wal");
        BadInput.Fails<WalPathNotFoundException>(() => WalRepair.Plan(missing).Apply(), missing, "WalPathNotFound", "does not exist");
        Assert.False(Path.Exists(missing));
    }

    [Theory]
    [MemberData(nameof(DirectoryOnly))]
    public void A_file_where_a_directory_is_expected_is_WalNotADirectory(string entryPoint)
    {
        using var temp = new TempDirectory();
        string file = temp.File("events.txt");
        File.WriteAllText(file, "not a directory");
        BadInput.Fails<WalNotADirectoryException>(() => BadInput.DirectoryEntryPoints[entryPoint](file), file, "WalPathNotADirectory", "is a file", "directory was expected");
        Assert.Equal("not a directory", File.ReadAllText(file));
    }

    [Theory]
    [InlineData("WalRecorder.Open")]
    [InlineData("WalRecorderHost.Start")]
    [InlineData("WalRepair.Plan.Apply")]
    public void A_file_where_the_recorder_or_repair_expects_a_directory_is_WalNotADirectory_and_untouched(string entryPoint)
    {
        using var temp = new TempDirectory();
        string file = temp.File("events.txt");
        File.WriteAllText(file, "not a directory");
        BadInput.Fails<WalNotADirectoryException>(() => BadInput.WriterEntryPoints[entryPoint](file), file, "WalPathNotADirectory", "is a file", "directory was expected");
        Assert.Equal("not a directory", File.ReadAllText(file));
    }

    [Fact]
    public void A_file_as_the_recorders_parent_is_refused_naming_the_file()
    {
        using var temp = new TempDirectory();
        string file = temp.File("parent.txt");
        File.WriteAllText(file, "x");
        string wal = Path.Combine(file, "wal");
        BadInput.Fails<WalNotADirectoryException>(() => WalRecorder.Open(wal, BadInput.Tiny), file, "WalPathNotADirectory", "is a file");
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Theory]
    [MemberData(nameof(FileOnly))]
    public void A_directory_where_a_segment_file_is_expected_is_WalNotAFile(string entryPoint)
    {
        using var temp = new TempDirectory();
        string directory = temp.Sub("0000000000000000.wal");
        BadInput.Fails<WalNotAFileException>(() => BadInput.FileEntryPoints[entryPoint](directory), directory, "WalPathNotAFile", "is a directory", "segment file was expected");
    }

    [Fact]
    public void A_directory_named_as_a_segment_inside_a_log_is_not_read_as_one()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 40);
        Directory.CreateDirectory(temp.File(SegmentFileName.Format(99)));
        BadInput.AssertHolds(temp.Path, 40);
        using (WalRecorder recorder = WalRecorder.Open(temp.Path, BadInput.Tiny))
        {
            Assert.Equal(40, recorder.LastEventId);
        }

        BadInput.AssertHolds(temp.Path, 40);
    }

    [Fact]
    public void A_directory_as_the_checkpoint_is_reported_not_thrown_and_the_log_stays_whole()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 30);
        File.Delete(temp.File(MetaCheckpoint.FileName));
        Directory.CreateDirectory(temp.File(MetaCheckpoint.FileName));
        WalCatalog catalog = WalCatalog.Open(temp.Path);
        Assert.Contains(catalog.Findings, f => f.File.EndsWith(MetaCheckpoint.FileName, StringComparison.Ordinal) && f.Message.Contains("cannot be read", StringComparison.Ordinal));
        BadInput.AssertHolds(temp.Path, 30);
    }

    [Fact]
    public void CompressedSegment_TryDecompress_of_a_missing_file_or_a_directory_names_it()
    {
        using var temp = new TempDirectory();
        string missing = temp.File(CompressedSegment.FileName(0));
        BadInput.Fails<WalPathNotFoundException>(() => CompressedSegment.TryDecompress(missing, out _, out _), missing, "WalPathNotFound");
        string directory = temp.Sub(CompressedSegment.FileName(1));
        BadInput.Fails<WalNotAFileException>(() => CompressedSegment.TryDecompress(directory, out _, out _), directory, "WalPathNotAFile", "is a directory");
    }

    [Fact]
    public void A_relative_path_and_a_trailing_slash_are_named_in_full()
    {
        using var temp = new TempDirectory();
        string missing = temp.File("absent") + Path.DirectorySeparatorChar;
        BadInput.Fails<WalPathNotFoundException>(() => WalCatalog.Open(missing), missing, "WalPathNotFound");
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, temp.File("absent2"));
        BadInput.Fails<WalPathNotFoundException>(() => SegmentReader.Open(relative), Path.GetFullPath(relative), "WalPathNotFound");
    }

    [Fact]
    public void SegmentFile_ReadSummary_names_a_missing_path_or_a_directory_and_returns_null_for_anything_else()
    {
        using var temp = new TempDirectory();
        string missing = temp.File(SegmentFileName.Format(3));
        BadInput.Fails<WalPathNotFoundException>(() => SegmentFile.ReadSummary(missing), missing, "WalPathNotFound");
        BadInput.Fails<WalPathNotFoundException>(() => SegmentFile.ReadSummary(temp.File(CompressedSegment.FileName(3))), temp.File(CompressedSegment.FileName(3)), "WalPathNotFound");
        string directory = temp.Sub(SegmentFileName.Format(4));
        BadInput.Fails<WalNotAFileException>(() => SegmentFile.ReadSummary(directory), directory, "WalPathNotAFile");
        File.WriteAllText(temp.File("text.wal"), "not a segment");
        Assert.Null(SegmentFile.ReadSummary(temp.File("text.wal")));
        File.WriteAllBytes(temp.File("empty.walz"), []);
        Assert.Null(SegmentFile.ReadSummary(temp.File("empty.walz")));
    }
}
