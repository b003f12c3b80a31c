using System.Buffers.Binary;
using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// What the bad-input matrix shares: the engine's public entry points by the kind of path they take,
/// a log of known events and the check that every one of them is still there, and the assertion that
/// an error has the exact type, id and words.
/// </summary>
internal static class BadInput
{
    /// <summary>8 KiB segments, 4 KiB blocks: a rotation every few dozen events.</summary>
    public static readonly WalRecorderOptions Tiny = new() { SegmentSize = 8192, BlockSize = 4096 };

    /// <summary>Entry points that take a WAL directory (the recorder's open is apart: it creates a missing one).</summary>
    public static readonly Dictionary<string, Action<string>> DirectoryEntryPoints = new(StringComparer.Ordinal)
    {
        ["WalRecovery.Open"] = p => WalRecovery.Open(p).Dispose(),
        ["WalCatalog.Open"] = p => WalCatalog.Open(p),
        ["SegmentVerifier.VerifyDirectory"] = p => SegmentVerifier.VerifyDirectory(p),
        ["WalRepair.Plan"] = p => WalRepair.Plan(p),
        ["WalTailer.Open"] = p => WalTailer.Open(p).Dispose(),
        ["WalEventReader.Follow"] = p => WalEventReader.Follow(p).Dispose(),
        ["WalDirectory.List"] = p => WalDirectory.List(p),
    };

    /// <summary>Entry points that take a directory or a segment file.</summary>
    public static readonly Dictionary<string, Action<string>> AnyPathEntryPoints = new(StringComparer.Ordinal)
    {
        ["WalRecovery.OpenPath"] = p => WalRecovery.OpenPath(p).Dispose(),
        ["WalCatalog.OpenPath"] = p => WalCatalog.OpenPath(p),
        ["WalEventReader.Open"] = p => WalEventReader.Open(p).Dispose(),
        ["SegmentVerifier.Verify"] = p => SegmentVerifier.Verify(p),
    };

    /// <summary>Entry points that take one segment file (plain or compressed).</summary>
    public static readonly Dictionary<string, Action<string>> FileEntryPoints = new(StringComparer.Ordinal)
    {
        ["SegmentReader.Open"] = p => SegmentReader.Open(p).Dispose(),
        ["SegmentReader.Open(salvage)"] = p => SegmentReader.Open(p, salvage: true).Dispose(),
        ["WalRecovery.OpenSegment"] = p => WalRecovery.OpenSegment(p).Dispose(),
        ["WalCatalog.OpenSegment"] = p => WalCatalog.OpenSegment(p),
        ["WalRecovery.OpenPath"] = p => WalRecovery.OpenPath(p).Dispose(),
        ["WalCatalog.OpenPath"] = p => WalCatalog.OpenPath(p),
        ["WalEventReader.Open"] = p => WalEventReader.Open(p).Dispose(),
    };

    /// <summary>Entry points that open a directory for writing.</summary>
    public static readonly Dictionary<string, Action<string>> WriterEntryPoints = new(StringComparer.Ordinal)
    {
        ["WalRecorder.Open"] = p => WalRecorder.Open(p, Tiny).Dispose(),
        ["WalRecorderHost.Start"] = p => WalRecorderHost.Start(p, new WalRecorderHostOptions { Recorder = Tiny }).Dispose(),
        ["WalRepair.Plan.Apply"] = p => WalRepair.Plan(p).Apply(),
    };

    public static TheoryData<string> Names(params Dictionary<string, Action<string>>[] tables)
    {
        var data = new TheoryData<string>();
        foreach (string name in tables.SelectMany(t => t.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            data.Add(name);
        }

        return data;
    }

    public static Action<string> Find(string name, params Dictionary<string, Action<string>>[] tables) =>
        tables.First(t => t.ContainsKey(name))[name];

    /// <summary>
    /// Runs <paramref name="action"/>, which must throw exactly <typeparamref name="T"/> with
    /// <paramref name="errorId"/>, a message holding <paramref name="path"/> and each of
    /// <paramref name="words"/>, and <see cref="WalException.Path"/> equal to <paramref name="path"/>.
    /// </summary>
    public static T Fails<T>(Action action, string path, string errorId, params string[] words)
        where T : WalException
    {
        Exception? thrown = Record.Exception(action);
        Assert.NotNull(thrown);
        T e = Assert.IsType<T>(thrown, exactMatch: true);
        Assert.Equal(errorId, e.ErrorId);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.Path);
        foreach (string word in words)
        {
            Assert.Contains(word, e.Message, StringComparison.OrdinalIgnoreCase);
        }

        return e;
    }

    /// <summary>The payload of event <paramref name="id"/>: its length and bytes follow from the id.</summary>
    public static byte[] Payload(long id) => Wal.Payload(id, (int)(id * 37 % 300));

    /// <summary>Records events 1..<paramref name="count"/> (committing every 10) into <paramref name="directory"/> and closes it.</summary>
    public static void Write(string directory, int count, WalRecorderOptions? options = null)
    {
        using WalRecorder recorder = WalRecorder.Open(directory, options ?? Tiny);
        long first = recorder.LastEventId + 1;
        for (long id = first; id < first + count; id++)
        {
            Assert.Equal(id, recorder.Append(Payload(id), (ushort)(id % 7)));
            if (id % 10 == 0)
            {
                recorder.Commit();
            }
        }
    }

    /// <summary>
    /// The log in <paramref name="directory"/> verifies with no damage, and strict recovery replays
    /// exactly events 1..<paramref name="count"/>, each with its payload and type.
    /// </summary>
    public static void AssertHolds(string directory, long count, Func<long, byte[]>? payload = null)
    {
        Func<long, byte[]> expectedPayload = payload ?? Payload;
        VerificationReport verified = SegmentVerifier.VerifyDirectory(directory);
        Assert.True(verified.IsIntact, string.Join('\n', verified.Findings));
        Assert.False(verified.HasErrors, string.Join('\n', verified.Findings));
        Assert.Equal(count, verified.Events);
        Assert.Equal(count, verified.LastEventId);
        using WalRecovery recovery = WalRecovery.Open(directory, new RecoveryOptions { UsePreloader = false });
        long expected = 1;
        RecoveryReport report = recovery.Run(1, e =>
        {
            Assert.Equal(expected, e.EventId);
            if (payload is null)
            {
                Assert.Equal((ushort)(expected % 7), e.Type);
            }

            Assert.True(e.Payload.SequenceEqual(expectedPayload(expected)), $"payload of event {expected} differs");
            expected++;
        });
        Assert.True(report.IsComplete, $"{report.Outcome} {report.Failure}");
        Assert.Equal(count, report.EventsReplayed);
        Assert.Equal(count + 1, expected);
    }

    /// <summary>
    /// Every event 1..<paramref name="count"/> is still in the log with its payload and type (salvage
    /// replay: damage or a reported gap after them, which a bad input may have left, is allowed).
    /// </summary>
    public static void AssertKept(string directory, long count)
    {
        using WalRecovery recovery = WalRecovery.Open(directory, new RecoveryOptions { Mode = RecoveryMode.Salvage, UsePreloader = false });
        long expected = 1;
        RecoveryReport report = recovery.Run(1, e =>
        {
            Assert.Equal(expected, e.EventId);
            Assert.Equal((ushort)(expected % 7), e.Type);
            Assert.True(e.Payload.SequenceEqual(Payload(expected)), $"payload of event {expected} differs");
            expected++;
        });
        Assert.Equal(count + 1, expected);
        Assert.All(report.Gaps, g => Assert.True(g.FirstEventId > count, $"gap {g.FirstEventId}..{g.LastEventId} inside the kept events"));
    }

    /// <summary>Rewrites the version field of a segment header and its CRC, so that only the version is wrong.</summary>
    public static void SetSegmentVersion(string segment, ushort version)
    {
        byte[] header = new byte[SegmentFormat.HeaderSize];
        using var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite);
        file.ReadExactly(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), version);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(124), SegmentHeader.ComputeCrc(header));
        file.Position = 0;
        file.Write(header);
    }

    /// <summary>Rewrites the version field of a 128-byte container or checkpoint header at <paramref name="offset"/>, and its CRC at 124.</summary>
    public static void SetVersion128(string path, int offset, ushort version)
    {
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset), version);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(124), Crc32C.Compute(bytes.AsSpan(0, 124)));
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a thread of its own whose file-system identity is nobody
    /// (Linux <c>setfsuid</c>/<c>setfsgid</c> are per thread; dropping from 0 also drops the file
    /// capabilities, so permissions apply as to any user), then restores it. Only the calling thread of
    /// the engine is affected: use entry points that do their I/O on it.
    /// </summary>
    public static Exception? AsNobody(Action action)
    {
        Exception? thrown = null;
        Exception? setup = null;
        var thread = new Thread(() =>
        {
            _ = NativeCredentials.setfsgid(Nobody);
            _ = NativeCredentials.setfsuid(Nobody);
            if (NativeCredentials.setfsuid(uint.MaxValue) != Nobody || NativeCredentials.setfsgid(uint.MaxValue) != Nobody)
            {
                setup = new InvalidOperationException("setfsuid/setfsgid did not take effect");
                return;
            }

            try
            {
                action();
            }
            catch (Exception e)
            {
                thrown = e;
            }
            finally
            {
                _ = NativeCredentials.setfsuid(0);
                _ = NativeCredentials.setfsgid(0);
            }
        });
        thread.Start();
        thread.Join();
        return setup is null ? thrown : throw setup;
    }

    private const uint Nobody = 65534;

    /// <summary>Why permissions cannot be made to stop the engine here, or null when they can.</summary>
    public static string? PermissionsUnavailable =>
        !OperatingSystem.IsLinux() ? "needs Linux setfsuid to drop a root thread's file access"
        : Environment.UserName != "root" ? "needs root to switch one thread's file-system identity with setfsuid (as a plain user, chmod alone would do; these tests are written for root)"
        : null;

    private static class NativeCredentials
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int setfsuid(uint fsuid);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int setfsgid(uint fsgid);
    }
}

/// <summary>A fact that needs a thread whose file access permissions deny (see <see cref="BadInput.AsNobody"/>): skipped, with the reason, where none can be had.</summary>
public sealed class PermissionDeniedFactAttribute : FactAttribute
{
    public PermissionDeniedFactAttribute()
    {
        if (BadInput.PermissionsUnavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
