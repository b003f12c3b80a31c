using System.Runtime.CompilerServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Storage;
using Microsoft.Win32.SafeHandles;

namespace FlashWal.Tests.Durability;

/// <summary>How a <see cref="SimulatedDisk"/> behaves and what it reports to.</summary>
internal sealed record SimulatedDiskOptions
{
    /// <summary>Where cuts are materialized: one sub-folder per cut (<c>cut0001</c>, …). Created when needed.</summary>
    public required string CutsDirectory { get; init; }

    /// <summary>Seeds the choice of pages <see cref="PowerCutModel.Writeback"/> writes back.</summary>
    public int Seed { get; init; }

    /// <summary>Which syncs fail (EIO). Null: none.</summary>
    public Func<SyncCall, bool>? FailSync { get; init; }

    /// <summary>
    /// Read inside the disk's lock at the instant of every cut: the highest event id the engine had
    /// reported durable by then (e.g. <c>recorder.DurableEventId</c>). Null: 0.
    /// </summary>
    public Func<long>? ReportedDurable { get; init; }

    /// <summary>Called inside the disk's lock before each operation takes effect (after a cut scheduled there).</summary>
    public Action<DiskOperation>? Observe { get; init; }

    /// <summary>
    /// One fdatasync in this many (seeded; 0: none) takes a millisecond before it starts, as a real one
    /// takes while it writes: the flusher's writes and the other threads' syncs go on meanwhile.
    /// </summary>
    public int SlowSyncOneIn { get; init; }

    /// <summary>
    /// How late a failed sync returns its error (after its pages were dropped, outside the disk's lock): a
    /// failing write takes the kernel time (retries, timeouts), and in Linux, of two syncs of the same
    /// dropped pages through one file, one gets EIO and the other success. Zero: at once.
    /// </summary>
    public TimeSpan FailedSyncLatency { get; init; }

    /// <summary>Called by a failed sync just before it throws (outside the lock): a test holds the failure back with it, to let another thread's sync run first.</summary>
    public Action<SyncCall>? FailedSyncReturns { get; init; }
}

/// <summary>
/// A <see cref="Disk"/> that performs every operation for real (the files in its root directory are
/// the current state, the page cache) and keeps a model of what is <b>durable</b>, from which it
/// produces the state a power cut leaves (<see cref="PowerCutModel"/>), as a new real directory.
/// </summary>
/// <remarks>
/// <para><b>The model.</b> Files are nodes whose identity survives renames: a stream created or opened
/// through the disk maps to its node, paths map to nodes through the current namespace. Each file has a
/// durable size and durable content (by 4 KiB page; a page never synced reads as zeros), each directory
/// a durable set of entries (name → node). <see cref="Sync"/> makes all of a file's pages and its size
/// durable, and so does <see cref="SyncData"/> (fdatasync: the size a preallocated file's data needs is
/// its size already); <see cref="SyncDirectory"/> makes a directory's current entries durable. Syncs read
/// the current bytes through the file handle. Files and directories present when the disk is attached
/// start fully durable.</para>
/// <para><b>Cuts</b> are taken at the N-th operation (<see cref="ScheduleCut"/>, just before it takes
/// effect) while the run goes on, or when asked (<see cref="Cut"/>). A cut and every update of the model
/// hold one lock, and the <see cref="SimulatedDiskOptions.ReportedDurable"/> probe is read inside it: an
/// id the engine reported durable before the cut's instant followed a sync the model has already
/// applied, and an id reported after it is not counted.</para>
/// <para>The recorder writes segments only with positioned writes through the disk (<see cref="Write"/>),
/// each one an operation a cut can come before; writeback of pages no sync covered is what
/// <see cref="PowerCutModel.Writeback"/> draws. Not modelled: files the engine changes without the disk
/// (the lock and owner files) are copied as they are.</para>
/// </remarks>
internal sealed class SimulatedDisk : Disk
{
    public const int PageSize = 4096;

    private readonly object _gate = new();
    private readonly string _root;
    private readonly DirectoryNode _rootNode = new();
    private readonly ConditionalWeakTable<FileStream, FileNode> _streams = [];
    private readonly List<(long Operation, PowerCutModel Model)> _scheduled = [];
    private readonly List<PowerCut> _cuts = [];
    private readonly List<string> _cutErrors = [];
    private readonly List<SyncCall> _failed = [];
    private readonly SimulatedDiskOptions _options;
    private readonly Random _writeback;
    private readonly Random _slow;
    private long _operations;
    private int _syncs;

    /// <summary>Attaches to <paramref name="root"/> (which must exist): everything in it now is durable.</summary>
    public SimulatedDisk(string root, SimulatedDiskOptions options)
    {
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _options = options;
        _writeback = new Random(options.Seed);
        _slow = new Random(options.Seed + 1);
        if (!Directory.Exists(_root))
        {
            throw new DirectoryNotFoundException($"The simulated disk's root '{_root}' does not exist.");
        }

        Attach(_rootNode, _root);
    }

    /// <summary>The directory whose files the disk models.</summary>
    public string Root => _root;

    /// <summary>Operations so far.</summary>
    public long Operations
    {
        get
        {
            lock (_gate)
            {
                return _operations;
            }
        }
    }

    /// <summary>The cuts taken so far, in order.</summary>
    public IReadOnlyList<PowerCut> Cuts
    {
        get
        {
            lock (_gate)
            {
                return [.. _cuts];
            }
        }
    }

    /// <summary>Syncs that failed because <see cref="SimulatedDiskOptions.FailSync"/> said so.</summary>
    public IReadOnlyList<SyncCall> FailedSyncs
    {
        get
        {
            lock (_gate)
            {
                return [.. _failed];
            }
        }
    }

    /// <summary>Cuts that could not be materialized (the test's own failure, never the engine's): why.</summary>
    public IReadOnlyList<string> CutErrors
    {
        get
        {
            lock (_gate)
            {
                return [.. _cutErrors];
            }
        }
    }

    /// <summary>Takes a cut under <paramref name="model"/> just before operation <paramref name="operation"/> (from 1) takes effect.</summary>
    public void ScheduleCut(long operation, PowerCutModel model)
    {
        lock (_gate)
        {
            _scheduled.Add((operation, model));
            _scheduled.Sort((a, b) => a.Operation.CompareTo(b.Operation));
        }
    }

    /// <summary>Cuts the power now: the state after every operation so far, under <paramref name="model"/>.</summary>
    public PowerCut Cut(PowerCutModel model)
    {
        lock (_gate)
        {
            return TakeCut(model, _operations, "end (explicit cut)");
        }
    }

    public override FileStream CreateNew(string path, long length)
    {
        lock (_gate)
        {
            Begin("create", path);
            FileStream stream = base.CreateNew(path, length);
            var node = new FileNode();
            _streams.AddOrUpdate(stream, node);
            if (Locate(path) is (DirectoryNode parent, string name))
            {
                parent.Current[name] = node;
            }

            return stream;
        }
    }

    public override FileStream OpenForWrite(string path)
    {
        lock (_gate)
        {
            Begin("open", path);
            FileStream stream = base.OpenForWrite(path);
            FileNode node = Locate(path) is (DirectoryNode parent, string name) && parent.Current.TryGetValue(name, out Node? found) && found is FileNode file
                ? file
                : new FileNode(); // not created through the disk: nothing of it is known to be durable
            _streams.AddOrUpdate(stream, node);
            return stream;
        }
    }

    public override void Write(FileStream file, ReadOnlySpan<byte> bytes, long offset)
    {
        lock (_gate)
        {
            Begin("write", file.Name);
            base.Write(file, bytes, offset);
        }
    }

    public override void Sync(FileStream file, string path) => SyncFile(file, path, "fsync");

    /// <summary>fdatasync: the same as fsync here (the model keeps no timestamps).</summary>
    public override void SyncData(FileStream file, string path) => SyncFile(file, path, "fdatasync");

    private void SyncFile(FileStream file, string path, string call)
    {
        if (_options.SlowSyncOneIn > 0 && call == "fdatasync")
        {
            lock (_gate)
            {
                if (_slow.Next(_options.SlowSyncOneIn) == 0)
                {
                    Thread.Sleep(1);
                }
            }
        }

        SyncCall? failure;
        lock (_gate)
        {
            Begin(call, path);
            FileNode node = NodeOf(file);
            byte[] current = ReadAll(file.SafeFileHandle);
            failure = Fails(call, path);
            if (failure is null)
            {
                if (call == "fsync")
                {
                    base.Sync(file, path);
                }
                else
                {
                    base.SyncData(file, path);
                }

                byte[] durable = (byte[])current.Clone();
                foreach (long page in node.Poisoned.Keys)
                {
                    if (node.Dropped(page, PageOf(current, page)))
                    {
                        CopyPage(node.Durable, durable, page); // what the kernel dropped never reaches the disk
                    }
                }

                node.Durable = durable;
                node.DurableSize = current.Length;
                return;
            }

            Poison(node, current, 0, Pages(current.Length));
        }

        throw Failed(failure.Value);
    }

    public override void Rename(string from, string to, bool replace)
    {
        lock (_gate)
        {
            Begin("rename", from + " -> " + Path.GetFileName(to));
            base.Rename(from, to, replace);
            if (Locate(from) is (DirectoryNode source, string fromName) && source.Current.Remove(fromName, out Node? node)
                && Locate(to) is (DirectoryNode target, string toName))
            {
                target.Current[toName] = node;
            }
        }
    }

    public override void Delete(string path)
    {
        lock (_gate)
        {
            Begin("delete", path);
            base.Delete(path);
            if (Locate(path) is (DirectoryNode parent, string name))
            {
                parent.Current.Remove(name);
            }
        }
    }

    public override void SyncDirectory(string directory)
    {
        SyncCall? failure;
        lock (_gate)
        {
            Begin("fsync of the directory", directory);
            failure = Fails("fsync of the directory", directory);
            if (failure is null)
            {
                base.SyncDirectory(directory);
                if (DirectoryAt(directory) is { } node)
                {
                    node.Durable = new Dictionary<string, Node>(node.Current, StringComparer.Ordinal);
                }

                return;
            }
        }

        throw Failed(failure.Value);
    }

    /// <summary>
    /// The base creates each missing directory and syncs it into its parent through
    /// <see cref="SyncDirectory"/>; the model learns of each one just before, so that the parent's sync
    /// makes its entry durable.
    /// </summary>
    public override void CreateDirectory(string directory)
    {
        var added = new List<(DirectoryNode Parent, string Name)>();
        lock (_gate)
        {
            Begin("mkdir", directory);
            string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
            var missing = new Stack<string>();
            for (string? d = full; d is not null && !Directory.Exists(d) && IsUnderRoot(d); d = Path.GetDirectoryName(d))
            {
                missing.Push(d);
            }

            while (missing.TryPop(out string? create))
            {
                if (Locate(create) is (DirectoryNode parent, string name) && !parent.Current.ContainsKey(name))
                {
                    parent.Current[name] = new DirectoryNode();
                    added.Add((parent, name));
                }
            }
        }

        try
        {
            base.CreateDirectory(directory);
        }
        catch
        {
            lock (_gate)
            {
                foreach ((DirectoryNode parent, string name) in added)
                {
                    if (!Directory.Exists(Path.Combine(PathOf(parent) ?? "", name)))
                    {
                        parent.Current.Remove(name);
                    }
                }
            }

            throw;
        }
    }

    // ---- the model ----

    private abstract class Node;

    private sealed class FileNode : Node
    {
        /// <summary>Durable bytes from offset 0; pages never synced are zeros, and so is anything past the array.</summary>
        public byte[] Durable = [];

        public long DurableSize;

        /// <summary>
        /// Pages a failed sync was to write, with their content then: the kernel dropped that content
        /// (marked clean, never written), so it never becomes durable. A page written again after the
        /// failure is dirty again, and a later sync writes it whole.
        /// </summary>
        public Dictionary<long, byte[]> Poisoned = [];

        /// <summary>Whether <paramref name="page"/> still holds what a failed sync dropped (<paramref name="current"/>: the page now).</summary>
        public bool Dropped(long page, ReadOnlySpan<byte> current) => Poisoned.TryGetValue(page, out byte[]? dropped) && current.SequenceEqual(dropped);
    }

    private sealed class DirectoryNode : Node
    {
        public Dictionary<string, Node> Current = new(StringComparer.Ordinal);

        public Dictionary<string, Node> Durable = new(StringComparer.Ordinal);
    }

    private static long Pages(long bytes) => (bytes + PageSize - 1) / PageSize;

    private static void Attach(DirectoryNode node, string path)
    {
        foreach (string file in Directory.GetFiles(path))
        {
            byte[] content = File.ReadAllBytes(file);
            node.Current[Path.GetFileName(file)] = new FileNode { Durable = content, DurableSize = content.Length };
        }

        foreach (string sub in Directory.GetDirectories(path))
        {
            var child = new DirectoryNode();
            Attach(child, sub);
            node.Current[Path.GetFileName(sub)] = child;
        }

        node.Durable = new Dictionary<string, Node>(node.Current, StringComparer.Ordinal);
    }

    /// <summary>Counts the operation, takes the cuts scheduled at it (before it takes effect) and tells the observer.</summary>
    private void Begin(string kind, string path, long offset = -1, long length = -1)
    {
        long number = ++_operations;
        while (_scheduled.Count > 0 && _scheduled[0].Operation <= number)
        {
            PowerCutModel model = _scheduled[0].Model;
            _scheduled.RemoveAt(0);
            string next = offset >= 0 ? $"{kind} {Path.GetFileName(path)} [{offset}, +{length})" : $"{kind} {Path.GetFileName(path)}";
            try
            {
                TakeCut(model, number - 1, $"operation {number}: {next}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _cutErrors.Add($"cut before operation {number} ({next}): {e.Message}"); // never the engine's problem
            }
        }

        _options.Observe?.Invoke(new DiskOperation(number, kind, path));
    }

    /// <summary>Numbers the sync; the call when <see cref="SimulatedDiskOptions.FailSync"/> fails it, else null.</summary>
    private SyncCall? Fails(string operation, string path, long offset = -1, long length = -1)
    {
        var call = new SyncCall(++_syncs, operation, path, Thread.CurrentThread.Name ?? $"#{Environment.CurrentManagedThreadId}", offset, length);
        if (_options.FailSync?.Invoke(call) != true)
        {
            return null;
        }

        _failed.Add(call);
        return call;
    }

    /// <summary>
    /// The error of a failed sync, returned <see cref="SimulatedDiskOptions.FailedSyncLatency"/> late and
    /// outside the lock: meanwhile another thread's sync of the same dropped pages can return success.
    /// </summary>
    private WalSyncException Failed(SyncCall call)
    {
        if (_options.FailedSyncLatency > TimeSpan.Zero)
        {
            Thread.Sleep(_options.FailedSyncLatency);
        }

        _options.FailedSyncReturns?.Invoke(call);
        return new WalSyncException(call.Path, call.Operation, 5, "Input/output error");
    }

    /// <summary>Marks the pages in [<paramref name="first"/>, <paramref name="end"/>) that differ from their durable content as never to become durable.</summary>
    private static void Poison(FileNode node, byte[] current, long first, long end)
    {
        for (long page = first; page < end; page++)
        {
            if (!PageEquals(current, node.Durable, page))
            {
                node.Poisoned[page] = PageOf(current, page).ToArray();
            }
        }
    }

    private FileNode NodeOf(FileStream stream) =>
        _streams.TryGetValue(stream, out FileNode? node) ? node : throw new InvalidOperationException($"'{stream.Name}' was not opened through the simulated disk.");

    private bool IsUnderRoot(string full) =>
        full.Length > _root.Length && full.StartsWith(_root, StringComparison.Ordinal) && full[_root.Length] == Path.DirectorySeparatorChar;

    /// <summary>The directory node holding <paramref name="path"/>'s entry and the entry's name; null outside the root or below a directory the model does not hold.</summary>
    private (DirectoryNode Parent, string Name)? Locate(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (!IsUnderRoot(full))
        {
            return null;
        }

        string[] parts = full[(_root.Length + 1)..].Split(Path.DirectorySeparatorChar);
        DirectoryNode node = _rootNode;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            if (!node.Current.TryGetValue(parts[i], out Node? child) || child is not DirectoryNode next)
            {
                return null;
            }

            node = next;
        }

        return (node, parts[^1]);
    }

    private DirectoryNode? DirectoryAt(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (full == _root)
        {
            return _rootNode;
        }

        return Locate(full) is (DirectoryNode parent, string name) && parent.Current.TryGetValue(name, out Node? node) ? node as DirectoryNode : null;
    }

    /// <summary>The real path of a directory node in the current namespace, or null.</summary>
    private string? PathOf(DirectoryNode target)
    {
        string? Find(DirectoryNode node, string path)
        {
            if (ReferenceEquals(node, target))
            {
                return path;
            }

            foreach ((string name, Node child) in node.Current)
            {
                if (child is DirectoryNode sub && Find(sub, Path.Combine(path, name)) is { } found)
                {
                    return found;
                }
            }

            return null;
        }

        return Find(_rootNode, _root);
    }

    private static byte[] ReadAll(SafeFileHandle handle)
    {
        byte[] bytes = new byte[RandomAccess.GetLength(handle)];
        int done = 0;
        while (done < bytes.Length)
        {
            int read = RandomAccess.Read(handle, bytes.AsSpan(done), done);
            if (read == 0)
            {
                Array.Resize(ref bytes, done); // shrank under us
                break;
            }

            done += read;
        }

        return bytes;
    }

    private static byte[] ReadAll(string path)
    {
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return ReadAll(handle);
    }

    private static ReadOnlySpan<byte> PageOf(byte[] bytes, long page)
    {
        long start = page * PageSize;
        return start >= bytes.Length ? [] : bytes.AsSpan((int)start, (int)Math.Min(PageSize, bytes.Length - start));
    }

    /// <summary>Whether <paramref name="page"/> reads the same in both (bytes past an array's end read as zeros).</summary>
    private static bool PageEquals(byte[] a, byte[] b, long page)
    {
        ReadOnlySpan<byte> x = PageOf(a, page);
        ReadOnlySpan<byte> y = PageOf(b, page);
        int common = Math.Min(x.Length, y.Length);
        return x[..common].SequenceEqual(y[..common]) && x[common..].IndexOfAnyExcept((byte)0) < 0 && y[common..].IndexOfAnyExcept((byte)0) < 0;
    }

    /// <summary>Copies <paramref name="page"/> of <paramref name="from"/> into <paramref name="to"/> as far as <paramref name="to"/> reaches (zeros where <paramref name="from"/> ends).</summary>
    private static void CopyPage(byte[] from, byte[] to, long page)
    {
        long start = page * PageSize;
        if (start >= to.Length)
        {
            return;
        }

        Span<byte> target = to.AsSpan((int)start, (int)Math.Min(PageSize, to.Length - start));
        ReadOnlySpan<byte> source = PageOf(from, page);
        int common = Math.Min(source.Length, target.Length);
        source[..common].CopyTo(target);
        target[common..].Clear();
    }

    // ---- cuts ----

    private sealed class CutContext(PowerCutModel model, double writebackShare)
    {
        public PowerCutModel Model { get; } = model;

        public double WritebackShare { get; } = writebackShare;

        public int DirtyPages { get; set; }

        public int WrittenBack { get; set; }

        public List<string> Untracked { get; } = [];
    }

    /// <summary>Materializes the state under <paramref name="model"/> into a new folder. Holds the lock.</summary>
    private PowerCut TakeCut(PowerCutModel model, long afterOperations, string next)
    {
        long durable = _options.ReportedDurable?.Invoke() ?? 0; // the instant of the cut
        int number = _cuts.Count + 1;
        string root = Path.Combine(_options.CutsDirectory, $"cut{number:D4}");
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        var context = new CutContext(model, model == PowerCutModel.Writeback ? _writeback.NextDouble() : 0);
        Materialize(_rootNode, _root, root, context);
        var cut = new PowerCut(number, model, afterOperations, next, root, durable)
        {
            DirtyPages = context.DirtyPages,
            PagesWrittenBack = context.WrittenBack,
            Untracked = context.Untracked,
        };
        _cuts.Add(cut);
        return cut;
    }

    /// <summary>
    /// Writes <paramref name="node"/>'s post-cut state into <paramref name="target"/>. <paramref name="source"/>
    /// is its real directory when the node is there in the current namespace, else null.
    /// </summary>
    private void Materialize(DirectoryNode node, string? source, string target, CutContext context)
    {
        Directory.CreateDirectory(target);
        Dictionary<string, Node> entries = context.Model == PowerCutModel.StrictDirectories ? node.Durable : node.Current;
        foreach ((string name, Node child) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            string? current = source is not null && node.Current.TryGetValue(name, out Node? there) && ReferenceEquals(there, child) ? Path.Combine(source, name) : null;
            if (child is DirectoryNode directory)
            {
                Materialize(directory, current, Path.Combine(target, name), context);
            }
            else
            {
                File.WriteAllBytes(Path.Combine(target, name), Image((FileNode)child, current, context));
            }
        }

        if (source is null || !Directory.Exists(source))
        {
            return;
        }

        foreach (string file in Directory.GetFiles(source))
        {
            string name = Path.GetFileName(file);
            if (node.Current.ContainsKey(name))
            {
                continue;
            }

            if (IsFlashWalFile(name))
            {
                context.Untracked.Add(file);
            }

            byte[] content;
            try
            {
                content = ReadAll(file); // the lock and owner files: not the log's data
            }
            catch (FileNotFoundException)
            {
                continue;
            }
            catch (IOException)
            {
                content = []; // the lock file, held by the recorder (empty anyway)
            }

            File.WriteAllBytes(Path.Combine(target, name), content);
        }
    }

    private static bool IsFlashWalFile(string name) =>
        name == MetaCheckpoint.FileName || name.StartsWith(MetaCheckpoint.FileName + ".", StringComparison.Ordinal)
        || name.Contains(SegmentFileName.Extension, StringComparison.Ordinal);

    /// <summary>A file's bytes after the cut: its durable content at the size the model keeps, plus written-back pages under <see cref="PowerCutModel.Writeback"/>.</summary>
    private byte[] Image(FileNode node, string? currentPath, CutContext context)
    {
        byte[]? current = null;
        if (currentPath is not null && context.Model != PowerCutModel.StrictDirectories)
        {
            try
            {
                current = ReadAll(currentPath);
            }
            catch (IOException)
            {
                // Gone, or the lock file a recorder holds: its durable state is all there is to say.
            }
        }

        long size = context.Model == PowerCutModel.StrictDirectories || current is null ? node.DurableSize : current.Length;
        byte[] image = new byte[size];
        node.Durable.AsSpan(0, (int)Math.Min(size, node.Durable.Length)).CopyTo(image);
        if (context.Model == PowerCutModel.Writeback && current is not null)
        {
            for (long page = 0; page < Pages(size); page++)
            {
                if (node.Dropped(page, PageOf(current, page)) || PageEquals(current, image, page))
                {
                    continue;
                }

                context.DirtyPages++;
                if (_writeback.NextDouble() < context.WritebackShare)
                {
                    CopyPage(current, image, page);
                    context.WrittenBack++;
                }
            }
        }

        return image;
    }
}
