using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FlashWal.Format;
using FlashWal.Recording;

namespace FlashWal.Cli.Commands;

/// <summary>
/// <c>flashwal record &lt;dir&gt;</c>: writes synthetic events (payloads derived from their ids) through
/// <see cref="SegmentWriter"/>, rotating to a new segment when one fills, continuing the log already
/// in the directory.
/// </summary>
internal static class RecordCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var directory = new Argument<string>("dir") { Description = "The WAL directory (created when missing)." };
        var events = new Option<long>("--events") { Description = "How many events to write.", DefaultValueFactory = _ => 1_000_000 };
        var payloadSize = new Option<string>("--payload-size") { Description = "Payload bytes per event (e.g. 64, 1KiB).", DefaultValueFactory = _ => "64" };
        var segmentSize = new Option<string>("--segment-size") { Description = "Segment file size (e.g. 8MiB).", DefaultValueFactory = _ => ByteSize.Format(SegmentFormat.DefaultSegmentSize) };
        var blockSize = new Option<string>("--block-size") { Description = "Largest block (a power of two from 4KiB to 16MiB).", DefaultValueFactory = _ => ByteSize.Format(SegmentFormat.DefaultBlockSize) };
        var command = new Command("record", "Write synthetic events into a WAL directory, continuing its log.") { directory, events, payloadSize, segmentSize, blockSize };
        command.SetAction(parse => CommandErrors.Run(error, () =>
        {
            long count = parse.GetValue(events);
            if (count < 0)
            {
                return CommandErrors.Usage(error, $"--events must be 0 or more (got {count}).");
            }

            if (!ByteSize.TryParse(parse.GetValue(payloadSize)!, out long payload) || payload > int.MaxValue)
            {
                return CommandErrors.Usage(error, $"--payload-size '{parse.GetValue(payloadSize)}' is not a size.");
            }

            if (!ByteSize.TryParse(parse.GetValue(segmentSize)!, out long segment))
            {
                return CommandErrors.Usage(error, $"--segment-size '{parse.GetValue(segmentSize)}' is not a size.");
            }

            if (!ByteSize.TryParse(parse.GetValue(blockSize)!, out long block) || block > int.MaxValue)
            {
                return CommandErrors.Usage(error, $"--block-size '{parse.GetValue(blockSize)}' is not a size.");
            }

            var options = new SegmentOptions { SegmentSize = segment, BlockSize = (int)block };
            options.Validate();
            if (payload > options.MaxPayloadSize)
            {
                return CommandErrors.Usage(error, $"--payload-size {payload} does not fit in a block of {block} bytes: the largest payload is {options.MaxPayloadSize} bytes.");
            }

            string dir = parse.GetRequiredValue(directory);
            if (File.Exists(dir))
            {
                return CommandErrors.Usage(error, $"'{Path.GetFullPath(dir)}' is a file; a WAL directory was expected.");
            }

            Directory.CreateDirectory(dir);
            return Record(output, LogTail.Recover(dir), options, count, (int)payload);
        }));
        return command;
    }

    private static int Record(TextWriter output, LogTail tail, SegmentOptions options, long count, int payloadLength)
    {
        if (tail.TornTail is { } torn)
        {
            output.WriteLine($"note: {torn}");
        }

        byte[] payload = new byte[payloadLength];
        long id = tail.LastEventId;
        long index = tail.NextSegmentIndex;
        uint chain = tail.ChainValue;
        int segments = 0;
        var clock = Stopwatch.StartNew();
        SegmentWriter? writer = null;
        try
        {
            for (long written = 0; written < count; written++)
            {
                id++;
                SyntheticEvents.Fill(id, payload);
                long now = WalClock.UnixNs();
                while (writer is null || !writer.TryAppend(id, now, SyntheticEvents.Type, payload))
                {
                    if (writer is not null)
                    {
                        chain = writer.ChainValue;
                        writer.Close();
                        index++;
                    }

                    writer = SegmentWriter.Create(tail.Directory, index, tail.LogId, options);
                    writer.Start(chain, id - 1);
                    segments++;
                }
            }
        }
        finally
        {
            writer?.Close();
        }

        clock.Stop();
        double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"recorded {count} event(s) of {payloadLength} bytes, ids {tail.LastEventId + 1}..{id}, in {segments} new segment(s) of {ByteSize.Format(options.SegmentSize)} in {tail.Directory}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{clock.Elapsed.TotalSeconds:F2} s, {count / seconds:N0} events/s, {count * (double)payloadLength / seconds / (1 << 20):N1} MiB/s of payload"));
        return ExitCodes.Ok;
    }
}
