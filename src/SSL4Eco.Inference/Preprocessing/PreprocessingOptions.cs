using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Preprocessing;

/// <summary>Whether the +1000 offset of Sentinel-2 L2A processing baseline 04.00 and later is removed.</summary>
public enum HarmonizeMode
{
    /// <summary>Never subtract the offset (the data is already harmonised, e.g. <c>COPERNICUS/S2_SR_HARMONIZED</c>).</summary>
    Off,

    /// <summary>Always subtract 1000 from reflectance bands and clamp at 0.</summary>
    On,

    /// <summary>Subtract the offset only when <see cref="Patch.ProcessingBaseline"/> is known and at least 4.0.</summary>
    Auto,
}

/// <summary>Options of <see cref="PatchPreprocessor"/> that are not part of the model's contract.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record PreprocessingOptions
{
    /// <summary>The options used when none are given: <see cref="HarmonizeMode.Auto"/>, the contract's scaling.</summary>
    public static PreprocessingOptions Default { get; } = new();

    /// <summary>Harmonisation of the baseline-04.00 offset. Default <see cref="HarmonizeMode.Auto"/>.</summary>
    public HarmonizeMode Harmonize { get; init; } = HarmonizeMode.Auto;

    /// <summary>Replaces the contract's <see cref="ModelContract.Scaling"/> when set (see SPEC: the scaling conflict).</summary>
    public InputScaling? ScalingOverride { get; init; }

    /// <summary>Smallest accepted patch height and width in pixels (default 1). Smaller patches are rejected by name.</summary>
    public int MinimumPatchSide { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the field when an option is unusable.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Harmonize))
            throw new ArgumentException($"{nameof(Harmonize)} has the undefined value {(int)Harmonize}.", nameof(Harmonize));
        if (MinimumPatchSide < 1)
            throw new ArgumentException($"{nameof(MinimumPatchSide)} must be at least 1, got {MinimumPatchSide}.", nameof(MinimumPatchSide));
        if (ScalingOverride is { } s)
        {
            try { s.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException($"{nameof(ScalingOverride)}: {e.Message}", nameof(ScalingOverride), e); }
        }
    }
}
