// Torch's RNG and thread count are process-wide: training tests must not interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
