using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Conversion;

public class ModelLocatorTests
{
    [Fact]
    public async Task A_checkpoint_is_hashed_once_per_path_size_and_modification_time()
    {
        using var dir = new TempDir();
        var ckpt = dir.File("w.ckpt");
        File.WriteAllBytes(ckpt, Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray());
        var cache = dir.File("cache");
        string Expected() => PythonOracle.Run("import hashlib; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest()[:12])", ckpt).Trim();

        var first = await ModelLocator.CachedHashPrefixAsync(ckpt, cache, CancellationToken.None);
        Assert.Equal(Expected(), first);
        var memo = Assert.Single(Directory.GetFiles(Path.Combine(cache, "converted", ".hashes")));

        // The memo is what a second resolve uses: a planted value with the same stamp comes back without reading the file.
        var stamp = File.ReadAllText(memo)[..File.ReadAllText(memo).LastIndexOf(' ')];
        File.WriteAllText(memo, stamp + " 0123456789ab");
        Assert.Equal("0123456789ab", await ModelLocator.CachedHashPrefixAsync(ckpt, cache, CancellationToken.None));

        // A changed file (new size and time) is hashed again.
        File.AppendAllText(ckpt, "more");
        File.SetLastWriteTimeUtc(ckpt, DateTime.UtcNow.AddMinutes(1));
        var changed = await ModelLocator.CachedHashPrefixAsync(ckpt, cache, CancellationToken.None);
        Assert.Equal(Expected(), changed);
        Assert.NotEqual(first, changed);

        // A corrupt memo is ignored.
        File.WriteAllText(memo, "garbage");
        Assert.Equal(changed, await ModelLocator.CachedHashPrefixAsync(ckpt, cache, CancellationToken.None));
    }
}
