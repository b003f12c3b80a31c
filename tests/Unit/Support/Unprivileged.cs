using System.Diagnostics;

namespace FlashWal.Tests.Support;

/// <summary>
/// Runs the built <c>flashwal</c> tool as an unprivileged user (nobody, uid and gid 65534) through
/// util-linux's <c>setpriv</c>, so that file permissions really stop it: the tests run as root,
/// which permissions do not stop. The build output and the .NET runtime must be readable by that
/// user; <see cref="Unavailable"/> probes it once and says why not.
/// </summary>
public static class Unprivileged
{
    private const string SetPriv = "/usr/bin/setpriv";
    private static readonly Lazy<string?> s_unavailable = new(Probe);

    /// <summary>Why such a test cannot run here, or null when it can.</summary>
    public static string? Unavailable => s_unavailable.Value;

    /// <summary>A folder an unprivileged user may write (its HOME and DOTNET_CLI_HOME).</summary>
    private static string Home => Path.Combine(Path.GetTempPath(), "flashwal-tests", "nobody-home");

    /// <summary>Runs <c>flashwal <paramref name="args"/></c> as nobody; returns its exit code and output.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        Directory.CreateDirectory(Home);
        File.SetUnixFileMode(Home, (UnixFileMode)0x1FF); // 0777: the user must be able to write it
        var start = new ProcessStartInfo(SetPriv) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "--", Dotnet, Path.Combine(AppContext.BaseDirectory, "flashwal.dll") }.Concat(args))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["HOME"] = Home;
        start.Environment["DOTNET_CLI_HOME"] = Home;
        start.Environment["DOTNET_NOLOGO"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new TimeoutException($"flashwal {string.Join(' ', args)} as nobody did not end within 60 s");
        }

        return (process.ExitCode, output, error.GetAwaiter().GetResult());
    }

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "/usr/bin/dotnet";

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "needs Linux and util-linux's setpriv";
        }

        if (Environment.UserName != "root")
        {
            return "needs root to switch to an unprivileged user (setpriv)";
        }

        if (!File.Exists(SetPriv))
        {
            return $"needs {SetPriv} (util-linux) to run the tool as an unprivileged user";
        }

        try
        {
            var probe = Run("--help");
            return probe.Code == 0 ? null
                : $"the tool does not run as nobody (uid 65534) here, so permissions cannot be tested (exit {probe.Code}: {probe.Err.Trim()}); the build output or the .NET runtime may not be readable by that user";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or TimeoutException)
        {
            return $"cannot run the tool as nobody (uid 65534): {e.Message}";
        }
    }
}

/// <summary>A fact that runs the tool as an unprivileged user: skipped, with the reason, where that cannot be done.</summary>
public sealed class UnprivilegedFactAttribute : FactAttribute
{
    public UnprivilegedFactAttribute()
    {
        if (Unprivileged.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
