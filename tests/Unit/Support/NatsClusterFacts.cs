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

/// <summary>
/// The tests that start NATS clusters run one at a time: three servers each, with the recorder and the
/// shipper, already fill this machine's cores, and clusters started side by side could pick the same
/// free port.
/// </summary>
[CollectionDefinition(Name)]
public sealed class NatsClusters
{
    public const string Name = "nats clusters";
}
