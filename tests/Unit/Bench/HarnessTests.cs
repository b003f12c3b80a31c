using System.Diagnostics;
using System.Text.Json;
using FlashWal.Bench;
using FlashWal.Telemetry;

namespace FlashWal.Tests.Bench;

/// <summary>The benchmark harness's arithmetic and output shape; nothing here is timed.</summary>
public sealed class HarnessTests
{
    [Fact]
    public void Series_takes_each_percentile_from_its_own_field()
    {
        var histogram = new LatencyHistogram();
        for (int v = 1; v <= 100_000; v++)
        {
            histogram.Record(v);
        }

        LatencySeries s = LatencySeries.From("x", histogram.Snapshot());

        Assert.Equal(100_000, s.Count);
        Assert.InRange(s.P50, 50_000, 50_000 * 1.032);
        Assert.InRange(s.P90, 90_000, 90_000 * 1.032);
        Assert.InRange(s.P99, 99_000, 99_000 * 1.032);
        Assert.InRange(s.P999, 99_900, 100_000);
        Assert.InRange(s.P9999, 99_990, 100_000);
        Assert.Equal(100_000, s.Max);
        Assert.Equal(50_000.5, s.Mean, 1);
        Assert.Equal(LatencySeries.Headers.Length, s.Cells().Length);
    }

    [Fact]
    public void Plot_points_sit_at_one_over_one_minus_p_and_the_max_at_the_sample_count()
    {
        var s = new LatencySeries("x", 50_000, 1, 10, 20, 30, 40, 50, 60);

        var points = ResultWriter.PercentilePoints(s).ToList();

        Assert.Equal([(2.0, 10L), (10.0, 20L), (100.0, 30L), (1000.0, 40L), (10000.0, 50L), (50_000.0, 60L)], points);
        Assert.Contains("\"x\" ns", ResultWriter.LatencyData([s]), StringComparison.Ordinal);
    }

    [Fact]
    public void Json_carries_the_machine_the_timer_overhead_and_every_series()
    {
        var result = new ScenarioResult { Scenario = "demo", Method = "m" };
        result.Tables.Add(new ResultTable("t", ["a", "b"], [["1", "2"]]));
        result.Latencies.Add(new LatencySeries("FlashWal", 3, 1.5, 1, 2, 3, 4, 5, 6));
        result.Bars.Add(new Bar("FlashWal", 2.5));
        var machine = new MachineInfo(2, "cpu", "6.18", ".NET 10", "/tmp/", "ext4");

        using JsonDocument json = JsonDocument.Parse(ResultWriter.ToJson(result, machine, quick: true, timerOverheadNs: 21.04));
        JsonElement root = json.RootElement;

        Assert.Equal("demo", root.GetProperty("scenario").GetString());
        Assert.True(root.GetProperty("quick").GetBoolean());
        Assert.Equal(2, root.GetProperty("machine").GetProperty("cores").GetInt32());
        Assert.Equal("ext4", root.GetProperty("machine").GetProperty("tempFileSystem").GetString());
        Assert.Equal(21.0, root.GetProperty("timerOverheadNs").GetDouble());
        Assert.Equal(5, root.GetProperty("latenciesNs")[0].GetProperty("p9999").GetInt64());
        Assert.Equal("2", root.GetProperty("tables")[0].GetProperty("rows")[0][1].GetString());
        Assert.Equal(2.5, root.GetProperty("bars").GetProperty("values")[0].GetProperty("value").GetDouble());
    }

    [Fact]
    public void Pacing_puts_event_n_at_n_over_the_rate()
    {
        double perEvent = Timing.TicksPerEvent(1_000_000);

        Assert.Equal(1000, Timing.Due(1000, 0, perEvent));
        Assert.Equal(1000 + Stopwatch.Frequency, Timing.Due(1000, 1_000_000, perEvent));
        Assert.Equal(1000 + (Stopwatch.Frequency / 10), Timing.Due(1000, 10_000, Timing.TicksPerEvent(100_000)));
    }

    [Fact]
    public void The_file_system_of_a_path_is_that_of_its_longest_mount_point()
    {
        Assert.NotEqual(string.Empty, MachineInfo.FileSystemOf(Path.GetTempPath()));
    }
}
