using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Embedding;

/// <summary>
/// Where each band of a raw-input model's input comes from in a <see cref="Patch"/> (by canonical name: <c>B08</c> = <c>B8</c>),
/// and the copy of a patch into a run buffer in the raw band order: float32 as is (NaN/±Inf refused, as host preprocessing
/// does), uint16 only from whole numbers 0..65535.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed class RawBandMap
{
    private readonly IReadOnlyList<string> _names;
    private readonly int[] _index;
    private readonly RawInputForm _raw;

    private RawBandMap(RawInputForm raw, IReadOnlyList<string> names)
    {
        _raw = raw;
        _names = names;
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        var twice = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
            if (!byName.TryAdd(BandName.Canonical(names[i]), i)) twice.Add(BandName.Canonical(names[i]));
        _index = new int[raw.Bands.Count];
        for (int j = 0; j < raw.Bands.Count; j++)
        {
            var want = BandName.Canonical(raw.Bands[j]);
            if (twice.Contains(want))
                throw new ArgumentException($"Patch names band '{want}' twice; name each band once.");
            if (!byName.TryGetValue(want, out _index[j]))
                throw new ArgumentException($"Patch lacks band '{raw.Bands[j]}'; the patch has [{string.Join(", ", names)}], the raw-input model reads [{string.Join(", ", raw.Bands)}].");
        }
    }

    /// <summary>The map for <paramref name="patch"/>, reusing <paramref name="last"/> when the patch has the same band list object.</summary>
    public static RawBandMap For(RawInputForm raw, Patch patch, RawBandMap? last)
    {
        if (patch.Height != raw.Height || patch.Width != raw.Width)
            throw new ArgumentException($"Patch is {patch.Height}x{patch.Width} pixels; this model preprocesses in its graph and takes {raw.Height}x{raw.Width} patches. Cut patches of that size, or use a model converted without --input-form raw.");
        return last is not null && ReferenceEquals(last._names, patch.BandNames) ? last : new RawBandMap(raw, patch.BandNames);
    }

    /// <summary>Copies the patch into item <paramref name="item"/> of the slot's input (<paramref name="per"/> values per item).</summary>
    public void Copy(Patch patch, RunSlot slot, int item, int per)
    {
        int plane = _raw.Height * _raw.Width;
        for (int j = 0; j < _index.Length; j++)
        {
            var src = patch.Band(_index[j]);
            int at = item * per + j * plane;
            if (_raw.SampleType == RawSampleType.Float32)
            {
                int bad = PatchPreprocessor.IndexOfNonFinite(src);
                if (bad >= 0) throw Bad(patch, j, bad, src[bad], "fill nodata before embedding");
                src.CopyTo(slot.InputFloats.Slice(at, plane));
            }
            else
            {
                var dst = slot.InputUInt16.Slice(at, plane);
                for (int i = 0; i < src.Length; i++)
                {
                    float v = src[i];
                    ushort u = (ushort)v; // saturating; NaN becomes 0
                    if (u != v) throw Bad(patch, j, i, v, "this uint16 model takes whole numbers 0 to 65535 (use a float32 raw-input model for other values)");
                    dst[i] = u;
                }
            }
        }
    }

    private ArgumentException Bad(Patch patch, int band, int at, float value, string fix) =>
        new($"Band '{patch.BandNames[_index[band]]}' holds {value} at row {at / patch.Width}, column {at % patch.Width}; {fix}.");
}
