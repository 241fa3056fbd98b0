using System.Globalization;

namespace SSL4Eco.Inference.Geo.Scale;

/// <summary>
/// Which units of a <see cref="WorkManifest"/> one task maps: shard <see cref="Index"/> of <see cref="Count"/> owns unit k
/// when <c>k mod Count == Index</c> (round robin, so neighbouring blocks spread over tasks and every shard gets within one
/// unit of the same count). The index may come from a batch engine's environment (<see cref="FromEnvironment"/>).
/// </summary>
/// <param name="Index">0-based shard index, below <paramref name="Count"/>.</param>
/// <param name="Count">Number of shards (≥ 1).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ShardSpec(int Index, int Count)
{
    /// <summary>Whether this shard maps unit <paramref name="unitIndex"/>.</summary>
    public bool Owns(int unitIndex) => unitIndex % Count == Index;

    /// <summary>Parses <c>i/n</c> (e.g. <c>3/10</c>); throws <see cref="ArgumentException"/> naming the fix.</summary>
    public static ShardSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            return Create(i, n, $"--shard {text}");
        throw new ArgumentException($"--shard '{text}' is not 'i/n' (e.g. 0/4: shard 0 of 4; 'env' takes i and n from the batch engine's environment).");
    }

    /// <summary>
    /// The shard of this task from the batch engine's environment: Slurm job arrays (<c>SLURM_ARRAY_TASK_ID</c>, with
    /// <c>SLURM_ARRAY_TASK_MIN</c> subtracted when set, and <c>SLURM_ARRAY_TASK_COUNT</c>), Kubernetes Indexed Jobs
    /// (<c>JOB_COMPLETION_INDEX</c>), AWS Batch array jobs (<c>AWS_BATCH_JOB_ARRAY_INDEX</c>), Azure Batch (<c>AZ_BATCH_TASK_ID</c>,
    /// its trailing number) or <c>SSL4ECO_SHARD_INDEX</c>; the count from <paramref name="count"/>, else <c>SLURM_ARRAY_TASK_COUNT</c>
    /// or <c>SSL4ECO_SHARD_COUNT</c> (Kubernetes, AWS and Azure do not publish it: pass it, e.g. <c>--shard-count</c>).
    /// </summary>
    public static ShardSpec FromEnvironment(Func<string, string?> environment, int? count = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        int? Int(string name) => environment(name) is { } v && int.TryParse(v.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int x) ? x : null;
        (int? index, string source) = (Int("SLURM_ARRAY_TASK_ID"), "SLURM_ARRAY_TASK_ID");
        if (index is not null && Int("SLURM_ARRAY_TASK_MIN") is int min) index -= min;
        if (index is null) (index, source) = (Int("JOB_COMPLETION_INDEX"), "JOB_COMPLETION_INDEX");
        if (index is null) (index, source) = (Int("AWS_BATCH_JOB_ARRAY_INDEX"), "AWS_BATCH_JOB_ARRAY_INDEX");
        if (index is null && environment("AZ_BATCH_TASK_ID") is { } az)
        {
            var digits = new string(az.Reverse().TakeWhile(char.IsAsciiDigit).Reverse().ToArray());
            if (digits.Length > 0) (index, source) = (int.Parse(digits, CultureInfo.InvariantCulture), "AZ_BATCH_TASK_ID");
        }
        if (index is null) (index, source) = (Int("SSL4ECO_SHARD_INDEX"), "SSL4ECO_SHARD_INDEX");
        if (index is null)
            throw new ArgumentException("--shard env found no task index in the environment (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, AZ_BATCH_TASK_ID or SSL4ECO_SHARD_INDEX); give --shard i/n instead.");
        int? n = count ?? Int("SLURM_ARRAY_TASK_COUNT") ?? Int("SSL4ECO_SHARD_COUNT");
        if (n is null)
            throw new ArgumentException($"--shard env took the index from {source} but the engine does not publish the shard count; pass --shard-count N (or set SSL4ECO_SHARD_COUNT).");
        return Create(index.Value, n.Value, $"--shard env ({source}={index})");
    }

    private static ShardSpec Create(int i, int n, string what)
    {
        if (n < 1) throw new ArgumentException($"{what}: the shard count must be at least 1, got {n}.");
        if (i < 0 || i >= n) throw new ArgumentException($"{what}: shard index {i} is outside 0..{n - 1} (indices start at 0).");
        return new ShardSpec(i, n);
    }

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"{Index}/{Count}");
}
