using System.Globalization;
using System.Text.RegularExpressions;
using FlashWal.Cli;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Cli;

/// <summary>
/// Issue 14, item 8: <c>flashwal record</c> whose recorder stops because a sync failed, on whichever
/// thread notices it (the writer's append or commit, the durable reporter's wait, the final close):
/// one error line naming the failed sync and the segment, then where recording stopped, exit 2; no
/// stack trace, no hang, and no <c>durable</c> line past what really was durable. The tool runs
/// in-process on a disk whose chosen syncs fail with EIO (the real-kernel check is
/// <c>Durability/StraceFaultTests</c>).
/// </summary>
public class RecordSyncFailureTests
{
    private static readonly string[] Small = ["--segment-size", "128KiB", "--block-size", "4KiB"];

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 0)]
    [InlineData(true, 20_000)]
    [InlineData(false, 20_000)]
    public void A_failed_fsync_closing_a_segment_stops_record_with_one_line_and_exit_2(bool reportDurable, int rate)
    {
        using var dir = new TempDirectory();
        string second = Wal.SegmentPath(dir.Path, 1);
        var disk = new FailingDisk((operation, path) => operation == "fsync" && path == second);
        string[] args = ["record", dir.Path, "--events", "20000", "--durability", "commit", "--commit-every", "100", "--rate", rate.ToString(CultureInfo.InvariantCulture), .. Small];
        var run = Run(disk, reportDurable ? [.. args, "--report-durable"] : args);

        Assert.Equal(2, run.Code);
        (_, long committed) = StoppedRecording.AssertStopped(run.Err, dir.Path,
            new Regex($"^flashwal: fsync of '{Regex.Escape(second)}' failed: Input/output error \\(errno 5\\); what it was to make durable may not be on stable storage, and is not reported durable\\.$"));
        Assert.Equal(1, disk.Failures); // never retried

        // Nothing after segment 1 was reported durable: every later flush waits for its close, which
        // failed. Within it, only what its commit flushes (fdatasyncs that succeeded) covered: flat out they
        // stop short of its end (a commit every 100 events), so only the failed close could have
        // claimed its last events; paced, a commit flush may well have covered the whole segment.
        long lastOfSecond = SegmentScanner.ScanFile(second).LastEventId;
        List<long> durable = StoppedRecording.DurableIds(run.Out);
        if (reportDurable)
        {
            Assert.NotEmpty(durable); // the first segment's close, at least
            Assert.True(durable[^1] <= lastOfSecond, $"durable {durable[^1]} reported, after segment 1 (up to {lastOfSecond}) whose close failed");
            Assert.True(rate > 0 || durable[^1] < lastOfSecond, $"durable {durable[^1]} reported, but segment 1's last events (up to {lastOfSecond}) were only ever in its failed close");
            Assert.True(durable[^1] < committed, $"durable {durable[^1]}, committed {committed}");
        }
        else
        {
            Assert.Empty(durable);
        }

        // The files are as a crash leaves them, and hold every committed event; the next record continues.
        Assert.Equal(committed, StoppedRecording.ReplayStrict(dir.Path));
        AssertContinues(dir.Path, committed);
    }

    [Fact]
    public void A_failed_fdatasync_of_the_interval_flush_stops_a_paced_record_noticed_by_the_writer_and_the_reporter()
    {
        using var dir = new TempDirectory();
        int fdatasyncs = 0;
        string? failed = null;
        var disk = new FailingDisk((operation, path) =>
        {
            if (operation != "fdatasync" || Interlocked.Increment(ref fdatasyncs) != 5)
            {
                return false;
            }

            failed = path;
            return true;
        });
        var run = Run(disk, ["record", dir.Path, "--events", "1000000", "--duration", "30", "--rate", "50000", "--durability", "interval", "--sync-interval", "1", "--report-durable", .. Small]);

        Assert.Equal(2, run.Code);
        Assert.NotNull(failed);
        (_, long committed) = StoppedRecording.AssertStopped(run.Err, dir.Path,
            new Regex($"^flashwal: fdatasync of '{Regex.Escape(failed)}' failed: Input/output error \\(errno 5\\); "));
        Assert.Equal(1, disk.Failures);
        List<long> durable = StoppedRecording.DurableIds(run.Out);
        Assert.NotEmpty(durable); // four interval flushes succeeded
        Assert.True(durable[^1] < committed, $"durable {durable[^1]}, committed {committed}: the failed flush covered events it never made durable");
        Assert.Equal(committed, StoppedRecording.ReplayStrict(dir.Path));
        AssertContinues(dir.Path, committed);
    }

    [Fact]
    public void A_failed_fdatasync_of_the_final_close_is_reported_once_and_nothing_is_reported_durable()
    {
        using var dir = new TempDirectory();
        var disk = new FailingDisk((operation, _) => operation == "fdatasync");
        // No flush before the end under 'none': the close's flush is the first fdatasync, and it fails.
        var run = Run(disk, ["record", dir.Path, "--events", "500", "--durability", "none", "--report-durable", .. Small]);

        Assert.Equal(2, run.Code);
        (_, long committed) = StoppedRecording.AssertStopped(run.Err, dir.Path,
            new Regex($"^flashwal: fdatasync of '{Regex.Escape(Wal.SegmentPath(dir.Path, 0))}' failed: Input/output error \\(errno 5\\); "));
        Assert.Equal(500, committed);
        Assert.Equal(1, disk.Failures);
        Assert.Empty(StoppedRecording.DurableIds(run.Out)); // no durable line, no summary claiming "durable up to"
        Assert.Equal(500, StoppedRecording.ReplayStrict(dir.Path));
        AssertContinues(dir.Path, 500);
    }

    [Fact]
    public void A_failed_summary_write_closing_the_second_segment_names_the_segment_not_its_temporary_name()
    {
        using var dir = new TempDirectory();
        string second = Wal.SegmentPath(dir.Path, 1);
        var disk = new FailingDisk((_, _) => false)
        {
            // The summary: 64 bytes at 512, into the stream opened as ….wal.tmp.
            FailsWrite = (file, offset, length) => file.Name == second + SegmentFileName.TemporarySuffix && offset == SegmentFormat.SummaryOffset && length == SegmentFormat.SummarySize,
        };
        var run = Run(disk, ["record", dir.Path, "--events", "20000", "--durability", "commit", "--report-durable", .. Small]);

        Assert.Equal(2, run.Code);
        (_, long committed) = StoppedRecording.AssertStopped(run.Err, dir.Path,
            new Regex($"^flashwal: Writing 64 bytes at offset 512 of '{Regex.Escape(second)}' failed: Input/output error$"));
        Assert.Equal(1, disk.Failures);
        List<long> durable = StoppedRecording.DurableIds(run.Out);
        long lastOfSecond = SegmentScanner.ScanFile(second).LastEventId;
        Assert.True(durable[^1] < lastOfSecond, $"'durable {durable[^1]}' printed, but segment 1 (events up to {lastOfSecond}) was never closed");
        Assert.Equal(committed, StoppedRecording.ReplayStrict(dir.Path));
        AssertContinues(dir.Path, committed);
    }

    /// <summary>Runs the tool in-process with <paramref name="disk"/> under its recorder; fails instead of hanging.</summary>
    private static (int Code, string Out, string Err) Run(FailingDisk disk, string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        Task<int> run = Task.Run(() => Program.Run(args, output, error, options => options with { Disk = disk }, CancellationToken.None));
        Assert.True(run.Wait(TimeSpan.FromSeconds(60)), $"flashwal {string.Join(' ', args)} did not end within 60 s after a failed sync; stderr so far:\n{error}");
        return (run.Result, output.ToString(), error.ToString());
    }

    /// <summary>A recorder on the real disk continues the log the stopped one left, after <paramref name="last"/>.</summary>
    private static void AssertContinues(string directory, long last)
    {
        var next = CliTests.Run(["record", directory, "--events", "100", .. Small]);
        Assert.True(next.Code == 0, next.Err);
        Assert.Contains($"ids {last + 1}..{last + 100}", next.Out, StringComparison.Ordinal);
        Assert.Equal(last + 100, StoppedRecording.ReplayStrict(directory));
    }
}
