using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SSL4Eco.Inference.Geo.Seasons;

namespace SSL4Eco.Inference.Geo.Tests.Seasons;

public class SeasonPickerTests
{
    private static SceneCandidate S(string id, int month, int day, double cloud, int year = 2021) => new(id, new DateOnly(year, month, day), cloud);

    [Fact]
    public void Calendar_fallback_picks_least_cloudy_then_nearest_to_the_middle()
    {
        // Spring = 1 Mar (doy 60) .. 1 Jun (doy 152): middle doy 106 = 16 Apr.
        var picks = SeasonPicker.Pick([
            S("spring-cloudy", 4, 16, 0.19),   // at the middle but 19 % cloud
            S("spring-clear-early", 3, 2, 0.05),
            S("spring-clear-mid", 4, 20, 0.057), // same whole percent (5) as the early one, nearer the middle -> wins
            S("spring-over", 4, 16, 0.2),       // not < 20 %
            S("summer", 7, 15, 0.5),            // too cloudy -> no summer pick
            S("autumn-a", 10, 1, 0.0),
            S("winter-jan", 1, 14, 0.1),        // winter = 1 Dec .. 1 Mar wraps; middle = doy 335 + 45 = 380 = doy 15
            S("winter-dec", 12, 2, 0.1),
        ]);
        Assert.Equal(new[] { "spring-clear-mid", "-", "autumn-a", "winter-jan" }, picks.Select(p => p.Scene?.Id ?? "-").ToArray());
        Assert.Equal(4, picks[0].DaysFromMiddle); // doy 110 vs 106
        Assert.True(double.IsNaN(picks[1].DaysFromMiddle));
        Assert.Equal((335, 60), (picks[3].StartDay, picks[3].EndDay));
    }

    [Fact]
    public void Phenology_intervals_wrap_and_ties_go_to_the_earlier_date_then_id()
    {
        var cal = PhenologyCalendar.FromDates(new(2020, 4, 10), new(2020, 6, 1), new(2020, 9, 15), new(2020, 11, 20));
        Assert.Equal((100, 152, 258, 324), (cal.Greenup, cal.Maturity, cal.Senescence, cal.Dormancy)); // 29 Feb does not shift days
        // Dormancy→Greenup: doy 324 .. 100, length 141, middle 394.5 = doy 29.5; doy 22 and 37 are both 7.5 away.
        var picks = SeasonPicker.Pick([S("b", 1, 22, 0.1, 2022), S("a", 2, 6, 0.1, 2021), S("c", 1, 22, 0.1, 2022)], cal);
        Assert.Equal("a", picks[3].Scene!.Id); // earlier date (2021) wins the tie
        picks = SeasonPicker.Pick([S("c", 1, 22, 0.1), S("b", 1, 22, 0.1)], cal);
        Assert.Equal("b", picks[3].Scene!.Id);
    }

    [Fact]
    public void Invalid_inputs_are_named()
    {
        Assert.Throws<ArgumentException>(() => new PhenologyCalendar(100, 90, 200, 300));
        Assert.Throws<ArgumentException>(() => new PhenologyCalendar(0, 90, 200, 300));
        Assert.Throws<ArgumentException>(() => SeasonPicker.Pick([S("x", 1, 1, 1.5)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SeasonPicker.Pick([], null, 0));
        Assert.All(SeasonPicker.Pick([]), p => Assert.Null(p.Scene));
    }

    private static Gen<SceneCandidate[]> Scenes =>
        Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(
            from day in Gen.Choose(0, 729)
            from cloud in Gen.Choose(0, 100)
            select new SceneCandidate($"s{day}-{cloud}", new DateOnly(2021, 1, 1).AddDays(day), cloud / 100.0), n));

    [Property(MaxTest = 200)]
    public Property Picks_are_inside_their_season_below_the_limit_and_no_qualifying_scene_is_less_cloudy() =>
        Prop.ForAll(Scenes.ToArbitrary(), scenes =>
        {
            var cal = PhenologyCalendar.CalendarSeasons;
            var picks = SeasonPicker.Pick(scenes, cal);
            bool ok = picks.Count == 4;
            foreach (var p in picks)
            {
                bool In(SceneCandidate s) => (SeasonPicker.DayOfYear(s.Date) - p.StartDay + 365) % 365 < (p.EndDay - p.StartDay + 365) % 365;
                var qualifying = scenes.Where(s => s.CloudFraction < 0.2 && In(s)).ToList();
                if (p.Scene is null) { ok &= qualifying.Count == 0; continue; }
                ok &= In(p.Scene) && p.Scene.CloudFraction < 0.2;
                ok &= qualifying.All(s => Math.Floor(s.CloudFraction * 100) >= Math.Floor(p.Scene.CloudFraction * 100));
                // Dropping any other scene never changes the pick.
                ok &= SeasonPicker.Pick(scenes.Where(s => s != qualifying.FirstOrDefault(q => q != p.Scene)), cal)[(int)p.Season].Scene == p.Scene;
            }
            // Every scene lies in exactly one season.
            ok &= scenes.All(s => Enum.GetValues<Season>().Count(season =>
            {
                var (a, b) = cal.Interval(season);
                return (SeasonPicker.DayOfYear(s.Date) - a + 365) % 365 < (b - a + 365) % 365;
            }) == 1);
            return ok;
        });
}
