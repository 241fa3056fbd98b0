using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Tiling;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// Read: <see cref="MapRequest.ReaderCount"/> readers, each with its own GDAL dataset, read the pending tiles into
/// <see cref="Reads"/>. A tile that cannot be read is passed on as failed (it stays pending for a rerun).
/// </summary>
/// <remarks>One instance per run; the channel and pool are thread-safe.</remarks>
internal sealed class ReadStage
{
    public ReadStage(MapPlan plan, InputRecipe recipe, IReadOnlyList<Tile> pending, MapTally tally, ILogger logger, CancellationToken ct)
    {
        var request = plan.Request;
        Reads = Channel.CreateBounded<TileRead>(new BoundedChannelOptions(request.QueueCapacity) { SingleReader = true });
        Readers = Enumerable.Range(0, request.ReaderCount).Select(k => Task.Run(async () =>
        {
            using var reader = new TileReader(request, recipe, DataPool);
            // Each reader takes whole tile rows (row % readers == k) so its reads stay block-aligned and cache-friendly.
            foreach (var t in pending.Where(t => t.Row % request.ReaderCount == k))
            {
                ct.ThrowIfCancellationRequested();
                TileRead r;
                try { r = reader.Read(t, plan.Index(t)); }
                catch (GdalException e)
                {
                    logger.LogDebug(e, "Reading tile row {Row}, col {Col} failed; it stays pending for a rerun.", t.Row, t.Col);
                    tally.Fail("reading the input failed: " + MapTally.FirstLine(e.Message), 1);
                    r = new TileRead(t, plan.Index(t), null, 0, e);
                }
                await Reads.Writer.WriteAsync(r, ct);
            }
        }, ct)).ToArray();
        Done = Task.WhenAll(Readers).ContinueWith(t => Reads.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);
    }

    /// <summary>Tiles read (or failed), in no particular order.</summary>
    public Channel<TileRead> Reads { get; }

    /// <summary>Tile-data arrays go back to the readers once their batch is embedded (bounded by the queues).</summary>
    public ConcurrentBag<float[]> DataPool { get; } = [];

    public Task[] Readers { get; }

    /// <summary>Completes <see cref="Reads"/> when every reader has stopped; never faults.</summary>
    public Task Done { get; }
}
