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
