using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Quantization;

/// <summary>
/// The calibration of an int8 model as a request: the calibration files (never overwritten by the output, see
/// <see cref="Files.OutputGuard"/>), how to read them as patches for the model's contract, and the calibration settings.
/// The Geo package builds one from raster files and folders (<c>CalibrationPatches.For</c>).
/// </summary>
/// <remarks>Immutable; thread-safe when <see cref="Read"/> is.</remarks>
public sealed record Int8Calibration
{
    /// <summary>The calibration files, in the order they are read (their count is the calibration's count).</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>Reads <see cref="Files"/> as patches (raw digital numbers) for the given contract; enumerated once.</summary>
    public required Func<ModelContract, IEnumerable<Patch>> Read { get; init; }

    /// <summary>The calibration settings; <see cref="Int8QuantizationOptions.Default"/> by default.</summary>
    public Int8QuantizationOptions Options { get; init; } = Int8QuantizationOptions.Default;

    /// <summary>Checks the request; throws <see cref="ArgumentException"/> naming the problem and the fix.</summary>
    public void Validate()
    {
        if (Files is null || Files.Count == 0)
            throw new ArgumentException("int8 quantisation needs calibration patches: pass --calibration FILES-or-FOLDER (32 or more patches like those you will embed).");
        ArgumentNullException.ThrowIfNull(Read);
        (Options ?? throw new ArgumentException("Int8Calibration.Options is null; leave it unset for the defaults.")).Validate();
    }

    /// <summary>
    /// Quantises the fp32 model at <paramref name="modelPath"/> to int8 on these calibration files, read for the model's
    /// contract (<see cref="ModelQuantizer.QuantizeInt8"/>), after checking that the model exists and that
    /// <paramref name="outputPath"/> is neither the model nor a calibration file.
    /// </summary>
    /// <exception cref="FileNotFoundException">The model does not exist.</exception>
    /// <exception cref="ArgumentException">No calibration files, unusable options, or the output is one of the inputs.</exception>
    /// <exception cref="InvalidDataException">The file is not an fp32 SSL4Eco ONNX model, or a calibration patch is unusable.</exception>
    public QuantizationReport Quantize(string modelPath, string outputPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        Validate();
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model '{modelPath}' does not exist; give the fp32 ONNX file written by 'ssl4eco convert'.", modelPath);
        OutputGuard.Check(Files.Prepend(modelPath), [outputPath]);
        return ModelQuantizer.QuantizeInt8(modelPath, Read(ContractOf(modelPath)), outputPath, Options, cancellationToken);
    }

    /// <summary>The contract in the metadata of the ONNX model at <paramref name="modelPath"/>, for which patches are read.</summary>
    internal static ModelContract ContractOf(string modelPath) => ModelContract.FromMetadata(OnnxModelFile.ReadMetadata(modelPath).Metadata);
}
