using System.Text.RegularExpressions;
using FlashWal.Inspection;
using FlashWal.Tests.Cli;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// Issue 14, "a real-kernel check too": the model disks trust that the storage layer is the only way
/// bytes become durable and that the syncs it checks are the ones the kernel runs. Here the built
/// <c>flashwal record</c> runs as a child process under Debian's strace, which makes one real
/// <c>fsync</c>, <c>fdatasync</c> or <c>pwrite64</c> return EIO: the tool must exit 2 with one line naming
/// the failed call and the segment (its name, never the <c>.tmp</c> one it was created under) and the
/// recording-stopped line, must never have printed a <c>durable</c> id that needed the failed call,
/// and the directory must hold every id it did print, for <c>verify</c> and strict recovery alike.
/// </summary>
public class StraceFaultTests
{
    /// <summary>The repro: 256 KiB segments hold 2,928 events of 64 bytes, so it rotates six times.</summary>
    private static readonly string[] Record = ["record", "{dir}", "--durability", "commit", "--report-durable", "--segment-size", "256KiB", "--events", "20000"];

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    [StraceFact]
    public void EIO_from_the_fsync_closing_the_second_segment()
    {
        AssertStraceWorks();
        using var dir = new TempDirectory();
        string second = Wal.SegmentPath(dir.Path, 1);

        // -P: only calls on the second segment, under its name (so not its creation as ….wal.tmp);
        // the first fsync there is its close's (the commit flushes before are fdatasyncs).
        var run = Run(dir, ["-e", "trace=fsync", "-e", "inject=fsync:error=EIO:when=1", "-P", second], out string trace);

        AssertInjectedOnce(trace, $"fsync(", $"<{second}>");
        Assert.True(run.Code == 2, $"exit {run.Code}; stderr:\n{run.Err}");
        (_, long committed) = StoppedRecording.AssertStopped(run.Err, dir.Path,
            new Regex($"^flashwal: fsync of '{Regex.Escape(second)}' failed: Input/output error \\(errno 5\\); what it was to make durable may not be on stable storage, and is not reported durable\\.$"));

        // Nothing after segment 1 was reported durable (every later flush waits for its close), and of
        // segment 1 only what its commit flushes covered (up to 5000, a commit every 1000 events): its
        // last events were only ever in the close that failed.
        List<long> durable = StoppedRecording.DurableIds(run.Out);
        long lastOfSecond = SegmentScanner.ScanFile(second).LastEventId;
        Assert.NotEmpty(durable);
        Assert.True(durable[^1] < lastOfSecond, $"'durable {durable[^1]}' printed, but the fsync of segment 1 (events up to {lastOfSecond}) failed");
        AssertSyncFailureLeftCommittedNotDurable(durable[^1], committed);
        AssertLogHolds(dir.Path, durable[^1], committed);
    }

    [StraceFact]
    public void EIO_from_the_first_fdatasync_of_the_second_segment()
    {
        AssertStraceWorks();

        // Count, in a run without a fault, the fdatasyncs (commit flushes, on the writer thread) before
        // the first segment's close (its fsync), which the next commit flush waits for; the next
        // fdatasync is the second segment's first.
        int before;
        using (var counting = new TempDirectory())
        {
            var clean = Run(counting, ["-e", "trace=fsync,fdatasync"], out string observed);
            Assert.True(clean.Code == 0, clean.Err);
            string first = $"<{Wal.SegmentPath(counting.Path, 0)}>";
            string[] calls = observed.Split('\n');
            int close = Array.FindIndex(calls, l => l.Contains(" fsync(", StringComparison.Ordinal) && l.Contains(first, StringComparison.Ordinal));
            Assert.True(close > 0, $"no fsync of {first} in the trace:\n{observed}");
            before = calls.Take(close).Count(l => l.Contains(" fdatasync(", StringComparison.Ordinal));
        }

        using var dir = new TempDirectory();
        var run = Run(dir, ["-e", "trace=fdatasync", "-e", $"inject=fdatasync:error=EIO:when={before + 1}"], out string trace);

        AssertInjectedOnce(trace, "fdatasync(", null);
        Assert.True(run.Code == 2, $"exit {run.Code}; stderr:\n{run.Err}");
        string second = Wal.SegmentPath(dir.Path, 1);
        (_, long committed) = StoppedRecording.AssertStopped(run.Err, dir.Path,
            new Regex($"^flashwal: fdatasync of '{Regex.Escape(second)}' failed: Input/output error \\(errno 5\\); what it was to make durable may not be on stable storage, and is not reported durable\\.$"));

        // The first segment's close was the last good sync: nothing of the second was reported durable.
        List<long> durable = StoppedRecording.DurableIds(run.Out);
        long lastOfFirst = SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 0)).LastEventId;
        Assert.NotEmpty(durable);
        Assert.True(durable[^1] <= lastOfFirst, $"'durable {durable[^1]}' printed, but the first flush of segment 1 (after event {lastOfFirst}) failed");
        AssertSyncFailureLeftCommittedNotDurable(durable[^1], committed);
        AssertLogHolds(dir.Path, durable[^1], committed);
    }

    [StraceFact]
    public void EIO_from_the_flushers_first_block_write_into_the_second_segment_stops_recording_before_it()
    {
        AssertStraceWorks();
        using var dir = new TempDirectory();
        string second = Wal.SegmentPath(dir.Path, 1);

        // The first write under the segment's name is its first block's (all but the magic), by the
        // flusher or by a commit on the writer thread: either way the recorder stops, and nothing of
        // segment 1 is committed, let alone durable. The stream was opened as ….wal.tmp and renamed:
        // .NET's own error names the old name, the message must name the segment. (strace counts calls
        // per thread, so a later write, such as the close's summary, cannot be picked out from the
        // flusher's; RecordSyncFailureTests fails the summary in-process.)
        var run = Run(dir, ["-e", "trace=pwrite64", "-e", "inject=pwrite64:error=EIO:when=1", "-P", second], out string trace);

        AssertInjectedOnce(trace, "pwrite64(", $"<{second}>");
        Assert.True(run.Code == 2, $"exit {run.Code}; stderr:\n{run.Err}");
        (_, long committed) = StoppedRecording.AssertStopped(run.Err, dir.Path,
            new Regex($"^flashwal: Writing \\d+ bytes at offset 4100 of '{Regex.Escape(second)}' failed: Input/output error$"));
        long lastOfFirst = SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 0)).LastEventId;
        Assert.Equal(lastOfFirst, committed); // what the message says is committed: segment 0, all of it
        List<long> durable = StoppedRecording.DurableIds(run.Out);
        Assert.True(durable.Count == 0 || durable[^1] <= lastOfFirst, $"'durable {durable[^1]}' printed past segment 0 (events up to {lastOfFirst})");
        AssertLogHolds(dir.Path, durable.Count == 0 ? 0 : durable[^1], committed);
    }

    /// <summary>The failed sync covered committed events: they must not have been reported durable.</summary>
    private static void AssertSyncFailureLeftCommittedNotDurable(long durable, long committed) =>
        Assert.True(durable < committed, $"durable {durable}, committed {committed}: the failed sync covered committed events, which must not be reported durable");

    /// <summary>Fails (never skips) where strace is installed but cannot inject: the check would prove nothing.</summary>
    private static void AssertStraceWorks()
    {
        string? problem = Strace.CannotInject();
        Assert.True(problem is null, problem);
    }

    private static (int Code, string Out, string Err) Run(TempDirectory dir, string[] strace, out string trace)
    {
        string traceFile = dir.Path + ".strace";
        try
        {
            var run = Strace.RunTool(["-f", "-y", "-qq", .. strace], traceFile, Record.Select(a => a == "{dir}" ? dir.Path : a), Limit);
            trace = File.ReadAllText(traceFile);
            return run;
        }
        finally
        {
            File.Delete(traceFile);
        }
    }

    /// <summary>strace failed exactly one call, <paramref name="call"/> (on <paramref name="file"/> when given, as <c>-y</c> prints it).</summary>
    private static void AssertInjectedOnce(string trace, string call, string? file)
    {
        string[] injected = [.. trace.Split('\n').Where(l => l.Contains("(INJECTED)", StringComparison.Ordinal))];
        Assert.True(injected.Length == 1, $"one injected failure, not {injected.Length}:\n{trace}");
        Assert.Contains(call, injected[0], StringComparison.Ordinal);
        Assert.Contains("EIO", injected[0], StringComparison.Ordinal);
        if (file is not null)
        {
            Assert.Contains(file, injected[0], StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The directory the stopped recorder left (as a crash leaves it) verifies, and strict recovery
    /// replays every event from 1 up to the last committed one, each with its payload: so every id
    /// reported durable, up to <paramref name="durable"/>, is there. The next record continues it.
    /// </summary>
    /// <remarks>A failed sync covered committed events, so there <paramref name="durable"/> must be below
    /// <paramref name="committed"/> (<see cref="AssertSyncFailureLeftCommittedNotDurable"/>); a failed
    /// block write covered events never committed, and everything committed may be durable by then
    /// (the first segment's close can finish before the write into the second fails).</remarks>
    private static void AssertLogHolds(string directory, long durable, long committed)
    {
        Assert.True(durable <= committed, $"durable {durable} above committed {committed}");
        var verify = CliTests.Run("verify", directory);
        Assert.True(verify.Code == 0, verify.Out + verify.Err);
        long last = StoppedRecording.ReplayStrict(directory);
        Assert.True(last >= durable, $"the log ends at {last}, but 'durable {durable}' was printed");
        Assert.Equal(committed, last);

        var next = CliTests.Run("record", directory, "--events", "10", "--segment-size", "256KiB");
        Assert.True(next.Code == 0, next.Err);
        Assert.Contains($"ids {last + 1}..{last + 10}", next.Out, StringComparison.Ordinal);
    }
}
