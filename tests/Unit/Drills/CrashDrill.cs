using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FlashWal.Cli;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;

namespace FlashWal.Tests.Drills;

/// <summary>One child configuration: a durability policy and the options that make rotations, closes, retention and compression frequent.</summary>
public sealed record DrillConfig(string Durability, string SegmentSize, string BlockSize, int PayloadSize, int CommitEvery, int? KeepSegments, int? CompressAfter, bool NoPreparer)
{
    public bool HasRetention => KeepSegments is not null;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"--durability {Durability} --segment-size {SegmentSize} --block-size {BlockSize} --payload-size {PayloadSize} --commit-every {CommitEvery}{(KeepSegments is { } k ? $" --keep-segments {k}" : "")}{(CompressAfter is { } c ? $" --compress-after {c}" : "")}{(NoPreparer ? " --no-preparer" : "")}");
}

/// <summary>What a drill did: the numbers RELIABILITY.md quotes.</summary>
public sealed class DrillTally
{
    public int Seed { get; init; }

    public int Kills { get; set; }

    public int Directories { get; set; }

    public long EventsChecked { get; set; }

    public long DurableEventsChecked { get; set; }

    public int Losses { get; set; }

    public int TornTails { get; set; }

    public int KilledBeforeFirstReport { get; set; }

    public int KilledMidCompression { get; set; }

    public int PreparedSegmentsLeft { get; set; }

    public int Reopens { get; set; }

    public int CheckpointsChecked { get; set; }

    public int ClosedSegmentsHashed { get; set; }

    public SortedDictionary<string, int> KillsByDurability { get; } = new(StringComparer.Ordinal);

    public TimeSpan Elapsed { get; set; }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"seed {Seed}");
        text.AppendLine(CultureInfo.InvariantCulture, $"kills {Kills} (SIGKILL), directories {Directories}, elapsed {Elapsed.TotalSeconds:F1} s");
        text.AppendLine(CultureInfo.InvariantCulture, $"kills by durability: {string.Join(", ", KillsByDurability.Select(p => $"{p.Key} {p.Value}"))}");
        text.AppendLine(CultureInfo.InvariantCulture, $"events checked (id, order, exact payload, summed over every kill's recovery): {EventsChecked}");
        text.AppendLine(CultureInfo.InvariantCulture, $"events at or below the reported durable watermark checked: {DurableEventsChecked}");
        text.AppendLine(CultureInfo.InvariantCulture, $"losses found (a reported-durable id missing or wrong, a gap, damage, a rewritten closed segment, an id not continued): {Losses}");
        text.AppendLine(CultureInfo.InvariantCulture, $"kills that left a torn tail: {TornTails}; before the first durable report: {KilledBeforeFirstReport}; with a segment both compressed and not: {KilledMidCompression}; with prepared segments left: {PreparedSegmentsLeft}");
        text.AppendLine(CultureInfo.InvariantCulture, $"in-process recorder reopens (ids continue at last + 1): {Reopens}; closed segments hashed and found unchanged after a restart: {ClosedSegmentsHashed}; checkpoints (wal.meta) checked against the segments: {CheckpointsChecked}");
        return text.ToString();
    }
}

/// <summary>
/// The crash drill: starts <c>flashwal record --report-durable</c> in a child process, SIGKILLs it at a
/// random moment, and checks what survived against what the child reported durable; then restarts
/// the recorder on the same directory (the next child, and an in-process recorder at the end of each
/// directory) and checks the ids continue with no gap and no closed byte rewritten.
/// </summary>
public sealed class CrashDrill
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _root;
    private readonly Random _random;
    private readonly Action<string> _log;
    private readonly string _cli;
    private readonly Stopwatch _clock = new();

    public CrashDrill(string root, int seed, Action<string> log)
    {
        _root = root;
        _random = new Random(seed);
        _log = log;
        _cli = Path.Combine(AppContext.BaseDirectory, "flashwal.dll");
        Tally = new DrillTally { Seed = seed };
    }

    public DrillTally Tally { get; }

    /// <summary>Called after each directory with the tally so far (the long set writes it to its results file).</summary>
    public Action<DrillTally>? Progress { get; init; }

    /// <summary>Kills per directory before a fresh one; the recorder is restarted on the same directory between kills.</summary>
    public int KillsPerDirectory { get; init; } = 3;

    /// <summary>The longest random delay between starting a child and killing it.</summary>
    public int MaxKillDelayMs { get; init; } = 1500;

    public static readonly DrillConfig[] Configs =
    [
        new("commit", "256KiB", "4KiB", 64, 1, null, null, false),
        new("interval", "512KiB", "16KiB", 200, 7, null, null, false),
        new("none", "256KiB", "4KiB", 64, 100, null, null, false),
        new("commit", "256KiB", "4KiB", 100, 13, 6, 2, false),
        new("interval", "1MiB", "64KiB", 1024, 50, 8, null, false),
        new("none", "512KiB", "16KiB", 64, 7, null, 2, false),
        new("interval", "256KiB", "4KiB", 64, 3, 10, 3, true),
        new("commit", "1MiB", "16KiB", 333, 1000, null, 1, false),
        new("none", "256KiB", "4KiB", 200, 1, 5, 1, true),
    ];

    public void Run(int kills)
    {
        if (!File.Exists(_cli))
        {
            throw new InvalidOperationException($"{_cli} is missing");
        }

        _clock.Restart();
        int directory = 0;
        try
        {
            RunDirectories(kills, ref directory);
        }
        finally
        {
            Tally.Elapsed = _clock.Elapsed;
        }
    }

    private void RunDirectories(int kills, ref int directory)
    {
        while (Tally.Kills < kills)
        {
            DrillConfig config = Configs[directory % Configs.Length];
            string wal = Path.Combine(_root, string.Create(CultureInfo.InvariantCulture, $"wal{directory:D4}"));
            Directory.CreateDirectory(wal);
            int here = Math.Min(KillsPerDirectory, kills - Tally.Kills);
            RunDirectory(wal, config, here);
            Tally.Directories++;
            directory++;
            Tally.Elapsed = _clock.Elapsed;
            Progress?.Invoke(Tally);
            Directory.Delete(wal, recursive: true);
        }
    }

    private void RunDirectory(string wal, DrillConfig config, int kills)
    {
        long lastId = 0; // the last id recovered after the previous kill: the next recorder must continue at lastId + 1
        Dictionary<string, string> closed = new(StringComparer.Ordinal);
        for (int k = 0; k < kills; k++)
        {
            int delay = _random.Next(0, MaxKillDelayMs + 1);
            string where = string.Create(CultureInfo.InvariantCulture, $"seed {Tally.Seed}, kill {Tally.Kills + 1} (directory {Tally.Directories}, kill {k + 1} there, after {delay} ms), {config}");
            long durable = KillChild(wal, config, delay, where);
            Tally.Kills++;
            Tally.KillsByDurability[config.Durability] = Tally.KillsByDurability.GetValueOrDefault(config.Durability) + 1;
            if (durable <= 0)
            {
                Tally.KilledBeforeFirstReport++;
            }

            lastId = Check(wal, config, durable, lastId, closed, where, closedAfterwards: false);
        }

        // The end of the directory: a recorder in this process opens the crash state, continues at lastId + 1, and closes cleanly.
        string final = string.Create(CultureInfo.InvariantCulture, $"seed {Tally.Seed}, reopen after kill {Tally.Kills} (directory {Tally.Directories}), {config}");
        var options = new WalRecorderOptions
        {
            SegmentSize = ParseSize(config.SegmentSize),
            BlockSize = (int)ParseSize(config.BlockSize),
            Durability = DurabilityPolicy.EveryCommit,
        };
        long appended;
        using (WalRecorder recorder = WalRecorder.Open(wal, options))
        {
            Expect(recorder.LastEventId == lastId, final, $"the reopened recorder's last id is {recorder.LastEventId}, recovery's was {lastId}");
            byte[] payload = new byte[config.PayloadSize];
            appended = 0;
            for (int i = 0; i < 100; i++)
            {
                long next = recorder.LastEventId + 1;
                SyntheticEvents.Fill(next, payload);
                long id = recorder.Append(payload, SyntheticEvents.Type);
                Expect(id == lastId + 1 + i, final, $"append {i} got id {id}, expected {lastId + 1 + i}");
                appended++;
            }

            recorder.Commit();
        }

        Tally.Reopens++;
        Check(wal, config, lastId + appended, lastId, closed, final, closedAfterwards: true);
    }

    private long KillChild(string wal, DrillConfig config, int delayMs, string where)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var arguments = new List<string>
        {
            _cli, "record", wal, "--events", "1000000000", "--duration", "120", "--rate", "200000",
            "--segment-size", config.SegmentSize, "--block-size", config.BlockSize, "--payload-size", config.PayloadSize.ToString(CultureInfo.InvariantCulture),
            "--durability", config.Durability, "--sync-interval", "5", "--commit-every", config.CommitEvery.ToString(CultureInfo.InvariantCulture), "--report-durable",
        };
        if (config.KeepSegments is { } keep)
        {
            arguments.AddRange(["--keep-segments", keep.ToString(CultureInfo.InvariantCulture)]);
        }

        if (config.CompressAfter is { } compress)
        {
            arguments.AddRange(["--compress-after", compress.ToString(CultureInfo.InvariantCulture)]);
        }

        if (config.NoPreparer)
        {
            arguments.Add("--no-preparer");
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        long durable = 0;
        var errors = new ConcurrentQueue<string>();
        using Process child = Process.Start(start) ?? throw new InvalidOperationException("the recorder did not start");
        try
        {
            // Dedicated threads: the watermark must be read as the child prints it, whatever the thread pool does.
            var outputReader = new Thread(() =>
            {
                while (child.StandardOutput.ReadLine() is { } text)
                {
                    if (text.StartsWith("note: ", StringComparison.Ordinal) && (text.Contains(": damage ", StringComparison.Ordinal) || text.Contains(": error ", StringComparison.Ordinal)))
                    {
                        errors.Enqueue($"the recorder's open found: {text}");
                    }

                    if (text.StartsWith("durable ", StringComparison.Ordinal)
                        && long.TryParse(text.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out long id))
                    {
                        long before = Interlocked.Exchange(ref durable, id);
                        if (id <= before)
                        {
                            errors.Enqueue($"the durable watermark went from {before} to {id}");
                        }
                    }
                }
            }) { IsBackground = true };
            var errorReader = new Thread(() =>
            {
                while (child.StandardError.ReadLine() is { } text)
                {
                    errors.Enqueue(text);
                }
            }) { IsBackground = true };
            outputReader.Start();
            errorReader.Start();
            bool exited = child.WaitForExit(delayMs);
            Expect(!exited, where, $"the recorder exited by itself with {(exited ? child.ExitCode : 0)}: {string.Join("\n", errors)}");
            child.Kill(); // SIGKILL on Linux
            Expect(child.WaitForExit(Patience), where, "the killed recorder did not exit");

            // Every line the child wrote before it died is a report it made: read the pipe to its end.
            Expect(outputReader.Join(Patience) && errorReader.Join(Patience), where, "the child's output did not end");
            Expect(errors.IsEmpty, where, $"the recorder wrote errors: {string.Join("\n", errors)}");
            return Interlocked.Read(ref durable);
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
                child.WaitForExit(Patience);
            }
        }
    }

    /// <summary>
    /// Checks the directory after a kill (or after the clean reopen): every id from the log's first to
    /// its last is there, in order, contiguous, with its exact payload; the last is at least the
    /// reported durable watermark and at least <paramref name="previousLast"/> (restarts never lose or
    /// rewrite); the verifier reports no damage, a torn tail as a torn tail; closed segments seen before
    /// are unchanged. Returns the last id recovered.
    /// </summary>
    private long Check(string wal, DrillConfig config, long durable, long previousLast, Dictionary<string, string> closed, string where, bool closedAfterwards)
    {
        VerificationReport verification = SegmentVerifier.VerifyDirectory(wal);
        Expect(verification.IsIntact && !verification.HasErrors, where,
            $"the verifier found damage: {string.Join("\n", verification.Findings)}");
        Expect(verification.Findings.Where(f => f.Code == FindingCode.TornTail).All(f => f.Severity is FindingSeverity.TornTail or FindingSeverity.Info), where,
            $"a torn tail reported as damage: {string.Join("\n", verification.Findings)}");
        if (verification.HasTornTail)
        {
            Tally.TornTails++;
        }

        Expect(!closedAfterwards || !verification.HasTornTail, where, "a torn tail after a clean close");
        if (verification.Segments.Any(s => s.State == SegmentState.Empty))
        {
            Tally.PreparedSegmentsLeft++;
        }

        string[] files = Directory.GetFiles(wal);
        var plain = files.Where(f => f.EndsWith(SegmentFileName.Extension, StringComparison.Ordinal)).Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.Ordinal);
        if (files.Any(f => f.EndsWith(CompressedSegment.Extension, StringComparison.Ordinal) && plain.Contains(Path.GetFileNameWithoutExtension(f))))
        {
            Tally.KilledMidCompression++;
        }

        long first = verification.FirstEventId;
        long last = verification.LastEventId;
        if (!config.HasRetention)
        {
            Expect(last == 0 || first == 1, where, $"the log starts at {first} without retention");
        }

        // Recovery, strict: complete, or ended at a torn tail (which is not damage).
        long expected = Math.Max(first, 1);
        long checkedHere = 0;
        string? wrong = null;
        using (var recovery = WalRecovery.Open(wal))
        {
            RecoveryReport report = recovery.Run(Math.Max(first, 1), e =>
            {
                if (wrong is not null)
                {
                    return;
                }

                if (e.EventId != expected)
                {
                    wrong = $"event {e.EventId} replayed where {expected} was expected";
                }
                else if (!SyntheticEvents.Matches(e.EventId, e.Payload) || e.Payload.Length != config.PayloadSize)
                {
                    wrong = $"event {e.EventId} has the wrong payload ({e.Payload.Length} bytes)";
                }

                expected++;
                checkedHere++;
            });
            Expect(wrong is null, where, wrong ?? "");
            Expect(report.IsComplete && report.Failure is null, where,
                $"recovery is not complete: {report.Outcome}, gaps {string.Join(", ", report.Gaps)}, damage {string.Join("\n", report.Damage)}, failure {report.Failure}");
            // A log without any event (killed before its first seal) has nothing to replay: recovery reaches no segment (tail None).
            Expect(last == 0 || report.Tail is LogEnd.TornTail == verification.HasTornTail, where, $"recovery's tail is {report.Tail}, the verifier's torn tail {verification.HasTornTail}");
            Expect(report.LastEventId == last, where, $"recovery ended at {report.LastEventId}, the verifier's last is {last}");
            Expect(recovery.Catalog.Findings.All(f => f.Severity < FindingSeverity.Damage), where,
                $"the catalog (segments and checkpoint) found damage: {string.Join("\n", recovery.Catalog.Findings)}");
        }

        // The checkpoint (wal.meta), written by the killed recorder's background thread, never claims more than the segments hold.
        if (MetaCheckpoint.Load(wal, out string? problem) is { } checkpoint)
        {
            Expect(checkpoint.CommittedEventId <= expected - 1 && checkpoint.DurableEventId <= checkpoint.CommittedEventId, where,
                $"the checkpoint says committed {checkpoint.CommittedEventId}, durable {checkpoint.DurableEventId}; the segments end at {expected - 1}");
            Tally.CheckpointsChecked++;
        }
        else
        {
            Expect(problem is null || problem.Contains("missing", StringComparison.OrdinalIgnoreCase) || !File.Exists(Path.Combine(wal, MetaCheckpoint.FileName)), where, $"the checkpoint cannot be read: {problem}");
        }

        long recoveredLast = expected - 1;
        Expect(recoveredLast >= durable, where, $"the child reported event {durable} durable, recovery ends at {recoveredLast}: {durable - recoveredLast} lost");
        Expect(recoveredLast >= previousLast, where, $"the previous kill recovered up to {previousLast}, this one only {recoveredLast}");
        Tally.EventsChecked += checkedHere;
        Tally.DurableEventsChecked += Math.Max(0, durable - Math.Max(first, 1) + 1);

        // Closed segments seen before this restart are byte for byte what they were (retention may delete and compression replace them).
        foreach ((string path, string hash) in closed)
        {
            if (File.Exists(path))
            {
                Expect(Hash(path) == hash, where, $"{path}, closed before the restart, changed");
                Tally.ClosedSegmentsHashed++;
            }
        }

        closed.Clear();
        foreach (SegmentInfo segment in verification.Segments.Where(s => s.State == SegmentState.Closed))
        {
            if (File.Exists(segment.Path))
            {
                closed[segment.Path] = Hash(segment.Path);
            }
        }

        return recoveredLast;
    }

    private void Expect(bool condition, string where, string what)
    {
        if (!condition)
        {
            Tally.Losses++;
            _log($"FAILED at {where}: {what}");
            throw new DrillFailedException($"{what}\n  at {where}\n  tally so far:\n{Tally}");
        }
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static long ParseSize(string text) =>
        text.EndsWith("MiB", StringComparison.Ordinal) ? long.Parse(text[..^3], CultureInfo.InvariantCulture) << 20 : long.Parse(text[..^3], CultureInfo.InvariantCulture) << 10;
}

/// <summary>A drill check failed: the message names the seed, the kill and the configuration.</summary>
public sealed class DrillFailedException : Exception
{
    public DrillFailedException(string message)
        : base(message)
    {
    }

    public DrillFailedException()
    {
    }

    public DrillFailedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
