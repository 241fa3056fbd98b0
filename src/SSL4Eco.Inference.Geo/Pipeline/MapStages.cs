using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// Runs read → embed → record over the pending tiles of a plan. The first stage that faults cancels the others, so no stage
/// stays blocked on a full or abandoned queue; the record stage always drains and flushes the state. The first real fault
/// (not a cancellation) is rethrown; a cancellation by the caller is rethrown as such.
/// </summary>
/// <remarks>Stateless; each call runs its own stages.</remarks>
internal static class MapStages
{
    public static async Task RunAsync(MapPlan plan, MapState state, IReadOnlyList<Tile> pending, IEmbeddingModel model, MapTally tally,
        ILogger logger, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = linked.Token;
        var read = new ReadStage(plan, model.Recipe, pending, tally, logger, ct);
        var embed = new EmbedStage(read, model, plan.Request.EmbedConcurrency, plan.Request.QueueCapacity, tally, logger, ct);
        var record = new RecordStage(embed, state, tally, logger);
        foreach (var stage in read.Readers.Concat(embed.Embedders).Append(embed.Batcher).Append(record.Task))
            _ = stage.ContinueWith(t => { if (t.IsFaulted) linked.Cancel(); }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await Task.WhenAll(read.Done, embed.Done, record.Task).ConfigureAwait(false);
            await Task.WhenAll(read.Readers).ConfigureAwait(false);
        }
        catch
        {
            linked.Cancel();
            read.Reads.Writer.TryComplete();
            await read.Done.ConfigureAwait(false); // never faults; readers have stopped and closed their datasets
            try { await record.Task.ConfigureAwait(false); }
            catch (Exception e) { logger.LogDebug(e, "Writer stopped after a failure in another stage."); }
            cancellationToken.ThrowIfCancellationRequested();
            var fault = read.Readers.Concat(embed.Embedders).Append(embed.Batcher).Where(t => t.IsFaulted).Select(t => t.Exception!.GetBaseException())
                .FirstOrDefault(e => e is not OperationCanceledException);
            if (fault is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fault);
            throw;
        }
    }
}
