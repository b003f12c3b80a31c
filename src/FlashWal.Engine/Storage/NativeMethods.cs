using System.Runtime.InteropServices;

namespace FlashWal.Storage;

/// <summary>The few Linux system calls .NET does not expose: anonymous mmap, ranged msync, madvise, fdatasync, a directory fsync, statx, and thread placement.</summary>
internal static partial class NativeMethods
{
    internal const int MadvPopulateWrite = 23; // Linux 5.14+
    internal const int MsSync = 4;
    internal const int MadvHugePage = 14;
    internal const int ORdonly = 0;
    internal const int ODirectory = 0x10000; // x86-64 and arm64
    internal const int EInval = 22;
    internal const int AtFdCwd = -100;
    internal const uint StatxIno = 0x100;

    // struct statx (linux/stat.h): the same 256 bytes on every architecture.
    internal const int StatxSize = 256;
    internal const int StatxInoOffset = 32;
    internal const int StatxDevMajorOffset = 136;
    internal const int StatxDevMinorOffset = 140;

    internal const int ProtReadWrite = 0x1 | 0x2;
    internal const int MapPrivateAnonymous = 0x02 | 0x20; // MAP_PRIVATE | MAP_ANONYMOUS (x86-64 and arm64)

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial void* mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int munmap(void* address, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int madvise(void* address, nuint length, int advice);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int msync(void* address, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int fsync(Microsoft.Win32.SafeHandles.SafeFileHandle fd);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int fdatasync(Microsoft.Win32.SafeHandles.SafeFileHandle fd);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int sched_setaffinity(int pid, nuint size, ref ulong mask);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int sched_getaffinity(int pid, nuint size, ref ulong mask);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int setpriority(int which, uint who, int priority);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int getpriority(int which, uint who);

    [LibraryImport("libc")]
    internal static partial int gettid();

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int getrusage(int who, out Rusage usage);

    /// <summary>struct rusage (x86-64 and arm64: two timevals, then fourteen longs).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Rusage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        public long MaxResidentKb;
        public long SharedKb;
        public long UnsharedDataKb;
        public long UnsharedStackKb;
        public long MinorFaults;
        public long MajorFaults;
        public long Swaps;
        public long BlocksIn;
        public long BlocksOut;
        public long MessagesSent;
        public long MessagesReceived;
        public long Signals;
        public long VoluntarySwitches;
        public long InvoluntarySwitches;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int statx(int directoryFd, string path, int flags, uint mask, byte* buffer);
}
