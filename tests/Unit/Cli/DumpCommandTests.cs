using System.Globalization;
using System.Text;
using System.Text.Json;
using FlashWal.Cli;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Cli;

public class DumpCommandTests
{
    /// <summary>No test waits longer than this for anything.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly WalRecorderOptions Tiny = new() { SegmentSize = 8192, BlockSize = 4096 };

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    private static string[] Lines(string text) => text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

    private static long IdOf(string line) => long.Parse(line.AsSpan(3, line.IndexOf(' ', StringComparison.Ordinal) - 3), CultureInfo.InvariantCulture);

    private static List<long> Range(long first, long last) => [.. Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i)];

    private static string WriteKnown(TempDirectory dir, params byte[][] payloads) => Wal.WriteKnown(dir.Path, payloads);

    /// <summary>A recorder (8 KiB segments, no flushes) that has appended and committed <paramref name="events"/> events.</summary>
    private static WalRecorder Committed(string directory, int events, ReadOnlySpan<byte> payload)
    {
        WalRecorder recorder = WalRecorder.Open(directory, Tiny with { Durability = DurabilityPolicy.None });
        for (int i = 0; i < events; i++)
        {
            recorder.Append(payload);
        }

        recorder.Commit();
        return recorder;
    }

    private static readonly byte[][] Known =
    [
        "hello"u8.ToArray(),
        [0x00, 0x01, 0x02, 0xFF],
        [.. Enumerable.Range(0, 200).Select(i => (byte)i)],
        Encoding.UTF8.GetBytes("tab\there \"quoted\" Zürich"),
        [],
    ];

    [Fact]
    public void Text_lines_show_id_time_type_length_hex_and_text_when_the_payload_is_text()
    {
        using var dir = new TempDirectory();
        WriteKnown(dir, Known);
        var dump = Run("dump", dir.Path);
        Assert.True(dump.Code == 0, dump.Err);
        Assert.Equal("", dump.Err);
        string hex200 = string.Concat(Enumerable.Range(0, 64).Select(i => i.ToString("x2", CultureInfo.InvariantCulture)));
        Assert.Equal(
        [
            "id=1 time=2023-11-14T22:13:20.000000001Z type=11 length=5 hex=68656c6c6f text=\"hello\"",
            "id=2 time=2023-11-14T22:13:20.000000002Z type=12 length=4 hex=000102ff",
            $"id=3 time=2023-11-14T22:13:20.000000003Z type=13 length=200 hex={hex200}...(+136 bytes)",
            "id=4 time=2023-11-14T22:13:20.000000004Z type=14 length=25 hex=" + Convert.ToHexString(Known[3]).ToLowerInvariant() + " text=\"tab\\there \\\"quoted\\\" Zürich\"",
            "id=5 time=2023-11-14T22:13:20.000000005Z type=15 length=0 hex= text=\"\"",
        ], Lines(dump.Out));
    }

    [Fact]
    public void Json_lines_parse_and_carry_ids_full_hex_and_text_or_null()
    {
        using var dir = new TempDirectory();
        WriteKnown(dir, Known);
        var dump = Run("dump", dir.Path, "--json");
        Assert.True(dump.Code == 0, dump.Err);
        Assert.Equal("", dump.Err);
        string[] lines = Lines(dump.Out);
        Assert.Equal(Known.Length, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using var line = JsonDocument.Parse(lines[i]);
            JsonElement e = line.RootElement;
            Assert.Equal(i + 1, e.GetProperty("id").GetInt64());
            Assert.Equal(11 + i, e.GetProperty("type").GetInt32());
            Assert.Equal(Known[i].Length, e.GetProperty("length").GetInt32());
            Assert.Equal(Convert.ToHexString(Known[i]).ToLowerInvariant(), e.GetProperty("hex").GetString()); // whole, even for 200 bytes
            Assert.Equal(Known[i], Convert.FromHexString(e.GetProperty("hex").GetString()!));
            Assert.Equal(WalClock.ToIso8601(1_700_000_000_000_000_001 + i), e.GetProperty("time").GetString());
            Assert.Equal(1_700_000_000_000_000_001 + i, e.GetProperty("timeUnixNs").GetInt64());
        }

        Assert.Equal("hello", JsonDocument.Parse(lines[0]).RootElement.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(lines[1]).RootElement.GetProperty("text").ValueKind);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(lines[2]).RootElement.GetProperty("text").ValueKind);
        Assert.Equal("tab\there \"quoted\" Zürich", JsonDocument.Parse(lines[3]).RootElement.GetProperty("text").GetString());
        Assert.Equal("", JsonDocument.Parse(lines[4]).RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void From_and_count_select_the_events_and_beyond_the_end_is_a_note()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("record", dir.Path, "--events", "3000", "--segment-size", "64KiB", "--block-size", "4KiB", "--payload-size", "33").Code);

        var some = Run("dump", dir.Path, "--from", "1500", "--count", "3");
        Assert.True(some.Code == 0, some.Err);
        Assert.Equal("", some.Err);
        string[] lines = Lines(some.Out);
        Assert.Equal([1500L, 1501L, 1502L], lines.Select(IdOf));
        Assert.Contains($" type={SyntheticEvents.Type} length=33 hex={PayloadText.ToHex(Wal.Payload(1500, 33))}", lines[0], StringComparison.Ordinal);

        var all = Run("dump", dir.Path);
        Assert.Equal(Range(1, 3000), Lines(all.Out).Select(IdOf));

        var below = Run("dump", dir.Path, "--from", "0", "--count", "2");
        Assert.Equal([1L, 2L], Lines(below.Out).Select(IdOf));

        var beyond = Run("dump", dir.Path, "--from", "99999");
        Assert.Equal(0, beyond.Code);
        Assert.Equal("", beyond.Out);
        Assert.Equal("start: the log ends at event 3000: nothing from 99999 on", beyond.Err.Trim());

        var json = Run("dump", dir.Path, "--json", "--from", "2999", "--count", "5");
        Assert.Equal([2999L, 3000L], Lines(json.Out).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()));
    }

    [Fact]
    public void A_single_segment_file_plain_or_compressed_dumps_its_events()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("record", dir.Path, "--events", "3000", "--segment-size", "64KiB", "--block-size", "4KiB").Code);
        string segment = Wal.SegmentPath(dir.Path, 2);
        long first;
        long last;
        using (SegmentReader reader = SegmentReader.Open(segment))
        {
            (first, last) = (reader.FirstEventId, reader.LastEventId);
        }

        var plain = Run("dump", segment);
        Assert.True(plain.Code == 0, plain.Err);
        Assert.Equal("", plain.Err); // "event 1 precedes the file" is no news without --from
        Assert.Equal(Range(first, last), Lines(plain.Out).Select(IdOf));

        var seek = Run("dump", segment, "--from", (first + 10).ToString(CultureInfo.InvariantCulture), "--count", "2");
        Assert.Equal([first + 10, first + 11], Lines(seek.Out).Select(IdOf));

        var before = Run("dump", segment, "--from", "1", "--count", "1");
        Assert.Equal([first], Lines(before.Out).Select(IdOf));
        Assert.Contains($"start: event 1 precedes the log's first event; the replay starts at {first}", before.Err, StringComparison.Ordinal);

        string packed = CompressedSegment.Compress(segment);
        Assert.EndsWith(".walz", packed, StringComparison.Ordinal);
        var compressed = Run("dump", packed);
        Assert.True(compressed.Code == 0, compressed.Err);
        Assert.Equal(plain.Out, compressed.Out);
        var json = Run("dump", packed, "--json", "--count", "1");
        Assert.Equal(first, JsonDocument.Parse(json.Out).RootElement.GetProperty("id").GetInt64());
    }

    [Fact]
    public void A_flipped_byte_in_a_middle_segment_stops_strict_naming_the_file_and_salvage_reports_the_gap_exactly()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("record", dir.Path, "--events", "5000", "--segment-size", "64KiB", "--block-size", "4KiB").Code);
        string segment = Wal.SegmentPath(dir.Path, 2);
        long block1;
        BlockHeader lost;
        using (SegmentReader reader = SegmentReader.Open(segment))
        {
            block1 = reader.Scan.BlockOffsets[1];
            Assert.True(reader.Scan.BlockOffsets.Count > 2);
        }

        byte[] bytes = File.ReadAllBytes(segment);
        lost = BlockHeader.Read(bytes.AsSpan((int)block1, SegmentFormat.BlockHeaderSize));
        bytes[block1 + SegmentFormat.BlockHeaderSize + 8] ^= 0xEE;
        File.WriteAllBytes(segment, bytes);

        var strict = Run("dump", dir.Path);
        Assert.Equal(1, strict.Code);
        Assert.Equal(Range(1, lost.FirstEventId - 1), Lines(strict.Out).Select(IdOf));
        string[] errors = Lines(strict.Err);
        Assert.Equal($"damage: {segment}:{block1 + SegmentFormat.BlockHeaderSize}: damage BlockChecksumMismatch block 1", errors[0][..errors[0].IndexOf(": the", StringComparison.Ordinal)]);
        Assert.StartsWith($"STOPPED at damage (strict): {segment}:{block1 + SegmentFormat.BlockHeaderSize}: damage BlockChecksumMismatch block 1: ", errors[^1], StringComparison.Ordinal);

        var salvage = Run("dump", dir.Path, "--mode", "salvage");
        Assert.Equal(1, salvage.Code);
        Assert.Equal([.. Range(1, lost.FirstEventId - 1), .. Range(lost.LastEventId + 1, 5000)], Lines(salvage.Out).Select(IdOf));
        errors = Lines(salvage.Err);
        long count = lost.LastEventId - lost.FirstEventId + 1;
        Assert.StartsWith($"gap: events {lost.FirstEventId}..{lost.LastEventId} ({count}) lost: {segment}:", errors[0], StringComparison.Ordinal);
        Assert.Equal($"DAMAGED (salvaged): 1 gap(s), {count} event(s) lost, 1 damaged file(s)", errors[^1]);

        // JSON stays clean: every stdout line parses, the damage is on stderr only.
        var json = Run("dump", dir.Path, "--json", "--mode", "salvage");
        Assert.Equal(1, json.Code);
        Assert.All(Lines(json.Out), l => JsonDocument.Parse(l).Dispose());
        Assert.Contains("gap: events ", json.Err, StringComparison.Ordinal);

        // The damaged file on its own: the same stop and the same gap.
        var file = Run("dump", segment, "--mode", "salvage");
        Assert.Equal(1, file.Code);
        Assert.StartsWith($"gap: events {lost.FirstEventId}..{lost.LastEventId} ({count}) lost: {segment}:", Lines(file.Err)[0], StringComparison.Ordinal);
        var fileStrict = Run("dump", segment);
        Assert.Equal(1, fileStrict.Code);
        Assert.Contains($"STOPPED at damage (strict): {segment}:", fileStrict.Err, StringComparison.Ordinal);
        Assert.Equal(lost.FirstEventId - 1, IdOf(Lines(fileStrict.Out)[^1]));
    }

    [Fact]
    public void A_torn_tail_is_a_note_not_damage()
    {
        using var dir = new TempDirectory();
        WalRecorder recorder = Committed(dir.Path, 100, "committed"u8);
        recorder.Append("never committed"u8);
        recorder.AbandonMidWrite();

        var dump = Run("dump", dir.Path);
        Assert.Equal(0, dump.Code);
        Assert.Equal(Range(1, 100), Lines(dump.Out).Select(IdOf));
        Assert.StartsWith("tail: torn: unsealed bytes after the last sealed block", dump.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_paths_and_arguments_exit_2_naming_the_path()
    {
        using var dir = new TempDirectory();
        string missing = Path.Combine(dir.Path, "missing");
        var absent = Run("dump", missing);
        Assert.Equal(2, absent.Code);
        Assert.Equal($"flashwal: '{missing}' does not exist.", absent.Err.Trim());

        string text = dir.File("notes.txt");
        File.WriteAllText(text, "hello");
        var notSegment = Run("dump", text);
        Assert.Equal(2, notSegment.Code);
        Assert.Equal($"flashwal: '{text}' is not a FlashWal segment: the file does not start with \"FLASHWAL\".", notSegment.Err.Trim());

        string empty = dir.Sub("empty");
        var noSegments = Run("dump", empty);
        Assert.Equal(2, noSegments.Code);
        Assert.Contains($"'{empty}' holds no segment", noSegments.Err, StringComparison.Ordinal);

        WriteKnown(dir, Known);
        foreach (string[] args in new[]
        {
            new[] { "--count", "0" }, ["--count", "-3"], ["--from", "-1"], ["--mode", "lenient"], ["--from", "x"], ["--follow", "--mode", "salvage"],
        })
        {
            var usage = Run(["dump", dir.Path, .. args]);
            Assert.True(usage.Code == 2, string.Join(' ', args));
            Assert.Equal("", usage.Out);
            Assert.StartsWith("flashwal: ", usage.Err, StringComparison.Ordinal);
        }

        string segment = Wal.SegmentPath(dir.Path, 0);
        var followFile = Run("dump", segment, "--follow");
        Assert.Equal(2, followFile.Code);
        Assert.Equal($"flashwal: --follow follows a WAL directory; '{segment}' is a file.", followFile.Err.Trim());
        Assert.Equal(2, Run("dump", missing, "--follow").Code);
    }

    [Fact]
    public void Follow_prints_every_committed_event_once_in_order_and_ends_when_the_recorder_closes()
    {
        using var dir = new TempDirectory();
        const int Events = 1500;
        WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny); // 8 KiB segments: dozens of rotations
        var dump = Follow(dir.Path, CancellationToken.None, "--json");
        try
        {
            for (int i = 1; i <= Events; i++)
            {
                recorder.Append(Encoding.UTF8.GetBytes($"event {i}"), 3);
                if (i % 7 == 0)
                {
                    recorder.Commit();
                }

                if (i % 500 == 0)
                {
                    Thread.Sleep(20); // the tailer catches up and waits, then goes on
                }
            }
        }
        finally
        {
            recorder.Dispose();
        }

        (int code, string output, string error) = dump.Finish();
        Assert.True(code == 0, error);
        Assert.Equal("note: the recorder closed the log", error.Trim());
        string[] lines = Lines(output);
        Assert.Equal(Range(1, Events), lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()));
        Assert.All(lines, l =>
        {
            JsonElement e = JsonDocument.Parse(l).RootElement;
            Assert.Equal($"event {e.GetProperty("id").GetInt64()}", e.GetProperty("text").GetString());
        });
    }

    [Fact]
    public void Follow_ends_at_count_at_cancellation_and_when_the_writer_is_gone()
    {
        using var dir = new TempDirectory();
        WalRecorder recorder = Committed(dir.Path, 20, "x"u8);

        // --count: the recorder is still writing, the dump ends anyway.
        var counted = Follow(dir.Path, CancellationToken.None, "--from", "5", "--count", "3").Finish();
        Assert.Equal((0, ""), (counted.Code, counted.Err));
        Assert.Equal([5L, 6L, 7L], Lines(counted.Out).Select(IdOf));

        // Cancellation (what Ctrl+C does): once everything committed is printed and it waits for more.
        using (var stop = new CancellationTokenSource())
        {
            var waiting = Follow(dir.Path, stop.Token);
            Assert.True(SpinWait.SpinUntil(() => waiting.Output.Lines >= 20, Patience), "the dump did not print the committed events");
            stop.Cancel();
            var cancelled = waiting.Finish();
            Assert.Equal((0, ""), (cancelled.Code, cancelled.Err));
            Assert.Equal(Range(1, 20), Lines(cancelled.Out).Select(IdOf));
        }

        // The writer dies: every committed event, a note, exit 0.
        var gone = Follow(dir.Path, CancellationToken.None, "--from", "15");
        for (int i = 0; i < 10; i++)
        {
            recorder.Append("y"u8);
        }

        recorder.Commit();
        recorder.Append("never committed"u8);
        recorder.AbandonMidWrite();
        var ended = gone.Finish();
        Assert.True(ended.Code == 0, ended.Err);
        Assert.Equal(Range(15, 30), Lines(ended.Out).Select(IdOf));
        Assert.StartsWith("note: the recorder went away without closing the log", ended.Err, StringComparison.Ordinal);
    }

    /// <summary>Runs <c>dump &lt;dir&gt; --follow</c> on a thread of its own; <see cref="Running.Finish"/> waits for it, within <see cref="Patience"/>.</summary>
    private static Running Follow(string directory, CancellationToken stop, params string[] more)
    {
        var running = new Running(stop);
        running.Start(["dump", directory, "--follow", .. more]);
        return running;
    }

    private sealed class Running(CancellationToken stop)
    {
        private readonly CancellationTokenSource _deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        private Thread? _thread;
        private int _code = -1;

        public LineWriter Output { get; } = new();

        public LineWriter Error { get; } = new();

        public void Start(string[] args)
        {
            _deadline.CancelAfter(Patience); // a dump that never ends is stopped, and then fails its asserts
            _thread = new Thread(() => _code = Program.Run(args, Output, Error, _deadline.Token)) { IsBackground = true, Name = "dump --follow" };
            _thread.Start();
        }

        public (int Code, string Out, string Err) Finish()
        {
            Assert.True(_thread!.Join(Patience + TimeSpan.FromSeconds(10)), "dump --follow did not end");
            Assert.False(_deadline.IsCancellationRequested && !stop.IsCancellationRequested, "dump --follow ran into the test's deadline");
            _deadline.Dispose();
            return (_code, Output.ToString(), Error.ToString());
        }
    }

    /// <summary>A writer another thread may watch: what was written so far, and how many lines.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly StringBuilder _text = new();
        private int _lines;

        public override Encoding Encoding => Encoding.UTF8;

        public int Lines => Volatile.Read(ref _lines);

        public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));

        public override void Write(ReadOnlySpan<char> buffer)
        {
            lock (_text)
            {
                _text.Append(buffer);
                Volatile.Write(ref _lines, _lines + buffer.Count('\n'));
            }
        }

        public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

        public override void Write(string? value) => Write(value.AsSpan());

        public override string ToString()
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }
}
