using System.Diagnostics;

namespace FlashWal.Tests.Support;

/// <summary>
/// Debian's <c>strace</c>, which fails chosen system calls of a real process (<c>-e inject=fsync:error=EIO</c>):
/// the real-kernel check of what the model disks only simulate. <c>build.ps1</c> (the test command, and so <c>.ci/run</c>) installs it; when its
/// apt-get could not, it says why in <see cref="InstallFailedVariable"/>, and only then are the tests
/// that need it skipped (with that reason). Anywhere else a missing strace fails them, saying so.
/// </summary>
internal static class Strace
{
    /// <summary>Set by <c>build.ps1</c> to why strace could not be installed.</summary>
    public const string InstallFailedVariable = "FLASHWAL_STRACE_INSTALL_FAILED";

    private static readonly Lazy<string?> s_path = new(Find);

    /// <summary>Where strace is, or null when it is not on the PATH.</summary>
    public static string? Path => s_path.Value;

    /// <summary>Why the strace tests are skipped here, or null when they run.</summary>
    public static string? SkipReason =>
        !OperatingSystem.IsLinux() ? "needs Linux: strace injects errors through ptrace"
        : Path is null && Environment.GetEnvironmentVariable(InstallFailedVariable) is { Length: > 0 } why
            ? $"{why}"
            : null;

    /// <summary>The strace to use; fails the test, naming the way on, when there is none.</summary>
    public static string Require() =>
        Path ?? throw new InvalidOperationException(
            $"strace is not installed: the project's scripts install it (build.ps1 runs 'apt-get install -y strace' as root); install it, or set {InstallFailedVariable} to why it cannot be to skip these tests");

    /// <summary>
    /// Runs <c>strace <paramref name="straceArguments"/> -o <paramref name="trace"/> -- dotnet flashwal.dll
    /// <paramref name="arguments"/></c> (the tool this test project built); returns the tool's exit
    /// code and output. Kills it all after <paramref name="timeout"/>, failing the test.
    /// </summary>
    public static (int Code, string Out, string Err) RunTool(IEnumerable<string> straceArguments, string trace, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Require()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in straceArguments.Concat(["-o", trace, "--", Dotnet, System.IO.Path.Combine(AppContext.BaseDirectory, "flashwal.dll")]).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"strace ... flashwal {string.Join(' ', arguments)} did not end within {timeout.TotalSeconds} s (a hang after a failed sync?); stderr:\n{error.GetAwaiter().GetResult()}");
        }

        process.WaitForExit(); // the output streams are complete
        return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    /// <summary>
    /// Null when strace can trace a process and fail its fsync with EIO here; else what went wrong
    /// (ptrace may be forbidden in a container).
    /// </summary>
    public static string? CannotInject()
    {
        string file = System.IO.Path.GetTempFileName();
        string trace = file + ".trace";
        try
        {
            var start = new ProcessStartInfo(Require()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string argument in new[] { "-qq", "-o", trace, "-e", "trace=fsync", "-e", "inject=fsync:error=EIO", "--", "sync", file })
            {
                start.ArgumentList.Add(argument); // coreutils' sync FILE fsyncs it
            }

            using Process process = Process.Start(start)!;
            Task<string> error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(30_000))
            {
                process.Kill(entireProcessTree: true);
                return "strace -e inject=fsync:error=EIO sync FILE did not end within 30 s";
            }

            string traced = File.Exists(trace) ? File.ReadAllText(trace) : "";
            return process.ExitCode != 0 && traced.Contains("EIO (Input/output error) (INJECTED)", StringComparison.Ordinal) ? null
                : $"strace -e inject=fsync:error=EIO sync FILE did not fail the fsync here (exit {process.ExitCode}): {output}{error.GetAwaiter().GetResult()}{traced}".Trim();
        }
        finally
        {
            File.Delete(file);
            File.Delete(trace);
        }
    }

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    private static string? Find()
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(directory, "strace");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A fact that needs strace: skipped, with the reason, only where build.ps1 could not install it (or off Linux).</summary>
public sealed class StraceFactAttribute : FactAttribute
{
    public StraceFactAttribute()
    {
        if (Strace.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
