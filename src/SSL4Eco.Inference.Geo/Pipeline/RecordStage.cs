using Microsoft.Extensions.Logging;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// Record: every finished tile goes into the resume state (<see cref="MapState"/>) and the tally. Tile data reaches the OS as
/// it is recorded (a killed run resumes); fsync, which only matters for power loss, runs at most every few seconds so it
/// does not stall the stage once per batch. An embedding with NaN/Inf is not recorded: the tile stays pending.
/// </summary>
/// <remarks>One instance per run; runs on one thread and ignores cancellation (it drains what the other stages produced).</remarks>
internal sealed class RecordStage
{
    /// <summary>How often the resume state is forced to disk (fsync) during a run.</summary>
    private static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(5);

    public RecordStage(EmbedStage embed, MapState state, MapTally tally, ILogger logger)
    {
        Task = Task.Run(async () =>
        {
            var sinceSync = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await foreach (var (r, emb, fail) in embed.Results.Reader.ReadAllAsync(CancellationToken.None))
                {
                    if (fail) tally.Failed++;
                    else if (emb is null) { state.Record(r.Index, default, TileStatus.NoData, r.ValidFraction); tally.Skipped++; }
                    else
                    {
                        if (!AllFinite(emb))
                        {
                            logger.LogDebug("The model returned NaN/Inf for tile row {Row}, col {Col}; it stays pending for a rerun.", r.Tile.Row, r.Tile.Col);
                            tally.Fail("the model returned NaN or infinite values", 1);
                            tally.Failed++;
                        }
                        else state.Record(r.Index, emb, TileStatus.Embedded, r.ValidFraction);
                        embed.VectorPool.Add(emb);
                    }
                    tally.Completed++;
                    if (sinceSync.Elapsed >= SyncInterval) { state.Flush(); sinceSync.Restart(); }
                    tally.Report();
                }
            }
            finally { state.Flush(); }
        }, CancellationToken.None);
    }

    public Task Task { get; }

    private static bool AllFinite(float[] values)
    {
        foreach (var v in values) if (!float.IsFinite(v)) return false;
        return true;
    }
}
