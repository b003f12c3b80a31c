using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FlashWal.Telemetry;

namespace FlashWal.Bench;

/// <summary>Latency percentiles of one series (nanoseconds), as the JSON and the plots carry them.</summary>
internal sealed record LatencySeries(string Label, long Count, double Mean, long P50, long P90, long P99, long P999, long P9999, long Max)
{
    public static LatencySeries From(string label, LatencySnapshot s) => new(label, s.Count, Math.Round(s.Mean, 1), s.P50, s.P90, s.P99, s.P999, s.P9999, s.Max);

    /// <summary>The table cells: samples, p50, p90, p99, p99.9, p99.99, max, mean (ns).</summary>
    public string[] Cells() =>
    [
        Count.ToString("N0", CultureInfo.InvariantCulture), N(P50), N(P90), N(P99), N(P999), N(P9999), N(Max), Stats.F(Mean, 0),
    ];

    public static readonly string[] Headers = ["samples", "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean"];

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>A bar of a throughput plot.</summary>
internal sealed record Bar(string Label, double Value);

/// <summary>A titled table.</summary>
internal sealed record ResultTable(string Title, string[] Headers, List<string[]> Rows)
{
    public string Markdown() => (Title.Length > 0 ? $"**{Title}**\n\n" : "") + Stats.Table(Headers, Rows);
}

/// <summary>What a scenario found: text, tables, and the series its plots draw.</summary>
internal sealed class ScenarioResult
{
    public required string Scenario { get; init; }

    public string Method { get; set; } = "";

    public Dictionary<string, string> Settings { get; } = [];

    public List<ResultTable> Tables { get; } = [];

    /// <summary>Latency percentile curves, in nanoseconds (plotted on log scales).</summary>
    public List<LatencySeries> Latencies { get; } = [];

    public string LatencyPlotTitle { get; set; } = "";

    public List<Bar> Bars { get; } = [];

    public string BarUnit { get; set; } = "";

    /// <summary>Goals and how far they were met: ratios, never pass/fail of a build.</summary>
    public List<string> Goals { get; } = [];

    public List<string> Notes { get; } = [];

    public string Markdown()
    {
        var text = new StringBuilder();
        if (Method.Length > 0)
        {
            text.AppendLine(Method).AppendLine();
        }

        foreach (ResultTable table in Tables)
        {
            text.AppendLine(table.Markdown());
        }

        if (Goals.Count > 0)
        {
            text.AppendLine("Goals (ratios from this run):").AppendLine();
            Goals.ForEach(g => text.AppendLine("- " + g));
            text.AppendLine();
        }

        if (Notes.Count > 0)
        {
            Notes.ForEach(n => text.AppendLine("- " + n));
            text.AppendLine();
        }

        if (Settings.Count > 0)
        {
            text.AppendLine("Settings:").AppendLine();
            foreach ((string k, string v) in Settings)
            {
                text.Append("- ").Append(k).Append(": ").AppendLine(v);
            }
        }

        return text.ToString();
    }
}

/// <summary>Writes a result as JSON, Markdown and plot data, and asks plot.sh for the SVGs.</summary>
internal static class ResultWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // a file for people and scripts, never HTML
    };

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public static string ToJson(ScenarioResult result, MachineInfo machine, bool quick, double timerOverheadNs) =>
        JsonSerializer.Serialize(new
        {
            scenario = result.Scenario,
            quick,
            taken = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            machine,
            timerOverheadNs = Math.Round(timerOverheadNs, 1),
            method = result.Method,
            settings = result.Settings,
            tables = result.Tables.Select(t => new { title = t.Title, headers = t.Headers, rows = t.Rows }),
            latenciesNs = result.Latencies,
            bars = result.Bars.Count == 0 ? null : new { unit = result.BarUnit, values = result.Bars },
            goals = result.Goals,
            notes = result.Notes,
        }, Json);

    /// <summary>The latency curves as gnuplot data: one block per series, "x p" rows where x = 1/(1-p).</summary>
    public static string LatencyData(IEnumerable<LatencySeries> series)
    {
        var text = new StringBuilder();
        foreach (LatencySeries s in series)
        {
            text.Append('"').Append(s.Label.Replace('"', '\'')).AppendLine("\" ns");
            foreach ((double x, long v) in PercentilePoints(s))
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{x} {Math.Max(1, v)}"));
            }

            text.AppendLine().AppendLine();
        }

        return text.ToString();
    }

    /// <summary>Where each percentile sits on a "nines" axis: 1/(1-p); the max at the sample count.</summary>
    public static IEnumerable<(double X, long Value)> PercentilePoints(LatencySeries s)
    {
        yield return (2, s.P50);
        yield return (10, s.P90);
        yield return (100, s.P99);
        yield return (1000, s.P999);
        yield return (10000, s.P9999);
        yield return (Math.Max(20000, s.Count), s.Max);
    }

    public static void Write(string dir, ScenarioResult result, MachineInfo machine, bool quick, double timerOverheadNs, string? plotScript)
    {
        string md = Path.Combine(dir, result.Scenario + ".md");
        string header = $"# {result.Scenario}{(quick ? " (quick: proves the harness, numbers mean little)" : "")}\n\n{machine.Describe()}; timer overhead (two Stopwatch.GetTimestamp reads, nothing between) {Stats.F(timerOverheadNs)} ns, included in every latency below, nothing subtracted.\n\n";
        var plots = new StringBuilder();
        if (result.Latencies.Count > 0 || result.Bars.Count > 0)
        {
            string? why = Plot(dir, result, plotScript, quick);
            if (why is null)
            {
                if (result.Latencies.Count > 0)
                {
                    plots.Append("![latency percentiles](").Append(result.Scenario).AppendLine("-latency.svg)");
                }

                if (result.Bars.Count > 0)
                {
                    plots.Append("![throughput](").Append(result.Scenario).AppendLine("-throughput.svg)");
                }
            }
            else
            {
                plots.Append("(No plot: ").Append(why).AppendLine(".)");
                Console.WriteLine($"plots skipped: {why}");
            }
        }

        File.WriteAllText(md, header + result.Markdown() + (plots.Length > 0 ? "\n" + plots : ""), Utf8);
        File.WriteAllText(Path.Combine(dir, result.Scenario + ".json"), ToJson(result, machine, quick, timerOverheadNs), Utf8);
    }

    /// <summary>Writes the plot data and runs plot.sh; null when the SVGs were made, else why not.</summary>
    private static string? Plot(string dir, ScenarioResult result, string? plotScript, bool quick)
    {
        if (result.Latencies.Count > 0)
        {
            File.WriteAllText(Path.Combine(dir, result.Scenario + "-latency.dat"), LatencyData(result.Latencies));
        }

        if (result.Bars.Count > 0)
        {
            File.WriteAllLines(Path.Combine(dir, result.Scenario + "-throughput.dat"),
                result.Bars.Select(b => string.Create(CultureInfo.InvariantCulture, $"\"{b.Label.Replace('"', '\'')}\" {b.Value}")));
        }

        if (plotScript is null || !File.Exists(plotScript))
        {
            return $"bench/plot.sh not found next to the harness ({plotScript ?? "?"})";
        }

        try
        {
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string arg in (string[])[plotScript, dir, result.Scenario, result.LatencyPlotTitle, result.BarUnit])
            {
                start.ArgumentList.Add(arg);
            }

            if (quick)
            {
                start.Environment["FLASHWAL_PLOT_NO_INSTALL"] = "1";
            }

            using Process process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : output.Trim().Split('\n').LastOrDefault()?.Trim() ?? $"plot.sh exited {process.ExitCode}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "bash could not run plot.sh: " + e.Message;
        }
    }
}

/// <summary>The machine a result comes from.</summary>
internal sealed record MachineInfo(int Cores, string Cpu, string Kernel, string Runtime, string TempDir, string TempFileSystem)
{
    public static MachineInfo Current()
    {
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.VersionString;
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : "?";
        string temp = Path.GetTempPath();
        return new MachineInfo(Environment.ProcessorCount, cpu, kernel, ".NET " + Environment.Version, temp, FileSystemOf(temp));
    }

    /// <summary>The type of the file system holding <paramref name="path"/> (the longest mount point that contains it).</summary>
    public static string FileSystemOf(string path)
    {
        if (!File.Exists("/proc/mounts"))
        {
            return "?";
        }

        string full = Path.GetFullPath(path);
        string best = "";
        string type = "?";
        foreach (string line in File.ReadLines("/proc/mounts"))
        {
            string[] f = line.Split(' ');
            if (f.Length > 2 && (full == f[1] || full.StartsWith(f[1].TrimEnd('/') + "/", StringComparison.Ordinal)) && f[1].Length >= best.Length)
            {
                best = f[1];
                type = f[2];
            }
        }

        return type;
    }

    public string Describe() =>
        $"Machine: {Cores} cores ({Cpu}), kernel {Kernel}, {Runtime}, temp dir {TempDir} on {TempFileSystem}, {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC";
}

/// <summary>Per-operation timing helpers.</summary>
/// <summary>What <see cref="Timing.Interruptions"/> found: interruptions a second, their mean and p99 length (µs), and the share of the core they took.</summary>
internal sealed record HostInterruptions(double PerSecond, double MeanUs, double P99Us, double LostPercent)
{
    public override string ToString() =>
        $"{PerSecond:N0} interruptions a second of the measuring thread (gaps > 2 µs between two clock reads), mean {MeanUs:F1} µs, p99 {P99Us:F1} µs, {LostPercent:F2} % of the core";

    /// <summary>The expected share of operations of <paramref name="ns"/> ns that an interruption lands in.</summary>
    public double ShareHit(double ns) => PerSecond * ns / 1e9;
}

internal static class Timing
{
    public static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>The cost of the two timestamp reads that bracket every timed operation (median of several rounds, ns).</summary>
    public static double TimerOverheadNs()
    {
        var rounds = new List<double>();
        for (int r = 0; r < 5; r++)
        {
            const int n = 200_000;
            long min = long.MaxValue;
            long total = 0;
            for (int i = 0; i < n; i++)
            {
                long a = Stopwatch.GetTimestamp();
                long b = Stopwatch.GetTimestamp();
                total += b - a;
                min = Math.Min(min, b - a);
            }

            rounds.Add(total * NsPerTick / n);
        }

        return Stats.Median(rounds);
    }

    public static long Ns(long ticks) => (long)(ticks * NsPerTick);

    /// <summary>
    /// How often the host takes this thread's core away, and for how long: the clock is read back to
    /// back for <paramref name="duration"/>, and every gap between two reads longer than 2 µs is an
    /// interruption (a timer tick, the hypervisor, another thread). Any operation of w ns is hit with a
    /// probability of about w × the rate, whatever it does: that sets the tail percentiles no code can beat.
    /// </summary>
    public static HostInterruptions Interruptions(TimeSpan duration)
    {
        long threshold = (long)(2000 / NsPerTick);
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var gaps = new List<long>(100_000);
        long previous = start;
        while (previous < end)
        {
            long now = Stopwatch.GetTimestamp();
            if (now - previous > threshold && gaps.Count < gaps.Capacity)
            {
                gaps.Add(now - previous);
            }

            previous = now;
        }

        double seconds = (previous - start) / (double)Stopwatch.Frequency;
        gaps.Sort();
        double lost = gaps.Sum() * NsPerTick / 1e9;
        return new HostInterruptions(gaps.Count / seconds,
            gaps.Count == 0 ? 0 : gaps.Average() * NsPerTick / 1000,
            gaps.Count == 0 ? 0 : gaps[(int)Math.Min(gaps.Count - 1, gaps.Count * 0.99)] * NsPerTick / 1000,
            100 * lost / seconds);
    }

    /// <summary>The timestamp at which event <paramref name="index"/> of a paced run is due.</summary>
    public static long Due(long start, long index, double ticksPerEvent) => start + (long)(index * ticksPerEvent);

    /// <summary>Ticks between events at <paramref name="eventsPerSecond"/>.</summary>
    public static double TicksPerEvent(double eventsPerSecond) => Stopwatch.Frequency / eventsPerSecond;
}
