using System.Diagnostics;
using System.Globalization;
using System.Text;
using FlashWal.Bench;

// FlashWal benchmarks. Every scenario runs its variants interleaved, in the same process, several
// times, and reports medians side by side: the machines are shared and noisy, so only ratios taken
// in one run mean anything.
string scenario = args.Length > 0 ? args[0] : "help";
bool quick = args.Contains("--quick");
string results = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results");
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--results")
    {
        results = args[i + 1];
    }
}

Directory.CreateDirectory(results);
var scenarios = new Dictionary<string, Func<bool, string>>
{
    ["prefault"] = PrefaultScenario.Run,
    ["block-size"] = BlockSizeScenario.Run,
    ["compression"] = CompressionScenario.Run,
    ["recovery"] = RecoveryScenario.Run,
    ["checksum"] = ChecksumScenario.Run,
};

if (!scenarios.ContainsKey(scenario) && scenario != "all")
{
    Console.Error.WriteLine($"usage: FlashWal.Bench <{string.Join('|', scenarios.Keys)}|all> [--quick] [--results DIR]");
    return 2;
}

var machine = Machine.Describe();
foreach ((string name, Func<bool, string> run) in scenarios.Where(s => scenario == "all" || s.Key == scenario))
{
    Console.WriteLine($"== {name}{(quick ? " (quick)" : "")} ==");
    string table = run(quick);
    string report = $"# {name}\n\n{machine}\n\n{table}\n";
    string file = Path.Combine(results, name + ".md");
    File.WriteAllText(file, report, Encoding.UTF8);
    Console.WriteLine(table);
    Console.WriteLine($"written: {Path.GetFullPath(file)}");
}

return 0;

namespace FlashWal.Bench
{
    internal static class Machine
    {
        public static string Describe()
        {
            string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.VersionString;
            string cpu = File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
                : "?";
            return string.Create(CultureInfo.InvariantCulture,
                $"Machine: {Environment.ProcessorCount} cores ({cpu}), kernel {kernel}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; temp dir {Path.GetTempPath()}");
        }
    }

    internal static class Stats
    {
        public static double Median(List<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        }

        public static string F(double value, int digits = 1) => value.ToString("F" + digits, CultureInfo.InvariantCulture);

        public static string Table(string[] headers, IEnumerable<string[]> rows)
        {
            var text = new StringBuilder();
            text.AppendLine("| " + string.Join(" | ", headers) + " |");
            text.AppendLine("|" + string.Concat(headers.Select(_ => "---|")));
            foreach (string[] row in rows)
            {
                text.AppendLine("| " + string.Join(" | ", row) + " |");
            }

            return text.ToString();
        }

        public static string TempDir()
        {
            string dir = Path.Combine(Path.GetTempPath(), "flashwal-bench", Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(dir);
            return dir;
        }

        public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

        /// <summary>Keeps a measurement unless it comes from the warm-up repetition (-1).</summary>
        public static void Record<T>(Dictionary<T, List<double>> into, T key, int repetition, double value)
            where T : notnull
        {
            if (repetition >= 0)
            {
                into[key].Add(value);
            }
        }
    }
}
