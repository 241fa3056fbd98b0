using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Arrays;

public class NpyStreamingTests
{
    [Fact]
    public void Written_in_pieces_numpy_reads_it_and_OpenSingle_reads_it_back_in_pieces()
    {
        using var dir = new TempDir();
        var path = dir.File("a.npy");
        var values = Enumerable.Range(0, 5 * 7 * 3).Select(i => i * 0.5f - 3).ToArray();
        NpyFile.WriteSingle(path, [5, 7, 3], s =>
        {
            for (int i = 0; i < values.Length; i += 16)
                s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan(i, Math.Min(16, values.Length - i))));
        });
        Assert.Equal("(5, 7, 3) float32 True", PythonOracle.Run("""
import numpy as np
a = np.load(sys.argv[1])
print(a.shape, a.dtype, bool(np.array_equal(a.ravel(), np.arange(105, dtype=np.float32) * 0.5 - 3)))
""", path).Trim());
        var (data, shape) = NpyFile.OpenSingle(path);
        using (data)
        {
            Assert.Equal([5, 7, 3], shape);
            var tail = new float[3];
            data.Seek(4L * 3 * 34, SeekOrigin.Current);
            data.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tail.AsSpan()));
            Assert.Equal(values.AsSpan(102, 3).ToArray(), tail);
        }
    }

    [Fact]
    public void A_wrong_byte_count_is_refused_and_leaves_no_file()
    {
        using var dir = new TempDir();
        var path = dir.File("a.npy");
        var e = Assert.Throws<InvalidOperationException>(() => NpyFile.WriteSingle(path, [2, 3], s => s.Write(new byte[20])));
        Assert.Contains("24 bytes", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void OpenSingle_names_truncated_and_non_float32_files()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("f.npy"), new float[12], 3, 4);
        var bytes = File.ReadAllBytes(dir.File("f.npy"));
        File.WriteAllBytes(dir.File("t.npy"), bytes[..^5]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NpyFile.OpenSingle(dir.File("t.npy"))).Message);
        File.WriteAllBytes(dir.File("h.npy"), bytes[..20]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NpyFile.OpenSingle(dir.File("h.npy"))).Message);
        NpyFile.Write(dir.File("d.npy"), new double[12], 3, 4);
        Assert.Contains("float32", Assert.Throws<InvalidDataException>(() => NpyFile.OpenSingle(dir.File("d.npy"))).Message);
        File.WriteAllBytes(dir.File("x.npy"), [1, 2, 3]);
        Assert.Contains("not a .npy", Assert.Throws<InvalidDataException>(() => NpyFile.OpenSingle(dir.File("x.npy"))).Message);
    }
}
