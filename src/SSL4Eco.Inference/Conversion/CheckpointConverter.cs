using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Registry;

namespace SSL4Eco.Inference.Conversion;

/// <summary>What <see cref="CheckpointConverter.Convert"/> did.</summary>
/// <param name="OnnxPath">The ONNX file written.</param>
/// <param name="Contract">The contract stored in its metadata.</param>
/// <param name="Layout">The checkpoint layout recognised.</param>
/// <param name="MatchedEntry">The registry entry the checkpoint was matched to, or null when the contract came from the caller.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ConversionResult(string OnnxPath, ModelContract Contract, CheckpointLayout Layout, WeightsEntry? MatchedEntry);

/// <summary>
/// Converts a PyTorch checkpoint (official SSL4Eco Lightning <c>.ckpt</c>, TorchGeo <c>.pth</c>, MoCo-style) into the
/// self-describing ONNX encoder. The input contract (bands, scaling, spatial policy) comes from the caller or, when not
/// given, from the registry entry that matches the checkpoint (by SHA-256, SHA-256 prefix, file name, or layout and
/// channel count). Pure .NET: no Python and no libtorch; the checkpoint's pickle is read as data only.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class CheckpointConverter
{
    /// <summary>
    /// Reads <paramref name="checkpointPath"/>, checks it is a ResNet-50 encoder and writes <paramref name="onnxPath"/>
    /// through a temporary file renamed on success: a truncated or corrupt checkpoint leaves no output.
    /// </summary>
    /// <param name="checkpointPath">The checkpoint file.</param>
    /// <param name="onnxPath">The ONNX file to write (replaced only on success).</param>
    /// <param name="contract">The input contract; null to take it from the matching registry entry.</param>
    /// <param name="registry">The registry to match against; <see cref="WeightsRegistry.Default"/> when null.</param>
    /// <param name="logger">Optional logger.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <exception cref="CheckpointFormatException">The checkpoint is truncated, corrupt, or not a ResNet-50 encoder.</exception>
    /// <exception cref="ArgumentException">No contract was given and none can be inferred, or it does not fit the weights, or
    /// <paramref name="onnxPath"/> is the checkpoint itself (see <see cref="Files.OutputGuard"/>).</exception>
    public static ConversionResult Convert(string checkpointPath, string onnxPath, ModelContract? contract = null,
        WeightsRegistry? registry = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"Checkpoint '{checkpointPath}' does not exist.", checkpointPath);
        Files.OutputGuard.Check(checkpointPath, onnxPath);
        var checkpoint = CheckpointLayouts.ReadEncoder(checkpointPath);
        WeightsEntry? entry = null;
        if (contract is null)
        {
            entry = MatchEntry(checkpoint, Path.GetFileName(checkpointPath), registry ?? WeightsRegistry.Default)
                ?? throw new ArgumentException(
                    $"Cannot tell the input contract of '{Path.GetFileName(checkpointPath)}' ({checkpoint.Layout}, {checkpoint.InputChannels} channels): " +
                    "it matches no registry entry. Give the input contract: bands, scaling and spatial policy (ssl4eco convert --contract-bands ... --scale-divisor ... --spatial ...; library: the contract argument).");
            contract = entry.Contract;
            logger?.LogInformation("Matched checkpoint to registry entry {Id}", entry.Id);
        }
        contract = contract with
        {
            SourceSha256 = checkpoint.Sha256,
            Source = contract.Source ?? Path.GetFileName(checkpointPath),
        };
        if (contract.Channels != checkpoint.InputChannels)
            throw new ArgumentException($"The contract lists {contract.Channels} bands ({string.Join(",", contract.Bands)}) but the checkpoint's conv1 takes {checkpoint.InputChannels} channels.");
        var extra = new Dictionary<string, string>
        {
            ["ssl4eco.checkpoint_layout"] = checkpoint.Layout.ToString(),
        };
        if (checkpoint.Epoch is long epoch) extra["ssl4eco.checkpoint_epoch"] = epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (checkpoint.GlobalStep is long step) extra["ssl4eco.checkpoint_global_step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (entry is not null)
        {
            extra["ssl4eco.license"] = entry.License;
            extra["ssl4eco.citation"] = entry.Citation;
        }
        ResNet50OnnxExporter.Write(checkpoint.Weights, contract, onnxPath, new OnnxExportOptions { ExtraMetadata = extra }, cancellationToken);
        logger?.LogInformation("Wrote {Path}", onnxPath);
        return new ConversionResult(onnxPath, contract, checkpoint.Layout, entry);
    }

    /// <summary>
    /// The registry entry a checkpoint belongs to: by full SHA-256, then by the 8-hex SHA-256 prefix, then by file name,
    /// then (when exactly one entry fits) by layout and channel count. Null when none fits.
    /// </summary>
    public static WeightsEntry? MatchEntry(EncoderCheckpoint checkpoint, string fileName, WeightsRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(registry);
        var fits = registry.Entries.Where(e => e.Contract.Channels == checkpoint.InputChannels).ToList();
        var byHash = fits.FirstOrDefault(e => e.Sha256 is not null && string.Equals(e.Sha256, checkpoint.Sha256, StringComparison.OrdinalIgnoreCase))
            ?? fits.FirstOrDefault(e => e.Sha256Prefix is not null && checkpoint.Sha256.StartsWith(e.Sha256Prefix, StringComparison.OrdinalIgnoreCase))
            ?? fits.FirstOrDefault(e => string.Equals(e.FileName, fileName, StringComparison.OrdinalIgnoreCase));
        if (byHash is not null) return byHash;
        var layoutName = LayoutName(checkpoint.Layout);
        var byLayout = fits.Where(e => string.Equals(e.CheckpointLayout, layoutName, StringComparison.OrdinalIgnoreCase)).ToList();
        return byLayout.Count == 1 ? byLayout[0] : null;
    }

    private static string LayoutName(CheckpointLayout layout) => layout switch
    {
        CheckpointLayout.LightningSeCo => "lightning_seco",
        CheckpointLayout.MoCoEncoderQ => "moco_encoder_q",
        _ => "plain_state_dict",
    };
}
