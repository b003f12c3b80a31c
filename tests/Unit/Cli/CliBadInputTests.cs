using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;
using static FlashWal.Tests.Cli.CliTests;

namespace FlashWal.Tests.Cli;

/// <summary>
/// The bad-input matrix of the <c>flashwal</c> tool (issue 7): every command and every path- or
/// option-taking argument, given what a user can get wrong. Each case asserts the exit code (0 ok,
/// 1 damage, 2 usage, I/O or environment), that stderr is one line naming the problem and the path
/// (or option), that stdout claims nothing ("intact", "REPAIRED"), and that a refused call changed
/// nothing a log holds.
/// </summary>
[Collection("mounts")]
public class CliBadInputTests
{
    private static readonly string[] Small = ["--segment-size", "64KiB", "--block-size", "4KiB"];

    public static TheoryData<string> ReadingCommands => new() { "inspect", "verify", "recover", "dump", "repair" };

    [Theory]
    [MemberData(nameof(ReadingCommands))]
    public void A_missing_path_exits_2_naming_it_and_creates_nothing(string command)
    {
        using var dir = new TempDirectory();
        string missing = Path.Combine(dir.Path, "missing", "wal");
        var run = Run(command, missing);
        Assert.Equal(2, run.Code);
        Assert.Equal("", run.Out);
        Assert.Equal($"flashwal: '{missing}' does not exist.", run.Err.Trim());
        Assert.False(Directory.Exists(Path.GetDirectoryName(missing)));
    }

    [Fact]
    public void Record_creates_a_missing_directory_and_its_parents()
    {
        using var dir = new TempDirectory();
        string wal = Path.Combine(dir.Path, "a", "b", "wal");
        var run = Run(["record", wal, "--events", "10", .. Small]);
        Assert.True(run.Code == 0, run.Err);
        Assert.Equal(10, SegmentVerifier.Verify(wal).Events);
    }

    [Theory]
    [InlineData("recover")]
    [InlineData("repair")]
    [InlineData("record")]
    public void A_file_where_a_directory_is_needed_exits_2_and_the_file_is_untouched(string command)
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run(["record", dir.Path, "--events", "100", .. Small]).Code);
        string segment = Wal.SegmentPath(dir.Path, 0);
        byte[] before = File.ReadAllBytes(segment);
        var run = Run(command, segment);
        Assert.Equal(2, run.Code);
        Assert.Equal("", run.Out);
        Assert.Equal($"flashwal: '{segment}' is a file; a WAL directory was expected.", run.Err.Trim());
        Assert.Equal(before, File.ReadAllBytes(segment));
    }

    [Fact]
    public void Dump_follow_of_a_file_and_a_path_through_a_file_exit_2_naming_the_file()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run(["record", dir.Path, "--events", "100", .. Small]).Code);
        string segment = Wal.SegmentPath(dir.Path, 0);
        var follow = Run("dump", segment, "--follow");
        Assert.Equal(2, follow.Code);
        Assert.Equal($"flashwal: --follow follows a WAL directory; '{segment}' is a file.", follow.Err.Trim());

        // record below a file: the file that stands where a directory must be is named, not a raw "Could not find a part of the path".
        var below = Run("record", Path.Combine(segment, "wal"), "--events", "1");
        Assert.Equal(2, below.Code);
        Assert.Equal($"flashwal: '{segment}' is a file; a WAL directory was expected.", below.Err.Trim());

        foreach (string command in new[] { "inspect", "verify", "dump" })
        {
            var read = Run(command, Path.Combine(segment, "wal"));
            Assert.Equal(2, read.Code);
            Assert.Equal($"flashwal: '{Path.Combine(segment, "wal")}' does not exist.", read.Err.Trim());
        }

        Assert.Equal(100, SegmentVerifier.Verify(dir.Path).Events);
    }

    [Theory]
    [InlineData("hello, not a segment", "NotASegment")]
    [InlineData("", "FileEmpty")]
    public void A_non_WAL_or_empty_file_is_damage_for_verify_and_inspect_and_an_error_for_dump(string content, string code)
    {
        using var dir = new TempDirectory();
        string file = dir.File("0000000000000000.wal");
        File.WriteAllText(file, content);
        foreach (string command in new[] { "verify", "inspect" })
        {
            var run = Run(command, file);
            Assert.True(run.Code == 1, $"{command}: {run.Code} {run.Out}{run.Err}");
            Assert.DoesNotContain("intact", run.Out, StringComparison.Ordinal);
            Assert.StartsWith("DAMAGED", run.Out.Trim().Split('\n')[^1], StringComparison.Ordinal);
        }

        Assert.Contains($"{file}:0: damage {code}", Run("verify", file).Out, StringComparison.Ordinal);
        var dump = Run("dump", file);
        Assert.Equal(2, dump.Code);
        Assert.Equal("", dump.Out);
        Assert.StartsWith($"flashwal: '{file}' is not a FlashWal segment: the file ", dump.Err, StringComparison.Ordinal);

        // The same file among a log's segments: a file of another kind is damage; an empty one is what a crash
        // leaves of a segment being prepared (the engine's rule: it holds no event), noted, not damage.
        var inDirectory = Run("verify", dir.Path);
        Assert.Contains(file, inDirectory.Out, StringComparison.Ordinal);
        if (content.Length > 0)
        {
            Assert.Equal(1, inDirectory.Code);
            Assert.Equal(1, Run("inspect", dir.Path).Code);
        }
        else
        {
            Assert.Equal(0, inDirectory.Code);
            Assert.Contains($"{file}:0: info SegmentEmpty", inDirectory.Out, StringComparison.Ordinal);
            Assert.EndsWith("intact: 1 segment(s), 0 event(s)", inDirectory.Out.Trim(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_future_format_version_is_named_as_such_and_nothing_is_changed()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run(["record", dir.Path, "--events", "3000", .. Small]).Code);
        var segments = WalDirectory.List(dir.Path).Segments;
        string newest = segments[^1].Path;
        SetVersion(newest, SegmentFormat.Version + 1);
        var before = Snapshot(dir.Path);
        string expected = $"written by FlashWal format version {SegmentFormat.Version + 1}; this build reads versions up to {SegmentFormat.Version}";

        var verifyFile = Run("verify", newest);
        Assert.Equal(2, verifyFile.Code);
        Assert.Contains($"{newest}:8: error UnsupportedVersion: {expected}", verifyFile.Out, StringComparison.Ordinal);
        Assert.StartsWith("INCOMPLETE", verifyFile.Out.Trim().Split('\n')[^1], StringComparison.Ordinal);
        Assert.Equal(2, Run("verify", dir.Path).Code);
        Assert.Equal(2, Run("inspect", dir.Path).Code); // was 0: inspect printed INCOMPLETE and exited 0

        var dump = Run("dump", newest);
        Assert.Equal(2, dump.Code);
        Assert.Equal($"flashwal: '{newest}' uses FlashWal format version {SegmentFormat.Version + 1}; this build reads versions up to {SegmentFormat.Version}. Use a newer FlashWal.", dump.Err.Trim());

        var recover = Run("recover", dir.Path);
        Assert.Equal(1, recover.Code); // strict recovery stops at the segment it cannot read
        Assert.Contains($"STOPPED at damage (strict): {newest}", recover.Out, StringComparison.Ordinal);

        var record = Run("record", dir.Path, "--events", "10");
        Assert.Equal(2, record.Code);
        Assert.Equal($"flashwal: '{newest}' uses FlashWal format version {SegmentFormat.Version + 1}; this build reads versions up to {SegmentFormat.Version}. Use a newer FlashWal.", record.Err.Trim());

        var repair = Run("repair", dir.Path);
        Assert.Equal(2, repair.Code);
        Assert.Contains($"blocked: {newest}:8: error UnsupportedVersion", repair.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("REPAIRED", repair.Out, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(dir.Path));
    }

    public static TheoryData<string[], string> BadOptions => new()
    {
        { ["record", "{dir}", "--segment-size", "3KiB"], "flashwal: --segment-size 3KiB: Segment size must be a multiple of 4096 bytes from 69632" },
        { ["record", "{dir}", "--segment-size", "2TiB"], "flashwal: --segment-size 2TiB: Segment size must be a multiple of 4096 bytes" },
        { ["record", "{dir}", "--block-size", "5000"], "flashwal: --block-size 5000: Block size must be a power of two from 4096 to 16777216 bytes." },
        { ["record", "{dir}", "--block-size", "32MiB"], "flashwal: --block-size 32MiB: Block size must be a power of two" },
        { ["record", "{dir}", "--sync-interval", "0"], "flashwal: --sync-interval 0: The sync interval must be from 1 ms to 1 hour." },
        { ["record", "{dir}", "--sync-interval", "-5"], "flashwal: --sync-interval -5: The sync interval must be from 1 ms to 1 hour." },
        { ["record", "{dir}", "--sync-interval", "NaN"], "flashwal: --sync-interval 'NaN' is not a number." },
        { ["record", "{dir}", "--keep-segments", "1"], "flashwal: --keep-segments 1: Keep at least 2 segments" },
        { ["record", "{dir}", "--keep-segments", "-1"], "flashwal: --keep-segments -1: Keep at least 2 segments" },
        { ["record", "{dir}", "--compress-after", "-1"], "flashwal: --compress-after -1: CompressAfter must be 0 or more." },
        { ["record", "{dir}", "--events", "-1"], "flashwal: --events -1 is negative; give 0 or more." },
        { ["record", "{dir}", "--events", "abc"], "flashwal: --events 'abc' is not a whole number (at most 9223372036854775807)." },
        { ["record", "{dir}", "--events", "99999999999999999999"], "flashwal: --events '99999999999999999999' is not a whole number (at most 9223372036854775807)." },
        { ["record", "{dir}", "--events", "1.5"], "flashwal: --events '1.5' is not a whole number" },
        { ["record", "{dir}", "--rate", "-5"], "flashwal: --rate -5 is negative; give 0 (flat out) or more events per second." },
        { ["record", "{dir}", "--duration", "0"], "flashwal: --duration 0 is not a duration; give more than 0 seconds." },
        { ["record", "{dir}", "--duration", "soon"], "flashwal: --duration 'soon' is not a number." },
        { ["record", "{dir}", "--commit-every", "0"], "flashwal: --commit-every 0 must be at least 1." },
        { ["record", "{dir}", "--background-cores", "4096"], "flashwal: --background-cores 4096: BackgroundThreads: core 4096 is not one this process may run on (allowed: " },
        { ["record", "{dir}", "--background-cores", "0,x"], "flashwal: --background-cores '0,x' is not a list of cores; give numbers separated by commas, e.g. 0 or 0,2." },
        { ["record", "{dir}", "--background-nice", "20"], "flashwal: --background-nice 20: BackgroundThreads: the nice value must be from 0 to 19" },
        { ["record", "{dir}", "--writer-core", "4096"], "flashwal: --writer-core 4096: WriterThread: core 4096 is not one this process may run on (allowed: " },
        { ["record", "{dir}", "--commit-every", "99999999999"], "flashwal: --commit-every '99999999999' is not a whole number (at most 2147483647)." },
        { ["record", "{dir}", "--payload-size", "5KiB", "--block-size", "4KiB"], "flashwal: --payload-size 5120 does not fit in a block of 4096 bytes: the largest payload is 4008 bytes." },
        { ["record", "{dir}", "--payload-size", "-1"], "flashwal: --payload-size '-1' is not a size." },
        { ["record", "{dir}", "--payload-size", "3GiB"], "flashwal: --payload-size '3GiB' is not a size." },
        { ["record", "{dir}", "--segment-size", "4XB"], "flashwal: --segment-size '4XB' is not a size." },
        { ["record", "{dir}", "--segment-size", "8MiBs"], "flashwal: --segment-size '8MiBs' is not a size." },
        { ["record", "{dir}", "--segment-size", "9000000TiB"], "flashwal: --segment-size '9000000TiB' is not a size." },
        { ["record", "{dir}", "--segment-size", "99999999999999999999"], "flashwal: --segment-size '99999999999999999999' is not a size." },
        { ["record", "{dir}", "--durability", "sometimes"], "flashwal: Argument 'sometimes' not recognized. Must be one of:" },
        { ["record", "{dir}", "--events"], "flashwal: Required argument missing for option: '--events'." },
        { ["record", "{dir}", "--segment-size"], "flashwal: Required argument missing for option: '--segment-size'." },
        { ["record", "{dir}", "--bogus"], "flashwal: Unrecognized command or argument '--bogus'." },
        { ["record"], "flashwal: Required argument missing for command: 'record'." },
        { ["inspect", "{dir}", "extra"], "flashwal: Unrecognized command or argument 'extra'." },
        { ["verify", "{dir}", "--deep"], "flashwal: Unrecognized command or argument '--deep'." },
        { ["recover", "{dir}", "--from", "-1"], "flashwal: --from must not be negative." },
        { ["recover", "{dir}", "--from", "x"], "flashwal: --from 'x' is not a whole number" },
        { ["recover", "{dir}", "--mode", "lenient"], "flashwal: Argument 'lenient' not recognized. Must be one of:" },
        { ["dump", "{dir}", "--from", "-1"], "flashwal: --from must not be negative." },
        { ["dump", "{dir}", "--from", "abc"], "flashwal: --from 'abc' is not a whole number" },
        { ["dump", "{dir}", "--count", "0"], "flashwal: --count must be at least 1." },
        { ["dump", "{dir}", "--count", "-3"], "flashwal: --count must be at least 1." },
        { ["dump", "{dir}", "--follow", "--mode", "salvage"], "flashwal: --follow reads a live log, which ends at damage; --mode salvage is for a log at rest." },
        { ["repair", "{dir}", "--force"], "flashwal: Unrecognized command or argument '--force'." },
        { ["frobnicate"], "flashwal: Unrecognized command or argument 'frobnicate'." },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_option_exits_2_with_a_line_naming_it_and_changes_nothing(string[] args, string expected)
    {
        using var dir = new TempDirectory();
        string wal = Path.Combine(dir.Path, "wal");
        Assert.Equal(0, Run(["record", wal, "--events", "50", .. Small]).Code);
        var before = Snapshot(wal);
        var run = Run([.. args.Select(a => a == "{dir}" ? wal : a)]);
        Assert.Equal(2, run.Code);
        Assert.Equal("", run.Out);
        Assert.StartsWith("flashwal: ", run.Err, StringComparison.Ordinal);
        Assert.Contains(expected, run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", run.Err, StringComparison.Ordinal); // no .NET type names
        Assert.DoesNotContain("(Parameter '", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Actual value was", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Err, StringComparison.Ordinal); // no stack trace
        Assert.Equal(before, Snapshot(wal));
        Assert.Equal(["wal"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Dump_and_recover_from_0_start_at_the_first_event()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run(["record", dir.Path, "--events", "20", .. Small]).Code);
        var dump = Run("dump", dir.Path, "--from", "0", "--count", "1");
        Assert.Equal(0, dump.Code);
        Assert.StartsWith("id=1 ", dump.Out, StringComparison.Ordinal);
        var recover = Run("recover", dir.Path, "--from", "0");
        Assert.Equal(0, recover.Code);
        Assert.Contains("replayed 20 event(s), ids 1..20", recover.Out, StringComparison.Ordinal);
    }

    [SmallFileSystemFact]
    public void A_read_only_directory_refuses_record_and_repair_and_stays_readable()
    {
        using var disk = new SmallFileSystem("size=2m");
        string wal = Path.Combine(disk.Path, "wal");
        Assert.Equal(0, Run(["record", wal, "--events", "500", .. Small]).Code);
        disk.Remount("ro");
        var before = Snapshot(wal);

        var record = Run("record", wal, "--events", "10");
        Assert.Equal(2, record.Code);
        Assert.Equal("", record.Out);
        Assert.StartsWith($"flashwal: '{wal}' cannot be written: Read-only file system", record.Err, StringComparison.Ordinal);

        string fresh = Path.Combine(disk.Path, "new");
        var create = Run("record", fresh, "--events", "10");
        Assert.Equal(2, create.Code);
        Assert.StartsWith($"flashwal: '{fresh}' cannot be written: Read-only file system", create.Err, StringComparison.Ordinal);

        var repair = Run("repair", wal);
        Assert.Equal(2, repair.Code);
        Assert.Equal("", repair.Out);
        Assert.StartsWith($"flashwal: '{wal}' cannot be written: Read-only file system", repair.Err, StringComparison.Ordinal); // was "Cannot record into"
        Assert.Equal(0, Run("repair", wal, "--dry-run").Code); // a plan changes nothing: it needs no write

        Assert.Equal(0, Run("verify", wal).Code);
        Assert.Equal(0, Run("inspect", wal).Code);
        Assert.Equal(0, Run("recover", wal).Code);
        Assert.Equal(0, Run("dump", wal, "--count", "1").Code);
        Assert.Equal(before, Snapshot(wal));
        Assert.Equal(500, SegmentVerifier.Verify(wal).Events);
    }

    [SmallFileSystemFact]
    public void Record_on_a_full_disk_exits_2_and_says_which_events_are_committed()
    {
        using var disk = new SmallFileSystem("size=300k");
        string wal = Path.Combine(disk.Path, "wal");
        var record = Run("record", wal, "--events", "100000", "--segment-size", "72KiB", "--block-size", "4KiB", "--report-durable");
        Assert.Equal(2, record.Code);
        string[] lines = record.Err.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains("disk was full", lines[0], StringComparison.Ordinal);
        Assert.Contains(wal, lines[0], StringComparison.Ordinal);
        VerificationReport report = SegmentVerifier.Verify(wal);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.True(report.Events > 1000, $"{report.Events} events");
        Assert.Equal($"flashwal: recording stopped: events 1..{report.LastEventId} of this run are committed in {wal}, none after {report.LastEventId}; 'flashwal verify' checks them", lines[1]);
        Assert.DoesNotContain("recorded", record.Out, StringComparison.Ordinal); // no summary as if it had succeeded
        var before = Snapshot(wal);

        // No room for the next segment: the recorder cannot even open, and says so.
        var again = Run("record", wal, "--events", "100000", "--segment-size", "72KiB", "--block-size", "4KiB");
        Assert.Equal(2, again.Code);
        Assert.Equal("", again.Out);
        Assert.Contains("disk was full", again.Err, StringComparison.Ordinal);
        Assert.Single(again.Err.Trim().Split('\n'));
        Assert.Equal(before, Snapshot(wal));
        Assert.Equal(report.LastEventId, SegmentVerifier.Verify(wal).LastEventId);
        Assert.True(SegmentVerifier.Verify(wal).IsIntact);

        // A repair with nothing to do needs no room; one that has to write a fence fails, says so, and loses nothing more.
        Assert.Equal(0, Run("repair", wal).Code);
        (string damaged, _) = Wal.DamageBlock(wal, WalDirectory.List(wal).Segments[^1].Index, 0);
        var repair = Run("repair", wal);
        Assert.True(repair.Code == 2, repair.Out + repair.Err);
        Assert.Contains("FAILED", repair.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("REPAIRED", repair.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(damaged));
    }

    [Fact]
    public void Two_records_on_one_directory_the_second_refused_naming_the_first_process()
    {
        using var dir = new TempDirectory();
        using Process holder = StartRecorderChild(dir.Path, out long firstDurable);
        try
        {
            var before = Snapshot(dir.Path, withActive: false);
            foreach (string[] args in new[] { new[] { "record", dir.Path, "--events", "10" }, ["repair", dir.Path], ["repair", dir.Path, "--dry-run"] })
            {
                var run = Run(args);
                Assert.True(run.Code == 2, $"{string.Join(' ', args)}: {run.Code} {run.Out} {run.Err}");
                Assert.Equal("", run.Out);
                Assert.Equal($"flashwal: '{dir.Path}' is being written by another recorder (process {holder.Id}); only one recorder may write a WAL directory.", run.Err.Trim());
            }

            Assert.Equal(before, Snapshot(dir.Path, withActive: false));
        }
        finally
        {
            holder.Kill();
            holder.WaitForExit();
        }

        // The holder was killed: what it reported durable is there, and the directory is free again.
        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.True(report.LastEventId >= firstDurable, $"{report.LastEventId} < {firstDurable}");
        Assert.Equal(0, Run("record", dir.Path, "--events", "10").Code);
    }

    [UnprivilegedFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // the fact skips elsewhere than Linux
    public void Permission_denied_is_named_as_such_never_as_a_missing_path_or_an_intact_log()
    {
        using var dir = new TempDirectory();
        File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1ED); // 0755: nobody may look in, not write
        string closed = dir.Sub("closed");
        string wal = Path.Combine(closed, "wal");
        Assert.Equal(0, Run(["record", wal, "--events", "100", .. Small]).Code);
        File.SetUnixFileMode(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); // 0700, owned by root
        string open = Path.Combine(dir.Path, "open");
        Assert.Equal(0, Run(["record", open, "--events", "100", .. Small]).Code);
        foreach (string file in Directory.GetFiles(open))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead); // 0644
        }

        string secret = Path.Combine(dir.Path, "secret.wal");
        File.Copy(Wal.SegmentPath(open, 0), secret);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite); // 0600
        var closedBefore = Snapshot(closed);
        var openBefore = Snapshot(open);

        // Below a directory nobody may search: was "'…' does not exist.", which sends an operator looking for a deleted log.
        foreach (string command in new[] { "verify", "recover", "dump", "repair" }) // inspect reads through verify's code
        {
            var run = Unprivileged.Run(command, wal);
            Assert.True(run.Code == 2, $"{command}: {run.Code} {run.Out} {run.Err}");
            Assert.Equal("", run.Out);
            Assert.Equal($"flashwal: '{wal}' cannot be read: permission denied (Access to the path '{wal}' is denied.)", run.Err.Trim());
        }

        var recordBelow = Unprivileged.Run("record", wal, "--events", "1");
        Assert.Equal(2, recordBelow.Code);
        Assert.Equal($"flashwal: '{wal}' cannot be written: Access to the path '{wal}' is denied.", recordBelow.Err.Trim());

        // A log nobody may write: readers work, record and repair are refused naming the directory.
        Assert.Equal(0, Unprivileged.Run("verify", open).Code);
        foreach (string[] args in new[] { new[] { "record", open, "--events", "1" }, ["repair", open] })
        {
            var run = Unprivileged.Run(args);
            Assert.True(run.Code == 2, $"{args[0]}: {run.Code} {run.Out} {run.Err}");
            Assert.Equal("", run.Out);
            Assert.StartsWith($"flashwal: '{open}' cannot be written: Access to the path '{Path.Combine(open, DirectoryLock.LockFileName)}' is denied.", run.Err, StringComparison.Ordinal);
        }

        string fresh = Path.Combine(dir.Path, "fresh");
        var create = Unprivileged.Run("record", fresh, "--events", "1");
        Assert.Equal(2, create.Code);
        Assert.Equal($"flashwal: '{fresh}' cannot be written: Access to the path '{fresh}' is denied.", create.Err.Trim());
        Assert.False(Directory.Exists(fresh));

        // A segment nobody may read: not intact, and said why.
        var verify = Unprivileged.Run("verify", secret);
        Assert.Equal(2, verify.Code);
        Assert.DoesNotContain("intact", verify.Out, StringComparison.Ordinal);
        Assert.StartsWith("INCOMPLETE", verify.Out.Trim().Split('\n')[^1], StringComparison.Ordinal);
        Assert.Contains($"{secret}: error IoError: cannot read the file: Access to the path '{secret}' is denied.", verify.Out, StringComparison.Ordinal);
        var dump = Unprivileged.Run("dump", secret);
        Assert.Equal(2, dump.Code);
        Assert.Equal($"flashwal: '{secret}' cannot be read: permission denied (Access to the path '{secret}' is denied.)", dump.Err.Trim());
        Assert.Equal(closedBefore, Snapshot(closed));
        Assert.Equal(openBefore, Snapshot(open));
    }

    /// <summary>Sets the version field of a segment header and recomputes its CRC, so that only the version is wrong.</summary>
    internal static void SetVersion(string segment, int version)
    {
        using var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite);
        byte[] header = new byte[SegmentFormat.HeaderSize];
        file.ReadExactly(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)version);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(124), Crc32C.Compute(header.AsSpan(0, 124)));
        file.Position = 0;
        file.Write(header);
    }

    /// <summary>The files of a directory and their hashes, but the lock and owner files (the lock protocol rewrites them); with <paramref name="withActive"/> false, only closed segments' bytes.</summary>
    internal static SortedDictionary<string, string> Snapshot(string directory, bool withActive = true)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            string name = Path.GetRelativePath(directory, path);
            if (name is DirectoryLock.LockFileName or DirectoryLock.OwnerFileName)
            {
                continue;
            }

            files[name] = withActive ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))) : "";
        }

        return files;
    }

    /// <summary>Starts <c>flashwal record</c> on <paramref name="directory"/> as a child process and waits for its first durable report.</summary>
    internal static Process StartRecorderChild(string directory, out long firstDurable)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { Path.Combine(AppContext.BaseDirectory, "flashwal.dll"), "record", directory, "--events", "1000000000", "--duration", "60", "--rate", "2000", "--segment-size", "64KiB", "--block-size", "4KiB", "--report-durable" })
        {
            start.ArgumentList.Add(argument);
        }

        Process child = Process.Start(start)!;
        while (child.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith("durable ", StringComparison.Ordinal))
            {
                firstDurable = long.Parse(line[8..], System.Globalization.CultureInfo.InvariantCulture);
                return child;
            }
        }

        string error = child.StandardError.ReadToEnd();
        child.Dispose();
        throw new InvalidOperationException($"the recorder child ended before its first durable report: {error}");
    }
}
