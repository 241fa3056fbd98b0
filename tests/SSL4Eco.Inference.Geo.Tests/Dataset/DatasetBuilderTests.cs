using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SSL4Eco.Inference.Geo.Dataset;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Tests.Rasters;
using SSL4Eco.Inference.Geo.Seasons;
using SSL4Eco.Inference.Tests.Oracle;

using static SSL4Eco.Inference.Geo.Tests.Dataset.DatasetFixture;

namespace SSL4Eco.Inference.Geo.Tests.Dataset;

/// <summary>
/// Issue #16 end to end on 127.0.0.1: a STAC API served from generated items (3 pages, a slow page, a 503 with Retry-After,
/// varied clouds, dates and baselines, one broken asset) and COG assets served with range requests; plan + fetch write exactly
/// the patches python-gdal computes (gdal_translate -srcwin … -outsize 264 264 -r bilinear, harmonisation, NDVI, top-left 256 px), the pick
/// rule is right on constructed cases, a killed fetch resumes without refetching, a broken asset is reported and retried.
/// </summary>
public class DatasetBuilderTests
{
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
            a = np.concatenate([a.astype(np.uint16), (ndvi * 10000).astype(np.uint16)[None]])[:, :256, :256]  # stored: the top-left 256 px
            got = gdal.Open(os.path.join(root, p['file']))
            g = got.ReadAsArray()
            want_gt = (gt[0] + x0 * gt[1], gt[1], 0.0, gt[3] + y0 * gt[5], 0.0, gt[5])
            if g.shape != a.shape or not np.array_equal(g, a) or any(abs(u - v) > 1e-6 for u, v in zip(got.GetGeoTransform(), want_gt)):
                bad += 1
                print('mismatch', p['file'], g.shape, a.shape, int(np.abs(g.astype(np.int64) - a).max()) if g.shape == a.shape else -1, got.GetGeoTransform(), want_gt)
        print('checked', len(manifest['patches']), 'bad', bad)
        """;

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
        Assert.Equal(Ssl4EcoLayout.Bands, patch.BandNames);
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
