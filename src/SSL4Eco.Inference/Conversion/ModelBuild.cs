using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Quantization;

namespace SSL4Eco.Inference.Conversion;

/// <summary>
/// What <see cref="ModelBuilder.Build"/> writes: a checkpoint converted to ONNX, optionally with a trained head appended,
/// at a lower precision (int8 with calibration, or float16) and taking raw patches (preprocessing in the graph), in that order.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ModelBuild
{
    /// <summary>The checkpoint to convert (see <see cref="CheckpointConverter.Convert"/>).</summary>
    public required string CheckpointPath { get; init; }

    /// <summary>The ONNX file to write; replaced only when every step succeeded.</summary>
    public required string OutputPath { get; init; }

    /// <summary>The input contract; null to take it from the matching registry entry.</summary>
    public ModelContract? Contract { get; init; }

    /// <summary>A trained head (JSON of <see cref="LinearHead.Save"/>) appended as output <c>prediction</c>; null for none.</summary>
    public string? HeadPath { get; init; }

    /// <summary>The precision of the written model; <see cref="ModelPrecision.Int8"/> needs <see cref="Calibration"/>.</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Fp32;

    /// <summary>The int8 calibration; set exactly when <see cref="Precision"/> is <see cref="ModelPrecision.Int8"/>.</summary>
    public Int8Calibration? Calibration { get; init; }

    /// <summary>The raw input form (preprocessing in the graph); null for preprocessed float input.</summary>
    public RawInputForm? RawInput { get; init; }

    /// <summary>The steps this build runs, in order.</summary>
    public IReadOnlyList<ModelBuildStep> Steps =>
    [
        ModelBuildStep.Convert,
        .. HeadPath is null ? Array.Empty<ModelBuildStep>() : [ModelBuildStep.AppendHead],
        .. Precision switch { ModelPrecision.Int8 => [ModelBuildStep.QuantizeInt8], ModelPrecision.Fp16 => [ModelBuildStep.Float16], _ => Array.Empty<ModelBuildStep>() },
        .. RawInput is null ? Array.Empty<ModelBuildStep>() : [ModelBuildStep.RawInput],
    ];

    /// <summary>Checks the request; throws <see cref="ArgumentException"/> naming the problem and the fix.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(CheckpointPath)) throw new ArgumentException("ModelBuild.CheckpointPath is empty; give the checkpoint to convert.");
        if (string.IsNullOrWhiteSpace(OutputPath)) throw new ArgumentException("ModelBuild.OutputPath is empty; give the ONNX file to write.");
        if (!Enum.IsDefined(Precision)) throw new ArgumentException($"ModelBuild.Precision {(int)Precision} is not fp32, fp16 or int8.");
        if (Precision == ModelPrecision.Int8)
            (Calibration ?? throw new ArgumentException("int8 quantisation needs calibration patches: pass --calibration FILES-or-FOLDER (32 or more patches like those you will embed).")).Validate();
        else if (Calibration is not null)
            throw new ArgumentException("calibration patches are only used for int8 precision; set the precision to int8 or leave the calibration out.");
        Contract?.Validate();
        RawInput?.Validate();
    }
}

/// <summary>A step of a <see cref="ModelBuild"/>, reported as progress when it starts.</summary>
public enum ModelBuildStep
{
    /// <summary>The checkpoint is converted to an fp32 ONNX encoder.</summary>
    Convert,
    /// <summary>The trained head is appended.</summary>
    AppendHead,
    /// <summary>The model is quantised to int8 on the calibration patches.</summary>
    QuantizeInt8,
    /// <summary>The model is converted to float16.</summary>
    Float16,
    /// <summary>Preprocessing is put into the graph (raw input form).</summary>
    RawInput,
}

/// <summary>What <see cref="ModelBuilder.Build"/> wrote.</summary>
/// <param name="Conversion">The conversion, with the written file's path and its final contract.</param>
/// <param name="Head">The appended head, or null.</param>
/// <param name="Quantization">The int8 quantisation's report (counts and calibration), or null.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ModelBuildResult(ConversionResult Conversion, LinearHead? Head, QuantizationReport? Quantization);
