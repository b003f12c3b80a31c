using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using FlashWal.Storage;

namespace FlashWal.Threading;

/// <summary>
/// Where a thread may run and how readily it yields: a set of CPU cores (<c>sched_setaffinity</c>)
/// and a nice value (<c>setpriority</c> of the thread). For the writer thread, pin it to a core of
/// its own; for the recorder's background threads (preparer, flusher, maintainer), other cores and
/// a higher nice value, so that they never take the writer's core and give way to it on a shared one.
/// </summary>
/// <remarks>
/// Linux only: elsewhere any placement but <see cref="Anywhere"/> is refused when it is applied.
/// Raising a thread's nice value needs no privilege; lowering it below 0 does, and is not offered.
/// </remarks>
public sealed record ThreadPlacement
{
    /// <summary>No pinning and nice 0: the operating system decides.</summary>
    public static ThreadPlacement Anywhere { get; } = new();

    /// <summary>The cores the thread may run on (numbered from 0, as in <c>/proc/cpuinfo</c>); null or empty: any.</summary>
    public IReadOnlyList<int>? Cores { get; init; }

    /// <summary>The thread's nice value, 0 (the default) to 19 (yields to everything else).</summary>
    public int Nice { get; init; }

    /// <summary>Whether this changes anything.</summary>
    public bool IsAnywhere => (Cores is null || Cores.Count == 0) && Nice == 0;

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> when a core is not one this process may run on
    /// (parameter <c>{name}.Cores</c>), or the nice value is out of range (<c>{name}.Nice</c>); the
    /// message starts with <paramref name="name"/>.
    /// </summary>
    public void Validate(string name)
    {
        if (!IsAnywhere && !OperatingSystem.IsLinux())
        {
            throw new ArgumentOutOfRangeException($"{name}.{nameof(Cores)}", ToString(), $"{name}: thread placement (cores, nice) is implemented for Linux only.");
        }

        if (Nice is < 0 or > 19)
        {
            throw new ArgumentOutOfRangeException($"{name}.{nameof(Nice)}", Nice, $"{name}: the nice value must be from 0 to 19 (raising a thread's priority needs privileges FlashWal does not ask for).");
        }

        if (Cores is { Count: > 0 } cores)
        {
            IReadOnlyList<int> allowed = AllowedCores();
            foreach (int core in cores)
            {
                if (!allowed.Contains(core))
                {
                    throw new ArgumentOutOfRangeException($"{name}.{nameof(Cores)}", core,
                        $"{name}: core {core} is not one this process may run on (allowed: {string.Join(',', allowed)}).");
                }
            }
        }
    }

    /// <summary>Applies the placement to the calling thread.</summary>
    /// <exception cref="PlatformNotSupportedException">Not Linux, and the placement is not <see cref="Anywhere"/>.</exception>
    /// <exception cref="InvalidOperationException">The system call failed (the message names it and the error).</exception>
    public void ApplyToCurrentThread()
    {
        if (IsAnywhere)
        {
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Thread placement (cores, nice) is implemented for Linux only.");
        }

        if (Cores is { Count: > 0 } cores)
        {
            Span<ulong> mask = stackalloc ulong[MaskWords];
            mask.Clear();
            foreach (int core in cores)
            {
                mask[core / 64] |= 1UL << (core % 64);
            }

            if (NativeMethods.sched_setaffinity(0, (nuint)(MaskWords * sizeof(ulong)), ref MemoryMarshal.GetReference(mask)) != 0)
            {
                throw Failed($"sched_setaffinity to cores {string.Join(',', cores)}");
            }
        }

        if (Nice != 0 && NativeMethods.setpriority(PrioProcess, (uint)NativeMethods.gettid(), Nice) != 0)
        {
            throw Failed(string.Create(CultureInfo.InvariantCulture, $"setpriority to nice {Nice}"));
        }
    }

    /// <summary>
    /// The cores a thread of this process may be placed on: the online cores, within the cgroup's
    /// cpuset where there is one (every core where neither can be read). Not the calling thread's own
    /// mask, which may be pinned already (a writer placed before the recorder opens).
    /// </summary>
    public static IReadOnlyList<int> AllowedCores()
    {
        if (OperatingSystem.IsLinux() && ReadCoreList("/sys/devices/system/cpu/online") is { } online)
        {
            return ReadCoreList("/sys/fs/cgroup/cpuset.cpus.effective") is { Count: > 0 } cpuset ? [.. online.Intersect(cpuset)] : online;
        }

        return [.. Enumerable.Range(0, Environment.ProcessorCount)];
    }

    /// <summary>The calling thread's own mask, as the kernel reports it.</summary>
    private static IReadOnlyList<int> CurrentThreadCores()
    {
        Span<ulong> mask = stackalloc ulong[MaskWords];
        if (!OperatingSystem.IsLinux() || NativeMethods.sched_getaffinity(0, (nuint)(MaskWords * sizeof(ulong)), ref MemoryMarshal.GetReference(mask)) != 0)
        {
            return AllowedCores();
        }

        var cores = new List<int>();
        for (int core = 0; core < MaskWords * 64; core++)
        {
            if ((mask[core / 64] & (1UL << (core % 64))) != 0)
            {
                cores.Add(core);
            }
        }

        return cores;
    }

    /// <summary>A kernel core list ("0-3,6"), or null when the file is missing or unreadable.</summary>
    private static List<int>? ReadCoreList(string path)
    {
        try
        {
            string text = File.ReadAllText(path).Trim();
            var cores = new List<int>();
            foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                string[] range = part.Split('-');
                int first = int.Parse(range[0], CultureInfo.InvariantCulture);
                int last = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : first;
                for (int core = first; core <= last; core++)
                {
                    cores.Add(core);
                }
            }

            return cores;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>The calling thread's cores and nice value now, as the kernel reports them.</summary>
    public static (IReadOnlyList<int> Cores, int Nice) OfCurrentThread()
    {
        IReadOnlyList<int> cores = CurrentThreadCores();
        if (!OperatingSystem.IsLinux())
        {
            return (cores, 0);
        }

        Marshal.SetLastPInvokeError(0);
        int nice = NativeMethods.getpriority(PrioProcess, (uint)NativeMethods.gettid());
        return (cores, nice);
    }

    /// <summary>"cores 1,2, nice 10", "anywhere".</summary>
    public override string ToString() =>
        IsAnywhere ? "anywhere"
        : string.Join(", ", new[]
        {
            Cores is { Count: > 0 } c ? "cores " + string.Join(',', c) : null,
            Nice != 0 ? string.Create(CultureInfo.InvariantCulture, $"nice {Nice}") : null,
        }.Where(p => p is not null));

    private const int MaskWords = 16; // 1024 CPUs, glibc's cpu_set_t
    private const int PrioProcess = 0;

    private static InvalidOperationException Failed(string call)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{call} failed: {new Win32Exception(errno).Message} (errno {errno})."));
    }
}
