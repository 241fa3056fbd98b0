using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Embedding;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>One tile through the embed stage: its read, its embedding (null for nodata or a failure) and whether it failed.</summary>
internal readonly record struct TileResult(TileRead Read, float[]? Embedding, bool Failed);

/// <summary>
/// Embed: a batcher groups read tiles into batches of the model's <see cref="IEmbeddingModel.BatchSize"/>, and
/// <see cref="MapRequest.EmbedConcurrency"/> workers embed batches side by side (each a blocking <c>EmbedBatch</c> call) into
/// <see cref="Results"/>. A batch that throws is passed on as failed (its tiles stay pending); an
/// <see cref="ArgumentException"/> (a configuration error) stops the run.
/// </summary>
/// <remarks>One instance per run; the channels and pools are thread-safe.</remarks>
internal sealed class EmbedStage
{
    public EmbedStage(ReadStage read, IEmbeddingModel model, int embedConcurrency, int queueCapacity, MapTally tally, ILogger logger, CancellationToken ct)
    {
        int dim = model.Contract.EmbeddingDim, size = model.BatchSize;
        Results = Channel.CreateBounded<TileResult>(new BoundedChannelOptions(queueCapacity) { SingleReader = true });
        var batches = Channel.CreateBounded<List<TileRead>>(new BoundedChannelOptions(1) { SingleWriter = true });
        Batcher = Task.Run(async () =>
        {
            try
            {
                // Once every worker has its first batch, (EmbedConcurrency − 1) batches' worth of tiles are held back, so that
                // when reading ends the remaining tiles are split among all workers instead of the last batch running alone on
                // part of the cores.
                int workers = embedConcurrency, started = 0;
                var pending = new List<TileRead>(size * workers);
                await foreach (var r in read.Reads.Reader.ReadAllAsync(ct))
                {
                    if (r.Patch is null) { await Results.Writer.WriteAsync(new(r, null, r.Error is not null), ct); continue; }
                    pending.Add(r);
                    if (pending.Count < (started < workers ? size : size * workers)) continue;
                    started++;
                    await batches.Writer.WriteAsync(pending.GetRange(0, size), ct);
                    pending.RemoveRange(0, size);
                }
                for (int parts = Math.Min(workers, pending.Count), p = 0, start = 0; p < parts; p++)
                {
                    int n = (pending.Count - start) / (parts - p);
                    await batches.Writer.WriteAsync(pending.GetRange(start, n), ct);
                    start += n;
                }
                batches.Writer.TryComplete();
            }
            catch (Exception e)
            {
                batches.Writer.TryComplete(e);
                throw;
            }
        }, ct);
        Embedders = Enumerable.Range(0, embedConcurrency).Select(_ => Task.Run(async () =>
        {
            var batchOutput = new float[size * dim];
            await foreach (var batch in batches.Reader.ReadAllAsync(ct))
            {
                bool ok = false;
                try
                {
                    model.EmbedBatch(batch.Select(b => b.Patch!).ToList(), batchOutput.AsSpan(0, batch.Count * dim), ct);
                    ok = true;
                }
                catch (Exception e) when (e is not OperationCanceledException and not ArgumentException)
                {
                    logger.LogDebug(e, "Embedding a batch of {Count} tiles failed (first tile row {Row}, col {Col}); they stay pending for a rerun.",
                        batch.Count, batch[0].Tile.Row, batch[0].Tile.Col);
                    tally.Fail("embedding failed: " + MapTally.FirstLine(e.Message), batch.Count);
                }
                for (int i = 0; i < batch.Count; i++)
                {
                    float[]? vector = null;
                    if (ok)
                    {
                        if (!VectorPool.TryTake(out vector)) vector = new float[dim];
                        batchOutput.AsSpan(i * dim, dim).CopyTo(vector);
                    }
                    await Results.Writer.WriteAsync(new(batch[i], vector, !ok), ct);
                }
                foreach (var b in batch) read.DataPool.Add(b.Patch!.Data);
            }
        }, ct)).ToArray();
        Done = Task.WhenAll(Embedders.Append(Batcher));
        _ = Done.ContinueWith(t => Results.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);
    }

    /// <summary>Embedded (or nodata, or failed) tiles.</summary>
    public Channel<TileResult> Results { get; }

    /// <summary>Embedding vectors travel to the record stage in arrays it hands back (no allocation per tile once the queues are full).</summary>
    public ConcurrentBag<float[]> VectorPool { get; } = [];

    public Task Batcher { get; }
    public Task[] Embedders { get; }

    /// <summary>The batcher and every worker.</summary>
    public Task Done { get; }
}
