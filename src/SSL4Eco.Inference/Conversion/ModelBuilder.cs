using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Quantization;

namespace SSL4Eco.Inference.Conversion;

/// <summary>
/// Runs a <see cref="ModelBuild"/>: convert → head → int8/fp16 → raw input form. Each step writes the next file; every file
/// but the last is staged beside the output under the library's temporary name (<see cref="AtomicFile.TemporaryPathFor"/>,
/// removed on success, failure and cancellation; a killed run's are removed by the next write), and the output is written
/// atomically by the last step, so a failed build leaves no output and no litter.
/// </summary>
/// <remarks>Stateless and thread-safe; concurrent builds must write different outputs.</remarks>
public static class ModelBuilder
{
    /// <summary>Builds the model <paramref name="request"/> describes.</summary>
    /// <param name="request">What to build.</param>
    /// <param name="progress">Told each step as it starts.</param>
    /// <param name="cancellationToken">Cancels between and within steps; staged files are removed.</param>
    /// <exception cref="ArgumentException">The request is invalid, or an output is one of its inputs (see <see cref="OutputGuard"/>).</exception>
    /// <exception cref="Checkpoints.CheckpointFormatException">The checkpoint is not a readable ResNet-50 encoder.</exception>
    /// <exception cref="InvalidDataException">The head or a calibration patch is unusable.</exception>
    public static ModelBuildResult Build(ModelBuild request, IProgress<ModelBuildStep>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var output = Path.GetFullPath(request.OutputPath);
        var steps = request.Steps;
        var files = steps.Select((_, i) => i == steps.Count - 1 ? output : AtomicFile.TemporaryPathFor(output)).ToArray();
        var head = request.HeadPath is null ? null : LinearHead.Load(request.HeadPath);
        OutputGuard.Check((request.Calibration?.Files ?? []).Prepend(request.CheckpointPath).Append(request.HeadPath), files);
        QuantizationReport? quantization = null;
        try
        {
            ConversionResult result = null!;
            for (int i = 0; i < steps.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(steps[i]);
                string from = i == 0 ? request.CheckpointPath : files[i - 1], to = files[i];
                switch (steps[i])
                {
                    case ModelBuildStep.Convert:
                        result = CheckpointConverter.Convert(from, to, request.Contract, cancellationToken: cancellationToken);
                        break;
                    case ModelBuildStep.AppendHead:
                        HeadOnnxFusion.Append(from, head!, to);
                        break;
                    case ModelBuildStep.QuantizeInt8:
                        var c = request.Calibration!;
                        quantization = ModelQuantizer.QuantizeInt8(from, c.Read(Int8Calibration.ContractOf(from)), to, c.Options, cancellationToken);
                        result = result with { Contract = quantization.Contract };
                        break;
                    case ModelBuildStep.Float16:
                        result = result with { Contract = ModelQuantizer.ConvertToFloat16(from, to, cancellationToken) };
                        break;
                    default:
                        result = result with { Contract = OnnxInputPreprocessing.Convert(from, to, request.RawInput!, cancellationToken: cancellationToken) };
                        break;
                }
            }
            if (quantization is not null) quantization = quantization with { OutputPath = output };
            return new ModelBuildResult(result with { OnnxPath = output }, head, quantization);
        }
        finally
        {
            foreach (var staged in files)
                if (staged != output && File.Exists(staged)) File.Delete(staged);
        }
    }
}
