using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>
/// Arguments of a <see cref="WalRecorderHost"/> call that it cannot honour are refused before the
/// event is queued: a call that throws must not have recorded the event (a retry would record it twice).
/// </summary>
public class EngineHostCallTests
{
    public static TheoryData<string, SubmitWait, TimeSpan?, string> Refused => new()
    {
        { "undefined wait", (SubmitWait)4, null, "wait" },
        { "negative wait", (SubmitWait)(-1), null, "wait" },
        { "negative timeout", SubmitWait.Committed, TimeSpan.FromMilliseconds(-2), "timeout" },
        { "timeout beyond int ms", SubmitWait.Committed, TimeSpan.FromDays(30), "timeout" },
        { "min timeout", SubmitWait.Durable, TimeSpan.MinValue, "timeout" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_submit_it_cannot_honour_is_refused_and_records_nothing(string name, SubmitWait wait, TimeSpan? timeout, string parameter)
    {
        Assert.NotNull(name);
        using var temp = new TempDirectory();
        using (WalRecorderHost host = WalRecorderHost.Start(temp.Path, new WalRecorderHostOptions { Recorder = BadInput.Tiny }))
        {
            Assert.Equal(1, host.Submit(BadInput.Payload(1), 1, SubmitWait.Committed));
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => host.Submit([9, 9, 9], 0, wait, timeout));
            Assert.Equal(parameter, e.ParamName);
            if (timeout is null)
            {
                Assert.Equal(parameter, (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await host.SubmitAsync(new byte[] { 9, 9, 9 }, 0, wait))).ParamName);
            }
            else
            {
                Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => host.Flush(timeout)).ParamName);
            }

            Assert.Equal(1, host.Submitted);
            Assert.Equal(2, host.Submit(BadInput.Payload(2), 2, SubmitWait.Durable, TimeSpan.Zero + TimeSpan.FromSeconds(10)));
        }

        BadInput.AssertHolds(temp.Path, 2);
        Assert.Equal(2, WalCatalog.Open(temp.Path).Events);
    }

    [Fact]
    public void The_edge_timeouts_are_accepted()
    {
        using var temp = new TempDirectory();
        using (WalRecorderHost host = WalRecorderHost.Start(temp.Path, new WalRecorderHostOptions { Recorder = BadInput.Tiny }))
        {
            Assert.Equal(1, host.Submit(BadInput.Payload(1), 1, SubmitWait.Durable, Timeout.InfiniteTimeSpan));
            Assert.Equal(2, host.Submit(BadInput.Payload(2), 2, SubmitWait.Committed, TimeSpan.FromMilliseconds(int.MaxValue)));
            Assert.Equal(2, host.Flush(TimeSpan.FromSeconds(10)));
        }

        BadInput.AssertHolds(temp.Path, 2);
    }
}
