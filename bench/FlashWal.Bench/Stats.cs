using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace FlashWal.Bench;

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
