using System.Diagnostics;
using System.Globalization;
using FlashWal.Bench;

// FlashWal benchmarks. Every scenario runs its variants interleaved, in the same process, several
// times, and reports medians side by side: the machines are shared and noisy, so only ratios taken
// in one run mean anything.
string scenario = args.Length > 0 ? args[0] : "help";
if (scenario == "spin" && args.Length > 1)
{
    return NeighbourScenario.Spinner.Spin(int.Parse(args[1], CultureInfo.InvariantCulture)); // the busy neighbour's process
}

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
var scenarios = new Dictionary<string, Func<bool, ScenarioResult>>
{
    ["append-latency"] = AppendLatencyScenario.Run,
    ["append-throughput"] = AppendThroughputScenario.Run,
    ["durability"] = DurabilityScenario.Run,
    ["recovery"] = RecoveryScenario.Run,
    ["host"] = HostScenario.Run,
    ["neighbour"] = NeighbourScenario.Run,
    ["replication"] = ReplicationScenario.Run,
    ["prefault"] = q => Legacy("prefault", PrefaultScenario.Run(q)),
    ["block-size"] = q => Legacy("block-size", BlockSizeScenario.Run(q)),
    ["compression"] = q => Legacy("compression", CompressionScenario.Run(q)),
    ["checksum"] = q => Legacy("checksum", ChecksumScenario.Run(q)),
};

if (!scenarios.ContainsKey(scenario) && scenario != "all")
{
    Console.Error.WriteLine($"usage: FlashWal.Bench <{string.Join('|', scenarios.Keys)}|all> [--quick] [--results DIR]");
    return 2;
}

var machine = MachineInfo.Current();
double timerOverhead = Timing.TimerOverheadNs();
string plotScript = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "plot.sh"));
Console.WriteLine(machine.Describe());
Console.WriteLine($"Timer overhead: {Stats.F(timerOverhead)} ns for two Stopwatch.GetTimestamp reads (included in every latency, nothing subtracted).");
if (Environment.ProcessorCount < 4)
{
    Console.WriteLine($"Note: {Environment.ProcessorCount} cores: background threads (preparer, maintainer, FASTER's flushes) share them with the writer.");
}

var total = Stopwatch.StartNew();
foreach ((string name, Func<bool, ScenarioResult> run) in scenarios.Where(s => scenario == "all" || s.Key == scenario))
{
    Console.WriteLine($"== {name}{(quick ? " (quick)" : "")} ==");
    var watch = Stopwatch.StartNew();
    ScenarioResult result = run(quick);
    ResultWriter.Write(results, result, machine, quick, timerOverhead, plotScript);
    Console.WriteLine(result.Markdown());
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"written: {Path.GetFullPath(Path.Combine(results, name + ".md"))} and .json ({watch.Elapsed.TotalSeconds:F1} s)"));
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total: {total.Elapsed.TotalSeconds:F1} s"));
return 0;

static ScenarioResult Legacy(string name, string markdown)
{
    var result = new ScenarioResult { Scenario = name, Method = markdown };
    return result;
}
