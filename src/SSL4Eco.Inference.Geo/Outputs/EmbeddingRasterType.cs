namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>How the embedding raster (the COG output) stores values; npy and GeoParquet outputs are always float32.</summary>
public enum EmbeddingRasterType
{
    /// <summary>32-bit float (exact).</summary>
    Float32 = 0,
    /// <summary>
    /// Half precision (GeoTIFF half-float: a Float32 band with <c>NBITS=16</c>; GDAL reads it back as float32). Half the size;
    /// relative error ≤ 2⁻¹¹ (rounded to nearest); values beyond ±65504 are refused; the band nodata is
    /// the nearest half value of the map's nodata value (−9999 → −10000).
    /// </summary>
    Float16 = 1,
    /// <summary>
    /// Signed 8-bit with a per-pixel scale, as the AlphaEarth and TESSERA products: value ≈ int8 × scale, scale = max |v| / 127,
    /// the scales in <c>PREFIX.scale.tif</c>. A quarter of the size; error ≤ scale / 2 per value. Int8 nodata is −128.
    /// </summary>
    Int8 = 2,
}
