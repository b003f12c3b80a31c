using System.Diagnostics;

namespace FlashWal.Tests.Support;

/// <summary>
/// A tmpfs of a few hundred KiB mounted for one test (Linux, as root), to make a disk really full or
/// really read-only. Unmounted on dispose.
/// </summary>
public sealed class SmallFileSystem : IDisposable
{
    public SmallFileSystem(string options)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flashwal-tests", "mnt-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(Path);
        Run("mount", $"-t tmpfs -o {options} tmpfs {Path}");
    }

    public string Path { get; }

    /// <summary>Why such a test cannot run here, or null when it can.</summary>
    public static string? Unavailable =>
        !OperatingSystem.IsLinux() ? "needs Linux tmpfs" :
        Environment.UserName != "root" ? "needs root to mount a small tmpfs" : null;

    public void Remount(string options) => Run("mount", $"-o remount,{options} {Path}");

    public void Dispose()
    {
        Run("umount", $"-l {Path}", check: false);
        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
        }
    }

    private static void Run(string file, string arguments, bool check = true)
    {
        using Process process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, UseShellExecute = false })!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} failed: {error}");
        }
    }
}

/// <summary>A fact that needs a small tmpfs: skipped, with the reason, where one cannot be mounted.</summary>
public sealed class SmallFileSystemFactAttribute : FactAttribute
{
    public SmallFileSystemFactAttribute()
    {
        if (SmallFileSystem.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
