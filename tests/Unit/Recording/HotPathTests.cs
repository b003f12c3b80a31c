using System.Runtime.CompilerServices;
using FlashWal.Recording;
using FlashWal.Storage;
using FlashWal.Tests.Support;
using FlashWal.Threading;

namespace FlashWal.Tests.Recording;

/// <summary>
/// The writer's hot path stores only into memory it has stored into before: no page fault, no
/// allocation, across blocks, rotations and laps of the staging ring.
/// </summary>
/// <remarks>
/// Faults are the kernel's count for the calling thread (<c>getrusage(RUSAGE_THREAD)</c>: minor and
/// major). A guest whose hypervisor fills its own page tables lazily pays for that without the guest
/// kernel counting a fault; that cost is what <see cref="ResidentMemory"/> measures at the start and
/// the append-latency benchmark shows.
/// </remarks>
[Collection(RunsAlone.Name)] // another test's garbage collection suspends every thread, this writer's too, and that is not the hot path's doing
public sealed class HotPathTests
{
    // Segments of 4 MiB: four rotations in two laps of the ring, each into a segment the preparer
    // had ready before the measurement began (it keeps four), so none is a file the writer must create
    // itself (which is a system call and an allocation on its thread, by design: the fallback).
    private static readonly WalRecorderOptions Rotating = new() { SegmentSize = 4 << 20, BlockSize = 4096, Durability = DurabilityPolicy.None };

    [LinuxFact("counts the thread's page faults with getrusage(RUSAGE_THREAD)")]
    public void Appends_across_rotations_and_two_laps_of_the_ring_take_no_page_fault_and_allocate_nothing()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path, Rotating);
        Warm(recorder);
        long laps = 2 * recorder.GetTelemetry().StagingRingBytes / 88; // 88-byte records: more than two laps with the block headers
        long rotationsBefore = recorder.GetTelemetry().Rotations;
        long createdBefore = recorder.GetTelemetry().WriterCreatedSegments;

        (long faults, long allocated) = AppendMeasured(recorder, laps);

        long rotations = recorder.GetTelemetry().Rotations - rotationsBefore;
        Assert.True(rotations >= 4, $"only {rotations} rotations");
        var telemetry = recorder.GetTelemetry();
        long created = telemetry.WriterCreatedSegments - createdBefore;
        string context = $"{rotations} rotations, {created} segments the writer created itself (the preparer was late), {telemetry.StagingStalls} times the ring was full";
        Assert.True(created == 0, $"the preparer was late: {context}");
        Assert.True(faults == 0, $"{faults} page faults; {context}");
        Assert.True(allocated == 0, $"{allocated} bytes allocated; {context}");
        Assert.Equal(recorder.LastEventId, recorder.Commit());
    }

    [LinuxFact("counts the thread's page faults with getrusage(RUSAGE_THREAD)")]
    public void Without_a_prefault_only_the_first_lap_of_the_ring_faults()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path, Rotating with { Prefault = PrefaultMode.None });
        long lap = recorder.GetTelemetry().StagingRingBytes / 88;
        (long firstLap, _) = AppendMeasured(recorder, lap);
        Warm(recorder);

        long createdBefore = recorder.GetTelemetry().WriterCreatedSegments;
        (long later, _) = AppendMeasured(recorder, 2 * lap);

        Assert.True(firstLap > 0, "the first lap of an unprefaulted ring took no fault: the test measures nothing");
        Assert.Equal(0, recorder.GetTelemetry().WriterCreatedSegments - createdBefore); // the preparer was not late
        Assert.Equal(0, later);
        Assert.Equal(PrefaultMode.None, recorder.GetTelemetry().StagingPrefault);
    }

    /// <summary>
    /// Runs the append and rotation paths until the runtime has compiled them at their final tier
    /// (tiering waits 100 ms before it promotes a method): a tier change patches code and stubs, and
    /// that write faults on the thread that happens to run into it, whatever the code does.
    /// </summary>
    private static void Warm(WalRecorder recorder)
    {
        for (int round = 0; round < 3; round++)
        {
            long segment = recorder.ActiveSegmentIndex;
            while (recorder.ActiveSegmentIndex < segment + 2)
            {
                recorder.Append(Payload);
            }

            recorder.Commit();
            Thread.Sleep(250);
        }
    }

    private static readonly byte[] Payload = new byte[64];

    /// <summary>
    /// Appends <paramref name="count"/> events in <see cref="AllocationCounter.Windows"/> windows; returns
    /// the thread's page faults over all of them and the least bytes it allocated in one (the runtime's
    /// counter over-reports now and then: see <see cref="AllocationCounter"/>). Each window spans at
    /// least one rotation when <paramref name="count"/> spans <see cref="AllocationCounter.Windows"/>.
    /// </summary>
    private static (long Faults, long Allocated) AppendMeasured(WalRecorder recorder, long count)
    {
        long faults = ThreadFaults();
        long least = long.MaxValue;
        for (int window = 0; window < AllocationCounter.Windows; window++)
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            Append(recorder, count / AllocationCounter.Windows);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - allocated);
        }

        return (ThreadFaults() - faults, least);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no tier change (or on-stack replacement) of this loop while it runs
    private static void Append(WalRecorder recorder, long count)
    {
        byte[] payload = Payload;
        for (long i = 0; i < count; i++)
        {
            recorder.Append(payload);
        }
    }

    [Fact]
    public void The_recorder_reports_how_it_made_its_staging_ring_resident_and_what_a_first_store_costs_after()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path);
        var telemetry = recorder.GetTelemetry();
        Assert.Equal(8L << 20, telemetry.StagingRingBytes);
        Assert.Contains(telemetry.StagingPrefault, new[] { PrefaultMode.PopulateWrite, PrefaultMode.Touch });
        Assert.False(double.IsNaN(telemetry.StagingFirstWriteNs));
        Assert.False(string.IsNullOrWhiteSpace(telemetry.StagingPrefaultChoice));
        if (telemetry.StagingPrefault == PrefaultMode.PopulateWrite)
        {
            // Auto keeps populate only when a first store after it measured below a fault's cost.
            Assert.True(telemetry.StagingFirstWriteNs < ResidentMemory.FaultThresholdNs, telemetry.StagingPrefaultChoice);
        }
        else
        {
            Assert.Contains("written", telemetry.StagingPrefaultChoice, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(PrefaultMode.Touch)]
    [InlineData(PrefaultMode.None)]
    public void Resident_memory_is_made_resident_the_way_asked(PrefaultMode mode)
    {
        using var memory = ResidentMemory.Allocate(1 << 20, mode);
        Assert.Equal(mode, memory.Used);
        Assert.Equal(mode == PrefaultMode.None, double.IsNaN(memory.FirstWriteNs));
        Assert.False(string.IsNullOrWhiteSpace(memory.Choice));
    }

    [LinuxFact("MADV_POPULATE_WRITE is a Linux madvise")]
    public void Populate_write_asked_is_populate_write_used_with_its_first_store_measured()
    {
        using var memory = ResidentMemory.Allocate(1 << 20, PrefaultMode.PopulateWrite);
        Assert.Equal(PrefaultMode.PopulateWrite, memory.Used);
        Assert.True(memory.FirstWriteNs > 0);
        Assert.StartsWith("MADV_POPULATE_WRITE left", memory.Choice, StringComparison.Ordinal);
    }

    /// <summary>The calling thread's page faults (no Assert: it allocates, and this runs at the measured window's bounds).</summary>
    private static long ThreadFaults() => ThreadUsage.PageFaults();
}

