using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SSL4Eco.Inference.Geo.Dataset;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Tests.Rasters;
using SSL4Eco.Inference.Geo.Seasons;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Dataset;

/// <summary>
/// Issue #16 end to end on 127.0.0.1: a STAC API served from generated items (3 pages, a slow page, a 503 with Retry-After,
/// varied clouds, dates and baselines, one broken asset) and COG assets served with range requests; plan + fetch write exactly
/// the patches python-gdal computes (gdal_translate -srcwin … -outsize 264 264 -r bilinear, harmonisation, NDVI), the pick
/// rule is right on constructed cases, a killed fetch resumes without refetching, a broken asset is reported and retried.
/// </summary>
public class DatasetBuilderTests
{
    private const string MakeInputs = """
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

    /// <summary>The python-gdal reference of every patch: same window rule, gdal.Translate, harmonisation, NDVI in float32.</summary>
    private const string Reference = """
        import json, os, math
        import numpy as np
        from osgeo import gdal, osr
        root, assets, manifest = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
        bands = ['B01','B02','B03','B04','B05','B06','B07','B08','B8A','B09','B11','B12']
        sets = json.loads(sys.argv[4])
        wgs = osr.SpatialReference(); wgs.ImportFromEPSG(4326); wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        bad = 0
        for p in manifest['patches']:
            s = sets[p['itemId']]
            ref = gdal.Open(os.path.join(assets, s, 'B02.tif'))
            gt = ref.GetGeoTransform()
            x, y = osr.CoordinateTransformation(wgs, ref.GetSpatialRef()).TransformPoint(p['longitude'], p['latitude'])[:2]
            col, row = (x - gt[0]) / gt[1], (y - gt[3]) / gt[5]
            x0 = 6 * int(math.floor((col - 132) / 6 + 0.5)); y0 = 6 * int(math.floor((row - 132) / 6 + 0.5))
            out = []
            for b in bands:
                src = gdal.Open(os.path.join(assets, s, b + '.tif'))
                f = int(round(src.GetGeoTransform()[1] / 10))
                t = gdal.Translate('', src, format='MEM', srcWin=[x0 // f, y0 // f, 264 // f, 264 // f], width=264, height=264, resampleAlg='bilinear')
                out.append(t.ReadAsArray().astype(np.int32))
            a = np.stack(out)
            if p['harmonized']: a = np.where(a >= 1000, a - 1000, 0)
            b4 = a[3].astype(np.float32); b8 = a[7].astype(np.float32)
            ndvi = (b8 - b4) / (b8 + b4 + 1e-5); ndvi[ndvi < 0] = 0
            a = np.concatenate([a.astype(np.uint16), (ndvi * 10000).astype(np.uint16)[None]])
            got = gdal.Open(os.path.join(root, p['file']))
            g = got.ReadAsArray()
            want_gt = (gt[0] + x0 * gt[1], gt[1], 0.0, gt[3] + y0 * gt[5], 0.0, gt[5])
            if g.shape != a.shape or not np.array_equal(g, a) or any(abs(u - v) > 1e-6 for u, v in zip(got.GetGeoTransform(), want_gt)):
                bad += 1
                print('mismatch', p['file'], g.shape, a.shape, int(np.abs(g.astype(np.int64) - a).max()) if g.shape == a.shape else -1, got.GetGeoTransform(), want_gt)
        print('checked', len(manifest['patches']), 'bad', bad)
        """;

    private sealed record Item(string Id, string Date, double Cloud, string Baseline, string Set);

    private static readonly Item[] Items =
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

    private static readonly string[] AssetBands = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"];

    /// <summary>A STAC API over <see cref="Items"/> on the range server: pages of 3, page 2 slow, page 3 answers 503 + Retry-After once.</summary>
    private sealed class Stac
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

    private static RangeServer Serve(string assets)
    {
        var files = new Dictionary<string, byte[]>();
        foreach (var set in new[] { "A", "B" })
            foreach (var b in AssetBands) files[$"/{set}/{b}.tif"] = File.ReadAllBytes(Path.Combine(assets, set, b + ".tif"));
        return new RangeServer(files);
    }

    private static DatasetPlan Plan(string dir) => DatasetPlanner.Plan(new PlanOptions
    {
        SpacingMeters = 2500,
        LandVector = Path.Combine(dir, "land.geojson"),
        Phenology = new PhenologyRasters(Path.Combine(dir, "greenup.tif"), Path.Combine(dir, "maturity.tif"), Path.Combine(dir, "senescence.tif"), Path.Combine(dir, "dormancy.tif")),
    });

    private static FetchOptions Options(RangeServer server, string output, int inFlight = 2) =>
        new(new Uri(server.Url), output) { MaxRequestsInFlight = inFlight, RetryBaseDelay = TimeSpan.FromMilliseconds(50) };

    [CurlFact]
    public async Task Plan_and_fetch_write_the_reference_patches_resume_and_retry_a_broken_asset()
    {
        using var dir = new TempDir();
        PythonOracle.Run(MakeInputs, dir.Path);
        var plan = Plan(dir.Path);
        Assert.InRange(plan.Locations.Count, 4, 9);
        Assert.All(plan.Locations, l => Assert.Equal("mcd12q2 (7 years)", l.Phenology)); // 2019 is fill
        Assert.All(plan.Locations, l => Assert.Equal([80, 160, 250, 320], l.Intervals.Select(i => i.StartDay)));
        Assert.Equal(120, plan.Locations[0].Intervals[0].MiddleDay);
        plan.Save(dir.File("plan.json"));
        plan = DatasetPlan.Load(dir.File("plan.json"));
        int n = plan.Locations.Count;

        using var server = Serve(dir.Path);
        var stac = new Stac();
        stac.Attach(server);
        var output = dir.File("ds");
        var reports = new ConcurrentQueue<FetchProgress>();
        var clock = Stopwatch.StartNew();
        var first = await DatasetFetcher.FetchAsync(plan, Options(server, output, inFlight: 1), new Progress<FetchProgress>(reports.Enqueue));
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(2.5)); // the slow page (1.5 s) and the Retry-After (1 s) were waited

        // The picks: gm-d (least cloudy in whole percent, then nearest the middle), ms-a; sd-broken is reported; no D→G item.
        Assert.Equal(2 * n, first.Written);
        Assert.Equal(0, first.Reused);
        Assert.Equal(Enumerable.Repeat("gm-d", n), first.Patches.Where(p => p.Season == Season.GreenupToMaturity).Select(p => p.ItemId));
        Assert.Equal(Enumerable.Repeat("ms-a", n), first.Patches.Where(p => p.Season == Season.MaturityToSenescence).Select(p => p.ItemId));
        Assert.All(first.Patches, p => Assert.Equal(p.ItemId == "ms-a", p.Harmonized));
        Assert.All(first.Patches.Where(p => p.ItemId == "ms-a"), p => { Assert.Equal("04.00", p.ProcessingBaseline); Assert.Equal(10.0, p.CloudCover); });
        var broken = first.Skipped.Where(s => s.Season == Season.SenescenceToDormancy).ToList();
        Assert.Equal(n, broken.Count);
        Assert.All(broken, s => { Assert.Equal("sd-broken", s.ItemId); Assert.Contains("broken/B05.tif", s.Reason); Assert.True(s.Failed); });
        Assert.All(first.Skipped.Where(s => s.Season == Season.DormancyToGreenup), s => { Assert.StartsWith("no item with cloud cover below 20 %", s.Reason); Assert.False(s.Failed); });
        Assert.Equal(2 * n, first.Skipped.Count);
        Assert.All(first.Patches, p => Assert.Matches(@"^imgs/\d{6}/(20230428|20210724)_31UES\.tif$", p.File));

        // Retry-After honoured, every page followed (POST, POST merged, GET), only this server contacted.
        var log = stac.Log.ToList();
        var refused = log.FindIndex(e => e.Kind == "GET page 3");
        var retried = log.FindIndex(refused + 1, e => e.Kind == "GET page 3");
        Assert.True(log[retried].At - log[refused].At >= TimeSpan.FromSeconds(0.95));
        Assert.Equal(n, log.Count(e => e.Kind == "POST page 2"));
        // Range requests only; never a whole asset.
        Assert.DoesNotContain(server.Requests, r => r.Path.EndsWith(".tif", StringComparison.Ordinal) && r.Method == "GET" && r.Range is null);

        // Progress with an ETA; the final report counts every location.
        Assert.Contains(reports, r => r.LocationsDone == n && r.PatchesWritten == 2 * n);
        Assert.Contains(reports, r => r.Eta is not null);

        // Values equal python-gdal's windows.
        var sets = JsonSerializer.Serialize(Items.ToDictionary(i => i.Id, i => i.Set));
        var check = PythonOracle.Run(Reference, output, dir.Path, Path.Combine(output, "manifest.json"), sets);
        Assert.Contains($"checked {2 * n} bad 0", check);

        // The patch is what the training reader expects: 13 described bands in the SSL4Eco order, a date.
        var patchFile = Path.Combine(output, first.Patches[0].File);
        var patch = PatchReader.Read(patchFile);
        Assert.Equal(PatchReader.Ssl4EcoLayout, patch.BandNames);
        Assert.Equal(new DateOnly(2023, 4, 28), patch.Date);
        var harmonised = PatchReader.Read(Path.Combine(output, first.Patches.First(p => p.ItemId == "ms-a").File));
        Assert.Null(harmonised.ProcessingBaseline); // the offset is gone: inference must not remove it a second time

        // Second run, the asset fixed: the broken intervals are fetched, nothing finished is refetched.
        var stamps = first.Patches.ToDictionary(p => p.File, p => File.GetLastWriteTimeUtc(Path.Combine(output, p.File)));
        server.Files["/broken/B05.tif"] = server.Files["/B/B05.tif"];
        int before = server.Requests.Count(r => r.Path == "/A/B02.tif");
        var second = await DatasetFetcher.FetchAsync(plan, Options(server, output));
        Assert.Equal(n, second.Written);
        Assert.Equal(2 * n, second.Reused);
        Assert.Equal(3 * n, second.Patches.Count);
        Assert.All(second.Skipped, s => Assert.Equal(Season.DormancyToGreenup, s.Season));
        Assert.Equal(before, server.Requests.Count(r => r.Path == "/A/B02.tif")); // set A (gm-d) was not read again
        foreach (var (file, stamp) in stamps) Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(output, file)));
        var weights = File.ReadAllLines(Path.Combine(output, "sampling_weights.csv"));
        Assert.Equal(n + 1, weights.Length);

        // A killed run: cancelled after its first location, the journal's last line torn. The next run keeps what was finished.
        var killed = dir.File("killed");
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DatasetFetcher.FetchAsync(plan, Options(server, killed, inFlight: 1),
            new InlineProgress(_ => cts.Cancel()), cts.Token));
        var journal = Path.Combine(killed, "manifest.jsonl");
        int finished = File.ReadAllLines(journal).Length;
        Assert.InRange(finished, 1, 3 * n - 1);
        File.AppendAllText(journal, "{\"index\": 3, \"sea");
        var resumed = await DatasetFetcher.FetchAsync(plan, Options(server, killed));
        Assert.Equal(finished, resumed.Reused);
        Assert.Equal(3 * n - finished, resumed.Written);
        // A finished patch changed on disk no longer matches its checksum and is fetched again.
        File.WriteAllBytes(Path.Combine(killed, resumed.Patches[0].File), [1, 2, 3]);
        var repaired = await DatasetFetcher.FetchAsync(plan, Options(server, killed));
        Assert.Equal(1, repaired.Written);
        Assert.Equal(DatasetFetcher.Sha256(Path.Combine(killed, resumed.Patches[0].File)), repaired.Patches[0].Sha256);
    }

    [Fact]
    public void Phenology_fill_falls_back_to_calendar_seasons_and_weights_follow_the_masks()
    {
        using var dir = new TempDir();
        PythonOracle.Run(MakeInputs, dir.Path);
        var plan = DatasetPlanner.Plan(new PlanOptions
        {
            SpacingMeters = 1000,
            LandVector = dir.File("west.geojson"),
            Phenology = new PhenologyRasters(dir.File("greenup.tif"), dir.File("maturity.tif"), dir.File("senescence.tif"), dir.File("dormancy.tif")),
            NonVegetatedRaster = dir.File("greenup.tif"), // band 1 non-zero everywhere: ÷ 4
            MountainRaster = dir.File("maturity.tif"),    // × 2
        });
        Assert.NotEmpty(plan.Locations);
        Assert.All(plan.Locations, l =>
        {
            Assert.Equal("calendar: no valid Greenup in any year", l.Phenology);
            Assert.Equal([60, 152, 244, 335], l.Intervals.Select(i => i.StartDay));
            Assert.Equal(0.5, l.Weight);
        });
        Assert.Equal(Enumerable.Range(0, plan.Locations.Count), plan.Locations.Select(l => l.Index));
    }

    [Fact]
    public void Circular_mean_wraps_the_year_and_encodings_are_read()
    {
        Assert.Equal(365, LocalPhenology.CircularMeanDay([360, 5]));
        Assert.Equal(3, LocalPhenology.CircularMeanDay([1, 5]));
        Assert.Equal(100, LocalPhenology.CircularMeanDay([100]));
        Assert.True(DatasetFetcher.HasOffset("04.00"));
        Assert.True(DatasetFetcher.HasOffset("05.09"));
        Assert.False(DatasetFetcher.HasOffset("03.01"));
        Assert.False(DatasetFetcher.HasOffset(null));
    }

    [Fact]
    public async Task Bad_plans_and_options_are_refused_with_a_clear_message()
    {
        using var dir = new TempDir();
        Assert.Contains("exactly one land mask", Assert.Throws<ArgumentException>(() => DatasetPlanner.Plan(new PlanOptions())).Message);
        File.WriteAllText(dir.File("x.json"), "{\"format\":\"other\"}");
        Assert.Contains("is not a dataset plan", Assert.Throws<InvalidDataException>(() => DatasetPlan.Load(dir.File("x.json"))).Message);
        File.WriteAllText(dir.File("y.json"), "not json");
        Assert.Contains("is not a dataset plan", Assert.Throws<InvalidDataException>(() => DatasetPlan.Load(dir.File("y.json"))).Message);
        var plan = new DatasetPlan(23000, 2017, 2024, []);
        await Assert.ThrowsAsync<ArgumentException>(() => DatasetFetcher.FetchAsync(plan, new FetchOptions(new Uri("ftp://x/"), dir.Path)));
    }

    [Fact]
    public async Task A_stac_endpoint_that_keeps_failing_or_leaves_its_origin_is_reported_per_location()
    {
        using var dir = new TempDir();
        using var server = new RangeServer([]);
        int calls = 0;
        server.Handler = ctx =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                var bytes = Encoding.UTF8.GetBytes("""{"features":[],"links":[{"rel":"next","href":"http://example.com/search?page=2"}]}""");
                ctx.Response.StatusCode = 200;
                ctx.Response.OutputStream.Write(bytes);
                return Task.FromResult<int?>(200);
            }
            ctx.Response.StatusCode = 502;
            return Task.FromResult<int?>(502);
        };
        var cal = PhenologyCalendar.CalendarSeasons;
        var intervals = Enum.GetValues<Season>().Select(s => new PlannedInterval(s, cal.Interval(s).Start, cal.Interval(s).End, 0)).ToList();
        var plan = new DatasetPlan(23000, 2017, 2024, [new PlannedLocation(0, 1, 3, 50, 1, "calendar", intervals), new PlannedLocation(1, 2, 3.1, 50, 1, "calendar", intervals)]);
        var summary = await DatasetFetcher.FetchAsync(plan, new FetchOptions(new Uri(server.Url), dir.Path) { MaxRequestsInFlight = 1, MaxAttempts = 3, RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
        Assert.Empty(summary.Patches);
        Assert.Equal(8, summary.Skipped.Count);
        Assert.All(summary.Skipped, s => Assert.True(s.Failed));
        Assert.Contains(summary.Skipped, s => s.Reason.Contains("leaves the configured endpoint", StringComparison.Ordinal));
        Assert.Contains(summary.Skipped, s => s.Reason.Contains("failed 3 times, last: HTTP 502", StringComparison.Ordinal));
        Assert.Equal(4, calls); // 1 + 3 attempts; example.com was never contacted
    }

    private sealed class InlineProgress(Action<FetchProgress> report) : IProgress<FetchProgress>
    {
        public void Report(FetchProgress value) => report(value);
    }
}
