namespace SSL4Eco.Inference.Preprocessing;

/// <summary>Canonical Sentinel-2 band names: case-insensitive, leading zeros dropped (<c>B08</c> = <c>B8</c>, <c>b8a</c> = <c>B8A</c>).</summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class BandName
{
    /// <summary>The NDVI band name.</summary>
    public const string Ndvi = "NDVI";

    /// <summary>Returns the canonical (upper-case, no leading zero) form of a band name.</summary>
    public static string Canonical(string name)
    {
        var n = name.Trim().ToUpperInvariant();
        if (n.Length >= 3 && n[0] == 'B' && char.IsAsciiDigit(n[1]))
        {
            int i = 1;
            while (i < n.Length - 1 && n[i] == '0' && char.IsAsciiDigit(n[i + 1])) i++;
            n = "B" + n[i..];
        }
        return n;
    }

    /// <summary>True for reflectance bands (everything except NDVI), which harmonisation shifts.</summary>
    public static bool IsReflectance(string canonical) => canonical != Ndvi;
}
