using System.Numerics;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Checkpoints;

namespace SSL4Eco.Inference.Tests.Checkpoints;

public sealed class PyTorchCheckpointTests(CheckpointFixture fx) : IClassFixture<CheckpointFixture>
{
    public static TheoryData<string> GenericFiles => new() { "generic_p2.pt", "generic_p4.pt", "generic_legacy.pt" };

    [Theory]
    [MemberData(nameof(GenericFiles))]
    public void Every_dtype_and_view_matches_torch(string file)
    {
        using var doc = PyTorchCheckpoint.Load(fx.File(file));
        var root = Assert.IsType<PickleDict>(doc.Root);
        var tensors = Assert.IsType<PickleDict>(root["tensors"]);
        Assert.Equal("collections.OrderedDict", tensors.PythonType);
        var names = fx.Names("generic_names.json");
        Assert.Equal(names, tensors.Keys.Cast<string>());
        foreach (var name in names)
        {
            var t = Assert.IsType<CheckpointTensor>(tensors[name]);
            var (expected, shape) = NpyFile.ReadSingle(fx.File($"t_{name}.npy"));
            Assert.Equal(shape.Select(d => (long)d), t.Shape);
            var actual = t.ToFloatArray();
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{file}: tensor '{name}' differs from torch");
        }
        Assert.Equal(CheckpointDType.Float16, ((CheckpointTensor)tensors["f16"]!).DType);
        Assert.Equal(CheckpointDType.BFloat16, ((CheckpointTensor)tensors["bf16"]!).DType);
        Assert.True(((CheckpointTensor)tensors["param"]!).RequiresGrad);
        // Views share the storage of their base tensor.
        Assert.Same(((CheckpointTensor)tensors["f32"]!).Storage, ((CheckpointTensor)tensors["transposed"]!).Storage);
        Assert.Equal(doc.Format, file.Contains("legacy") ? CheckpointFileFormat.Legacy : CheckpointFileFormat.Zip);
    }

    [Theory]
    [MemberData(nameof(GenericFiles))]
    public void Python_values_map_to_dotnet_values(string file)
    {
        using var doc = PyTorchCheckpoint.Load(fx.File(file));
        var root = (PickleDict)doc.Root!;
        var values = Assert.IsType<List<object?>>(root["values"]);
        Assert.Equal(1L, values[0]);
        Assert.Equal(2.5, values[1]);
        Assert.Equal("x", values[2]);
        Assert.Null(values[3]);
        Assert.Equal(true, values[4]);
        Assert.Equal(false, values[5]);
        Assert.Equal(BigInteger.Pow(2, 70), values[6]);
        Assert.Equal(-3L, values[7]);
        Assert.Equal(new byte[] { 0, 0xff, (byte)'a', (byte)'b' }, values[8]);
        Assert.Equal(long.MinValue, values[9]);
        var tuple = Assert.IsType<PickleTuple>(root["tuple"]);
        Assert.Equal(1L, tuple[0]);
        Assert.Equal(new PickleTuple([2L, "three"]), tuple[1]);
        Assert.Equal(new HashSet<object> { 1L, 2L, 3L }, Assert.IsType<HashSet<object>>(root["set"]));
        Assert.Equal(new HashSet<object> { "a" }, Assert.IsType<HashSet<object>>(root["frozen"]));
        Assert.Equal(["b", "a"], ((PickleDict)root["od"]!).Keys.Cast<string>());
        var ns = Assert.IsType<PickleObject>(root["ns"]);
        Assert.Equal(("argparse", "Namespace"), (ns.Module, ns.Name));
        Assert.Equal("B9", ns.Attributes()["bands"]);
        Assert.Equal(9L, ns.Attributes()["n_channels"]);
    }

    [Fact]
    public void Sha256_matches_hashlib()
    {
        foreach (var (file, sha) in fx.Hashes)
        {
            using var doc = PyTorchCheckpoint.Load(fx.File(file));
            Assert.Equal(sha, doc.Sha256);
        }
    }

    [Fact]
    public void Load_from_a_non_seekable_stream_reads_the_same_tensors()
    {
        using var fs = File.OpenRead(fx.File("generic_p4.pt"));
        using var doc = PyTorchCheckpoint.Load(new ForwardOnlyStream(fs));
        var t = (CheckpointTensor)((PickleDict)((PickleDict)doc.Root!)["tensors"]!)["sliced"]!;
        Assert.Equal(NpyFile.ReadSingle(fx.File("t_sliced.npy")).Data, t.ToFloatArray());
    }

    [Fact]
    public void Memory_limit_is_enforced()
    {
        using var doc = PyTorchCheckpoint.Load(fx.File("generic_p2.pt"), new CheckpointReadOptions { MaxTotalTensorBytes = 64 });
        var t = (CheckpointTensor)((PickleDict)((PickleDict)doc.Root!)["tensors"]!)["f32"]!;
        var e = Assert.Throws<CheckpointFormatException>(() => t.ToFloatArray());
        Assert.Contains("memory limit", e.Message);
    }

    [Fact]
    public void Not_a_checkpoint_is_reported_plainly()
    {
        using var dir = new Oracle.TempDir();
        File.WriteAllText(dir.File("x.pt"), "hello world");
        var e = Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.Load(dir.File("x.pt")));
        Assert.Contains("corrupt", e.Message);
        File.WriteAllBytes(dir.File("y.pt"), [0x80]);
        Assert.Contains("truncated", Assert.Throws<CheckpointFormatException>(() => PyTorchCheckpoint.Load(dir.File("y.pt"))).Message);
    }

    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1000));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
