using System.Security.Cryptography;
using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// Disposing twice changes nothing; every member used after disposal throws
/// <see cref="ObjectDisposedException"/> naming the directory or file, or is a documented no-op.
/// </summary>
public class EngineDisposeTests
{
    [Fact]
    public void A_recorder_disposed_twice_changes_nothing_the_second_time_and_refuses_every_write()
    {
        using var temp = new TempDirectory();
        var recorder = WalRecorder.Open(temp.Path, BadInput.Tiny);
        for (long id = 1; id <= 50; id++)
        {
            recorder.Append(BadInput.Payload(id), (ushort)(id % 7));
        }

        recorder.Dispose();
        Dictionary<string, string> before = Snapshot(temp.Path);
        recorder.Dispose();
        Assert.Equal(before, Snapshot(temp.Path));

        var uses = new Dictionary<string, Action>(StringComparer.Ordinal)
        {
            ["Append(span)"] = () => recorder.Append(new byte[] { 1 }),
            ["Append<T>"] = () => recorder.Append(42L),
            ["Append(id, span) increasing"] = () => recorder.Append(51, new byte[] { 1 }),
            ["Append(id, span) not increasing"] = () => recorder.Append(3, new byte[] { 1 }),
            ["Append(too large)"] = () => recorder.Append(new byte[1 << 20]),
            ["Commit"] = () => recorder.Commit(),
            ["Flush"] = () => recorder.Flush(),
        };
        foreach ((string member, Action use) in uses)
        {
            AssertDisposed(use, temp.Path, member);
        }

        // Deliberate no-ops: the watermarks and telemetry stay readable, a wait for a durable id returns at once.
        Assert.Equal(50, recorder.LastEventId);
        Assert.Equal(50, recorder.DurableEventId);
        Assert.True(recorder.WaitForDurable(50, TimeSpan.Zero));
        Assert.False(recorder.WaitForDurable(51, TimeSpan.Zero));
        Assert.Equal(50, recorder.GetTelemetry().CommittedEventId);
        Assert.Equal(before, Snapshot(temp.Path));
        BadInput.AssertHolds(temp.Path, 50);
    }

    [Fact]
    public async Task A_host_disposed_twice_changes_nothing_and_refuses_every_submission()
    {
        using var temp = new TempDirectory();
        var host = WalRecorderHost.Start(temp.Path, new WalRecorderHostOptions { Recorder = BadInput.Tiny });
        for (long id = 1; id <= 30; id++)
        {
            host.Submit(BadInput.Payload(id), (ushort)(id % 7));
        }

        host.Dispose();
        Dictionary<string, string> before = Snapshot(temp.Path);
        host.Dispose();
        Assert.Equal(before, Snapshot(temp.Path));
        AssertDisposed(() => host.Submit([1]), temp.Path, "Submit");
        AssertDisposed(() => host.Submit([1], 0, SubmitWait.None), temp.Path, "Submit(None)");
        AssertDisposed(() => host.TrySubmit([1]), temp.Path, "TrySubmit");
        AssertDisposed(() => host.SubmitAsync([1]).AsTask(), temp.Path, "SubmitAsync");
        AssertDisposed(() => host.Flush(), temp.Path, "Flush");
        Assert.True(host.IsClosed);
        Assert.Equal(30, host.LastEventId);
        await Task.Yield();
        Assert.Equal(before, Snapshot(temp.Path));
        BadInput.AssertHolds(temp.Path, 30);
    }

    [Fact]
    public void A_segment_reader_disposed_twice_refuses_every_read()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 10);
        string segment = Wal.SegmentPath(temp.Path, 0);
        var reader = SegmentReader.Open(segment);
        Assert.True(reader.TryReadNext(out _));
        reader.Dispose();
        reader.Dispose();
        AssertDisposed(() => reader.TryReadNext(out _), segment, "TryReadNext");
        AssertDisposed(() => reader.SeekTo(3), segment, "SeekTo");
        AssertDisposed(reader.Rewind, segment, "Rewind");
        AssertDisposed(reader.SkipDamage, segment, "SkipDamage");
        Assert.Equal(10, reader.LastEventId); // what the scan found stays readable
    }

    [Fact]
    public void A_compressed_segment_reader_disposed_refuses_every_read()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 10);
        string packed = CompressedSegment.Compress(Wal.SegmentPath(temp.Path, 0));
        var reader = SegmentReader.Open(packed);
        reader.Dispose();
        reader.Dispose();
        AssertDisposed(() => reader.TryReadNext(out _), packed, "TryReadNext");
        AssertDisposed(() => reader.SeekTo(1), packed, "SeekTo");
    }

    [Fact]
    public async Task A_tailer_disposed_twice_refuses_every_read()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 10);
        var tailer = WalTailer.Open(temp.Path);
        Assert.True(tailer.TryReadNext(out _));
        tailer.Dispose();
        tailer.Dispose();
        AssertDisposed(() => tailer.TryReadNext(out _), temp.Path, "TryReadNext");
        AssertDisposed(() => tailer.ReadNext(out _), temp.Path, "ReadNext");
        AssertDisposed(() => tailer.WaitForNext(TimeSpan.FromSeconds(1)), temp.Path, "WaitForNext");
        await Task.Yield();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_event_reader_disposed_twice_refuses_every_read(bool follow)
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 10);
        var reader = follow ? WalEventReader.Follow(temp.Path) : WalEventReader.Open(temp.Path);
        Assert.NotNull(reader.ReadNext());
        reader.Dispose();
        reader.Dispose();
        AssertDisposed(() => reader.TryReadNext(out _), temp.Path, "TryReadNext");
        AssertDisposed(() => reader.ReadNext(), temp.Path, "ReadNext");
        if (!follow)
        {
            Assert.NotNull(reader.Report); // documented: the report stays readable
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_recovery_disposed_twice_refuses_every_replay(bool preloader)
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 10);
        var recovery = WalRecovery.Open(temp.Path, new RecoveryOptions { UsePreloader = preloader });
        Assert.True(recovery.ResumeFrom(1));
        Assert.True(recovery.TryReadNext(out _));
        recovery.Dispose();
        recovery.Dispose();
        AssertDisposed(() => recovery.ResumeFrom(1), temp.Path, "ResumeFrom");
        AssertDisposed(() => recovery.TryReadNext(out _), temp.Path, "TryReadNext");
        AssertDisposed(() => recovery.Run(1), temp.Path, "Run");
        AssertDisposed(() => recovery.Replay(1, _ => { }), temp.Path, "Replay");
        Assert.Equal(RecoveryOutcome.Stopped, recovery.Report.Outcome); // documented: the report stays readable
    }

    private static void AssertDisposed(Action use, string path, string member)
    {
        Exception? thrown = Record.Exception(use);
        var e = Assert.IsType<ObjectDisposedException>(thrown, exactMatch: true);
        Assert.True(e.Message.Contains(path, StringComparison.Ordinal), $"{member}: {e.Message}");
        Assert.True(e.Message.Contains("disposed", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("closed", StringComparison.OrdinalIgnoreCase), $"{member}: {e.Message}");
    }

    /// <summary>Every file under the directory with its hash and last write time.</summary>
    private static Dictionary<string, string> Snapshot(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).ToDictionary(
            f => f,
            f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))) + "@" + File.GetLastWriteTimeUtc(f).Ticks,
            StringComparer.Ordinal);
}
