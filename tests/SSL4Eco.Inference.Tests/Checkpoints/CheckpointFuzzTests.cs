using System.IO.Compression;
using SSL4Eco.Inference.Checkpoints;

namespace SSL4Eco.Inference.Tests.Checkpoints;

/// <summary>Mutated and truncated checkpoints either load or throw <see cref="CheckpointFormatException"/>; nothing else.</summary>
public sealed class CheckpointFuzzTests(CheckpointFixture fx) : IClassFixture<CheckpointFixture>
{
    private static readonly CheckpointReadOptions Limits = new() { MaxTotalTensorBytes = 16 << 20, ComputeSha256 = false };

    private static void LoadEverything(byte[] bytes)
    {
        try
        {
            using var doc = PyTorchCheckpoint.Load(new MemoryStream(bytes), Limits);
            foreach (var t in doc.FindTensors().Values) t.ToFloatArray();
            _ = doc.Root?.ToString();
        }
        catch (CheckpointFormatException e)
        {
            Assert.True(e.Message.Contains("truncated") || e.Message.Contains("corrupt") || e.Message.Contains("limit") || e.Message.Contains("not supported") || e.Message.Contains("unsupported"),
                "unclear message: " + e.Message);
        }
    }

    private static byte[] ReplacePickle(byte[] zipBytes, Func<byte[], byte[]> mutate)
    {
        using var src = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read);
        var outMs = new MemoryStream();
        using (var dst = new ZipArchive(outMs, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var e in src.Entries)
            {
                using var r = e.Open();
                var ms = new MemoryStream();
                r.CopyTo(ms);
                var data = e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) ? mutate(ms.ToArray()) : ms.ToArray();
                using var w = dst.CreateEntry(e.FullName, CompressionLevel.NoCompression).Open();
                w.Write(data);
            }
        }
        return outMs.ToArray();
    }

    private static byte[] Mutate(byte[] b, Random rng)
    {
        var m = (byte[])b.Clone();
        int kind = rng.Next(3);
        if (kind == 0) return m[..rng.Next(m.Length)];
        int flips = 1 + rng.Next(4);
        for (int i = 0; i < flips; i++)
        {
            int at = rng.Next(m.Length);
            m[at] = kind == 1 ? (byte)rng.Next(256) : (byte)(m[at] ^ (1 << rng.Next(8)));
        }
        return m;
    }

    [Theory]
    [InlineData("generic_p2.pt")]
    [InlineData("generic_p4.pt")]
    public void Mutated_data_pkl_never_escapes_as_another_exception(string file)
    {
        var bytes = File.ReadAllBytes(fx.File(file));
        for (int seed = 0; seed < 150; seed++)
        {
            var rng = new Random(seed);
            LoadEverything(ReplacePickle(bytes, p => Mutate(p, rng)));
        }
    }

    [Theory]
    [InlineData("generic_p2.pt")]
    [InlineData("generic_legacy.pt")]
    public void Mutated_or_truncated_files_never_escape_as_another_exception(string file)
    {
        var bytes = File.ReadAllBytes(fx.File(file));
        for (int seed = 0; seed < 100; seed++) LoadEverything(Mutate(bytes, new Random(1000 + seed)));
        for (int cut = 0; cut < bytes.Length; cut += Math.Max(1, bytes.Length / 60)) LoadEverything(bytes[..cut]);
    }
}
