using System.Buffers;
using System.Text;
using System.Text.Json;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;

namespace FlashWal.Cli.Commands;

/// <summary>
/// Writes one event a line, as text (<see cref="EventText"/>'s line) or as JSON Lines; how a payload
/// is shown is <see cref="PayloadText"/>'s decision, how a time is written <see cref="WalClock.ToIso8601"/>'s.
/// </summary>
/// <remarks>
/// Text: <c>id=7 time=2023-11-14T22:13:20.000000007Z type=0 length=5 hex=68656c6c6f text="hello"</c>,
/// with at most <see cref="PayloadText.DefaultPrefixBytes"/> bytes of a payload shown (as hex and as
/// text) and <c>...(+N bytes)</c> after them; <c>text=</c> only when the payload is text. JSON: one
/// object a line, <c>{"id":7,"time":"…","timeUnixNs":…,"type":0,"length":5,"hex":"68656c6c6f","text":"hello"}</c>,
/// the whole payload as hex, <c>text</c> null when the payload is not text.
/// <para>Lines are gathered and written some 32 K characters at a time, and whenever
/// <see cref="Flush"/> is called. <see cref="Console.Out"/> itself would turn that into a system call
/// per 256 characters (it flushes each write through a small buffer), so stdout is written through a
/// buffered writer of its own, in the console's encoding.</para>
/// </remarks>
internal sealed class EventPrinter : IDisposable
{
    private readonly TextWriter _output;
    private readonly StreamWriter? _stdout; // owned: the buffered writer in place of Console.Out
    private const int ChunkChars = 32 * 1024;

    private readonly StringBuilder _pending = new(ChunkChars + 1024);
    private readonly ArrayBufferWriter<byte>? _buffer;
    private readonly Utf8JsonWriter? _json;

    public EventPrinter(TextWriter output, bool json)
    {
        _output = output;
        if (ReferenceEquals(output, Console.Out) && Console.OutputEncoding is var encoding && (encoding.Preamble.Length == 0 || encoding is UTF8Encoding))
        {
            encoding = encoding.Preamble.Length == 0 ? encoding : new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
            _output = _stdout = new StreamWriter(Console.OpenStandardOutput(), encoding, bufferSize: 1 << 16, leaveOpen: true) { AutoFlush = false };
        }

        if (json)
        {
            _buffer = new ArrayBufferWriter<byte>(256);
            _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = Output.Json.Encoder });
        }
    }

    public void Print(in WalEvent e)
    {
        if (_json is null)
        {
            PrintText(e);
        }
        else
        {
            PrintJson(e);
        }
    }

    /// <summary>Writes every line gathered so far and flushes the writer.</summary>
    public void Flush()
    {
        WritePending();
        _output.Flush();
    }

    /// <summary>Writes what is left (flushing stdout's own writer) and releases the writers.</summary>
    public void Dispose()
    {
        _json?.Dispose();
        if (_stdout is not null)
        {
            WritePending();
            _stdout.Dispose();
        }
    }

    private void EndLine()
    {
        _pending.Append(_output.NewLine);
        if (_pending.Length >= ChunkChars)
        {
            WritePending();
        }
    }

    private void WritePending()
    {
        if (_pending.Length > 0)
        {
            _output.Write(_pending);
            _pending.Clear();
        }
    }

    private void PrintText(in WalEvent e)
    {
        EventText.Append(_pending, e.EventId, e.TimestampUnixNs, e.Type, e.Payload);
        EndLine();
    }

    private void PrintJson(in WalEvent e)
    {
        ReadOnlySpan<byte> payload = e.Payload;
        _buffer!.ResetWrittenCount();
        _json!.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteNumber("id", e.EventId);
        _json.WriteString("time", WalClock.ToIso8601(e.TimestampUnixNs));
        _json.WriteNumber("timeUnixNs", e.TimestampUnixNs);
        _json.WriteNumber("type", e.Type);
        _json.WriteNumber("length", payload.Length);
        _json.WriteString("hex", PayloadText.ToHex(payload));
        if (PayloadText.IsText(payload))
        {
            _json.WriteString("text", payload); // the UTF-8 bytes as they are, escaped for JSON
        }
        else
        {
            _json.WriteNull("text");
        }

        _json.WriteEndObject();
        _json.Flush();
        _pending.Append(Encoding.UTF8.GetString(_buffer.WrittenSpan));
        EndLine();
    }
}
