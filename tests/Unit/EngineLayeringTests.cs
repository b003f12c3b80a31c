using System.Text.RegularExpressions;

namespace FlashWal.Tests;

/// <summary>
/// The engine's folders depend downward only, in the order of the data flow: the bytes on disk and
/// the errors about them at the bottom, then files, threads, telemetry, recording, reading, recovery,
/// inspection, and hosting on top. Read from the sources: each folder's <c>using FlashWal.X</c> lines
/// and qualified references (<c>Recording.DirectoryLock</c>), comments left out.
/// </summary>
/// <remarks>
/// The edges that still point upward are listed in <see cref="KnownUpward"/> (issue 16 removes them).
/// A new upward edge fails, and so does a listed one that is gone, so the list only shrinks.
/// </remarks>
public sealed partial class EngineLayeringTests
{
    /// <summary>Bottom first. Folders on one line may use each other.</summary>
    private static readonly string[][] Layers =
    [
        ["Errors", "Format"],
        ["Storage"],
        ["Threading"],
        ["Telemetry"],
        ["Recording"],
        ["Reading"],
        ["Recovery"],
        ["Inspection"],
        ["Hosting"],
    ];

    /// <summary>Upward edges the engine has today, each with what makes it (to be moved down, issue 16).</summary>
    private static readonly Dictionary<string, string> KnownUpward = new(StringComparer.Ordinal)
    {
        ["Errors -> Inspection"] = "WalCorruptionException carries a Finding",
        ["Format -> Inspection"] = "Finding, SegmentScanner",
        ["Format -> Storage"] = "Disk, MappedFile",
        ["Reading -> Inspection"] = "SegmentScanner, SegmentLink, LiveLog",
        ["Reading -> Recovery"] = "WalCatalog's judgement of a log at rest",
        ["Recording -> Inspection"] = "Finding, SegmentScanner, TornEnd",
        ["Recording -> Reading"] = "SegmentReader",
        ["Recovery -> Inspection"] = "the verifier's set checks that the catalog reuses",
    };

    [Fact]
    public void No_engine_folder_uses_a_folder_above_it_beyond_the_known_edges()
    {
        string engine = Path.Combine(RepositoryRoot(), "src", "FlashWal.Engine");
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Layers.Length; i++)
        {
            foreach (string folder in Layers[i])
            {
                rank[folder] = i;
            }
        }

        var upward = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string folder in Directory.GetDirectories(engine).Select(Path.GetFileName).OfType<string>().Where(f => f is not ("bin" or "obj")))
        {
            Assert.True(rank.ContainsKey(folder), $"engine folder {folder} has no layer in {nameof(Layers)}");
            foreach (string file in Directory.GetFiles(Path.Combine(engine, folder), "*.cs", SearchOption.AllDirectories))
            {
                foreach (string used in Uses(File.ReadAllLines(file), rank.Keys))
                {
                    if (used != folder && rank[used] > rank[folder])
                    {
                        upward.TryAdd($"{folder} -> {used}", Path.GetRelativePath(engine, file));
                    }
                }
            }
        }

        string[] added = [.. upward.Keys.Except(KnownUpward.Keys).Select(edge => $"{edge} (first in {upward[edge]})")];
        Assert.True(added.Length == 0, "engine folders that use a folder above them: " + string.Join("; ", added));
        string[] gone = [.. KnownUpward.Keys.Except(upward.Keys)];
        Assert.True(gone.Length == 0, $"edges no longer there: remove them from {nameof(KnownUpward)}: " + string.Join("; ", gone));
    }

    /// <summary>The folders a source file names: in <c>using FlashWal.X</c> lines and as qualified references, outside comments and strings.</summary>
    private static IEnumerable<string> Uses(IEnumerable<string> lines, IEnumerable<string> folders)
    {
        var known = new HashSet<string>(folders, StringComparer.Ordinal);
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            line = StringLiteral().Replace(line, "\"\"");
            int comment = line.IndexOf("//", StringComparison.Ordinal);
            if (comment >= 0)
            {
                line = line[..comment];
            }

            foreach (Match m in Reference().Matches(line))
            {
                if (known.Contains(m.Groups["folder"].Value))
                {
                    yield return m.Groups["folder"].Value;
                }
            }
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlashWal.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No directory above {AppContext.BaseDirectory} holds FlashWal.sln.");
    }

    /// <summary><c>FlashWal.X</c> anywhere, or <c>X.Type</c> not preceded by a name or a dot.</summary>
    [GeneratedRegex(@"(?:\bFlashWal\.|(?<![\w.]))(?<folder>[A-Z][A-Za-z]+)\.(?=[A-Z])|\busing FlashWal\.(?<folder>[A-Z][A-Za-z]+)\s*;")]
    private static partial Regex Reference();

    [GeneratedRegex(@"\$?@?""(?:[^""\\]|\\.)*""")]
    private static partial Regex StringLiteral();
}
