using System.CommandLine;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Scale;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// The <c>ssl4eco map --manifest M --shard i/n</c> form: runs the units of one shard of a planned map (<see cref="ShardRunner"/>).
/// <c>--shard env</c> takes i (and n where the engine publishes it) from Slurm, Kubernetes Indexed Jobs, AWS Batch or Azure Batch.
/// </summary>
internal sealed class MapManifestRun
{
    public Option<string?> Manifest { get; } = new("--manifest") { Description = "Run a planned map ('ssl4eco plan'): the manifest file or object URL; give --shard, no inputs and no --output." };
    public Option<string?> Shard { get; } = new("--shard") { Description = "With --manifest: 'i/n' (shard i of n; unit k belongs to shard k mod n) or 'env' (i from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or AZ_BATCH_TASK_ID; n from --shard-count or SLURM_ARRAY_TASK_COUNT)." };
    public Option<int?> ShardCount { get; } = new("--shard-count") { Description = "With --shard env: the number of shards (Kubernetes, AWS and Azure do not publish it)." };
    public Option<string?> Work { get; } = new("--work") { Description = "With --manifest: local scratch folder for resume states and files before upload (default: the system's temporary folder)." };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Manifest, Shard, ShardCount, Work }) command.Options.Add(o);
    }

    public async Task<int> RunAsync(ParseResult parse, MapCliOptions map, CancellationToken token)
    {
        if (parse.GetValue(map.Output) is not null) throw new ArgumentException("--manifest writes where the manifest says (its output root); drop --output.");
        var settings = map.Settings(parse, "manifest", "manifest");
        settings.Validate();
        var encoder = map.Encoder;
        if (parse.GetValue(map.Inputs)!.Length > 0) throw new ArgumentException("--manifest takes its inputs from the manifest; give no input rasters (or drop --manifest).");
        var shardText = parse.GetValue(Shard) ?? throw new ArgumentException("--manifest needs --shard i/n (or --shard env).");
        var shard = shardText == "env" ? ShardSpec.FromEnvironment(Environment.GetEnvironmentVariable, parse.GetValue(ShardCount)) : ShardSpec.Parse(shardText);
        var manifest = WorkManifest.Load(parse.GetValue(Manifest)!);
        using var model = await encoder.OpenAsync(parse, token, concurrentCallers: settings.EmbedConcurrency).ConfigureAwait(false);
        var work = parse.GetValue(Work) ?? Path.Combine(Path.GetTempPath(), "ssl4eco-work");
        var result = await ShardRunner.RunAsync(manifest, shard, model, work, settings, ConsoleLogging.Logger, token).ConfigureAwait(false);
        Console.WriteLine($"shard {shard}: {result.Owned} units = {result.Mapped} mapped + {result.Skipped} already done (verified)");
        return 0;
    }
}
