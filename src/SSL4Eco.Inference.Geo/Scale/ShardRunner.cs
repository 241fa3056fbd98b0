using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Files;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Outputs;

namespace SSL4Eco.Inference.Geo.Scale;

/// <summary>What one shard did: units mapped now, units found done (verified) and skipped.</summary>
/// <param name="Owned">Units this shard owns.</param>
/// <param name="Mapped">Units mapped and committed by this run.</param>
/// <param name="Skipped">Units already done (record present, every hash verified).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ShardResult(int Owned, int Mapped, int Skipped);

/// <summary>
/// Runs the units a <see cref="ShardSpec"/> owns in a <see cref="WorkManifest"/> through the ordinary
/// <see cref="EmbeddingMapper"/>. Per unit: a done unit (record present, hashes verified) is skipped; otherwise the unit's
/// work lock (<see cref="OutputLock"/> in the local work folder) is taken, waiting while another process on this machine
/// holds it, and the unit is re-checked; then it is mapped into the work folder (resumable with the mapper's own resume
/// state), its files are committed to <see cref="WorkManifest.OutputRoot"/> (atomically, object storage included) and its
/// record is written last. So a retried, killed or duplicated task is harmless: the same unit gives the same bytes, a
/// reader sees either no output or a whole one, and a unit counts as done only once everything it wrote is in place.
/// </summary>
/// <remarks>Thread-safe: calls are independent (two runs in one work folder coordinate through the unit locks).</remarks>
public static class ShardRunner
{
    /// <summary>Maps this shard's units; see the type remarks.</summary>
    /// <param name="manifest">The plan.</param>
    /// <param name="shard">Which units to map.</param>
    /// <param name="model">The encoder; its recipe must match <see cref="WorkManifest.RecipeSha256"/>.</param>
    /// <param name="workFolder">Local scratch folder (block VRTs, resume states, files before commit, locks).</param>
    /// <param name="settings">Throughput settings (batch size, readers, embed concurrency); input, output and map options come from the manifest.</param>
    /// <param name="logger">Log, or null.</param>
    /// <param name="cancellationToken">Stops after the current tile batch; finished tiles are kept for a rerun.</param>
    /// <exception cref="ArgumentException">The model's recipe differs from the one planned.</exception>
    public static async Task<ShardResult> RunAsync(WorkManifest manifest, ShardSpec shard, IEmbeddingModel model, string workFolder,
        MapRequest? settings = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(workFolder);
        logger ??= NullLogger.Instance;
        var recipe = RecipeSha256(model);
        if (recipe != manifest.RecipeSha256)
            throw new ArgumentException($"the model's input recipe ({recipe[..12]}…) is not the one the manifest was planned with ({manifest.RecipeSha256[..Math.Min(12, manifest.RecipeSha256.Length)]}…, model '{manifest.Model}'); run every shard with the planned model, or re-plan.");
        Directory.CreateDirectory(workFolder);
        var owned = manifest.Units.Where(u => shard.Owns(u.Index)).ToList();
        int mapped = 0, skipped = 0;
        foreach (var unit in owned)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (UnitStore.WhyNotDone(manifest, unit) is null) { skipped++; logger.LogInformation("Unit {Key} is done (verified); skipped.", unit.Key); continue; }
            var prefix = Path.Combine(Path.GetFullPath(workFolder), unit.Key, "map");
            using (await OutputLock.AcquireAsync(Path.Combine(Path.GetFullPath(workFolder), unit.Key), cancellationToken).ConfigureAwait(false))
            {
                if (GdalVsi.IsVirtual(manifest.OutputRoot)) GdalVsi.ClearCache();
                if (UnitStore.WhyNotDone(manifest, unit) is null) { skipped++; logger.LogInformation("Unit {Key} was finished meanwhile by another run; skipped.", unit.Key); continue; }
                await MapUnitAsync(manifest, unit, model, prefix, settings, logger, cancellationToken).ConfigureAwait(false);
                mapped++;
            }
        }
        return new ShardResult(owned.Count, mapped, skipped);
    }

    /// <summary>The recipe fingerprint a manifest records for <paramref name="model"/>: its <see cref="IEmbeddingModel.Recipe"/> (contract, scaling and harmonisation in effect, weights).</summary>
    public static string RecipeSha256(IEmbeddingModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Recipe.Sha256();
    }

    private static async Task MapUnitAsync(WorkManifest manifest, WorkUnit unit, IEmbeddingModel model, string prefix, MapRequest? settings,
        ILogger logger, CancellationToken ct)
    {
        var folder = Path.GetDirectoryName(prefix)!;
        Directory.CreateDirectory(folder);
        var input = unit.Input;
        if (unit.Window is { } window)
        {
            // Named after the source, so a date in its file name still reaches the map; kept across reruns so the resume
            // state (which checks its input's identity) stays valid.
            var vrt = Path.Combine(folder, UnitStore.FileName(unit.Input) is var n && Path.GetExtension(n).Length > 0 ? Path.ChangeExtension(n, ".vrt") : n + ".vrt");
            if (!File.Exists(vrt)) UnitStore.WriteWindowVrt(unit.Input, window, vrt);
            input = vrt;
        }
        var o = manifest.Options;
        var request = (settings ?? new MapRequest { InputPath = input, OutputPrefix = prefix }) with
        {
            InputPath = input,
            OutputPrefix = prefix,
            Formats = [CogMapWriter.FormatName, GeoParquetMapWriter.FormatName],
            TileSize = o.TileSize,
            Stride = o.Stride,
            InputBands = o.InputBands,
            MinValidFraction = o.MinValidFraction,
            RasterType = o.RasterType,
            RoiWindow = null,
            Roi = null,
            RoiCrs = null,
            CloudMaskPath = null,
            Resume = true,
            OnMismatch = ResumeMismatch.Restart,
        };
        logger.LogInformation("Mapping unit {Key} ({Input}{Window}).", unit.Key, unit.Input, unit.Window is { } w ? $" window {w}" : "");
        await EmbeddingMapper.RunAsync(request, model, null, logger, ct).ConfigureAwait(false);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (ext, target) in new[] { ".tif", ".parquet" }.Zip(UnitStore.OutputPaths(manifest, unit)))
        {
            var local = prefix + ext;
            hashes[UnitStore.FileName(target)] = GdalVsi.Sha256(local);
            UnitStore.Commit(local, target, ct);
        }
        UnitStore.WriteRecord(manifest, unit, folder, hashes, ct);
        Directory.Delete(folder, recursive: true); // the block VRT and the committed files; the lock file beside it goes with the lock
        logger.LogInformation("Unit {Key} committed to {Root}.", unit.Key, manifest.OutputRoot);
    }
}
