using FlashWal.Hosting;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Hosting;

/// <summary>
/// A registry of its own over a fresh temporary directory: every recorder started through it is
/// stopped, and the directory deleted, on dispose. Small segments, so that rotations happen.
/// </summary>
internal sealed class TestRecorders : IDisposable
{
    public static readonly WalRecorderHostOptions Small = new() { Recorder = new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 } };

    private readonly TempDirectory _directory = new();

    public RecorderRegistry Registry { get; } = new();

    /// <summary>The temporary directory.</summary>
    public string Path => _directory.Path;

    /// <summary>A path below the temporary directory (not created).</summary>
    public string Below(string name) => System.IO.Path.Combine(_directory.Path, name);

    /// <summary>Starts <paramref name="name"/> in <see cref="Below"/> its name (or in <paramref name="directory"/>), with <see cref="Small"/> changed by <paramref name="change"/>.</summary>
    public NamedRecorder Start(string name, Func<WalRecorderOptions, WalRecorderOptions>? change = null, string? directory = null) =>
        Registry.Start(name, directory ?? Below(name), Small with { Recorder = change?.Invoke(Small.Recorder) ?? Small.Recorder });

    public void Dispose()
    {
        Registry.StopAll();
        _directory.Dispose();
    }
}
