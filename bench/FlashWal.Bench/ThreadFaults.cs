using System.Runtime.InteropServices;

namespace FlashWal.Bench;

/// <summary>
/// The calling thread's page faults so far (minor and major, <c>getrusage(RUSAGE_THREAD)</c>); 0
/// where Linux's call is missing. A guest whose hypervisor fills its own page tables lazily pays for
/// that without the guest kernel counting a fault: the latencies show it, this count does not.
/// </summary>
internal static class ThreadFaults
{
    private const int RusageThread = 1;

    public static long Now() =>
        OperatingSystem.IsLinux() && getrusage(RusageThread, out Rusage usage) == 0 ? usage.MinorFaults + usage.MajorFaults : 0;

    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
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

    [DllImport("libc", SetLastError = true)]
    private static extern int getrusage(int who, out Rusage usage);
}
