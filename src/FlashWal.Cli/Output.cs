using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlashWal.Cli;

/// <summary>Shared output helpers: JSON with enum names, aligned text tables.</summary>
internal static class Output
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Table(TextWriter writer, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, ISet<int>? rightAligned = null)
    {
        var all = rows.ToList();
        int[] widths = headers.Select(h => h.Length).ToArray();
        foreach (IReadOnlyList<string> row in all)
        {
            for (int i = 0; i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        void Line(IReadOnlyList<string> cells)
        {
            var parts = cells.Select((c, i) => i == cells.Count - 1 ? c : rightAligned?.Contains(i) == true ? c.PadLeft(widths[i]) : c.PadRight(widths[i]));
            writer.WriteLine(string.Join("  ", parts).TrimEnd());
        }

        Line(headers);
        Line(widths.Select(w => new string('-', w)).ToList());
        foreach (IReadOnlyList<string> row in all)
        {
            Line(row);
        }
    }
}
