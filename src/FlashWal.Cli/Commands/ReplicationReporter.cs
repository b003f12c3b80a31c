using System.Globalization;
using FlashWal.Errors;
using FlashWal.Recording;

namespace FlashWal.Cli.Commands;

/// <summary>
/// Prints <c>replicated &lt;id&gt;</c> on stdout each time a replicated watermark advances, as
/// <c>record --report-durable</c> prints <c>durable &lt;id&gt;</c>: every id up to the last one printed is
/// stored by a quorum of the stream's servers. A thread of its own, so a busy thread pool delays no report.
/// </summary>
#pragma warning disable CA1001 // the token source holds no timer or handle: cancelling it is all a stop needs
internal sealed class ReplicationReporter : IDisposable
#pragma warning restore CA1001
{
    private readonly ReplicationMark _mark;
    private readonly TextWriter _output;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private long _reported;

    public ReplicationReporter(ReplicationMark mark, TextWriter output)
    {
        _mark = mark;
        _output = output;
        _reported = mark.EventId;
        _thread = new Thread(Run) { IsBackground = true, Name = "replicated reporter" };
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
                    _mark.Wait(_reported + 1, TimeSpan.FromMilliseconds(50), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
                catch (WalException)
                {
                    stopping = true; // replication stopped for good: the shipper's error says why
                }
            }

            long replicated = _mark.EventId;
            if (replicated > _reported)
            {
                _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replicated {replicated}"));
                _output.Flush();
                _reported = replicated;
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
