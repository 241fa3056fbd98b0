using SSL4Eco.Inference.Files;
using System.Globalization;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Writes an embedding map as a tiled, DEFLATE-compressed Cloud-Optimised GeoTIFF (GDAL COG driver): one band per
/// dimension named <c>emb_0000…</c>, nodata on every band, the model contract and run facts as dataset metadata, and the
/// tile grid's output geotransform (<see cref="Tiling.TileGrid.OutputTransform"/>: each pixel centred on its tile's centre,
/// pixel size = stride × input pixel size) in the input CRS.
/// </summary>
/// <remarks>
/// Memory stays bounded whatever the map size: the values are read block by block (≤ 16 MiB) into a pixel-interleaved
/// staging GeoTIFF beside the target, which the COG driver then copies block by block. Encodings
/// (<see cref="EmbeddingRasterType"/>): float32; float16 (GDAL 3.6 has no Float16 type, so it is the GeoTIFF half-float
/// encoding, a Float32 band with <c>NBITS=16</c>, which GDAL reads back as float32; values are rounded to nearest-even
/// half here, and nodata becomes the nearest half value, e.g. −9999 → −10000); int8 with a per-pixel scale
/// (value ≈ int8 × scale; the scale of each pixel is max |v| / 127 and is written to <c>PREFIX.scale.tif</c>, one float32
/// band; int8 nodata is −128 and the scale raster's nodata is the map's).
/// </remarks>
internal sealed class CogMapWriter : IMapWriter
{
    /// <summary>The registry name of this format.</summary>
    public const string FormatName = "cog";

    public string Format => FormatName;

    public int Order => 0;

    public IReadOnlyList<string> Extensions { get; } = [".tif", ".tiff"];

    public IReadOnlyList<string> FilesFor(string prefix, EmbeddingRasterType rasterType) =>
        rasterType == EmbeddingRasterType.Int8 ? [prefix + ".tif", ScalePath(prefix + ".tif")] : [prefix + ".tif"];

    Task<IReadOnlyList<MapOutput>> IMapWriter.WriteAsync(string prefix, EmbeddingMap map, MapWriteOptions options, CancellationToken cancellationToken)
    {
        var files = Write(prefix + ".tif", map, options.RasterType, cancellationToken);
        return Task.FromResult<IReadOnlyList<MapOutput>>([.. files.Select((f, i) => new MapOutput(Format, i == 0 ? MapOutputRole.EmbeddingRaster : MapOutputRole.Scale, f))]);
    }

    /// <summary>The largest finite half-precision value.</summary>
    public const float MaxFloat16 = 65504f;

    /// <summary>Nodata of int8 maps (quantised values lie in [−127, 127]).</summary>
    public const sbyte Int8NoData = -128;

    /// <summary>Metadata item naming the encoding (float32, float16, int8).</summary>
    public const string RasterTypeKey = "ssl4eco.raster_type";

    /// <summary>Metadata item naming the per-pixel scale raster of an int8 map (a file name beside it).</summary>
    public const string ScaleFileKey = "ssl4eco.scale_file";

    /// <summary>The scale raster of an int8 map at <paramref name="mapPath"/>.</summary>
    public static string ScalePath(string mapPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(mapPath)) ?? ".", Path.GetFileNameWithoutExtension(mapPath) + ".scale.tif");

    /// <summary>Writes the map (and, for int8, its scale raster); returns the files written.</summary>
    /// <exception cref="ArgumentException">float16 was asked for but a value exceeds the half-precision range (use float32).</exception>
    public static IReadOnlyList<string> Write(string path, EmbeddingMap map, EmbeddingRasterType type = EmbeddingRasterType.Float32,
        CancellationToken cancellationToken = default)
    {
        int rows = map.Rows, cols = map.Columns, dim = map.Dim;
        int block = BlockSize(rows, cols, dim);
        var scales = type == EmbeddingRasterType.Int8 ? new float[rows * cols] : null;
        var metadata = new Dictionary<string, string>(map.Metadata) { [RasterTypeKey] = Name(type) };
        if (scales is not null)
        {
            metadata[ScaleFileKey] = Path.GetFileName(ScalePath(path));
            metadata["ssl4eco.dequantize"] = "value = int8 * scale (per pixel, from the scale file)";
        }
        var files = new List<string>();
        files.Add(AtomicFile.WriteVia(path, tmp =>
        {
            var stage = tmp + ".stage.tif";
            try
            {
                var options = new Dictionary<string, string>
                {
                    ["TILED"] = "YES",
                    ["BLOCKXSIZE"] = block.ToString(CultureInfo.InvariantCulture),
                    ["BLOCKYSIZE"] = block.ToString(CultureInfo.InvariantCulture),
                    ["INTERLEAVE"] = "PIXEL",
                    ["COMPRESS"] = "NONE",
                    ["BIGTIFF"] = "IF_NEEDED",
                };
                if (type == EmbeddingRasterType.Float16) options["NBITS"] = "16";
                if (type == EmbeddingRasterType.Int8) options["PIXELTYPE"] = "SIGNEDBYTE";
                using (var staging = GdalDataset.Create("GTiff", stage, cols, rows, dim,
                    type == EmbeddingRasterType.Int8 ? GdalDataType.Byte : GdalDataType.Float32, options))
                {
                    Describe(staging, map, metadata, NoDataOf(type, map.NoDataValue));
                    WriteBlocks(staging, map, type, block, scales, cancellationToken);
                    staging.FlushCache();
                    var cog = new Dictionary<string, string>
                    {
                        ["COMPRESS"] = "DEFLATE",
                        ["BLOCKSIZE"] = block.ToString(CultureInfo.InvariantCulture),
                        ["OVERVIEWS"] = "NONE",
                        ["NUM_THREADS"] = "1",
                        ["BIGTIFF"] = "IF_SAFER",
                    };
                    using var _ = staging.CreateCopy("COG", tmp, cog);
                }
            }
            finally { File.Delete(stage); }
        }));
        if (scales is not null)
        {
            files.Add(AtomicFile.WriteVia(ScalePath(path), tmp =>
            {
                using var mem = GdalDataset.Create("MEM", "", cols, rows, 1, GdalDataType.Float32);
                mem.GeoTransform = map.Grid.OutputTransform;
                if (map.ProjectionWkt.Length > 0) mem.ProjectionWkt = map.ProjectionWkt;
                var b = mem.Band(1);
                b.Description = "scale";
                b.NoData = map.NoDataValue;
                mem.SetMetadataItem("ssl4eco.scale_of", Path.GetFileName(path));
                mem.Write(new PixelWindow(0, 0, cols, rows), scales);
                using var _ = mem.CreateCopy("COG", tmp, new Dictionary<string, string> { ["COMPRESS"] = "DEFLATE", ["OVERVIEWS"] = "NONE" });
            }));
        }
        return files;
    }

    private static void Describe(GdalDataset ds, EmbeddingMap map, IReadOnlyDictionary<string, string> metadata, double noData)
    {
        ds.GeoTransform = map.Grid.OutputTransform;
        if (map.ProjectionWkt.Length > 0) ds.ProjectionWkt = map.ProjectionWkt;
        for (int d = 0; d < map.Dim; d++)
        {
            var b = ds.Band(d + 1);
            b.Description = BandName(d);
            b.NoData = noData;
        }
        foreach (var (k, v) in metadata) ds.SetMetadataItem(k, v);
    }

    private static void WriteBlocks(GdalDataset ds, EmbeddingMap map, EmbeddingRasterType type, int block, float[]? scales, CancellationToken ct)
    {
        int rows = map.Rows, cols = map.Columns, dim = map.Dim;
        var values = new float[block * block * dim];
        var quantised = type == EmbeddingRasterType.Int8 ? new byte[values.Length] : null;
        for (int by = 0; by < rows; by += block)
            for (int bx = 0; bx < cols; bx += block)
            {
                ct.ThrowIfCancellationRequested();
                int bw = Math.Min(block, cols - bx), bh = Math.Min(block, rows - by);
                for (int r = 0; r < bh; r++)
                    map.Values.Read((by + r) * cols + bx, bw, values.AsSpan(r * bw * dim, bw * dim));
                var window = new PixelWindow(bx, by, bw, bh);
                int n = bw * bh * dim;
                if (quantised is null)
                {
                    if (type == EmbeddingRasterType.Float16) ToHalfPrecision(values.AsSpan(0, n), map, by, bx, bw);
                    ds.WriteInterleaved<float>(window, values.AsSpan(0, n), GdalDataType.Float32);
                    continue;
                }
                for (int p = 0; p < bw * bh; p++)
                {
                    int tile = (by + p / bw) * cols + bx + p % bw;
                    var q = quantised.AsSpan(p * dim, dim);
                    if (map.IsNoData[tile]) { q.Fill(unchecked((byte)Int8NoData)); scales![tile] = map.NoDataValue; }
                    else scales![tile] = Quantise(values.AsSpan(p * dim, dim), q);
                }
                ds.WriteInterleaved<byte>(window, quantised.AsSpan(0, n), GdalDataType.Byte);
            }
    }

    /// <summary>int8 with a per-vector scale: scale = max |v| / 127, q = round-half-even(v / scale) in [−127, 127]; returns the scale (0 for a zero vector).</summary>
    internal static float Quantise(ReadOnlySpan<float> v, Span<byte> q)
    {
        float maxAbs = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(v);
        maxAbs = Math.Abs(maxAbs);
        float scale = maxAbs / 127f;
        for (int i = 0; i < v.Length; i++)
        {
            float x = scale > 0 ? MathF.Round(v[i] / scale, MidpointRounding.ToEven) : 0f;
            q[i] = unchecked((byte)(sbyte)Math.Clamp(x, -127f, 127f));
        }
        return scale;
    }

    /// <summary>The band nodata value of an encoding: −128 for int8; for float16 the nearest half value (−9999 → −10000).</summary>
    public static double NoDataOf(EmbeddingRasterType type, float noData) => type switch
    {
        EmbeddingRasterType.Int8 => Int8NoData,
        EmbeddingRasterType.Float16 => (float)(Half)noData,
        _ => noData,
    };

    // Rounds to the nearest half value (ties to even) here, because GDAL 3.6's float→half conversion truncates the
    // mantissa (2051 → 2050, doubling the error); GDAL then stores the exact half values unchanged.
    private static void ToHalfPrecision(Span<float> values, EmbeddingMap map, int by, int bx, int bw)
    {
        int dim = map.Dim;
        float nd = (float)(Half)map.NoDataValue;
        if (!float.IsFinite(nd))
            throw new ArgumentException($"The nodata value {map.NoDataValue} is beyond float16's range (±{MaxFloat16}).");
        for (int p = 0; p < values.Length / dim; p++)
        {
            int tile = (by + p / bw) * map.Columns + bx + p % bw;
            var v = values.Slice(p * dim, dim);
            if (map.IsNoData[tile]) { v.Fill(nd); continue; }
            for (int i = 0; i < v.Length; i++)
            {
                float h = (float)(Half)v[i];
                if (!float.IsFinite(h))
                    throw new ArgumentException($"Tile row {tile / map.Columns}, col {tile % map.Columns} has the value {v[i]}, beyond float16's range (±{MaxFloat16}); write the map as float32 (the finished tiles are kept, so a rerun only rewrites the outputs).");
                v[i] = h;
            }
        }
    }

    /// <summary>The encoding's name in metadata.</summary>
    public static string Name(EmbeddingRasterType type) => type switch
    {
        EmbeddingRasterType.Float16 => "float16",
        EmbeddingRasterType.Int8 => "int8",
        _ => "float32",
    };

    /// <summary>
    /// Tiles are pixel-interleaved, so one block holds every band: with 2048 bands a 256-pixel block is 512 MiB of
    /// memory and work. The block side is the largest multiple of 16 (at most 256, at most the map's size rounded up to 16)
    /// whose all-band block stays within 16 MiB.
    /// </summary>
    internal static int BlockSize(int rows, int cols, int dim)
    {
        const long budget = 16L << 20;
        int fit = (int)Math.Sqrt(budget / (4.0 * Math.Max(1, dim)));
        int needed = (Math.Max(rows, cols) + 15) / 16 * 16;
        return Math.Clamp(Math.Min(fit / 16 * 16, needed), 16, 256);
    }

    public static string BandName(int d) => "emb_" + d.ToString("D4", CultureInfo.InvariantCulture);
}
