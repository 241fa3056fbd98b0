
namespace SSL4Eco.Gdal.Tests;

public sealed class GdalDiscoveryTests
{
    [Fact]
    public void The_loaded_library_is_a_probed_GDAL_3_whose_soname_matches_its_version()
    {
        Assert.True(GdalLibrary.IsAvailable, "GDAL must be installed for the Geo tests");
        var loaded = GdalLibrary.LoadedFrom;
        Assert.Contains(loaded, GdalNative.Candidates());
        var version = GdalLibrary.Version.Split('.');
        Assert.Equal("3", version[0]);
        // GDAL 3.0 shipped soname 26 and each minor release adds one: the candidate that loaded must agree.
        if (loaded.StartsWith("libgdal.so.", StringComparison.Ordinal))
            Assert.Equal(26 + int.Parse(version[1]), int.Parse(loaded["libgdal.so.".Length..]));
    }

    [Fact]
    public void Newer_sonames_are_tried_before_older_ones_and_the_override_first()
    {
        var names = GdalNative.Candidates().Where(n => n.StartsWith("libgdal.so.", StringComparison.Ordinal))
            .Select(n => int.Parse(n["libgdal.so.".Length..])).ToArray();
        Assert.Contains(32, names);
        Assert.Contains(36, names);
        Assert.Equal(names.OrderDescending(), names);
    }

    [Theory]
    [InlineData("ID=debian\nVERSION_ID=\"12\"\n", "apt install libgdal32")]
    [InlineData("ID=debian\nVERSION_ID=\"13\"\n", "apt install libgdal36")]
    [InlineData("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n", "apt install libgdal34")]
    [InlineData("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\nVERSION_ID=\"21.3\"\n", "apt-cache search")]
    [InlineData("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n", "dnf install gdal-libs")]
    [InlineData("ID=fedora\nVERSION_ID=41\n", "dnf install gdal-libs")]
    [InlineData("ID=alpine\nVERSION_ID=3.20.0\n", "apk add gdal")]
    [InlineData("ID=arch\n", "pacman -S gdal")]
    [InlineData("ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n", "zypper install gdal")]
    [InlineData("", "package manager")]
    public void The_install_hint_names_the_command_of_the_distribution(string osRelease, string expected)
    {
        Assert.Contains(expected, GdalInstallHint.ForLinux(osRelease));
    }
}
