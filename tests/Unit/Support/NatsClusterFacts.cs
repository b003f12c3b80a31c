namespace FlashWal.Tests.Support;

/// <summary>A test that needs a NATS cluster: skipped, with the reason, where no <c>nats-server</c> could be installed.</summary>
public sealed class NatsClusterFactAttribute : FactAttribute
{
    public NatsClusterFactAttribute()
    {
        if (NatsCluster.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A theory that needs a NATS cluster: skipped, with the reason, where no <c>nats-server</c> could be installed.</summary>
public sealed class NatsClusterTheoryAttribute : TheoryAttribute
{
    public NatsClusterTheoryAttribute()
    {
        if (NatsCluster.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
