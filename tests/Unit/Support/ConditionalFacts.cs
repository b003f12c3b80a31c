namespace FlashWal.Tests.Support;

/// <summary>A fact that needs Linux; elsewhere it is reported as skipped, with the reason.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute(string why)
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = $"needs Linux: {why}";
        }
    }
}

/// <summary>A fact about file permissions: skipped, with the reason, where they do not apply (root, or not Unix).</summary>
public sealed class PermissionFactAttribute : FactAttribute
{
    public PermissionFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "needs Unix file modes";
        }
        else if (Environment.UserName == "root")
        {
            Skip = "running as root, which file permissions do not stop";
        }
    }
}
