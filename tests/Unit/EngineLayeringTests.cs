using System.Text.RegularExpressions;

namespace FlashWal.Tests;

/// <summary>
/// The engine's folders depend downward only, in the order of the data flow: the bytes on disk, the
/// findings and errors about them and how they reach the disk at the bottom; then threads and
/// telemetry; the judgement of segments and of a directory (scanner, torn end, links, live-log rules,
/// verifier, catalog); the event readers; recording; recovery and repair; hosting on top. Read from
/// the sources: each folder's <c>using FlashWal.X</c> lines and qualified references
/// (<c>Recording.DirectoryLock</c>), comments and strings left out; and each file's namespace is its
/// folder's, so that a file cannot sit in one layer and belong to another.
/// </summary>
public sealed partial class EngineLayeringTests
{
    /// <summary>Bottom first. Folders on one line may use each other.</summary>
    /// <remarks>
    /// Errors, Format and Storage share the bottom: an error carries the finding it reports, a format
    /// file is written through the disk (so that the simulated disk of the power-cut tests sees it),
    /// and a failed sync is an error.
    /// </remarks>
    private static readonly string[][] Layers =
    [
        ["Errors", "Format", "Storage"],
        ["Threading"],
        ["Telemetry"],
        ["Inspection"],
        ["Reading"],
        ["Recording"],
        ["Recovery"],
        ["Hosting"],
    ];

    [Fact]
    public void The_engine_knows_no_transport_and_the_replication_library_uses_only_its_public_surface()
    {
        // Replication to NATS lives in FlashWal.Replication; the engine (and so every recorder) loads no NATS code.
        Assert.DoesNotContain(typeof(Errors.WalException).Assembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("NATS", StringComparison.Ordinal));
        Assert.Contains(typeof(FlashWal.Replication.LogShipper).Assembly.GetReferencedAssemblies(), a => a.Name == "NATS.Client.JetStream");
        Assert.DoesNotContain(typeof(Errors.WalException).Assembly.GetCustomAttributes(typeof(System.Runtime.CompilerServices.InternalsVisibleToAttribute), false)
            .Cast<System.Runtime.CompilerServices.InternalsVisibleToAttribute>(), a => a.AssemblyName.StartsWith("FlashWal.Replication", StringComparison.Ordinal));
    }

    [Fact]
    public void No_engine_folder_uses_a_folder_above_it()
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
        var misplaced = new List<string>();
        foreach (string folder in Directory.GetDirectories(engine).Select(Path.GetFileName).OfType<string>().Where(f => f is not ("bin" or "obj")))
        {
            Assert.True(rank.ContainsKey(folder), $"engine folder {folder} has no layer in {nameof(Layers)}");
            foreach (string file in Directory.GetFiles(Path.Combine(engine, folder), "*.cs", SearchOption.AllDirectories))
            {
                string[] lines = File.ReadAllLines(file);
                if (!lines.Contains($"namespace FlashWal.{folder};"))
                {
                    misplaced.Add(Path.GetRelativePath(engine, file));
                }

                foreach (string used in Uses(lines, rank.Keys))
                {
                    if (used != folder && rank[used] > rank[folder])
                    {
                        upward.TryAdd($"{folder} -> {used}", Path.GetRelativePath(engine, file));
                    }
                }
            }
        }

        Assert.True(misplaced.Count == 0, "engine files whose namespace is not their folder's: " + string.Join("; ", misplaced));
        Assert.True(upward.Count == 0, "engine folders that use a folder above them: " + string.Join("; ", upward.Select(edge => $"{edge.Key} (first in {edge.Value})")));
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
