using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Recording;

namespace FlashWal.Hosting;

/// <summary>
/// The running recorders of a process, by name: what the PowerShell module's recorder cmdlets share.
/// Names are unique (case is ignored), a directory has at most one recorder, lookups take wildcard
/// patterns, and <see cref="StopAll"/> stops everything (the module calls it when it is removed).
/// </summary>
/// <remarks>
/// <see cref="Default"/>, the process's registry, also stops every recorder when the process exits
/// normally (<see cref="AppDomain.ProcessExit"/>) and when it receives SIGTERM, so that a script that
/// ends without stopping its recorders leaves every event it wrote committed, flushed and closed.
/// A killed process (SIGKILL, a crash) leaves what a crash leaves: committed events survive, the tail
/// is torn. Any thread may use a registry.
/// </remarks>
public sealed class RecorderRegistry
{
    private static readonly Lazy<RecorderRegistry> s_default = new(CreateDefault);
    private readonly object _gate = new();
    private readonly Dictionary<string, NamedRecorder> _recorders = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _starting = new(StringComparer.OrdinalIgnoreCase); // name -> directory, while its host opens
    private PosixSignalRegistration? _terminate;

    /// <summary>The process's registry, which stops its recorders when the process exits.</summary>
    public static RecorderRegistry Default => s_default.Value;

    /// <summary>Whether SIGTERM stops the recorders (<see cref="Default"/> on platforms with POSIX signals).</summary>
    internal bool StopsOnSigterm => _terminate is not null;

    /// <summary>Running recorders.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _recorders.Count;
            }
        }
    }

    /// <summary>The name a recorder of <paramref name="directory"/> gets when none is given: the directory's own name.</summary>
    public static string DefaultName(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        string name = Path.GetFileName(full);
        return name.Length > 0 ? name : full;
    }

    /// <summary>
    /// Opens the WAL in <paramref name="directory"/> (created if needed) with a <see cref="WalRecorderHost"/>
    /// and registers it as <paramref name="name"/> (null: <see cref="DefaultName"/>).
    /// </summary>
    /// <exception cref="WalRecorderNameInvalidException">The name cannot name a recorder.</exception>
    /// <exception cref="WalRecorderNameInUseException">A running recorder has the name.</exception>
    /// <exception cref="WalDirectoryLockedException">A recorder of this or another process writes the directory.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (named).</exception>
    public NamedRecorder Start(string? name, string directory, WalRecorderHostOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        name ??= DefaultName(directory);
        NamePattern.ValidateName(name);
        (options ?? new WalRecorderHostOptions()).Validate();
        lock (_gate)
        {
            if (_recorders.TryGetValue(name, out NamedRecorder? taken))
            {
                throw new WalRecorderNameInUseException(taken.Name, taken.Path);
            }

            if (_starting.TryGetValue(name, out string? opening))
            {
                throw new WalRecorderNameInUseException(name, opening);
            }

            foreach ((string holder, string path) in _recorders.Select(r => (r.Key, r.Value.Path)).Concat(_starting.Select(s => (s.Key, s.Value))))
            {
                if (SameDirectory(path, directory))
                {
                    throw new WalDirectoryLockedException(directory, holder);
                }
            }

            _starting.Add(name, directory);
        }

        // Opening recovers the end of the log, which takes a while on a large one: others may look up meanwhile.
        WalRecorderHost? host = null;
        try
        {
            host = WalRecorderHost.Start(directory, options);
            var recorder = new NamedRecorder(this, name, host);
            lock (_gate)
            {
                _starting.Remove(name);
                _recorders.Add(name, recorder);
            }

            return recorder;
        }
        catch
        {
            lock (_gate)
            {
                _starting.Remove(name);
            }

            throw;
        }
    }

    /// <summary>The running recorder named <paramref name="name"/> (case is ignored).</summary>
    public bool TryGet(string name, out NamedRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            return _recorders.TryGetValue(name, out recorder!);
        }
    }

    /// <summary>The running recorder named <paramref name="name"/>.</summary>
    /// <exception cref="WalRecorderNotFoundException">None has that name.</exception>
    public NamedRecorder Get(string name) =>
        TryGet(name, out NamedRecorder recorder) ? recorder : throw new WalRecorderNotFoundException(name);

    /// <summary>The running recorders, by name.</summary>
    public IReadOnlyList<NamedRecorder> List()
    {
        lock (_gate)
        {
            return [.. _recorders.Values.OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase)];
        }
    }

    /// <summary>
    /// The running recorders that match any of <paramref name="patterns"/> (see <see cref="NamePattern"/>),
    /// each once, in the order of the patterns and by name within one. A pattern without wildcards that
    /// matches nothing is added to <paramref name="unmatched"/> (that is an error to report); a wildcard
    /// pattern that matches nothing is not.
    /// </summary>
    /// <exception cref="ArgumentException">A pattern is malformed (a <c>[</c> without its <c>]</c>).</exception>
    public IReadOnlyList<NamedRecorder> Find(IEnumerable<string> patterns, ICollection<string> unmatched)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        ArgumentNullException.ThrowIfNull(unmatched);
        var parsed = patterns.Select(NamePattern.Parse).ToList();
        IReadOnlyList<NamedRecorder> running = List();
        var found = new List<NamedRecorder>();
        foreach (NamePattern pattern in parsed)
        {
            var matches = running.Where(r => pattern.IsMatch(r.Name)).ToList();
            if (matches.Count == 0 && !pattern.HasWildcards)
            {
                unmatched.Add(pattern.Text);
            }

            found.AddRange(matches.Where(m => !found.Contains(m)));
        }

        return found;
    }

    /// <summary>Stops <paramref name="recorder"/> (commits, flushes, closes) and takes it out of the registry.</summary>
    /// <exception cref="WalRecorderCloseException">Closing failed; it is taken out all the same.</exception>
    public void Stop(NamedRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(recorder);
        try
        {
            recorder.Close();
        }
        finally
        {
            lock (_gate)
            {
                if (_recorders.TryGetValue(recorder.Name, out NamedRecorder? registered) && ReferenceEquals(registered, recorder))
                {
                    _recorders.Remove(recorder.Name);
                }
            }
        }
    }

    /// <summary>Stops every running recorder; returns the failures (each recorder is stopped whatever the others do).</summary>
    public IReadOnlyList<WalException> StopAll()
    {
        var failures = new List<WalException>();
        foreach (NamedRecorder recorder in List())
        {
            try
            {
                Stop(recorder);
            }
            catch (WalException e)
            {
                failures.Add(e);
            }
        }

        return failures;
    }

    private static RecorderRegistry CreateDefault()
    {
        var registry = new RecorderRegistry();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => registry.StopAll();
        try
        {
            // Not cancelled: the process still ends, as SIGTERM asks, once the recorders are closed.
            registry._terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => registry.StopAll());
        }
        catch (PlatformNotSupportedException)
        {
        }

        return registry;
    }

    private static bool SameDirectory(string a, string b) =>
        string.Equals(a, b, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
