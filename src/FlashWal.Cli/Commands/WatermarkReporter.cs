using System.Globalization;
using FlashWal.Errors;

namespace FlashWal.Cli.Commands;

/// <summary>
/// Prints <c>&lt;label&gt; &lt;id&gt;</c> on stdout each time a watermark advances: <c>durable &lt;id&gt;</c>
/// for <c>record --report-durable</c>, <c>replicated &lt;id&gt;</c> for a replicated log. Every id up to
/// the last one printed has got there. A thread of its own, so a busy thread pool delays no report;
/// stopping it prints the last advance first.
/// </summary>
#pragma warning disable CA1001 // the token source holds no timer or handle: cancelling it is all a stop needs
internal sealed class WatermarkReporter : IDisposable
#pragma warning restore CA1001
{
    private readonly string _label;
    private readonly Func<long> _mark;
    private readonly Func<long, CancellationToken, bool> _waitFor;
    private readonly TextWriter _output;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private long _reported;

    /// <param name="label">The word before each id.</param>
    /// <param name="mark">The watermark now.</param>
    /// <param name="waitFor">Waits a little (50 ms at most) for the mark to reach an id; throws a <see cref="WalException"/> when it never will (the recorder stopped, replication stopped).</param>
    /// <param name="output">Where the lines go (synchronized).</param>
    public WatermarkReporter(string label, Func<long> mark, Func<long, CancellationToken, bool> waitFor, TextWriter output)
    {
        _label = label;
        _mark = mark;
        _waitFor = waitFor;
        _output = output;
        _reported = mark();
        _thread = new Thread(Run) { IsBackground = true, Name = label + " reporter" };
        _thread.Start();
    }

    private void Run()
    {
        while (true)
        {
            bool stopping = _stop.IsCancellationRequested;
            if (!stopping)
            {
                try
                {
                    _waitFor(_reported + 1, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
                catch (WalException)
                {
                    stopping = true; // it will not move again: the writer or the shipper reports why, once
                }
            }

            long mark = _mark();
            if (mark > _reported)
            {
                _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_label} {mark}"));
                _output.Flush();
                _reported = mark;
            }

            if (stopping)
            {
                return;
            }
        }
    }

    /// <summary>Reports the last advance, then stops (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _thread.Join();
    }
}
