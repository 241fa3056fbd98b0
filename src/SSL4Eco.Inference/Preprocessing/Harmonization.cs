using System.Globalization;
using System.Numerics.Tensors;

namespace SSL4Eco.Inference.Preprocessing;

/// <summary>
/// Sentinel-2 L2A "harmonisation": scenes of processing baseline 04.00 or later (from 25 Jan 2022) carry a +1000 offset on
/// reflectance digital numbers that the training data (<c>COPERNICUS/S2_SR_HARMONIZED</c>) did not have; it is removed as
/// <c>max(DN − 1000, 0)</c> on every band except NDVI. The one implementation of the rule: a model's <see cref="InputRecipe"/>
/// decides with it (executed by <see cref="PatchPreprocessor"/> or the in-graph preprocessing), and the dataset builder, which
/// stores harmonised patches as a data product, uses the same rule.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class Harmonization
{
    /// <summary>The offset removed.</summary>
    public const float Offset = 1000f;

    /// <summary>The first processing baseline that carries the offset.</summary>
    public const double FirstOffsetBaseline = 4.0;

    /// <summary>Whether a scene is harmonised under <paramref name="mode"/> given its processing baseline (null = unknown).</summary>
    public static bool Applies(HarmonizeMode mode, double? processingBaseline) => mode switch
    {
        HarmonizeMode.On => true,
        HarmonizeMode.Auto => processingBaseline is >= FirstOffsetBaseline,
        _ => false,
    };

    /// <summary>Whether a band is shifted (reflectance bands are; NDVI is not).</summary>
    public static bool AppliesToBand(string bandName) => BandName.IsReflectance(BandName.Canonical(bandName));

    /// <summary>Writes <c>max(source − 1000, 0)</c> into <paramref name="destination"/> (may be the same span).</summary>
    public static void Apply(ReadOnlySpan<float> source, Span<float> destination)
    {
        TensorPrimitives.Subtract(source, Offset, destination);
        TensorPrimitives.Max(destination, 0f, destination);
    }

    /// <summary>Writes <c>max(v − 1000, 0)</c> over stored uint16 digital numbers, in place.</summary>
    internal static void Apply(Span<ushort> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = values[i] >= (ushort)Offset ? (ushort)(values[i] - (ushort)Offset) : (ushort)0;
    }

    /// <summary>A processing baseline as written in metadata ("04.00", "5.09"), or null when absent or unparseable.</summary>
    internal static double? ParseBaseline(string? text) =>
        text is not null && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double b) ? b : null;
}
