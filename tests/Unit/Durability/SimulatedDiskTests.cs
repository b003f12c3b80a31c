using FlashWal.Errors;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// The power-cut model itself (<see cref="SimulatedDisk"/>): only what a sync covered survives a cut,
/// exactly what a sync covered, names only through a directory sync under the strict model,
/// writeback in any order, and what a failed sync's pages held never (until they are written again).
/// </summary>
public sealed class SimulatedDiskTests : IDisposable
{
    private const int Page = SimulatedDisk.PageSize;

    private readonly TempDirectory _dir = new();
    private readonly string _root;

    public SimulatedDiskTests()
    {
        _root = _dir.Sub("disk");
    }

    public void Dispose() => _dir.Dispose();

    private SimulatedDisk Disk(Func<SyncCall, bool>? failSync = null, Func<long>? reported = null, int seed = 1) =>
        new(_root, new SimulatedDiskOptions { CutsDirectory = _dir.Sub("cuts"), FailSync = failSync, ReportedDurable = reported, Seed = seed });

    private string InDisk(string name) => Path.Combine(_root, name);

    private static string InCut(PowerCut cut, string name) => Path.Combine(cut.Root, name);

    /// <summary>Page i of a test file holds the byte i + 1 (or <paramref name="fill"/>) throughout.</summary>
    private static byte[] Pages(int count, byte? fill = null)
    {
        byte[] bytes = new byte[count * Page];
        for (int i = 0; i < count; i++)
        {
            bytes.AsSpan(i * Page, Page).Fill(fill ?? (byte)(i + 1));
        }

        return bytes;
    }

    private static byte[] PageOf(byte[] file, int page) => file.AsSpan(page * Page, Page).ToArray();

    [Fact]
    public void Data_no_sync_covered_is_gone_at_a_cut_and_synced_data_stays()
    {
        SimulatedDisk disk = Disk();
        using (FileStream synced = disk.CreateNew(InDisk("synced"), 2 * Page))
        {
            disk.Write(synced, Pages(2), 0);
            disk.Sync(synced, InDisk("synced"));
        }

        using (FileStream unsynced = disk.CreateNew(InDisk("unsynced"), 2 * Page))
        {
            disk.Write(unsynced, Pages(2), 0);
        }

        disk.SyncDirectory(_root);

        PowerCut plain = disk.Cut(PowerCutModel.Plain);
        Assert.Equal(Pages(2), File.ReadAllBytes(InCut(plain, "synced")));
        Assert.Equal(new byte[2 * Page], File.ReadAllBytes(InCut(plain, "unsynced"))); // its size is durable, its data is not
        Assert.Equal(Pages(2), File.ReadAllBytes(InDisk("unsynced"))); // the real file (the page cache) is untouched

        // Strictly, a size is durable only through a sync of the file: the name survives, empty.
        PowerCut strict = disk.Cut(PowerCutModel.StrictDirectories);
        Assert.Equal(Pages(2), File.ReadAllBytes(InCut(strict, "synced")));
        Assert.Empty(File.ReadAllBytes(InCut(strict, "unsynced")));
    }

    [Fact]
    public void An_fdatasync_makes_every_written_page_durable_as_it_was_then()
    {
        SimulatedDisk disk = Disk();
        string path = InDisk("written");
        using (FileStream file = disk.CreateNew(path, 5 * Page))
        {
            disk.Write(file, Pages(5).AsSpan(Page, 2 * Page), Page); // pages 1 and 2
            disk.SyncData(file, path);
            disk.Write(file, new byte[Page].Select(_ => (byte)0xEE).ToArray(), 2 * Page); // after the sync: not durable
            disk.Write(file, new byte[Page].Select(_ => (byte)0xEE).ToArray(), 4 * Page);
        }

        PowerCut cut = disk.Cut(PowerCutModel.Plain);
        byte[] after = File.ReadAllBytes(InCut(cut, "written"));
        Assert.Equal(5 * Page, after.Length);
        Assert.Equal(new byte[Page], PageOf(after, 0));
        Assert.Equal(PageOf(Pages(5), 1), PageOf(after, 1));
        Assert.Equal(PageOf(Pages(5), 2), PageOf(after, 2)); // the content the sync wrote, not the later write
        Assert.Equal(new byte[Page], PageOf(after, 3));
        Assert.Equal(new byte[Page], PageOf(after, 4));
    }

    [Fact]
    public void A_rename_or_delete_without_a_directory_sync_is_undone_under_the_strict_model_only()
    {
        SimulatedDisk disk = Disk();
        using (FileStream stream = disk.CreateNew(InDisk("x.tmp"), Page))
        {
            disk.Write(stream, Pages(1), 0);
            disk.Sync(stream, InDisk("x.tmp"));
        }

        disk.SyncDirectory(_root);
        disk.Rename(InDisk("x.tmp"), InDisk("x"), replace: false);
        using (disk.CreateNew(InDisk("doomed"), Page))
        {
        }

        disk.SyncDirectory(_root);
        disk.Rename(InDisk("x"), InDisk("y"), replace: false);
        disk.Delete(InDisk("doomed"));

        PowerCut strict = disk.Cut(PowerCutModel.StrictDirectories);
        Assert.Equal(["doomed", "x"], Directory.GetFiles(strict.Root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Pages(1), File.ReadAllBytes(InCut(strict, "x"))); // the node keeps its durable content under its durable name

        PowerCut plain = disk.Cut(PowerCutModel.Plain);
        Assert.Equal(["y"], Directory.GetFiles(plain.Root).Select(Path.GetFileName));
        Assert.Equal(Pages(1), File.ReadAllBytes(InCut(plain, "y")));

        disk.SyncDirectory(_root);
        PowerCut synced = disk.Cut(PowerCutModel.StrictDirectories);
        Assert.Equal(["y"], Directory.GetFiles(synced.Root).Select(Path.GetFileName));
    }

    [Fact]
    public void A_new_directory_is_synced_into_its_parent_and_its_files_need_their_own_directory_sync()
    {
        SimulatedDisk disk = Disk();
        string wal = InDisk(Path.Combine("a", "wal"));
        disk.CreateDirectory(wal);
        using (FileStream stream = disk.CreateNew(Path.Combine(wal, "f"), Page))
        {
            disk.Write(stream, Pages(1), 0);
            disk.Sync(stream, Path.Combine(wal, "f"));
        }

        PowerCut before = disk.Cut(PowerCutModel.StrictDirectories);
        Assert.True(Directory.Exists(Path.Combine(before.Root, "a", "wal")));
        Assert.Empty(Directory.GetFiles(Path.Combine(before.Root, "a", "wal")));

        disk.SyncDirectory(wal);
        PowerCut after = disk.Cut(PowerCutModel.StrictDirectories);
        Assert.Equal(Pages(1), File.ReadAllBytes(Path.Combine(after.Root, "a", "wal", "f")));
    }

    [Fact]
    public void Files_present_when_the_disk_is_attached_are_durable_with_their_names_and_content()
    {
        File.WriteAllBytes(InDisk("old"), Pages(3));
        Directory.CreateDirectory(InDisk("sub"));
        File.WriteAllBytes(Path.Combine(InDisk("sub"), "older"), Pages(1, 7));
        SimulatedDisk disk = Disk();
        using (FileStream stream = disk.OpenForWrite(InDisk("old")))
        {
            disk.Write(stream, Pages(1, 9), Page); // not synced
        }

        PowerCut cut = disk.Cut(PowerCutModel.StrictDirectories);
        Assert.Equal(Pages(3), File.ReadAllBytes(InCut(cut, "old")));
        Assert.Equal(Pages(1, 7), File.ReadAllBytes(Path.Combine(cut.Root, "sub", "older")));
    }

    [Fact]
    public void Writeback_writes_any_subset_of_the_dirty_pages_whole_so_a_later_page_can_survive_an_earlier_one()
    {
        const int Count = 8;
        SimulatedDisk disk = Disk(seed: 20261121);
        using (FileStream stream = disk.CreateNew(InDisk("dirty"), Count * Page))
        {
            disk.Write(stream, Pages(Count), 0);
        }

        bool laterKeptEarlierLost = false;
        bool someKept = false;
        bool someLost = false;
        for (int c = 0; c < 40; c++)
        {
            PowerCut cut = disk.Cut(PowerCutModel.Writeback);
            byte[] after = File.ReadAllBytes(InCut(cut, "dirty"));
            Assert.Equal(Count * Page, after.Length);
            var kept = new bool[Count];
            for (int p = 0; p < Count; p++)
            {
                byte[] page = PageOf(after, p);
                kept[p] = page.SequenceEqual(PageOf(Pages(Count), p));
                Assert.True(kept[p] || page.All(b => b == 0), $"cut {cut.Number}: page {p} is neither its durable content (zeros) nor its current content");
            }

            Assert.Equal(Count, cut.DirtyPages);
            Assert.Equal(kept.Count(k => k), cut.PagesWrittenBack);
            someKept |= kept.Any(k => k);
            someLost |= kept.Any(k => !k);
            for (int p = 1; p < Count; p++)
            {
                laterKeptEarlierLost |= kept[p] && kept[..p].Any(k => !k);
            }
        }

        Assert.True(someKept && someLost, "writeback kept every page or none in 40 cuts");
        Assert.True(laterKeptEarlierLost, "no cut in 40 kept a page while losing an earlier one");
    }

    [Fact]
    public void A_failed_sync_throws_EIO_naming_the_file_and_what_its_pages_held_never_becomes_durable()
    {
        string path = InDisk("failing");
        SimulatedDisk disk = Disk(failSync: call => call.Number == 1);
        using (FileStream file = disk.CreateNew(path, 3 * Page))
        {
            disk.Write(file, Pages(3), 0);
            var failure = Assert.Throws<WalSyncException>(() => disk.SyncData(file, path));
            Assert.Equal((path, "fdatasync", 5), (failure.Path, failure.Operation, failure.ErrorNumber));
            Assert.Contains("Input/output error", failure.Message, StringComparison.Ordinal);

            // A later sync succeeds (as Linux reports it): it writes what changed since, never what the failed one dropped.
            byte[] rewritten12 = [.. Enumerable.Repeat((byte)0x77, 2 * Page)];
            disk.Write(file, rewritten12, Page); // pages 1 and 2 changed: dirty again
            disk.Sync(file, path);
            byte[] after = File.ReadAllBytes(InCut(disk.Cut(PowerCutModel.FailSync), "failing"));
            Assert.Equal(new byte[Page], PageOf(after, 0));
            Assert.Equal(rewritten12[..Page], PageOf(after, 1));
            Assert.Equal(rewritten12[Page..], PageOf(after, 2));

            // Written again, page 0 is dirty again, and the next sync writes it whole.
            disk.Write(file, [0x42], 0);
            disk.Sync(file, path);
        }

        SyncCall failed = Assert.Single(disk.FailedSyncs);
        Assert.Equal((1, "fdatasync", path), (failed.Number, failed.Operation, failed.Path));
        byte[] rewritten = File.ReadAllBytes(InCut(disk.Cut(PowerCutModel.FailSync), "failing"));
        Assert.Equal([0x42, .. PageOf(Pages(3), 0)[1..]], PageOf(rewritten, 0));
    }

    [Fact]
    public void A_scheduled_cut_is_taken_before_its_operation_while_the_run_goes_on_and_reads_the_probe_then()
    {
        long reported = 0;
        SimulatedDisk disk = Disk(reported: () => Volatile.Read(ref reported));
        disk.ScheduleCut(3, PowerCutModel.Plain);
        string path = InDisk("f");
        using (FileStream stream = disk.CreateNew(path, Page)) // operation 1
        {
            disk.Write(stream, Pages(1), 0); // 2
            Volatile.Write(ref reported, 2);
            disk.Sync(stream, path); // 3: the cut comes first
            Volatile.Write(ref reported, 3);
        }

        PowerCut scheduled = Assert.Single(disk.Cuts);
        Assert.Equal((2L, 2L, PowerCutModel.Plain), (scheduled.AfterOperations, scheduled.ReportedDurable, scheduled.Model));
        Assert.StartsWith("operation 3: fsync f", scheduled.Next, StringComparison.Ordinal);
        Assert.Equal(new byte[Page], File.ReadAllBytes(InCut(scheduled, "f")));

        PowerCut end = disk.Cut(PowerCutModel.Plain);
        Assert.Equal((3L, 3L), (end.AfterOperations, end.ReportedDurable));
        Assert.Equal(Pages(1), File.ReadAllBytes(InCut(end, "f")));
        Assert.Equal(3, disk.Operations);
    }

    [Fact]
    public void A_log_file_changed_without_the_disk_is_reported_as_untracked_and_other_files_are_copied_as_they_are()
    {
        SimulatedDisk disk = Disk();
        File.WriteAllText(InDisk("wal.owner"), "pid=1");
        File.WriteAllBytes(InDisk("0000000000000000.wal"), Pages(1)); // a segment the storage layer never saw

        PowerCut cut = disk.Cut(PowerCutModel.Plain);
        Assert.Equal([InDisk("0000000000000000.wal")], cut.Untracked);
        Assert.Equal("pid=1", File.ReadAllText(InCut(cut, "wal.owner")));
        Assert.Equal(Pages(1), File.ReadAllBytes(InCut(cut, "0000000000000000.wal")));
    }
}
