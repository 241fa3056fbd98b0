using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Tables;

/// <summary>
/// The staged run behind <see cref="PatchFolderEmbeddings.EmbedFiles"/>: readers (GDAL read + nodata check, side by side,
/// started in file order) → a batcher that cuts the files into the same batches a one-by-one run makes → embedders (batches
/// side by side) → the caller's thread, which takes the batches back in order, appends rows, reports progress and throws the
/// first failure in file order. Stages are joined by bounded channels, so at most about
/// <c>(EmbedConcurrency + 2) × batch + 2 × readers</c> patches are in memory.
/// </summary>
/// <remarks>Stateless; every call is independent and thread-safe as far as the model's <c>EmbedBatch</c> is (concurrent calls
/// when <see cref="ComputeBudget.EmbedConcurrency"/> is above 1). Every stage has stopped when <see cref="Run"/> returns or throws.</remarks>
internal static class PatchFilePipeline
{
    /// <summary>One file read: its patch (null when nodata refused it), or the error naming the file.</summary>
    private readonly record struct Read(string File, ValidPatch? Valid, Exception? Error);

    /// <summary>One batch of consecutive files: the patches to embed, the nodata files left out, and the first error.</summary>
    private sealed class Batch(int end)
    {
        public int End { get; } = end;
        public List<(string File, Patch Patch)> Patches { get; } = [];
        public List<ValidPatch> Skipped { get; } = [];
        public Exception? Error { get; set; }
        public TaskCompletionSource<float[]> Embedded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static EmbeddingTable Run(IReadOnlyList<string> files, IEmbeddingModel model, IReadOnlyList<string>? bands, int batchSize,
        IProgress<int>? progress, NoDataPolicy noData, ICollection<ValidPatch>? skipped, ComputeBudget budget, CancellationToken cancellationToken)
    {
        int readers = Math.Max(1, budget.ReaderCount), workers = Math.Max(1, budget.EmbedConcurrency), dim = model.Contract.EmbeddingDim;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = linked.Token;
        var reads = Channel.CreateBounded<Task<Read>>(new BoundedChannelOptions(readers) { SingleReader = true, SingleWriter = true });
        var toEmbed = Channel.CreateBounded<Batch>(new BoundedChannelOptions(1) { SingleWriter = true });
        var ordered = Channel.CreateBounded<Batch>(new BoundedChannelOptions(workers + 1) { SingleReader = true, SingleWriter = true });
        using var slots = new SemaphoreSlim(readers, readers);

        // Readers: each read starts once a slot is free, in file order; the channel holds the reads in that order.
        var producer = Task.Run(async () =>
        {
            try
            {
                foreach (var file in files)
                {
                    await slots.WaitAsync(ct).ConfigureAwait(false);
                    var read = Task.Run(() =>
                    {
                        try { return ReadOne(file, model, bands, noData, skipped is not null); }
                        finally { slots.Release(); }
                    }, CancellationToken.None);
                    await reads.Writer.WriteAsync(read, ct).ConfigureAwait(false);
                }
            }
            finally { reads.Writer.TryComplete(); }
        }, CancellationToken.None);

        // Batcher: the batches of a one-by-one run (files [k·size, (k+1)·size)), each to an embedder and, in order, to the caller.
        var batcher = Task.Run(async () =>
        {
            try
            {
                for (int start = 0; start < files.Count; start += batchSize)
                {
                    var batch = new Batch(Math.Min(start + batchSize, files.Count));
                    for (int i = start; i < batch.End && batch.Error is null; i++)
                    {
                        var read = await (await reads.Reader.ReadAsync(ct).ConfigureAwait(false)).ConfigureAwait(false);
                        if (read.Error is not null) batch.Error = read.Error;
                        else if (read.Valid!.Patch is { } p) batch.Patches.Add((read.File, p));
                        else batch.Skipped.Add(read.Valid with { Patch = null, Source = read.File });
                    }
                    await ordered.Writer.WriteAsync(batch, ct).ConfigureAwait(false);
                    if (batch.Error is not null) break; // the caller stops at this batch
                    if (batch.Patches.Count > 0) await toEmbed.Writer.WriteAsync(batch, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                ordered.Writer.TryComplete();
                toEmbed.Writer.TryComplete();
            }
        }, CancellationToken.None);

        // Embedders run on their own threads: each EmbedBatch call holds its thread for the whole batch, which would leave
        // the thread pool (on a 2-core machine: 2 threads to start with) without a thread for the readers.
        var embedders = Enumerable.Range(0, workers).Select(_ => Task.Factory.StartNew(() =>
        {
            while (Wait(toEmbed.Reader.WaitToReadAsync(ct)))
                while (toEmbed.Reader.TryRead(out var batch))
                {
                    try { batch.Embedded.TrySetResult(model.EmbedBatch(batch.Patches.Select(b => b.Patch).ToList(), ct)); }
                    catch (Exception e) { batch.Embedded.TrySetException(e); }
                }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        var ids = new List<string>(files.Count);
        var values = new List<float>(files.Count * dim);
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!Wait(ordered.Reader.WaitToReadAsync(ct)) || !ordered.Reader.TryRead(out var batch)) break;
                foreach (var s in batch.Skipped) skipped!.Add(s);
                if (batch.Error is not null) ExceptionDispatchInfo.Throw(batch.Error);
                if (batch.Patches.Count > 0)
                {
                    var embedded = batch.Embedded.Task.GetAwaiter().GetResult();
                    for (int i = 0; i < batch.Patches.Count; i++)
                    {
                        var row = embedded.AsSpan(i * dim, dim);
                        foreach (var v in row)
                            if (!float.IsFinite(v))
                                throw new InvalidDataException($"The model returned a non-finite embedding ({v}) for '{Path.GetFileName(batch.Patches[i].File)}'; its weights are likely corrupt: re-convert the checkpoint.");
                        ids.Add(Path.GetFileName(batch.Patches[i].File));
                        values.AddRange(row);
                    }
                }
                progress?.Report(batch.End);
            }
            // A stage that stopped on its own (not by the caller) surfaces here.
            StopAll(producer, batcher, embedders, slots, readers);
            return new EmbeddingTable(ids, values.ToArray(), dim);
        }
        catch
        {
            linked.Cancel();
            StopAll(producer, batcher, embedders, slots, readers, quiet: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw;
        }
    }

    private static Read ReadOne(string file, IEmbeddingModel model, IReadOnlyList<string>? bands, NoDataPolicy noData, bool mayskip)
    {
        try
        {
            var read = PatchReader.ReadValid(file, noData, bands, model.Recipe);
            if (read.Patch is null && !mayskip)
                return new Read(file, null, new InvalidDataException(noData.Refusal(Path.GetFileName(file), read.ValidFraction)));
            return new Read(file, read, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new Read(file, null, new InvalidDataException($"{Path.GetFileName(file)}: {e.Message}", e));
        }
        catch (Exception e)
        {
            return new Read(file, null, e);
        }
    }

    private static bool Wait(ValueTask<bool> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    /// <summary>Waits for every stage and every read in flight (reads are never abandoned: each holds an open GDAL dataset).</summary>
    private static void StopAll(Task producer, Task batcher, Task[] embedders, SemaphoreSlim slots, int readers, bool quiet = false)
    {
        var all = Task.WhenAll(embedders.Append(producer).Append(batcher));
        try { all.GetAwaiter().GetResult(); }
        catch when (quiet) { }
        for (int i = 0; i < readers; i++) slots.Wait();
        slots.Release(readers);
    }
}
