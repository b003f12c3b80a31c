using System.Diagnostics;
using System.Globalization;
using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Tests.Cli;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Replication;

/// <summary>
/// Replication as an operator runs it, through <c>flashwal</c> (issue 17): a log recorded with
/// <c>--replicate-to</c> while the stream's leader is killed restores byte for byte for every closed
/// segment; when the recording machine is lost (the recorder's process killed, its disk never read
/// again), every id up to the last <c>replicated &lt;id&gt;</c> it printed is in the restored log.
/// </summary>
[Collection(NatsClusters.Name)]
public sealed class ReplicateCliTests
{
    [NatsClusterFact]
    public void A_log_recorded_with_replicate_to_while_the_leader_is_killed_restores_byte_for_byte()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        string wal = Path.Combine(dir.Path, "wal");
        string copy = Path.Combine(dir.Path, "restored");
        (int Code, string Out, string Err) record = default;
        var recording = new Thread(() => record = CliTests.Run("record", wal, "--events", "300000", "--rate", "100000", "--segment-size", "1MiB",
            "--block-size", "16KiB", "--replicate-to", cluster.Urls));
        recording.Start();
        string stream = ReplicationOptionsFor(wal);
        Thread.Sleep(1000);
        cluster.StreamLeader(stream).Kill();
        recording.Join();

        Assert.True(record.Code == 0, record.Err + record.Out);
        long lastReplicated = Replicated(record.Out!).Max();
        Assert.Equal(300_000, lastReplicated);
        Assert.Contains("replication Finished: replicated up to 300000", record.Out, StringComparison.Ordinal);

        var restore = CliTests.Run("restore", cluster.Urls, copy);
        Assert.True(restore.Code == 0, restore.Err + restore.Out);
        Assert.Contains("intact:", restore.Out, StringComparison.Ordinal);
        ShipAndRestoreTests.AssertSameSegments(wal, copy);
        ShipAndRestoreTests.AssertSameEvents(wal, copy);

        // The same events, read straight from the stream by dump, as dump prints them from the files.
        var remote = CliTests.Run("dump", cluster.Urls, "--from", "299998");
        var local = CliTests.Run("dump", wal, "--from", "299998");
        Assert.True(remote.Code == 0, remote.Err);
        Assert.Equal(3, remote.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(local.Out, remote.Out);
        var follow = CliTests.Run("dump", cluster.Urls, "--follow");
        Assert.Equal(2, follow.Code);
        Assert.Contains("read at rest and strictly", follow.Err, StringComparison.Ordinal);
    }

    [NatsClusterFact]
    public void After_the_recording_machine_is_lost_every_id_printed_as_replicated_is_restored()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        string wal = Path.Combine(dir.Path, "wal");
        string copy = Path.Combine(dir.Path, "restored");
        ProcessStartInfo start = Flashwal("record", wal, "--events", "100000000", "--rate", "100000",
            "--segment-size", "1MiB", "--block-size", "16KiB", "--replicate-to", cluster.Urls);

        var printed = new List<long>();
        using (Process recorder = Process.Start(start)!)
        {
            recorder.ErrorDataReceived += (_, _) => { };
            recorder.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(60) && recorder.StandardOutput.ReadLine() is { } line)
            {
                if (line.StartsWith("replicated ", StringComparison.Ordinal))
                {
                    printed.Add(long.Parse(line["replicated ".Length..], CultureInfo.InvariantCulture));
                    if (printed[^1] > 200_000)
                    {
                        break;
                    }
                }
            }

            recorder.Kill(); // the machine is gone: nothing of its disk is read again
            recorder.WaitForExit();
        }

        Assert.True(printed.Count > 0 && printed[^1] > 200_000, $"printed: {string.Join(' ', printed.TakeLast(5))}");
        long promised = printed[^1];
        var restore = CliTests.Run("restore", cluster.Urls, copy);
        Assert.True(restore.Code == 0, restore.Err + restore.Out);
        long expected = 1;
        using (var reader = FlashWal.Recovery.WalEventReader.Open(copy))
        {
            while (reader.TryReadNext(out WalEvent e))
            {
                Assert.Equal(expected++, e.EventId); // every id, once, in order
            }
        }

        Assert.True(expected - 1 >= promised, $"the restored log ends at {expected - 1}; {promised} was printed as replicated");
        foreach ((long index, string path) in WalDirectory.List(copy).Segments.Where(s => SegmentFile.ReadSummary(s.Path) is not null))
        {
            Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(wal, Path.GetFileName(path)))), $"closed segment {index} differs");
        }
    }

    [NatsClusterFact]
    public void A_replicate_process_killed_mid_run_is_started_again_and_resumes_from_the_stream()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        string wal = Path.Combine(dir.Path, "wal");
        string copy = Path.Combine(dir.Path, "restored");
        var record = CliTests.Run("record", wal, "--events", "1500000", "--segment-size", "4MiB", "--payload-size", "200");
        Assert.True(record.Code == 0, record.Err);

        // A shipper process, SIGKILLed once it has printed a replicated id: whatever it had in flight is lost with it.
        ProcessStartInfo start = Flashwal("replicate", wal, "--to", cluster.Urls);

        long killedAt = 0;
        var said = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using (Process shipper = Process.Start(start)!)
        {
            shipper.ErrorDataReceived += (_, e) => said.Enqueue(e.Data ?? "");
            shipper.BeginErrorReadLine();
            while (shipper.StandardOutput.ReadLine() is { } line)
            {
                if (line.StartsWith("replicated ", StringComparison.Ordinal))
                {
                    killedAt = long.Parse(line["replicated ".Length..], CultureInfo.InvariantCulture);
                    break;
                }
            }

            shipper.Kill();
            shipper.WaitForExit();
        }

        Assert.True(killedAt is > 0 and < 1_500_000, $"killed at {killedAt}, not mid-run; the shipper said: {string.Join(" | ", said)}");
        var again = CliTests.Run("replicate", wal, "--to", cluster.Urls);
        Assert.True(again.Code == 0, again.Err + again.Out);
        long resumedFrom = long.Parse(again.Out.Split('\n')[0].Split("from event ")[1].Trim(), CultureInfo.InvariantCulture);
        Assert.True(resumedFrom > killedAt, $"resumed from {resumedFrom}, but {killedAt} was replicated before the kill"); // from the stream, not from the start
        Assert.Contains("Finished: replicated up to 1500000", again.Out, StringComparison.Ordinal);

        var restore = CliTests.Run("restore", cluster.Urls, copy);
        Assert.True(restore.Code == 0, restore.Err + restore.Out);
        ShipAndRestoreTests.AssertSameSegments(wal, copy, // nothing lost, nothing twice: every segment byte for byte
            () => $"\nKilled at {killedAt}; the second run said: {again.Out}\nThe restore said: {restore.Out}{ShipAndRestoreTests.DescribeStream(cluster.Urls)}");
    }

    [NatsClusterFact]
    public void Replicate_follow_ships_what_a_later_recorder_adds_until_it_is_stopped()
    {
        using NatsCluster cluster = NatsCluster.Start();
        using var dir = new TempDirectory();
        string wal = Path.Combine(dir.Path, "wal");
        Assert.Equal(0, CliTests.Run("record", wal, "--events", "20000", "--segment-size", "1MiB").Code);
        using var lines = new LineWriter();
        using var stop = new CancellationTokenSource();
        int code = -1;
        using var error = new StringWriter();
        var following = new Thread(() => code = FlashWal.Cli.Program.Run(["replicate", wal, "--to", cluster.Urls, "--follow"], lines, error, stop.Token));
        following.Start();
        Assert.True(lines.WaitFor("replicated 20000", TimeSpan.FromSeconds(60)), lines.ToString());

        Assert.Equal(0, CliTests.Run("record", wal, "--events", "30000", "--segment-size", "1MiB").Code); // a later recorder continues the log
        Assert.True(lines.WaitFor("replicated 50000", TimeSpan.FromSeconds(60)), lines.ToString() + error);
        stop.Cancel();
        Assert.True(following.Join(TimeSpan.FromSeconds(30)));
        Assert.True(code == 0, error.ToString());

        string copy = Path.Combine(dir.Path, "restored");
        Assert.Equal(0, CliTests.Run("restore", cluster.Urls, copy).Code);
        ShipAndRestoreTests.AssertSameSegments(wal, copy);
    }

    /// <summary>A writer whose lines a test can wait for while another thread writes them.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly System.Text.StringBuilder _text = new();

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_text)
            {
                _text.Append(value);
                Monitor.PulseAll(_text);
            }
        }

        public bool WaitFor(string line, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            lock (_text)
            {
                while (!_text.ToString().Split('\n').Any(l => l.TrimEnd('\r') == line))
                {
                    TimeSpan left = timeout - clock.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        return false;
                    }

                    Monitor.Wait(_text, left);
                }
            }

            return true;
        }

        public override string ToString()
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    /// <summary>A <c>flashwal</c> child process with these arguments, its output redirected: a process the test can SIGKILL.</summary>
    private static ProcessStartInfo Flashwal(params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "flashwal.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>The default stream of the log that appears in <paramref name="wal"/> (waits for its first segment).</summary>
    private static string ReplicationOptionsFor(string wal)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (Directory.Exists(wal) && WalDirectory.List(wal).Segments is [var first, ..])
            {
                return FlashWal.Replication.ReplicationOptions.StreamFor(SegmentHeader.Read(SegmentFrame.ReadHeader(wal, first.Index)).LogId);
            }

            Thread.Sleep(10);
        }

        throw new TimeoutException($"no segment appeared in {wal}");
    }

    private static IEnumerable<long> Replicated(string output) =>
        output.Split('\n').Where(l => l.StartsWith("replicated ", StringComparison.Ordinal) && !l.StartsWith("replicated up", StringComparison.Ordinal))
            .Select(l => long.Parse(l["replicated ".Length..].Trim(), CultureInfo.InvariantCulture));
}
