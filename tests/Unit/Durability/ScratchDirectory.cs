namespace FlashWal.Tests.Durability;

/// <summary>
/// A fresh directory for the power-cut fuzzer, in memory (<c>/dev/shm</c>) where there is one: the
/// simulated disk performs every sync for real, and on tmpfs a sync costs nothing, as on the page cache
/// the model stands for; elsewhere under the system temp folder. Deleted with everything in it on dispose.
/// </summary>
internal sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory()
    {
        string parent = OperatingSystem.IsLinux() && Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(parent, "flashwal-powercut", Guid.NewGuid().ToString("n"));
        try
        {
            Directory.CreateDirectory(Path);
        }
        catch (UnauthorizedAccessException)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flashwal-powercut", Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(Path);
        }
    }

    public string Path { get; }

    public void Dispose() => Delete(Path);

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }
}
