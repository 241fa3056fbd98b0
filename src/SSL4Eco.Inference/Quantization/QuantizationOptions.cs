using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Quantization;

/// <summary>How activation ranges are taken from the calibration activations.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed minimum and maximum of each activation.</summary>
    MinMax,
    /// <summary>
    /// The <see cref="Int8QuantizationOptions.Percentile"/> quantiles of each activation (both tails of signed ones, the upper
    /// tail of non-negative ones), so a few outliers do not widen the quantisation step of all other values.
    /// </summary>
    Percentile,
}

/// <summary>Options of <see cref="ModelQuantizer.QuantizeInt8"/>.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record Int8QuantizationOptions
{
    /// <summary>The default options.</summary>
    public static Int8QuantizationOptions Default { get; } = new();

    /// <summary>The calibration method; <see cref="CalibrationMethod.Percentile"/> by default (see benchmarks/results/quantization.md).</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.Percentile;

    /// <summary>The upper quantile in percent kept by <see cref="CalibrationMethod.Percentile"/> (the lower one is 100 minus it).</summary>
    public double Percentile { get; init; } = 99.999;

    /// <summary>Calibration patches run through ONNX Runtime at once (every intermediate activation of a batch is held in memory).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>Intra-op threads of the calibration session; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Leave the first convolution (the stem, fed by the raw model input) in float32; its input is then not quantised.
    /// Off by default: quantising it passed the quality gates (benchmarks/results/quantization.md).
    /// </summary>
    public bool KeepStemFloat { get; init; }

    /// <summary>How calibration patches are preprocessed (harmonisation, scaling override), as for the encoder that will run the model.</summary>
    public PreprocessingOptions Preprocessing { get; init; } = PreprocessingOptions.Default;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first unusable setting.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Method)) throw new ArgumentException($"Unknown calibration method {Method}.");
        if (!(Percentile > 50 && Percentile <= 100)) throw new ArgumentException($"The calibration percentile must be in (50, 100], got {Percentile}.");
        if (BatchSize < 1) throw new ArgumentException($"The calibration batch size must be at least 1, got {BatchSize}.");
        if (IntraOpThreads < 0) throw new ArgumentException($"The calibration thread count must not be negative, got {IntraOpThreads}.");
        ArgumentNullException.ThrowIfNull(Preprocessing);
        Preprocessing.Validate();
    }

    /// <summary>The metadata name of a calibration method (<c>minmax</c>, <c>percentile</c>).</summary>
    public static string MethodName(CalibrationMethod method) => method switch
    {
        CalibrationMethod.MinMax => "minmax",
        CalibrationMethod.Percentile => "percentile",
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>Parses <c>minmax</c> or <c>percentile</c>.</summary>
    /// <exception cref="ArgumentException">Another name.</exception>
    public static CalibrationMethod ParseMethod(string name) => name.Trim().ToLowerInvariant() switch
    {
        "minmax" => CalibrationMethod.MinMax,
        "percentile" => CalibrationMethod.Percentile,
        _ => throw new ArgumentException($"Unknown calibration method '{name}' (use minmax or percentile)."),
    };
}

/// <summary>What <see cref="ModelQuantizer.QuantizeInt8"/> wrote.</summary>
/// <param name="OutputPath">The int8 model file.</param>
/// <param name="Contract">The written model's contract (precision int8, with the calibration summary).</param>
/// <param name="QuantizedConvolutions">Convolutions that run in int8.</param>
/// <param name="QuantizedAdds">Residual additions that run in int8.</param>
/// <param name="QuantizedActivations">Activations quantised to u8.</param>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record QuantizationReport(string OutputPath, ModelContract Contract, int QuantizedConvolutions, int QuantizedAdds, int QuantizedActivations)
{
    /// <summary>The calibration summary (also in <see cref="Contract"/>).</summary>
    public CalibrationSummary Calibration => Contract.Calibration!;
}
