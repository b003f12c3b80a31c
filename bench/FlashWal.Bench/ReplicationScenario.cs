using System.Diagnostics;
using System.Globalization;
using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Replication;
using FlashWal.Telemetry;
using FlashWal.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FlashWal.Bench;

/// <summary>
/// <c>replication</c> (issue 17), on a three-node NATS JetStream cluster on 127.0.0.1 that it starts:
/// the recorder's append latency with and without a shipper beside it, paced at 100k and 1M events/s,
/// with the replication lag of sampled events; the shipper's ceiling beside raw JetStream publishing
/// of the same message sizes; the time to catch up after every server was down; restore speed beside
/// a plain copy of the log's files.
/// </summary>
internal static class ReplicationScenario
{
    private static readonly long[] Rates = [100_000, 1_000_000];
    private const int PayloadSize = 64;

    public static ScenarioResult Run(bool quick)
    {
        var result = new ScenarioResult { Scenario = "replication", LatencyPlotTitle = "Append latency with and without a shipper, and replication lag (ns)", BarUnit = "MB/s" };
        if (!NatsCluster.IsInstalled)
        {
            result.Method = $"Not run: nats-server is not installed here ({NatsCluster.Unavailable ?? "build.ps1 installs it: apt-get install -y nats-server"}).";
            return result;
        }

        double seconds = quick ? 1 : 10;
        int repetitions = quick ? 1 : 3;
        TimeSpan outage = TimeSpan.FromSeconds(quick ? 3 : 30);
        long shipEvents = quick ? 200_000 : 4_000_000;
        result.Method =
            $"A three-node JetStream cluster (Debian nats-server 2.9.10) on 127.0.0.1, streams of 3 replicas, on this same machine ({Environment.ProcessorCount} cores shared by the recorder, the shipper and the three servers). " +
            $"Append latency: a recorder (segments 32 MiB, Interval durability) fed {PayloadSize}-byte events paced at each rate for {seconds:N0} s, committing every 1,000 events or whenever ahead of schedule, " +
            $"with nothing beside it, with the servers loaded as much by a raw publisher (the log's record bytes a second, no shipper: the baseline that tells the servers' load from the shipper), and with a LogShipper on its log, interleaved, {repetitions} repetition(s) after a warm-up; latency is the recorder's own append histogram (MeasureAppendLatency). " +
            "Lag: every 1,024th event's append time, against the moment a watcher thread (polling every 50 µs) saw the replicated watermark pass its id. " +
            $"Shipper ceiling: a closed log of {shipEvents:N0} events shipped into a new stream, beside the same bytes published raw (messages of the shipper's average size, 128 in flight, no FlashWal). " +
            $"Catch-up: recording at 100k events/s, every server killed for {outage.TotalSeconds:N0} s, then restarted; the time from the restart until the watermark reaches what was committed at the restart. " +
            "Restore: the shipped stream rebuilt into an empty directory (verification included), beside cp -r of the original directory.";
        using NatsCluster cluster = NatsCluster.Start();
        AppendAndLag(result, cluster, seconds, repetitions);
        string shipped = ShipperCeiling(result, cluster, shipEvents);
        try
        {
            Restore(result, cluster, shipped);
        }
        finally
        {
            Directory.Delete(shipped, recursive: true);
        }

        CatchUp(result, cluster, outage);
        return result;
    }

    private static void AppendAndLag(ScenarioResult result, NatsCluster cluster, double seconds, int repetitions)
    {
        var keys = Rates.SelectMany(r => Variants.Select(v => (Rate: r, Variant: v))).ToArray();
        var append = keys.ToDictionary(k => k, _ => (LatencySnapshot?)null);
        var lag = Rates.ToDictionary(r => r, _ => new LatencyHistogram());
        var achieved = keys.ToDictionary(k => k, _ => new List<double>());
        for (int rep = -1; rep < repetitions; rep++)
        {
            foreach (var key in keys)
            {
                (LatencySnapshot latency, double rate) = Record(cluster, key.Rate, key.Variant, seconds, rep >= 0 ? lag[key.Rate] : null);
                Stats.Record(achieved, key, rep, rate);
                if (rep >= 0 && (append[key] is null || latency.P9999 > append[key]!.P9999))
                {
                    append[key] = latency; // the worst repetition's
                }
            }
        }

        var table = new ResultTable("Append latency (ns), worst repetition", ["rate", "beside the recorder", "events/s achieved", .. LatencySeries.Headers], []);
        foreach (var key in keys)
        {
            LatencySeries s = LatencySeries.From($"append at {key.Rate / 1000:N0}k/s, {Describe(key.Variant)}", append[key]!);
            table.Rows.Add([$"{key.Rate:N0}/s", Describe(key.Variant), Stats.F(Stats.Median(achieved[key]), 0), .. s.Cells()]);
            result.Latencies.Add(s);
        }

        result.Tables.Add(table);
        var lags = new ResultTable("Replication lag (ms): append to replicated watermark, every 1,024th event", ["rate", "samples", "p50", "p99", "max"], []);
        foreach (long rate in Rates)
        {
            LatencySnapshot s = lag[rate].Snapshot();
            lags.Rows.Add([$"{rate:N0}/s", s.Count.ToString("N0", CultureInfo.InvariantCulture), Stats.F(s.P50 / 1e6, 2), Stats.F(s.P99 / 1e6, 2), Stats.F(s.Max / 1e6, 2)]);
            result.Latencies.Add(LatencySeries.From($"replication lag at {rate / 1000:N0}k/s", s));
        }

        result.Tables.Add(lags);
    }

    /// <summary>What runs beside the measured recorder.</summary>
    private enum Beside
    {
        /// <summary>Nothing: the servers idle.</summary>
        Nothing,

        /// <summary>No shipper on this log, but the servers loaded as much by a raw publisher in this process (the log's record bytes a second, in 64 KiB messages): the baseline that separates the servers' load from the shipper.</summary>
        ServerLoad,

        /// <summary>A LogShipper on this log.</summary>
        Shipper,
    }

    private static readonly Beside[] Variants = [Beside.Nothing, Beside.ServerLoad, Beside.Shipper];

    private static string Describe(Beside variant) => variant switch
    {
        Beside.Nothing => "nothing",
        Beside.ServerLoad => "the same load on the servers, no shipper",
        _ => "its shipper",
    };

    /// <summary>Records paced events for <paramref name="seconds"/>; with a shipper, samples the lag.</summary>
    private static (LatencySnapshot Append, double Rate) Record(NatsCluster cluster, long rate, Beside variant, double seconds, LatencyHistogram? lag)
    {
        bool replicated = variant == Beside.Shipper;
        using var load = new CancellationTokenSource();
        Task neighbour = variant == Beside.ServerLoad
            ? Task.Run(() => LoadServers(cluster, rate * (long)SegmentFormat.RecordSize(PayloadSize), load.Token))
            : Task.CompletedTask;
        try
        {
            return Record(cluster, rate, replicated, seconds, lag);
        }
        finally
        {
            load.Cancel();
            neighbour.Wait();
        }
    }

    /// <summary>Publishes <paramref name="bytesPerSecond"/> into a stream of 3 replicas, in 64 KiB messages, paced every 10 ms, 128 in flight at most, until cancelled.</summary>
    private static async Task LoadServers(NatsCluster cluster, long bytesPerSecond, CancellationToken stop)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Urls });
        var js = new NatsJSContext(connection);
        string name = "LOAD_" + Guid.NewGuid().ToString("n").ToUpperInvariant();
        await js.CreateStreamAsync(new StreamConfig(name, ["load." + name]) { NumReplicas = 3, Storage = StreamConfigStorage.File }, CancellationToken.None);
        var body = new ReadOnlyMemory<byte>(new byte[64 << 10]);
        var window = new Queue<Task<PubAckResponse>>();
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (!stop.IsCancellationRequested)
        {
            while (sent < bytesPerSecond * clock.Elapsed.TotalSeconds && !stop.IsCancellationRequested)
            {
                if (window.Count >= 128)
                {
                    await Settle(window.Dequeue());
                }

                window.Enqueue(js.PublishAsync("load." + name, body, cancellationToken: CancellationToken.None).AsTask());
                sent += body.Length;
            }

            await Task.Delay(10, CancellationToken.None);
        }

        while (window.Count > 0)
        {
            await Settle(window.Dequeue());
        }

        await js.DeleteStreamAsync(name, CancellationToken.None);
    }

    /// <summary>A load publish that timed out (the servers saturated) is load all the same: not an error of the benchmark.</summary>
    private static async Task Settle(Task<PubAckResponse> publish)
    {
        try
        {
            await publish;
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
        {
        }
    }

    private static (LatencySnapshot Append, double Rate) Record(NatsCluster cluster, long rate, bool replicated, double seconds, LatencyHistogram? lag)
    {
        string dir = Stats.TempDir();
        try
        {
            var recorder = WalRecorder.Open(dir, new WalRecorderOptions { SegmentSize = 32L << 20, MeasureAppendLatency = true });
            LogShipper? shipper = null;
            var samples = new long[1 << 16];
            var sampleTimes = new long[samples.Length];
            int sampled = 0;
            using var stop = new CancellationTokenSource();
            Thread? watcher = null;
            try
            {
                if (replicated)
                {
                    shipper = LogShipper.Start(dir, new ReplicationOptions { Servers = cluster.Urls }, recorder.AttachReplication(), () => recorder.CommittedEventId);
                    watcher = new Thread(() => WatchLag(recorder.Replication!, samples, sampleTimes, () => Volatile.Read(ref sampled), lag, stop.Token)) { IsBackground = true };
                    watcher.Start();
                }

                byte[] payload = new byte[PayloadSize];
                double ticksPerEvent = (double)Stopwatch.Frequency / rate;
                long start = Stopwatch.GetTimestamp();
                long end = start + (long)(seconds * Stopwatch.Frequency);
                long written = 0;
                int sinceCommit = 0;
                long now;
                while ((now = Stopwatch.GetTimestamp()) < end)
                {
                    long due = start + (long)(written * ticksPerEvent);
                    if (now < due)
                    {
                        if (sinceCommit > 0)
                        {
                            recorder.Commit(); // ahead of schedule: committing costs the producer nothing now
                            sinceCommit = 0;
                        }

                        while (Stopwatch.GetTimestamp() < due)
                        {
                            Thread.SpinWait(20);
                        }
                    }

                    long id = recorder.Append(payload, 1);
                    written++;
                    if ((id & 1023) == 0 && sampled < samples.Length)
                    {
                        samples[sampled] = id;
                        sampleTimes[sampled] = Stopwatch.GetTimestamp();
                        Volatile.Write(ref sampled, sampled + 1);
                    }

                    if (++sinceCommit >= 1000)
                    {
                        recorder.Commit();
                        sinceCommit = 0;
                    }
                }

                recorder.Commit();
                double achieved = written / ((Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency);
                LatencySnapshot latency = recorder.GetTelemetry().Append;
                if (shipper is not null)
                {
                    shipper.Mark.Wait(recorder.CommittedEventId, TimeSpan.FromSeconds(60));
                }

                return (latency, achieved);
            }
            finally
            {
                stop.Cancel();
                watcher?.Join();
                recorder.Dispose();
                shipper?.WaitForEnd(TimeSpan.FromSeconds(60));
                shipper?.Dispose();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void WatchLag(ReplicationMark mark, long[] ids, long[] times, Func<int> count, LatencyHistogram? lag, CancellationToken stop)
    {
        int next = 0;
        while (!stop.IsCancellationRequested || next < count())
        {
            long replicated = mark.EventId;
            long now = Stopwatch.GetTimestamp();
            int available = count();
            while (next < available && ids[next] <= replicated)
            {
                lag?.Record(Timing.Ns(now - times[next]));
                next++;
            }

            if (stop.IsCancellationRequested && next < available && !mark.Wait(ids[next], TimeSpan.FromSeconds(30), CancellationToken.None))
            {
                break;
            }

            Thread.Sleep(TimeSpan.FromMicroseconds(50));
        }
    }

    /// <summary>Ships a closed log into a new stream, beside raw publishing of the same bytes; returns the log's directory.</summary>
    private static string ShipperCeiling(ScenarioResult result, NatsCluster cluster, long events)
    {
        string dir = Stats.TempDir();
        using (var recorder = WalRecorder.Open(dir, new WalRecorderOptions { SegmentSize = 32L << 20, Durability = DurabilityPolicy.None }))
        {
            byte[] payload = new byte[PayloadSize];
            for (long i = 0; i < events; i++)
            {
                recorder.Append(payload, 1);
            }
        }

        long logBytes = Directory.GetFiles(dir, "*.wal").Sum(f => new FileInfo(f).Length);
        var clock = Stopwatch.StartNew();
        ReplicationStatus status;
        using (LogShipper shipper = LogShipper.Start(dir, new ReplicationOptions { Servers = cluster.Urls }))
        {
            shipper.WaitForEnd(TimeSpan.FromMinutes(10));
            status = shipper.GetStatus();
        }

        double shipSeconds = clock.Elapsed.TotalSeconds;
        int messageSize = (int)(status.Bytes / Math.Max(1, status.Messages));
        (double rawSeconds, long rawBytes) = PublishRaw(cluster, status.Messages, messageSize);
        double shipMb = status.Bytes / shipSeconds / 1e6;
        double rawMb = rawBytes / rawSeconds / 1e6;
        result.Tables.Add(new ResultTable("Shipper ceiling", ["what", "messages", "MB", "seconds", "MB/s", "events/s", "resyncs"],
        [
            [$"LogShipper, closed log ({status.State}, replicated up to {status.ReplicatedEventId:N0})", status.Messages.ToString("N0", CultureInfo.InvariantCulture), Stats.F(status.Bytes / 1e6), Stats.F(shipSeconds, 2), Stats.F(shipMb), Stats.F(events / shipSeconds, 0), status.Resyncs.ToString(CultureInfo.InvariantCulture)],
            [$"raw JetStream publish, {messageSize:N0}-byte messages, 128 in flight", status.Messages.ToString("N0", CultureInfo.InvariantCulture), Stats.F(rawBytes / 1e6), Stats.F(rawSeconds, 2), Stats.F(rawMb), "-", "-"],
        ]));
        result.Bars.Add(new Bar("LogShipper", Math.Round(shipMb, 1)));
        result.Bars.Add(new Bar("raw JetStream publish", Math.Round(rawMb, 1)));
        result.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"The shipped log: {events:N0} events of {PayloadSize} bytes, {logBytes / 1e6:N1} MB of segment files (preallocated), {status.Bytes / 1e6:N1} MB shipped."));
        return dir;
    }

    /// <summary>Publishes <paramref name="messages"/> messages of <paramref name="size"/> bytes into a fresh stream of 3 replicas, 128 in flight: the transport's own ceiling.</summary>
    private static (double Seconds, long Bytes) PublishRaw(NatsCluster cluster, long messages, int size)
    {
        return Task.Run(async () =>
        {
            await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Urls });
            var js = new NatsJSContext(connection);
            string name = "RAW_" + Guid.NewGuid().ToString("n").ToUpperInvariant();
            await js.CreateStreamAsync(new StreamConfig(name, ["raw." + name]) { NumReplicas = 3, Storage = StreamConfigStorage.File });
            var body = new ReadOnlyMemory<byte>(new byte[size]);
            var window = new Queue<Task<PubAckResponse>>();
            var clock = Stopwatch.StartNew();
            for (long i = 0; i < messages; i++)
            {
                if (window.Count >= 128)
                {
                    (await window.Dequeue()).EnsureSuccess();
                }

                window.Enqueue(js.PublishAsync("raw." + name, body).AsTask());
            }

            while (window.Count > 0)
            {
                (await window.Dequeue()).EnsureSuccess();
            }

            double seconds = clock.Elapsed.TotalSeconds;
            await js.DeleteStreamAsync(name);
            return (seconds, messages * size);
        }).GetAwaiter().GetResult();
    }

    private static void Restore(ScenarioResult result, NatsCluster cluster, string shipped)
    {
        LogId log = SegmentHeader.Read(Reading.SegmentFrame.ReadHeader(shipped, 0)).LogId;
        string target = Path.Combine(Stats.TempDir(), "restored");
        string copy = Path.Combine(Stats.TempDir(), "copied");
        try
        {
            RestoreReport report = LogRestore.Run(new ReplicationOptions { Servers = cluster.Urls, Stream = ReplicationOptions.StreamFor(log) }, target);
            long bytes = Directory.GetFiles(shipped, "*.wal").Sum(f => new FileInfo(f).Length);
            var clock = Stopwatch.StartNew();
            using (Process cp = Process.Start("cp", ["-r", shipped, copy])!)
            {
                cp.WaitForExit();
            }

            double copySeconds = clock.Elapsed.TotalSeconds;
            result.Tables.Add(new ResultTable("Restore", ["what", "MB of segment files", "seconds", "GB/s", "verified"],
            [
                [$"LogRestore from the stream (verification included; {report.Segments} segments, events up to {report.LastEventId:N0})", Stats.F(bytes / 1e6), Stats.F(report.Elapsed.TotalSeconds, 2), Stats.F(bytes / report.Elapsed.TotalSeconds / 1e9, 3), report.Verification.IsIntact ? "intact" : report.Verification.Verdict],
                ["cp -r of the original directory", Stats.F(bytes / 1e6), Stats.F(copySeconds, 2), Stats.F(bytes / copySeconds / 1e9, 3), "-"],
            ]));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(target)!, recursive: true);
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }

    private static void CatchUp(ScenarioResult result, NatsCluster cluster, TimeSpan outage)
    {
        string dir = Stats.TempDir();
        try
        {
            using var recorder = WalRecorder.Open(dir, new WalRecorderOptions { SegmentSize = 32L << 20 });
            using LogShipper shipper = LogShipper.Start(dir, new ReplicationOptions { Servers = cluster.Urls, ConnectTimeout = TimeSpan.FromSeconds(1) }, recorder.AttachReplication(), () => recorder.CommittedEventId);
            using var stop = new CancellationTokenSource();
            var producer = new Thread(() => Produce(recorder, 100_000, stop.Token)) { IsBackground = true };
            producer.Start();
            CreateProbeStream(cluster);
            Thread.Sleep(2000);
            foreach (NatsNode node in cluster.Nodes)
            {
                node.Kill();
            }

            Thread.Sleep(outage);
            ReplicationStatus during = shipper.GetStatus();
            foreach (NatsNode node in cluster.Nodes)
            {
                node.Start();
            }

            var clock = Stopwatch.StartNew();
            Task<double> probe = Task.Run(() => FirstPublish(cluster, clock));
            long backlogEnd = recorder.CommittedEventId;
            long before = shipper.Mark.EventId;
            bool resumed = shipper.Mark.Wait(before + 1, TimeSpan.FromMinutes(5));
            double firstAck = clock.Elapsed.TotalSeconds;
            bool caughtUp = resumed && shipper.Mark.Wait(backlogEnd, TimeSpan.FromMinutes(5));
            double catchUp = clock.Elapsed.TotalSeconds;
            stop.Cancel();
            producer.Join();
            result.Tables.Add(new ResultTable($"Catch-up after every server was down for {outage.TotalSeconds:N0} s (recording at 100k events/s throughout)", ["state during the outage", "lag at the restart (events)", "lag time at the restart", "s to a fresh client's first publish (baseline)", "s to the shipper's first acknowledgement", "s to catch up", "backlog shipped at (events/s)", "resyncs"],
            [
                [during.State.ToString(), during.LagEvents.ToString("N0", CultureInfo.InvariantCulture), Stats.F(during.LagTime.TotalSeconds, 1) + " s",
                    probe.Wait(TimeSpan.FromMinutes(5)) ? Stats.F(probe.Result, 2) : "not within 5 min",
                    resumed ? Stats.F(firstAck, 2) : "not within 5 min", caughtUp ? Stats.F(catchUp, 2) : "not within 5 min",
                    caughtUp ? Stats.F((backlogEnd - before) / Math.Max(catchUp - firstAck, 1e-3), 0) : "-", shipper.GetStatus().Resyncs.ToString(CultureInfo.InvariantCulture)],
            ]));
            result.Notes.Add("Catch-up: nothing is acknowledged before the restarted servers have elected a meta leader and the stream's leader again; the baseline is a fresh client publishing to a stream of its own every 100 ms from the restart on. The backlog rate is from the shipper's first acknowledgement on, while recording goes on at 100k events/s.");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private const string ProbeStream = "FLASHWAL_BENCH_PROBE";

    /// <summary>A stream of 3 replicas that a fresh client publishes to after the restart: when the cluster itself is back.</summary>
    private static void CreateProbeStream(NatsCluster cluster) => Task.Run(async () =>
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Urls });
        await new NatsJSContext(connection).CreateStreamAsync(new StreamConfig(ProbeStream, ["probe"]) { NumReplicas = 3, Storage = StreamConfigStorage.File });
    }).GetAwaiter().GetResult();

    /// <summary>Seconds on <paramref name="clock"/> when a fresh client's publish to the probe stream was first acknowledged.</summary>
    private static async Task<double> FirstPublish(NatsCluster cluster, Stopwatch clock)
    {
        while (clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            try
            {
                await using var connection = new NatsConnection(new NatsOpts { Url = cluster.Urls, RequestTimeout = TimeSpan.FromSeconds(1) });
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                (await new NatsJSContext(connection).PublishAsync("probe", new byte[] { 1 }, cancellationToken: patience.Token)).EnsureSuccess();
                return clock.Elapsed.TotalSeconds;
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException)
            {
                await Task.Delay(100);
            }
        }

        return double.NaN;
    }

    private static void Produce(WalRecorder recorder, long rate, CancellationToken stop)
    {
        byte[] payload = new byte[PayloadSize];
        double ticksPerEvent = (double)Stopwatch.Frequency / rate;
        long start = Stopwatch.GetTimestamp();
        long written = 0;
        while (!stop.IsCancellationRequested)
        {
            long due = start + (long)(written * ticksPerEvent);
            while (Stopwatch.GetTimestamp() < due)
            {
                Thread.SpinWait(20);
            }

            recorder.Append(payload, 1);
            if (++written % 1000 == 0)
            {
                recorder.Commit();
            }
        }

        recorder.Commit();
    }
}
