using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SSL4Eco.Inference.Geo.Dataset;

namespace SSL4Eco.Inference.Geo.Tests.Dataset;

/// <summary>
/// The dataset builder's world on 127.0.0.1 (issue #16), shared by the Geo tests and the training chain test (linked there):
/// python-gdal inputs, a STAC API over generated items (pages of 3, a slow page, a 503 with Retry-After, one broken asset)
/// served with the COG assets by <see cref="RangeServer"/>.
/// </summary>
internal static class DatasetFixture
{
    /// <summary>Writes two 12-band asset sets (A, B: COGs at 10/20/60 m), MCD12Q2-style phenology and land polygons into argv[1].</summary>
    internal const string MakeInputs = """
        import json, os, datetime
        import numpy as np
        from osgeo import gdal, osr, ogr
        out = sys.argv[1]
        srs = osr.SpatialReference(); srs.ImportFromEPSG(32631)
        X0, Y0, N = 499980.0, 5600040.0, 900
        bands = ['B01','B02','B03','B04','B05','B06','B07','B08','B8A','B09','B11','B12']
        res = dict(B01=60, B09=60, B02=10, B03=10, B04=10, B08=10, B05=20, B06=20, B07=20, B8A=20, B11=20, B12=20)
        mem = gdal.GetDriverByName('MEM')
        for si, s in enumerate(['A', 'B']):
            os.makedirs(os.path.join(out, s), exist_ok=True)
            rng = np.random.default_rng(10 + si)
            for b in bands:
                n = N * 10 // res[b]
                ds = mem.Create('', n, n, 1, gdal.GDT_UInt16)
                ds.SetGeoTransform((X0, res[b], 0, Y0, 0, -res[b])); ds.SetProjection(srs.ExportToWkt())
                ds.GetRasterBand(1).WriteArray(rng.integers(0, 6000, (n, n)).astype(np.uint16))
                gdal.Translate(os.path.join(out, s, b + '.tif'), ds, format='COG', creationOptions=['BLOCKSIZE=256', 'COMPRESS=DEFLATE'])
        # Phenology: 8 yearly bands (2017..2024), days since 1970-01-01; 2019 is fill; west of 2.97° E Greenup is fill everywhere.
        days = dict(greenup=80, maturity=160, senescence=250, dormancy=320)
        for name, doy in days.items():
            ds = gdal.GetDriverByName('GTiff').Create(os.path.join(out, name + '.tif'), 60, 40, 8, gdal.GDT_Int16)
            ds.SetGeoTransform((2.9, 0.005, 0, 50.6, 0, -0.005)); ds.SetProjection(osr.SRS_WKT_WGS84_LAT_LONG)
            for i, year in enumerate(range(2017, 2025)):
                v = (datetime.date(year, 1, 1) + datetime.timedelta(days=doy - 1) - datetime.date(1970, 1, 1)).days
                a = np.full((40, 60), 32767 if year == 2019 else v, np.int16)
                if name == 'greenup': a[:, :14] = 32767
                ds.GetRasterBand(i + 1).WriteArray(a)
            ds = None
        # Land: the part of the tile where a 264 px window fits (1.4 km margin), in lon/lat.
        wgs = osr.SpatialReference(); wgs.ImportFromEPSG(4326); wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        ct = osr.CoordinateTransformation(srs, wgs)
        m = 1400
        ring = [ct.TransformPoint(x, y)[:2] for x, y in [(X0+m, Y0-m), (X0+9000-m, Y0-m), (X0+9000-m, Y0-9000+m), (X0+m, Y0-9000+m), (X0+m, Y0-m)]]
        json.dump({'type': 'FeatureCollection', 'features': [{'type': 'Feature', 'properties': {}, 'geometry': {'type': 'Polygon', 'coordinates': [[list(p) for p in ring]]}}]},
                  open(os.path.join(out, 'land.geojson'), 'w'))
        west = ct.TransformPoint(499980.0 - 8000, 5596000.0)[:2]
        json.dump({'type': 'FeatureCollection', 'features': [{'type': 'Feature', 'properties': {}, 'geometry': {'type': 'Polygon', 'coordinates': [[
            [2.93, 50.5], [2.965, 50.5], [2.965, 50.55], [2.93, 50.55], [2.93, 50.5]]]}}]}, open(os.path.join(out, 'west.geojson'), 'w'))
        """;

    internal sealed record Item(string Id, string Date, double Cloud, string Baseline, string Set);

    internal static readonly Item[] Items =
    [
        new("gm-a", "2019-04-30", 5.5, "02.08", "A"),   // doy 120 = the middle, but 5 %
        new("gm-b", "2022-05-01", 5.1, "02.08", "A"),
        new("gm-c", "2020-03-25", 2.0, "02.09", "A"),   // 2 % (whole percent), 36 days from the middle
        new("gm-d", "2023-04-28", 2.7, "02.09", "A"),   // 2 % too, 2 days from the middle: the pick
        new("gm-old", "2016-04-29", 0.5, "02.04", "A"), // before 2017
        new("gm-20", "2021-04-30", 20.0, "03.00", "A"), // not below 20 %
        new("ms-a", "2021-07-24", 10.0, "04.00", "B"),  // doy 205 = the middle, 10 %: the pick (harmonised)
        new("ms-b", "2018-07-10", 10.9, "02.06", "A"),  // 10 % too, farther
        new("sd-broken", "2023-10-12", 1.0, "05.09", "B"), // the pick, B05 missing on the server
        new("sd-worse", "2017-09-10", 15.0, "02.05", "A"),
    ];

    internal static readonly string[] AssetBands = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"];

    /// <summary>A STAC API over <see cref="Items"/> on the range server: pages of 3, page 2 slow, page 3 answers 503 + Retry-After once.</summary>
    internal sealed class Stac
    {
        public ConcurrentQueue<(string Kind, DateTime At)> Log { get; } = new();
        private int _refused, _slowed;

        public void Attach(RangeServer server)
        {
            string baseUrl = server.Url;
            server.Handler = async ctx =>
            {
                var req = ctx.Request;
                if (req.Url!.AbsolutePath != "/search") return null;
                int page = 1;
                JsonObject? body = null;
                if (req.HttpMethod == "POST")
                {
                    using var reader = new StreamReader(req.InputStream);
                    body = JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
                    page = (int?)body["page"] ?? 1;
                }
                else page = int.Parse(req.QueryString["page"]!, CultureInfo.InvariantCulture);
                Log.Enqueue(($"{req.HttpMethod} page {page}", DateTime.UtcNow));
                if (page == 2 && Interlocked.Exchange(ref _slowed, 1) == 0) await Task.Delay(1500); // the slow response
                if (page == 3 && Interlocked.Exchange(ref _refused, 1) == 0)
                {
                    ctx.Response.StatusCode = 503;
                    ctx.Response.Headers["Retry-After"] = "1";
                    return 503;
                }
                if (body is not null && page == 1)
                {
                    Assert.Equal("sentinel-2-l2a", (string?)body["collections"]![0]);
                    Assert.Equal("Point", (string?)body["intersects"]!["type"]);
                    Assert.Equal(20, (double)body["query"]!["eo:cloud_cover"]!["lt"]!);
                    Assert.Equal("2017-01-01T00:00:00Z/2024-12-31T23:59:59Z", (string?)body["datetime"]);
                }
                var matching = Items.Where(i => i.Cloud < 20 && string.CompareOrdinal(i.Date, "2017") >= 0).ToList();
                var features = new JsonArray(matching.Skip((page - 1) * 3).Take(3).Select(i => (JsonNode)Feature(i, baseUrl)).ToArray());
                var links = new JsonArray();
                if (page == 1) links.Add(new JsonObject { ["rel"] = "next", ["href"] = baseUrl + "search", ["method"] = "POST", ["body"] = new JsonObject { ["page"] = 2 }, ["merge"] = true });
                else if (page * 3 < matching.Count) links.Add(new JsonObject { ["rel"] = "next", ["href"] = $"{baseUrl}search?page={page + 1}" });
                var bytes = Encoding.UTF8.GetBytes(new JsonObject { ["type"] = "FeatureCollection", ["features"] = features, ["links"] = links }.ToJsonString());
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/geo+json";
                ctx.Response.ContentLength64 = bytes.Length;
                await ctx.Response.OutputStream.WriteAsync(bytes);
                return 200;
            };
        }

        private static JsonObject Feature(Item i, string baseUrl)
        {
            var assets = new JsonObject();
            foreach (var b in AssetBands)
                assets[b] = new JsonObject { ["href"] = i.Id == "sd-broken" && b == "B05" ? $"{baseUrl}broken/B05.tif" : $"{baseUrl}{i.Set}/{b}.tif" };
            return new JsonObject
            {
                ["type"] = "Feature", ["id"] = i.Id,
                ["properties"] = new JsonObject { ["datetime"] = i.Date + "T10:30:00Z", ["eo:cloud_cover"] = i.Cloud, ["s2:processing_baseline"] = i.Baseline, ["s2:mgrs_tile"] = "31UES" },
                ["assets"] = assets,
            };
        }
    }

    internal static RangeServer Serve(string assets)
    {
        var files = new Dictionary<string, byte[]>();
        foreach (var set in new[] { "A", "B" })
            foreach (var b in AssetBands) files[$"/{set}/{b}.tif"] = File.ReadAllBytes(Path.Combine(assets, set, b + ".tif"));
        return new RangeServer(files);
    }

    internal static DatasetPlan Plan(string dir) => DatasetPlanner.Plan(new PlanOptions
    {
        SpacingMeters = 2500,
        LandVector = Path.Combine(dir, "land.geojson"),
        Phenology = new PhenologyRasters(Path.Combine(dir, "greenup.tif"), Path.Combine(dir, "maturity.tif"), Path.Combine(dir, "senescence.tif"), Path.Combine(dir, "dormancy.tif")),
    });

    internal static FetchOptions Options(RangeServer server, string output, int inFlight = 2) =>
        new(new Uri(server.Url), output) { MaxRequestsInFlight = inFlight, RetryBaseDelay = TimeSpan.FromMilliseconds(50) };
}
