using System.Security.Cryptography;
using System.Runtime.InteropServices;
using Google.Protobuf;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Onnx.Proto;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Quantization;

/// <summary>
/// Lower-precision encoders in pure .NET, from an fp32 SSL4Eco ONNX model:
/// <list type="bullet">
/// <item><see cref="QuantizeInt8"/>: static int8 quantisation. Calibration patches are preprocessed by the model's contract
/// (<see cref="PatchPreprocessor"/>), run through the fp32 model in ONNX Runtime with the intermediate activations exposed,
/// and the ranges found are written into a QDQ graph (u8 activations, s8 per-channel weights) that ONNX Runtime's CPU
/// provider runs as QLinearConv/QLinearAdd. Equal calibration patches give byte-identical models.</item>
/// <item><see cref="ConvertToFloat16"/>: a float16 graph with float32 input and output.</item>
/// </list>
/// The written model's contract carries <c>ssl4eco.precision</c> (and, for int8, the calibration's count, method and
/// SHA-256 over the preprocessed calibration inputs), so every recipe fingerprint and cache key tells the precisions apart.
/// </summary>
/// <remarks>Stateless and thread-safe; each call reads its own copy of the model.</remarks>
public static class ModelQuantizer
{
    /// <summary>
    /// Quantises the fp32 model at <paramref name="modelPath"/> to int8 and writes it atomically to <paramref name="outputPath"/>
    /// (a temporary file renamed on success).
    /// </summary>
    /// <param name="modelPath">An fp32 SSL4Eco ONNX encoder (with its contract in the metadata).</param>
    /// <param name="calibration">
    /// Calibration patches (raw digital numbers, as read from files); enumerated once. Their preprocessed inputs are held in
    /// memory during the call (channels × size² × 4 bytes each: 1.8 MB for 9 × 224²).
    /// </param>
    /// <param name="outputPath">The int8 model to write; its folder must exist.</param>
    /// <param name="options">Calibration settings; <see cref="Int8QuantizationOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Checked between calibration batches and before the file is renamed.</param>
    /// <exception cref="ArgumentException">No calibration patches, or unusable options.</exception>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, is already int8/fp16, or its activations are not finite.</exception>
    /// <exception cref="ModelMetadataException">The model has no SSL4Eco contract.</exception>
    public static QuantizationReport QuantizeInt8(string modelPath, IEnumerable<Patch> calibration, string outputPath,
        Int8QuantizationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        options ??= Int8QuantizationOptions.Default;
        options.Validate();
        var (model, contract) = LoadFp32(modelPath);
        var preprocessor = new PatchPreprocessor(contract, options.Preprocessing);
        var inputs = new List<float[]>();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var patch in calibration)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var x = preprocessor.Preprocess(patch);
            hash.AppendData(MemoryMarshal.AsBytes(x.AsSpan()));
            inputs.Add(x);
        }
        if (inputs.Count == 0) throw new ArgumentException("No calibration patches were given; int8 quantisation needs at least one (32 or more recommended).");
        var summary = new CalibrationSummary(inputs.Count, Int8QuantizationOptions.MethodName(options.Method), Convert.ToHexStringLower(hash.GetHashAndReset()));
        var (quantised, report) = QuantizeModel(model, contract, inputs, summary, options, cancellationToken);
        AtomicFile.Write(outputPath, s => quantised.WriteTo(s), cancellationToken);
        return report with { OutputPath = Path.GetFullPath(outputPath) };
    }

    internal static (ModelProto Model, QuantizationReport Report) QuantizeModel(ModelProto model, ModelContract contract, IReadOnlyList<float[]> inputs,
        CalibrationSummary summary, Int8QuantizationOptions options, CancellationToken ct)
    {
        var plan = QdqGraphWriter.MakePlan(model.Graph, options.KeepStemFloat);
        var inits = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        string inputName = model.Graph.Input.Select(i => i.Name).First(n => !inits.Contains(n));
        var observe = plan.Values.Where(v => !plan.SharedWith.ContainsKey(v)).ToList();
        var ranges = ActivationCalibrator.Calibrate(model, inputName, [contract.Channels, contract.InputSize, contract.InputSize],
            inputs, observe, options, ct);
        var quantised = QdqGraphWriter.Write(model, plan, ranges);
        var written = contract with { Precision = ModelPrecision.Int8, Calibration = summary };
        Stamp(quantised, written, $" Static int8 (QDQ: u8 activations, s8 per-channel weights), calibrated on {summary.Count} patches ({summary.Method}).");
        return (quantised, new QuantizationReport("", written, plan.Convolutions.Count, plan.Adds, plan.Values.Count));
    }

    /// <summary>
    /// Writes a float16 copy of the fp32 model at <paramref name="modelPath"/> to <paramref name="outputPath"/> (atomically):
    /// float16 weights and arithmetic, float32 input and output, contract precision <c>fp16</c>. Meant for GPU providers;
    /// ONNX Runtime's CPU provider runs it too, no faster than fp32 in our measurement (benchmarks/results/quantization.md).
    /// </summary>
    /// <returns>The written model's contract.</returns>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, or is already int8/fp16.</exception>
    /// <exception cref="ModelMetadataException">The model has no SSL4Eco contract.</exception>
    /// <exception cref="NotSupportedException">The graph has nodes the conversion does not rewrite (Cast, Constant, …).</exception>
    public static ModelContract ConvertToFloat16(string modelPath, string outputPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        var (model, contract) = LoadFp32(modelPath);
        var half = Float16Converter.Convert(model);
        var written = contract with { Precision = ModelPrecision.Fp16, Calibration = null };
        Stamp(half, written, " float16 weights and arithmetic, float32 input and output.");
        AtomicFile.Write(outputPath, s => half.WriteTo(s), cancellationToken);
        return written;
    }

    private static (ModelProto, ModelContract) LoadFp32(string modelPath)
    {
        var model = OnnxModelFile.Load(modelPath);
        var meta = model.MetadataProps.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        var contract = ModelContract.FromMetadata(meta);
        bool lowered = contract.Precision != ModelPrecision.Fp32
            || model.Graph.Node.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear" or "QLinearConv" or "ConvInteger" or "MatMulInteger")
            || model.Graph.Initializer.Any(t => t.DataType != (int)TensorProto.Types.DataType.Float);
        if (lowered)
        {
            string what = contract.Precision != ModelPrecision.Fp32 ? ModelContract.PrecisionName(contract.Precision) : "already quantised or not float32";
            throw new InvalidDataException($"'{Path.GetFileName(modelPath)}' is {what}; quantise or convert the fp32 model (the output of 'ssl4eco convert') instead.");
        }
        return (model, contract);
    }

    private static void Stamp(ModelProto model, ModelContract contract, string docSuffix)
    {
        OnnxModelFile.SetMetadata(model, contract.ToMetadata(), sort: true);
        model.DocString += docSuffix;
    }
}
