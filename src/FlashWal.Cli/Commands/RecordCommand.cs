using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Telemetry;
using FlashWal.Threading;

namespace FlashWal.Cli.Commands;

/// <summary>
/// <c>flashwal record &lt;dir&gt;</c>: writes synthetic events (payloads derived from their ids) through
/// a <see cref="WalRecorder"/>, continuing the log already in the directory.
/// </summary>
internal static class RecordCommand
{
    public static Command Build(TextWriter output, TextWriter error) => Build(output, error, configure: null);

    /// <summary>
    /// The command, with <paramref name="configure"/> applied to the recorder's options after they are
    /// validated: a seam for tests (a disk whose syncs fail), never reachable from the command line.
    /// </summary>
    internal static Command Build(TextWriter output, TextWriter error, Func<WalRecorderOptions, WalRecorderOptions>? configure)
    {
        var directory = new Argument<string>("dir") { Description = "The WAL directory (created when missing)." };
        var events = new Option<long?>("--events") { Description = "How many events to write (default 1,000,000; unlimited with --duration).", CustomParser = r => Numbers.Whole<long>(r) };
        var rate = new Option<long>("--rate") { Description = "Events per second, paced; 0 writes as fast as possible.", DefaultValueFactory = _ => 0, CustomParser = Numbers.Whole<long> };
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds.", CustomParser = r => Numbers.Real(r) };
        var payloadSize = new Option<string>("--payload-size") { Description = "Payload bytes per event (e.g. 64, 1KiB).", DefaultValueFactory = _ => "64" };
        var segmentSize = new Option<string>("--segment-size") { Description = "Segment file size (e.g. 8MiB).", DefaultValueFactory = _ => ByteSize.Format(SegmentFormat.DefaultSegmentSize) };
        var blockSize = new Option<string>("--block-size") { Description = "Largest block (a power of two from 4KiB to 16MiB).", DefaultValueFactory = _ => ByteSize.Format(SegmentFormat.DefaultBlockSize) };
        var durability = new Option<string>("--durability") { Description = "none | interval | commit.", DefaultValueFactory = _ => "interval" };
        durability.AcceptOnlyFromAmong("none", "interval", "commit");
        var syncInterval = new Option<double>("--sync-interval") { Description = "Milliseconds between background flushes (interval durability).", DefaultValueFactory = _ => 10, CustomParser = Numbers.Real };
        var commitEvery = new Option<int>("--commit-every") { Description = "Commit after this many events (and, when paced, whenever ahead of schedule, at most every 50 µs).", DefaultValueFactory = _ => 1000, CustomParser = Numbers.Whole<int> };
        var reportDurable = new Option<bool>("--report-durable") { Description = "Print 'durable <id>' on stdout each time the durable watermark advances." };
        var noPreparer = new Option<bool>("--no-preparer") { Description = "Create segments on the writer thread at each rotation (the baseline the preparer beats)." };
        var compressAfter = new Option<int?>("--compress-after") { Description = "Compress closed segments once this many newer ones exist (.walz, read transparently).", CustomParser = r => Numbers.Whole<int>(r) };
        var writerCore = new Option<int?>("--writer-core") { Description = "Pin the writer thread (this command's) to this core (Linux).", CustomParser = r => Numbers.Whole<int>(r) };
        var backgroundCores = new Option<string?>("--background-cores") { Description = "Cores the recorder's background threads (preparer, flusher, maintainer) may run on, e.g. 0 or 0,2 (Linux)." };
        var backgroundNice = new Option<int>("--background-nice") { Description = "Nice value of the background threads, 0 to 19: they yield to the writer on a shared core (Linux).", DefaultValueFactory = _ => 0, CustomParser = Numbers.Whole<int> };
        var replicateTo = new Option<string?>("--replicate-to") { Description = "Ship the log as it is recorded to these NATS servers (nats://host:port, comma-separated): a JetStream stream with 3 replicas; prints 'replicated <id>' as they acknowledge." };
        var replication = ReplicationSwitches.Create();
        var keepSegments = new Option<int?>("--keep-segments") { Description = "Retention: keep at most this many segments, deleting the oldest closed ones.", CustomParser = r => Numbers.Whole<int>(r) };
        var command = new Command("record", "Write synthetic events into a WAL directory through the recorder, continuing its log.")
        {
            directory, events, rate, duration, payloadSize, segmentSize, blockSize, durability, syncInterval, commitEvery, reportDurable, noPreparer, compressAfter, keepSegments,
            writerCore, backgroundCores, backgroundNice, replicateTo,
        };
        replication.AddTo(command);
        // The recorder option (an ArgumentOutOfRangeException's ParamName) that each option of this command sets.
        var setting = new Dictionary<string, Option>(StringComparer.Ordinal)
        {
            [nameof(WalRecorderOptions.SegmentSize)] = segmentSize,
            [nameof(WalRecorderOptions.BlockSize)] = blockSize,
            [nameof(WalRecorderOptions.SyncInterval)] = syncInterval,
            [nameof(RetentionPolicy.MaxSegments)] = keepSegments,
            [nameof(RetentionPolicy.CompressAfter)] = compressAfter,
            [$"{nameof(WalRecorderOptions.BackgroundThreads)}.{nameof(ThreadPlacement.Cores)}"] = backgroundCores,
            [$"{nameof(WalRecorderOptions.BackgroundThreads)}.{nameof(ThreadPlacement.Nice)}"] = backgroundNice,
            [$"{nameof(WalRecorderHostOptions.WriterThread)}.{nameof(ThreadPlacement.Cores)}"] = writerCore,
        };
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            if (!ByteSize.TryParse(parse.GetValue(payloadSize)!, out long payload) || payload > int.MaxValue)
            {
                return CommandErrors.Usage(error, $"--payload-size '{parse.GetValue(payloadSize)}' is not a size.");
            }

            if (!ByteSize.TryParse(parse.GetValue(segmentSize)!, out long segment))
            {
                return CommandErrors.Usage(error, $"--segment-size '{parse.GetValue(segmentSize)}' is not a size.");
            }

            if (!ByteSize.TryParse(parse.GetValue(blockSize)!, out long block) || block > int.MaxValue)
            {
                return CommandErrors.Usage(error, $"--block-size '{parse.GetValue(blockSize)}' is not a size.");
            }

            double? seconds = parse.GetValue(duration);
            long count = parse.GetValue(events) ?? (seconds is null ? 1_000_000 : long.MaxValue);
            string? wrong = count < 0 ? $"--events {count} is negative; give 0 or more."
                : parse.GetValue(rate) < 0 ? $"--rate {parse.GetValue(rate)} is negative; give 0 (flat out) or more events per second."
                : seconds is <= 0 ? $"--duration {seconds.Value.ToString(CultureInfo.InvariantCulture)} is not a duration; give more than 0 seconds."
                : parse.GetValue(commitEvery) < 1 ? $"--commit-every {parse.GetValue(commitEvery)} must be at least 1."
                : null;
            if (wrong is not null)
            {
                return CommandErrors.Usage(error, wrong);
            }

            List<int>? cores = null;
            if (parse.GetValue(backgroundCores) is { } coreList)
            {
                cores = [];
                foreach (string part in coreList.Split(',', StringSplitOptions.TrimEntries))
                {
                    if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int core))
                    {
                        return CommandErrors.Usage(error, $"--background-cores '{coreList}' is not a list of cores; give numbers separated by commas, e.g. 0 or 0,2.");
                    }

                    cores.Add(core);
                }
            }

            var writerPlacement = parse.GetValue(writerCore) is { } pinned ? new ThreadPlacement { Cores = [pinned] } : ThreadPlacement.Anywhere;
            var options = new WalRecorderOptions
            {
                BackgroundThreads = new ThreadPlacement { Cores = cores, Nice = parse.GetValue(backgroundNice) },
                SegmentSize = segment,
                BlockSize = (int)block,
                Durability = parse.GetValue(durability) switch { "none" => DurabilityPolicy.None, "commit" => DurabilityPolicy.EveryCommit, _ => DurabilityPolicy.Interval },
                SyncInterval = TimeSpan.FromMilliseconds(parse.GetValue(syncInterval)),
                UsePreparer = !parse.GetValue(noPreparer),
                MeasureAppendLatency = true,
                Retention = new RetentionPolicy { CompressAfter = parse.GetValue(compressAfter), MaxSegments = parse.GetValue(keepSegments) },
            };
            try
            {
                options.Validate();
                writerPlacement.Validate(nameof(WalRecorderHostOptions.WriterThread));
            }
            catch (ArgumentOutOfRangeException e) when (e.ParamName is { } name && setting.TryGetValue(name, out Option? option))
            {
                return CommandErrors.Usage(error, $"{option.Name} {Given(parse, option)}: {CommandErrors.Reason(e)}");
            }

            if (payload > options.Segments.MaxPayloadSize)
            {
                return CommandErrors.Usage(error, $"--payload-size {payload} does not fit in a block of {block} bytes: the largest payload is {options.Segments.MaxPayloadSize} bytes.");
            }

            Replication.ReplicationOptions? replicate = parse.GetValue(replicateTo) is { } servers ? replication.Options(parse, servers) : null;
            var plan = new Plan(count, parse.GetValue(rate), seconds, (int)payload, parse.GetValue(commitEvery), parse.GetValue(reportDurable), replicate);
            // The writer is this thread; in-process callers (tests, a host program) get their thread back as it was.
            var before = new ThreadPlacement { Cores = writerPlacement.IsAnywhere ? null : ThreadPlacement.OfCurrentThread().Cores };
            writerPlacement.ApplyToCurrentThread();
            try
            {
                return Record(output, error, parse.GetRequiredValue(directory), configure is null ? options : configure(options), plan);
            }
            finally
            {
                before.ApplyToCurrentThread();
            }
        }));
        return command;
    }

    /// <summary>The text given for <paramref name="option"/>, or "(default)".</summary>
    private static string Given(ParseResult parse, Option option) =>
        parse.GetResult(option) is { Tokens: [.., var last] } ? last.Value : "(default)";

    private sealed record Plan(long Events, long Rate, double? Seconds, int PayloadLength, int CommitEvery, bool ReportDurable, Replication.ReplicationOptions? Replicate);

    /// <summary>The longest a reporter waits for its watermark between two looks.</summary>
    private static readonly TimeSpan ReportStep = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a recording waits, once closed, for the stream to acknowledge the rest of it.</summary>
    private static readonly TimeSpan ReplicationDrain = TimeSpan.FromSeconds(60);

    private static int Record(TextWriter output, TextWriter error, string directory, WalRecorderOptions options, Plan plan)
    {
        TextWriter stdout = TextWriter.Synchronized(output);
        bool progress = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        WalRecorder opened;
        try
        {
            opened = WalRecorder.Open(directory, options);
        }
        catch (WalCorruptionException e)
        {
            // Refused, changing nothing, where continuing would hide a loss or reuse an id: say the way on.
            error.WriteLine($"flashwal: {e.Message}");
            error.WriteLine($"flashwal: the log was not continued and nothing was changed; 'flashwal repair {directory} --dry-run' shows what a repair would do so that a recorder can continue it");
            return ExitCodes.UsageOrIo;
        }

        using WalRecorder recorder = opened;
        long before = recorder.LastEventId;
        try
        {
            return Record(stdout, error, progress, recorder, plan);
        }
        catch (Exception e) when (e is WalException or IOException or UnauthorizedAccessException)
        {
            // A full disk, a failed sync: say what failed, then what the log holds, which is what an
            // operator needs to know next. A failed sync stops the recorder whichever thread ran it
            // (the maintainer's close, the writer's commit flush); the error is that sync's, named
            // once, however many calls reported it since.
            error.WriteLine($"flashwal: {CommandErrors.OneLine(Cause(recorder, e).Message)}");
            try
            {
                recorder.Dispose(); // commits and closes what was appended, as far as the disk allows; after a failed sync, leaves the files as a crash does
            }
            catch (Exception close) when (close is WalException or IOException or UnauthorizedAccessException)
            {
                // The same failure may come back wrapped by another thread's report of it (the flusher's
                // failed write, reported again as "failed earlier" by the close): only another root is news.
                if (!ReferenceEquals(Root(close), Root(e)))
                {
                    error.WriteLine($"flashwal: closing the log failed too: {CommandErrors.OneLine(Cause(recorder, close).Message)}");
                }
            }

            long committed = recorder.CommittedEventId;
            error.WriteLine(committed > before
                ? string.Create(CultureInfo.InvariantCulture, $"flashwal: recording stopped: events {before + 1}..{committed} of this run are committed in {recorder.Directory}, none after {committed}; 'flashwal verify' checks them")
                : string.Create(CultureInfo.InvariantCulture, $"flashwal: recording stopped: no event of this run was committed; the log in {recorder.Directory} still ends at event {before}"));
            return ExitCodes.UsageOrIo;
        }
    }

    /// <summary>The innermost exception of <paramref name="e"/>: the failure itself, under every report of it.</summary>
    private static Exception Root(Exception e)
    {
        while (e.InnerException is { } inner)
        {
            e = inner;
        }

        return e;
    }

    /// <summary>
    /// What <paramref name="e"/> reports: the failure that stopped the recorder (the sync that failed,
    /// which names its operation and file) when <paramref name="e"/> is the recorder saying it stopped;
    /// otherwise <paramref name="e"/> itself.
    /// </summary>
    private static Exception Cause(WalRecorder recorder, Exception e)
    {
        if (recorder.StopFailure is not { } halt)
        {
            return e;
        }

        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (ReferenceEquals(inner, halt))
            {
                return halt;
            }
        }

        return e;
    }

    private static int Record(TextWriter stdout, TextWriter error, bool progress, WalRecorder recorder, Plan plan)
    {
        foreach (var finding in recorder.OpenFindings)
        {
            stdout.WriteLine($"note: {finding}");
        }

        long firstId = recorder.LastEventId + 1;
        long firstSegment = recorder.ActiveSegmentIndex;
        using Replication.LogShipper? shipper = plan.Replicate is { } target
            ? Replication.LogShipper.Start(recorder.Directory, target, recorder.AttachReplication(), () => recorder.CommittedEventId)
            : null;
        using WatermarkReporter? replicated = shipper is null ? null
            : new WatermarkReporter("replicated", () => shipper.Mark.EventId, (id, stop) => shipper.Mark.Wait(id, ReportStep, stop), stdout);
        if (shipper is not null)
        {
            stdout.WriteLine($"replicating to stream {shipper.Stream} at {plan.Replicate!.Servers}");
        }

        using WatermarkReporter? durable = plan.ReportDurable
            ? new WatermarkReporter("durable", () => recorder.DurableEventId, (id, stop) => recorder.WaitForDurable(id, ReportStep, stop), stdout)
            : null;
        try
        {
            byte[] payload = new byte[plan.PayloadLength];
            long start = Stopwatch.GetTimestamp();
            long deadline = plan.Seconds is { } s ? start + (long)(s * Stopwatch.Frequency) : long.MaxValue;
            double ticksPerEvent = plan.Rate > 0 ? (double)Stopwatch.Frequency / plan.Rate : 0;
            long nextProgress = start + Stopwatch.Frequency / 4;
            long written = 0;
            int sinceCommit = 0;
            long lastCommit = start;
            long commitGap = Stopwatch.Frequency / 20_000; // at most one idle commit per 50 µs: blocks stay full enough
            while (written < plan.Events)
            {
                long now = Stopwatch.GetTimestamp();
                if (now >= deadline)
                {
                    break;
                }

                if (ticksPerEvent > 0)
                {
                    long due = start + (long)(written * ticksPerEvent);
                    if (now < due)
                    {
                        if (sinceCommit > 0 && now - lastCommit >= commitGap)
                        {
                            recorder.Commit(); // ahead of schedule: committing now costs the producer nothing
                            sinceCommit = 0;
                            lastCommit = now;
                        }

                        while (Stopwatch.GetTimestamp() < due && recorder.StopFailure is null) // a stopped recorder is reported by the next append, now
                        {
                            Thread.SpinWait(20);
                        }
                    }
                }

                SyntheticEvents.Fill(recorder.LastEventId + 1, payload);
                recorder.Append(payload, SyntheticEvents.Type);
                written++;
                if (++sinceCommit >= plan.CommitEvery)
                {
                    recorder.Commit();
                    sinceCommit = 0;
                    lastCommit = now;
                }

                if (progress && (written & 1023) == 0 && now >= nextProgress)
                {
                    nextProgress = now + Stopwatch.Frequency / 4;
                    double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    error.Write(string.Create(CultureInfo.InvariantCulture,
                        $"\r{written:N0} events, {written / elapsed:N0}/s, committed {recorder.CommittedEventId}, durable {recorder.DurableEventId}, segment {recorder.ActiveSegmentIndex:x16}   "));
                }
            }

            recorder.Commit();
            double total = Math.Max(Stopwatch.GetElapsedTime(start).TotalSeconds, 1e-9);
            if (progress)
            {
                error.WriteLine();
            }

            long lastId = recorder.LastEventId;
            long segments = recorder.ActiveSegmentIndex - firstSegment + 1;
            RecorderTelemetrySnapshot telemetry = recorder.GetTelemetry();
            recorder.Dispose();
            durable?.Dispose(); // it reports the last advance (the close flushed everything) before it ends

            Summarize(stdout, recorder, telemetry, written, firstId, lastId, segments, plan, total);
            return shipper is null ? ExitCodes.Ok : FinishReplication(stdout, error, shipper, replicated!, lastId);
        }
        finally
        {
            durable?.Dispose(); // after a failure too: the reporter must not outlive the recorder
        }
    }

    /// <summary>
    /// Waits for the stream to acknowledge the closed log (at most a minute), prints the last
    /// <c>replicated</c> line and where replication stands; exit 2 when part of the log is not replicated.
    /// </summary>
    private static int FinishReplication(TextWriter stdout, TextWriter error, Replication.LogShipper shipper, WatermarkReporter reporter, long lastId)
    {
        shipper.WaitForEnd(ReplicationDrain);
        reporter.Dispose();
        Replication.ReplicationStatus status = shipper.GetStatus();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"replication {status.State}: replicated up to {status.ReplicatedEventId} in stream {status.Stream}; {status.Messages} message(s), {status.Bytes / 1e6:F1} MB, {status.Resyncs} resync(s)"));
        if (status.ReplicatedEventId >= lastId)
        {
            return ExitCodes.Ok;
        }

        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"flashwal: events {status.ReplicatedEventId + 1}..{lastId} are in {shipper.GetStatus().Directory} but not replicated ({status.LastError ?? "the servers did not acknowledge them in time"}); 'flashwal replicate {status.Directory} --to {status.Servers}' ships them"));
        return ExitCodes.UsageOrIo;
    }

    private static void Summarize(TextWriter output, WalRecorder recorder, RecorderTelemetrySnapshot telemetry, long written, long firstId, long lastId, long segments, Plan plan, double seconds)
    {
        string ids = written > 0 ? string.Create(CultureInfo.InvariantCulture, $"ids {firstId}..{lastId}") : "no event";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"recorded {written} event(s) of {plan.PayloadLength} bytes, {ids}, in {segments} segment(s) of {ByteSize.Format(recorder.Options.SegmentSize)} in {recorder.Directory}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{seconds:F2} s, {written / seconds:N0} events/s, {written * (double)plan.PayloadLength / seconds / (1 << 20):N1} MiB/s of payload; durability {recorder.Options.Durability}, durable up to {recorder.DurableEventId}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rotations {telemetry.Rotations}, preparer misses {telemetry.PreparerMisses} (writer-created {telemetry.WriterCreatedSegments}), commits {telemetry.Commits}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"staging ring {ByteSize.Format(telemetry.StagingRingBytes)}, prefault {telemetry.StagingPrefault}: {telemetry.StagingPrefaultChoice}; full {telemetry.StagingStalls} time(s)"));
        (IReadOnlyList<int> writerCores, int writerNice) = ThreadPlacement.OfCurrentThread();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"threads: writer on cores {string.Join(',', writerCores)} (nice {writerNice}); background {telemetry.BackgroundPlacement}"));
        output.WriteLine("append latency (ns)   count        p50      p99    p99.9   p99.99        max");
        Row(output, "all appends", telemetry.Append);
        Row(output, "rotation appends", telemetry.RotationAppend);
        Row(output, "rotation itself", telemetry.Rotation);
        Row(output, "prepared wait", telemetry.PreparerWait);
        output.WriteLine("background (ns)       count        p50      p99    p99.9   p99.99        max");
        Row(output, "segment create", telemetry.PreparerCreate);
        Row(output, "segment close", telemetry.Close);
        Row(output, "sync", telemetry.Sync);
    }

    private static void Row(TextWriter output, string name, LatencySnapshot s) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-18} {s.Count,8} {s.P50,10} {s.P99,8} {s.P999,8} {s.P9999,8} {s.Max,10}"));
}
