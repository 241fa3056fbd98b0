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

    /// <summary>
    /// The input bands a model needs to be read from a raster that holds <paramref name="available"/>: the contract's bands,
    /// with B4 and B8 instead of NDVI when the raster has no NDVI band. Names are returned as spelled in
    /// <paramref name="available"/>; bands the raster lacks are left out (preprocessing then names them).
    /// </summary>
    public static IReadOnlyList<string> Needed(IReadOnlyList<string> contractBands, IReadOnlyList<string> available)
    {
        var byCanonical = new Dictionary<string, string>();
        foreach (var a in available) byCanonical.TryAdd(Canonical(a), a);
        var wanted = new List<string>();
        foreach (var b in contractBands)
        {
            var c = Canonical(b);
            if (c == Ndvi && !byCanonical.ContainsKey(Ndvi)) { wanted.Add("B4"); wanted.Add("B8"); }
            else wanted.Add(c);
        }
        return wanted.Distinct().Where(byCanonical.ContainsKey).Select(c => byCanonical[c]).ToList();
    }

    /// <summary>True for reflectance bands (everything except NDVI), which harmonisation shifts.</summary>
    public static bool IsReflectance(string canonical) => canonical != Ndvi;
}
