using System.Text;
using FlashWal.Errors;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reading;

/// <summary>
/// What Get-WalEvent and flashwal dump read with: <see cref="EventFilter"/>, <see cref="WalEventReader"/>
/// (at rest and following) and the copied-out <see cref="WalEventRecord"/>. The log at rest: six closed
/// segments of 100 events (ids 1..600), sealed every 10 events, event i of type i % 7.
/// </summary>
public class WalEventReaderTests
{
    /// <summary>No test waits longer than this for anything.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static TempDirectory SixSegments()
    {
        var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 6, perSegment: 100, Wal.Small, sealEvery: 10);
        return dir;
    }

    private static List<long> Ids(WalEventReader reader, CancellationToken cancellation = default)
    {
        var ids = new List<long>();
        while (reader.TryReadNext(out WalEvent e, cancellation))
        {
            Assert.Equal(Wal.Payload(e.EventId, Wal.PayloadLength(e.EventId)), e.Payload.ToArray());
            ids.Add(e.EventId);
        }

        return ids;
    }

    private static List<long> Range(long first, long last) => [.. Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i)];

    private static readonly byte[][] Known =
    [
        "hello"u8.ToArray(),
        [0x00, 0x01, 0x02, 0xFF],
        Encoding.UTF8.GetBytes("tab\there \"quoted\" Zürich"),
        [],
        [0xC3],                          // cut off in the middle of a character
        "bell\a"u8.ToArray(),            // a control character
    ];

    [Theory]
    [InlineData(1, null, null, 1, 600)]
    [InlineData(250, null, null, 250, 600)]
    [InlineData(250, 260L, null, 250, 260)]
    [InlineData(250, null, 5L, 250, 254)]
    [InlineData(95, 105L, 100L, 95, 105)]   // across a segment boundary; -To ends it before -First
    [InlineData(0, 3L, null, 1, 3)]
    [InlineData(600, 600L, null, 600, 600)]
    [InlineData(590, 9999L, null, 590, 600)] // beyond the last id: to the end
    public void An_id_range_and_a_count_select_exactly_those_events(long from, long? to, long? first, long expectedFirst, long expectedLast)
    {
        using TempDirectory dir = SixSegments();
        using WalEventReader reader = WalEventReader.Open(dir.Path, new EventFilter { FromEventId = from, ToEventId = to, First = first });
        Assert.Equal(Range(expectedFirst, expectedLast), Ids(reader));
        Assert.Equal(expectedLast - expectedFirst + 1, reader.EventsRead);
        Assert.False(reader.IsFollowing);
        Assert.Null(reader.TailerState);
    }

    [Fact]
    public void Types_select_events_and_the_count_counts_only_those()
    {
        using TempDirectory dir = SixSegments();
        using (WalEventReader reader = WalEventReader.Open(dir.Path, new EventFilter { FromEventId = 100, Types = [3, 5], First = 4 }))
        {
            Assert.Equal([101, 103, 108, 110], Ids(reader)); // 101 % 7 = 3, 103 % 7 = 5, 108 % 7 = 3, 110 % 7 = 5
        }

        using (WalEventReader reader = WalEventReader.Open(dir.Path, new EventFilter { Types = [0] }))
        {
            Assert.Equal(Range(1, 600).Where(i => i % 7 == 0).ToList(), Ids(reader));
        }
    }

    [Fact]
    public void The_reading_stops_at_the_last_id_wanted_without_reading_on()
    {
        using TempDirectory dir = SixSegments();
        using WalEventReader reader = WalEventReader.Open(dir.Path, new EventFilter { FromEventId = 150, ToEventId = 155 });
        Assert.Equal(Range(150, 155), Ids(reader));
        RecoveryReport report = reader.Report!;
        Assert.Equal(RecoveryOutcome.Stopped, report.Outcome); // cut short at 155, not replayed to 600
        Assert.Equal(155, report.LastEventId);
        Assert.Equal(0, SegmentPreparerTests.OpenHandles(dir.Path)); // and every file is released at once
    }

    [Fact]
    public void Beyond_the_last_id_nothing_is_read_and_the_report_says_why()
    {
        using TempDirectory dir = SixSegments();
        using WalEventReader reader = WalEventReader.Open(dir.Path, new EventFilter { FromEventId = 601 });
        Assert.Empty(Ids(reader));
        Assert.Equal(RecoveryOutcome.NothingToReplay, reader.Report!.Outcome);
        Assert.Equal("the log ends at event 600: nothing from 601 on", reader.Report.StartNote);
    }

    [Fact]
    public void Records_are_copies_that_outlive_the_reader_and_name_their_segment()
    {
        using TempDirectory dir = SixSegments();
        var records = new List<WalEventRecord>();
        using (WalEventReader reader = WalEventReader.Open(dir.Path, new EventFilter { FromEventId = 99, First = 4 }))
        {
            while (reader.ReadNext() is { } record)
            {
                records.Add(record);
            }

            Assert.Null(reader.ReadNext()); // and stays at the end
        }

        Assert.Equal([99, 100, 101, 102], records.Select(r => r.Id));
        foreach (WalEventRecord record in records)
        {
            Assert.Equal(Wal.Payload(record.Id, Wal.PayloadLength(record.Id)), record.Payload);
            Assert.Equal(record.Id % 7, record.Type);
            Assert.Equal(1_700_000_000_000_000_000 + record.Id, record.TimeUnixNs);
            Assert.Equal(Wal.SegmentPath(dir.Path, (record.Id - 1) / 100), record.Segment);
        }
    }

    [Fact]
    public void One_segment_file_is_read_on_its_own()
    {
        using TempDirectory dir = SixSegments();
        string segment = Wal.SegmentPath(dir.Path, 3);
        using WalEventReader reader = WalEventReader.Open(segment, new EventFilter { FromEventId = 350, First = 3 });
        Assert.Equal(segment, reader.Path);
        Assert.Equal([350, 351, 352], Ids(reader));

        using WalEventReader whole = WalEventReader.Open(segment);
        Assert.Equal(Range(301, 400), Ids(whole));
    }

    [Fact]
    public void What_is_not_a_log_is_refused_with_an_error_that_says_so()
    {
        using var dir = new TempDirectory();
        string empty = dir.Sub("empty");
        var none = Assert.Throws<WalNoSegmentException>(() => WalEventReader.Open(empty));
        Assert.Equal("WalNoSegment", none.ErrorId);
        Assert.Equal($"'{empty}' holds no segment; a WAL directory or a segment file was expected.", none.Message);

        string missing = dir.File("missing");
        Assert.Equal("WalPathNotFound", Assert.Throws<WalPathNotFoundException>(() => WalEventReader.Open(missing)).ErrorId);

        string text = dir.File("notes.txt");
        File.WriteAllText(text, "not a segment at all, but long enough to hold a header if it were one");
        Assert.Equal("WalNotASegment", Assert.Throws<WalFormatException>(() => WalEventReader.Open(text)).ErrorId);

        var file = Assert.Throws<WalNotADirectoryException>(() => WalEventReader.Follow(text));
        Assert.Equal("WalPathNotADirectory", file.ErrorId);
        Assert.Equal($"'{text}' is a file; a WAL directory was expected.", file.Message);
        Assert.Equal("WalPathNotFound", Assert.Throws<WalPathNotFoundException>(() => WalEventReader.Follow(missing)).ErrorId);
    }

    [Fact]
    public void A_filter_that_cannot_select_anything_is_refused_before_any_file_is_opened()
    {
        using var dir = new TempDirectory();
        string missing = dir.File("missing"); // not even looked at
        Assert.Equal("ToEventId", Assert.Throws<ArgumentOutOfRangeException>(() => WalEventReader.Open(missing, new EventFilter { FromEventId = 10, ToEventId = 9 })).ParamName);
        Assert.Equal("ToEventId", Assert.Throws<ArgumentOutOfRangeException>(() => WalEventReader.Follow(missing, new EventFilter { FromEventId = 0, ToEventId = 0 })).ParamName);
        Assert.Equal("FromEventId", Assert.Throws<ArgumentOutOfRangeException>(() => WalEventReader.Open(missing, new EventFilter { FromEventId = -1 })).ParamName);
        Assert.Equal("First", Assert.Throws<ArgumentOutOfRangeException>(() => WalEventReader.Open(missing, new EventFilter { First = 0 })).ParamName);
        Assert.Equal("Types", Assert.Throws<ArgumentException>(() => WalEventReader.Open(missing, new EventFilter { Types = [] })).ParamName);
        new EventFilter { FromEventId = 5, ToEventId = 5, First = 1, Types = [1] }.Validate(); // one event: fine
    }

    [Fact]
    public void The_filter_decides_what_is_wanted_and_when_nothing_more_is()
    {
        var filter = new EventFilter { ToEventId = 10, First = 3, Types = [2, 4] };
        Assert.True(filter.Accepts(2));
        Assert.False(filter.Accepts(3));
        Assert.False(filter.IsBeyond(10));
        Assert.True(filter.IsBeyond(11));
        Assert.False(filter.IsLast(9, 2));
        Assert.True(filter.IsLast(10, 1));  // reaches -To
        Assert.True(filter.IsLast(5, 3));   // makes -First
        Assert.True(EventFilter.All.Accepts(ushort.MaxValue));
        Assert.False(EventFilter.All.IsBeyond(long.MaxValue));
        Assert.False(EventFilter.All.IsLast(long.MaxValue, long.MaxValue));
    }

    [Fact]
    public void Strict_damage_ends_the_reading_after_every_event_before_it_and_salvage_reads_on()
    {
        using TempDirectory dir = SixSegments();
        (string segment, _) = Wal.DamageBlock(dir.Path, 2, 3); // ids 231..240

        using (WalEventReader strict = WalEventReader.Open(dir.Path, new EventFilter { FromEventId = 200 }))
        {
            var ids = new List<long>();
            var error = Assert.Throws<WalCorruptionException>(() =>
            {
                while (strict.TryReadNext(out WalEvent e))
                {
                    ids.Add(e.EventId);
                }
            });
            Assert.Equal(Range(200, 230), ids);
            Assert.Equal(segment, error.Finding.File);
            Assert.Equal(3, error.Finding.BlockIndex);
            Assert.Equal(RecoveryOutcome.StoppedAtDamage, strict.Report!.Outcome);
            Assert.False(strict.TryReadNext(out _)); // and stays stopped
        }

        using WalEventReader salvage = WalEventReader.Open(dir.Path, new EventFilter { FromEventId = 200, ToEventId = 250 }, RecoveryMode.Salvage);
        Assert.Equal([.. Range(200, 230), .. Range(241, 250)], Ids(salvage));
        LostRange gap = Assert.Single(salvage.Report!.Gaps);
        Assert.Equal((231L, (long?)240L), (gap.FirstEventId, gap.LastEventId));
    }

    [Fact]
    public void Text_is_the_payload_decoded_when_it_is_text_and_null_otherwise()
    {
        using var dir = new TempDirectory();
        string segment = Wal.WriteKnown(dir.Path, Known);
        using WalEventReader reader = WalEventReader.Open(segment);
        var records = new List<WalEventRecord>();
        while (reader.ReadNext() is { } record)
        {
            records.Add(record);
        }

        Assert.Equal(["hello", null, "tab\there \"quoted\" Zürich", "", null, null], records.Select(r => r.Text));
        Assert.Equal(Known, records.Select(r => r.Payload));
        Assert.Equal(Known.Select(p => p.Length), records.Select(r => r.Length));
        Assert.Equal(Known.Select(p => Convert.ToHexString(p).ToLowerInvariant()), records.Select(r => r.Hex));
        Assert.Equal(Enumerable.Range(11, Known.Length).Select(t => (ushort)t), records.Select(r => r.Type));
        Assert.All(records, r => Assert.Equal(segment, r.Segment));
    }

    [Fact]
    public void A_record_shows_its_time_exactly_and_prints_as_dump_prints_it()
    {
        var record = new WalEventRecord(4, 1_700_000_000_000_000_004, 14, Encoding.UTF8.GetBytes("tab\there \"quoted\" Zürich"));
        Assert.Equal(1_700_000_000_000_000_004, record.TimeUnixNs);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), record.Time); // 4 ns: below what a DateTimeOffset holds
        Assert.Equal(TimeSpan.Zero, record.Time.Offset);
        Assert.Equal(new DateTimeOffset(2023, 11, 14, 22, 13, 20, TimeSpan.Zero).AddTicks(12), new WalEventRecord(1, 1_700_000_000_000_001_234, 0, []).Time);
        Assert.Equal("id=4 time=2023-11-14T22:13:20.000000004Z type=14 length=25 hex=7461620968657265202271756f74656422205ac3bc72696368 text=\"tab\\there \\\"quoted\\\" Zürich\"", record.ToString());
        Assert.Null(record.Segment);

        Assert.Equal("\"tab\\there \\\"quoted\\\" Zürich\"", record.Preview());

        byte[] large = [.. Enumerable.Range(0, 200).Select(i => (byte)i)];
        Assert.EndsWith("3c3d3e3f...(+136 bytes)", new WalEventRecord(3, 0, 13, large).ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Concat(Enumerable.Range(0, 64).Select(i => i.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))) + "...(+136 bytes)", new WalEventRecord(3, 0, 13, large).Preview());
        Assert.Equal("\"" + new string('a', 64) + "\"...(+36 bytes)", new WalEventRecord(5, 0, 0, Encoding.UTF8.GetBytes(new string('a', 100))).Preview());
        Assert.Equal("\"\"", new WalEventRecord(6, 0, 0, []).Preview());
        Assert.Throws<ArgumentOutOfRangeException>(() => new WalEventRecord(0, 0, 0, []));
        Assert.Throws<ArgumentNullException>(() => new WalEventRecord(1, 0, 0, null!));
    }

    [Fact]
    public void Following_hands_out_committed_events_and_stops_at_the_count_without_waiting_for_more()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 8192, BlockSize = 4096, Durability = DurabilityPolicy.None });
        for (int i = 1; i <= 300; i++)
        {
            recorder.Append(Wal.Payload(i, Wal.PayloadLength(i)), (ushort)(i % 7));
        }

        recorder.Commit(); // the recorder stays open: a follower that wanted event 301 would wait for it
        using var patience = new CancellationTokenSource(Patience);
        using (WalEventReader reader = WalEventReader.Follow(dir.Path, new EventFilter { FromEventId = 5, First = 3 }))
        {
            Assert.True(reader.IsFollowing);
            Assert.Equal([5, 6, 7], Ids(reader, patience.Token));
            Assert.Equal(TailerState.Following, reader.TailerState);
            Assert.Null(reader.Report);
        }

        using (WalEventReader reader = WalEventReader.Follow(dir.Path, new EventFilter { FromEventId = 290, ToEventId = 300, Types = [2] }))
        {
            Assert.Equal([296], Ids(reader, patience.Token)); // ends at 300 although 301 has not come
        }

        var records = new List<WalEventRecord>();
        using (WalEventReader reader = WalEventReader.Follow(dir.Path, new EventFilter { FromEventId = 100, First = 200 }))
        {
            while (reader.ReadNext(patience.Token) is { } record)
            {
                Assert.Equal(reader.CurrentSegment, record.Segment);
                records.Add(record);
            }
        }

        Assert.Equal(Range(100, 299), records.Select(r => r.Id));
        Assert.True(records.Select(r => r.Segment).Distinct().Count() > 1); // 8 KiB segments: it followed rotations
        Assert.All(records, r => Assert.Equal(Path.GetDirectoryName(r.Segment), dir.Path));
        Assert.False(patience.IsCancellationRequested);
    }

    [Fact]
    public async Task Following_ends_when_the_recorder_closes_the_log_and_a_wait_can_be_cancelled()
    {
        using var dir = new TempDirectory();
        using var patience = new CancellationTokenSource(Patience);
        var follower = Task.Run(() =>
        {
            using WalEventReader reader = WalEventReader.Follow(dir.Path, new EventFilter { FromEventId = 3 });
            return (Ids(reader, patience.Token), reader.TailerState);
        });
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 8192, BlockSize = 4096, Durability = DurabilityPolicy.None }))
        {
            for (int i = 1; i <= 50; i++)
            {
                recorder.Append(Wal.Payload(i, Wal.PayloadLength(i)));
            }
        }

        (List<long> ids, TailerState? state) = await follower.WaitAsync(Patience);
        Assert.Equal(Range(3, 50), ids);
        Assert.Equal(TailerState.Closed, state);

        // An empty directory is waited on until the token is cancelled.
        string quiet = dir.Sub("quiet");
        using WalEventReader waiting = WalEventReader.Follow(quiet);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.ThrowsAny<OperationCanceledException>(() => waiting.TryReadNext(out _, stop.Token));
    }
}
